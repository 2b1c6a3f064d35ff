import Foundation

/// What the runner works with, injected so tests can use fakes: the step implementations, the
/// cache, the clock, the randomness of jitter, and who hears about progress.
public struct RunEnvironment: Sendable {
    public var steps: [String: any Step.Type]
    public var registry: StepRegistry
    public var cache: (any CacheStore)?
    public var blobs: BlobStore?
    /// Look results up in the cache (`--no-cache` turns this off; results are still saved).
    public var readsCache: Bool
    public var observer: any RunObserver
    public var clock: any Clock<Duration>
    /// A number in 0..<1, for retry jitter.
    public var random: @Sendable () -> Double
    public var now: @Sendable () -> Date
    public var environment: [String: String]
    public var secrets: Secrets
    public var maxParallel: Int
    /// How service steps reach their services; nil for runs without any.
    public var services: ServiceHub?
    /// Attempts given up on that may still be running, for the end of the run to wait for.
    public var abandonedWork = AbandonedWork()

    public init(steps: [String: any Step.Type], registry: StepRegistry, cache: (any CacheStore)? = nil, blobs: BlobStore? = nil,
                readsCache: Bool = true, observer: any RunObserver = RunObservers([]), clock: any Clock<Duration> = ContinuousClock(),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }, now: @escaping @Sendable () -> Date = Date.init,
                environment: [String: String] = [:], secrets: Secrets = Secrets(),
                maxParallel: Int = ProcessInfo.processInfo.activeProcessorCount, services: ServiceHub? = nil) {
        self.steps = steps
        self.registry = registry
        self.cache = cache
        self.blobs = blobs
        self.readsCache = readsCache
        self.observer = observer
        self.clock = clock
        self.random = random
        self.now = now
        self.environment = environment
        self.secrets = secrets
        self.maxParallel = maxParallel
        self.services = services
    }
}

/// Runs an execution plan: independent steps in parallel (at most `maxParallel` invocations at
/// once), `for_each` items in parallel and collected in order, `if:` evaluated, retries with
/// backoff and jitter, timeouts that cancel, `continue_on_error`, and the cache.
public struct Runner: Sendable {
    public let environment: RunEnvironment

    public init(_ environment: RunEnvironment) {
        self.environment = environment
    }

    /// Everything one run shares between its steps.
    struct RunContext: Sendable {
        var plan: ExecutionPlan
        /// `CacheEntry.workflowIdentity` of the plan's file, worked out once.
        var cachedWorkflow: String
        var runID: String
        var folder: RunFolder
        var workflowDirectory: String
        var slots: Slots
        /// The parallelism of steps that call a service, apart from the local ones'.
        var serviceSlots: Slots
        var digests: FileDigestCache
        var record: RunRecord
        /// Warnings said once a run (or once a step), however many items meet them.
        var warned = SaidOnce()
    }

    /// The state of a step while the run goes on.
    enum Progress {
        case pending, running
        case finished(StepReport, outputs: JSONValue?)
    }

