import AIVCore
import Foundation

/// How a run shows itself: live on a terminal, as plain lines in a log, or as JSON events.
protocol ProgressDisplay: Sendable {
    /// Called once the run is over: prints the summary.
    func finish(_ report: RunReport)
}

/// The summary table printed at the end of a run (and by `aiv runs show`).
enum SummaryTable {
    /// `width`, a terminal's, fits the table to it.
    static func render(_ steps: [StepReport], width: Int? = nil) -> String {
        Table.render(header: ["step", "status", "time", "cached", "why"], rows: steps.map { step in
            [step.step, step.status.rawValue, step.startedAt == nil && step.duration == 0 ? "-" : format(step.duration),
             cachedColumn(step), step.error ?? step.reason]
        // Step ids whole: they are what `aiv runs log` is given.
        }, width: width, keptWhole: [0])
    }

    static func cachedColumn(_ step: StepReport) -> String {
        if step.invocations == 0 { return "-" }
        if step.invocations == 1 { return step.cachedInvocations == 1 ? "yes" : "no" }
        return "\(step.cachedInvocations)/\(step.invocations)"
    }

    /// `12ms`, `3.4s`, then minutes and hours. Without `String(format:)`: its C varargs cost a
    /// runtime type check per call, and the summary formats every step's time.
    static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 60 {
            let tenths = Int((seconds * 10).rounded())
            return "\(tenths / 10).\(tenths % 10)s"
        }
        return Durations.format(seconds)
    }

    static func headline(_ report: RunReport) -> String {
        let counts = [("ran", report.count(.succeeded)), ("cached", report.count(.cached)), ("failed", report.count(.failed)),
                      ("skipped", report.count(.skipped)), ("cancelled", report.count(.cancelled))]
            .filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        var text = "Run \(report.runID) \(report.status.rawValue) in \(format(report.duration)): \(counts)\nRun folder: \(report.folder)"
        if let removed = report.removedFiles, !removed.isEmpty {
            let shown = removed.prefix(5).joined(separator: ", ") + (removed.count > 5 ? " and \(removed.count - 5) more" : "")
            text += "\nRemoved \(removed.count) file\(removed.count == 1 ? "" : "s") an earlier run left in this folder and this run did not make: \(shown)"
        }
        return text
    }
}

/// Plain lines, for logs and pipes. A log that has said nothing for `quietInterval` while steps
/// run (a model reading an hour of transcript, a server that stopped answering) gets a line
/// naming them and how long they have been at it, so a CI log never looks hung.
final class PlainProgress: RunObserver, ProgressDisplay, @unchecked Sendable {
    private let output: BatchedOutput
    private let quietInterval: Double
    private let lock = NSLock()
    private var running: [(step: String, started: Date, done: Int, of: Int, forEach: Bool)] = []
    private var lastLine = Date()
    private var timer: DispatchSourceTimer?

    init(quietInterval: Double = 60, output: BatchedOutput = BatchedOutput()) {
        self.quietInterval = quietInterval
        self.output = output
    }

    func handle(_ event: RunEvent) {
        var line: String?
        switch event {
        case .runStarted(let id, let workflow, _, let folder, let steps, _, _):
            line = "run \(id): workflow '\(workflow)', \(steps.count) step\(steps.count == 1 ? "" : "s"), folder \(folder)"
            startTimer()
        case .stepStarted(let step, let invocations, let forEach):
            line = Self.column("start") + "\(step)\(forEach ? " (\(invocations) item\(invocations == 1 ? "" : "s"))" : "")"
            lock.withLock { running.append((step, Date(), 0, invocations, forEach)) }
        case .invocationFinished(let step, _, _, let done, let of):
            lock.withLock {
                if let index = running.firstIndex(where: { $0.step == step }) { running[index].done = done; running[index].of = of }
            }
        case .retrying(let step, let index, let attempt, let delay, let error):
            line = Self.column("retry") + "\(step)\(index.map { " item \($0)" } ?? ""): attempt \(attempt) failed (\(error)); next in \(SummaryTable.format(delay))"
        case .warning(let message):
            line = "warning: \(message)"
        case .stepFinished(let report):
            line = Self.column(report.status.rawValue) + "\(report.step) \(SummaryTable.format(report.duration))"
                + ((report.error ?? report.reason).isEmpty ? "" : ": \(report.error ?? report.reason)")
            lock.withLock { running.removeAll { $0.step == report.step } }
        default:
            break
        }
        if let line { emit(line) }
    }

