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
