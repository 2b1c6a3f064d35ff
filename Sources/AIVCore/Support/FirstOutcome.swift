import Foundation

/// The first of several outcomes (a body's result, its timeout, an answer or a dropped
/// connection), handed to one waiter. Whichever settles first wins; later ones are ignored. The
/// waiter's cancellation settles it with `CancellationError`.
public final class FirstOutcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, any Error>?
    private var waiter: CheckedContinuation<T, any Error>?

    public init() {}

    /// Keeps `outcome` if it is the first; wakes the waiter.
    public func settle(_ outcome: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = lock.withLock {
            guard result == nil else { return nil }
            result = outcome
            defer { self.waiter = nil }
            return self.waiter
        }
        waiter?.resume(with: outcome)
    }

    /// The first outcome, once there is one.
    public func value() async throws -> T {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let settled: Result<T, any Error>? = lock.withLock {
                    if result == nil { waiter = continuation }
                    return result
                }
                if let settled { continuation.resume(with: settled) }
            }
        } onCancel: {
            settle(.failure(CancellationError()))
        }
    }
}
