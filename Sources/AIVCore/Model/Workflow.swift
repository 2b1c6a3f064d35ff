/// A workflow as written: its inputs, service settings and steps, each part with its location.
/// `WorkflowLoader` builds it from YAML; `WorkflowChecker` checks it against the step registry;
/// `Compiler` turns it into an `ExecutionPlan`.
public struct Workflow: Sendable {
    public var file: String
    public var name: String
    public var description: String?
    public var inputs: [InputDeclaration]
    public var services: [ServiceSettings]
    public var steps: [StepDeclaration] {
        didSet { stepIndex = Self.index(steps) }
    }
    private var stepIndex: [String: Int]
    /// Steps whose id repeats an earlier step's (an error already reported). They are checked like
    /// any step, so a copied step's own mistakes are reported with the duplicate id, but they are
    /// not part of the graph: nothing can refer to them, and they never run.
    public var duplicateSteps: [StepDeclaration] = []
    /// The folder relative paths in the workflow are resolved against (the workflow file's folder).
    public var baseDirectory: String

    public init(file: String, name: String, description: String? = nil, inputs: [InputDeclaration] = [],
                services: [ServiceSettings] = [], steps: [StepDeclaration] = [], baseDirectory: String = ".") {
        self.file = file
        self.name = name
        self.description = description
        self.inputs = inputs
        self.services = services
        self.steps = steps
        self.stepIndex = Self.index(steps)
        self.baseDirectory = baseDirectory
    }

