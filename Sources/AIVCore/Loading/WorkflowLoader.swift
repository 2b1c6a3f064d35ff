import Foundation

/// Reads a workflow file into a `Workflow`, reporting every structural problem it finds (unknown
/// or mistyped fields, duplicate step ids, bad names). What needs the step registry (kinds,
/// arguments, references) is `WorkflowChecker`'s job.
public struct WorkflowLoader: Sendable {
    public static let topLevelFields = ["name", "description", "inputs", "services", "steps"]
    public static let stepFields = ["id", "name", "uses", "with", "needs", "optional_needs", "if", "for_each", "max_parallel", "retry", "timeout",
                                    "continue_on_error", "cache"]
    public static let inputFields = ["type", "description", "default", "required", "items", "secret"]
    public static let retryFields = ["attempts", "backoff", "factor", "max_delay", "jitter"]

    /// A workflow's list of steps is read on several cores when it is long (`StepsSplit`).
    public var reader: YAMLReader = {
        var reader = YAMLReader()
        reader.stepsReading = .automatic
        return reader
    }()

    public init() {}

    /// Loads a file from disk; the result is nil when the file could not be read or parsed at all.
    public func load(path: String) -> (workflow: Workflow?, diagnostics: Diagnostics) {
        let file: SourceFile
        do {
            file = try SourceFile.read(path)
        } catch {
            return (nil, Diagnostics([error]))
        }
        return load(file)
    }

    public func load(_ file: SourceFile) -> (workflow: Workflow?, diagnostics: Diagnostics) {
        var (root, diagnostics) = reader.read(file)
        guard let root else {
            if !diagnostics.hasErrors {
                diagnostics.error("file is empty; a workflow needs 'name' and 'steps'", at: SourceLocation(file: file.path, line: 1, column: 1))
            }
            return (nil, diagnostics)
        }
        guard let top = MappingReader(root, owner: "workflow", diagnostics: &diagnostics) else { return (nil, diagnostics) }
        top.rejectUnknown(Self.topLevelFields, allowsExtensions: true, diagnostics: &diagnostics) { key in
            if Self.stepFields.contains(key) && !Self.topLevelFields.contains(key) { return "; '\(key)' belongs to a step under 'steps'" }
            let near = Suggestions.didYouMean(key, in: Self.topLevelFields)
            return near.isEmpty ? "; a block of your own (defaults for steps to merge) is named 'x-\(key)'" : near
        }
        let name = top.string("name", required: true, diagnostics: &diagnostics)?.0 ?? ""
        let description = top.string("description", diagnostics: &diagnostics)?.0
        let inputs = top["inputs"].map { loadInputs($0, diagnostics: &diagnostics) } ?? []
        let services = top["services"].map { loadServices($0, diagnostics: &diagnostics) } ?? []
        var steps: [StepDeclaration] = []
        var duplicateSteps: [StepDeclaration] = []
        if let stepsValue = top["steps"] {
            (steps, duplicateSteps) = loadSteps(stepsValue, diagnostics: &diagnostics)
        } else {
            diagnostics.error("workflow is missing 'steps'", at: root.location)
        }
        let base = (file.path as NSString).deletingLastPathComponent
        var workflow = Workflow(file: file.path, name: name, description: description, inputs: inputs, services: services,
                                steps: steps, baseDirectory: base.isEmpty ? "." : Paths.physicalFolder(base))
        workflow.duplicateSteps = duplicateSteps
        return (workflow, diagnostics)
    }

