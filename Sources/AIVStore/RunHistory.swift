import AIVCore
import Foundation
import GRDB

/// Records runs as they happen (it is a `RunObserver`) and answers `aiv runs`.
public final class RunHistory: RunObserver, @unchecked Sendable {
    let store: Store
    private let lock = NSLock()
    private var positions: [String: Int] = [:]
    private var runID = ""
    /// Finished steps not yet written, and whether a write of them is on its way.
    private var pending: [(run: String, position: Int, report: StepReport)] = []
    /// How far each step under way has got, and which of those changed since the last write.
    private var progress: [String: StepProgress] = [:]
    private var progressChanged: Set<String> = []
    private var writeScheduled = false
    /// Whether a write for progress alone is waiting its turn (`progressWriteDelay`).
    private var progressWriteDue = false
    /// Progress alone is written at most this often: a write per item would cost a transaction
    /// per item (measured: a fifth more CPU for 2,000 quick items). Finished steps' rows are
    /// written at once, and take the progress along.
    public static let progressWriteDelay = 0.25
    /// Writes the rows of finished steps in the background: rows queued while a write is under
    /// way go together in the next transaction, so a run of quick steps commits far fewer times
    /// than it has steps.
    /// A write starts as soon as a row is queued, so a process killed outright loses at most the
    /// rows of the last few milliseconds (the run shows as interrupted; the cache, which resume
    /// reads, is written by each step before it reports). A batch whose write fails is lost whole
    /// and said on stderr: history is a record, not the run.
    let writer = DispatchQueue(label: "aiv.run-history")

    public init(store: Store) {
        self.store = store
    }

