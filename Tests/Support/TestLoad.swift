import AIVCore
import Foundation

/// How much of the suite's heaviest work runs at once.
///
/// Swift Testing starts every test together. On the two cores CI has, twenty child `aiv`
/// processes (debug builds) and several seconds-long computations at once left each thread a
/// sliver of a core: with the pool kept free (`offThePool`) no test still ended in the suite's
/// first 8 s, a 0.3 s OBS connect timeout measured 3.7 s, and a hostile document that reads in
/// half a second took over 5. With this queueing the first tests end after 3 to 4 s and the
/// timeout measures 0.6 to 1.6 s, and the suite takes as long as before (it is CPU-bound either way).
public enum TestLoad {
    /// Child processes (`aiv`, ffmpeg, ffprobe) running at once.
    public static let childProcesses = Slots(limit: 2)
    /// Long computations (fuzzing, property tests, multi-megabyte documents) running at once.
    public static let computations = Slots(limit: 1)

    /// Runs `work` holding one of `slots`, given back however `work` ends.
    public static func holding<T>(_ slots: Slots, _ work: () async throws -> T) async throws -> T {
        let lease = try await slots.lease(for: "tests")
        do {
            let result = try await work()
            await lease.release()
            return result
        } catch {
            await lease.release()
            throw error
        }
    }
}

/// Runs `wait`, which starts a child process and blocks until it ends, on a thread of its own
/// (a test blocking a pool thread for the seconds a process takes would stall every other
/// test's timers) and holding one of `TestLoad.childProcesses`.
public func childProcess<T>(_ wait: () throws -> T) async throws -> T {
    try await TestLoad.holding(TestLoad.childProcesses) { try await offThePool { try wait() } }
}

/// Runs a test's long computation off the concurrency pool, one such computation at a time.
public func heavyComputation<T>(_ work: () async throws -> T) async throws -> T {
    try await TestLoad.holding(TestLoad.computations) { try await offThePool(work) }
}

/// Runs test work that computes for long or blocks its thread on threads of its own, not on
/// the concurrency pool.
///
/// Swift Testing starts every test at once as tasks on the pool, which has one thread per core
/// (two on the CI machine). A test that holds a pool thread (seconds of computing without an
/// await, or URLSession on Linux, whose calls wait with `DispatchQueue.sync` for work that
/// itself needs a pool thread) stalls every other test's timers and I/O: the suite's first 12
/// to 16 s passed with no test ending, and a test of a 0.3 s timeout measured 14.7 s in CI. The work
/// goes to a thread of its own here, which the kernel time-slices like any other, so the pool
/// stays free. The test's task is the same (only its executor changes), so its expectations are
/// still attributed to it.
public func offThePool<T>(_ work: () async throws -> T) async rethrows -> T {
    try await withTaskExecutorPreference(ThreadPerJobExecutor.shared, operation: work)
}

/// A task executor that runs each job it is given on a new thread.
///
/// A new thread per job means no queue for one test to hold up another on; the few hundred jobs
/// the suite gives it (long computations, URLSession calls) make starting threads cheap next to
/// what they wait for. The stack is 8 MB, as the pool threads these tests ran on before had, for
/// the tests of deeply nested documents.
public final class ThreadPerJobExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = ThreadPerJobExecutor()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread { job.runSynchronously(on: executor) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
