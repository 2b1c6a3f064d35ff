import AIVCore
import Foundation
import Testing
@testable import aiv

/// Plain progress in a log: a run that goes quiet while steps work says what is running.
@Suite struct PlainProgressTests {
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var bytes: [UInt8] = []
        func append(_ more: [UInt8]) { lock.withLock { bytes += more } }
        var lines: [String] { lock.withLock { String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init) } }
    }

    @Test func aQuietLogSaysWhichStepsAreStillRunningAndStopsAtTheEnd() async throws {
        let collected = Collected()
        let progress = PlainProgress(quietInterval: 0.2, output: BatchedOutput(write: { collected.append($0) }))
        progress.handle(.runStarted(runID: "r", workflow: "w", file: "w.yaml", folder: "out", steps: [("analyse", "gemini.generate")],
                                    inputs: [:], startedAt: Date()))
        progress.handle(.stepStarted(step: "analyse", invocations: 3, forEach: true))
        progress.handle(.invocationFinished(step: "analyse", index: 0, cached: false, done: 1, of: 3))
        let started = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(700))
        let quiet = collected.lines.filter { $0.hasPrefix("still running: ") }
        let waited = (ContinuousClock.now - started) / .milliseconds(1) / 1000
        #expect(!quiet.isEmpty, "\(collected.lines)")
        #expect(quiet.allSatisfy { $0.contains("analyse ") && $0.hasSuffix("(1/3 items)") }, "\(quiet)")
        // A line only after a quiet 0.2 s: at most one per 0.2 s waited, not one per tick (0.05 s).
        #expect(Double(quiet.count) <= waited / 0.2 + 1, "\(quiet.count) lines in \(waited) s")
        let report = StepReport(step: "analyse", kind: "gemini.generate", status: .succeeded, startedAt: Date(), duration: 0.7, invocations: 3,
                                cachedInvocations: 0, attempts: 1, reason: "", error: nil, log: "")
        progress.handle(.stepFinished(report))
        progress.finish(RunReport(runID: "r", workflow: "w", file: "w.yaml", folder: "out", startedAt: Date(), duration: 0.7, status: .succeeded, steps: [report]))
        // Every event line has its step name in the same column.
        let events = collected.lines.filter { $0.hasPrefix("start") || $0.hasPrefix("succeeded") }
        #expect(events.count == 2 && events.allSatisfy { $0.dropFirst(10).hasPrefix("analyse") }, "\(events)")
        let atEnd = collected.lines.count
        try await Task.sleep(for: .milliseconds(500))
        #expect(collected.lines.count == atEnd, "nothing after the summary: \(collected.lines.suffix(3))")
    }

    /// A `for_each` over one item is still a fan-out: it shows its item from the start, as one of
    /// many items would, not as a single step until it finishes.
    @Test func aForEachOverOneItemShowsItsItemFromTheStart() async throws {
        let collected = Collected()
        let progress = PlainProgress(quietInterval: 0.1, output: BatchedOutput(write: { collected.append($0) }))
        progress.handle(.runStarted(runID: "r", workflow: "w", file: "w.yaml", folder: "out", steps: [("clips", "clip.cut"), ("sheet", "template.render")],
                                    inputs: [:], startedAt: Date()))
        progress.handle(.stepStarted(step: "clips", invocations: 1, forEach: true))
        progress.handle(.stepStarted(step: "sheet", invocations: 1))
        try await Task.sleep(for: .milliseconds(400))
        let lines = collected.lines
        #expect(lines.contains { $0.hasPrefix("start") && $0.hasSuffix("clips (1 item)") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("start") && $0.hasSuffix("sheet") }, "\(lines)")
        let quiet = lines.filter { $0.hasPrefix("still running: ") }
        #expect(!quiet.isEmpty && quiet.allSatisfy { $0.contains(" (0/1 items), sheet ") && !$0.hasSuffix("items)") }, "\(quiet)")
        progress.finish(RunReport(runID: "r", workflow: "w", file: "w.yaml", folder: "out", startedAt: Date(), duration: 0.4, status: .succeeded, steps: []))
    }
}
