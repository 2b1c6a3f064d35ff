import AIVCore
import Foundation

/// `stock.merge`: adds a stream's items to the lasting vocabulary stock, by normalised key.
public struct StockMergeStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "stock.merge",
        summary: "Merge items into the vocabulary stock kept across runs: one entry per normalised key, with every source.",
        discussion: """
            The key (e.g. japanese) is normalised as list.dedupe does (NFKC, lower case, katakana as hiragana, \
            spaces collapsed), so ヤバい and やばい are one entry. A known entry keeps its first wording of each \
            field, takes the fields it lacks from the new item (a field added to the analysis reaches old entries) and \
            gains the new source once; `new` lists the entries this run added. `entries` and `new` have the items' \
            fields, so a misspelt `item.field` after this step is found by `aiv validate`. The stock lives in aiv's database \
            (.aiv/aiv.sqlite); a dry run uses a stock in memory.
            """,
        arguments: [
            Property("items", .array(.any), required: true, "The items (mappings)."),
            Property("key", .string, required: true, role: .fieldPath, "The field path that identifies an item, e.g. japanese."),
            Property("source", .any, required: true, "Where they were seen (the stream's URL, or a mapping)."),
            Property("stock", .string, default: "vocabulary", "The stock's name."),
        ],
        outputs: .object([
            Property("entries", .array(.any), required: true, "Every item as the stock has it, with `key`, `sources`, `times_seen` and `new`."),
            Property("new", .array(.any), required: true, "The entries the stock did not have before."),
            Property("new_count", .integer, required: true, "How many were new."),
            Property("seen_count", .integer, required: true, "How many the stock already had."),
        ]),
        effect: .sideEffecting,
        example: """
            - id: stock
              uses: stock.merge
              with:
                items: ${{ steps.vocabulary.outputs.items }}
                key: japanese
                source: ${{ inputs.stream_url }}
            """,
        listShapedOutput: .init(output: "entries", fieldsAdded: [
            Property("key", .string, required: true, "The normalised key."),
            Property("sources", .array(.any), required: true, "Where the entry was seen."),
            Property("times_seen", .integer, required: true, "How many sources."),
            Property("new", .boolean, required: true, "Whether this run added it."),
        ], alsoOutputs: ["new"]))

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        guard let services = context.services else { throw StepError("this run has no stock store") }
        let key = try FieldPath(try arguments.string("key"), argument: "key")
        let stock = try arguments.optionalString("stock") ?? "vocabulary"
        let source = arguments["source"] ?? .null
        var entries: [JSONValue] = []
        var new: [JSONValue] = []
        for (index, item) in try arguments.list("items").enumerated() {
            guard case .object = item, let text = key.value(in: item).map({ $0.stringValue ?? $0.interpolationText }), !text.isEmpty else {
                throw StepError.argument("items", "item \(index) has no '\(key)'")
            }
            let normalized = DedupeKey.normalized(text)
            let merged = try services.stock.merge(stock: stock, key: normalized, entry: item, source: source)
            guard case .object(var members) = merged.entry else { continue }
            members["key"] = .string(normalized)
            members["sources"] = .array(merged.sources)
            members["times_seen"] = .int(merged.sources.count)
            members["new"] = .bool(merged.isNew)
            entries.append(.object(members))
            if merged.isNew { new.append(.object(members)) }
        }
        return StepResult(outputs: ["entries": .array(entries), "new": .array(new), "new_count": .int(new.count),
                                    "seen_count": .int(entries.count - new.count)])
    }
}
