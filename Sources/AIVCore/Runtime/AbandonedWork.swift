import Foundation

/// Attempts a run gave up on (a timeout, a stop) that may still be running: cancelled, but busy
/// with work that checks for cancellation only now and then (a libavformat loop every few hundred
/// packets). Kept so that the slot such an attempt holds is given back only when it ends, and so
/// that a run that ends can wait a moment for them to clean up their temporary files.
public final class AbandonedWork: @unchecked Sendable {
    private let lock = NSLock()
    private var tasks: [Task<Void, Never>] = []

    public init() {}

    func add(_ task: Task<Void, Never>) {
        lock.withLock { tasks.append(task) }
    }

    /// Whether a piece of work has ended, for the one that started it to ask after giving up on it.
    final class Ended: @unchecked Sendable {
        private let lock = NSLock()
        private var ended = false
        func mark() { lock.withLock { ended = true } }
        var isMarked: Bool { lock.withLock { ended } }
    }

    /// Waits up to `seconds` for every abandoned attempt to end; true when all have.
    public func settle(within seconds: Double) async -> Bool {
        let pending = lock.withLock { tasks }
        guard !pending.isEmpty else { return true }
        let outcome = FirstOutcome<Bool>()
        let waiter = Task {
            for task in pending { await task.value }
            outcome.settle(.success(true))
        }
        let timer = Task {
            try? await Task.sleep(nanoseconds: seconds.sleepNanoseconds)
            outcome.settle(.success(false))
        }
        defer {
            waiter.cancel()
            timer.cancel()
        }
        return (try? await outcome.value()) ?? false
    }
}