    /// Step ids and input names are used in expressions (`steps.<id>`), so they must be identifiers.
    /// On UTF-8 bytes: only ASCII letters, digits, '_' and '-' are allowed, and Foundation's
    /// `CharacterSet` lookups were 3% of loading a large workflow.
    static func isIdentifier(_ name: String) -> Bool {
        func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    func loadInputs(_ value: SourceValue, diagnostics: inout Diagnostics) -> [InputDeclaration] {
        guard let entries = value.entries else {
            diagnostics.error("'inputs' must be a mapping of input names to their type, not \(value.kindPhrase)", at: value.location, length: value.length)
            return []
        }
        var inputs: [InputDeclaration] = []
        for entry in entries {
            if !Self.isIdentifier(entry.key) {
                diagnostics.error("input name '\(entry.key)' must start with a letter or '_' and hold only letters, digits, '_' and '-'",
                                  at: entry.keyLocation, length: entry.key.count)
            }
            // `recording: file` is shorthand for `recording: {type: file}`.
            if let typeName = entry.value.string {
                guard let type = InputDeclaration.InputType(rawValue: typeName) else {
                    diagnostics.error(unknownTypeMessage(typeName), at: entry.value.location, length: entry.value.length)
                    continue
                }
                if Secrets.looksSecretByWords(entry.key) {
                    diagnostics.warning("input '\(entry.key)' looks like a key, token or password: write it {type: \(typeName), secret: true} so its value stays out of the history, the cache and logs (or secret: false)",
                                        at: entry.keyLocation, length: entry.key.count)
                }
                inputs.append(InputDeclaration(name: entry.key, location: entry.keyLocation, type: type, isRequired: true))
                continue
            }
            guard let fields = MappingReader(entry.value, owner: "input '\(entry.key)'", diagnostics: &diagnostics) else { continue }
            fields.rejectUnknown(Self.inputFields, diagnostics: &diagnostics)
            var type = InputDeclaration.InputType.string
            if let (typeName, location) = fields.string("type", diagnostics: &diagnostics) {
                if let known = InputDeclaration.InputType(rawValue: typeName) {
                    type = known
                } else {
                    diagnostics.error(unknownTypeMessage(typeName), at: location, length: typeName.count)
                }
            }
            let defaultValue = fields["default"]
            if let defaultValue, let problem = Self.mismatch(defaultValue, type) {
                diagnostics.error("default of input '\(entry.key)' \(problem)", at: defaultValue.location, length: defaultValue.length)
            }
            let required = fields.bool("required", diagnostics: &diagnostics) ?? (defaultValue == nil)
            if required, let defaultValue, fields["required"] != nil {
                diagnostics.warning("input '\(entry.key)' is required but has a default; the default is never used", at: defaultValue.location)
            }
            var itemSchema: JSONValue?
            if let items = fields["items"] {
                if type != .list {
                    let key = fields.entries.first { $0.key == "items" }
                    diagnostics.error("'items' is for list inputs; input '\(entry.key)' is of type \(type.rawValue)",
                                      at: key?.keyLocation ?? items.location, length: 5)
                } else {
                    let problems = OutputSchemaChecker.check(items, path: "items of input '\(entry.key)'")
                    diagnostics.append(contentsOf: problems)
                    if !problems.contains(where: { $0.severity == .error }) { itemSchema = items.json }
                }
            }
            let secret = fields.bool("secret", diagnostics: &diagnostics)
            if secret == nil, Secrets.looksSecretByWords(entry.key) {
                diagnostics.warning("input '\(entry.key)' looks like a key, token or password: add 'secret: true' so its value stays out of the history, the cache and logs (or 'secret: false')",
                                    at: entry.keyLocation, length: entry.key.count)
            }
            inputs.append(InputDeclaration(name: entry.key, location: entry.keyLocation, type: type,
                                           description: fields.string("description", diagnostics: &diagnostics)?.0,
                                           defaultValue: defaultValue, isRequired: required && defaultValue == nil, itemSchema: itemSchema,
                                           isSecret: secret == true))
        }
        return inputs
    }

    func unknownTypeMessage(_ name: String) -> String {
        let types = InputDeclaration.InputType.allCases.map(\.rawValue)
        return "unknown input type '\(name)'\(Suggestions.didYouMean(name, in: types)); types are \(types.joined(separator: ", "))"
    }

    /// Why a value cannot be an input of `type`, or nil when it can.
    static func mismatch(_ value: SourceValue, _ type: InputDeclaration.InputType) -> String? {
        switch (type, value.content) {
        // JSON (outputs, the cache, history) holds finite numbers only: `1e400`, `.inf` and
        // `.nan` are refused here as they are on the command line.
        case (.number, .double(let number)) where !number.isFinite: "must be a finite number, not \(SourceValue.nonFiniteName(number))"
        case (.list, .sequence) where value.nonFiniteProblem != nil: value.nonFiniteProblem
        case (.string, .string), (.file, .string), (.number, .int), (.number, .double), (.bool, .bool), (.list, .sequence): nil
        case (.duration, .int), (.duration, .double), (.duration, .string):
            Durations.seconds(value).map { $0 >= 0 } == true ? nil : durationMessage(value.json)
        case (_, .null): nil
        case (.bool, .string(let text)) where yamlOneOneBooleans[text.lowercased()] != nil:
            // YAML 1.1 read these as booleans; YAML 1.2, as aiv does, reads them as text.
            "must be true or false, not the text '\(text)': YAML reads \(text) as text; write \(yamlOneOneBooleans[text.lowercased()]!)"
        case (.duration, _): durationMessage(value.json)
        default: "must be \(type == .list ? "a list" : type == .bool ? "true or false" : type == .number ? "a number" : "a string"), not \(value.kindPhrase)"
        }
    }

    /// The words YAML 1.1 took for booleans, with the one YAML 1.2 reads as each.
    static let yamlOneOneBooleans = ["yes": "true", "y": "true", "on": "true", "no": "false", "n": "false", "off": "false"]

    static func durationMessage(_ value: JSONValue) -> String {
        "must be a duration such as 30, 90s or 1h30m, not \(value.stringValue.map { "'\($0)'" } ?? value.canonicalJSON)"
    }

    func loadServices(_ value: SourceValue, diagnostics: inout Diagnostics) -> [ServiceSettings] {
        guard let entries = value.entries else {
            diagnostics.error("'services' must be a mapping of service names to settings, not \(value.kindPhrase)", at: value.location, length: value.length)
            return []
        }
        return entries.map { ServiceSettings(name: $0.key, location: $0.keyLocation, settings: $0.value) }
    }

    /// The steps, and apart from them those whose id repeats an earlier one's.
    func loadSteps(_ value: SourceValue, diagnostics: inout Diagnostics) -> (steps: [StepDeclaration], duplicates: [StepDeclaration]) {
        guard let items = value.items else {
            diagnostics.error("'steps' must be a list of steps, each starting with '- id:', not \(value.kindPhrase)", at: value.location, length: value.length)
            return ([], [])
        }
        if items.isEmpty { diagnostics.error("'steps' is empty; a workflow needs at least one step", at: value.location) }
        var steps: [StepDeclaration] = []
        var duplicates: [StepDeclaration] = []
        var firstSeen: [String: (id: String, location: SourceLocation)] = [:]
        for (position, item) in items.enumerated() {
            guard let step = loadStep(item, position: position, diagnostics: &diagnostics) else { continue }
            // Ids that differ only in case are refused: in a log or outputs.json they are easily taken for one another.
            if let first = firstSeen[step.id.lowercased()] {
                let message = first.id == step.id ? "duplicate step id '\(step.id)'" : "step id '\(step.id)' differs from '\(first.id)' only in case"
                diagnostics.error(message, at: step.location, length: step.id.count, notes: [.init("first used here", at: first.location)])
                duplicates.append(step)
                continue
            }
            firstSeen[step.id.lowercased()] = (step.id, step.location)
            steps.append(step)
        }
        return (steps, duplicates)
    }

    func loadStep(_ value: SourceValue, position: Int, diagnostics: inout Diagnostics) -> StepDeclaration? {
        let provisional = value["id"]?.string.map { "step '\($0)'" } ?? "step \(position + 1)"
        guard let fields = MappingReader(value, owner: provisional, diagnostics: &diagnostics) else { return nil }
        fields.rejectUnknown(Self.stepFields, diagnostics: &diagnostics) { key in
            switch key {
            case "run": "; aiv runs built-in step kinds: use 'uses: <kind>' and 'with:'"
            case "depends_on", "dependsOn", "after", "requires": "; did you mean 'needs'?"
            case "foreach", "forEach", "each", "loop", "matrix": "; did you mean 'for_each'?"
            case "when", "condition": "; did you mean 'if'?"
            case "args", "arguments", "params", "inputs", "input": "; did you mean 'with'?"
            case "kind", "type", "step", "use": "; did you mean 'uses'?"
            default: nil
            }
        }
        guard let (id, idLocation) = fields.string("id", required: true, diagnostics: &diagnostics) else { return nil }
        if !Self.isIdentifier(id) {
            diagnostics.error("step id '\(id)' must start with a letter or '_' and hold only letters, digits, '_' and '-'", at: idLocation, length: id.count)
        }
        let owner = "step '\(id)'"
        let (kind, kindLocation) = fields.string("uses", diagnostics: &diagnostics) ?? ("", idLocation)
        if fields["uses"] == nil { diagnostics.error("\(owner) is missing 'uses' (the step kind, e.g. 'uses: template.render')", at: idLocation, length: id.count) }

        var arguments = fields["with"]
        if let with = arguments, with.entries == nil {
            if case .null = with.content {
                arguments = nil
            } else {
                diagnostics.error("'with' of \(owner) must be a mapping of argument names to values, not \(with.kindPhrase)", at: with.location, length: with.length)
                arguments = nil
            }
        }

        let needs = loadStepIDs("needs", fields["needs"], diagnostics: &diagnostics)
        let optionalNeeds = loadStepIDs("optional_needs", fields["optional_needs"], diagnostics: &diagnostics)

        var condition = fields["if"]
        if let value = condition {
            switch value.content {
            case .string, .bool: break
            default:
                diagnostics.error("'if' must be an expression such as \"inputs.publish && steps.clips.outputs.count > 0\", not \(value.kindPhrase)",
                                  at: value.location, length: value.length)
                condition = nil
            }
        }

        var forEach = fields["for_each"]
        if let value = forEach {
            switch value.content {
            case .string, .sequence: break
            default:
                diagnostics.error("'for_each' must be a list or an expression that gives one, not \(value.kindPhrase)", at: value.location, length: value.length)
                forEach = nil
            }
        }

        var maxParallel: Int?
        if let value = fields["max_parallel"] {
            if case .int(let n) = value.content, n >= 1 { maxParallel = n } else {
                diagnostics.error("'max_parallel' is how many items of the for_each run at once: a whole number of at least 1", at: value.location, length: value.length)
            }
            if forEach == nil {
                diagnostics.error("'max_parallel' limits the items of a for_each, and \(owner) has no 'for_each'", at: value.location, length: value.length)
            }
        }

        var cache = CacheSetting.automatic
        let cacheValue = fields["cache"]
        if let value = cacheValue {
            switch value.content {
            case .bool(let on): cache = on ? .automatic : .off
            case .string("off"), .string("never"): cache = .off
            case .string("on"), .string("auto"): cache = .automatic
            default:
                if let seconds = Durations.seconds(value), seconds > 0 {
                    cache = .timeToLive(seconds)
                } else {
                    diagnostics.error("'cache' must be true, false, or how long a result stays fresh (e.g. \"7d\", \"12h\")", at: value.location, length: value.length)
                }
            }
        }

        return StepDeclaration(
            id: id, location: idLocation, name: fields.string("name", diagnostics: &diagnostics)?.0,
            kind: kind, kindLocation: kindLocation, arguments: arguments, needs: needs, optionalNeeds: optionalNeeds,
            condition: condition, forEach: forEach, maxParallel: maxParallel,
            retry: loadRetry(fields["retry"], owner: owner, diagnostics: &diagnostics),
            timeout: fields.duration("timeout", diagnostics: &diagnostics),
            continueOnError: fields.bool("continue_on_error", diagnostics: &diagnostics) ?? false,
            cache: cache, cacheLocation: cacheValue?.location, timeoutLocation: fields["timeout"]?.location)
    }

    /// `needs: a` or `needs: [a, b]`.
    func loadStepIDs(_ field: String, _ value: SourceValue?, diagnostics: inout Diagnostics) -> [(id: String, location: SourceLocation)] {
        guard let value else { return [] }
        switch value.content {
        case .string(let single):
            return [(single, value.textLocation)]
        case .sequence(let items):
            return items.compactMap { item in
                if let name = item.string { return (name, item.textLocation) }
                diagnostics.error("'\(field)' lists step ids, not \(item.kindPhrase)", at: item.location, length: item.length)
                return nil
            }
        default:
            diagnostics.error("'\(field)' must be a step id or a list of step ids, not \(value.kindPhrase)", at: value.location, length: value.length)
            return []
        }
    }

    /// `retry: 3` or `retry: {attempts: 3, backoff: 2s, factor: 2, max_delay: 1m, jitter: 0.2}`.
    func loadRetry(_ value: SourceValue?, owner: String, diagnostics: inout Diagnostics) -> RetryPolicy {
        guard let value else { return .none }
        if case .int(let attempts) = value.content {
            guard attempts >= 1 else {
                diagnostics.error("'retry' is the number of attempts and must be at least 1", at: value.location, length: value.length)
                return .none
            }
            return RetryPolicy(attempts: attempts)
        }
        guard value.entries != nil else {
            diagnostics.error("'retry' must be a number of attempts (retry: 3) or a mapping such as {attempts: 3, backoff: 2s}, not \(value.kindPhrase)",
                              at: value.location, length: value.length)
            return .none
        }
        guard let fields = MappingReader(value, owner: "'retry' of \(owner)", diagnostics: &diagnostics) else { return .none }
        fields.rejectUnknown(Self.retryFields, diagnostics: &diagnostics)
        var policy = RetryPolicy(attempts: 3)
        if let attempts = fields["attempts"] {
            if case .int(let n) = attempts.content, n >= 1 { policy.attempts = n } else {
                diagnostics.error("'attempts' must be a whole number of at least 1", at: attempts.location, length: attempts.length)
            }
        }
        if let backoff = fields.duration("backoff", diagnostics: &diagnostics) { policy.backoff = backoff }
        if let maxDelay = fields.duration("max_delay", diagnostics: &diagnostics) { policy.maxDelay = maxDelay }
        if let factor = fields["factor"] {
            if let f = factor.json.numberValue, f >= 1 { policy.factor = f } else {
                diagnostics.error("'factor' must be a number of at least 1", at: factor.location, length: factor.length)
            }
        }
        if let jitter = fields["jitter"] {
            switch jitter.content {
            case .bool(let on): policy.jitter = on ? 0.2 : 0
            default:
                if let j = jitter.json.numberValue, (0...1).contains(j) { policy.jitter = j } else {
                    diagnostics.error("'jitter' must be a fraction between 0 and 1 (or true/false)", at: jitter.location, length: jitter.length)
                }
            }
        }
        return policy
    }
}
