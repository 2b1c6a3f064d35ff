import AIVCore
import AIVText
import Foundation

/// Live progress on a terminal: a line per running step with its elapsed time and items, the
/// counts done/cached/failed/left and an overall bar, redrawn in place; finished steps scroll above.
final class TerminalProgress: RunObserver, ProgressDisplay, @unchecked Sendable {
    static var isAvailable: Bool { Terminal.isInteractive }

    private let lock = NSLock()
    private var total = 0
    private var finished: [StepStatus: Int] = [:]
    private var running: [(step: String, started: Date, done: Int, of: Int, forEach: Bool)] = []
    private var drawnLines = 0
    private var timer: DispatchSourceTimer?
    private var lastDrawn = Date.distantPast
    /// Events closer together than this do not each redraw the block (a for_each of 10,000 quick
    /// items wrote 20,000 lines of escapes in 5 s): the timer draws what they changed.
    static let redrawInterval = 0.05

    func handle(_ event: RunEvent) {
        lock.withLock {
            switch event {
            case .runStarted(let id, let workflow, _, let folder, let steps, _, _):
                total = steps.count
                emit("run \(id): workflow '\(workflow)', \(steps.count) step\(steps.count == 1 ? "" : "s") → \(folder)")
                startTimer()
            case .stepStarted(let step, let invocations, let forEach):
                running.append((step, Date(), 0, invocations, forEach))
            case .invocationFinished(let step, _, _, let done, let of):
                if let index = running.firstIndex(where: { $0.step == step }) { running[index].done = done; running[index].of = of }
                // Counted now, drawn by the timer.
                return
            case .retrying(let step, let index, let attempt, let delay, let error):
                emit("↻ \(step)\(index.map { " item \($0)" } ?? ""): attempt \(attempt) failed (\(error)); retrying in \(String(format: "%.1f", delay))s")
            case .stepFinished(let report):
                running.removeAll { $0.step == report.step }
                finished[report.status, default: 0] += 1
                let mark = ["succeeded": "✓", "cached": "≡", "skipped": "-", "failed": "✗", "cancelled": "■"][report.status.rawValue] ?? "?"
                emit("\(mark) \(report.step) \(report.status.rawValue) \(SummaryTable.format(report.duration))"
                     + ((report.error ?? report.reason).isEmpty ? "" : " — \(report.error ?? report.reason)"))
            case .warning(let message):
                emit("⚠ \(message)")
            case .serviceCall:
                return
            case .runFinished:
                timer?.cancel()
                timer = nil
                clear()
                return
            }
            if Date().timeIntervalSince(lastDrawn) >= Self.redrawInterval { redraw() }
        }
    }

    private func startTimer() {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 0.1, repeating: 0.1)
        timer.setEventHandler { [weak self] in self?.lock.withLock { self?.redraw() } }
        timer.resume()
        self.timer = timer
    }

    /// Prints a line above the live block.
    private func emit(_ line: String) {
        clear()
        print(line)
    }

    private func clear() {
        guard drawnLines > 0 else { return }
        print("\u{1B}[\(drawnLines)A\u{1B}[J", terminator: "")
        drawnLines = 0
    }

    /// Redrawn in place, so each line must fit the terminal: one that wraps takes two rows, and
    /// moving up by the lines drawn would leave the first behind on every redraw.
    private func redraw() {
        clear()
        let columns = Terminal.columns()
        var lines: [String] = []
        let now = Date()
        // The block must fit the screen too: moved up by more rows than the screen has, the
        // cursor stops at the top and every redraw leaves lines behind. Two rows stay free.
        let shown = max(0, min(12, Terminal.rows() - 4))
        for step in running.prefix(running.count > shown ? max(0, shown - 1) : shown) {
            let items = step.forEach ? "  \(step.done)/\(step.of) items" : ""
            lines.append("  ▸ \(step.step)  \(SummaryTable.format(now.timeIntervalSince(step.started)))\(items)")
        }
        if running.count > lines.count, shown > 0 { lines.append("  ▸ … and \(running.count - lines.count) more running") }
        let done = finished.values.reduce(0, +)
        let counts = "done \(finished[.succeeded, default: 0]) · cached \(finished[.cached, default: 0]) · failed \(finished[.failed, default: 0]) · left \(total - done)"
        let width = max(5, min(30, columns - 6 - counts.count))
        let filled = total == 0 ? width : width * done / total
        lines.append("  [\(String(repeating: "█", count: filled))\(String(repeating: "·", count: width - filled))] " + counts)
        print(lines.map { TextColumns.cut($0, to: columns - 1) }.joined(separator: "\n"))
        drawnLines = lines.count
        lastDrawn = Date()
        fflush(nil)
    }

    func finish(_ report: RunReport) {
        print("\n" + SummaryTable.render(report.steps, width: Terminal.columns()) + "\n" + SummaryTable.headline(report))
    }
}
