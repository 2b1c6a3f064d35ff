import AIVCore
import Foundation

/// How a run shows itself: live on a terminal, as plain lines in a log, or as JSON events.
protocol ProgressDisplay: Sendable {
    /// Called once the run is over: prints the summary.
    func finish(_ report: RunReport)
}

/// The summary table printed at the end of a run (and by `aiv runs show`).
enum SummaryTable {
    static func render(_ steps: [StepReport]) -> String {
        Table.render(header: ["step", "status", "time", "cached", "why"], rows: steps.map { step in
            [step.step, step.status.rawValue, step.startedAt == nil && step.duration == 0 ? "-" : format(step.duration),
             cachedColumn(step), step.error ?? step.reason]
        })
    }

    static func cachedColumn(_ step: StepReport) -> String {
        if step.invocations == 0 { return "-" }
        if step.invocations == 1 { return step.cachedInvocations == 1 ? "yes" : "no" }
        return "\(step.cachedInvocations)/\(step.invocations)"
    }

    static func format(_ seconds: Double) -> String {
        seconds < 1 ? String(format: "%.0fms", seconds * 1000) : seconds < 60 ? String(format: "%.1fs", seconds) : Durations.format(seconds)
    }

    static func headline(_ report: RunReport) -> String {
        let counts = [("ran", report.count(.succeeded)), ("cached", report.count(.cached)), ("failed", report.count(.failed)),
                      ("skipped", report.count(.skipped)), ("cancelled", report.count(.cancelled))]
            .filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        return "Run \(report.runID) \(report.status.rawValue) in \(format(report.duration)): \(counts)\nRun folder: \(report.folder)"
    }
}

/// Plain lines, for logs and pipes.
final class PlainProgress: RunObserver, ProgressDisplay, @unchecked Sendable {
    private let lock = NSLock()

    func handle(_ event: RunEvent) {
        var line: String?
        switch event {
        case .runStarted(let id, let workflow, _, let folder, let steps, _, _):
            line = "run \(id): workflow '\(workflow)', \(steps.count) steps, folder \(folder)"
        case .stepStarted(let step, let invocations):
            line = "start  \(step)\(invocations > 1 ? " (\(invocations) items)" : "")"
        case .retrying(let step, let index, let attempt, let delay, let error):
            line = "retry  \(step)\(index.map { " item \($0)" } ?? ""): attempt \(attempt) failed (\(error)); next in \(String(format: "%.1f", delay))s"
        case .warning(let message):
            line = "warning: \(message)"
        case .stepFinished(let report):
            line = "\(report.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(report.step) \(SummaryTable.format(report.duration))"
                + ((report.error ?? report.reason).isEmpty ? "" : ": \(report.error ?? report.reason)")
        default:
            break
        }
        if let line { lock.withLock { print(line); fflush(nil) } }
    }

    func finish(_ report: RunReport) {
        print("\n" + SummaryTable.render(report.steps) + "\n" + SummaryTable.headline(report))
    }
}

/// One JSON object per line and event, for machines.
final class JSONEventPrinter: RunObserver, ProgressDisplay, @unchecked Sendable {
    private let lock = NSLock()

    func handle(_ event: RunEvent) {
        let object: JSONValue
        switch event {
        case .runStarted(let id, let workflow, let file, let folder, let steps, _, _):
            object = ["event": "run_started", "run": .string(id), "workflow": .string(workflow), "file": .string(file), "folder": .string(folder),
                      "steps": .array(steps.map { .string($0.id) })]
        case .stepStarted(let step, let invocations):
            object = ["event": "step_started", "step": .string(step), "invocations": .int(invocations)]
        case .invocationFinished(let step, let index, let cached, let done, let total):
            object = ["event": "invocation_finished", "step": .string(step), "index": index.map { .int($0) } ?? .null, "cached": .bool(cached),
                      "done": .int(done), "of": .int(total)]
        case .retrying(let step, let index, let attempt, let delay, let error):
            object = ["event": "retrying", "step": .string(step), "index": index.map { .int($0) } ?? .null, "attempt": .int(attempt),
                      "delay": .double(delay), "error": .string(error)]
        case .stepFinished(let report):
            object = ["event": "step_finished", "step": .string(report.step), "status": .string(report.status.rawValue),
                      "duration": .double(report.duration), "invocations": .int(report.invocations), "cached": .int(report.cachedInvocations),
                      "attempts": .int(report.attempts), "reason": .string(report.reason), "error": report.error.map { .string($0) } ?? .null]
        case .serviceCall(let call):
            var fields: JSONValue = ["event": "service_call", "step": .string(call.step), "index": call.item.map { .int($0) } ?? .null,
                                     "service": .string(call.service), "method": .string(call.method), "target": .string(call.target),
                                     "status": call.status.map { .int($0) } ?? .null, "latency": .double(call.latency), "attempt": .int(call.attempt),
                                     "error": call.error.map { .string($0) } ?? .null]
            if let tokens = call.tokens, case .object(var members) = fields {
                members["tokens"] = ["input": .int(tokens.input), "output": .int(tokens.output), "total": .int(tokens.total)]
                fields = .object(members)
            }
            object = fields
        case .warning(let message):
            object = ["event": "warning", "message": .string(message)]
        case .runFinished(let report):
            object = ["event": "run_finished", "run": .string(report.runID), "status": .string(report.status.rawValue),
                      "duration": .double(report.duration), "folder": .string(report.folder)]
        }
        lock.withLock { print(object.canonicalJSON); fflush(nil) }
    }

    func finish(_ report: RunReport) {}
}