    public func run(_ plan: ExecutionPlan, runID: String, folder: RunFolder, workflowDirectory: String) async -> RunReport {
        let started = environment.now()
        try? FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        let workflowIdentity = CacheEntry.workflowIdentity(plan.file)
        let files = RunFolderManifest(folder: folder, workflow: workflowIdentity)
        let context = RunContext(plan: plan, cachedWorkflow: workflowIdentity, runID: runID, folder: folder, workflowDirectory: workflowDirectory,
                                 slots: Slots(limit: environment.maxParallel), serviceSlots: Slots(limit: environment.maxParallel), digests: FileDigestCache(),
                                 record: RunRecord(folder: folder, files: files, now: environment.now))
        // A failed read-ahead only means the cache is asked step by step.
        if environment.readsCache { try? environment.cache?.prefetch(workflow: context.cachedWorkflow) }
        // The history keeps the inputs without a secret input's value (`--input stream_key=…`).
        let inputs = plan.shownInputs(redactedBy: plan.secrets(adding: environment.secrets))
        environment.observer.handle(.runStarted(runID: runID, workflow: plan.workflow, file: plan.file, folder: folder.path,
                                                steps: plan.steps.map { ($0.id, $0.kind) }, inputs: inputs, startedAt: started))
        var progress = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.id, Progress.pending) })
        var outputs: [String: JSONValue] = [:]
        /// Steps skipped because something before them failed (directly or through other skips).
        var skippedAfterFailure: Set<String> = []
        var stoppedBy: String?

        // Scheduling by counting: each step knows how many of its needs are unfinished, and a
        // finished step updates only its dependents, so a run is linear in steps plus edges.
        var unfinishedNeeds: [String: Int] = [:]
        var dependents: [String: [String]] = [:]
        for step in plan.steps {
            unfinishedNeeds[step.id] = step.needs.count
            for need in step.needs { dependents[need.step, default: []].append(step.id) }
        }
        var ready = plan.steps.filter { $0.needs.isEmpty }.map(\.id)
        let stepsByID = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.id, $0) })

        await withTaskGroup(of: (String, StepReport, JSONValue?).self) { group in
            /// Starts the steps that became ready (none once the run is stopping).
            func startReady() {
                guard stoppedBy == nil, !Task.isCancelled else { return }
                for id in ready {
                    guard case .pending = progress[id], let step = stepsByID[id] else { continue }
                    progress[id] = .running
                    // Only what the step depends on: its values (and cache key) cannot depend on timing.
                    let needed = Dictionary(uniqueKeysWithValues: step.needs.compactMap { need in outputs[need.step].map { (need.step, $0) } })
                    let scope = EvaluationScope(inputs: plan.inputs, steps: needed, env: environment.environment)
                    group.addTask {
                        let (report, result) = await execute(step, scope: scope, context: context)
                        return (id, report, result)
                    }
                }
                ready.removeAll()
            }

            /// Records a finished step; its dependents become ready, or are skipped (and theirs, through
            /// a work list rather than recursion, so a long chain cannot overflow the stack) when it did not succeed.
            func finished(_ id: String, _ report: StepReport, _ result: JSONValue?) {
                var work = [(id, report, result)]
                while let (id, report, result) = work.popLast() {
                    progress[id] = .finished(report, outputs: result)
                    if let result { outputs[id] = result }
                    environment.observer.handle(.stepFinished(report))
                    let succeeded = report.status == .succeeded || report.status == .cached
                    let why = report.status == .failed ? "failed" : report.status == .skipped ? "was skipped" : "was cancelled"
                    // A skip that goes back to a failure is a failure's: optional_needs forgives only an `if:`.
                    let afterFailure = report.status == .failed || report.status == .cancelled || skippedAfterFailure.contains(id)
                    for dependent in dependents[id] ?? [] {
                        guard case .pending = progress[dependent] else { continue }
                        let mayBeSkipped = report.status == .skipped && !afterFailure && stepsByID[dependent]?.skippableNeeds.contains(id) == true
                        if !succeeded, !mayBeSkipped, afterFailure { skippedAfterFailure.insert(dependent) }
                        if succeeded || mayBeSkipped {
                            unfinishedNeeds[dependent, default: 0] -= 1
                            if unfinishedNeeds[dependent] == 0 { ready.append(dependent) }
                        } else {
                            progress[dependent] = .running  // claimed: reported when popped
                            let skipped = StepReport(step: dependent, kind: stepsByID[dependent]?.kind ?? "", status: .skipped,
                                                     reason: "skipped because '\(id)' \(why)")
                            work.append((dependent, skipped, nil))
                        }
                    }
                }
            }

            startReady()
            for await (id, finishedReport, result) in group {
                var report = finishedReport
                // A step stopped while running says what stopped it, as one never started does.
                if report.status == .cancelled, report.reason.hasPrefix("cancelled"), !report.reason.hasPrefix("cancelled:") {
                    // "cancelled" and what a for_each had done (", 3801 of 10000 items done").
                    let done = report.reason.dropFirst("cancelled".count)
                    report.reason = (stoppedBy.map { "cancelled: the run stopped after '\($0)' failed" }
                        ?? (Task.isCancelled ? "cancelled: the run was interrupted" : "cancelled")) + done
                }
                finished(id, report, result)
                if report.status == .failed, !(stepsByID[id]?.continueOnError ?? false), stoppedBy == nil {
                    stoppedBy = id
                    group.cancelAll()
                }
                startReady()
            }
        }

        // Cancelled from outside (the command's Ctrl-C): not a failure of any step.
        let interrupted = Task.isCancelled
        let reports: [StepReport] = plan.steps.map { step in
            switch progress[step.id] {
            case .finished(let report, _):
                return report
            default:
                let reason = stoppedBy.map { "not started: the run stopped after '\($0)' failed" }
                    ?? (interrupted ? "not started: the run was interrupted" : "not started")
                let report = StepReport(step: step.id, kind: step.kind, status: .cancelled, reason: reason)
                environment.observer.handle(.stepFinished(report))
                return report
            }
        }
        context.record.finish()
        let failed = reports.contains { report in
            report.status == .cancelled || (report.status == .failed && !(stepsByID[report.step]?.continueOnError ?? false))
        }
        // Only a run that made everything it would may remove what an earlier one left (a failed
        // continue_on_error step, and the steps skipped after it, made nothing).
        let complete = !reports.contains { $0.status == .failed || $0.status == .cancelled } && skippedAfterFailure.isEmpty
        let removed = files.finish(succeeded: complete)
        let run = RunReport(runID: runID, workflow: plan.workflow, file: plan.file, folder: folder.path, startedAt: started,
                            duration: environment.now().timeIntervalSince(started),
                            // Interrupted only when that cost a step: one whose result was being saved when the
                            // signal came finished, and a run whose steps all did is a success.
                            status: interrupted && stoppedBy == nil && reports.contains { $0.status == .cancelled } ? .interrupted
                                : failed ? .failed : .succeeded, steps: reports,
                            removedFiles: removed.isEmpty ? nil : removed)
        environment.observer.handle(.runFinished(run))
        return run
    }
}