    private static func index(_ steps: [StepDeclaration]) -> [String: Int] {
        Dictionary(steps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Looked up for every reference, so kept as a dictionary (first declaration wins).
    public func step(_ id: String) -> StepDeclaration? {
        stepIndex[id].map { steps[$0] }
    }

    /// Step id → position in `steps` (the first, when ids repeat).
    var stepPositions: [String: Int] { stepIndex }

    /// Whether a step has this id; unlike `step(_:)`, without copying the step.
    func containsStep(_ id: String) -> Bool { stepIndex[id] != nil }

    public func input(_ name: String) -> InputDeclaration? { inputs.first { $0.name == name } }

    /// The names of the inputs declared `secret: true`.
    public var secretInputs: Set<String> { Set(inputs.filter(\.isSecret).map(\.name)) }
}

/// A typed workflow input, given with `--input name=value`, `--inputs file.yaml`, or its default.
public struct InputDeclaration: Sendable {
    public enum InputType: String, Sendable, CaseIterable, Codable {
        case string, number, bool, file, list
        /// Seconds, or a duration such as `90s` or `1h30m`, checked when the input is given (a
        /// typo in `--input show_for=…` is refused before any step runs, not midway). Expressions
        /// see it as seconds, a number, however it was written.
        case duration

        /// The static shape expressions see for `inputs.<name>`.
        public var schema: Schema {
            switch self {
            case .string, .file: .string
            case .number: .number
            case .bool: .boolean
            case .list: .array(.any)
            case .duration: .number
            }
        }
    }

    public var name: String
    public var location: SourceLocation
    public var type: InputType
    public var description: String?
    public var defaultValue: SourceValue?
    /// Required inputs have no default; `required: false` without a default makes the input null when not given.
    public var isRequired: Bool
    /// A list input's `items`: the JSON Schema each element must match (the subset prompt output
    /// schemas use), checked when the input is given, before any step runs.
    public var itemSchema: JSONValue?
    /// `secret: true`: a key, token or PIN given as an input (a stream key for an `obs.request`).
    /// Expressions read it, but nothing aiv keeps or shows holds it, and a step that reads it is
    /// not cached. Declared rather than guessed from the name: `max_tokens` or `sort_key` taken
    /// for secrets would leave steps uncached and common words redacted.
    public var isSecret: Bool

    public init(name: String, location: SourceLocation, type: InputType, description: String? = nil,
                defaultValue: SourceValue? = nil, isRequired: Bool, itemSchema: JSONValue? = nil, isSecret: Bool = false) {
        self.isSecret = isSecret
        self.name = name
        self.location = location
        self.type = type
        self.description = description
        self.defaultValue = defaultValue
        self.isRequired = isRequired
        self.itemSchema = itemSchema
    }

    /// The static shape expressions see for `inputs.<name>`: a list's elements as `items` says.
    public var schema: Schema {
        if type == .list, let itemSchema { return .array(Schema(jsonSchema: itemSchema)) }
        return type.schema
    }
}

/// Settings of one external service (`services.gemini: {model, base_url, limits}`), checked against
/// that service's schema in the registry.
public struct ServiceSettings: Sendable {
    public var name: String
    public var location: SourceLocation
    public var settings: SourceValue

    public init(name: String, location: SourceLocation, settings: SourceValue) {
        self.name = name
        self.location = location
        self.settings = settings
    }
}

/// One step as written.
public struct StepDeclaration: Sendable {
    public var id: String
    public var location: SourceLocation
    public var name: String?
    public var kind: String
    public var kindLocation: SourceLocation
    /// The `with:` mapping, or nil when the step has none.
    public var arguments: SourceValue?
    public var needs: [(id: String, location: SourceLocation)]
    /// Steps this one needs, that may be skipped without skipping it (`optional_needs:`): their
    /// outputs are then null, so `steps.a.outputs.x || steps.b.outputs.x` picks the branch that ran.
    public var optionalNeeds: [(id: String, location: SourceLocation)]
    /// The `if:` condition: a bare expression (or one `${{ }}`), or a literal boolean.
    public var condition: SourceValue?
    /// The `for_each:` list: a YAML list or an expression that yields one.
    public var forEach: SourceValue?
    /// At most this many items of the `for_each` at once (`max_parallel: 1`: one after another, in order).
    public var maxParallel: Int?
    public var retry: RetryPolicy
    public var timeout: Double?
    /// Where `timeout:`'s value is written, for a message about it.
    public var timeoutLocation: SourceLocation?
    public var continueOnError: Bool
    public var cache: CacheSetting
    public var cacheLocation: SourceLocation?

    public init(id: String, location: SourceLocation, name: String? = nil, kind: String, kindLocation: SourceLocation,
                arguments: SourceValue? = nil, needs: [(id: String, location: SourceLocation)] = [],
                optionalNeeds: [(id: String, location: SourceLocation)] = [],
                condition: SourceValue? = nil, forEach: SourceValue? = nil, maxParallel: Int? = nil, retry: RetryPolicy = .none,
                timeout: Double? = nil, continueOnError: Bool = false, cache: CacheSetting = .automatic,
                cacheLocation: SourceLocation? = nil, timeoutLocation: SourceLocation? = nil) {
        self.id = id
        self.location = location
        self.name = name
        self.kind = kind
        self.kindLocation = kindLocation
        self.arguments = arguments
        self.needs = needs
        self.optionalNeeds = optionalNeeds
        self.condition = condition
        self.forEach = forEach
        self.maxParallel = maxParallel
        self.retry = retry
        self.timeout = timeout
        self.continueOnError = continueOnError
        self.cache = cache
        self.cacheLocation = cacheLocation
        self.timeoutLocation = timeoutLocation
    }
}

/// How often and how patiently a failing step is tried again.
public struct RetryPolicy: Sendable, Codable, Hashable {
    /// Total attempts, the first included.
    public var attempts: Int
    /// Delay before the second attempt, in seconds; each later delay is `factor` times the one before.
    public var backoff: Double
    public var factor: Double
    /// Longest single delay, in seconds.
    public var maxDelay: Double
    /// Random spread of each delay, as a fraction (0.2: ±20%), so parallel retries do not stampede.
    public var jitter: Double

    public init(attempts: Int, backoff: Double = 1, factor: Double = 2, maxDelay: Double = 60, jitter: Double = 0.2) {
        self.attempts = attempts
        self.backoff = backoff
        self.factor = factor
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    public static let none = RetryPolicy(attempts: 1)

    /// The delay before attempt `attempt + 1` (attempt counts from 1), before jitter.
    public func delay(after attempt: Int) -> Double {
        min(maxDelay, backoff * pow(factor, Double(max(0, attempt - 1))))
    }
}

/// The `cache:` setting of a step.
public enum CacheSetting: Sendable, Codable, Hashable {
    /// Cached when the step kind is deterministic (the default).
    case automatic
    /// Never cached.
    case off
    /// Cached, but a result older than this many seconds is done again.
    case timeToLive(Double)
}

/// In a plan's JSON: `"automatic"`, `"off"` or `{"time_to_live": seconds}` (what the synthesized
/// form gave, `{"automatic": {}}`, reads as noise to a script).
extension CacheSetting {
    private enum Keys: String, CodingKey { case timeToLive = "time_to_live" }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .automatic, .off:
            var container = encoder.singleValueContainer()
            try container.encode(self == .off ? "off" : "automatic")
        case .timeToLive(let seconds):
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(seconds, forKey: .timeToLive)
        }
    }

    public init(from decoder: any Decoder) throws {
        if let word = try? decoder.singleValueContainer().decode(String.self) {
            switch word {
            case "automatic": self = .automatic
            case "off": self = .off
            default: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown cache setting '\(word)'"))
            }
        } else {
            self = .timeToLive(try decoder.container(keyedBy: Keys.self).decode(Double.self, forKey: .timeToLive))
        }
    }
}

import Foundation
