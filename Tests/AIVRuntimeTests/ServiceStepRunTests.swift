import AIVCore
import AIVNetwork
import AIVSteps
import AIVTestSupport
import Foundation
import Testing

/// Gemini steps run by the real runner against a local fake: shared limits, usage events, the cache.
@Suite(.serialized) struct ServiceStepRunTests {
    final class Calls: RunObserver, @unchecked Sendable {
        private let lock = NSLock()
        private var calls: [ServiceCall] = []
        func handle(_ event: RunEvent) {
            if case .serviceCall(let call) = event { lock.withLock { calls.append(call) } }
        }
        var all: [ServiceCall] { lock.withLock { calls } }
    }

    static func workflow(rpm: Int) -> String {
        """
        name: shared-limits
        services:
          gemini:
            limits: {requests_per_minute: \(rpm)}
        steps:
          - id: first
            uses: gemini.generate
            for_each: [a, b, c]
            with: {prompt: ask.prompt, values: {word: "${{ item }}"}}
          - id: second
            uses: gemini.generate
            for_each: [d, e, f]
            with: {prompt: ask.prompt, values: {word: "${{ item }}"}}
        """
    }

    func run(_ gemini: FakeGemini, folder: TemporaryFolder, cache: any CacheStore, observer: any RunObserver, rpm: Int, run: Int) async throws -> RunReport {
        let path = folder.write("workflow.yaml", Self.workflow(rpm: rpm))
        folder.write("ask.prompt", "Explain {{word}}.")
        let output = Frontend(registry: .builtin).plan(path: path)
        let plan = try #require(output.plan, "\(output.diagnostics)")
        let secrets = Secrets(["GEMINI_API_KEY": gemini.apiKey])
        let hub = ServiceHub(mode: .live, transport: HTTPClientTransport(), services: BuiltinServices.http,
                             settings: plan.services, environment: ["GEMINI_BASE_URL": gemini.baseURL], secrets: secrets,
                             report: { observer.handle(.serviceCall($0)) })
        let environment = RunEnvironment(steps: BuiltinSteps.byName, registry: .builtin, cache: cache, observer: observer,
                                         secrets: secrets, maxParallel: 6, services: hub)
        return await Runner(environment).run(plan, runID: "run-\(run)", folder: RunFolder(path: folder.path + "/run-\(run)"),
                                             workflowDirectory: folder.path)
    }

    /// A step's `retry:` comes on top of the service client's retries: a service that keeps
    /// failing with 500 is asked (client attempts × step attempts) times, and the step fails
    /// saying so; a 400 fails at the first request, whatever `retry:` says.
    @Test func aStepsRetryTriesAgainAfterTheServiceClientGaveUp() async throws {
        let gemini = try FakeGemini()
        defer { gemini.stop() }
        let folder = TemporaryFolder()
        folder.write("ask.prompt", "Explain {{word}}.")
        func run(_ replies: [FakeGemini.Reply], number: Int) async throws -> RunReport {
            gemini.enqueue(replies)
            let path = folder.write("workflow.yaml", """
                name: retries
                services:
                  gemini: {retry: {attempts: 2, delay: 0.01}}
                steps:
                  - id: ask
                    uses: gemini.generate
                    retry: {attempts: 3, backoff: 10ms}
                    with: {prompt: ask.prompt, values: {word: w\(number)}}
                """)
            let plan = try #require(Frontend(registry: .builtin).plan(path: path).plan)
            return await runLive(plan, against: gemini, in: folder, runID: "r\(number)", maxParallel: 1)
        }
        let failing = try await run(Array(repeating: .serverError(500), count: 6), number: 1)
        #expect(failing.status == .failed)
        #expect(gemini.generateRequests.count == 6)
        let step = try #require(failing.steps.first)
        #expect(step.attempts == 3)
        #expect(step.error?.contains("gemini answered 500") == true && step.error?.hasSuffix("(after 2 attempts) (the step tried 3 times)") == true, "\(step.error ?? "")")

        let recovering = try await run([.serverError(500), .serverError(500), .text("fine")], number: 2)
        #expect(recovering.status == .succeeded)
        #expect(gemini.generateRequests.count == 9)

        gemini.enqueue([.serverError(400)])
        let before = gemini.generateRequests.count
        let refused = try await run([], number: 3)
        #expect(refused.status == .failed)
        #expect(gemini.generateRequests.count == before + 1)
    }

