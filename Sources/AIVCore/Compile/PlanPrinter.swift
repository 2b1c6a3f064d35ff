/// The text form of a plan that `aiv plan` prints: one row per step, in run order.
public enum PlanPrinter {
    /// `cache` gives, per step, what the cache forecast says (a column is added when it is given).
    public static func text(_ plan: ExecutionPlan, cache: [String: String]? = nil) -> String {
        var out = "Plan for workflow '\(plan.workflow)' (\(plan.file)): \(plan.steps.count) step\(plan.steps.count == 1 ? "" : "s") in \(plan.layerCount) layer\(plan.layerCount == 1 ? "" : "s")\n"
        if !plan.inputs.isEmpty {
            out += "\nInputs:\n"
            for name in plan.inputs.keys.sorted() {
                // An empty string shows as "" (given, and empty), null as (none): not given.
                let value = plan.inputs[name]!
                let shown = value == .null ? "(none)" : value == .string("") ? "\"\"" : value.interpolationText
                out += "  \(name) = \(shorten(shown, 70))\n"
            }
        }
        let rows: [[String]] = plan.steps.enumerated().map { position, step in
            [String(position + 1), String(step.layer), step.id, step.kind, step.needs.isEmpty ? "-" : step.needs.map(\.step).joined(separator: ", ")]
                + (cache.map { [$0[step.id] ?? ""] } ?? []) + [notes(step)]
        }
        out += "\n" + Table.render(header: ["#", "layer", "step", "kind", "needs"] + (cache == nil ? [] : ["cache"]) + ["notes"], rows: rows)
        return out
    }

    /// The notes column: fan-out, condition, caching, retries, timeout.
    public static func notes(_ step: PlannedStep) -> String {
        var notes: [String] = []
        if let fanout = step.forEach {
            if let items = fanout.items { notes.append("for each of \(items.count) item\(items.count == 1 ? "" : "s")") } else { notes.append("for each (list known at run time)") }
        }
        if let condition = step.condition {
            switch condition.constant {
            case false?: notes.append("skipped: if \(shorten(condition.expression, 40)) is false")
            case true?: break
            case nil: notes.append("if \(shorten(condition.expression, 40))")
            }
        }
        if step.effect == .sideEffecting { notes.append("side effects, never cached") } else if !step.isCacheable { notes.append("cache off") }
        if case .timeToLive(let seconds) = step.cache { notes.append("cached for \(Durations.format(seconds))") }
        if step.retry.attempts > 1 { notes.append("\(step.retry.attempts) attempts") }
        if let timeout = step.timeout { notes.append("timeout \(Durations.format(timeout))") }
        if step.continueOnError { notes.append("continues on error") }
        if let limit = step.maxParallel { notes.append(limit == 1 ? "items one at a time" : "at most \(limit) items at once") }
        if !step.optionalNeeds.isEmpty {
            let names = step.optionalNeeds.sorted()
            notes.append(names.count == 1 ? "runs even if \(names[0]) is skipped" : "runs even if any of \(names.joined(separator: ", ")) is skipped")
        }
        return notes.joined(separator: "; ")
    }

    static func shorten(_ text: String, _ limit: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }
}

/// A plain text table with columns padded to their widest cell (by character count).
public enum Table {
    /// Columns padded to their widest cell, two spaces apart, the last one not padded; each line
    /// without spaces at either end. A width counts characters (a cell all ASCII by its bytes,
    /// the common case and a fraction of the cost: a run's summary has a row per step).
    public static func render(header: [String], rows: [[String]]) -> String {
        func width(_ cell: String) -> Int {
            cell.utf8.allSatisfy { $0 < 0x80 } ? cell.utf8.count : cell.count
        }
        var widths = header.map(width)
        let rowWidths = rows.map { $0.map(width) }
        for cells in rowWidths {
            for (i, cellWidth) in cells.enumerated() where i < widths.count { widths[i] = max(widths[i], cellWidth) }
        }
        var out: [UInt8] = []
        out.reserveCapacity((rows.count + 1) * (widths.reduce(0, +) + 2 * widths.count + 1))
        func line(_ cells: [String], _ cellWidths: [Int]) {
            let start = out.count
            for (i, cell) in cells.enumerated() {
                if i > 0 { out.append(contentsOf: [0x20, 0x20]) }
                out.append(contentsOf: cell.utf8)
                if i < cells.count - 1, i < widths.count {
                    out.append(contentsOf: repeatElement(0x20, count: widths[i] - cellWidths[i]))
                }
            }
            // No blank at either end (an empty last cell leaves its column's padding).
            while out.count > start, out[out.count - 1] == 0x20 || out[out.count - 1] == 0x09 { out.removeLast() }
            let leading = out[start...].prefix { $0 == 0x20 || $0 == 0x09 }.count
            if leading > 0 { out.removeSubrange(start..<start + leading) }
            out.append(0x0A)
        }
        line(header, header.map(width))
        for (cells, cellWidths) in zip(rows, rowWidths) { line(cells, cellWidths) }
        return String(decoding: out, as: UTF8.self)
    }
}

import Foundation
