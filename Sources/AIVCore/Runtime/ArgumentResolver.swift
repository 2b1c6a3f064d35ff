/// Turns a step's written arguments into the values of one invocation: every `${{ }}` evaluated
/// in one pass (a value that came from an expression is never read as an expression again),
/// defaults filled in, and each value checked against the kind's argument schema.
public enum ArgumentResolver {
    /// Why a step's arguments could not be made, and which argument it was, so the run can
    /// point at it in the workflow.
    public struct Failure: Error, Sendable {
        public var message: String
        public var argument: String
    }

    public static func resolve(_ arguments: [String: JSONValue], kind: StepKindDescription, scope: EvaluationScope) throws(Failure) -> StepArguments {
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
                throw Failure(message: "in argument '\(name)': \(error.message)", argument: name)
            }
        }
        for property in kind.arguments where values[property.name] == nil || values[property.name] == .null {
            if let fallback = property.defaultValue { values[property.name] = fallback }
        }
        for property in kind.arguments {
            guard let value = values[property.name], value != .null else {
                if property.isRequired { throw Failure(message: "argument '\(property.name)' is missing", argument: property.name) }
                continue
            }
            if let problem = property.schema.mismatch(value) {
                throw Failure(message: "argument '\(property.name)' \(problem)", argument: property.name)
            }
        }
        return StepArguments(values)
    }

    /// What the item expressions of a step read besides `item` and `index` (`inputs.min`,
    /// `steps.a.outputs.x`, `env.X`), with their values: part of the cache key, since the step
    /// evaluates those expressions itself and its result depends on them.
    public static func itemExpressionInputs(_ arguments: [String: JSONValue], kind: StepKindDescription, scope: EvaluationScope) -> JSONValue {
        var read: [String: JSONValue] = [:]
        for property in kind.arguments where property.role == .itemExpression {
            // One expression (`where`), or a mapping of them (list.map's `set`).
            let texts: [String] = switch arguments[property.name] {
            case .string(let text)?: [text]
            case .object(let members)?: members.values.compactMap(\.stringValue)
            default: []
            }
            for text in texts {
            guard let expression = try? ExpressionParser.parse(text) else { continue }
            for reference in expression.references where reference.root == "inputs" || reference.root == "env" || reference.root == "steps" {
                var path = reference.root
                var probe: Expression = .name(reference.root, Expression.Span(offset: 0, length: 0))
                for component in reference.path {
                    guard case .member(let name) = component else { break }
                    path += "." + name
                    probe = .member(probe, name, Expression.Span(offset: 0, length: 0))
                }
                read[path] = (try? probe.evaluate(in: scope)) ?? .null
            }
            }
        }
        return read.isEmpty ? .null : .object(read)
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