    public func handle(_ event: RunEvent) {
        do {
            switch event {
            case .runStarted(let id, let workflow, let file, let folder, let steps, let inputs, let startedAt):
                lock.withLock {
                    runID = id
                    positions = Dictionary(uniqueKeysWithValues: steps.enumerated().map { ($1.id, $0) })
                }
                try store.pool.write { db in
                    try db.execute(sql: """
                        INSERT INTO run (id, workflow, file, folder, inputs, started_at, status, pid, steps, tracks_progress)
                          VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, 1)
                        """, arguments: [id, workflow, file, folder, JSONValue.object(inputs).canonicalJSON, startedAt.timeIntervalSince1970,
                                         Int(ProcessInfo.processInfo.processIdentifier),
                                         JSONValue.array(steps.map { .array([.string($0.id), .string($0.kind)]) }).canonicalJSON])
                }
            case .stepStarted(let step, let invocations, let forEach):
                noteProgress(of: step) { $0 = StepProgress(invocations: invocations, done: forEach ? 0 : nil) }
            case .invocationFinished(let step, let index, let cached, let done, _) where index != nil:
                noteProgress(of: step) { progress in
                    guard var known = progress else { return }
                    // Items finish in parallel, so their counts may arrive out of order.
                    known.done = max(known.done ?? 0, done)
                    if cached { known.cached += 1 }
                    progress = known
                }
            case .stepFinished(let report):
                record(report)
            case .serviceCall(let call):
                let id = lock.withLock { runID }
                try store.pool.write { db in
                    try db.execute(sql: """
                        INSERT INTO service_call (run_id, step, item, service, method, target, status, latency, attempt,
                          input_tokens, output_tokens, total_tokens, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [id, call.step, call.item, call.service, call.method, call.target, call.status, call.latency,
                                         call.attempt, call.tokens?.input, call.tokens?.output, call.tokens?.total, call.error])
                }
            case .runFinished(let report):
                writer.sync {}  // the steps' rows first
                try store.pool.write { db in
                    try db.execute(sql: "UPDATE run SET duration = ?, status = ? WHERE id = ?",
                                   arguments: [report.duration, report.status.rawValue, report.runID])
                    // Every step that started has its row now: progress mattered only for a run
                    // that would not get here.
                    try db.execute(sql: "DELETE FROM run_step_progress WHERE run_id = ?", arguments: [report.runID])
                }
            default:
                break
            }
        } catch {
            // History is a record, not the run: a failed write must not fail the workflow.
            StandardError.write("aiv: could not record run history: \(error)\n")
        }
    }

    /// Returns once the step rows and progress noted so far are written (the end of a run waits
    /// for the rows itself).
    func flush() {
        dispatchPrecondition(condition: .notOnQueue(writer))
        writer.sync { writePending() }
    }

    /// Queues a finished step's row; a write already on its way takes it along. The step's
    /// progress is no longer needed: its row says more.
    private func record(_ report: StepReport) {
        let schedule = lock.withLock {
            pending.append((runID, positions[report.step] ?? 0, report))
            progress[report.step] = nil
            progressChanged.remove(report.step)
            defer { writeScheduled = true }
            return !writeScheduled
        }
        guard schedule else { return }
        writer.async { self.writePending() }
    }

    /// Updates how far a step under way has got; it is written with the next batch of finished
    /// steps' rows, or on its own within `progressWriteDelay`.
    private func noteProgress(of step: String, _ change: (inout StepProgress?) -> Void) {
        let schedule = lock.withLock {
            change(&progress[step])
            progressChanged.insert(step)
            // A write on its way (rows, or progress) takes this along: it drains what changed
            // when it starts, under the lock.
            guard !writeScheduled, !progressWriteDue else { return false }
            progressWriteDue = true
            return true
        }
        guard schedule else { return }
        writer.asyncAfter(deadline: .now() + Self.progressWriteDelay) {
            self.lock.withLock { self.progressWriteDue = false }
            self.writePending()
        }
    }

    private func writePending() {
        let (rows, changed, id) = lock.withLock {
            defer {
                pending = []
                progressChanged = []
                writeScheduled = false
            }
            return (pending, progressChanged.compactMap { step in progress[step].map { (step, $0) } }, runID)
        }
        // A progress write that a batch of rows took along has nothing left to do.
        guard !rows.isEmpty || !changed.isEmpty else { return }
        do {
            try store.pool.write { db in
                let statement = try db.cachedStatement(sql: """
                    INSERT OR REPLACE INTO run_step (run_id, step, kind, status, started_at, duration, invocations, cached_invocations,
                      attempts, reason, error, position, log) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for (id, position, report) in rows {
                    try statement.execute(arguments: [id, report.step, report.kind, report.status.rawValue, report.startedAt?.timeIntervalSince1970,
                                                      report.duration, report.invocations, report.cachedInvocations, report.attempts, report.reason,
                                                      report.error, position, report.log])
                }
                guard !changed.isEmpty else { return }
                let progressStatement = try db.cachedStatement(sql: """
                    INSERT OR REPLACE INTO run_step_progress (run_id, step, invocations, done, cached) VALUES (?, ?, ?, ?, ?)
                    """)
                for (step, progress) in changed {
                    try progressStatement.execute(arguments: [id, step, progress.invocations, progress.done, progress.cached])
                }
            }
        } catch {
            StandardError.write("aiv: could not record run history: \(error)\n")
        }
    }

    /// One line of `aiv runs`.
    public struct RunSummary: Sendable {
        public var id: String
        public var workflow: String
        public var startedAt: Date
        public var duration: Double?
        public var status: String
        public var ran: Int
        public var cached: Int
        public var failed: Int
        public var skipped: Int
        /// Steps under way when the run stopped (a failure elsewhere, Ctrl-C).
        public var cancelled: Int
    }

    /// A run still marked running whose process is gone was killed: say so. A process with its
    /// id may be another one (ids are reused; in a container the first is always 1), so while
    /// the run's folder has its lock file, the run is running only while that lock is held for it.
    static func status(_ recorded: String, runID: String, pid: Int, folder: String?) -> String {
        guard recorded == "running" else { return recorded }
        guard kill(pid_t(pid), 0) == 0 || errno == EPERM else { return "interrupted" }
        guard let folder, let held = RunFolder.isHeld(folder, runID: runID, pid: pid) else { return "running" }
        return held ? "running" : "interrupted"
    }

    public func runs(limit: Int = 20) throws -> [RunSummary] {
        try store.pool.read { db in try Self.summaries(db, where: "1", arguments: [], limit: limit) }
    }

    /// Runs with their step counts, newest first: the one query `runs` and `run` share.
    static func summaries(_ db: Database, where condition: String, arguments: StatementArguments, limit: Int) throws -> [RunSummary] {
        try Row.fetchAll(db, sql: """
            SELECT r.id, r.workflow, r.started_at, r.duration, r.status, r.pid, r.folder,
              SUM(s.status = 'succeeded') AS ran, SUM(s.status = 'cached') AS cached,
              SUM(s.status = 'failed') AS failed, SUM(s.status = 'skipped') AS skipped,
              SUM(s.status = 'cancelled') AS cancelled
            FROM run r LEFT JOIN run_step s ON s.run_id = r.id
            WHERE \(condition)
            GROUP BY r.id ORDER BY r.started_at DESC LIMIT ?
            """, arguments: arguments + [limit]).map { row in
            RunSummary(id: (try row.decode(forColumn: "id")), workflow: (try row.decode(forColumn: "workflow")), startedAt: Date(timeIntervalSince1970: (try row.decode(forColumn: "started_at"))),
                       duration: (try row.decode(forColumn: "duration")), status: status((try row.decode(forColumn: "status")), runID: (try row.decode(forColumn: "id")), pid: (try row.decode(forColumn: "pid")), folder: (try row.decode(forColumn: "folder"))), ran: (try row.decode(forColumn: "ran")) ?? 0,
                       cached: (try row.decode(forColumn: "cached")) ?? 0, failed: (try row.decode(forColumn: "failed")) ?? 0, skipped: (try row.decode(forColumn: "skipped")) ?? 0,
                       cancelled: (try row.decode(forColumn: "cancelled")) ?? 0)
        }
    }

    /// A run with its steps; `id` may be a unique prefix, or "last".
    /// The ids of the runs whose id starts with `prefix`, newest first (at most `limit`).
    public func runIDs(startingWith prefix: String, limit: Int = 6) throws -> [String] {
        try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM run WHERE substr(id, 1, ?) = ? ORDER BY started_at DESC LIMIT ?", arguments: [prefix.count, prefix, limit])
        }
    }

    public func run(_ id: String) throws -> (run: RunSummary, folder: String, file: String, steps: [StepReport])? {
        try store.pool.read { db in
            let ids = id == "last"
                ? try String.fetchAll(db, sql: "SELECT id FROM run ORDER BY started_at DESC LIMIT 1")
                : try String.fetchAll(db, sql: "SELECT id FROM run WHERE substr(id, 1, ?) = ? ORDER BY started_at DESC", arguments: [id.count, id])
            guard ids.count == 1, let runID = ids.first,
                  let row = try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [runID]) else { return nil }
            let steps = try Row.fetchAll(db, sql: "SELECT * FROM run_step WHERE run_id = ? ORDER BY position", arguments: [runID]).map { s in
                StepReport(step: (try s.decode(forColumn: "step")), kind: (try s.decode(forColumn: "kind")), status: StepStatus(rawValue: (try s.decode(forColumn: "status"))) ?? .failed,
                           startedAt: ((try s.decode(forColumn: "started_at")) as Double?).map(Date.init(timeIntervalSince1970:)), duration: (try s.decode(forColumn: "duration")),
                           invocations: (try s.decode(forColumn: "invocations")), cachedInvocations: (try s.decode(forColumn: "cached_invocations")), attempts: (try s.decode(forColumn: "attempts")),
                           reason: (try s.decode(forColumn: "reason")), error: (try s.decode(forColumn: "error")), log: (try s.decode(forColumn: "log")))
            }
            guard let summary = try Self.summaries(db, where: "r.id = ?", arguments: [runID], limit: 1).first else { return nil }
            var progress: [String: StepProgress]?
            if try row.decode(forColumn: "tracks_progress") as Bool {
                progress = Dictionary(try Row.fetchAll(db, sql: "SELECT * FROM run_step_progress WHERE run_id = ?", arguments: [runID]).map { p in
                    (try p.decode(forColumn: "step") as String,
                     StepProgress(invocations: try p.decode(forColumn: "invocations"), done: try p.decode(forColumn: "done"), cached: try p.decode(forColumn: "cached")))
                }, uniquingKeysWith: { first, _ in first })
            }
            return (summary, (try row.decode(forColumn: "folder")), (try row.decode(forColumn: "file")),
                    Self.withUnfinished(steps, planned: (try row.decode(forColumn: "steps")), progress: progress, going: summary.status == "running"))
        }
    }
}

