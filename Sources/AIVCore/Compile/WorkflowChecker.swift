import Foundation

/// Checks a loaded workflow against the step registry: kinds, arguments and their types,
/// references in expressions, prompt files and their variables, `for_each` lists, service
/// settings and dependency cycles. It reports every problem it finds, never only the first.
public struct WorkflowChecker: Sendable {
    public var registry: StepRegistry
    /// Threads that check steps; nil: one per core once there are enough steps to pay for them.
    public var workers: Int?

    public init(registry: StepRegistry, workers: Int? = nil) {
        self.registry = registry
        self.workers = workers
    }

    /// `source` is the workflow's text; with it, problems inside a string point at their exact column.
    public func check(_ workflow: Workflow, source: SourceFile? = nil) -> CheckedWorkflow {
        var workers = self.workers ?? workflow.steps.count / Self.stepsPerWorker
        // The core count reads cgroup files on Linux: asked only when threads could be used.
        if self.workers == nil, workers >= 2 { workers = min(workers, ProcessInfo.processInfo.activeProcessorCount) }
        workers = min(workers, workflow.steps.count)
        func started() -> CheckRun {
            var run = CheckRun(registry: registry, workflow: workflow, source: source)
            run.checkServices()
            return run
        }
        func checkedOnOneThread() -> CheckRun {
            var run = started()
            for step in workflow.steps { run.checkStep(step) }
            return run
        }
        var run: CheckRun
        if workers >= 2 {
            run = started()
            run.checkStepsInParallel(workers: workers)
            // Which problems get the details (see `detailedProblems`) depends on the order they
            // are found in, so a workflow with that many problems is checked again on one thread,
            // and reports exactly what one thread finds.
            // So is one whose problems used up the walking budget for placing them (`locate`):
            // which of them are placed exactly depends on the order too.
            if !run.givesDetails || run.locatingExhausted { run = checkedOnOneThread() }
        } else {
            run = checkedOnOneThread()
        }
        for step in workflow.duplicateSteps { run.checkDuplicateStep(step) }
        run.addFileDependencies()
        run.checkCycles()
        run.checkOutputPaths()
        return CheckedWorkflow(workflow: workflow, diagnostics: run.diagnostics, dependencies: run.dependencies, prompts: run.prompts,
                               parsedExpressions: run.parsedExpressions)
    }

    /// Steps a thread must have before another is started. Chosen rather than tuned: at about
    /// 6 µs a step, 200 steps are over a millisecond of work, well above what starting a share
    /// and joining it cost.
    static let stepsPerWorker = 200
}

/// The step whose values are being checked, as messages and references need it: its id and kind,
/// without copying the whole declaration into an optional for every value checked.
struct StepOwner {
    var id: String
    var kind: String
    init(_ step: StepDeclaration) {
        id = step.id
        kind = step.kind
    }
}

/// The state of one check: what has been found so far.
struct CheckRun {
    /// A dependency edge as a key (hashing two ids, without joining them into a new string).
    struct Edge: Hashable {
        var step: String
        var dependency: String
    }

    let registry: StepRegistry
    let workflow: Workflow
    let source: SourceFile?
    var diagnostics = Diagnostics()
    var dependencies: [String: [Dependency]] = [:]
    /// The dependencies of each step with more than `searchedDependencies`, as a set.
    var longDependencyLists: [String: Set<String>] = [:]
    var prompts: [String: PromptFile] = [:]
    var failedPrompts: Set<String> = []
    /// Prompt files with problems that leave their variables known (`PromptFile.loadForChecking`):
    /// the values steps pass are still checked against them; they are never part of a plan.
    var partialPrompts: [String: PromptFile] = [:]
    /// A prompt file → the positions in `diagnostics` of what loading it reported (its own
    /// problems, or that it is missing), made at its first use only: joining the shares of a
    /// parallel check keeps the first share's and drops the repeats of later ones.
    var promptReports: [String: Range<Int>] = [:]
    /// A step and a step it depends on → the string and offset of the reference that made the edge.
    var referenceSites: [Edge: (value: SourceValue, offset: Int)] = [:]
    /// One entry per step checked, in declaration order: its `if` and `for_each` expressions, for `Compiler`.
    var parsedExpressions: [ParsedStepExpressions] = []
    /// Parses by text, for this check only. Workflows repeat the same strings (`${{ item }}`,
    /// `${{ index }}`, a filter) in many steps, and parsing is a third of checking; parsing is a
    /// pure function of the text, so a repeat gets the same template or the same error.
    var templatesByText: [String: Result<StringTemplate, ExpressionError>] = [:]
    var expressionsByText: [String: Result<Expression, ExpressionError>] = [:]
    /// The element shape of the list a list step is given, by step (`shapeListOutputs`).
    var listElements: [String: Schema] = [:]
    /// Output paths written as literals → the steps that write each (several when all but one
    /// may be skipped). A step whose literal input path is one of them reads what they wrote
    /// (see `addFileDependencies`).
    let literalOutputs: [ExactPath: [String]]
    /// Literal input paths that another step writes, found while checking steps; made into
    /// dependencies once every step's other dependencies are known.
    var fileReads: [FileRead] = []

    struct FileRead {
        var reader: String
        var writers: [String]
        var text: String
        var value: SourceValue
        /// For a template or a prompt file, what messages call it ("template", "prompt"): it is
        /// loaded as one when it is the one beside the workflow.
        var templateNoun: String?
    }

    /// The steps other than `step` that write `text` as a literal output path, or nil.
    func otherWriters(of text: String, than step: StepDeclaration) -> [String]? {
        guard !text.hasPrefix("/"), let writers = literalOutputs[ExactPath(Paths.normalize(text))]?.filter({ $0 != step.id }),
              !writers.isEmpty else { return nil }
        return writers
    }
    let baseScope: TypeScope

    init(registry: StepRegistry, workflow: Workflow, source: SourceFile?) {
        self.registry = registry
        self.workflow = workflow
        self.source = source
        var steps: [String: TypeScope.StepInfo] = [:]
        steps.reserveCapacity(workflow.steps.count)
        var promptsRead: [String: Schema?] = [:]
        for step in workflow.steps {
            // A step of an unknown kind is still a step (its kind is the error): reading its
            // outputs is not a second one.
            guard let kind = registry.position(ofKind: step.kind) else {
                steps[step.id] = .init(kind: step.kind, outputs: .any)
                continue
            }
            let description = registry.kinds[kind]
            let outputs = description.promptShapedOutput == nil ? description.outputs
                : Self.outputs(of: step, kind: description, baseDirectory: workflow.baseDirectory, promptsRead: &promptsRead)
            // The outputs of a for_each step are the outputs of each item, collected in order.
            steps[step.id] = .init(kind: step.kind, outputs: step.forEach == nil ? outputs : .array(outputs))
        }
        literalOutputs = Self.literalOutputs(of: workflow.steps, registry: registry)
        let inputs = Dictionary(workflow.inputs.map { ($0.name, $0.schema) }, uniquingKeysWith: { first, _ in first })
        var scope = TypeScope(inputs: inputs, steps: steps)
        Self.shapeListOutputs(of: workflow.steps, registry: registry, scope: &scope, elements: &listElements, parsed: &templatesByText)
        baseScope = scope
        // About one entry per step in each: room made once rather than by growing and rehashing.
        dependencies.reserveCapacity(workflow.steps.count)
        referenceSites.reserveCapacity(workflow.steps.count)
        templatesByText.reserveCapacity(workflow.steps.count)
        parsedExpressions.reserveCapacity(workflow.steps.count)
    }

    /// Output paths written as literals (normalized) → the steps that write each, in order.
    static func literalOutputs(of steps: [StepDeclaration], registry: StepRegistry) -> [ExactPath: [String]] {
        var writers: [ExactPath: [String]] = [:]
        forEachLiteralOutput(of: steps, registry: registry) { step, _, text in
            let path = ExactPath(Paths.normalize(text))
            if writers[path]?.last != step.id { writers[path, default: []].append(step.id) }
        }
        return writers
    }

