import AIVCore
import AIVNetwork
import AIVSteps
import AIVStore
import ArgumentParser
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workflow: independent steps in parallel, cached results reused.",
        discussion: """
            Each run gets a folder (.aiv/runs/<run-id>/ by default) holding the files steps write and, under _aiv/, \
            each step's outputs and log. Re-running does only what changed; after a failure or a kill, running \
            the same command again redoes only the steps that did not finish.

            --record keeps every request a step sends to a service (Gemini, Notion) and its answer as YAML \
            fixtures, one file per step, in fixtures/<workflow>/ beside the workflow (or --fixtures DIR); \
            credentials are never written. --dry-run answers every request from those fixtures: no network, \
            no keys, no quota used.
            """)

    @OptionGroup var workflow: WorkflowOptions
    @OptionGroup var state: StateOptions

    @Option(name: .customLong("max-parallel"), parsing: .unconditional, help: "Most step invocations running at once (by default the number of cores, as shown); cached results are put back without waiting.")
    var maxParallel: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .customLong("no-cache"), help: "Run every step again, ignoring cached results (new results are still cached).")
    var noCache = false

    @Option(name: .customLong("run-dir"), help: ArgumentHelp("The run folder (default: <state-dir>/runs/<run-id>).", valueName: "dir"))
    var runDirectory: String?

    @Flag(help: "Print events as JSON lines instead of progress.")
    var json = false

    @OptionGroup var environmentOptions: EnvironmentOptions

    @Flag(help: "Keep every exchange with a service as fixtures (service steps are called, not taken from the cache).")
    var record = false

    @Flag(name: .customLong("dry-run"), help: "Answer service requests from recorded fixtures: no network, no keys.")
    var dryRun = false

    @Option(help: ArgumentHelp("The fixture folder (default: fixtures/<workflow> beside the workflow file).", valueName: "dir"))
    var fixtures: String?

    func validate() throws {
        if maxParallel < 1 { throw ValidationError("--max-parallel must be at least 1") }
        if record && dryRun { throw ValidationError("--record and --dry-run exclude each other: one calls services, the other never does") }
        // Ignored, it would let a run meant to replay call the real services (and a real OBS).
        if fixtures != nil, !record, !dryRun { throw ValidationError("--fixtures goes with --dry-run (the folder to replay) or --record (the folder to write)") }
        try StateOptions.checkFolder(runDirectory, option: "--run-dir")
        try StateOptions.checkFolder(fixtures, option: "--fixtures")
    }

    /// `fixtures/<workflow file name without extension>` beside the workflow.
    /// The command that records what a dry run replays, into the folder it was told to read.
    /// Where a failed step failed: the argument, `if:` or `for_each:` that failed to evaluate (or
    /// that the step refused), else the step.
    static func failureLocation(_ report: StepReport, plan: ExecutionPlan, workflow: Workflow) -> SourceLocation? {
        let declared = report.failedAt == nil ? nil : workflow.steps.first { $0.id == report.step }
        let part: SourceValue? = switch report.failedAt {
        case .condition?: declared?.condition
        case .forEach?: declared?.forEach
        case .argument(let name)?: declared?.arguments?[name]
        case nil: nil
        }
        return part?.location ?? plan.step(report.step)?.location
    }

    static func recordCommand(_ file: String, fixtures: String?) -> String {
        "aiv run --record " + (fixtures.map { "--fixtures \($0) " } ?? "") + file
    }

    static func defaultFixtureFolder(workflowFile: String) -> String {
        let url = URL(fileURLWithPath: workflowFile)
        return url.deletingLastPathComponent().appendingPathComponent("fixtures").appendingPathComponent(url.deletingPathExtension().lastPathComponent).path
    }

    func run() async throws {
        let loadedEnvironment = try environmentOptions.load(json: json)
        let output = Frontend.standard(environment: loadedEnvironment.variables)
            .plan(path: workflow.file, inputsFile: workflow.inputsFile, assignments: try workflow.assignments())
        if json {
            // A program reading the events learns why nothing ran from them too.
            try JSONEventPrinter.printDiagnostics(output.diagnostics)
        } else {
            DiagnosticOutput.print(output.diagnostics, sources: output.sources)
        }
        guard let plan = output.plan, let loaded = output.workflow else { throw ExitCode.invalid }

        // A secret input (`--input stream_key=…`) is kept out of everything written, as the environment's secrets are.
        let secrets = plan.secrets(adding: loadedEnvironment.secrets)
        let store = try state.openStore()
        let runID = RunIdentifier.make()
        // Absolute, so the thousands of file operations of a run do not each ask for the current folder.
        let cwd = FileManager.default.currentDirectoryPath
        let folder = RunFolder(path: Paths.resolve(runDirectory ?? "\(state.stateDirectory)/runs/\(runID)", relativeTo: cwd),
                               stateFolder: state.absoluteState)
        do {
            try Folders.create(folder.path)
        } catch let problem as Folders.FolderProblem {
            throw CommandFailure("cannot use '\(folder.path)' as the run folder: " + (problem.path == folder.path ? problem.reason : "\(problem)"))
        }
        // One run per folder at a time; what a killed run left half-written there goes.
        let claim: RunFolder.Claim
        do {
            claim = try folder.claim(runID: runID)
        } catch let inUse as RunFolderInUse {
            // With --json, as an event too: a program reading them learns why nothing ran.
            if json { try JSONEventPrinter.printDiagnostics(Diagnostics([.error("\(inUse)", at: nil)])) }
            StandardError.write("aiv: \(inUse)\n")
            throw ExitCode(1)
        }
        defer { claim.release() }
        if !claim.removedLeftovers.isEmpty {
            let count = claim.removedLeftovers.count
            StandardError.write("aiv: removed \(count) temporary file\(count == 1 ? "" : "s") left in \(folder.path) by a run that did not finish\n")
        }
        let display: any RunObserver & ProgressDisplay
        if json {
            display = JSONEventPrinter(locate: { [plan, loaded] in Self.failureLocation($0, plan: plan, workflow: loaded) })
        } else if TerminalProgress.isAvailable {
            display = TerminalProgress()
        } else {
            display = PlainProgress()
        }
        let observer = RunObservers([RunHistory(store: store), display])
        let fixtureFolder = Paths.resolve(fixtures ?? Self.defaultFixtureFolder(workflowFile: workflow.file), relativeTo: cwd)
        let mode: TransportMode = dryRun ? .replay : record ? .record : .live
        let transport: any HTTPTransport
        if dryRun {
            do {
                let replay = try ReplayTransport(folder: fixtureFolder, secrets: secrets)
                if replay.isEmpty, plan.steps.contains(where: { $0.service != nil }) {
                    throw Diagnostic.error("--dry-run: no fixtures in \(fixtureFolder); record them with `\(Self.recordCommand(workflow.file, fixtures: fixtures))`", at: nil)
                }
                transport = replay
            } catch let diagnostic as Diagnostic {
                // With --json, as an event: a program reading them learns why nothing ran.
                if json {
                    try JSONEventPrinter.printDiagnostics(Diagnostics([diagnostic]))
                } else {
                    DiagnosticOutput.print(Diagnostics([diagnostic]), sources: [])
                }
                throw ExitCode.invalid
            }
        } else {
            transport = HTTPClientTransport()
        }
        let recorder = record ? FixtureRecorder(folder: fixtureFolder, workflow: (workflow.file as NSString).lastPathComponent) : nil
        let services = ServiceHub(
            mode: mode, transport: transport, services: BuiltinServices.http, settings: plan.services,
            environment: loadedEnvironment.variables, secrets: secrets, ledger: SQLiteQuotaLedger(store: store), recorder: recorder,
            // A dry run must leave no trace: page ids from fixtures stay in memory.
            records: dryRun ? MemoryRecordIndex() : SQLiteRecordIndex(store: store),
            stock: dryRun ? MemoryStockStore() : SQLiteStockStore(store: store),
            // A dry run waits for nothing: a recorded 503's backoff or 429's delay takes no time.
            clock: dryRun ? .virtual : .continuous,
            report: { observer.handle(.serviceCall($0)) }, warn: { observer.handle(.warning($0)) },
            keyLockFolder: dryRun ? nil : state.absoluteState + "/locks")
        let environment = RunEnvironment(
            steps: BuiltinSteps.byName, registry: .builtin, cache: SQLiteCacheStore(store: store), blobs: state.blobs,
            readsCache: !noCache, observer: observer, environment: loadedEnvironment.variables, secrets: secrets,
            maxParallel: maxParallel, services: services)
        let running = Task { await Runner(environment).run(plan, runID: runID, folder: folder, workflowDirectory: loaded.baseDirectory) }
        let interruption = Interruption { signalName in
            running.cancel()
            // Through the display, which owns the terminal's last lines (written below them, the
            // notice broke the next redraw), and as an event with --json.
            observer.handle(.warning("\(signalName): stopping the steps under way (again to quit at once)"))
        }
        defer { interruption.end() }
        let report = await running.value
        interruption.runEnded()
        display.finish(report)
        // An attempt given up on (a timeout, a stop) may still be writing its temporary file: a
        // moment for it to see that and remove the file; one that takes longer leaves the folder
        // marked unfinished, so the next run into it removes what is left.
        if !(await environment.abandonedWork.settle(within: 5)) { claim.keepMarkedUnfinished() }
        if let recorder {
            // A recording is a whole run's answers: a run that failed would replace a complete
            // set with part of one (and its failure), so it goes into the run folder instead.
            // A step that failed under continue_on_error recorded its failure: not a whole set either.
            let succeeded = report.status == .succeeded && !report.steps.contains { $0.status == .failed }
            let destination = succeeded ? fixtureFolder : folder.path + "/" + RunFolder.metadataFolder + "/fixtures"
            do {
                let written = try recorder.flush(into: destination, renaming: { try interruption.finishingWrites($0) })
                let count = "\(recorder.recordedCount) exchange\(recorder.recordedCount == 1 ? "" : "s") in \(written.count) fixture file\(written.count == 1 ? "" : "s")"
                if succeeded, !json {
                    print("Recorded \(count) under \(fixtureFolder)")
                } else if !succeeded, !written.isEmpty {
                    StandardError.write("aiv: the run did not succeed, so \(fixtureFolder) is left as it was; its recording (\(count)) is in \(destination)\n")
                }
            } catch {
                StandardError.write("aiv: could not write fixtures to \(destination): \(error)\n")
            }
        }
        // Failures once more, as compiler-style lines pointing at the step in the workflow.
        let failures = report.steps.filter { $0.status == .failed }.compactMap { failed -> String? in
            guard let error = failed.error else { return nil }
            let step = plan.step(failed.step)
            let location = Self.failureLocation(failed, plan: plan, workflow: loaded).map { "\($0): " } ?? ""
            // A failure the workflow allows (the run went on, and may have succeeded) is no error of the run's.
            if step?.continueOnError == true { return "\(location)warning: \(error) (continue_on_error: the run went on without it)\n" }
            return "\(location)error: \(error)\n"
        }
        if !failures.isEmpty, !json { StandardError.write(failures.joined()) }
        if report.status == .interrupted { throw ExitCode(130) }
        if report.status == .failed { throw ExitCode(1) }
    }
}

