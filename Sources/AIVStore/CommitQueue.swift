import Foundation
import GRDB

/// Commits the rows of one INSERT so that saves made at the same time share a transaction (a
/// "group commit"): a save made while no commit is under way commits at once, on its own thread;
/// one that arrives while a commit is under way waits for the next one, which takes every row
/// queued meanwhile. Each save still returns only once its row is committed, so a
/// step is never reported finished before its cache entry would survive the process being killed.
///
/// Why: a transaction per entry (SQLite's locks, the WAL frames of the table and its two indexes,
/// GRDB's hop to its writer queue) was half of a cold run of 1,000 short steps on tmpfs, measured
/// with the save skipped. No timer and no added latency: the batches grow by themselves when steps
/// finish faster than a commit, and stay single when not.
final class CommitQueue: @unchecked Sendable {
    private typealias Waiting = (row: StatementArguments, committed: CheckedContinuation<Void, any Error>)

    private let store: Store
    private let insert: String
    private let lock = NSLock()
    private var waiting: [Waiting] = []
    private var committing = false
    /// Transactions committed so far, and rows waiting for one: what tests look at.
    private var committed = 0
    var transactions: Int { lock.withLock { committed } }
    var queued: Int { lock.withLock { waiting.count } }
    /// Queued rows are committed here, off the tasks that saved them: they wait without holding a thread.
    private let committer = DispatchQueue(label: "aiv.cache-commits")

    /// Called before each transaction, with its number of rows, on the thread that makes it (the
    /// saving task's or the queue's): tests hold it there, as a slow disk would.
    private let beforeCommit: @Sendable (Int) -> Void

    init(store: Store, insert: String, beforeCommit: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.store = store
        self.insert = insert
        self.beforeCommit = beforeCommit
    }

    /// Commits `row`, or queues it behind the commit under way, and returns when the transaction
    /// holding it has committed (or failed).
    func commit(_ row: StatementArguments) async throws {
        let leads = lock.withLock {
            defer { committing = true }
            return !committing
        }
        if leads {
            // Nothing is being committed: this row goes at once, on this thread. A chain of steps,
            // where each waits for the one before, then pays no hand-over between threads.
            defer { handOverWaiting() }
            try write([row])
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startsCommitting = lock.withLock {
                waiting.append((row, continuation))
                defer { committing = true }
                return !committing  // the commit seen under way may have ended meanwhile
            }
            if startsCommitting { committer.async { self.commitWaiting() } }
        }
    }

    /// After a commit made by a saving task: rows queued meanwhile go to the committing thread,
    /// so that task gets on with its step.
    private func handOverWaiting() {
        let more = lock.withLock {
            if waiting.isEmpty { committing = false }
            return committing
        }
        if more { committer.async { self.commitWaiting() } }
    }

    /// Commits what is queued, then what was queued meanwhile, until nothing is.
    private func commitWaiting() {
        while let batch = takeBatch() {
            do {
                try write(batch.map(\.row))
                for saved in batch { saved.committed.resume() }
            } catch {
                // One row that cannot be written must not fail the others: each on its own then,
                // with its own answer.
                for saved in batch {
                    do {
                        try write([saved.row])
                        saved.committed.resume()
                    } catch {
                        saved.committed.resume(throwing: error)
                    }
                }
            }
        }
    }

    /// Everything queued, or nil (and no longer committing) when nothing is.
    private func takeBatch() -> [Waiting]? {
        lock.withLock {
            guard !waiting.isEmpty else {
                committing = false
                return nil
            }
            defer { waiting = [] }
            return waiting
        }
    }

    private func write(_ rows: [StatementArguments]) throws {
        beforeCommit(rows.count)
        try store.pool.write { db in
            let statement = try db.cachedStatement(sql: insert)
            for row in rows { try statement.execute(arguments: row) }
        }
        lock.withLock { committed += 1 }
    }
}
