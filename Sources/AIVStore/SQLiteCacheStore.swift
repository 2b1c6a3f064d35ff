import AIVCore
import Foundation
import GRDB

/// The step cache in SQLite: one row per cached invocation, keyed by its content hash.
public struct SQLiteCacheStore: CacheStore {
    let store: Store
    /// The newest entries of the workflow being run, read at once (see `prefetch(workflow:)`).
    private let prefetched = PrefetchedEntries()
    private let commits: CommitQueue

    public init(store: Store) {
        self.store = store
        self.commits = CommitQueue(store: store, insert: Self.insert)
    }

    /// Reads the newest entry of every step (and item) of `workflow` in one query, so that a
    /// re-run finds its hits in memory instead of asking SQLite once per step: each of those reads
    /// took GRDB's reader pool and SQLite's WAL read lock (three `fcntl` calls). Older entries, and
    /// entries of other workflows with the same key, are still read one by one when asked for.
    /// It also learns which steps have no entry at all, and whether the cache is empty, so that a
    /// first run asks SQLite nothing before each step it runs (those two reads per step were a
    /// fifth of a cold run of 1,000 steps on tmpfs, in `perf`).
    public func prefetch(workflow: String) throws {
        // Until this read succeeds nothing is known: a failed one must not leave an earlier run's answers.
        prefetched.forgetAll()
        let (rows, cacheIsEmpty, users) = try store.pool.read { db in
            // Every entry of the workflow in the index's order, so a step's (and item's) entries
            // come together, and the newest of each kept here: a window function picking them in
            // SQL sorted every entry first, about twice the time.
            var newest: [Row] = []
            var newestRecency = 0.0
            for row in try Row.fetchAll(db, sql: """
                SELECT \(Self.columns), used_at, dry_run FROM cache_entry WHERE workflow = ? ORDER BY step, item, dry_run
                """, arguments: [workflow]) {
                let recency = max((try row.decode(Double.self, atIndex: 6)), (try row.decode(Double?.self, atIndex: 9)) ?? 0)
                // The newest of a step's (and item's) live results and of its dry run's: either kind of run finds its own.
                if let last = newest.last, (try last.decode(String.self, atIndex: 2)) == (try row.decode(String.self, atIndex: 2)), (try last.decode(Int?.self, atIndex: 3)) == (try row.decode(Int?.self, atIndex: 3)),
                   (try last.decode(Bool.self, atIndex: 10)) == (try row.decode(Bool.self, atIndex: 10)) {
                    if recency > newestRecency {
                        newest[newest.count - 1] = row
                        newestRecency = recency
                    }
                } else {
                    newest.append(row)
                    newestRecency = recency
                }
            }
            let isEmpty = try newest.isEmpty && !(Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM cache_entry)") ?? false)
            // Steps that took another's result have an earlier run to be explained against too.
            let users = try Row.fetchAll(db, sql: "SELECT step, item FROM cache_use WHERE workflow = ?", arguments: [workflow])
                .map { row -> (String, Int?) in ((try row.decode(atIndex: 0)), (try row.decode(Int.self, atIndex: 1)) < 0 ? nil : (try row.decode(atIndex: 1))) }
            return (newest, isEmpty, users)
        }
        try prefetched.replace(with: rows, workflow: workflow, cacheIsEmpty: cacheIsEmpty, users: users)
    }

    /// Read for every step of a run: from what was prefetched, else through a statement prepared
    /// once per connection; without components either way.
    public func entry(forKey key: String) throws -> CacheEntry? {
        switch prefetched.lookUp(key) {
        case .found(let row): return try Self.entry(row, withComponents: false)
        case .absent: return nil
        case .unknown: break
        }
        // One SELECT reads a consistent snapshot by itself: no transaction around it is needed.
        let found = try store.pool.unsafeRead { db in
            let statement = try db.cachedStatement(sql: """
                SELECT \(Self.columns) FROM cache_entry WHERE key = ?
                """)
            return try Row.fetchOne(statement, arguments: [key]).map { try Self.entry($0, withComponents: false) }
        }
        // A run that read ahead its steps' newest entries, taking another one: the inputs went
        // back to an earlier state (a, then b, then a again). Noted, so that entry is the newest
        // now and `cache gc` keeps it. Rare, so written at once; a failed note loses nothing.
        if let found, prefetched.hasReadAhead(workflow: found.workflow) {
            try? store.pool.write { db in
                try db.execute(sql: "UPDATE cache_entry SET used_at = ? WHERE key = ?", arguments: [Date().timeIntervalSince1970, key])
            }
        }
        return found
    }

    /// Read for every step that runs (to say why): a statement prepared once per connection too.
    /// The step's own newest entry, or the one it last took from another step if that was later.
    public func latestEntry(workflow: String, step: String, item: Int?) throws -> CacheEntry? {
        try latestEntry(workflow: workflow, step: step, item: item, dryRun: nil)
    }

