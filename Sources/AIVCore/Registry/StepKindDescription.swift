import Foundation
/// Everything aiv knows about a step kind before running it: its name, arguments, outputs and
/// whether it has side effects. The registry of these drives validation, `aiv schema`,
/// `aiv kinds` help and "did you mean".
public struct StepKindDescription: Sendable {
    /// Whether running the step twice with the same key gives the same result.
    public enum Effect: String, Sendable, Codable {
        /// Same arguments and files in, same outputs out: cached by default.
        case deterministic
        /// Writes to or reads from the outside world (Notion, OBS): never cached, made idempotent instead.
        case sideEffecting = "side-effecting"
    }

    /// `family.verb`, as written after `uses:`.
    public var name: String
    /// Bumped when the kind's behaviour changes, so cached results of the old behaviour are not reused.
    public var version: Int
    public var summary: String
    public var discussion: String
    public var arguments: [Property]
    /// The shape of `steps.<id>.outputs`.
    public var outputs: Schema
    public var effect: Effect
    /// The service whose rate limits the kind obeys (a key of the workflow's `services`).
    public var service: String?
    /// A YAML snippet showing the kind in use; help prints it.
    public var example: String
    /// The kind's own checks of the arguments a workflow writes out, beyond their shapes (a clip's
    /// times, the container an extension names), so `aiv validate` reports what the step would
    /// fail on only after the steps before it had run.
    public var checkLiterals: (@Sendable (_ arguments: WrittenArguments) -> [LiteralProblem])?
    /// An output whose shape is the output schema of the prompt file an argument names
    /// (gemini.generate's `result`, after `prompt`): validation reads the prompt, so
    /// `steps.<id>.outputs.result.items[*].expresion` is an unknown field before anything runs.
    public var promptShapedOutput: PromptShapedOutput?
    /// The service's `model` is only a default (gemini's): a step whose `model` argument or
    /// prompt file (`promptShapedOutput`'s argument) names one leaves it out of its cache key,
    /// so changing the default re-runs only the steps that use it.
    public var serviceModelIsADefault = false

    /// An output list whose elements are those of a list argument (list.filter's `items`), or
    /// of the lists in it (list.merge's `lists`): validation gives the output the argument's
    /// element shape, so a misspelt field of a filtered item is found before running, and the
    /// kind's item expressions (`where`) read `item` with that shape.
    public var listShapedOutput: ListShapedOutput?

    public struct ListShapedOutput: Sendable {
        public var output: String
        public var argument: String
        /// The argument is a list of lists, joined into one.
        public var flattens: Bool
        /// An argument whose keys are fields the step sets on each element (list.map's `set`).
        public var fieldsSetBy: String?
        /// An argument naming fields that become lists of their values (list.dedupe's `collect`).
        public var fieldsListedBy: String?
        /// Fields the step adds to each element (stock.merge's `key`, `sources`, …).
        public var fieldsAdded: [Property]
        /// Other outputs that are lists of the same elements (stock.merge's `new`).
        public var alsoOutputs: [String]
        public init(output: String = "items", argument: String = "items", flattens: Bool = false, fieldsSetBy: String? = nil,
                    fieldsListedBy: String? = nil, fieldsAdded: [Property] = [], alsoOutputs: [String] = []) {
            self.output = output
            self.argument = argument
            self.flattens = flattens
            self.fieldsSetBy = fieldsSetBy
            self.fieldsListedBy = fieldsListedBy
            self.fieldsAdded = fieldsAdded
            self.alsoOutputs = alsoOutputs
        }
    }

    public struct PromptShapedOutput: Sendable {
        public var output: String
        public var promptArgument: String
        public init(output: String, promptArgument: String) {
            self.output = output
            self.promptArgument = promptArgument
        }
    }

    public init(name: String, version: Int = 1, summary: String, discussion: String = "", arguments: [Property],
                outputs: Schema, effect: Effect = .deterministic, service: String? = nil, example: String,
                checkLiterals: (@Sendable (_ arguments: WrittenArguments) -> [LiteralProblem])? = nil,
                promptShapedOutput: PromptShapedOutput? = nil, listShapedOutput: ListShapedOutput? = nil) {
        self.checkLiterals = checkLiterals
        self.listShapedOutput = listShapedOutput
        self.promptShapedOutput = promptShapedOutput
        self.name = name
        self.version = version
        self.summary = summary
        self.discussion = discussion
        self.arguments = arguments
        self.outputs = outputs
        self.effect = effect
        self.service = service
        self.example = example
    }

    public func argument(_ name: String) -> Property? { arguments.first { $0.name == name } }

