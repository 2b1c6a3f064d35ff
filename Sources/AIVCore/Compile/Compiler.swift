/// Turns a checked workflow and its bound inputs into an `ExecutionPlan`.
///
/// A pure function, as swift-driver plans jobs: no file, network or clock is touched, so tests
/// assert on the plan and `aiv plan` shows exactly what `aiv run` will do.
public struct Compiler: Sendable {
    public var registry: StepRegistry

    public init(registry: StepRegistry) {
        self.registry = registry
    }

    public func compile(_ checked: CheckedWorkflow, inputs: [String: JSONValue], environment: [String: String] = [:]) -> Result<ExecutionPlan, Diagnostics> {
        guard checked.isValid else { return .failure(checked.diagnostics) }
        let workflow = checked.workflow
        // On declaration positions rather than step ids: hashing ids for every edge, order and
        // layer lookup was a fifth of compiling the 1,000-step benchmark.
        let position = Dictionary(uniqueKeysWithValues: workflow.steps.enumerated().map { ($1.id, $0) })
        let dependencies: [[Dependency]] = workflow.steps.map { checked.dependencies[$0.id] ?? [] }
        let successors = dependencies.map { DependencyGraph.distinctPositions(of: $0.map(\.step), in: position) }
        guard let kahnOrder = DependencyGraph.topologicalOrder(successors: successors) else {
            return .failure(Diagnostics([.error("the workflow has a dependency cycle", at: SourceLocation(file: workflow.file, line: 1, column: 1))]))
        }
        let layers = DependencyGraph.layers(order: kahnOrder, successors: successors)
        // Listed layer by layer (declaration order within a layer): still a topological order,
        // and the one that reads best in `aiv plan`.
        let order = kahnOrder.sorted { (layers[$0], $0) < (layers[$1], $1) }
        let constants = EvaluationScope(inputs: inputs, env: environment)
        var diagnostics = Diagnostics()
        var steps: [PlannedStep] = []
        steps.reserveCapacity(order.count)
        var planPosition = [Int](repeating: 0, count: order.count)
        for (index, step) in order.enumerated() { planPosition[step] = index }
        let parsed = checked.parsedExpressions.count == workflow.steps.count ? checked.parsedExpressions : nil

        let secretNames = workflow.secretInputs.sorted()
        // The secret inputs each service's settings read: a step of that service reads them too.
        var serviceSecrets: [String: [String]] = [:]
        if !secretNames.isEmpty {
            for service in workflow.services { serviceSecrets[service.name, default: []] += Self.secretInputs(readBy: service.settings.json, among: secretNames) }
        }

        // Steps the inputs given skip (an `if:` false with them, or a need so skipped): what their
        // values would be with those inputs is not checked, as they will not run.
        var skippedWithInputs: Set<String> = []
        for stepPosition in order {
            let step = workflow.steps[stepPosition]
            let id = step.id
            guard let kindPosition = registry.position(ofKind: step.kind) else {
                return .failure(Diagnostics([.error("step '\(id)' uses an unknown kind", at: step.kindLocation)]))
            }
            let needs = dependencies[stepPosition]
                .sorted { planPosition[position[$0.step]!] < planPosition[position[$1.step]!] }
                .map { PlannedStep.Need(step: $0.step, reason: $0.reason) }
            var condition: PlannedStep.Condition?
            if let value = step.condition {
                switch value.content {
                case .bool(let b): condition = .init(expression: b ? "true" : "false", constant: b)
                case .string(let text):
                    let known: JSONValue? = Self.parsed(parsed?[stepPosition].condition, for: text).map { Self.constant($0, scope: constants) }
                        ?? Self.constant(text, bare: true, scope: constants)
                    condition = .init(expression: text, constant: known?.isTruthy)
                default: break
                }
            }
            // Looked for only once some step is known skipped: most workflows have none.
            let skipped = condition?.constant == false || (!skippedWithInputs.isEmpty && needs.contains { need in
                need.reason != .file && skippedWithInputs.contains(need.step) && !step.optionalNeeds.contains { $0.id == need.step }
            })
            if skipped { skippedWithInputs.insert(id) }
            var fanout: PlannedStep.Fanout?
            if let value = step.forEach {
                if let items = value.items {
                    fanout = .init(expression: nil, items: items.map(\.json))
                } else if let text = value.string {
                    let known: JSONValue? = Self.parsed(parsed?[stepPosition].forEach, for: text).map { Self.constant($0, scope: constants) }
                        ?? Self.constant(text, bare: false, scope: constants)
                    if let known, known.arrayValue == nil, !skipped {
                        diagnostics.error("'for_each' of step '\(id)' must be a list, but it is \(known.typeName) here", at: value.location, length: value.length)
                    }
                    fanout = .init(expression: text, items: known?.arrayValue)
                }
            }
            // Fields read in place rather than through a copy of the kind (see `position(ofKind:)`).
            let kinds = registry.kinds
            if let check = kinds[kindPosition].checkLiterals, !skipped {
                checkWithInputs(step, kind: kinds[kindPosition].name, check: check, scope: constants, diagnostics: &diagnostics)
            }
            let prompts = kinds[kindPosition].arguments.compactMap { property -> String? in
                guard case .template = property.role, let path = step.arguments?[property.name]?.string, !path.hasExpressionMarker else { return nil }
                return path
            }
            steps.append(PlannedStep(
                id: id, name: step.name, kind: kinds[kindPosition].name, kindVersion: kinds[kindPosition].version,
                effect: kinds[kindPosition].effect, service: kinds[kindPosition].service,
                needs: needs, layer: layers[stepPosition], arguments: step.arguments?.json.objectValue ?? [:],
                condition: condition, forEach: fanout, maxParallel: step.maxParallel, retry: step.retry, timeout: step.timeout,
                continueOnError: step.continueOnError, optionalNeeds: Set(step.optionalNeeds.map(\.id)), cache: step.cache,
                isCacheable: kinds[kindPosition].effect == .deterministic && step.cache != .off,
                prompts: prompts, location: step.location,
                secretInputs: secretNames.isEmpty ? [] : Set(Self.secretInputs(readBy: step.arguments?.json ?? .null, among: secretNames)
                    + Self.secretInputs(readBy: .array([step.forEach?.json ?? .null, step.condition?.json ?? .null]), among: secretNames)
                    + (kinds[kindPosition].service.flatMap { serviceSecrets[$0] } ?? [])).sorted()))
        }
        var services: [String: JSONValue] = [:]
        for service in workflow.services where services[service.name] == nil {
            services[service.name] = Self.resolvedSetting(service.settings, property: registry.service(service.name).map { Property("", .object($0.settings), "") },
                                                          path: "services.\(service.name)", scope: constants, diagnostics: &diagnostics)
        }
        if diagnostics.hasErrors { return .failure(diagnostics) }
        return .success(ExecutionPlan(workflow: workflow.name, file: workflow.file, inputs: inputs, services: services, steps: steps,
                                      secretInputs: secretNames,
                                      durationInputs: workflow.inputs.filter { $0.type == .duration }.map(\.name).sorted()))
    }

