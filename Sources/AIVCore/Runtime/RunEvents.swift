import Foundation

/// How a step ended.
public enum StepStatus: String, Sendable, Codable {
    /// Ran (every item, or the one invocation) and succeeded.
    case succeeded
    /// Every invocation came from the cache.
    case cached
    /// Not run: its `if:` was false, or something it needs failed or was skipped.
    case skipped
    case failed
    /// Stopped because another step failed or the run was interrupted.
    case cancelled
    /// In run history only: planned, but the run ended (killed, or stopped at a failure) before
    /// the step finished or was cancelled.
    case notFinished = "not finished"
}

/// The record of one step in a run: what `aiv runs show` and the summary table print.
public struct StepReport: Sendable, Codable, Equatable {
    public var step: String
    public var kind: String
    public var status: StepStatus
    public var startedAt: Date?
    public var duration: Double
    /// Invocations (items) in all, and how many came from the cache.
    public var invocations: Int
    public var cachedInvocations: Int
    /// Attempts of the invocation that needed most.
    public var attempts: Int
    /// Why it ran ("argument 'window' changed"), why it was skipped, or why it failed.
    public var reason: String
    public var error: String?
    /// The step's log (secrets redacted), for the run history; not part of the JSON a report is
    /// printed as, where it would repeat every line already shown.
    public var log: String?
    /// What of the step failed to evaluate, when that is what failed. The command line points
    /// at it in the workflow rather than at the step; not part of the report's JSON, whose
    /// `error` says it in words.
    public var failedAt: FailedPart?

    /// The part of a step that failed to evaluate (or that the step refused).
    public enum FailedPart: Sendable, Equatable {
        case condition
        case forEach
        /// A top-level argument, by name.
        case argument(String)
    }

    enum CodingKeys: String, CodingKey {
        case step, kind, status, startedAt, duration, invocations, cachedInvocations, attempts, reason, error
    }

    public init(step: String, kind: String, status: StepStatus, startedAt: Date? = nil, duration: Double = 0, invocations: Int = 0,
                cachedInvocations: Int = 0, attempts: Int = 0, reason: String = "", error: String? = nil, log: String? = nil) {
        self.step = step
        self.kind = kind
        self.status = status
        self.startedAt = startedAt
        self.duration = duration
        self.invocations = invocations
        self.cachedInvocations = cachedInvocations
        self.attempts = attempts
        self.reason = reason
        self.error = error
        self.log = log
    }
}

/// The outcome of a run.
public struct RunReport: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case running, succeeded, failed
        /// Stopped from outside (Ctrl-C, SIGTERM): the steps under way were cancelled.
        case interrupted
    }

    public var runID: String
    public var workflow: String
    public var file: String
    public var folder: String
    public var startedAt: Date
    public var duration: Double
    public var status: Status
    public var steps: [StepReport]
    /// Files an earlier run into the same folder wrote and this run did not, which it removed
    /// (relative to the folder); nil when there were none.
    public var removedFiles: [String]?

    public init(runID: String, workflow: String, file: String, folder: String, startedAt: Date, duration: Double, status: Status,
                steps: [StepReport], removedFiles: [String]? = nil) {
        self.runID = runID
        self.workflow = workflow
        self.file = file
        self.folder = folder
        self.startedAt = startedAt
        self.duration = duration
        self.status = status
        self.steps = steps
        self.removedFiles = removedFiles
    }

    public func count(_ status: StepStatus) -> Int { steps.filter { $0.status == status }.count }
}

/// What a run tells its observers (progress display, JSON events, run history), as it happens.
public enum RunEvent: Sendable {
    case runStarted(runID: String, workflow: String, file: String, folder: String, steps: [(id: String, kind: String)], inputs: [String: JSONValue], startedAt: Date)
    /// `forEach`: the step fans out, even over one item (its items are counted as they finish).
    case stepStarted(step: String, invocations: Int, forEach: Bool = false)
    case invocationFinished(step: String, index: Int?, cached: Bool, done: Int, of: Int)
    case retrying(step: String, index: Int?, attempt: Int, delay: Double, error: String)
    case stepFinished(StepReport)
    /// A step's request to a service got an answer (or none).
    case serviceCall(ServiceCall)
    /// Something the user should know that is not a failure (a quota at 80%).
    case warning(String)
    case runFinished(RunReport)
}

/// Receives run events; called from the runner's tasks, so it must be thread-safe and quick.
public protocol RunObserver: Sendable {
    func handle(_ event: RunEvent)
}

/// Forwards events to several observers, in order.
public struct RunObservers: RunObserver {
    public var observers: [any RunObserver]
    public init(_ observers: [any RunObserver]) { self.observers = observers }
    public func handle(_ event: RunEvent) { for observer in observers { observer.handle(event) } }
}