    /// Runs `plan` live against the fake Gemini (its key the only secret) into `folder/runID`.
    func runLive(_ plan: ExecutionPlan, against gemini: FakeGemini, in folder: TemporaryFolder, runID: String, maxParallel: Int) async -> RunReport {
        let secrets = Secrets(["GEMINI_API_KEY": gemini.apiKey])
        let hub = ServiceHub(mode: .live, transport: HTTPClientTransport(), services: BuiltinServices.http, settings: plan.services,
                             environment: ["GEMINI_BASE_URL": gemini.baseURL], secrets: secrets)
        let environment = RunEnvironment(steps: BuiltinSteps.byName, registry: .builtin, cache: MemoryCacheStore(), secrets: secrets,
                                         maxParallel: maxParallel, services: hub)
        return await Runner(environment).run(plan, runID: runID, folder: RunFolder(path: folder.path + "/" + runID), workflowDirectory: folder.path)
    }

    /// Runs `workflow` (whose steps may use `ask.prompt`, "Explain {{word}}.") live against a
    /// fake Gemini that answers every request.
    func runAsking(_ workflow: String, maxParallel: Int) async throws -> RunReport {
        let gemini = try FakeGemini()
        defer { gemini.stop() }
        let folder = TemporaryFolder()
        folder.write("ask.prompt", "Explain {{word}}.")
        let path = folder.write("workflow.yaml", workflow)
        let plan = try #require(Frontend(registry: .builtin).plan(path: path).plan)
        return await runLive(plan, against: gemini, in: folder, runID: "r", maxParallel: maxParallel)
    }

    /// A step's timeout counts the time an item waits for its turn under the service's rate
    /// limit; when that is why it ran out, the message says so.
    @Test func aTimeoutSaysHowLongTheItemWaitedForTheRateLimit() async throws {
        let report = try await runAsking("""
            name: waits
            services:
              gemini: {limits: {requests_per_minute: 60}}
            steps:
              - id: ask
                uses: gemini.generate
                for_each: [a, b, c]
                timeout: 1500ms
                with: {prompt: ask.prompt, values: {word: "${{ item }}"}}
            """, maxParallel: 3)
        // One request a second: the third item waits 2 s for its turn.
        let error = try #require(report.steps.first?.error)
        #expect(error.contains("timed out after 1.5s ("), "\(error)")
        #expect(error.contains("of it waiting for gemini's rate limit)"), "\(error)")
        // What was slept, never more than the whole timeout.
        #expect(!error.contains("(2s of it"), "\(error)")
    }

    /// Steps that call a service take their parallelism slots from a pool of their own: a local
    /// step beside items waiting for their turn under a rate limit runs at once instead of
    /// queueing behind calls that only wait.
    @Test func aStepWaitingForARateLimitLeavesItsSlotToOtherSteps() async throws {
        let report = try await runAsking("""
            name: waits
            services:
              gemini: {limits: {requests_per_minute: 60}}
            steps:
              - {id: first, uses: file.write, with: {path: first.txt, content: x}}
              - id: ask
                uses: gemini.generate
                for_each: [a, b, c]
                with: {prompt: ask.prompt, values: {word: "${{ item }}"}}
              - {id: local, uses: file.write, needs: [first], with: {path: note.txt, content: x}}
            """, maxParallel: 1)
        #expect(report.status == .succeeded)
        let ask = try #require(report.steps.first { $0.step == "ask" })
        let local = try #require(report.steps.first { $0.step == "local" })
        // One request a second: the items take two seconds; the local step does not wait for them.
        #expect(ask.duration >= 1.9)
        #expect(local.duration < 1, "the local step waited \(local.duration) s for a slot")
    }

