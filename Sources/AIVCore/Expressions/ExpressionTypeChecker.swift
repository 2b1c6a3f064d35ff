/// What is known about an expression's surroundings before the workflow runs.
public struct TypeScope: Sendable {
    public struct StepInfo: Sendable {
        /// The step kind, for messages: `step 'a' (transcript.load) has no output 'chunk'`.
        public var kind: String
        public var outputs: Schema
        public init(kind: String, outputs: Schema) {
            self.kind = kind
            self.outputs = outputs
        }
    }

    public var inputs: [String: Schema]
    /// The steps an expression may read (those that run before it).
    public var steps: [String: StepInfo]
    /// The `for_each` element's shape; nil when not inside a `for_each` step's arguments.
    public var item: Schema?
    public var hasIndex: Bool
    /// Whether an unknown step gets a "did you mean": the checker stops offering them once a
    /// workflow has many problems, where comparing every unknown name with thousands of step ids
    /// would take minutes and the suggestions help no one.
    public var suggestsSteps = true
    /// Checking a `for_each` step's `if:`, which is evaluated once, before the items: `item`
    /// there gets advice rather than "only in a step with for_each".
    public var isConditionOfForEach = false

    public init(inputs: [String: Schema] = [:], steps: [String: StepInfo] = [:], item: Schema? = nil, hasIndex: Bool = false) {
        self.inputs = inputs
        self.steps = steps
        self.item = item
        self.hasIndex = hasIndex
    }
}

extension Expression {
    /// The static type (`Schema.any` when unknown) and the problems found, each as an
    /// `ExpressionError` with offset and length. Only certain problems are reported: when a type
    /// is unknown the runtime checks the real value.
    public func check(in scope: TypeScope) -> (type: Schema, errors: [ExpressionError]) {
        var checker = TypeChecker(scope: scope)
        let type = checker.type(of: self, element: nil)
        return (type, checker.errors)
    }
}

private struct TypeChecker {
    let scope: TypeScope
    var errors: [ExpressionError] = []

    init(scope: TypeScope) {
        self.scope = scope
    }

    /// The element type inside a projection, and how messages name it (`steps.a.outputs[*]`).
    /// The name is written only when a message needs it: building the text of every path that
    /// was checked, in case it had a problem, cost more than the check.
    struct Element {
        var type: Schema
        var path: ProjectedPath
        var text: String { path.text }
    }

    /// The list a projection iterates over, within the projections around it.
    final class ProjectedPath {
        let base: Expression
        let outer: ProjectedPath?
        init(base: Expression, outer: ProjectedPath?) {
            self.base = base
            self.outer = outer
        }
        var text: String { base.text(element: outer?.text ?? "") + "[*]" }
    }

    mutating func report(_ message: String, at span: Expression.Span) {
        errors.append(ExpressionError(message, at: span))
    }

    mutating func type(of expression: Expression, element: Element?) -> Schema {
        switch expression {
        case .literal(let value, _):
            return Schema.of(value)
        case .name(let name, let span):
            return rootType(name, at: span)
        case .element:
            return element?.type ?? .any
        case .member, .index:
            if let (base, name, nameSpan) = expression.staticMember {
                return memberType(of: base, name, nameSpan: nameSpan, node: expression, element: element)
            }
            guard case .index(let base, let indexExpression, let span) = expression else { return .any }
            let baseType = type(of: base, element: element)
            let indexType = type(of: indexExpression, element: element)
            return subscriptType(baseType, indexType, path: base.text(element: element?.text ?? ""),
                                 indexSpan: indexExpression.span, span: span)
        case .projection(let base, let rest, _):
            let baseType = type(of: base, element: element)
            var elementType = Schema.any
            if let listElement = baseType.element, baseType.isList != false {
                elementType = listElement
            } else if baseType != .null, baseType.isList == false {
                report(ExpressionMessage.notProjectable(base.text(element: element?.text ?? ""), baseType.phrase), at: base.span)
            }
            return .array(type(of: rest, element: Element(type: elementType, path: ProjectedPath(base: base, outer: element?.path))))
        case .call(let name, let arguments, let span):
            let argumentTypes = arguments.map { type(of: $0, element: element) }
            return callType(name, arguments, argumentTypes, at: span)
        case .not(let operand, _):
            _ = type(of: operand, element: element)
            return .boolean
        case .binary(let op, let left, let right, let span):
            let leftType = type(of: left, element: element)
            let rightType = type(of: right, element: element)
            switch op {
            case .or, .and: return TypeChecker.union(leftType, rightType)
            case .equal, .notEqual:
                // Values of different types are never equal (`'5' == 5` is false): between a
                // string, a number, a boolean, a list and a mapping known for certain, that is a
                // mistake, not a test (`inputs.tags == 'x'` meant `contains`). Null and values
                // whose type is open stay comparable with anything.
                func isKnown(_ phrase: String) -> Bool { ["a number", "a string", "a boolean", "a list", "a mapping"].contains(phrase) }
                if let l = TypeChecker.comparable(leftType), let r = TypeChecker.comparable(rightType), l != r, isKnown(l), isKnown(r) {
                    report(ExpressionMessage.equality(op, l, r), at: span)
                }
                return .boolean
            default:
                // An error when no value the two sides may have can be ordered: a duration that is
                // a number or null against a string ("10m") fails whichever it is.
                if let l = TypeChecker.possibleKinds(leftType), let r = TypeChecker.possibleKinds(rightType),
                   l.intersection(r).intersection(["a number", "a string"]).isEmpty {
                    report(ExpressionMessage.comparison(op, l.sorted().joined(separator: " or "), r.sorted().joined(separator: " or ")), at: span)
                }
                return .boolean
            }
        }
    }

