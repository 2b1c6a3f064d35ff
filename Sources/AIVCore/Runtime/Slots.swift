import Foundation

/// A counting semaphore for async tasks: at most `limit` invocations run at once (`--max-parallel`).
///
/// Waiters queue by the step they belong to and a freed slot goes to each waiting step in turn,
/// in order within a step. One queue for all would let a `for_each` of a thousand items (which
/// keeps hundreds queued) hold back a `max_parallel: 1` step beside it, whose single waiter
/// would be served once per hundreds of the other step's items. A waiter whose task is
/// cancelled leaves its queue.
public actor Slots {
    private typealias Waiter = (id: Int, continuation: CheckedContinuation<Void, any Error>)
    private let limit: Int
    private var inUse = 0
    /// The waiters of each step that has some, first come first served.
    private var queues: [String: [Waiter]] = [:]
    /// The steps with waiters, in the order they are served next.
    private var turns: [String] = []
    private var nextID = 0

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Takes a slot for an invocation of `step` (a name that groups waiters), waiting for one.
    public func acquire(for step: String) async throws {
        try Task.checkCancellation()
        if inUse < limit {
            inUse += 1
            return
        }
        let id = nextID
        nextID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if queues[step, default: []].isEmpty { turns.append(step) }
                queues[step, default: []].append((id, continuation))
            }
        } onCancel: {
            Task { await self.cancel(id, of: step) }
        }
    }

    /// Invocations waiting for a slot.
    public var waiting: Int { queues.values.reduce(0) { $0 + $1.count } }

    /// Gives a slot back: to the next waiting step in turn, or to the pool when none waits.
    public func release() {
        guard !turns.isEmpty else {
            inUse -= 1
            return
        }
        let step = turns.removeFirst()
        let waiter = queues[step]!.removeFirst()
        if queues[step]!.isEmpty { queues[step] = nil } else { turns.append(step) }
        waiter.continuation.resume()
    }

    private func cancel(_ id: Int, of step: String) {
        guard let position = queues[step]?.firstIndex(where: { $0.id == id }) else { return }
        let waiter = queues[step]!.remove(at: position)
        if queues[step]!.isEmpty {
            queues[step] = nil
            turns.removeAll { $0 == step }
        }
        waiter.continuation.resume(throwing: CancellationError())
    }

    /// A slot held by one invocation, which can be given back while it waits (a retry's backoff)
    /// and taken again. Releasing twice is harmless, so every exit path can release.
    public final class Lease: @unchecked Sendable {
        private let slots: Slots
        private let step: String
        private let lock = NSLock()
        private var held = true

        init(_ slots: Slots, step: String) {
            self.slots = slots
            self.step = step
        }

        public func release() async {
            let wasHeld = lock.withLock { () -> Bool in defer { held = false }; return held }
            if wasHeld { await slots.release() }
        }

        public func reacquire() async throws {
            try await slots.acquire(for: step)
            lock.withLock { held = true }
        }
    }

    /// A slot for an invocation of `step`, waiting for one.
    public func lease(for step: String) async throws -> Lease {
        try await acquire(for: step)
        return Lease(self, step: step)
    }
}
