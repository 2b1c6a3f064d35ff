/// The text form of a plan that `aiv plan` prints: one row per step, in run order.
public enum PlanPrinter {
    /// `cache` gives, per step, what the cache forecast says (a column is added when it is given).
    public static func text(_ plan: ExecutionPlan, cache: [String: String]? = nil) -> String {
        var out = "Plan for workflow '\(plan.workflow)' (\(plan.file)): \(plan.steps.count) step\(plan.steps.count == 1 ? "" : "s") in \(plan.layerCount) layer\(plan.layerCount == 1 ? "" : "s")\n"
        if !plan.inputs.isEmpty {
            out += "\nInputs:\n"
            for name in plan.inputs.keys.sorted() {
                out += "  \(name) = \(shorten(plan.inputs[name]!.interpolationText.isEmpty ? "(none)" : plan.inputs[name]!.interpolationText, 70))\n"
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
    public static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        return line(header) + rows.map(line).joined()
    }
}

import Foundation