    /// Calls `body` with each output path written as a literal that names a file in the run
    /// folder, in declaration order: the step, the value as written, its text.
    static func forEachLiteralOutput(of steps: [StepDeclaration], registry: StepRegistry,
                                     _ body: (StepDeclaration, SourceValue, String) -> Void) {
        // The names of each kind's output-path arguments, found once a kind.
        var outputArguments: [Int: [String]] = [:]
        for step in steps {
            guard let position = registry.position(ofKind: step.kind), let arguments = step.arguments else { continue }
            let names = outputArguments[position] ?? registry.kinds[position].arguments.filter { $0.role == .outputPath }.map(\.name)
            outputArguments[position] = names
            for name in names {
                guard let value = arguments[name], let text = value.string, !text.hasExpressionMarker,
                      OutputPaths.problem(with: text) == nil else { continue }
                body(step, value, text)
            }
        }
    }

    /// Makes each literal input path other steps write a dependency on each writer (whichever
    /// runs, the reader waits for it), unless the writers already stand on the reader (a step
    /// that reads `talk.srt` beside the workflow and a later one that writes a cleaned `talk.srt`
    /// from its outputs): then the reader reads the file beside the workflow, as it did before,
    /// and that file must exist.
    mutating func addFileDependencies() {
        for read in fileReads {
            let writers = read.writers.filter { !standsOn($0, read.reader) }
            if writers.count < read.writers.count {
                if let noun = read.templateNoun {
                    _ = loadPrompt(read.text, at: read.value, noun: noun)
                } else {
                    checkInputFileExists(read.text, at: read.value)
                }
            }
            for writer in writers { addDependency(of: read.reader, on: writer, reason: .file, at: read.value.location) }
        }
    }

    /// Whether `step` depends on `other`, directly or through other steps.
    func standsOn(_ step: String, _ other: String) -> Bool {
        var seen: Set<String> = [step]
        var pending = [step]
        while let next = pending.popLast() {
            for dependency in dependencies[next] ?? [] where seen.insert(dependency.step).inserted {
                if dependency.step == other { return true }
                pending.append(dependency.step)
            }
        }
        return false
    }

    /// Gives the list a list step returns (`StepKindDescription.listShapedOutput`) the element
    /// shape of the list it is given, when that is one `${{ }}` whose shape is known (or, for
    /// list.merge, a YAML list of such lists with one element shape), and keeps
    /// that shape in `elements` for the step's item expressions. One pass in declaration order:
    /// a list read from a step declared later keeps any element.
    static func shapeListOutputs(of steps: [StepDeclaration], registry: StepRegistry, scope: inout TypeScope,
                                 elements: inout [String: Schema], parsed: inout [String: Result<StringTemplate, ExpressionError>]) {
        for step in steps {
            guard let position = registry.position(ofKind: step.kind) else { continue }
            // A kind whose arguments name fields of its `items` (video.chapters' `title`) needs
            // their shape too, though its outputs are not shaped by them.
            let namesFields = registry.kinds[position].listShapedOutput == nil && registry.kinds[position].arguments.contains { $0.role == .fieldPath }
            guard let shaped = registry.kinds[position].listShapedOutput ?? (namesFields ? .init(output: "") : nil),
                  let argument = step.arguments?[shaped.argument],
                  case .object(var object) = registry.kinds[position].outputs else { continue }
            let index = object.properties.firstIndex(where: { $0.name == shaped.output })
            guard index != nil || namesFields else { continue }
            // Read as the step reads it: with its for_each item, whose shape is not worked out
            // here. Set in place: a copy of the scope would copy every step's outputs when one changes.
            scope.item = step.forEach == nil ? nil : .any
            scope.hasIndex = step.forEach != nil
            defer {
                scope.item = nil
                scope.hasIndex = false
            }
            var element: Schema
            if let text = argument.string {
                guard let type = typeOfSingleExpression(text, scope: scope, elements: elements, registry: registry, parsed: &parsed),
                      let listed = Self.listElement(of: type) else { continue }
                element = listed
                // An element that is not a list is added as one item.
                if shaped.flattens { element = element.isList == true ? element.element ?? .any : element.isList == false ? element : .any }
            } else if shaped.flattens, let entries = argument.items, !entries.isEmpty {
                // Lists written out one by one (`lists: ["${{ steps.a.outputs.items }}", …]`):
                // a shape when every one gives the same elements.
                var shapes: [Schema] = []
                for entry in entries {
                    guard let text = entry.string,
                          let type = typeOfSingleExpression(text, scope: scope, elements: elements, registry: registry, parsed: &parsed) else { break }
                    shapes.append(type.isList == true ? Self.listElement(of: type) ?? .any : type.isList == false ? type : .any)
                }
                guard shapes.count == entries.count, shapes.allSatisfy({ $0 == shapes[0] }) else { continue }
                element = shapes[0]
            } else {
                continue
            }
            // Only a shape with fields is worth handing on: it is what finds a misspelt `item.field`.
            guard element.hasFields else { continue }
            elements[step.id] = element
            guard let index else { continue }
            var output = element
            if let setBy = shaped.fieldsSetBy {
                // The fields set are any value here (their expressions are checked with the step).
                let names = step.arguments?[setBy]?.entries?.map(\.key) ?? []
                if case .object(var fields) = element {
                    fields.properties.removeAll { names.contains($0.name) }
                    fields.properties += names.map { Property($0, .any, required: true, "") }
                    output = .object(fields)
                } else {
                    output = .any
                }
            }
            if let listedBy = shaped.fieldsListedBy, let value = step.arguments?[listedBy] {
                // Each named field becomes the list of its values (a list's items joined in);
                // names computed when running, or paths into a field, leave the shape unknown.
                let names = value.items?.compactMap(\.string) ?? []
                if names.count == value.items?.count, !names.contains(where: { $0.contains(".") }), case .object(var fields) = output {
                    for position in fields.properties.indices where names.contains(fields.properties[position].name) {
                        let schema = fields.properties[position].schema
                        fields.properties[position].schema = schema.isList == true ? schema : .array(schema)
                    }
                    output = .object(fields)
                } else {
                    output = .any
                }
            }
            if !shaped.fieldsAdded.isEmpty, case .object(var fields) = output {
                fields.properties.removeAll { field in shaped.fieldsAdded.contains { $0.name == field.name } }
                fields.properties += shaped.fieldsAdded
                output = .object(fields)
            }
            object.properties[index].schema = .array(output)
            for other in shaped.alsoOutputs {
                if let position = object.properties.firstIndex(where: { $0.name == other }) { object.properties[position].schema = .array(output) }
            }
            scope.steps[step.id]?.outputs = step.forEach == nil ? .object(object) : .array(.object(object))
        }
    }

    /// The shape of `text` when it is one `${{ }}` that checks without errors; nil when it is
    /// not, or when it reads only list steps whose elements are unknown (most lists come from
    /// list steps that know nothing of their elements either: found by the step ids the text
    /// names, without parsing it, as this pass runs on one thread before the steps are checked
    /// on several). A list that names no step, `${{ inputs.expressions }}`, may well have a shape.
    private static func typeOfSingleExpression(_ text: String, scope: TypeScope, elements: [String: Schema], registry: StepRegistry,
                                               parsed: inout [String: Result<StringTemplate, ExpressionError>]) -> Schema? {
        guard text.hasExpressionMarker else { return nil }
        if let named = Self.stepsNamed(in: text), !named.isEmpty, named.allSatisfy({ elements[$0] == nil && Self.isListStep(registry, scope, $0) }) {
            return nil
        }
        let template: Result<StringTemplate, ExpressionError>
        if let known = parsed[text] {
            template = known
        } else {
            template = Result { () throws(ExpressionError) in try StringTemplate.parse(text) }
            parsed[text] = template
        }
        guard case .success(let parsedTemplate) = template, let expression = parsedTemplate.singleExpression else { return nil }
        let (type, errors) = expression.check(in: scope)
        return errors.isEmpty ? type : nil
    }

