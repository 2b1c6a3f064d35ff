import AIVCore

/// `list.map`: adds or replaces fields of each element of a list, each computed by an expression.
public struct ListMapStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "list.map",
        summary: "Set fields of each element of a list (mappings), each computed by an expression.",
        discussion: """
            Each value under `set` is an expression evaluated once per element with `item` (and `index`) in scope, \
            written without ${{ }}, as list.filter's `where`; its result becomes that field of the element (an existing \
            field is replaced). inputs, steps and env are in scope too. Use it for what a template cannot compute, such \
            as a time link per item: `link: timeLink(inputs.stream_url, item.start)`. An error names the element and the field.
            """,
        arguments: [
            Property("items", .array(.any), required: true, "The list; its elements must be mappings."),
            Property("set", .map(.string), required: true, role: .itemExpression, "Field → expression, e.g. {link: \"timeLink(inputs.url, item.start)\"}."),
        ],
        outputs: ListOutputs.schema(),
        example: """
            - id: linked
              uses: list.map
              with:
                items: ${{ steps.vocabulary.outputs.items }}
                set:
                  link: timeLink(inputs.stream_url, item.start)
            """,
        listShapedOutput: .init(fieldsSetBy: "set"))

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let items = try arguments.list("items")
        guard case .object(let written)? = arguments["set"] else { throw StepError.argument("set", "must be a mapping of field to expression") }
        var fields: [(name: String, expression: Expression)] = []
        for (name, value) in written.sorted(by: { $0.key < $1.key }) {
            guard let source = value.stringValue else { throw StepError.argument("set", "field '\(name)' must be an expression (a string)") }
            do throws(ExpressionError) {
                fields.append((name, try ExpressionParser.parse(source)))
            } catch {
                let hint = source.contains("${{") ? "; write it without ${{ }}" : ""
                throw StepError.argument("set", "field '\(name)' is not a valid expression: \(error.message) (at column \(error.offset + 1) of '\(source)')\(hint)")
            }
        }
        var scope = context.scope
        var mapped: [JSONValue] = []
        mapped.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            try Task.checkCancellation()
            guard case .object(var members) = item else {
                throw StepError.argument("items", "item \(index) is \(item.describedKind), not a mapping whose fields could be set")
            }
            scope.item = item
            scope.index = index
            // Every field is computed from the element as it came in, not from fields set before it.
            for field in fields {
                do throws(ExpressionError) {
                    members[field.name] = try field.expression.evaluate(in: scope)
                } catch {
                    throw StepError.argument("set", "field '\(field.name)' failed on item \(index): \(error.message)")
                }
            }
            mapped.append(.object(members))
        }
        return StepResult(outputs: ["items": .array(mapped), "count": .int(mapped.count)])
    }
}