    // MARK: Roots and members

    mutating func rootType(_ name: String, at span: Expression.Span) -> Schema {
        switch name {
        case "inputs":
            return .object(scope.inputs.keys.sorted().map { Property($0, scope.inputs[$0]!, "") })
        case "steps":
            return .object(scope.steps.keys.sorted().map { Property($0, .object([Property("outputs", scope.steps[$0]!.outputs, "")]), "") })
        case "env":
            return .map(.string)
        case "item":
            if let item = scope.item { return item }
            report(scope.isConditionOfForEach ? ExpressionMessage.conditionOfForEach(name) : ExpressionMessage.forEachOnly(name), at: span)
            return .any
        case "index":
            if scope.hasIndex { return .integer }
            report(scope.isConditionOfForEach ? ExpressionMessage.conditionOfForEach(name) : ExpressionMessage.forEachOnly(name), at: span)
            return .any
        default:
            report(ExpressionMessage.unknownName(name), at: span)
            return .any
        }
    }

    /// `base.name` (or `base['name']`), with the special shapes of the roots: `inputs.x`,
    /// `steps.<id>.outputs`, `env.NAME`.
    mutating func memberType(of base: Expression, _ name: String, nameSpan: Expression.Span, node: Expression,
                             element: Element?) -> Schema {
        switch base {
        case .name("inputs", _):
            if let input = scope.inputs[name] { return input }
            report("unknown input '\(name)'" + Suggestions.didYouMean(name, in: scope.inputs.keys.sorted()), at: nameSpan)
            return .any
        case .name("steps", _):
            // A step id not followed by `.outputs` (that case is handled one level up).
            if stepInfo(name, at: nameSpan) != nil { report("expected 'steps.\(name).outputs'", at: node.span) }
            return .any
        case .name("env", _):
            return .anyOf([.string, .null])
        default:
            break
        }
        if let (stepsRoot, id, idSpan) = base.staticMember, case .name("steps", _) = stepsRoot {
            guard stepInfo(id, at: idSpan) != nil else { return .any }
            if name == "outputs" { return scope.steps[id]!.outputs }
            report("expected 'steps.\(id).outputs'", at: node.span)
            return .any
        }
        let baseType = type(of: base, element: element)
        if baseType == .any { return .any }
        var path: String { base.text(element: element?.text ?? "") }
        if baseType.isList == true {
            if case .index = node {
                report(ExpressionMessage.listIndex("a string"), at: nameSpan)
                return baseType.element ?? .any
            }
            report(ExpressionMessage.listMember(path), at: nameSpan)
            return .any
        }
        if let memberType = baseType.member(name) { return memberType }
        if baseType == .null { return .null }
        if TypeChecker.isObjectLike(baseType) {
            let suggestion = Suggestions.didYouMean(name, in: baseType.memberNames)
            if let (outputsBase, _, _) = base.staticMember, let (stepsRoot, id, _) = outputsBase.staticMember,
               case .name("steps", _) = stepsRoot, let step = scope.steps[id] {
                report("step '\(id)' (\(step.kind)) has no output '\(name)'" + suggestion, at: nameSpan)
            } else {
                report("'\(path)' has no field '\(name)'" + suggestion, at: nameSpan)
            }
        } else {
            report(ExpressionMessage.noField(path, baseType.phrase, name), at: nameSpan)
        }
        return .any
    }