    /// The names among `names` that the expressions in `value`'s strings read: `inputs.NAME`,
    /// `inputs['NAME']`, or the whole of `inputs` (`toJSON(inputs)`). Read from the text, so a
    /// reference in a string literal counts too: a step left uncached for nothing costs less
    /// than one that keeps a key.
    static func secretInputs(readBy value: JSONValue, among names: [String]) -> [String] {
        var found = Set<String>()
        func visit(_ value: JSONValue) {
            switch value {
            case .string(let text):
                guard text.contains("inputs") else { return }
                for name in names where !found.contains(name) && Self.reads(text, input: name) { found.insert(name) }
            case .array(let items): items.forEach(visit)
            case .object(let members): members.values.forEach(visit)
            default: break
            }
        }
        visit(value)
        return found.sorted()
    }

    /// Whether `text` reads input `name`, or all the inputs at once.
    static func reads(_ text: String, input name: String) -> Bool {
        var rest = text[...]
        while let found = rest.range(of: "inputs") {
            let before = found.lowerBound == text.startIndex ? nil : text[text.index(before: found.lowerBound)]
            rest = text[found.upperBound...]
            // `my_inputs` is another name.
            if let before, before.isLetter || before.isNumber || before == "_" || before == "." { continue }
            let after = rest.first
            if after == "." {
                let member = rest.dropFirst().prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
                if member == name { return true }
            } else if after == "[" {
                let inside = rest.dropFirst().drop { $0 == " " }
                if inside.hasPrefix("'\(name)'") || inside.hasPrefix("\"\(name)\"") { return true }
                // An index that is itself an expression may be any input.
                if !(inside.hasPrefix("'") || inside.hasPrefix("\"")) { return true }
            } else if !(after.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false) {
                return true
            }
        }
        return false
    }