/// Ctrl-C (SIGINT) or SIGTERM during a run: the first stops it as a failure would (steps under
/// way cancelled, nothing more started), so the summary, the history, the run folder and a
/// recording's fixtures are all written; a second quits at once, as the signal would by default.
///
/// A stop signal within half a second of the first is the same request, not a second one: GNU
/// `timeout` and a kill of the process group each deliver it, so a stop sent that way arrives
/// twice at once. A quit that comes while fixtures are being renamed into place waits for the
/// renames (a few system calls), so a recording is never left half old and half new.
///
/// A signal aiv was started with ignored (a background job of a shell without job control, so
/// that a Ctrl-C meant for the foreground spares it) stays ignored, during the run and after.
final class Interruption: @unchecked Sendable {
    /// How close together two signals are taken as one request.
    static let sameRequest: UInt64 = 500_000_000
    private let lock = NSLock()
    private var sources: [DispatchSourceSignal] = []
    private var firstTime: (@Sendable (String) -> Void)?
    /// When the first signal came (monotonic nanoseconds), nil before.
    private var firstAt: UInt64?
    /// Writes that a quit waits for, and the signal that asked to quit during one.
    private var writing = 0
    private var quitAfterWriting: Int32?
    /// What each signal did before, put back by `end()`.
    private var before: [(Int32, sigaction)] = []
    private let quit: @Sendable (Int32) -> Void