    public func latestEntry(workflow: String, step: String, item: Int?, dryRun: Bool) throws -> CacheEntry? {
        try latestEntry(workflow: workflow, step: step, item: item, dryRun: Optional(dryRun))
    }

    /// With `dryRun`, an entry of that kind of run first, else the newest of the other.
    func latestEntry(workflow: String, step: String, item: Int?, dryRun: Bool?) throws -> CacheEntry? {
        if prefetched.hasNoEntry(workflow: workflow, step: step, item: item) { return nil }
        return try store.pool.unsafeRead { db in
            // Without a preference, every entry is "of the kind asked for" (dry_run IS dry_run).
            let statement = try db.cachedStatement(sql: """
                SELECT \(Self.columns), components, \(Self.recency) FROM cache_entry WHERE workflow = ? AND step = ? AND item IS ?
                ORDER BY dry_run IS ifnull(?, dry_run) DESC, \(Self.recency) DESC LIMIT 1
                """)
            let own = try Row.fetchOne(statement, arguments: [workflow, step, item, dryRun])
            let taken = try db.cachedStatement(sql: """
                SELECT \(Self.columns(of: "e")), e.components, u.used_at FROM cache_use u JOIN cache_entry e ON e.key = u.key
                WHERE u.workflow = ? AND u.step = ? AND u.item = ?
                """)
            let used = try Row.fetchOne(taken, arguments: [workflow, step, item ?? -1])
            guard let newest = try [own, used].compactMap({ $0 }).max(by: { (try $0.decode(Double.self, atIndex: 10)) < (try $1.decode(Double.self, atIndex: 10)) }) else { return nil }
            return try Self.entry(newest, withComponents: true)
        }
    }

