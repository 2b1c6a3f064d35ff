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
                var shown = value == .null ? "(none)" : value == .string("") ? "\"\"" : value.interpolationText
                // A duration is seconds to expressions; a long one is shown as a user writes it too.
                if plan.durationInputs.contains(name), let seconds = value.numberValue, seconds >= 60 { shown += " (\(Durations.format(seconds)))" }
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
            // Whole: a terminal's table breaks a long cell into lines under its column.
            case false?: notes.append("skipped: if \(oneLine(condition.expression)) is false")
            case true?: break
            case nil: notes.append("if \(oneLine(condition.expression))")
            }
        }
        if step.effect == .sideEffecting { notes.append("side effects, never cached") } else if !step.isCacheable { notes.append("cache off") }
        if case .timeToLive(let seconds) = step.cache { notes.append("cached for \(Durations.format(seconds))") }
        if step.retry.attempts > 1 { notes.append("\(step.retry.attempts) attempts") }
        if let timeout = step.timeout { notes.append("timeout \(Durations.format(timeout))") }
        if step.continueOnError { notes.append("continues on error") }
        if let limit = step.maxParallel { notes.append(limit == 1 ? "items one at a time" : "at most \(limit) items at once") }
        let writers = step.needs.filter { $0.reason == .file }.map(\.step)
        if !writers.isEmpty {
            notes.append(writers.count == 1 ? "reads a file \(writers[0]) writes" : "reads files \(writers.joined(separator: ", ")) write")
        }
        if !step.optionalNeeds.isEmpty {
            let names = step.optionalNeeds.sorted()
            notes.append(names.count == 1 ? "runs even if \(names[0]) is skipped" : "runs even if any of \(names.joined(separator: ", ")) is skipped")
        }
        return notes.joined(separator: "; ")
    }

    static func oneLine(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: " ") }

    static func shorten(_ text: String, _ limit: Int) -> String {
        let flat = oneLine(text)
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }
}