    /// The element shape of a list shape; for a choice (`a || b`), the one element shape all its
    /// lists share, else any (`Schema.element` takes the first list's).
    static func listElement(of type: Schema) -> Schema? {
        guard case .anyOf(let options) = type else { return type.element }
        let elements = options.compactMap { $0.isList == false ? nil : $0.element }
        guard let first = elements.first else { return nil }
        return elements.allSatisfy { $0 == first } ? first : .any
    }

    /// The ids of the steps `text` reads as `steps.<id>`, or nil when it may read one another
    /// way (`steps['id']`).
    static func stepsNamed(in text: String) -> [String]? {
        // Over UTF-8 bytes: Foundation's `range(of:)` cost about 20,000 instructions a string,
        // most of this pass.
        let word = Array("steps".utf8)
        var names: [String] = []
        var text = text
        return text.withUTF8 { bytes -> [String]? in
            var i = 0
            while i + word.count < bytes.count {
                guard bytes[i] == word[0], bytes[i + 1] == word[1], bytes[i + 2] == word[2], bytes[i + 3] == word[3],
                      bytes[i + 4] == word[4] else {
                    i += 1
                    continue
                }
                i += word.count
                if bytes[i] == UInt8(ascii: "[") { return nil }
                guard bytes[i] == UInt8(ascii: ".") else { continue }
                let start = i + 1
                var end = start
                while end < bytes.count, ExpressionLexer.isNameContinuation(bytes[end]) { end += 1 }
                if end > start { names.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)) }
                i = end
            }
            return names
        }
    }

    /// Whether `id` is a step whose kind is a list step (its outputs shaped by this pass or not at all).
    static func isListStep(_ registry: StepRegistry, _ scope: TypeScope, _ id: String) -> Bool {
        guard let kind = scope.steps[id]?.kind, let position = registry.position(ofKind: kind) else { return false }
        return registry.kinds[position].listShapedOutput != nil
    }

    /// A step's outputs with the one its prompt shapes (`StepKindDescription.promptShapedOutput`)
    /// given the shape of the prompt's reply: its output schema, a string for a text reply, any
    /// value otherwise or when the prompt is not known before running. `promptsRead` keeps the
    /// shape of each file read here (nil: none known); what is wrong with a file is reported where
    /// the step's argument is checked, not here.
    static func outputs(of step: StepDeclaration, kind: StepKindDescription, baseDirectory: String,
                        promptsRead: inout [String: Schema?]) -> Schema {
        guard let shaped = kind.promptShapedOutput, case .object(var object) = kind.outputs,
              let index = object.properties.firstIndex(where: { $0.name == shaped.output }),
              let path = step.arguments?[shaped.promptArgument]?.string, !path.hasExpressionMarker else { return kind.outputs }
        let resolved = Paths.resolve(path, relativeTo: baseDirectory)
        if promptsRead[resolved] == nil {
            // The reply's shape once per file: a thousand steps may share one prompt.
            promptsRead[resolved] = .some(PromptFile.load(path: resolved).prompt.flatMap { prompt in
                prompt.outputSchema.map { Schema(jsonSchema: $0) } ?? (prompt.outputFormat == "text" ? .string : nil)
            })
        }
        guard let reply = promptsRead[resolved] ?? nil else { return kind.outputs }
        object.properties[index].schema = reply
        return .object(object)
    }

    /// Problems after which step ids are no longer searched for a "did you mean" or a string
    /// for a problem's exact column: each costs time in proportion to the workflow (its steps, the
    /// string's length), so thousands of problems would take minutes. Later problems are still
    /// all reported, at their value's start and without suggestions.
    static let detailedProblems = 200
    /// Placing a problem inside a string (`locate`) walks the string's source: a check walks at
    /// most this many characters for that; later problems point at their string.
    static let locatingBudget = 2 << 20
    var locatingSpent = 0
    /// A problem was not placed for want of budget (a parallel check is then redone on one thread).
    var locatingExhausted = false

    var givesDetails: Bool { diagnostics.items.count < Self.detailedProblems }

    // MARK: Services

    mutating func checkServices() {
        for service in workflow.services {
            guard let description = registry.service(service.name) else {
                let known = registry.services.map(\.name)
                diagnostics.error("unknown service '\(service.name)'\(Suggestions.didYouMean(service.name, in: known)); services are \(known.joined(separator: ", "))",
                                  at: service.location, length: service.name.count)
                continue
            }
            checkValue(service.settings, against: .object(description.settings), path: "services.\(service.name)", owner: nil,
                       scope: TypeScope(inputs: baseScope.inputs))
            checkSettingValues(in: service.settings, properties: description.settings, path: "services.\(service.name)")
        }
    }

    /// What a service setting's type does not say: a duration (`timeout`, `retry.delay`) is one,
    /// a rate or a count is not below its least (a limit of 0 requests a minute waits for ever).
    /// Expressions are checked with their values, when the workflow is compiled.
    mutating func checkSettingValues(in value: SourceValue, properties: [Property], path: String) {
        for entry in value.entries ?? [] {
            guard let property = properties.first(where: { $0.name == entry.key }) else { continue }
            if case .object(let object) = Self.option(of: property.schema, for: entry.value) {
                checkSettingValues(in: entry.value, properties: object.properties, path: "\(path).\(entry.key)")
            } else if !(entry.value.string?.hasExpressionMarker ?? false), entry.value.json.numberValue != nil || entry.value.string != nil,
                      property.schema.mismatch(entry.value.json) == nil, let problem = property.settingProblem(entry.value.json) {
                diagnostics.error("'\(path).\(entry.key)' \(problem)", at: entry.value.location, length: entry.value.length)
            }
        }
    }

    // MARK: Steps

    mutating func checkStep(_ step: StepDeclaration) {
        dependencies[step.id] = []
        longDependencyLists[step.id] = nil
        parsedExpressions.append(ParsedStepExpressions())
        for need in step.optionalNeeds where step.needs.contains(where: { $0.id == need.id }) {
            diagnostics.error("step '\(step.id)' lists '\(need.id)' under both 'needs' and 'optional_needs'; keep it in one",
                              at: need.location, length: need.id.count)
        }
        for need in step.needs + step.optionalNeeds {
            if need.id == step.id {
                diagnostics.error("step '\(step.id)' needs itself", at: need.location, length: need.id.count)
            } else if !workflow.containsStep(need.id) {
                diagnostics.error("step '\(step.id)' needs unknown step '\(need.id)'\(givesDetails ? Suggestions.didYouMean(need.id, in: workflow.steps.map(\.id)) : "")",
                                  at: need.location, length: need.id.count)
            } else {
                addDependency(of: step.id, on: need.id, reason: .needs, at: need.location)
            }
        }

        let kind = registry[kind: step.kind]
        if kind == nil, step.kind.isEmpty, step.kindLocation != step.location {
            diagnostics.error("'uses' of step '\(step.id)' is empty; name a step kind such as 'template.render'", at: step.kindLocation)
        } else if kind == nil, !step.kind.isEmpty {
            diagnostics.error("unknown step kind '\(step.kind)'\(Suggestions.didYouMean(step.kind, in: registry.kindNames))",
                              at: step.kindLocation, length: step.kind.count,
                              notes: Suggestions.closest(to: step.kind, in: registry.kindNames) == nil
                                ? [.init("run 'aiv kinds' to list the step kinds")] : [])
        }

        if let condition = step.condition { checkCondition(condition, step: step) }
        let itemSchema = step.forEach.map { checkForEach($0, step: step) }
        if let timeout = step.timeout, timeout <= 0 {
            diagnostics.error("'timeout' of step '\(step.id)' must be longer than zero", at: step.timeoutLocation ?? step.location)
        }
        if let kind, kind.effect == .sideEffecting, let location = step.cacheLocation, step.cache != .off {
            diagnostics.error("step kind '\(kind.name)' has side effects and is never cached; remove 'cache' or set it to false", at: location)
        }

        var scope = baseScope
        scope.item = itemSchema
        scope.hasIndex = itemSchema != nil
        guard let kind else {
            // Still check expressions, so references in a step of an unknown kind are reported.
            if let arguments = step.arguments { checkValue(arguments, against: .any, path: "with", owner: StepOwner(step), scope: scope) }
            return
        }
        checkArguments(step, kind: kind, scope: scope)
    }

    /// Checks a step whose id repeats an earlier step's (already an error), so the mistakes of a
    /// copied step are reported with it, then drops what it added to the graph: the graph has
    /// only the first step of that id.
    mutating func checkDuplicateStep(_ step: StepDeclaration) {
        let dependenciesOfFirst = dependencies[step.id]
        let longListOfFirst = longDependencyLists[step.id]
        let sitesOfFirst = referenceSites
        let parsedCount = parsedExpressions.count
        checkStep(step)
        dependencies[step.id] = dependenciesOfFirst
        longDependencyLists[step.id] = longListOfFirst
        referenceSites = sitesOfFirst
        parsedExpressions.removeSubrange(parsedCount...)
    }

    mutating func checkCondition(_ condition: SourceValue, step: StepDeclaration) {
        guard case .string(let text) = condition.content else { return }
        var scope = baseScope
        scope.isConditionOfForEach = step.forEach != nil
        if text.hasExpressionMarker {
            guard let template = parseTemplate(condition, step: StepOwner(step)) else { return }
            guard template.singleExpression != nil else {
                diagnostics.error("'if' must be one expression; write it without '${{ }}' or wrap all of it in one", at: condition.location, length: condition.length)
                return
            }
            checkTemplate(template, in: condition, scope: scope, step: StepOwner(step))
            parsedExpressions[parsedExpressions.count - 1].condition = (text, template.singleExpression!)
        } else {
            do {
                let expression = try parseExpression(text)
                checkExpression(expression, source: text, offset: 0, in: condition, scope: scope, step: StepOwner(step))
                parsedExpressions[parsedExpressions.count - 1].condition = (text, expression)
            } catch {
                report(error, in: condition, offset: 0)
            }
        }
    }

    /// The shape of an element of a list written out: each element's own shape (a mapping's
    /// members by their values), joined by `commonElement`.
    static func itemSchema(ofLiteral items: [JSONValue]) -> Schema {
        commonElement(of: items.map { item in
            guard case .object(let members) = item else { return Schema.of(item) }
            return .object(members.keys.sorted().map { Property($0, Schema.of(members[$0]!), required: true, "") })
        })
    }

    /// The one shape of the elements of a list written out: the shape they share; for mappings,
    /// every field any of them has (required when all have it, of any type when they disagree),
    /// so a field no element has is a misspelling; for elements of other kinds, any.
    static func commonElement(of types: [Schema]) -> Schema {
        guard let first = types.first else { return .any }
        if types.allSatisfy({ $0 == first }) { return first }
        var fields: [Property] = []
        var positions: [String: Int] = [:]
        var counts: [String: Int] = [:]
        for type in types {
            guard case .object(let object) = type, object.additional == nil else { return .any }
            for property in object.properties {
                counts[property.name, default: 0] += 1
                if let known = positions[property.name] {
                    if fields[known].schema != property.schema { fields[known].schema = .any }
                } else {
                    positions[property.name] = fields.count
                    fields.append(property)
                }
            }
        }
        for position in fields.indices { fields[position].isRequired = counts[fields[position].name] == types.count }
        return .object(fields)
    }

    /// Checks `for_each` and returns the shape of its items.
    mutating func checkForEach(_ value: SourceValue, step: StepDeclaration) -> Schema {
        if let items = value.items {
            for item in items { checkValue(item, against: .any, path: "for_each", owner: StepOwner(step), scope: baseScope) }
            return Self.itemSchema(ofLiteral: items.map(\.json))
        }
        guard let template = parseTemplate(value, step: StepOwner(step)) else { return .any }
        guard let single = template.singleExpression else {
            diagnostics.error("'for_each' must be a list or one '${{ }}' expression that gives a list", at: value.location, length: value.length)
            return .any
        }
        if let text = value.string { parsedExpressions[parsedExpressions.count - 1].forEach = (text, single) }
        let type = checkTemplate(template, in: value, scope: baseScope, step: StepOwner(step))
        // A step that runs even when one it reads is skipped reads null from it: a for_each over
        // a path into that step's outputs (not a function of it, not `a || b`) fails the run,
        // where `|| []` would run no items.
        if let skippable = Self.stepReadByPath(single), step.optionalNeeds.contains(where: { $0.id == skippable }) {
            diagnostics.warning("step '\(step.id)' runs even if '\(skippable)' is skipped, when its for_each is null and fails the run; write '|| []' inside the ${{ }} to run no items then",
                                at: value.location, length: value.length)
        }
        if type.isList == false {
            diagnostics.error("'for_each' must be a list, but '\(Self.source(of: template))' is \(type.phrase)", at: value.location, length: value.length)
            return .any
        }
        return type.element ?? .any
    }

    // MARK: Arguments

    mutating func checkArguments(_ step: StepDeclaration, kind: StepKindDescription, scope: TypeScope) {
        let entries = step.arguments?.entries ?? []
        // The argument naming a prompt file and the one holding its values, when the kind has them.
        var promptValues: (prompt: String, values: String)?
        for property in kind.arguments {
            if case .template(let values) = property.role { promptValues = (property.name, values) }
        }
        for entry in entries {
            guard let property = kind.argument(entry.key) else {
                let names = kind.arguments.map(\.name)
                diagnostics.error("unknown argument '\(entry.key)' for \(kind.name)\(Suggestions.didYouMean(entry.key, in: names)); it takes \(names.joined(separator: ", "))",
                                  at: entry.keyLocation, length: entry.key.count)
                checkValue(entry.value, against: .any, path: entry.key, owner: StepOwner(step), scope: scope)
                continue
            }
            if property.role == .itemExpression {
                checkItemExpression(entry.value, property: property, step: step, scope: scope)
                continue
            }
            // Refused where it is written: JSON (outputs, the cache, history) has no such number,
            // and expressions would see one value while a file or the cache key sees null.
            if let number = entry.value.firstNonFiniteNumber, let problem = number.nonFiniteProblem {
                diagnostics.error("argument '\(entry.key)' \(problem); quote it to mean the text", at: number.location, length: number.length)
                continue
            }
            let schema = entry.key == promptValues?.values ? declaredVariables(of: step, prompt: promptValues!.prompt) ?? property.schema : property.schema
            checkValue(entry.value, against: schema, path: entry.key, owner: StepOwner(step), scope: scope)
            if let role = property.role { checkRole(role, of: entry, step: step, kind: kind, scope: scope) }
        }
        if let checkLiterals = kind.checkLiterals {
            checkLiteralArguments(entries, of: step, kind: kind, with: checkLiterals)
        }
        for property in kind.arguments where property.isRequired && !entries.contains(where: { $0.key == property.name }) {
            let location = step.arguments?.location ?? step.kindLocation
            diagnostics.error("step '\(step.id)' is missing argument '\(property.name)' of \(kind.name) (\(property.schema.phrase): \(property.summary))",
                              at: location, length: step.arguments == nil ? step.kind.count : 1)
        }
    }

    /// Runs a kind's own checks on the arguments as written, and reports each problem at
    /// the value it names (an element of a list, a key of a mapping).
    mutating func checkLiteralArguments(_ entries: [SourceValue.Entry], of step: StepDeclaration, kind: StepKindDescription,
                                        with check: (_ arguments: WrittenArguments) -> [LiteralProblem]) {
        var written: [String: JSONValue] = [:]
        for entry in entries where kind.argument(entry.key) != nil { written[entry.key] = entry.value.json }
        guard !written.isEmpty else { return }
        for problem in check(WrittenArguments(written)) {
            guard var value = entries.first(where: { $0.key == problem.argument })?.value else { continue }
            var path = "argument '\(problem.argument)"
            // As deep as the path can be followed in the workflow.
            walk: for component in problem.path {
                switch component {
                case .index(let i):
                    guard let items = value.items, items.indices.contains(i) else { break walk }
                    value = items[i]
                    path += "[\(i)]"
                case .key(let key):
                    guard let member = value[key] else { break walk }
                    value = member
                    path += ".\(key)"
                }
            }
            let message = "\(path)' of \(kind.name) \(problem.message)"
            if problem.severity == .warning {
                diagnostics.warning(message, at: value.location, length: value.length)
            } else {
                diagnostics.error(message, at: value.location, length: value.length)
            }
        }
    }

    /// When the prompt file named in `argument` declares its variables' types: those types, for
    /// the values passed to it, so a literal or an expression of another type is found before running.
    mutating func declaredVariables(of step: StepDeclaration, prompt argument: String) -> Schema? {
        guard let file = step.arguments?[argument], let path = file.string, !path.hasExpressionMarker, otherWriters(of: path, than: step) == nil,
              let declared = loadPrompt(path, at: file, noun: argument == "prompt" ? "prompt" : "template")?.declaredVariables else { return nil }
        // Undeclared values are the warning `checkPromptVariables` gives, not a type error; null
        // counts as given (the steps render it as empty), as when running.
        return .object(declared.map { Property($0.name, .anyOf([$0.schema, .null]), $0.type) }, additional: .any)
    }

    /// An argument the step evaluates itself for each element, such as a filter's `where`.
    mutating func checkItemExpression(_ value: SourceValue, property: Property, step: StepDeclaration, scope: TypeScope) {
        // A mapping of item expressions (list.map's `set`): each value is one.
        if case .object(let object) = property.schema, object.properties.isEmpty, object.additional != nil {
            guard let entries = value.entries else {
                diagnostics.error("argument '\(property.name)' must be a mapping of field to expression, such as {link: \"timeLink(inputs.url, item.start)\"}, not \(value.kindPhrase)",
                                  at: value.location, length: value.length)
                return
            }
            var single = property
            single.schema = .string
            for entry in entries {
                single.name = property.name + "." + entry.key
                checkItemExpression(entry.value, property: single, step: step, scope: scope)
            }
            return
        }
        guard let text = value.string else {
            diagnostics.error("argument '\(property.name)' must be an expression such as \"item.score >= 3\", not \(value.kindPhrase)",
                              at: value.location, length: value.length)
            return
        }
        // The step evaluates it for each element itself: `${{ }}` would be evaluated once, before
        // there is an item. Said plainly rather than as the parser's "unexpected '$'".
        if text.hasExpressionMarker {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let inner = trimmed.hasPrefix("${{") && trimmed.hasSuffix("}}") && trimmed.components(separatedBy: "${{").count == 2
                ? String(trimmed.dropFirst(3).dropLast(2)).trimmingCharacters(in: .whitespaces) : nil
            // Suggested in double quotes: a bare `!item.done` or `'N5' == item.level` would not be YAML that loads.
            let quoted = inner.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            diagnostics.error("argument '\(property.name)' is evaluated for each item, so it is written without '${{ }}'"
                              + (quoted.map { ": \(property.name.split(separator: ".").last.map(String.init) ?? property.name): \($0)" } ?? ""), at: value.location, length: value.length)
            return
        }
        var itemScope = scope
        itemScope.item = listElements[step.id] ?? .any
        itemScope.hasIndex = true
        do {
            let expression = try parseExpression(text)
            checkExpression(expression, source: text, offset: 0, in: value, scope: itemScope, step: StepOwner(step))
        } catch {
            report(error, in: value, offset: 0)
        }
    }

    mutating func checkRole(_ role: ArgumentRole, of entry: SourceValue.Entry, step: StepDeclaration, kind: StepKindDescription, scope: TypeScope) {
        let value = entry.value
        if role == .inputFile || role == .fieldPath, let items = value.items {
            // A list of input files (each literal path must exist), or of fields (list.dedupe's `collect`).
            for item in items {
                checkRole(role, of: SourceValue.Entry(key: entry.key, keyLocation: entry.keyLocation, value: item), step: step, kind: kind, scope: scope)
            }
            return
        }
        if case .duration = role, let seconds = value.json.numberValue, seconds < 0 {
            diagnostics.error("argument '\(entry.key)' must be a duration of 0 or more, not \(value.json.canonicalJSON)", at: value.location, length: value.length)
        }
        guard let text = value.string, !text.hasExpressionMarker else { return }
        switch role {
        case .inputFile:
            // A file another step writes in this run is read from the run folder once written.
            if let writers = otherWriters(of: text, than: step) {
                fileReads.append(FileRead(reader: step.id, writers: writers, text: text, value: value))
                return
            }
            checkInputFileExists(text, at: value)
        case .outputPath:
            if let problem = OutputPaths.problem(with: text) {
                diagnostics.error("argument '\(entry.key)' \(problem)", at: value.location, length: value.length)
            }
        case .duration:
            if let seconds = Durations.parseUnbounded(text), seconds < 0 {
                diagnostics.error("argument '\(entry.key)' must be a duration of 0 or more, not '\(text)'", at: value.location, length: value.length)
            } else if Durations.parse(text) == nil {
                diagnostics.error("argument '\(entry.key)' must be a duration such as 30, \"90s\" or \"1h30m\", not '\(text)'", at: value.location, length: value.length)
            }
        case .template(let variablesArgument):
            // Prompt files and plain templates share the format; messages call each by its name.
            let noun = entry.key == "prompt" ? "prompt" : "template"
            // One another step writes is read once written, and known only then.
            if let writers = otherWriters(of: text, than: step) {
                fileReads.append(FileRead(reader: step.id, writers: writers, text: text, value: value, templateNoun: noun))
                return
            }
            guard let prompt = loadPrompt(text, at: value, noun: noun), prompt.usesAreKnown else { return }
            checkPromptVariables(prompt, path: text, noun: noun, argument: variablesArgument, step: step, at: value, scope: scope)
        case .itemExpression:
            break
        case .fieldPath:
            checkFieldPath(text, of: entry, step: step)
        }
    }

    /// A field path an argument names (list.dedupe's `key`), against the fields the elements of
    /// the step's list are known to have: a misspelt one quietly sorted or deduplicated by nothing.
    mutating func checkFieldPath(_ path: String, of entry: SourceValue.Entry, step: StepDeclaration) {
        guard var shape = listElements[step.id] else { return }
        for name in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            // A number picks an element of a list (`tags.0`, `tags.-1`), as the steps read paths.
            if Int(name) != nil, shape.isList != false {
                guard let element = shape.element else { return }
                shape = element
                continue
            }
            guard let member = shape.member(name) else {
                let known = shape.memberNames
                diagnostics.error("argument '\(entry.key)' names field '\(path)', which the items of step '\(step.id)' do not have"
                                  + "\(Suggestions.didYouMean(name, in: known))\(known.isEmpty ? "" : "; they have \(known.joined(separator: ", "))")",
                                  at: entry.value.location, length: entry.value.length)
                return
            }
            shape = member
        }
    }

    func resolve(_ path: String) -> String {
        Paths.resolve(path, relativeTo: workflow.baseDirectory)
    }

    mutating func loadPrompt(_ path: String, at value: SourceValue, noun: String) -> PromptFile? {
        if let prompt = prompts[path] { return prompt }
        if failedPrompts.contains(path) { return partialPrompts[path] }
        let resolved = resolve(path)
        let firstReport = diagnostics.items.count
        defer { promptReports[path] = firstReport..<diagnostics.items.count }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder) else {
            failedPrompts.insert(path)
            diagnostics.error("\(noun) file not found: '\(path)' (looked for \(resolved))\(Suggestions.nearbyFile(path, resolved: resolved))", at: value.location, length: value.length)
            return nil
        }
        // Said at the step's value: the folder has no line of its own to point at.
        guard !isFolder.boolValue else {
            failedPrompts.insert(path)
            diagnostics.error("\(noun) '\(path)' is a folder, not a file (\(resolved))", at: value.location, length: value.length)
            return nil
        }
        let (prompt, partial, problems) = PromptFile.loadForChecking(path: resolved)
        diagnostics.append(contentsOf: problems)
        guard let prompt else {
            failedPrompts.insert(path)
            partialPrompts[path] = partial
            return partial
        }
        prompts[path] = prompt
        return prompt
    }

    /// Compares what the prompt reads with what the step passes in its `variables` argument.
    mutating func checkPromptVariables(_ prompt: PromptFile, path: String, noun: String, argument: String, step: StepDeclaration, at value: SourceValue,
                                       scope: TypeScope) {
        let passedValue = step.arguments?[argument]
        if let passedValue, passedValue.entries == nil { return }  // an expression: known only when running
        let passed = passedValue?.entries ?? []
        // Scans of the prompt's few variables rather than sets built for every step that uses it.
        func isOptional(_ name: String) -> Bool { prompt.declaredVariables?.contains { $0.isOptional && $0.name == name } ?? false }
        for variable in prompt.usedVariables where !isOptional(variable.name) && !passed.contains(where: { $0.key == variable.name }) {
            diagnostics.error("\(noun) '\(path)' uses '\(variable.name)', which step '\(step.id)' does not pass in '\(argument)'\(Suggestions.didYouMean(variable.name, in: passed.map(\.key)))",
                              at: passedValue?.location ?? value.location, length: passedValue == nil ? value.length : 1,
                              notes: [.init("used here", at: variable.location)])
        }
        // A variable the input schema declares but the text never reads is unused all the same
        // (a line deleted from the body, say): the warning says so rather than staying silent.
        for entry in passed where !prompt.usedVariables.contains(where: { $0.name == entry.key }) && !prompt.namesReadInSections.contains(entry.key) {
            if prompt.declaredVariables?.contains(where: { $0.name == entry.key }) == true {
                diagnostics.warning("'\(entry.key)' is passed to \(noun) '\(path)', which declares it but never uses it",
                                    at: entry.keyLocation, length: entry.key.count)
                continue
            }
            let readable = Set(prompt.usedVariables.map(\.name)).union(prompt.declaredVariables?.map(\.name) ?? [])
            diagnostics.warning("'\(entry.key)' is passed to \(noun) '\(path)', which never uses it\(Suggestions.didYouMean(entry.key, in: readable))",
                                at: entry.keyLocation, length: entry.key.count)
        }
        checkSectionReads(prompt, path: path, noun: noun, argument: argument, step: step, passed: passedValue, scope: scope)
    }

    /// Names read inside sections, looked up as Mustache looks them up: in the section's item,
    /// then in each section around it, then in the values passed. When every one of those has a
    /// known, closed shape and none has the name, the text would render it empty (a misspelt
    /// `{{englsh}}` in the worksheet's list): an error. An open shape anywhere stops the check.
    mutating func checkSectionReads(_ prompt: PromptFile, path: String, noun: String, argument: String, step: StepDeclaration,
                                    passed: SourceValue?, scope: TypeScope) {
        guard !prompt.sectionReads.isEmpty, let entries = passed?.entries else { return }
        let values = Schema.object(entries.map { Property($0.key, Self.staticType(of: $0.value, scope: scope), "") })
        enum Found { case found(Schema), open, missing }
        func lookUp(_ name: String, in contexts: [Schema]) -> Found {
            for context in contexts.reversed() {
                guard case .object(let object) = context else { return .open }
                if let property = object[name] { return .found(property.schema) }
                if object.additional != nil { return .open }
            }
            return .missing
        }
        reads: for read in prompt.sectionReads {
            var contexts = [values]
            for section in read.sections where !section.hasPrefix("^") {
                guard !section.contains("("), case .found(var type) = lookUp(String(section.split(separator: ".").first ?? ""), in: contexts) else { continue reads }
                for member in section.split(separator: ".").dropFirst() {
                    guard let next = type.member(String(member)) else { continue reads }
                    type = next
                }
                if case .anyOf(let options) = type {
                    let real = options.filter { $0 != .null }
                    guard real.count == 1 else { continue reads }
                    type = real[0]
                }
                // A list's item (or a mapping) is where names are looked for first; one whose shape
                // is not a mapping's for certain leaves the name unknown, and a scalar pushes a
                // context no name is found in.
                func context(_ shape: Schema) -> Schema? {
                    switch shape {
                    case .object, .any: shape
                    case .anyOf: .any
                    default: nil
                    }
                }
                switch type {
                case .array(let element): if let pushed = context(element) { contexts.append(pushed) }
                default: if let pushed = context(type) { contexts.append(pushed) }
                }
            }
            guard case .missing = lookUp(read.name, in: contexts), let innermost = read.sections.last(where: { !$0.hasPrefix("^") }) else { continue }
            let candidates = contexts.reversed().flatMap(\.memberNames)
            diagnostics.error("\(noun) '\(path)' uses '\(read.name)' inside section '\(innermost)', where neither its items nor the values step '\(step.id)' passes in '\(argument)' have it\(Suggestions.didYouMean(read.name, in: candidates))",
                              at: passed?.location ?? step.location, length: 1, notes: [.init("used here", at: read.location)])
        }
    }

    /// The shape of an argument's value as written: a literal's, or its `${{ }}` expression's.
    /// A mapping written out has its fields and no others; a list written out, the fields of its
    /// mappings (see `commonElement`).
    static func staticType(of value: SourceValue, scope: TypeScope) -> Schema {
        switch value.content {
        case .mapping(let entries):
            return .object(entries.map { Property($0.key, staticType(of: $0.value, scope: scope), required: true, "") })
        case .sequence(let items):
            return items.isEmpty ? .array(.any) : .array(commonElement(of: items.map { staticType(of: $0, scope: scope) }))
        case .string(let text) where text.hasExpressionMarker:
            guard let template = try? StringTemplate.parse(text), template.singleExpression != nil else { return .string }
            return template.check(in: scope).type
        default:
            return Schema.of(value.json)
        }
    }

    // MARK: Values and expressions

    /// Checks a value against a shape: literals by their type, strings with `${{ }}` by the static
    /// type of their expression. `owner` is the step (nil for service settings).
    mutating func checkValue(_ value: SourceValue, against schema: Schema, path: String, owner: StepOwner?, scope: TypeScope) {
        switch value.content {
        case .string(let text) where text.hasExpressionMarker:
            guard let template = parseTemplate(value, step: owner) else {
                checkEachExpression(of: text, in: value, scope: scope, step: owner)
                return
            }
            let type = checkTemplate(template, in: value, scope: scope, step: owner)
            if !schema.accepts(type) {
                diagnostics.error("\(describe(path, owner)) expects \(schema.phrase), but '\(Self.source(of: template))' is \(type.phrase)",
                                  at: value.location, length: value.length)
            }
        case .mapping(let entries):
            guard case .object(let object) = Self.option(of: schema, for: value) else {
                if schema != .any, schema.mismatch(.object([:])) != nil {
                    diagnostics.error("\(describe(path, owner)) expects \(schema.phrase), got a mapping", at: value.location)
                }
                for entry in entries { checkValue(entry.value, against: .any, path: "\(path).\(entry.key)", owner: owner, scope: scope) }
                return
            }
            for entry in entries {
                if let property = object[entry.key] {
                    checkValue(entry.value, against: property.schema, path: "\(path).\(entry.key)", owner: owner, scope: scope)
                } else if let additional = object.additional {
                    checkValue(entry.value, against: additional, path: "\(path).\(entry.key)", owner: owner, scope: scope)
                } else {
                    let names = object.properties.map(\.name)
                    diagnostics.error("unknown field '\(entry.key)' in \(describe(path, owner))\(Suggestions.didYouMean(entry.key, in: names)); it takes \(names.joined(separator: ", "))",
                                      at: entry.keyLocation, length: entry.key.count)
                    checkValue(entry.value, against: .any, path: "\(path).\(entry.key)", owner: owner, scope: scope)
                }
            }
            for property in object.properties where property.isRequired && !entries.contains(where: { $0.key == property.name }) {
                diagnostics.error("\(describe(path, owner)) is missing '\(property.name)' (\(property.schema.phrase))", at: value.location)
            }
        case .sequence(let items):
            guard let element = Self.option(of: schema, for: value).element else {
                diagnostics.error("\(describe(path, owner)) expects \(schema.phrase), got a list", at: value.location)
                for item in items { checkValue(item, against: .any, path: path, owner: owner, scope: scope) }
                return
            }
            for (i, item) in items.enumerated() { checkValue(item, against: element, path: "\(path)[\(i)]", owner: owner, scope: scope) }
        default:
            if let problem = schema.mismatch(value.json) {
                diagnostics.error("\(describe(path, owner)) \(problem)", at: value.location, length: value.length)
            }
        }
    }

    /// For a value checked against `anyOf`, the option of the same kind (mapping, list).
    static func option(of schema: Schema, for value: SourceValue) -> Schema {
        guard case .anyOf(let options) = schema else { return schema }
        switch value.content {
        case .mapping: return options.first { if case .object = $0 { true } else { $0 == .any } } ?? schema
        case .sequence: return options.first { $0.element != nil } ?? schema
        default: return schema
        }
    }

    func describe(_ path: String, _ owner: StepOwner?) -> String {
        guard let owner else { return "'\(path)'" }
        return "argument '\(path)' of \(owner.kind.isEmpty ? "step '\(owner.id)'" : owner.kind)"
    }

    static func source(of template: StringTemplate) -> String {
        for segment in template.segments {
            if case .expression(_, let source, _) = segment { return source.trimmingCharacters(in: .whitespaces) }
        }
        return ""
    }

    mutating func parseTemplate(_ value: SourceValue, step: StepOwner?) -> StringTemplate? {
        guard let text = value.string else { return nil }
        do {
            return try parseTemplate(text)
        } catch {
            report(error, in: value, offset: 0)
            return nil
        }
    }

    /// After a syntax error in one `${{ }}` of a string (reported already): the string's other
    /// expressions, each on its own, so their problems are reported in the same run too.
    mutating func checkEachExpression(of text: String, in value: SourceValue, scope: TypeScope, step: StepOwner?) {
        var reported = false
        for (result, source, offset) in StringTemplate.parseEach(text) {
            switch result {
            case .success(let expression): checkExpression(expression, source: source, offset: offset, in: value, scope: scope, step: step)
            case .failure(let error):
                // The first is the one `parse` stopped at.
                if reported { report(error, in: value, offset: 0) }
                reported = true
            }
        }
    }

    /// `StringTemplate.parse`, once per distinct text.
    mutating func parseTemplate(_ text: String) throws(ExpressionError) -> StringTemplate {
        if let known = templatesByText[text] { return try known.get() }
        let result = Result { () throws(ExpressionError) in try StringTemplate.parse(text) }
        templatesByText[text] = result
        return try result.get()
    }

    /// `ExpressionParser.parse`, once per distinct text.
    mutating func parseExpression(_ text: String) throws(ExpressionError) -> Expression {
        if let known = expressionsByText[text] { return try known.get() }
        let result = Result { () throws(ExpressionError) in try ExpressionParser.parse(text) }
        expressionsByText[text] = result
        return try result.get()
    }

    /// Checks every expression of a template; returns the template's static type.
    @discardableResult
    mutating func checkTemplate(_ template: StringTemplate, in value: SourceValue, scope: TypeScope, step: StepOwner?) -> Schema {
        var single: Schema = .string
        for segment in template.segments {
            guard case .expression(let expression, let source, let offset) = segment else { continue }
            single = checkExpression(expression, source: source, offset: offset, in: value, scope: scope, step: step)
        }
        return template.singleExpression != nil ? single : .string
    }

    @discardableResult
    mutating func checkExpression(_ expression: Expression, source: String, offset: Int, in value: SourceValue, scope: TypeScope, step: StepOwner?) -> Schema {
        var scope = scope
        scope.suggestsSteps = givesDetails
        let (type, errors) = expression.check(in: scope)
        for error in errors { report(error, in: value, offset: offset) }
        let references = expression.references
        // A secret read through an expression would end up in cache keys, outputs and logs.
        for reference in references where reference.root == "env" {
            guard case .member(let name)? = reference.path.first, Secrets.looksSecret(name) else { continue }
            let (location, exact) = locate(in: value, offset: offset + reference.offset)
            diagnostics.error("'env.\(name)' looks like a secret; aiv gives keys and tokens to the steps that need them and keeps them out of expressions, so they never reach the cache, outputs or logs",
                              at: location, length: exact ? reference.length : value.length)
        }
        guard let step else { return type }
        for reference in references where reference.root == "steps" {
            // The runner gives a step the outputs of the steps it depends on and no others, and a
            // dependency must be known before running: so a step is named, never computed.
            guard case .member(let id)? = reference.path.first else {
                let (location, exact) = locate(in: value, offset: offset + reference.offset)
                diagnostics.error("refer to a step by its id, as in steps.<id>.outputs; 'steps' on its own or steps[…] is not allowed",
                                  at: location, length: exact ? reference.length : value.length)
                continue
            }
            guard workflow.containsStep(id) else { continue }
            if id == step.id {
                let (location, _) = locate(in: value, offset: offset + reference.offset)
                diagnostics.error("step '\(step.id)' refers to its own outputs", at: location, length: reference.length)
            } else if addDependency(of: step.id, on: id, reason: .reference, at: value.location) {
                // The exact column is worked out only if a cycle needs it: most edges never do.
                referenceSites[Edge(step: step.id, dependency: id)] = (value, offset + reference.offset)
            }
        }
        return type
    }

    /// Adds an edge unless there is one already; returns whether it was added.
    @discardableResult
    mutating func addDependency(of step: String, on other: String, reason: Dependency.Reason, at location: SourceLocation) -> Bool {
        // One lookup of the step's list, which is then changed where it is stored; nil when the
        // list is too long to search.
        func append(to list: inout [Dependency]) -> Bool? {
            guard list.count < Self.searchedDependencies else { return nil }
            if list.contains(where: { $0.step == other }) { return false }
            list.append(Dependency(step: other, reason: reason, location: location))
            return true
        }
        if let added = append(to: &dependencies[step, default: []]) { return added }
        // A step that needs hundreds (a fan-in) is checked against a set: searching its list for
        // every edge made a fan-in of 1,000 a half-million comparisons.
        guard longDependencyLists[step, default: Set(dependencies[step, default: []].map(\.step))].insert(other).inserted else { return false }
        dependencies[step, default: []].append(Dependency(step: other, reason: reason, location: location))
        return true
    }

    /// Up to this many, a step's dependencies are searched in its list, not a set.
    static let searchedDependencies = 16

    mutating func report(_ error: ExpressionError, in value: SourceValue, offset: Int) {
        let (location, exact) = locate(in: value, offset: offset + error.offset)
        diagnostics.error(error.message, at: location, length: exact ? error.length : value.length)
    }

    /// The file location of the character at `offset` in a YAML string value: the scalar walked
    /// from its start with YAML's rules (escapes, folded lines); failing that, that line of the
    /// string searched for in the file from the value's start; failing that, the value's own location.
    mutating func locate(in value: SourceValue, offset: Int) -> (SourceLocation, exact: Bool) {
        guard let source, let text = value.string, givesDetails, !locatingExhausted else { return (value.location, false) }
        // Placing a problem costs a walk over its string: a budget keeps a huge string with
        // hundreds of problems (4 MB, 250 of them took 46 s) to the string's own location.
        var remaining = Self.locatingBudget - locatingSpent
        let found = ScalarSourceMap.location(ofCharacter: offset, in: text, scalarAt: value.location, source: source, budget: &remaining)
        locatingSpent = Self.locatingBudget - remaining
        if let found { return (found, true) }
        // The line search reads the value and may search the rest of the file.
        locatingSpent += text.utf8.count + source.text.utf8.count
        guard remaining > 0, locatingSpent <= Self.locatingBudget else {
            locatingExhausted = true
            return (value.location, false)
        }
        let characters = Array(text)
        let clamped = min(max(0, offset), characters.count)
        let lineStart = characters[..<clamped].lastIndex(of: "\n").map { $0 + 1 } ?? 0
        let lineEnd = characters[clamped...].firstIndex(of: "\n") ?? characters.count
        let lineText = String(characters[lineStart..<lineEnd])
        guard !lineText.trimmingCharacters(in: .whitespaces).isEmpty,
              let found = source.locate(lineText, from: value.location) else { return (value.location, false) }
        return (found.advanced(by: String(characters[lineStart..<clamped]).unicodeScalars.count), true)
    }
}

