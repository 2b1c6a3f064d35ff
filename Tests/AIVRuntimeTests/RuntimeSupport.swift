import AIVCore
import AIVStore
import AIVTestSupport
import Foundation


/// Collects every event of a run, for assertions.
final class EventLog: RunObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var events: [RunEvent] = []

    func handle(_ event: RunEvent) { lock.withLock { events.append(event) } }

    /// The steps in the order they finished.
    var finishedSteps: [String] {
        lock.withLock { events.compactMap { if case .stepFinished(let report) = $0 { report.step } else { nil } } }
    }

    var warnings: [String] {
        lock.withLock { events.compactMap { if case .warning(let message) = $0 { message } else { nil } } }
    }

    var retries: [(step: String, attempt: Int, delay: Double)] {
        lock.withLock {
            events.compactMap { if case .retrying(let step, _, let attempt, let delay, _) = $0 { (step, attempt, delay) } else { nil } }
        }
    }
}

/// A cache whose every lookup takes `delay` seconds, and counts them.
final class SlowLookups: CacheStore, @unchecked Sendable {
    private let base: any CacheStore
    private let delay: Double
    private let lock = NSLock()
    private var lookups = 0

    init(_ base: any CacheStore, delay: Double) {
        self.base = base
        self.delay = delay
    }

    var count: Int { lock.withLock { lookups } }

    func entry(forKey key: String) throws -> CacheEntry? {
        lock.withLock { lookups += 1 }
        Thread.sleep(forTimeInterval: delay)
        return try base.entry(forKey: key)
    }

    func latestEntry(workflow: String, step: String, item: Int?) throws -> CacheEntry? {
        try base.latestEntry(workflow: workflow, step: step, item: item)
    }

    func save(_ entry: CacheEntry) async throws { try await base.save(entry) }
}

/// A workflow written to a temporary folder, compiled, and run as many times as a test wants.
struct Harness {
    let directory = TemporaryFolder()
    var cache: any CacheStore = MemoryCacheStore()
    var registry = FakeSteps.registry
    var steps = FakeSteps.byName
    var runs = 0

    init() {}

    /// A harness whose cache is the real SQLite one, in its folder.
    static func withSQLiteCache() throws -> (Harness, SQLiteCacheStore) {
        var harness = Harness()
        let cache = SQLiteCacheStore(store: try Store(path: harness.directory.path + "/aiv.sqlite"))
        harness.cache = cache
        return (harness, cache)
    }

    func plan(_ yaml: String, inputs: [String] = [], file: String = "workflow.yaml") throws -> ExecutionPlan {
        let path = directory.write(file, yaml)
        let output = Frontend(registry: registry, environment: [:], binder: InputBinder(currentDirectory: directory.path))
            .plan(path: path, assignments: inputs.compactMap(InputBinder.Assignment.init(argument:)))
        guard let plan = output.plan else { throw HarnessError(message: output.diagnostics.description) }
        return plan
    }

    /// Runs the workflow (written to `file`) into a new run folder `run-<n>`, or into `folder` when given.
    mutating func run(_ yaml: String, file: String = "workflow.yaml", folder: String? = nil, inputs: [String] = [], maxParallel: Int = 4, readsCache: Bool = true,
                      clock: any Clock<Duration> = ContinuousClock(), observer: any RunObserver = RunObservers([]),
                      random: @escaping @Sendable () -> Double = { 0.5 }, secrets: Secrets = Secrets()) async throws -> RunReport {
        runs += 1
        let plan = try plan(yaml, inputs: inputs, file: file)
        let environment = RunEnvironment(steps: steps, registry: registry, cache: cache, blobs: BlobStore(path: directory.path + "/blobs"),
                                         readsCache: readsCache, observer: observer, clock: clock, random: random, secrets: secrets,
                                         maxParallel: maxParallel)
        return await Runner(environment).run(plan, runID: "run-\(runs)", folder: RunFolder(path: directory.path + "/" + (folder ?? "run-\(runs)")),
                                             workflowDirectory: directory.path)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension RunReport {
    func step(_ id: String) -> StepReport? { steps.first { $0.step == id } }
    var statuses: [String: StepStatus] { Dictionary(uniqueKeysWithValues: steps.map { ($0.step, $0.status) }) }
}

func unique(_ name: String) -> String { "\(name)-\(UUID().uuidString.prefix(8))" }
