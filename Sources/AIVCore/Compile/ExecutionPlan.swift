/// What `Compiler` produces and `aiv plan` prints: the steps in an order that respects every
/// dependency, each with everything needed to run it. Plain `Codable` data; nothing here runs.
public struct ExecutionPlan: Sendable, Codable {
    public var workflow: String
    public var file: String
    /// The inputs as bound: given values, then defaults.
    public var inputs: [String: JSONValue]
    /// Service settings as written under `services:`.
    public var services: [String: JSONValue]
    /// In topological order; ties keep declaration order.
    public var steps: [PlannedStep]
    /// The inputs declared `secret: true`, sorted.
    public var secretInputs: [String] = []
    /// The inputs of type `duration` (seconds to expressions), sorted: `plan` shows them as written too.
    public var durationInputs: [String] = []

    public var layerCount: Int { (steps.map(\.layer).max() ?? -1) + 1 }

    /// `base` with the values of the secret inputs (see `Secrets.including(secretInputs:of:)`).
    public func secrets(adding base: Secrets) -> Secrets { base.including(secretInputs: secretInputs, of: inputs) }

    /// The inputs as the history and `plan` show them: a secret input by its name alone, however
    /// short its value (a PIN of three digits is too short to be searched for), and the others
    /// with any secret of `secrets` in them replaced.
    public func shownInputs(redactedBy secrets: Secrets) -> [String: JSONValue] {
        var shown = inputs
        for name in secretInputs where (inputs[name] ?? .null) != .null { shown[name] = .string("[redacted inputs.\(name)]") }
        return secrets.redact(.object(shown)).objectValue ?? [:]
    }

    public func step(_ id: String) -> PlannedStep? { steps.first { $0.id == id } }
}

public struct PlannedStep: Sendable, Codable {
    public struct Need: Sendable, Codable, Hashable {
        public var step: String
        public var reason: Dependency.Reason
        public init(step: String, reason: Dependency.Reason) {
            self.step = step
            self.reason = reason
        }
    }

    /// `if:`: the expression, and its value when it depends only on inputs and the environment.
    public struct Condition: Sendable, Codable {
        public var expression: String
        public var constant: Bool?
    }

    /// `for_each:`: a literal list, or an expression (with its list when known before running).
    public struct Fanout: Sendable, Codable {
        public var expression: String?
        public var items: [JSONValue]?
    }

    public var id: String
    public var name: String?
    public var kind: String
    public var kindVersion: Int
    public var effect: StepKindDescription.Effect
    public var service: String?
    public var needs: [Need]
    /// 0 for steps that need nothing, else one more than the deepest step they need.
    public var layer: Int
    /// The `with:` mapping; strings keep their `${{ }}` expressions, which are evaluated when the step runs.
    public var arguments: [String: JSONValue]
    public var condition: Condition?
    public var forEach: Fanout?
    /// At most this many items at once; nil: as many as the run's parallelism allows.
    public var maxParallel: Int?
    public var retry: RetryPolicy
    public var timeout: Double?
    public var continueOnError: Bool
    /// Needed steps whose being skipped does not skip this one (their outputs are then null):
    /// those listed under `optional_needs`.
    public var optionalNeeds: Set<String>

    /// Needed steps whose being skipped does not skip this one: the optional needs, and the
    /// writers of files it reads (skipped, the path names the file beside the workflow).
    public var skippableNeeds: Set<String> {
        let writers = needs.filter { $0.reason == .file }
        return writers.isEmpty ? optionalNeeds : optionalNeeds.union(writers.map(\.step))
    }
    public var cache: CacheSetting
    /// Whether results may come from the cache: deterministic kinds unless `cache: false`.
    public var isCacheable: Bool
    /// Prompt and template files the step reads (paths relative to the workflow).
    public var prompts: [String]
    public var location: SourceLocation
    /// The secret inputs its expressions (`with:`, `for_each:`, `if:`) or its service's settings
    /// read: such a step is not cached, since its entry would keep the value in its key's parts
    /// and in what it made from it. Known from the workflow, so a short PIN counts too.
    public var secretInputs: [String] = []

    /// Why the step is not cached when it reads secret inputs, else nil.
    public var secretInputsReason: String? {
        guard !secretInputs.isEmpty else { return nil }
        return "reads secret input\(secretInputs.count == 1 ? "" : "s") " + secretInputs.map { "'\($0)'" }.joined(separator: ", ") + ": not cached"
    }
}