extension CheckRun {
    /// The step whose outputs `expression` is a plain path into (`steps.a.outputs.items[0]`), or nil.
    static func stepReadByPath(_ expression: Expression) -> String? {
        switch expression {
        case .member(.name("steps", _), let id, _): id
        case .member(let base, _, _), .index(let base, _, _), .projection(let base, _, _): stepReadByPath(base)
        default: nil
        }
    }

    /// An input file named as written, beside the workflow: it must exist and be a file.
    mutating func checkInputFileExists(_ text: String, at value: SourceValue) {
        let path = resolve(text)
        if !FileManager.default.fileExists(atPath: path) {
            diagnostics.error("file not found: '\(text)' (looked for \(path))\(Suggestions.nearbyFile(text, resolved: path))", at: value.location, length: value.length)
        } else if let problem = Paths.notAFile(path) {
            diagnostics.error("'\(text)' \(problem) (\(path))", at: value.location, length: value.length)
        }
    }

    /// Reports each dependency cycle once, naming every step on it, with where each edge comes from.
    /// Output paths written as literals, which the run folder allows one writer each: every item
    /// of a `for_each` over a literal list of several writing one path fails the run for sure (an
    /// error); two steps writing one path fail it when both run, which is certain only when
    /// neither can be skipped (an `if:` on it or on a step it stands on, a `continue_on_error`).
    mutating func checkOutputPaths() {
        var skippable: [String: Bool] = [:]
        let byID = Dictionary(workflow.steps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let dependencies = self.dependencies
        func mayBeSkipped(_ id: String) -> Bool {
            DependencyGraph.mayBeSkipped(id, skipsItself: { byID[$0].map { $0.condition != nil || $0.continueOnError } },
                                         needs: { (dependencies[$0] ?? []).map(\.step) }, known: &skippable)
        }
        var writers: [ExactPath: (step: StepDeclaration, value: SourceValue)] = [:]
        Self.forEachLiteralOutput(of: workflow.steps, registry: registry) { step, value, text in
            if let items = step.forEach?.items, items.count > 1 {
                diagnostics.error("each of the \(items.count) items of step '\(step.id)' writes '\(text)', and a path has one writer: put ${{ item }} or ${{ index }} in it",
                                  at: value.location, length: value.length)
            } else if let forEach = step.forEach, forEach.items == nil,
                      !diagnostics.items.contains(where: { problem in
                          // An error inside the for_each value itself (its own line, from its column on).
                          guard problem.severity == .error, let at = problem.location else { return false }
                          return at.file == forEach.location.file && at.line == forEach.location.line
                              && at.column >= forEach.location.column && at.column < forEach.location.column + forEach.length
                      }) {
                // A list known only at run time (and not already found wrong): with more than
                // one item, the second writer fails.
                diagnostics.warning("every item of step '\(step.id)' writes '\(text)'; if the list has more than one item, the run fails: put ${{ item }} or ${{ index }} in it",
                                    at: value.location, length: value.length)
            }
            let path = ExactPath(Paths.normalize(text))
            guard let other = writers[path] else {
                writers[path] = (step, value)
                return
            }
            guard other.step.id != step.id else { return }
            let message = "steps '\(other.step.id)' (line \(other.value.location.line)) and '\(step.id)' both write '\(text)'"
            if mayBeSkipped(step.id) || mayBeSkipped(other.step.id) {
                diagnostics.warning(message + "; if both run, the run fails: give each its own path", at: value.location, length: value.length)
            } else {
                diagnostics.error(message + ", and a path has one writer: give each its own", at: value.location, length: value.length)
            }
        }
    }

    mutating func checkCycles() {
        // Almost every workflow has no cycle: a topological order on positions proves it without
        // building the graph of ids that naming the steps of a cycle needs.
        let positions = workflow.stepPositions
        let successors = workflow.steps.map { DependencyGraph.distinctPositions(of: (dependencies[$0.id] ?? []).lazy.map(\.step), in: positions) }
        if DependencyGraph.topologicalOrder(successors: successors) != nil { return }
        let graph = DependencyGraph(steps: workflow.steps.map(\.id),
                                    edges: dependencies.mapValues { $0.map(\.step) })
        for cycle in graph.cycles() where cycle.count > 1 {
            let description = (cycle + [cycle[0]]).map { "'\($0)'" }.joined(separator: " → ")
            var notes: [Diagnostic.Note] = []
            for (i, step) in cycle.enumerated() {
                let next = cycle[(i + 1) % cycle.count]
                guard let edge = dependencies[step]?.first(where: { $0.step == next }) else { continue }
                let how = edge.reason == .needs ? "needs" : edge.reason == .file ? "reads a file written by" : "uses the outputs of"
                var location = edge.location
                if edge.reason == .reference, let site = referenceSites[Edge(step: step, dependency: next)] {
                    location = locate(in: site.value, offset: site.offset).0
                }
                notes.append(.init("'\(step)' \(how) '\(next)' here", at: location))
            }
            let first = workflow.step(cycle[0])!
            diagnostics.error("dependency cycle: \(description)", at: first.location, length: first.id.count, notes: notes)
        }
    }
}

extension CheckRun {
    /// Checks the steps on `workers` threads, each a contiguous share of the steps with a state of
    /// its own, then joins the shares in step order: the result is what checking one step after
    /// another gives (the same diagnostics in the same order, the same edges and parsed
    /// expressions). A step's check reads only the workflow, the registry and the files it names.
    mutating func checkStepsInParallel(workers: Int) {
        let steps = workflow.steps
        var empty = self
        empty.diagnostics = Diagnostics()
        let start = empty
        let shares = UnsafeMutableBufferPointer<CheckRun?>.allocate(capacity: workers)
        shares.initialize(repeating: nil)
        defer {
            _ = shares.deinitialize()
            shares.deallocate()
        }
        // Each worker writes only its own slot of the buffer, and concurrentPerform returns
        // after every worker has finished.
        nonisolated(unsafe) let slots = shares
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var share = start
            let range = steps.count * worker / workers ..< steps.count * (worker + 1) / workers
            for step in steps[range] { share.checkStep(step) }
            slots[worker] = share
        }
        for share in shares { join(share!) }
    }

    /// Appends what a later share of the steps found.
    mutating func join(_ share: CheckRun) {
        var reports = share.diagnostics.items
        // A prompt file an earlier share loaded too: what loading it reported is said once.
        let repeated = share.promptReports.filter { prompts[$0.key] != nil || failedPrompts.contains($0.key) }
            .map(\.value).sorted { $0.lowerBound > $1.lowerBound }
        for range in repeated { reports.removeSubrange(range) }
        diagnostics.append(contentsOf: reports)
        dependencies.merge(share.dependencies) { _, later in later }
        prompts.merge(share.prompts) { earlier, _ in earlier }
        failedPrompts.formUnion(share.failedPrompts)
        partialPrompts.merge(share.partialPrompts) { earlier, _ in earlier }
        referenceSites.merge(share.referenceSites) { _, later in later }
        locatingSpent += share.locatingSpent
        locatingExhausted = locatingExhausted || share.locatingExhausted || locatingSpent > Self.locatingBudget
        parsedExpressions.append(contentsOf: share.parsedExpressions)
        fileReads.append(contentsOf: share.fileReads)
    }
}
