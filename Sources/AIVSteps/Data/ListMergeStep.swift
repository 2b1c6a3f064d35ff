import AIVCore

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
                lists: ${{ steps.analyse.outputs[*].result.items }}
            """,
        listShapedOutput: .init(argument: "lists", flattens: true))

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        var items: [JSONValue] = []
        for element in try arguments.list("lists") {
            try Task.checkCancellation()
            if case .array(let inner) = element {
                items.append(contentsOf: inner)
            } else {
                items.append(element)
            }
        }
        return StepResult(outputs: ["items": .array(items), "count": .int(items.count)])
    }
}