    /// The word a line starts with, padded so the step names line up (`succeeded` and `cancelled` are the longest).
    static func column(_ word: String) -> String {
        word + String(repeating: " ", count: max(1, 10 - word.count))
    }

    private func emit(_ line: String) {
        lock.withLock { lastLine = Date() }
        output.append(line)
    }

    private func startTimer() {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let tick = max(0.05, quietInterval / 4)
        timer.schedule(deadline: .now() + tick, repeating: tick)
        timer.setEventHandler { [weak self] in self?.sayWhatIsRunningIfQuiet() }
        lock.withLock { self.timer = timer }
        timer.resume()
    }

    /// `still running: analyse 2m10s (3/10 items), publish 1m0s` after a quiet `quietInterval`.
    private func sayWhatIsRunningIfQuiet() {
        let now = Date()
        let line: String? = lock.withLock {
            guard !running.isEmpty, now.timeIntervalSince(lastLine) >= quietInterval else { return nil }
            return "still running: " + running.map { step in
                "\(step.step) \(SummaryTable.format(now.timeIntervalSince(step.started)))" + (step.forEach ? " (\(step.done)/\(step.of) items)" : "")
            }.joined(separator: ", ")
        }
        if let line { emit(line) }
    }

    func finish(_ report: RunReport) {
        lock.withLock {
            timer?.cancel()
            timer = nil
        }
        // Plain lines go to a terminal too, under TERM=dumb: the table is fitted to it there.
        output.append("\n" + SummaryTable.render(report.steps, width: Terminal.tableWidth) + "\n" + SummaryTable.headline(report))
        output.flush()
    }
}

/// Lines for standard output, written in batches at most `delay` apart rather than one write per
/// line: a cached step raises its events within microseconds, and a write (and flush) per line
/// showed in the profile of an up-to-date run. A reader still sees every line within `delay`,
/// and all of them once `flush()` is called at the end of the run.
final class BatchedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    private var flushScheduled = false
    private let delay: DispatchTimeInterval = .milliseconds(20)
    private let write: @Sendable ([UInt8]) -> Void

    /// `write`: where the bytes go (standard output unless a test collects them).
    init(write: @escaping @Sendable ([UInt8]) -> Void = BatchedOutput.standardOutput) {
        self.write = write
    }

    @Sendable static func standardOutput(_ bytes: [UInt8]) {
        fflush(nil)  // anything `print` buffered before comes first
        // The throwing write: a reader that went away must not crash the run (the old
        // non-throwing one traps on EPIPE when SIGPIPE is ignored).
        try? FileHandle.standardOutput.write(contentsOf: Data(bytes))
    }

    func append(_ line: String) {
        append { $0.append(contentsOf: line.utf8) }
    }

    /// A line already in UTF-8 (an event's JSON), without a trip through `String`.
    func append(bytes line: [UInt8]) {
        append { $0.append(contentsOf: line) }
    }

    private func append(_ write: (inout [UInt8]) -> Void) {
        let schedule = lock.withLock {
            write(&buffer)
            buffer.append(UInt8(ascii: "\n"))
            defer { flushScheduled = true }
            return !flushScheduled
        }
        if schedule { DispatchQueue.global().asyncAfter(deadline: .now() + delay) { self.flush() } }
    }

    /// Writes what is buffered; the lock is held through the write so lines keep their order.
    func flush() {
        lock.withLock {
            flushScheduled = false
            guard !buffer.isEmpty else { return }
            write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }
}