/// How far a step under way has got: its items in all, how many are done (nil for a step that
/// is not a `for_each`, whose one invocation is done when the step is) and how many of those came
/// from the cache.
struct StepProgress: Sendable, Equatable {
    var invocations: Int
    var done: Int? = nil
    var cached = 0
}

extension RunHistory {
    /// The finished steps, then, in plan order, the planned steps that never finished (the run
    /// was killed, or stopped at a failure, or is still going), as `notFinished`, each with what
    /// is known of it: under way (with its items done) or not started. `progress` is nil for a
    /// run recorded before aiv kept it, which cannot tell the two apart. A step under way has
    /// its items in `invocations` (and those from the cache in `cachedInvocations`); one that
    /// never started has none.
    static func withUnfinished(_ finished: [StepReport], planned: String?, progress: [String: StepProgress]? = nil,
                               going: Bool = false) -> [StepReport] {
        guard let planned, let list = try? JSONValue(parsing: planned).arrayValue else { return finished }
        let done = Set(finished.map(\.step))
        let rest = list.compactMap { pair -> StepReport? in
            guard let fields = pair.arrayValue, fields.count == 2, let id = fields[0].stringValue, let kind = fields[1].stringValue,
                  !done.contains(id) else { return nil }
            let known = progress?[id]
            return StepReport(step: id, kind: kind, status: .notFinished, startedAt: nil, duration: 0, invocations: known?.invocations ?? 0,
                              cachedInvocations: known?.cached ?? 0, attempts: 0,
                              reason: unfinishedReason(known, tracked: progress != nil, going: going), error: nil, log: nil)
        }
        return finished + rest
    }