    /// The value of an expression that reads only inputs and the environment; nil when it needs
    /// step outputs (known only when running) or cannot be evaluated now.
    static func constant(_ text: String, bare: Bool, scope: EvaluationScope) -> JSONValue? {
        let expression: Expression
        if text.hasExpressionMarker {
            guard let template = try? StringTemplate.parse(text), let single = template.singleExpression else { return nil }
            expression = single
        } else if bare {
            guard let parsed = try? ExpressionParser.parse(text) else { return nil }
            expression = parsed
        } else {
            return nil
        }
        return constant(expression, scope: scope)
    }

    /// The checker's parse of `text`, when it has one for exactly this text.
    static func parsed(_ entry: (text: String, expression: Expression)?, for text: String) -> Expression? {
        guard let entry, entry.text == text else { return nil }
        return entry.expression
    }

    /// A kind's own checks of its arguments (a clip's lengths, a subtitle format), run again with
    /// the arguments that read only inputs and the environment evaluated: `min_length:
    /// ${{ inputs.audio_window }}` over `max_length: 60s` is known to fail now, not after the
    /// paid analysis before it. Problems the literals alone show were reported by the checker.
    func checkWithInputs(_ step: StepDeclaration, kind: String, check: (WrittenArguments) -> [LiteralProblem], scope: EvaluationScope,
                         diagnostics: inout Diagnostics) {
        guard let entries = step.arguments?.entries, entries.contains(where: { $0.value.string?.hasExpressionMarker == true }) else { return }
        var written: [String: JSONValue] = [:]
        var evaluated = written
        for entry in entries {
            written[entry.key] = entry.value.json
            if let text = entry.value.string, text.hasExpressionMarker, let value = Self.constant(text, bare: false, scope: scope) {
                evaluated[entry.key] = value
            } else {
                evaluated[entry.key] = entry.value.json
            }
        }
        guard evaluated != written else { return }
        let known = Set(check(WrittenArguments(written)).map { "\($0.argument)\u{0}\($0.message)" })
        for problem in check(WrittenArguments(evaluated)) where problem.severity == .error && !known.contains("\(problem.argument)\u{0}\(problem.message)") {
            let value = step.arguments?[problem.argument]
            diagnostics.error("argument '\(problem.argument)' of \(kind) \(problem.message), with the inputs given", at: value?.location ?? step.location,
                              length: value?.length ?? 1)
        }
    }

    /// A service setting with its `${{ }}` evaluated: settings read only inputs and the environment,
    /// known now, so a value from an expression is checked here as the checker checks a literal.
    static func resolvedSetting(_ value: SourceValue, property: Property?, path: String, scope: EvaluationScope,
                                diagnostics: inout Diagnostics) -> JSONValue {
        switch value.content {
        case .mapping(let entries):
            var members: [String: JSONValue] = [:]
            for entry in entries {
                let member: Property? = if case .object(let object)? = property?.schema { object[entry.key] } else { nil }
                members[entry.key] = resolvedSetting(entry.value, property: member, path: "\(path).\(entry.key)", scope: scope, diagnostics: &diagnostics)
            }
            return .object(members)
        case .string(let text) where text.hasExpressionMarker:
            let resolved: JSONValue
            do {
                resolved = try StringTemplate.parse(text).render(in: scope)
            } catch {
                diagnostics.error("'\(path)': \(error.message)", at: value.location, length: value.length)
                return .null
            }
            if let property, let problem = property.schema.mismatch(resolved).map({ "is \(resolved.canonicalJSON) here: \($0)" }) ?? property.settingProblem(resolved) {
                diagnostics.error("'\(path)' \(problem)", at: value.location, length: value.length)
            }
            return resolved
        default:
            return value.json
        }
    }

    /// The value of an already parsed expression that reads only inputs and the environment.
    static func constant(_ expression: Expression, scope: EvaluationScope) -> JSONValue? {
        guard expression.references.allSatisfy({ $0.root == "inputs" || $0.root == "env" }) else { return nil }
        return try? expression.evaluate(in: scope)
    }
}
