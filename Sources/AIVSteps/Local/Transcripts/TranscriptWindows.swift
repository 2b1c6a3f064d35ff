import AIVCore

/// Cutting a transcript into overlapping time windows.
///
/// Window `k` covers `[k·step, k·step + window)` with `step = window − overlap`; a segment
/// belongs to every window its start falls in, so a line that straddles a boundary is seen whole
/// by at least one window. Windows with no segment are skipped, and so is a window whose
/// segments were all in the window before it (after a long pause, the next window can hold
/// nothing but the previous one's overlap): it would repeat that window's work. A window whose
/// segments are all in the next one (the first lines after a pause) gives way to it.
struct TranscriptWindows {
    var window: Double
    var overlap: Double

    /// The most window positions a transcript may span: each is a binary search, so this bounds
    /// the step's time (about a second), and more is a window and overlap that differ by a hair.
    static let positionLimit = 1_000_000.0

    /// For each non-empty window, in time order, the range of `starts` (sorted) it holds.
    func ranges(starts: [Double]) throws -> [Range<Int>] {
        guard let last = starts.last else { return [] }
        let step = window - overlap
        // Positions visited: every one up to the last start, but past a gap the walk jumps to the
        // next start, so at most the windows each start is in (and a jump) per start. A far-off
        // line alone (times in milliseconds) is two windows, not a billion.
        let visited = min(last / step, Double(starts.count) * ((window / step).rounded(.up) + 1))
        // And a position's number must be an integer (a window of 1e-300 s has none).
        guard visited <= Self.positionLimit, last / step < 1e15 else {
            // Blamed on the overlap when there is one (a window a hair longer than it), else on the window.
            throw StepError.argument(overlap > 0 ? "overlap" : "window", "leaves windows starting every \(Durations.format(step)) (window \(Durations.format(window)) less overlap \(Durations.format(overlap))): over \(Durations.format(last)) of transcript that is more than a million windows; make \(overlap > 0 ? "the overlap shorter" : "the window longer")")
        }
        var ranges: [Range<Int>] = []
        var k = 0
        while Double(k) * step <= last {
            try Task.checkCancellation()
            let from = Double(k) * step
            let lower = firstIndex(in: starts, notBelow: from)
            let upper = firstIndex(in: starts, notBelow: from + window)
            if upper > lower && upper > (ranges.last?.upperBound ?? 0) {
                // A window holding nothing the next does not (it starts where this one does,
                // after a pause) is replaced by it: one line alone would cost a model call.
                if let previous = ranges.last, previous.lowerBound == lower { ranges.removeLast() }
                ranges.append(lower..<upper)
            }
            if lower < starts.count, starts[lower] >= from + window {
                // A gap: jump to the first window that can hold the next start (never past it).
                k = max(k + 1, Int(((starts[lower] - window) / step).rounded(.down)))
            } else {
                k += 1
            }
        }
        return ranges
    }

    /// The first position whose value is `>= bound` (binary search).
    private func firstIndex(in sorted: [Double], notBelow bound: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < bound { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