/// One JSON object per line and event, for machines, written in batches (`BatchedOutput`); each
/// line's members are written in order without building a dictionary (with a write per line,
/// that was about 4% of a cached run's CPU).
final class JSONEventPrinter: RunObserver, ProgressDisplay, @unchecked Sendable {
    /// Each problem found before running as a `diagnostic` event: the fields `aiv validate
    /// --json` prints, and `"event": "diagnostic"`.
    static func printDiagnostics(_ diagnostics: Diagnostics) throws {
        let encoder = JSONEncoder()
        for diagnostic in diagnostics.sorted {
            guard case .object(var members) = try JSONDecoder().decode(JSONValue.self, from: try encoder.encode(diagnostic)) else { continue }
            members["event"] = "diagnostic"
            // Written as the other events are (not through `print`'s buffer), so they stay in order.
            try FileHandle.standardOutput.write(contentsOf: Data((JSONValue.object(members).canonicalJSON + "\n").utf8))
        }
    }

    private let output = BatchedOutput()
    /// Where in the workflow a failed step failed (`RunCommand.failureLocation`).
    private let locate: @Sendable (StepReport) -> SourceLocation?

    init(locate: @escaping @Sendable (StepReport) -> SourceLocation? = { _ in nil }) {
        self.locate = locate
    }

    func handle(_ event: RunEvent) {
        // Members in sorted order, as canonical JSON has them.
        var object = JSONObjectText()
        switch event {
        case .runStarted(let id, let workflow, let file, let folder, let steps, _, _):
            object.add("event", "run_started")
            object.add("file", .string(file))
            object.add("folder", .string(folder))
            object.add("run", .string(id))
            object.add("steps", .array(steps.map { .string($0.id) }))
            object.add("workflow", .string(workflow))
        case .stepStarted(let step, let invocations, let forEach):
            object.add("event", "step_started")
            object.add("for_each", .bool(forEach))
            object.add("invocations", .int(invocations))
            object.add("step", .string(step))
        case .invocationFinished(let step, let index, let cached, let done, let total):
            object.add("cached", .bool(cached))
            object.add("done", .int(done))
            object.add("event", "invocation_finished")
            object.add("index", index.map { .int($0) } ?? .null)
            object.add("of", .int(total))
            object.add("step", .string(step))
        case .retrying(let step, let index, let attempt, let delay, let error):
            object.add("attempt", .int(attempt))
            object.add("delay", .double(delay))
            object.add("error", .string(error))
            object.add("event", "retrying")
            object.add("index", index.map { .int($0) } ?? .null)
            object.add("step", .string(step))
        case .stepFinished(let report):
            object.add("attempts", .int(report.attempts))
            object.add("cached", .int(report.cachedInvocations))
            object.add("duration", .double(report.duration))
            object.add("error", report.error.map { .string($0) } ?? .null)
            object.add("event", "step_finished")
            object.add("invocations", .int(report.invocations))
            // A failure's place in the workflow, as a `diagnostic` event gives it.
            if report.status == .failed, let at = locate(report) {
                object.add("location", ["column": .int(at.column), "file": .string(at.file), "line": .int(at.line)])
            }
            object.add("reason", .string(report.reason))
            object.add("status", .string(report.status.rawValue))
            object.add("step", .string(report.step))
        case .serviceCall(let call):
            object.add("attempt", .int(call.attempt))
            object.add("error", call.error.map { .string($0) } ?? .null)
            object.add("event", "service_call")
            object.add("index", call.item.map { .int($0) } ?? .null)
            object.add("latency", .double(call.latency))
            object.add("method", .string(call.method))
            object.add("service", .string(call.service))
            object.add("status", call.status.map { .int($0) } ?? .null)
            object.add("step", .string(call.step))
            object.add("target", .string(call.target))
            if let tokens = call.tokens {
                object.add("tokens", ["input": .int(tokens.input), "output": .int(tokens.output), "total": .int(tokens.total)])
            }
        case .warning(let message):
            object.add("event", "warning")
            object.add("message", .string(message))
        case .runFinished(let report):
            object.add("duration", .double(report.duration))
            object.add("event", "run_finished")
            object.add("folder", .string(report.folder))
            if let removed = report.removedFiles { object.add("removed", .array(removed.map(JSONValue.string))) }
            object.add("run", .string(report.runID))
            object.add("status", .string(report.status.rawValue))
        }
        output.append(bytes: object.closedBytes())
        if case .runFinished = event { output.flush() }
    }

    func finish(_ report: RunReport) { output.flush() }
}
