import AIVText

/// The text form of a plan that `aiv plan` prints: one row per step, in run order.
public enum PlanPrinter {
    /// `cache` gives, per step, what the cache forecast says (a column is added when it is given);
    /// `width`, a terminal's, fits the table to it.
    public static func text(_ plan: ExecutionPlan, cache: [String: String]? = nil, width: Int? = nil) -> String {
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
        out += "\n" + Table.render(header: ["#", "layer", "step", "kind", "needs"] + (cache == nil ? [] : ["cache"]) + ["notes"], rows: rows, width: width)
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

/// A plain text table with columns padded to their widest cell, in terminal columns (a Japanese
/// character takes two), and, on a terminal, fitted to its width.
public enum Table {
    /// Columns two spaces apart, the last one not padded; each line without spaces at its end.
    ///
    /// Given a `width` (a terminal's columns) that the table would pass, the widest columns are
    /// narrowed, one column at a time, until it fits or none is wider than `narrowest`, and their
    /// cells are broken into lines (at spaces, between wide characters, or where they must):
    /// nothing is cut off, and a row's other cells stay on its first line. Without a width (output
    /// to a file or a pipe), each row is one line, for `grep` and `cut`.
    public static func render(header: [String], rows: [[String]], width: Int? = nil) -> String {
        let rowWidths = rows.map { $0.map(TextColumns.columns) }
        var widths = header.map(TextColumns.columns)
        for cells in rowWidths {
            for (i, cellWidth) in cells.enumerated() where i < widths.count { widths[i] = max(widths[i], cellWidth) }
        }
        if let width, widths.reduce(0, +) + 2 * max(0, widths.count - 1) > width {
            let longestWords = widths.indices.map { column in longestWord(in: [header[column]] + rows.compactMap { column < $0.count ? $0[column] : nil }) }
            widths = fitted(widths, to: width, longestWords: longestWords)
        }
        var out: [UInt8] = []
        out.reserveCapacity((rows.count + 1) * (widths.reduce(0, +) + 2 * widths.count + 1))
        func line(_ cells: [String], _ cellWidths: [Int]) {
            let start = out.count
            for (i, cell) in cells.enumerated() {
                if i > 0 { out.append(contentsOf: [0x20, 0x20]) }
                out.append(contentsOf: cell.utf8)
                if i < cells.count - 1, i < widths.count {
                    out.append(contentsOf: repeatElement(0x20, count: max(0, widths[i] - cellWidths[i])))
                }
            }
            // No blank at either end (an empty last cell leaves its column's padding).
            while out.count > start, out[out.count - 1] == 0x20 || out[out.count - 1] == 0x09 { out.removeLast() }
            let leading = out[start...].prefix { $0 == 0x20 || $0 == 0x09 }.count
            if leading > 0 { out.removeSubrange(start..<start + leading) }
            out.append(0x0A)
        }
        /// A row with a cell wider than its column: the row's lines, each cell's share of them
        /// under its column (blank where a cell has fewer lines).
        func brokenLines(_ cells: [String], _ cellWidths: [Int]) {
            let pieces = cells.enumerated().map { i, cell in
                i < widths.count && cellWidths[i] > widths[i] ? TextColumns.breakGreedily(cell[...], width: widths[i]) : [cell]
            }
            for row in 0..<(pieces.map(\.count).max() ?? 0) {
                let start = out.count
                for (i, cellLines) in pieces.enumerated() {
                    if i > 0 { out.append(contentsOf: [0x20, 0x20]) }
                    let piece = row < cellLines.count ? cellLines[row] : ""
                    out.append(contentsOf: piece.utf8)
                    if i < pieces.count - 1, i < widths.count {
                        out.append(contentsOf: repeatElement(0x20, count: max(0, widths[i] - TextColumns.columns(piece))))
                    }
                }
                while out.count > start, out[out.count - 1] == 0x20 { out.removeLast() }
                out.append(0x0A)
            }
        }
        func add(_ cells: [String], _ cellWidths: [Int]) {
            if width != nil, zip(cellWidths, widths).contains(where: { $0 > $1 }) { brokenLines(cells, cellWidths) } else { line(cells, cellWidths) }
        }
        add(header, header.map(TextColumns.columns))
        for (cells, cellWidths) in zip(rows, rowWidths) { add(cells, cellWidths) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Columns are not narrowed below this many columns.
    public static let narrowest = 8

    /// `widths` narrowed to fit `width` columns with two between each: the widest first, so short
    /// columns (numbers, statuses, times) keep their width and the long texts share the rest.
    /// First no column is narrowed below its longest word (up to 20 columns: a path or an
    /// expression is broken anyway), then, if that is not enough, down to `narrowest`.
    static func fitted(_ widths: [Int], to width: Int, longestWords: [Int]) -> [Int] {
        var widths = widths
        var total = widths.reduce(0, +) + 2 * max(0, widths.count - 1)
        for floors in [widths.indices.map { min(widths[$0], max(narrowest, min(longestWords[$0], 20))) }, widths.map { min($0, narrowest) }] {
            while total > width,
                  let widest = widths.indices.filter({ widths[$0] > floors[$0] }).max(by: { widths[$0] < widths[$1] }) {
                widths[widest] -= 1
                total -= 1
            }
        }
        return widths
    }

    /// The columns of a column's longest word (what lies between spaces).
    static func longestWord(in cells: [String]) -> Int {
        cells.lazy.flatMap { $0.split(separator: " ") }.map(TextColumns.columns).max() ?? 0
    }
}
