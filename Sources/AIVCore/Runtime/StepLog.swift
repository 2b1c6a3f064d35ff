import Foundation
import Logging

/// The log of one step: lines from the runtime (attempts, cache decisions) and from the step's
/// own logger, kept in memory and written to `_aiv/steps/<id>/log.txt` when the step ends.
public final class StepLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
    }

    public func append(_ line: String) {
        let stamp = ISO8601DateFormatter.string(from: now(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        lock.withLock { lines.append("\(stamp) \(line)") }
    }

    public var text: String { lock.withLock { lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n") } }

    /// A swift-log logger whose messages go to this log.
    public func logger(label: String) -> Logger {
        Logger(label: label) { _ in StepLogHandler(log: self) }
    }
}

/// Sends swift-log messages into a `StepLog`.
struct StepLogHandler: LogHandler {
    let log: StepLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log.append("\(event.level): \(event.message)")
    }
}