    /// Called for every hit: the common one, a step taking its own result with no other's noted,
    /// is answered from memory.
    public func noteTaken(_ entry: CacheEntry, workflow: String, step: String, item: Int?) throws {
        if entry.workflow == workflow, entry.step == step, entry.item == item {
            guard prefetched.forgetUse(workflow: workflow, step: step, item: item) else { return }
            try store.pool.write { db in
                try db.execute(sql: "DELETE FROM cache_use WHERE workflow = ? AND step = ? AND item = ?", arguments: [workflow, step, item ?? -1])
            }
            return
        }
        try store.pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO cache_use (workflow, step, item, key, used_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [workflow, step, item ?? -1, entry.key, Date().timeIntervalSince1970])
        }
        prefetched.noteUse(workflow: workflow, step: step, item: item)
    }

    /// Saves an entry and returns once it is committed. Saves that arrive while a commit is under
    /// way wait for the next one and share it (see `CommitQueue`).
    public func save(_ entry: CacheEntry) async throws {
        prefetched.saving(entry)  // what was read before is no longer the entry under this key
        try await commits.commit(Self.row(entry))
    }

    /// The values of an entry's row, in `insert`'s order; the JSON is made by the saving task,
    /// not the one thread that commits.
    static func row(_ entry: CacheEntry) -> StatementArguments {
        // An entry read for a hit has no components; saved again, it stores JSON null (the column
        // requires text), and a miss explained against it says there was no earlier result.
        [entry.key, entry.workflow, entry.step, entry.item, entry.outputs.canonicalJSON,
         JSONValue.array(entry.files.map(\.jsonValue)).canonicalJSON, entry.components?.jsonValue.canonicalJSON ?? "null",
         entry.createdAt.timeIntervalSince1970, entry.runID, entry.duration, entry.components?.isDryRun ?? false]
    }

    static let insert = """
        INSERT OR REPLACE INTO cache_entry (key, workflow, step, item, outputs, files, components, created_at, run_id, duration, dry_run)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// The columns `entry(_:withComponents:)` reads, in this order: by position, since finding a
    /// column by name compares names on every read (and every step reads an entry). `components`
    /// comes after them when it is selected.
    static let columns = "key, workflow, step, item, outputs, files, created_at, run_id, duration"
    /// The same columns of a table named `table` in a join.
    static func columns(of table: String) -> String {
        columns.split(separator: ",").map { "\(table).\($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: ", ")
    }
    /// How recent an entry is: made, or last taken by a run when it was not its step's newest.
    /// (Expiry, `cache: 1h`, still counts from when it was made.)
    static let recency = "max(created_at, ifnull(used_at, 0))"

    static func entry(_ row: Row, withComponents: Bool) throws -> CacheEntry {
        CacheEntry(key: (try row.decode(atIndex: 0)), workflow: (try row.decode(atIndex: 1)), step: (try row.decode(atIndex: 2)), item: (try row.decode(atIndex: 3)),
                   outputs: try JSONValue(json: (try row.decode(atIndex: 4))), files: try Self.files(try row.decode(atIndex: 5)),
                   components: withComponents ? try decodeJSON(CacheKeyComponents.self, (try row.decode(atIndex: 9))) : nil,
                   createdAt: Date(timeIntervalSince1970: (try row.decode(atIndex: 6))), runID: (try row.decode(atIndex: 7)), duration: (try row.decode(atIndex: 8)))
    }

    static func files(_ text: String) throws -> [CacheEntry.File] {
        guard text != "[]" else { return [] }
        guard case .array(let files) = try JSONValue(parsing: text) else {
            throw JSONParseError(message: "the cached files are not a list", offset: 0)
        }
        return try files.map { file throws(JSONParseError) in try CacheEntry.File(json: file) }
    }

    /// A summary row per workflow step: entries, newest, total size of outputs.
    public struct Summary: Sendable {
        public var workflow: String
        public var step: String
        public var entries: Int
        public var newest: Date
    }

    public func summary() throws -> [Summary] {
        try store.pool.read { db in
            // A step that takes another step's result has it as its entry too.
            try Row.fetchAll(db, sql: """
                SELECT workflow, step, COUNT(*) AS entries, MAX(at) AS newest FROM (
                  SELECT workflow, step, created_at AS at FROM cache_entry
                  UNION ALL
                  SELECT u.workflow, u.step, u.used_at AS at FROM cache_use u JOIN cache_entry e ON e.key = u.key
                ) GROUP BY workflow, step ORDER BY workflow, newest
                """).map { Summary(workflow: (try $0.decode(forColumn: "workflow")), step: (try $0.decode(forColumn: "step")), entries: (try $0.decode(forColumn: "entries")), newest: Date(timeIntervalSince1970: (try $0.decode(forColumn: "newest")))) }
        }
    }

    /// Removes every entry (or those of one workflow file); returns how many.
    @discardableResult
    public func clear(workflow: String? = nil) throws -> Int {
        prefetched.forgetAll()
        return try store.pool.write { db in
            if let workflow {
                // Its results, and those of other steps it took: cleared, the workflow computes
                // everything again (and the other steps then do too).
                try db.execute(sql: """
                    DELETE FROM cache_entry WHERE workflow = ? OR key IN (SELECT key FROM cache_use WHERE workflow = ?)
                    """, arguments: [workflow, workflow])
                let removed = db.changesCount
                try db.execute(sql: "DELETE FROM cache_use WHERE workflow = ? OR key NOT IN (SELECT key FROM cache_entry)", arguments: [workflow])
                return removed
            }
            try db.execute(sql: "DELETE FROM cache_entry")
            let removed = db.changesCount
            try db.execute(sql: "DELETE FROM cache_use")
            return removed
        }
    }

    /// Keeps the newest `keep` entries of each step and item, removes the rest, then deletes blobs
    /// no entry refers to that are older than `minimumAge` seconds (a running workflow stores a
    /// file just before the entry that refers to it). Returns the entries and files removed, and
    /// the unreferenced files kept because they are younger than that, so a user is told why the
    /// disk space did not come back.
    public func collectGarbage(blobs: BlobStore, keep: Int = 1, minimumAge: Double = 3600) throws -> (entries: Int, files: Int, keptYoung: Int) {
        prefetched.forgetAll()
        let removed = try store.pool.write { db -> Int in
            // A step's last use of another step's result counts while it is later than the
            // step's own newest entry: that result is what the step stands on now.
            let currentUses = """
                SELECT u.key FROM cache_use u WHERE u.used_at >= ifnull((
                  SELECT max(max(created_at, ifnull(used_at, 0))) FROM cache_entry e
                  WHERE e.workflow = u.workflow AND e.step = u.step AND ifnull(e.item, -1) = u.item), 0)
                """
            try db.execute(sql: """
                DELETE FROM cache_entry WHERE key IN (
                  SELECT key FROM (
                    SELECT key, ROW_NUMBER() OVER (PARTITION BY workflow, step, item, dry_run ORDER BY \(Self.recency) DESC) AS n FROM cache_entry
                  ) WHERE n > ?) AND key NOT IN (\(currentUses))
                """, arguments: [keep])
            let removed = db.changesCount
            try db.execute(sql: "DELETE FROM cache_use WHERE key NOT IN (SELECT key FROM cache_entry) OR key NOT IN (\(currentUses))")
            return removed
        }
        let referenced = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT files FROM cache_entry")
        }.flatMap { (try? Self.files($0)) ?? [] }.map(\.digest)
        let keepSet = Set(referenced)
        var files = 0
        for digest in blobs.digests(olderThan: minimumAge) where !keepSet.contains(digest) {
            blobs.remove(digest)
            files += 1
        }
        let keptYoung = minimumAge > 0 ? blobs.digests().filter { !keepSet.contains($0) }.count : 0
        // Copies a killed run was storing: never a blob, and older than any copy still going on.
        // Their own age, not the blobs' hour: a recording-sized copy a kill left holds its disk
        // space only as long as a copy still being made could take.
        files += blobs.removeUnfinishedCopies(olderThan: BlobStore.unfinishedCopyAge)
        return (removed, files, keptYoung)
    }
}

/// What a run read ahead: rows of `cache_entry` (in `SQLiteCacheStore.columns`) by key, kept as
/// read and decoded on use, and what is known to be absent. Entries another process saves during
/// the run may be missed: the step then runs again, or its miss is explained as a first run.
final class PrefetchedEntries: @unchecked Sendable {
    enum Lookup {
        case found(Row)
        /// Certainly not in the cache: it was empty when the run began, and this run has not saved the key.
        case absent
        /// Ask SQLite.
        case unknown
    }

    /// A step of a workflow, and an item of a `for_each` step.
    private struct Invocation: Hashable {
        var workflow: String
        var step: String
        var item: Int?
    }

    private let lock = NSLock()
    private var rows: [String: Row] = [:]
    /// The workflow whose entries were read; nil before a read ahead succeeds (nothing is known absent).
    private var workflow: String?
    private var cacheWasEmpty = false
    /// Invocations of `workflow` with at least one entry when it was read.
    private var invocationsWithEntries: Set<Invocation> = []
    /// What was saved through this store, ever: never forgotten, since a save may commit after a
    /// later read ahead has looked (two runs sharing one store), and a key saved must not be
    /// answered as absent.
    private var savedKeys: Set<String> = []
    /// Steps of the read-ahead workflow whose last hit was a result another step made.
    private var takingOthers: Set<Invocation> = []
    private var savedInvocations: Set<Invocation> = []

    func replace(with rows: [Row], workflow: String, cacheIsEmpty: Bool, users: [(step: String, item: Int?)] = []) throws {
        let byKey = Dictionary(try rows.map { (row: Row) -> (String, Row) in ((try row.decode(atIndex: 0)), row) }, uniquingKeysWith: { first, _ in first })
        let taking = Set(users.map { Invocation(workflow: workflow, step: $0.step, item: $0.item) })
        let invocations = Set(try rows.map { Invocation(workflow: workflow, step: (try $0.decode(atIndex: 2)), item: (try $0.decode(atIndex: 3))) }).union(taking)
        lock.withLock {
            self.rows = byKey
            self.workflow = workflow
            cacheWasEmpty = cacheIsEmpty
            invocationsWithEntries = invocations
            takingOthers = taking
        }
    }

    /// A step now takes another's result: noted, so taking its own again ends that.
    func noteUse(workflow: String, step: String, item: Int?) {
        let invocation = Invocation(workflow: workflow, step: step, item: item)
        lock.withLock {
            takingOthers.insert(invocation)
            savedInvocations.insert(invocation)
        }
    }

    /// Whether the step had another's result noted (now forgotten). Unknown without a read ahead:
    /// false then, and the note stays until `cache gc` finds the step's own newer result.
    func forgetUse(workflow: String, step: String, item: Int?) -> Bool {
        lock.withLock { takingOthers.remove(Invocation(workflow: workflow, step: step, item: item)) != nil }
    }

    /// Whether the newest entries of `workflow` were read ahead (a run is under way).
    func hasReadAhead(workflow: String) -> Bool {
        lock.withLock { self.workflow == workflow }
    }

    /// Back to knowing nothing: every question goes to SQLite.
    func forgetAll() {
        lock.withLock {
            rows = [:]
            workflow = nil
            cacheWasEmpty = false
            invocationsWithEntries = []
            takingOthers = []
        }
    }

    func lookUp(_ key: String) -> Lookup {
        lock.withLock {
            if let row = rows[key] { return .found(row) }
            return workflow != nil && cacheWasEmpty && !savedKeys.contains(key) ? .absent : .unknown
        }
    }

    /// Whether the step (and item) is known to have no entry: none when the run read ahead, none saved since.
    func hasNoEntry(workflow: String, step: String, item: Int?) -> Bool {
        let invocation = Invocation(workflow: workflow, step: step, item: item)
        return lock.withLock {
            self.workflow == workflow && !invocationsWithEntries.contains(invocation) && !savedInvocations.contains(invocation)
        }
    }

    /// An entry is being saved: what was read under its key is stale, and its key and invocation now exist.
    func saving(_ entry: CacheEntry) {
        let invocation = Invocation(workflow: entry.workflow, step: entry.step, item: entry.item)
        lock.withLock {
            rows.removeValue(forKey: entry.key)
            savedKeys.insert(entry.key)
            savedInvocations.insert(invocation)
        }
    }
}
