import AIVCore

/// `list.sort`: sorts by a field (numbers numerically, text by Unicode order), stably.
public struct ListSortStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "list.sort",
        summary: "Sort a list by a field, stably.",
        discussion: """
            Numbers sort numerically, text by Unicode scalar order, then booleans (false first); elements whose key \
            is null, missing, a list or a mapping come last in either order. Elements with equal keys keep their order, \
            descending too. `by` is a dot path: `source.start`, `tags.0` (a list element).
            """,
        arguments: [
            Property("items", .array(.any), required: true, "The list."),
            Property("by", .string, role: .fieldPath, "A field path of the elements (e.g. timestamp or source.start); the elements themselves when absent."),
            Property("order", .oneOfStrings(["ascending", "descending"]), default: "ascending", "Sort direction."),
        ],
        outputs: ListOutputs.schema(),
        example: """
            - id: by_time
              uses: list.sort
              with:
                items: ${{ steps.worth.outputs.items }}
                by: start
            """,
        listShapedOutput: .init())

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let items = try arguments.list("items")
        let path = try arguments.optionalString("by").map { text throws(StepError) in try FieldPath(text, argument: "by") }
        let order = try arguments.optionalString("order") ?? "ascending"
        guard order == "ascending" || order == "descending" else {
            throw StepError.argument("order", "must be ascending or descending, not '\(order)'")
        }
        let descending = order == "descending"
        var keyed: [(key: SortKey, offset: Int)] = []
        keyed.reserveCapacity(items.count)
        for (offset, item) in items.enumerated() {
            if offset % 1024 == 0 { try Task.checkCancellation() }
            let key: JSONValue? = if let path { path.value(in: item) } else { item }
            keyed.append((SortKey(key), offset))
        }
        // The offset breaks ties, so equal keys keep their order in both directions.
        keyed.sort { a, b in
            var order = SortKey.compare(a.key, b.key)
            if descending, a.key.isOrdered, b.key.isOrdered { order = -order }
            return order != 0 ? order < 0 : a.offset < b.offset
        }
        let sorted = keyed.map { items[$0.offset] }
        return StepResult(outputs: ["items": .array(sorted), "count": .int(sorted.count)])
    }
}

/// What `list.sort` orders by: numbers (numerically), then text (by Unicode scalars), then
/// booleans (false first). Anything else (null, a missing field, a list, a mapping) has no
/// order and goes last in both directions, keeping its place among the others.
enum SortKey {
    case number(Double, exact: Int?)
    case text(String)
    case boolean(Bool)
    case unordered

    init(_ value: JSONValue?) {
        switch value {
        case .int(let i)?: self = .number(Double(i), exact: i)
        case .double(let d)? where !d.isNaN: self = .number(d, exact: nil)
        case .string(let s)?: self = .text(s)
        case .bool(let b)?: self = .boolean(b)
        default: self = .unordered
        }
    }

    var isOrdered: Bool {
        if case .unordered = self { return false }
        return true
    }

    private var group: Int {
        switch self {
        case .number: 0
        case .text: 1
        case .boolean: 2
        case .unordered: 3
        }
    }

    /// Negative when `a` comes first, positive when `b` does, 0 when equal. `unordered` is
    /// equal to itself and after everything else; a descending sort reverses only ordered keys.
    static func compare(_ a: SortKey, _ b: SortKey) -> Int {
        switch (a, b) {
        case (.number(_, let x?), .number(_, let y?)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.number(let x, _), .number(let y, _)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.text(let x), .text(let y)):
            // UTF-8 byte order is Unicode scalar order. String's own == and < follow canonical
            // equivalence ("é" == "e\u{301}"), which is not the order asked for.
            var a = x.utf8.makeIterator(), b = y.utf8.makeIterator()
            while true {
                switch (a.next(), b.next()) {
                case (nil, nil): return 0
                case (nil, _): return -1
                case (_, nil): return 1
                case (let p?, let q?) where p != q: return p < q ? -1 : 1
                default: continue
                }
            }
        case (.boolean(let x), .boolean(let y)): return x == y ? 0 : (x ? 1 : -1)
        default: return a.group - b.group
        }
    }
}
