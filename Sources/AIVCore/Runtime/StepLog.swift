import Foundation
import Logging

/// The log of one step: lines from the runtime (attempts, cache decisions) and from the step's
/// own logger, kept in memory; when the step ends it goes to the run folder's `_aiv/log.txt`
/// and to the run history.
public final class StepLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(stamp: String, message: String)] = []
    private let now: @Sendable () -> Date
    private let secrets: Secrets

    public init(now: @escaping @Sendable () -> Date = Date.init, secrets: Secrets = Secrets()) {
        self.now = now
        self.secrets = secrets
    }

    /// Adds a line, with any secret in it redacted.
    public func append(_ line: String) {
        let stamp = Self.timestamp(now())
        let line = secrets.redact(line)
        lock.withLock { lines.append((stamp, line)) }
    }

    /// `2026-11-25T17:45:01.123Z`. Written by hand: Foundation's ISO 8601 formatter builds an ICU
    /// formatter per call, which was the largest single cost of a cached step.
    static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&whole, &parts)
        let millis = min(999, Int((seconds - seconds.rounded(.down)) * 1000))
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// One line per entry: `<time> <message>`.
    public var text: String { lock.withLock { lines.map { "\($0.stamp) \($0.message)\n" }.joined() } }

    /// The lines as the run's log shows them, each naming the step: `<time> <step>: <message>`.
    func text(naming step: String) -> String {
        lock.withLock { lines.map { "\($0.stamp) \(step): \($0.message)\n" }.joined() }
    }

    /// A swift-log logger whose messages go to this log, each line starting with `prefix`
    /// (the item, for a for_each step, so interleaved items can be told apart).
    public func logger(label: String, prefix: String = "") -> Logger {
        Logger(label: label) { _ in StepLogHandler(log: self, prefix: prefix) }
    }
}

/// Sends swift-log messages into a `StepLog`.
struct StepLogHandler: LogHandler {
    let log: StepLog
    let prefix: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log.append("\(prefix)\(event.level): \(event.message)")
    }
}
