import Foundation

/// Requests and tokens used per service per day, kept across runs (and processes) so that a
/// daily quota holds however the work is split into runs. The SQLite store implements it.
public protocol QuotaLedger: Sendable {
    func usage(service: String, day: String) throws -> QuotaUsage
    /// Counts one request if the day has fewer than `limit`, in one step (two processes cannot
    /// both take the last one); returns the new totals, or nil when the quota is used up.
    func take(service: String, day: String, limit: Int) throws -> QuotaUsage?
    /// Adds to the day's counts and returns the new totals.
    @discardableResult
    func add(service: String, day: String, requests: Int, tokens: Int) throws -> QuotaUsage
    /// The names with counts on `day` (a service's, and `service server` for other servers).
    func names(day: String) throws -> [String]
}

public struct QuotaUsage: Sendable, Equatable {
    public var requests: Int
    public var tokens: Int
    public init(requests: Int = 0, tokens: Int = 0) {
        self.requests = requests
        self.tokens = tokens
    }
}

/// A ledger in memory, for tests and for runs without a store.
public final class MemoryQuotaLedger: QuotaLedger, @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: QuotaUsage] = [:]

    public init() {}

    public func usage(service: String, day: String) -> QuotaUsage {
        lock.withLock { counts["\(service) \(day)"] ?? QuotaUsage() }
    }

    public func take(service: String, day: String, limit: Int) -> QuotaUsage? {
        lock.withLock {
            var usage = counts["\(service) \(day)"] ?? QuotaUsage()
            guard usage.requests < limit else { return nil }
            usage.requests += 1
            counts["\(service) \(day)"] = usage
            return usage
        }
    }

    public func names(day: String) -> [String] {
        lock.withLock { counts.keys.filter { $0.hasSuffix(" \(day)") }.map { String($0.dropLast(day.count + 1)) }.sorted() }
    }

    public func add(service: String, day: String, requests: Int, tokens: Int) -> QuotaUsage {
        lock.withLock {
            var usage = counts["\(service) \(day)"] ?? QuotaUsage()
            usage.requests += requests
            usage.tokens += tokens
            counts["\(service) \(day)"] = usage
            return usage
        }
    }
}

/// Quota days: a date in the service's time zone (Gemini's quotas reset at midnight Pacific time).
public enum QuotaDay {
    static func calendar(_ timeZone: String) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(secondsFromGMT: -8 * 3600)!
        return calendar
    }

    /// What a day's counts are kept under: the service's name for the service's own server,
    /// `gemini http://127.0.0.1:8080` for another (a stand-in, a proxy).
    public static func ledgerName(service: String, server: String) -> String {
        server.isEmpty ? service : "\(service) \(server)"
    }

    /// `yyyy-MM-dd` of the day `date` falls in, in `timeZone`.
    public static func day(of date: Date, timeZone: String) -> String {
        let parts = calendar(timeZone).dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// When the day `date` falls in ends.
    public static func nextReset(after date: Date, timeZone: String) -> Date {
        let calendar = calendar(timeZone)
        let start = calendar.startOfDay(for: date)
        return calendar.date(byAdding: .day, value: 1, to: start) ?? date.addingTimeInterval(86400)
    }
}
