/// The values an expression can read while a workflow runs.
public struct EvaluationScope: Sendable {
    public var inputs: [String: JSONValue]
    /// Step id → that step's outputs value (read as `steps.<id>.outputs`).
    public var steps: [String: JSONValue]
    public var env: [String: String]
    /// The current `for_each` element; nil outside a `for_each` step's arguments.
    public var item: JSONValue?
    public var index: Int?

    public init(inputs: [String: JSONValue] = [:], steps: [String: JSONValue] = [:], env: [String: String] = [:],
                item: JSONValue? = nil, index: Int? = nil) {
        self.inputs = inputs
        self.steps = steps
        self.env = env
        self.item = item
        self.index = index
    }
}

extension Expression {
    /// The value of the expression. Missing members and out-of-range indexes give null; type
    /// mismatches (`.name` on a list, `'a' < 1`, a bad function argument) throw, pointing at the
    /// part of the source that is wrong.
    public func evaluate(in scope: EvaluationScope) throws(ExpressionError) -> JSONValue {
        try Evaluator(scope: scope).value(of: self, element: nil)
    }
}

private struct Evaluator {
    let scope: EvaluationScope

    /// The element a projection is visiting, and how messages name it (`steps.a.outputs[*]`).
    struct Element {
        var value: JSONValue
        var text: String
    }

    func value(of expression: Expression, element: Element?) throws(ExpressionError) -> JSONValue {
        switch expression {
        case .literal(let value, _):
            return value
        case .name(let name, let span):
            return try root(name, at: span)
        case .element(let span):
            guard let element else { throw ExpressionError("'[*]' element used outside a projection", at: span) }
            return element.value
        case .member(.name("env", _), let name, _):
            // `env.NAME`, the usual read, without building the whole environment (see `root`).
            return Secrets.looksSecret(name) ? .null : scope.env[name].map(JSONValue.string) ?? .null
        case .member(let base, let name, _):
            let container = try value(of: base, element: element)
            switch container {
            case .object(let members): return members[name] ?? .null
            case .null: return .null
            case .array:
                throw ExpressionError(ExpressionMessage.listMember(base.text(element: element?.text ?? "")),
                                      at: expression.memberNameSpan)
            default:
                throw ExpressionError(ExpressionMessage.noField(base.text(element: element?.text ?? ""), container.describedKind, name),
                                      at: expression.memberNameSpan)
            }
        case .index(let base, let indexExpression, let span):
            let container = try value(of: base, element: element)
            let index = try value(of: indexExpression, element: element)
            return try subscripted(container, by: index, base: base, indexSpan: indexExpression.span, span: span, element: element)
        case .projection(let base, let rest, _):
            let container = try value(of: base, element: element)
            switch container {
            case .array(let items):
                let text = base.text(element: element?.text ?? "") + "[*]"
                var results: [JSONValue] = []
                results.reserveCapacity(items.count)
                for item in items {
                    results.append(try value(of: rest, element: Element(value: item, text: text)))
                }
                return .array(results)
            case .null: return .null
            default:
                throw ExpressionError(ExpressionMessage.notProjectable(base.text(element: element?.text ?? ""), container.describedKind),
                                      at: base.span)
            }
        case .call(let name, let argumentExpressions, let span):
            guard let function = ExpressionFunctions.named[name] else {
                throw ExpressionError("unknown function '\(name)'", at: span)
            }
            if let problem = function.arityProblem(argumentExpressions.count) { throw ExpressionError(problem, at: span) }
            var arguments: [JSONValue] = []
            for argument in argumentExpressions { arguments.append(try value(of: argument, element: element)) }
            do throws(FunctionFailure) {
                return try function.implementation(arguments)
            } catch {
                let at = error.argument.flatMap { $0 < argumentExpressions.count ? argumentExpressions[$0].span : nil } ?? span
                throw ExpressionError(error.message, at: at)
            }
        case .not(let operand, _):
            return .bool(!(try value(of: operand, element: element)).isTruthy)
        case .binary(let op, let left, let right, let span):
            let leftValue = try value(of: left, element: element)
            switch op {
            case .or: return leftValue.isTruthy ? leftValue : try value(of: right, element: element)
            case .and: return leftValue.isTruthy ? try value(of: right, element: element) : leftValue
            default: break
            }
            let rightValue = try value(of: right, element: element)
            switch op {
            case .equal: return .bool(leftValue.looselyEquals(rightValue))
            case .notEqual: return .bool(!leftValue.looselyEquals(rightValue))
            default: return .bool(try Evaluator.compare(leftValue, op, rightValue, at: span))
            }
        }
    }