    /// The kind with `serviceModelIsADefault` set.
    public func withServiceModelAsADefault() -> StepKindDescription {
        var kind = self
        kind.serviceModelIsADefault = true
        return kind
    }
}

/// A step's arguments as the workflow writes them, for a kind's `checkLiterals`.
public struct WrittenArguments: Sendable {
    /// Every argument as written: a string holding `${{ }}` is its text, not its value.
    public let asWritten: [String: JSONValue]

    public init(_ asWritten: [String: JSONValue]) { self.asWritten = asWritten }

    /// An argument with no `${{ }}` anywhere in it; nil when it is absent or computed when running.
    public subscript(name: String) -> JSONValue? {
        guard let value = asWritten[name], !value.holdsExpression else { return nil }
        return value
    }

    /// The extension (lowercased) a path argument ends with, when it is known before running: a
    /// literal path's, or the one written after its last `${{ }}` (`clips/${{ index }}.mp4`).
    /// Nil when an expression may still give it, or when the argument is not a string.
    public func pathExtension(of name: String) -> String? {
        guard let text = asWritten[name]?.stringValue else { return nil }
        var tail = Substring(text)
        if text.hasExpressionMarker {
            guard let close = text.range(of: "}}", options: .backwards) else { return nil }
            tail = text[close.upperBound...]
            // `-${{ x }}` then nothing, or no dot after the last expression: the value decides.
            guard let dot = tail.lastIndex(of: "."), !tail[dot...].contains("/") else { return nil }
            return tail[tail.index(after: dot)...].lowercased()
        }
        return (text as NSString).pathExtension.lowercased()
    }
}

extension JSONValue {
    /// Whether a string in the value holds `${{ }}` (so the value is known only when running).
    public var holdsExpression: Bool {
        switch self {
        case .string(let text): text.hasExpressionMarker
        case .array(let items): items.contains { $0.holdsExpression }
        case .object(let members): members.values.contains { $0.holdsExpression }
        default: false
        }
    }
}

/// What a kind's `checkLiterals` found wrong in one argument, or in one element of it.
public struct LiteralProblem: Sendable, Equatable {
    /// The argument's name.
    public var argument: String
    /// Where in the argument: list positions and mapping keys, outermost first (`[2, "request"]`).
    public var path: [JSONPathComponent]
    public var message: String
    /// An error, or a warning for what is only likely wrong (a name a newer service may know).
    public var severity: Diagnostic.Severity

    public init(_ argument: String, at path: [JSONPathComponent] = [], severity: Diagnostic.Severity = .error, _ message: String) {
        self.argument = argument
        self.path = path
        self.severity = severity
        self.message = message
    }
}

/// A step into a value: a list position or a mapping key.
public enum JSONPathComponent: Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    case index(Int)
    case key(String)
    public init(integerLiteral value: Int) { self = .index(value) }
    public init(stringLiteral value: String) { self = .key(value) }
}

/// An external service that steps call, with the settings a workflow may give under `services:`.
public struct ServiceDescription: Sendable {
    public var name: String
    public var summary: String
    public var settings: [Property]
    /// For services reached over HTTP: address, credential, default limits, token usage.
    public var http: HTTPServiceInfo?

    public init(name: String, summary: String, settings: [Property], http: HTTPServiceInfo? = nil) {
        self.name = name
        self.summary = summary
        self.settings = settings
        self.http = http
    }
}

/// The one list of step kinds and services a workflow may use.
public struct StepRegistry: Sendable {
    public private(set) var kinds: [StepKindDescription]
    public private(set) var services: [ServiceDescription]
    private var kindIndex: [String: Int] = [:]

    public init(kinds: [StepKindDescription], services: [ServiceDescription] = []) {
        self.kinds = []
        self.services = services
        for kind in kinds { register(kind) }
    }

    /// Adds a kind; a second kind with the same name is a programming error.
    public mutating func register(_ kind: StepKindDescription) {
        precondition(kindIndex[kind.name] == nil, "step kind '\(kind.name)' registered twice")
        kindIndex[kind.name] = kinds.count
        kinds.append(kind)
    }

    public subscript(kind name: String) -> StepKindDescription? {
        kindIndex[name].map { kinds[$0] }
    }

    /// Where a kind is in `kinds`. The checker and compiler look a kind up for every step and read
    /// a few fields from `kinds[position]`: copying the whole description (strings, arrays, a
    /// schema: a retain and a release each) for every step showed in their profiles.
    func position(ofKind name: String) -> Int? {
        kindIndex[name]
    }

    public func service(_ name: String) -> ServiceDescription? {
        services.first { $0.name == name }
    }

    public var kindNames: [String] { kinds.map(\.name) }
}
