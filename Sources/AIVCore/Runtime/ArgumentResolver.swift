/// Turns a step's written arguments into the values of one invocation: every `${{ }}` evaluated
/// in one pass (a value that came from an expression is never read as an expression again),
/// defaults filled in, and each value checked against the kind's argument schema.
public enum ArgumentResolver {
    public static func resolve(_ arguments: [String: JSONValue], kind: StepKindDescription, scope: EvaluationScope) throws(ExpressionError) -> StepArguments {
        var values: [String: JSONValue] = [:]
        for (name, value) in arguments {
            // Item expressions (a filter's `where`) are evaluated by the step, per element.
            if kind.argument(name)?.role == .itemExpression {
                values[name] = value
                continue
            }
            do {
                values[name] = try resolve(value, scope: scope)
            } catch {
                throw ExpressionError("in argument '\(name)': \(error.message)", offset: error.offset, length: error.length)
            }
        }
        for property in kind.arguments where values[property.name] == nil || values[property.name] == .null {
            if let fallback = property.defaultValue { values[property.name] = fallback }
        }
        for property in kind.arguments {
            guard let value = values[property.name], value != .null else {
                if property.isRequired { throw ExpressionError("argument '\(property.name)' is missing", offset: 0, length: 0) }
                continue
            }
            if let problem = property.schema.mismatch(value) {
                throw ExpressionError("argument '\(property.name)' \(problem)", offset: 0, length: 0)
            }
        }
        return StepArguments(values)
    }

    static func resolve(_ value: JSONValue, scope: EvaluationScope) throws(ExpressionError) -> JSONValue {
        switch value {
        case .string(let text) where text.hasExpressionMarker:
            return try StringTemplate.parse(text).render(in: scope)
        case .array(let items):
            var resolved: [JSONValue] = []
            resolved.reserveCapacity(items.count)
            for item in items { resolved.append(try resolve(item, scope: scope)) }
            return .array(resolved)
        case .object(let members):
            var resolved: [String: JSONValue] = [:]
            for (key, member) in members { resolved[key] = try resolve(member, scope: scope) }
            return .object(resolved)
        default:
            return value
        }
    }
}