    private func root(_ name: String, at span: Expression.Span) throws(ExpressionError) -> JSONValue {
        switch name {
        case "inputs": return .object(scope.inputs)
        case "steps": return .object(scope.steps.mapValues { .object(["outputs": $0]) })
        // Names that look like secrets are not there at all: the checker refuses `env.API_KEY`
        // written out, and leaving them out here also covers a name computed while running
        // (`env[format(…)]`) and `toJSON(env)`, so a key never reaches arguments, files or the cache.
        case "env": return .object(Secrets.visibleEnvironment(scope.env))
        case "item":
            guard let item = scope.item else { throw ExpressionError(ExpressionMessage.forEachOnly(name), at: span) }
            return item
        case "index":
            guard let index = scope.index else { throw ExpressionError(ExpressionMessage.forEachOnly(name), at: span) }
            return .int(index)
        default:
            throw ExpressionError(ExpressionMessage.unknownName(name), at: span)
        }
    }

    /// `container[index]`: a list by (whole) number, from the end when negative; a mapping by key.
    private func subscripted(_ container: JSONValue, by index: JSONValue, base: Expression, indexSpan: Expression.Span,
                             span: Expression.Span, element: Element?) throws(ExpressionError) -> JSONValue {
        switch container {
        case .null:
            return .null
        case .array(let items):
            guard let number = index.numberValue else {
                throw ExpressionError(ExpressionMessage.listIndex(index.describedKind), at: indexSpan)
            }
            guard number.isFinite, number == number.rounded(), abs(number) < 1e15 else {
                throw ExpressionError("a list index must be a whole number, got \(index.interpolationText)", at: indexSpan)
            }
            let position = Int(number) < 0 ? items.count + Int(number) : Int(number)
            return items.indices.contains(position) ? items[position] : .null
        case .object(let members):
            guard case .string(let key) = index else {
                throw ExpressionError(ExpressionMessage.mappingKey(index.describedKind), at: indexSpan)
            }
            return members[key] ?? .null
        default:
            throw ExpressionError(ExpressionMessage.notIndexable(base.text(element: element?.text ?? ""), container.describedKind), at: span)
        }
    }

    /// `<`, `<=`, `>`, `>=` on two numbers or two strings.
    static func compare(_ left: JSONValue, _ op: Expression.BinaryOperator, _ right: JSONValue,
                        at span: Expression.Span) throws(ExpressionError) -> Bool {
        let ordering: (less: Bool, equal: Bool)
        switch (left, right) {
        case (.int(let a), .int(let b)): ordering = (a < b, a == b)
        case (.string(let a), .string(let b)): ordering = (a < b, a == b)
        default:
            guard let a = left.numberValue, let b = right.numberValue else {
                throw ExpressionError(ExpressionMessage.comparison(op, left.describedKind, right.describedKind), at: span)
            }
            ordering = (a < b, a == b)
        }
        switch op {
        case .less: return ordering.less
        case .lessOrEqual: return ordering.less || ordering.equal
        case .greater: return !ordering.less && !ordering.equal
        default: return !ordering.less
        }
    }
}

/// Messages shared by the evaluator and the static checker, so both say the same thing.
enum ExpressionMessage {
    static let roots = ["inputs", "steps", "env", "item", "index"]

    static func unknownName(_ name: String) -> String {
        "unknown name '\(name)'; expressions start with inputs, steps, env, item or index" + Suggestions.didYouMean(name, in: roots)
    }

    static func forEachOnly(_ name: String) -> String {
        "'\(name)' is only available in the arguments of a step with for_each"
    }

    static func conditionOfForEach(_ name: String) -> String {
        "'if' is evaluated once for the whole step, before its items, so it cannot read '\(name)'; to leave some items out, filter the list first (a list.filter step with where:)"
    }

    static func listMember(_ path: String) -> String { "'\(path)' is a list; use [index] or [*]" }

    static func noField(_ path: String, _ kind: String, _ name: String) -> String {
        "'\(path)' is \(kind) and has no field '\(name)'"
    }

    static func notProjectable(_ path: String, _ kind: String) -> String { "'\(path)' is \(kind), not a list; [*] needs a list" }

    static func notIndexable(_ path: String, _ kind: String) -> String { "'\(path)' is \(kind) and cannot be indexed" }

    static func listIndex(_ kind: String) -> String { "a list index must be a number, got \(kind)" }

    static func mappingKey(_ kind: String) -> String { "a mapping key must be a string, got \(kind)" }

    static func comparison(_ op: Expression.BinaryOperator, _ left: String, _ right: String) -> String {
        "'\(op.rawValue)' needs two numbers or two strings, got \(left) and \(right)"
    }

    static func equality(_ op: Expression.BinaryOperator, _ left: String, _ right: String) -> String {
        "'\(op.rawValue)' between \(left) and \(right) is always \(op == .equal ? "false" : "true"): values of different types are never equal"
    }
}