    /// Why a step of a run still going, recorded by an aiv that did not keep progress, has no
    /// row yet: under way or to come, which that run cannot tell apart.
    public static let untrackedGoing = "the run is still going"
    /// The same for a run that stopped: it cannot tell a step under way from one not started.
    public static let untrackedStopped = "did not finish in this run"

    /// What `runs show` says of a step that did not finish.
    static func unfinishedReason(_ progress: StepProgress?, tracked: Bool, going: Bool) -> String {
        guard tracked else { return going ? untrackedGoing : untrackedStopped }
        // Progress is written a moment behind the run, so a step that started just before a
        // kill may not show as started.
        guard let progress else { return going ? "not started yet" : "not started when the run stopped, as far as the history knows" }
        let items: String? = progress.done != nil || progress.invocations > 1
            ? ItemReasons.done(progress.done ?? 0, of: progress.invocations, cached: progress.cached)
            : nil
        if going { return items.map { "under way: \($0)" } ?? "under way" }
        return "under way when the run stopped" + (items.map { ", \($0)" } ?? "")
    }
}

extension RunHistory {
    /// A step's calls to services in one run: how many, tokens, latency.
    public struct ServiceUsage: Sendable, Equatable {
        public var step: String
        public var service: String
        public var calls: Int
        public var failedCalls: Int
        public var inputTokens: Int
        public var outputTokens: Int
        public var totalTokens: Int
        public var meanLatency: Double
        public var maxLatency: Double
    }

    public func serviceUsage(run id: String) throws -> [ServiceUsage] {
        try store.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT step, service, COUNT(*) AS calls, SUM(CASE WHEN status BETWEEN 200 AND 299 THEN 0 ELSE 1 END) AS failed,
                  COALESCE(SUM(input_tokens), 0) AS input, COALESCE(SUM(output_tokens), 0) AS output,
                  COALESCE(SUM(total_tokens), 0) AS total, AVG(latency) AS mean, MAX(latency) AS max
                FROM service_call WHERE run_id = ? GROUP BY step, service ORDER BY MIN(id)
                """, arguments: [id]).map { row in
                ServiceUsage(step: (try row.decode(forColumn: "step")), service: (try row.decode(forColumn: "service")), calls: (try row.decode(forColumn: "calls")), failedCalls: (try row.decode(forColumn: "failed")),
                             inputTokens: (try row.decode(forColumn: "input")), outputTokens: (try row.decode(forColumn: "output")), totalTokens: (try row.decode(forColumn: "total")),
                             meanLatency: (try row.decode(forColumn: "mean")), maxLatency: (try row.decode(forColumn: "max")))
            }
        }
    }
}
