import Foundation

/// The time a limiter reads and waits on: monotonic seconds, and a sleep. Injected so tests and
/// the run share one notion of time.
public struct LimiterClock: Sendable {
    public var now: @Sendable () -> Double
    public var sleep: @Sendable (Double) async throws -> Void

    public init(now: @escaping @Sendable () -> Double, sleep: @escaping @Sendable (Double) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    public static var continuous: LimiterClock {
        let clock = ContinuousClock()
        let origin = clock.now
        return LimiterClock(
            now: { let elapsed = origin.duration(to: clock.now).components; return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18 },
            sleep: { seconds in if seconds > 0 { try await clock.sleep(for: .nanoseconds(Int64(seconds * 1e9))) } })
    }

    /// A dry run's clock: nothing is sent, so a wait (a recorded 503's backoff, a recorded 429's
    /// delay) takes no time; its time moves on by what was waited, so the accounts still add up.
    public static var virtual: LimiterClock {
        final class Elapsed: @unchecked Sendable {
            let lock = NSLock()
            var seconds = 0.0
        }
        let elapsed = Elapsed()
        return LimiterClock(
            now: { elapsed.lock.withLock { elapsed.seconds } },
            sleep: { seconds in
                try Task.checkCancellation()
                elapsed.lock.withLock { elapsed.seconds += max(0, seconds) }
            })
    }
}

/// A daily quota is used up: the step fails at once rather than wait for hours.
public struct QuotaExhausted: Error, Sendable, CustomStringConvertible {
    public var service: String
    public var limit: Int
    public var resetsAt: Date
    public var timeZone: String = "America/Los_Angeles"
    public var description: String {
        let wait = max(0, resetsAt.timeIntervalSinceNow)
        let zone = timeZone == "America/Los_Angeles" ? "Pacific time" : timeZone
        return "\(service): the daily quota of \(limit) requests is used up; it resets at midnight \(zone) (in \(Durations.format((wait / 60).rounded() * 60))). See `aiv quota`."
    }
}

/// One service's rate limits, shared by every step and every `for_each` item that calls it.
///
/// Requests are spaced evenly (`ServiceLimits.minimumInterval`), tokens per minute are counted
/// over a sliding minute (the request's estimate before it goes, the answer's usage after), and
/// requests per day come from the persistent ledger. When the server still answers 429, the
/// whole service pauses for the delay the server asked, and the limiter learns, for the rest of
/// the run: it lowers its rate to what the server accepted over the minute before the rejection,
/// but never by more than half at a time, so a 429 that was not about the rate (a burst, another
/// client) does not slow a run to a crawl.
public actor ServiceLimiter {
    public let service: String
    public let limits: ServiceLimits
    private let ledger: (any QuotaLedger)?
    /// The name the day's counts are kept under: the service's, or with the server's address
    /// when that is not the service's own (a stand-in's requests are not the real service's day).
    private let ledgerName: String
    private let clock: LimiterClock
    private let wallClock: @Sendable () -> Date
    private let warn: @Sendable (String) -> Void

    private var nextStart: Double = 0
    private var pausedUntil: Double = 0
    private var learnedInterval: Double?
    private var tokenLog: [(id: Int, at: Double, tokens: Int)] = []
    /// Starts of the last minute, and whether the server rejected each (for learning).
    private var starts: [(id: Int, at: Double, rejected: Bool)] = []
    private var nextID = 0
    private var warnedDay: String?

    public init(service: String, limits: ServiceLimits, ledger: (any QuotaLedger)?, server: String = "", clock: LimiterClock = .continuous,
                wallClock: @escaping @Sendable () -> Date = Date.init, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.service = service
        self.ledgerName = QuotaDay.ledgerName(service: service, server: server)
        self.limits = limits
        self.ledger = ledger
        self.clock = clock
        self.wallClock = wallClock
        self.warn = warn
    }

    /// A granted request: settle it with what the answer says.
    public struct Permit: Sendable {
        public var id: Int
        public var start: Double
        public var estimatedTokens: Int
    }

    /// The interval between starts now in force (declared, or learned from a 429).
    public var interval: Double { max(limits.minimumInterval, learnedInterval ?? 0) }

    /// Waits until a request may go, and counts it against the day.
    public func acquire(estimatedTokens: Int = 0) async throws -> Permit {
        while true {
            try Task.checkCancellation()
            let now = clock.now()
            var wait = max(pausedUntil - now, nextStart - now)
            if let perMinute = limits.tokensPerMinute, estimatedTokens > 0 {
                tokenLog.removeAll { $0.at <= now - 60 }
                var used = tokenLog.reduce(0) { $0 + $1.tokens }
                // Wait for the oldest entries to leave the minute until this request fits (a request
                // larger than the whole limit goes alone).
                var index = 0
                while Double(used + estimatedTokens) > perMinute, index < tokenLog.count {
                    wait = max(wait, tokenLog[index].at + 60 - now)
                    used -= tokenLog[index].tokens
                    index += 1
                }
            }
            if wait <= 0 { break }
            // What was slept, not what was planned: a sleep a timeout cuts short counts as far as it went.
            let before = clock.now()
            defer { RateLimitWaits.current?.add(clock.now() - before, service: service) }
            try await clock.sleep(wait)
        }
        let now = clock.now()
        try countAgainstDay()
        nextStart = now + interval
        nextID += 1
        starts.removeAll { $0.at <= now - 60 }
        starts.append((nextID, now, false))
        if estimatedTokens > 0 { tokenLog.append((nextID, now, estimatedTokens)) }
        return Permit(id: nextID, start: now, estimatedTokens: estimatedTokens)
    }

    private func countAgainstDay() throws {
        guard let ledger else { return }
        let date = wallClock()
        let day = QuotaDay.day(of: date, timeZone: limits.dayTimeZone)
        // Without a daily limit (Notion) the request is still counted, for `aiv quota`.
        guard let limit = limits.requestsPerDay else {
            _ = try? ledger.add(service: ledgerName, day: day, requests: 1, tokens: 0)
            return
        }
        guard let now = try ledger.take(service: ledgerName, day: day, limit: limit) else {
            throw QuotaExhausted(service: service, limit: limit, resetsAt: QuotaDay.nextReset(after: date, timeZone: limits.dayTimeZone),
                                 timeZone: limits.dayTimeZone)
        }
        if Double(now.requests) >= 0.8 * Double(limit), warnedDay != day {
            warnedDay = day
            warn("\(service): \(now.requests) of the \(limit) requests allowed today are used (\(Int((Double(now.requests) / Double(limit) * 100).rounded()))%); see `aiv quota`")
        }
    }

    /// The answer came: replace the token estimate by the input tokens it used (what a
    /// tokens-per-minute limit counts), and add its total to the day's count.
    public func settle(_ permit: Permit, usage: TokenUsage?) {
        guard let usage else { return }
        let tokens = usage.input
        if let index = tokenLog.firstIndex(where: { $0.id == permit.id }) {
            tokenLog[index].tokens = tokens
        } else if limits.tokensPerMinute != nil, tokens > 0 {
            tokenLog.append((permit.id, permit.start, tokens))
        }
        if let ledger, usage.total > 0 {
            _ = try? ledger.add(service: ledgerName, day: QuotaDay.day(of: wallClock(), timeZone: limits.dayTimeZone), requests: 0, tokens: usage.total)
        }
    }

    /// The server answered 429: pause the whole service for `delay` seconds and learn its rate
    /// from the requests it accepted in the minute before this one.
    public func rejected(_ permit: Permit, delay: Double) {
        let now = clock.now()
        pausedUntil = max(pausedUntil, now + delay)
        nextStart = max(nextStart, pausedUntil)
        if let index = starts.firstIndex(where: { $0.id == permit.id }) { starts[index].rejected = true }
        let accepted = Double(starts.filter { !$0.rejected && $0.at < permit.start && $0.at > permit.start - 60 }.count)
        let current = interval > 0 ? 60 / interval : 2 * accepted
        let learned = max(accepted, current / 2)
        if learned > 0, 60 / learned > interval { learnedInterval = 60 / learned }
        tokenLog.removeAll { $0.id == permit.id }
    }

    /// Requests per minute currently allowed (nil when unlimited): for messages and tests.
    public var effectiveRequestsPerMinute: Double? {
        interval > 0 ? 60 / interval : nil
    }
}

/// What an invocation spent waiting for services' rate limits, so a timeout can say that it
/// went on waiting its turn rather than on the service (a step's `timeout:` counts that time).
public final class RateLimitWaits: @unchecked Sendable {
    @TaskLocal public static var current: RateLimitWaits?

    private let lock = NSLock()
    private var seconds: [String: Double] = [:]

    public init() {}

    func add(_ wait: Double, service: String) {
        lock.withLock { seconds[service, default: 0] += wait }
    }

    /// "12s of it waiting for gemini's rate limit", or nil when the waits were short.
    public var summary: String? {
        let waits = lock.withLock { seconds }.filter { $0.value >= 0.5 }.sorted { $0.key < $1.key }
        guard !waits.isEmpty else { return nil }
        return waits.map { "\(Durations.format($0.value)) of it waiting for \($0.key)'s rate limit" }.joined(separator: ", ")
    }
}