    /// `listen`: take SIGINT and SIGTERM (false in tests, which call `received` themselves);
    /// `quit`: what a second signal does (end the process as the signal would).
    init(listen: Bool = true, quit: @escaping @Sendable (Int32) -> Void = Interruption.quitAsTheSignalWould,
         _ firstTime: @escaping @Sendable (String) -> Void) {
        self.firstTime = firstTime
        self.quit = quit
        for (number, name) in [(SIGINT, "interrupted"), (SIGTERM, "terminated")] where listen {
            var inherited = sigaction()
            sigaction(number, nil, &inherited)
            #if canImport(Glibc)
            let handler = inherited.__sigaction_handler.sa_handler
            #else
            let handler = inherited.__sigaction_u.__sa_handler
            #endif
            // Handlers are C function pointers, compared by address (SIG_IGN is 1).
            if unsafeBitCast(handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { continue }
            before.append((number, inherited))
            // Dispatch sees the signal only once its default action (ending the process) is off.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in received(number, name) }
            source.resume()
            sources.append(source)
        }
    }

    func received(_ number: Int32, _ name: String) {
        enum Action { case stop((@Sendable (String) -> Void)?), ignore, quit }
        let action: Action = lock.withLock {
            // Read under the lock: SIGINT and SIGTERM have handlers of their own, and a time read
            // before it could come before the `firstAt` the other one set.
            let now = DispatchTime.now().uptimeNanoseconds
            guard let firstAt else {
                firstAt = now
                return .stop(firstTime)
            }
            if now < firstAt + Self.sameRequest { return .ignore }
            if writing > 0 {
                quitAfterWriting = number
                return .ignore
            }
            return .quit
        }
        switch action {
        case .stop(let notify): notify?(name)
        case .ignore: break
        case .quit: quit(number)
        }
    }

    /// The second signal: the process ends as the signal would have ended it.
    @Sendable static func quitAsTheSignalWould(_ number: Int32) {
        signal(number, SIG_DFL)
        kill(getpid(), number)
    }

    /// Once the run has ended there is nothing to stop: a signal now quits, as it would have
    /// without aiv's handler (held while files are renamed into place).
    func runEnded() {
        lock.withLock {
            firstTime = nil
            if firstAt == nil { firstAt = 0 }
        }
    }

    /// Runs `body` (a few renames) with a quit held until it returns.
    func finishingWrites<T>(_ body: () throws -> T) rethrows -> T {
        lock.withLock { writing += 1 }
        defer {
            let pending = lock.withLock { () -> Int32? in
                writing -= 1
                return writing == 0 ? quitAfterWriting : nil
            }
            if let pending { quit(pending) }
        }
        return try body()
    }

    /// Back to what the signals did before the run (ending the process, as a rule).
    func end() {
        for source in sources { source.cancel() }
        for (number, action) in before {
            var restored = action
            sigaction(number, &restored, nil)
        }
    }
}

/// Run ids sort by time and are short enough to type: 20261125-174501-3fa2c1 (UTC, then six
/// random hex digits so runs started in the same second differ).
enum RunIdentifier {
    /// `20261126-043512-3fa9c1`: the UTC time, then six random hex digits. Formatted with
    /// strftime: a DateFormatter loads ICU's calendar data, most of a millisecond of start-up.
    static func make(now: Date = Date()) -> String {
        var seconds = time_t(now.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y%m%d-%H%M%S", &parts)
        let stamp = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return stamp + "-" + UUID().uuidString.prefix(6).lowercased()
    }
}
