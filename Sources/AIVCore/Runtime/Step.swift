import Foundation
import Logging

/// A built-in step kind that can run: its description (for validation, schema and help) and the
/// code that does one invocation. One type per kind, one file per type, one line in the registry.
public protocol Step: Sendable {
    static var kind: StepKindDescription { get }
    init()

    /// Does the work of one invocation (one item of a `for_each`): arguments are resolved (every
    /// expression evaluated, defaults filled in) and checked against the kind's argument schema.
    /// Long-running work checks `Task.isCancelled`, so a timeout really stops it.
    func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult
}

/// What one invocation produced.
public struct StepResult: Sendable {
    /// The outputs object (`steps.<id>.outputs`), matching the kind's output schema.
    public var outputs: JSONValue
    /// Files written in the run folder, relative to it; restored from the cache on a hit.
    public var files: [String]

    public init(outputs: JSONValue, files: [String] = []) {
        self.outputs = outputs
        self.files = files
    }
}

/// Everything a step may use, handed to it instead of read from the process: the clock, the run
/// folder, where its input files are, and its log. Tests build one with fakes.
public struct StepContext: Sendable {
    public var stepID: String
    /// The item's position when the step runs under `for_each`.
    public var index: Int?
    /// Relative input paths (transcripts, templates) are resolved against this folder.
    public var workflowDirectory: String
    /// Where the step writes its files.
    public var runFolder: RunFolder
    public var clock: any Clock<Duration>
    public var logger: Logger
    /// Inputs, finished steps' outputs and the environment, for arguments a step evaluates
    /// itself once per element (such as `list.filter`'s `where`).
    public var scope: EvaluationScope
    /// Keys and tokens, for the steps that call services; whatever a step logs, returns or
    /// throws is redacted of them.
    public var secrets: Secrets
    /// The run's way to services (network or fixtures, limits, recording); nil when the run has none.
    public var services: ServiceHub?

    public init(stepID: String, index: Int? = nil, workflowDirectory: String, runFolder: RunFolder,
                clock: any Clock<Duration> = ContinuousClock(), logger: Logger = Logger(label: "aiv.step"),
                scope: EvaluationScope = EvaluationScope(), secrets: Secrets = Secrets(), services: ServiceHub? = nil) {
        self.stepID = stepID
        self.index = index
        self.workflowDirectory = workflowDirectory
        self.runFolder = runFolder
        self.clock = clock
        self.logger = logger
        self.scope = scope
        self.secrets = secrets
        self.services = services
    }

    /// The client for one service, bound to this step and item.
    public func service(_ name: String) throws(StepError) -> ServiceClient {
        guard let services else { throw StepError("this run has no way to reach services") }
        return try services.client(name, step: stepID, item: index, logger: logger)
    }

    /// An input path: a file this run wrote, else one relative to the workflow (absolute paths stay as they are).
    public func inputPath(_ path: String) -> String {
        runFolder.input(path, workflowDirectory: workflowDirectory)
    }
}

/// An error that knows whether trying the step again may help.
public protocol TransienceReporting: Error {
    var isTransient: Bool { get }
    /// Whether a step's own `retry:` tries again after this failure (by default, when transient).
    var retriesAsAStep: Bool { get }
}

extension TransienceReporting {
    public var retriesAsAStep: Bool { isTransient }
}

extension ServiceError: TransienceReporting {
    public var retriesAsAStep: Bool { isTransient || clientGaveUp }
}
extension TransportError: TransienceReporting {}
extension QuotaExhausted: TransienceReporting {
    public var isTransient: Bool { false }
}

/// A failure of one step invocation, said so that a user knows what to fix.
public struct StepError: Error, Sendable, CustomStringConvertible, Equatable, TransienceReporting {
    public var message: String
    /// Whether trying again may help (a timeout, a 503); local input errors are not.
    public var isTransient: Bool
    /// The argument whose value the step refused, when that is the failure: the run points at it.
    public var argumentName: String?

    public init(_ message: String, transient: Bool = false) {
        self.message = message
        self.isTransient = transient
    }

    public var description: String { message }

    public static func argument(_ name: String, _ problem: String) -> StepError {
        var error = StepError("argument '\(name)' \(problem)")
        // A path into a mapping (`values.text`) points at the argument it is in.
        error.argumentName = String(name.prefix { $0 != "." })
        return error
    }
}
