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

    /// `2026-11-25T17:45:01.123Z`. Written by hand, into bytes: Foundation's ISO 8601 formatter
    /// builds an ICU formatter per call (once the largest single cost of a cached step), and
    /// padding numbers as strings still cost thousands of instructions per line.
    static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&whole, &parts)
        let millis = min(999, Int((seconds - seconds.rounded(.down)) * 1000))
        var text: [UInt8] = Array("0000-00-00T00:00:00.000Z".utf8)
        func put(_ value: Int, width: Int, endingAt end: Int) {
            var value = value
            for position in stride(from: end, to: end - width, by: -1) {
                text[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(Int(parts.tm_year) + 1900, width: 4, endingAt: 3)
        put(Int(parts.tm_mon) + 1, width: 2, endingAt: 6)
        put(Int(parts.tm_mday), width: 2, endingAt: 9)
        put(Int(parts.tm_hour), width: 2, endingAt: 12)
        put(Int(parts.tm_min), width: 2, endingAt: 15)
        put(Int(parts.tm_sec), width: 2, endingAt: 18)
        put(millis, width: 3, endingAt: 22)
        return String(decoding: text, as: UTF8.self)
    }

    /// One line per entry: `<time> <message>`.
    public var text: String { render(naming: nil) }

    /// The lines as the run's log shows them, each naming the step: `<time> <step>: <message>`.
    func text(naming step: String) -> String { render(naming: step) }

    /// Both forms, written into bytes: every step's log is rendered twice as it ends (for the
    /// history and for the run folder), and string interpolation and `joined()` cost about six
    /// thousand instructions for a cached step's one line.
    private func render(naming step: String?) -> String {
        lock.withLock {
            var out: [UInt8] = []
            out.reserveCapacity(lines.count * 64)
            for line in lines {
                out.append(contentsOf: line.stamp.utf8)
                out.append(UInt8(ascii: " "))
                if let step {
                    out.append(contentsOf: step.utf8)
                    out.append(contentsOf: ": ".utf8)
                }
                out.append(contentsOf: line.message.utf8)
                out.append(UInt8(ascii: "\n"))
            }
            return String(decoding: out, as: UTF8.self)
        }
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
