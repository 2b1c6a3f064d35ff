import AIVCore

/// Outputs shared by the list steps.
enum ListOutputs {
    static func schema(_ extra: [Property] = []) -> Schema {
        .object([
            Property("items", .array(.any), required: true, "The resulting list."),
            Property("count", .integer, required: true, "Its length."),
        ] + extra)
    }
}

/// `list.merge`: concatenates lists, in order (e.g. the per-chunk results of a for_each).
public struct ListMergeStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "list.merge",
        summary: "Concatenate lists into one, in order.",
        arguments: [
            Property("lists", .array(.any), required: true, "The lists to join; an element that is not a list is added as one item."),
        ],
        outputs: ListOutputs.schema(),
        example: """
            - id: all_items
              uses: list.merge
              with:
                lists: ${{ steps.analyze.outputs[*].json.items }}
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        throw StepError("ListMergeStep is not implemented yet")
    }
}

/// `list.filter`: keeps the elements for which an expression is true.
public struct ListFilterStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "list.filter",
        summary: "Keep the elements of a list for which an expression is true.",
        discussion: "`where` is evaluated once per element with `item` (and `index`) in scope; write it without ${{ }}.",
        arguments: [
            Property("items", .array(.any), required: true, "The list."),
            Property("where", .string, required: true, role: .itemExpression, "The condition, e.g. \"item.difficulty != 'N5'\"."),
        ],
        outputs: ListOutputs.schema([Property("dropped", .integer, required: true, "How many elements were left out.")]),
        example: """
            - id: worth_learning
              uses: list.filter
              with:
                items: ${{ steps.all_items.outputs.items }}
                where: item.kind != 'filler' && length(item.japanese) > 1
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        throw StepError("ListFilterStep is not implemented yet")
    }
}

/// `list.sort`: sorts by a field (numbers numerically, text by Unicode order), stably.
public struct ListSortStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "list.sort",
        summary: "Sort a list by a field, stably.",
        arguments: [
            Property("items", .array(.any), required: true, "The list."),
            Property("by", .string, "A field path of the elements (e.g. timestamp or source.start); the elements themselves when absent."),
            Property("order", .oneOfStrings(["ascending", "descending"]), default: "ascending", "Sort direction."),
        ],
        outputs: ListOutputs.schema(),
        example: """
            - id: by_time
              uses: list.sort
              with:
                items: ${{ steps.worth_learning.outputs.items }}
                by: timestamp
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        throw StepError("ListSortStep is not implemented yet")
    }
}

/// `list.dedupe`: one element per key, e.g. one vocabulary entry per expression across chunks.
public struct ListDedupeStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "list.dedupe",
        summary: "Drop elements whose key was seen before, optionally gathering fields of the duplicates.",
        discussion: "With `normalize` (the default) keys compare after Unicode NFKC, case folding and trimming, so 'ﾔﾊﾞｲ' and 'ヤバい ' are one key.",
        arguments: [
            Property("items", .array(.any), required: true, "The list."),
            Property("key", .string, required: true, "The field path that identifies an element, e.g. japanese."),
            Property("normalize", .boolean, default: true, "Compare keys after NFKC, case folding and trimming."),
            Property("keep", .oneOfStrings(["first", "last"]), default: "first", "Which duplicate survives."),
            Property("collect", .array(.string), default: [], "Fields whose values from all duplicates are gathered into a list on the survivor."),
        ],
        outputs: ListOutputs.schema([Property("duplicates", .integer, required: true, "How many elements were merged away.")]),
        example: """
            - id: unique
              uses: list.dedupe
              with:
                items: ${{ steps.all_items.outputs.items }}
                key: japanese
                collect: [timestamp]
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        throw StepError("ListDedupeStep is not implemented yet")
    }
}
