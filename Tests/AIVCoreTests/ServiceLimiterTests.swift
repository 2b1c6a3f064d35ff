import Foundation
import Testing
@testable import AIVCore

/// Time that passes only when someone sleeps: limiter decisions become exact numbers.
final class VirtualTime: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Double = 0

    var clock: LimiterClock {
        LimiterClock(now: { self.lock.withLock { self.seconds } },
                     sleep: { delay in self.lock.withLock { self.seconds += max(0, delay) } })
    }
    var now: Double { lock.withLock { seconds } }
}

final class Warnings: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}

@Suite struct ServiceLimiterTests {
    @Test func requestsAreSpacedEvenlyByTheMinuteLimit() async throws {
        let time = VirtualTime()
        let limiter = ServiceLimiter(service: "gemini", limits: ServiceLimits(requestsPerMinute: 600), ledger: nil, clock: time.clock)
        var starts: [Double] = []
        for _ in 0..<5 { starts.append(try await limiter.acquire().start) }
        #expect(starts.map { ($0 * 1000).rounded() / 1000 } == [0, 0.1, 0.2, 0.3, 0.4])
    }

    @Test func aPerSecondLimitSpacesRequestsToo() async throws {
        let time = VirtualTime()
        let limiter = ServiceLimiter(service: "notion", limits: ServiceLimits(requestsPerSecond: 3), ledger: nil, clock: time.clock)
        for _ in 0..<4 { _ = try await limiter.acquire() }
        #expect(abs(time.now - 1.0) < 1e-9)
    }

    @Test func a429PausesTheWholeServiceAndTheLimiterLearnsTheServersRate() async throws {
        let time = VirtualTime()
        // Declared 120/min, but the server accepts 100 a minute: the 101st request is rejected.
        let limiter = ServiceLimiter(service: "gemini", limits: ServiceLimits(requestsPerMinute: 120), ledger: nil, clock: time.clock)
        for _ in 0..<100 { _ = try await limiter.acquire() }
        let rejected = try await limiter.acquire()
        await limiter.rejected(rejected, delay: 10)
        #expect(await limiter.effectiveRequestsPerMinute.map { ($0 * 1000).rounded() / 1000 } == 100)
        let next = try await limiter.acquire()
        #expect(next.start >= rejected.start + 10)
        let after = try await limiter.acquire()
        #expect(abs(after.start - next.start - 0.6) < 1e-9)
    }

    @Test func aLone429HalvesTheRateRatherThanDroppingToWhatLittleWasSent() async throws {
        let time = VirtualTime()
        let limiter = ServiceLimiter(service: "gemini", limits: ServiceLimits(requestsPerMinute: 6000), ledger: nil, clock: time.clock)
        _ = try await limiter.acquire()
        let second = try await limiter.acquire()
        await limiter.rejected(second, delay: 0.1)
        #expect(await limiter.effectiveRequestsPerMinute.map { $0.rounded() } == 3000)
        await limiter.rejected(try await limiter.acquire(), delay: 0.1)
        #expect(await limiter.effectiveRequestsPerMinute.map { $0.rounded() } == 1500)
    }

    @Test func tokensPerMinuteHoldARequestUntilTheMinuteHasRoom() async throws {
        let time = VirtualTime()
        let limiter = ServiceLimiter(service: "gemini", limits: ServiceLimits(tokensPerMinute: 1000), ledger: nil, clock: time.clock)
        let first = try await limiter.acquire(estimatedTokens: 600)
        #expect(first.start == 0)
        // The answer says 700 were used: 300 left, so a 400-token request waits for the minute to pass.
        await limiter.settle(first, usage: TokenUsage(input: 700, output: 10, total: 710))
        let second = try await limiter.acquire(estimatedTokens: 400)
        #expect(second.start >= 60)
    }

    @Test func theDailyQuotaIsCountedAcrossRunsWarnsAt80PercentAndFailsWhenUsedUp() async throws {
        let ledger = MemoryQuotaLedger()
        let warnings = Warnings()
        let limits = ServiceLimits(requestsPerDay: 5)
        let firstRun = ServiceLimiter(service: "gemini", limits: limits, ledger: ledger, clock: VirtualTime().clock, warn: warnings.add)
        for _ in 0..<3 { _ = try await firstRun.acquire() }
        #expect(warnings.all.isEmpty)
        let secondRun = ServiceLimiter(service: "gemini", limits: limits, ledger: ledger, clock: VirtualTime().clock, warn: warnings.add)
        _ = try await secondRun.acquire()
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first?.contains("4 of the 5 requests allowed today") == true)
        _ = try await secondRun.acquire()
        #expect(warnings.all.count == 1)
        await #expect(throws: QuotaExhausted.self) { try await secondRun.acquire() }
    }

    @Test func quotaDaysFollowPacificTime() {
        // 07:59 UTC on 25 Nov is 23:59 on 24 Nov in Los Angeles (PST, UTC-8); a minute later it is the 25th there.
        let before = ISO8601DateFormatter().date(from: "2026-11-25T07:59:00Z")!
        let after = ISO8601DateFormatter().date(from: "2026-11-25T08:00:00Z")!
        #expect(QuotaDay.day(of: before, timeZone: "America/Los_Angeles") == "2026-11-24")
        #expect(QuotaDay.day(of: after, timeZone: "America/Los_Angeles") == "2026-11-25")
        #expect(QuotaDay.nextReset(after: before, timeZone: "America/Los_Angeles") == after)
    }

    @Test func serverDelaysComeFromRetryInfoOrRetryAfter() {
        let retryInfo: JSONValue = ["error": ["code": 429, "details": [["@type": "type.googleapis.com/google.rpc.QuotaFailure"],
                                                                       ["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"]]]]
        #expect(ServiceClient.serverDelay(HTTPResponse(status: 429), json: retryInfo) == 37)
        #expect(ServiceClient.serverDelay(HTTPResponse(status: 429, headers: ["Retry-After": "2"]), json: nil) == 2)
        #expect(ServiceClient.serverDelay(HTTPResponse(status: 429), json: nil) == nil)
    }
}
