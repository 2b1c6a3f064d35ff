import Foundation

/// A counting semaphore for async tasks: at most `limit` invocations run at once (`--max-parallel`).
/// Waiters are served in order; a waiter whose task is cancelled leaves the queue.
public actor Slots {
    private let limit: Int
    private var inUse = 0
    private var waiters: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID = 0

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    public func acquire() async throws {
        try Task.checkCancellation()
        if inUse < limit {
            inUse += 1
            return
        }
        let id = nextID
        nextID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append((id, continuation))
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    public func release() {
        if waiters.isEmpty {
            inUse -= 1
        } else {
            waiters.removeFirst().continuation.resume()
        }
    }

    private func cancel(_ id: Int) {
        guard let position = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: position).continuation.resume(throwing: CancellationError())
    }

    /// A slot held by one invocation, which can be given back while it waits (a retry's backoff)
    /// and taken again. Releasing twice is harmless, so every exit path can release.
    public final class Lease: @unchecked Sendable {
        private let slots: Slots
        private let lock = NSLock()
        private var held = true

        init(_ slots: Slots) { self.slots = slots }

        public func release() async {
            let wasHeld = lock.withLock { () -> Bool in defer { held = false }; return held }
            if wasHeld { await slots.release() }
        }

        public func reacquire() async throws {
            try await slots.acquire()
            lock.withLock { held = true }
        }
    }

    public func lease() async throws -> Lease {
        try await acquire()
        return Lease(self)
    }
}