/// A plain text table with columns padded to their widest cell, in terminal columns (a Japanese
/// character takes two), and, on a terminal, fitted to its width.
public enum Table {
    /// Columns two spaces apart, the last one not padded; each line without spaces at its end.
    /// `whole`: columns never narrowed; `keptWhole`: columns narrowed only when the table cannot
    /// fit otherwise (see `fitted`).
    ///
    /// Given a `width` (a terminal's columns) that the table would pass, its widest columns are
    /// narrowed as `fitted` says, and cells wider than their column are broken into lines (at
    /// spaces, between wide characters, at a line break, or where they must): nothing is cut
    /// off, and a row's other cells stay on its first line. Without a width (output to a file or
    /// a pipe), each row is one line, for `grep` and `cut`.
    public static func render(header: [String], rows givenRows: [[String]], width: Int? = nil, whole: Set<Int> = [],
                              keptWhole: Set<Int> = []) -> String {
        // On a terminal a tab would jump to its own stop: a space, so columns are what they measure.
        let rows = width == nil ? givenRows : givenRows.map { $0.map { $0.contains("\t") ? $0.replacingOccurrences(of: "\t", with: " ") : $0 } }
        /// A cell of several lines (fitted to a terminal) is as wide as its widest line.
        func columns(_ cell: String) -> Int {
            guard width != nil, cell.contains(where: \.isNewline) else { return TextColumns.columns(cell) }
            return cell.split(whereSeparator: \.isNewline).map { TextColumns.columns($0) }.max() ?? 0
        }
        let rowWidths = rows.map { $0.map(columns) }
        var widths = header.map(columns)
        for cells in rowWidths {
            for (i, cellWidth) in cells.enumerated() where i < widths.count { widths[i] = max(widths[i], cellWidth) }
        }
        if let width, widths.reduce(0, +) + 2 * max(0, widths.count - 1) > width {
            let cells = widths.indices.map { column in [header[column]] + rows.compactMap { column < $0.count ? $0[column] : nil } }
            widths = fitted(widths, to: width, longestWords: cells.map(longestWord), manyWords: cells.map { $0.contains { $0.contains(" ") } },
                            whole: whole, keptWhole: keptWhole)
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
            let pieces = cells.enumerated().map { i, cell -> [String] in
                // A line break inside a cell (an error listing several problems) starts a line of its own.
                let lines = cell.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                guard i < widths.count, cellWidths[i] > widths[i] || lines.count > 1 else { return [cell] }
                return lines.flatMap { TextColumns.breakGreedily($0, width: widths[i]) }
            }
            for row in 0..<max(1, pieces.map(\.count).max() ?? 0) {
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
            let breaks = width != nil && (zip(cellWidths, widths).contains { $0 > $1 } || cells.contains { $0.contains(where: \.isNewline) })
            if breaks { brokenLines(cells, cellWidths) } else { line(cells, cellWidths) }
        }
        add(header, header.map(columns))
        for (cells, cellWidths) in zip(rows, rowWidths) { add(cells, cellWidths) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Columns are not narrowed below this many columns.
    public static let narrowest = 8

    /// `widths` narrowed to fit `width` columns with two between each: the widest first, down to a
    /// common level, so short columns (numbers, statuses, times) keep their width and the long
    /// texts share the rest. First no column is narrowed below its longest word (up to 24
    /// columns: a run id fits, a path or an expression is broken anyway); if that is not enough,
    /// the columns of several words (`manyWords`), which break at their spaces, go down to
    /// `narrowest` while one-word columns (step ids, kinds) keep their words whole; then all of
    /// them share the room, down to `narrowest`. The columns in `whole` (a run id to copy) are
    /// never narrowed; those in `keptWhole` (step ids, which `aiv runs log` is given) only in
    /// that last stage. A table that cannot fit even so is left as it is: breaking its cells
    /// would gain nothing.
    static func fitted(_ widths: [Int], to width: Int, longestWords: [Int], manyWords: [Bool], whole: Set<Int> = [],
                       keptWhole: Set<Int> = []) -> [Int] {
        let room = width - 2 * max(0, widths.count - 1)
        guard widths.reduce(0, +) > room else { return widths }
        func floors(keeping kept: Set<Int>, _ floor: (Int) -> Int) -> [Int] {
            widths.indices.map { kept.contains($0) ? widths[$0] : min(widths[$0], floor($0)) }
        }
        let kept = whole.union(keptWhole)
        let wordFloors = floors(keeping: kept) { max(narrowest, min(longestWords[$0], 24)) }
        let spacedFloors = floors(keeping: kept) { manyWords[$0] ? narrowest : wordFloors[$0] }
        let lowestKept = floors(keeping: kept) { _ in narrowest }
        let lowest = floors(keeping: whole) { _ in narrowest }
        if wordFloors.reduce(0, +) <= room { return levelled(widths, floors: wordFloors, room: room) }
        if spacedFloors.reduce(0, +) <= room { return levelled(wordFloors, floors: spacedFloors, room: room) }
        // Words must break in a one-word column too: every column shares the room from its full
        // width, rather than the texts staying at their narrowest beside whole ids.
        if lowestKept.reduce(0, +) <= room { return levelled(widths, floors: lowestKept, room: room) }
        if lowest.reduce(0, +) <= room { return levelled(widths, floors: lowest, room: room) }
        return widths
    }

    /// The columns above a common level lowered to it (none below its floor), the highest level at
    /// which they fit `room`; what is left of the room goes, a column at a time from the left, to
    /// those that were lowered. One pass per level tried, so a cell of a million characters costs
    /// no more than a short one. The floors must fit the room.
    static func levelled(_ widths: [Int], floors: [Int], room: Int) -> [Int] {
        func total(_ level: Int) -> Int { widths.indices.reduce(0) { $0 + min(widths[$1], max(floors[$1], level)) } }
        var low = 0, high = widths.max() ?? 0
        while low < high {
            let middle = (low + high + 1) / 2
            if total(middle) <= room { low = middle } else { high = middle - 1 }
        }
        var result = widths.indices.map { min(widths[$0], max(floors[$0], low)) }
        var spare = room - result.reduce(0, +)
        for i in result.indices where spare > 0 && result[i] == low && widths[i] > low {
            result[i] += 1
            spare -= 1
        }
        return result
    }

    /// The columns of a column's longest word (what lies between spaces).
    static func longestWord(in cells: [String]) -> Int {
        cells.lazy.flatMap { $0.split(separator: " ") }.map(TextColumns.columns).max() ?? 0
    }
}