    mutating func stepInfo(_ id: String, at span: Expression.Span) -> TypeScope.StepInfo? {
        if let step = scope.steps[id] { return step }
        report("unknown step '\(id)'" + (scope.suggestsSteps ? Suggestions.didYouMean(id, in: scope.steps.keys.sorted()) : ""), at: span)
        return nil
    }

    /// `base[index]` with a computed index.
    mutating func subscriptType(_ baseType: Schema, _ indexType: Schema, path: @autoclosure () -> String, indexSpan: Expression.Span,
                                span: Expression.Span) -> Schema {
        let indexKind = TypeChecker.comparable(indexType)
        if baseType == .any || baseType == .null { return baseType }
        if baseType.isList == true {
            if let indexKind, indexKind != "a number" { report(ExpressionMessage.listIndex(indexKind), at: indexSpan) }
            return baseType.element ?? .any
        }
        if baseType.isList == nil { return .any }
        if TypeChecker.isObjectLike(baseType) {
            if let indexKind, indexKind != "a string" { report(ExpressionMessage.mappingKey(indexKind), at: indexSpan) }
            if case .object(let object) = baseType, object.properties.isEmpty, let values = object.additional { return values }
            return .any
        }
        report(ExpressionMessage.notIndexable(path(), baseType.phrase), at: span)
        return .any
    }

    // MARK: Calls

    mutating func callType(_ name: String, _ arguments: [Expression], _ argumentTypes: [Schema], at span: Expression.Span) -> Schema {
        guard let function = ExpressionFunctions.named[name] else {
            report("unknown function '\(name)'" + Suggestions.didYouMean(name, in: ExpressionFunctions.all.map(\.name)),
                   at: Expression.Span(offset: span.offset, length: name.count))
            return .any
        }
        if let problem = function.arityProblem(arguments.count) {
            report(problem, at: span)
            return function.resultType(argumentTypes + Array(repeating: .any, count: max(0, function.minimumArguments - arguments.count)))
        }
        for (i, argumentType) in argumentTypes.enumerated() where !function.parameter(i).accepts(argumentType) {
            report("argument \(i + 1) of '\(name)' must be \(function.parameter(i).phrase), got \(argumentType.phrase)",
                   at: arguments[i].span)
        }
        errors += function.checkArguments?(arguments) ?? []
        return function.resultType(argumentTypes)
    }

    // MARK: Type helpers

    static func isObjectLike(_ schema: Schema) -> Bool {
        switch schema {
        case .object: true
        case .anyOf(let options): options.contains(where: isObjectLike)
        default: false
        }
    }

    /// For comparisons and index checks: "a number", "a string", another kind's phrase when the
    /// type is certainly that, nil when it could be several things.
    static func comparable(_ schema: Schema) -> String? {
        switch schema {
        case .any: nil
        case .number, .integer: "a number"
        case .string, .oneOfStrings: "a string"
        case .boolean: "a boolean"
        case .null: "null"
        case .array: "a list"
        case .object: "a mapping"
        case .anyOf(let options):
            Set(options.map(comparable)).count == 1 ? options.first.flatMap(comparable) : nil
        }
    }

    /// Every kind (as `comparable` names them) a value of this type may be; nil when open.
    static func possibleKinds(_ schema: Schema) -> Set<String>? {
        if case .anyOf(let options) = schema {
            var kinds: Set<String> = []
            for option in options {
                guard let more = possibleKinds(option) else { return nil }
                kinds.formUnion(more)
            }
            return kinds
        }
        return comparable(schema).map { [$0] }
    }

    /// The type of `a || b` or `a && b`: either side's.
    static func union(_ a: Schema, _ b: Schema) -> Schema {
        func options(_ s: Schema) -> [Schema] {
            if case .anyOf(let list) = s { return list }
            return [s]
        }
        var all: [Schema] = []
        for option in options(a) + options(b) where !all.contains(option) { all.append(option) }
        if all.contains(.any) { return .any }
        return all.count == 1 ? all[0] : .anyOf(all)
    }
}