    /// The service steps' pool still bounds how many items start: under `--max-parallel 1` an
    /// item starts when the one before has its answer, so its `timeout:` counts one turn of the
    /// rate limit, not the wait of every item queued before it.
    @Test func itemsOfARateLimitedStepStartAsSlotsAllowSoTheirTimeoutsCountOneTurn() async throws {
        let report = try await runAsking("""
            name: turns
            services:
              gemini: {limits: {requests_per_minute: 40}}
            steps:
              - id: ask
                uses: gemini.generate
                for_each: [a, b, c, d]
                timeout: 2500ms
                with: {prompt: ask.prompt, values: {word: "${{ item }}"}}
            """, maxParallel: 1)
        // One request every 1.5 s: all four started at once, the last would wait 4.5 s and time out.
        #expect(report.status == .succeeded, "\(report.steps.first?.error ?? "")")
    }

    /// Spans in messages: a fraction under a minute is kept ("timed out after 1.5s", not "2s").
    @Test(arguments: [(0.25, "250ms"), (1.5, "1.5s"), (2, "2s"), (59.125, "59.125s"), (90, "1m30s"), (90.4, "1m30s"), (5400, "1h30m")])
    func spansAreWrittenAsAUserWouldWriteThem(_ seconds: Double, _ text: String) {
        #expect(Durations.format(seconds) == text)
    }

    /// A service retry waits `delay`, doubling, spread by the jitter, never longer than `max_delay`.
    @Test func aServiceRetryNeverWaitsLongerThanMaxDelay() {
        let retry = TransportRetry.standard.overridden(by: ["delay": 1, "max_delay": 10])
        #expect(retry.delay(after: 1, random: 0.5) == 1)
        #expect(retry.delay(after: 3, random: 0.5) == 4)
        #expect(retry.delay(after: 10, random: 0.999) == 10)
        #expect(retry.delay(after: 10, random: 0) < 10)
    }

    @Test func aServiceRetryGivenAsANumberSetsTheTriesAndKeepsTheWaits() {
        let retry = TransportRetry.standard.overridden(by: 3)
        #expect(retry == TransportRetry(attempts: 3, delay: 1, maxDelay: 60, jitter: 0.2))
    }

    @Test func everyItemOfEveryGeminiStepSharesOneLimiter() async throws {
        let gemini = try FakeGemini()
        defer { gemini.stop() }
        let folder = TemporaryFolder()
        let calls = Calls()
        // 600 a minute: one request every 100 ms, however many items are ready at once.
        let report = try await run(gemini, folder: folder, cache: MemoryCacheStore(), observer: calls, rpm: 600, run: 1)
        #expect(report.status == .succeeded, "\(report.steps.map { $0.error ?? "" })")
        let times = gemini.acceptedTimes.sorted()
        #expect(times.count == 6)
        // Six requests at one per 100 ms span at least 500 ms (a limiter per step would send two at
        // a time: 200 ms). Measured where the server received them, so network jitter is allowed for.
        let span = try #require(times.last).timeIntervalSince(try #require(times.first))
        #expect(span >= 0.45, "arrivals: \(times.map { $0.timeIntervalSince(times[0]) })")
        #expect(Set(calls.all.map(\.step)) == ["first", "second"])
        #expect(calls.all.allSatisfy { $0.status == 200 && ($0.tokens?.total ?? 0) > 0 && $0.target.hasSuffix(":generateContent") })
    }

    @Test func aFullyCachedRerunMakesNoRequestAndAnEditedPromptRerunsItsSteps() async throws {
        let gemini = try FakeGemini()
        defer { gemini.stop() }
        let folder = TemporaryFolder()
        let cache = MemoryCacheStore()
        let first = try await run(gemini, folder: folder, cache: cache, observer: Calls(), rpm: 100_000, run: 1)
        #expect(first.status == .succeeded)
        #expect(gemini.generateRequests.count == 6)

        let second = try await run(gemini, folder: folder, cache: cache, observer: Calls(), rpm: 100_000, run: 2)
        #expect(second.statuses == ["first": .cached, "second": .cached])
        #expect(gemini.generateRequests.count == 6)

        // A change to the limits alone changes nothing cached: limits decide when, not what.
        let third = try await run(gemini, folder: folder, cache: cache, observer: Calls(), rpm: 50_000, run: 3)
        #expect(third.statuses == ["first": .cached, "second": .cached])
        #expect(gemini.generateRequests.count == 6)
    }
}
