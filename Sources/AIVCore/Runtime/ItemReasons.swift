/// Why the items of a `for_each` step ran, in one line for the summary, `runs show` and `aiv
/// plan`: each distinct reason once, with the items it applies to when it is not all of them
/// (`items 0–2, 7: argument 'text' changed; item 5: no earlier result`), so an edit that touched
/// two windows out of eighteen says which two.
public enum ItemReasons {
    /// "3801 of 10000 items done (12 from the cache)": how far a `for_each` got, as a stopped
    /// run's summary and `runs show` of a killed one both say it.
    public static func done(_ done: Int, of count: Int, cached: Int) -> String {
        "\(done) of \(count) item\(count == 1 ? "" : "s") done" + (cached > 0 ? " (\(cached) from the cache)" : "")
    }

    /// Distinct reasons shown, at most; the rest are counted.
    static let shownReasons = 3
    /// Item numbers (or ranges) listed per reason, at most; the rest are counted.
    static let shownRanges = 6

    /// `reasons` holds, for each item that ran (or will), its number (nil for a step without
    /// `for_each`) and why; `count` is the step's items in all.
    public static func summary(_ reasons: [(index: Int?, reason: String)], of count: Int) -> String {
        var order: [String] = []
        var items: [String: [Int]] = [:]
        for (index, reason) in reasons {
            if items[reason] == nil { order.append(reason) }
            items[reason, default: []] += index.map { [$0] } ?? []
        }
        // One reason for every item (or a step with one invocation): no numbers needed.
        if order.count == 1, let only = order.first, items[only]!.count == count || items[only]!.isEmpty { return only }
        order.sort { (items[$0]!.min() ?? 0) < (items[$1]!.min() ?? 0) }
        var parts = order.prefix(shownReasons).map { reason -> String in
            let numbers = items[reason]!
            guard !numbers.isEmpty else { return reason }
            return (numbers.count == 1 ? "item " : "items ") + ranges(numbers) + ": " + reason
        }
        if order.count > shownReasons {
            let more = order.count - shownReasons
            parts.append("and \(more) other reason\(more == 1 ? "" : "s")")
        }
        return parts.joined(separator: "; ")
    }

    /// `0–2, 7, 9`: sorted numbers with runs of three or more as ranges; past the first few, how
    /// many items more.
    static func ranges(_ numbers: [Int]) -> String {
        var spans: [(Int, Int)] = []
        for number in Set(numbers).sorted() {
            if let last = spans.last, last.1 + 1 == number { spans[spans.count - 1].1 = number } else { spans.append((number, number)) }
        }
        // Each word with the items it covers, so what is left out can be counted in items.
        var words: [(text: String, items: Int)] = []
        for (low, high) in spans {
            switch high - low {
            case 0: words.append(("\(low)", 1))
            case 1: words += [("\(low)", 1), ("\(high)", 1)]
            default: words.append(("\(low)–\(high)", high - low + 1))
            }
        }
        let shown = words.prefix(shownRanges)
        let text = shown.map(\.text).joined(separator: ", ")
        guard words.count > shownRanges else { return text }
        return text + " and \(words.dropFirst(shownRanges).reduce(0) { $0 + $1.items }) more"
    }
}
