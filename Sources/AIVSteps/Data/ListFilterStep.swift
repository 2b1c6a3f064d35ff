import AIVCore

/// `list.filter`: keeps the elements for which an expression is true.
public struct ListFilterStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "list.filter",
        summary: "Keep the elements of a list for which an expression is true.",
        discussion: """
            `where` is evaluated once per element with `item` (and `index`) in scope; write it without ${{ }}. \
            inputs, steps and env are in scope too; inside a for_each step, `item` is the element, not the step's item. \
            Elements for which it is truthy are kept (null, false, 0, '' and [] are not). An error names the element.
            """,
        arguments: [
            Property("items", .array(.any), required: true, "The list."),
            Property("where", .string, required: true, role: .itemExpression, "The condition, e.g. \"item.difficulty != 'N5'\"."),
        ],
        outputs: ListOutputs.schema([Property("dropped", .integer, required: true, "How many elements were left out.")]),
        example: """
            - id: worth_learning
              uses: list.filter
              with:
                items: ${{ steps.found.outputs.items }}
                where: item.difficulty != 'N5' && length(item.japanese) > 1
            """,
        listShapedOutput: .init())

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let items = try arguments.list("items")
        let source = try arguments.string("where")
        let condition: Expression
        do throws(ExpressionError) {
            condition = try ExpressionParser.parse(source)
        } catch {
            let hint = source.contains("${{") ? "; write the condition without ${{ }}" : ""
            throw StepError.argument("where", "is not a valid expression: \(error.message) (at column \(error.offset + 1) of '\(source)')\(hint)")
        }
        var scope = context.scope
        var kept: [JSONValue] = []
        for (index, item) in items.enumerated() {
            try Task.checkCancellation()
            scope.item = item
            scope.index = index
            do throws(ExpressionError) {
                if try condition.evaluate(in: scope).isTruthy { kept.append(item) }
            } catch {
                throw StepError.argument("where", "failed on item \(index): \(error.message)")
            }
        }
        return StepResult(outputs: [
            "items": .array(kept),
            "count": .int(kept.count),
            "dropped": .int(items.count - kept.count),
        ])
    }
}
