import AIVCore
import Foundation
import GRDB

/// Why the database could not be opened, in words.
public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// aiv's SQLite database (`.aiv/aiv.sqlite`): the step cache and the run history, in WAL mode so
/// a run's writes never block `aiv runs` in another terminal. Every write is one transaction,
/// so a process killed at any moment leaves the database whole.
public final class Store: Sendable {
    public let path: String
    let pool: any DatabaseWriter
    /// Opened read-only (asked for, or its folder or file being so): it can be read (`aiv runs`,
    /// `cache ls`, `plan`), and any write throws.
    public let isReadOnly: Bool

    /// How to open a database whose folder the process may not write to.
    public enum Access: Sendable {
        /// Open for reading and writing, creating the database if need be.
        case readWrite
        /// The same, but an existing database in a folder this process cannot write to (a
        /// colleague's, a CI artifact, a read-only mount) is opened read-only.
        case readOnlyWhereUnwritable
        /// Read-only, whatever the folder allows.
        case readOnly
    }

    public init(path: String, access: Access = .readWrite) throws {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if access == .readOnly || (access == .readOnlyWhereUnwritable && exists && Self.unwritablePart(of: path, exists: true) != nil) {
            pool = try Self.openReadOnly(path)
            isReadOnly = true
            return
        }
        // Said plainly, not as the lock file beside it that could not be made.
        if let unwritable = Self.unwritablePart(of: path, exists: exists) {
            throw StoreError("\(unwritable) is read-only to this user, and this command writes to it; give --state-dir a folder you can write to"
                             + (exists ? " (aiv runs, runs show, runs log, cache ls, quota and plan can still read this one)" : ""))
        }
        isReadOnly = false
        try Folders.create((path as NSString).deletingLastPathComponent)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        // In WAL mode, NORMAL keeps the database whole when the process dies at any moment; only
        // a power loss can drop the last transactions. FULL would add a disk flush to every step.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        pool = try Self.whileOpening(lockPath: path + "-opening") {
            let pool = try DatabasePool(path: path, configuration: configuration)
            // An up-to-date database is only read, so commands that read (`aiv runs`) do not
            // wait for the write lock a long `cache gc` holds.
            if try !pool.read({ try Self.migrator.hasCompletedMigrations($0) }) { try Self.migrator.migrate(pool) }
            return pool
        }
    }

    /// What keeps the process from writing the database, in words: its folder (which must hold
    /// the WAL files), or the file itself. A folder still to be made is not checked here.
    static func unwritablePart(of path: String, exists: Bool) -> String? {
        let folder = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue, access(folder, W_OK) != 0 {
            return "the state folder \(folder)"
        }
        if exists, access(path, W_OK) != 0 { return "the database file \(path)" }
        return nil
    }

    /// A database in WAL mode needs its `-shm` file even to be read, which a read-only folder
    /// cannot make: one closed cleanly (no WAL file left) is opened as immutable (SQLite then
    /// neither locks nor looks for the WAL), through a URI file name, which Debian's SQLite
    /// reads. One with a WAL file (a process has it open, or was killed) has its `-shm` file
    /// too, and is opened read-only as it is, so the WAL's transactions are seen.
    static func openReadOnly(_ path: String) throws -> any DatabaseWriter {
        var configuration = Configuration()
        configuration.readonly = true
        let encoded = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
        let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: walSize > 0 ? path : "file:\(encoded)?immutable=1", configuration: configuration)
            _ = try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master") }
        } catch {
            if access(path, R_OK) != 0 { throw StoreError("the database file is not readable by this user") }
            // A WAL file without its `-shm` (a copy that left it out) cannot be read in place.
            throw StoreError("it cannot be written here, and SQLite could not open it for reading only (\(error))"
                             + (walSize > 0 && !FileManager.default.fileExists(atPath: path + "-shm") ? ": its -wal file is there but not its -shm file" : "")
                             + "; copy the whole state folder somewhere writable and pass that as --state-dir")
        }
        guard try queue.read({ try Self.migrator.hasCompletedMigrations($0) }) else {
            throw StoreError("it was written by an earlier aiv and must be upgraded, which its read-only folder does not allow; open it once where it can be written")
        }
        return queue
    }

    /// Runs `body` (opening the database: switching a new file to WAL, making its tables) while
    /// holding an exclusive lock on a file beside the database, so one process at a time does it.
    /// Two runs started at once on a fresh `.aiv/` both found the tables missing and the second
    /// failed on one the first had just made, or got SQLITE_BUSY switching to WAL (which does not
    /// wait for a busy database). Opening an existing database holds the lock for a moment only.
    static func whileOpening<T>(lockPath: String, _ body: () throws -> T) throws -> T {
        let lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw StoreError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError("cannot lock \(lockPath): \(String(cString: strerror(errno)))") }
        }
        defer { flock(lock, LOCK_UN) }
        return try body()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "cache_entry") { t in
                t.primaryKey("key", .text)
                t.column("workflow", .text).notNull()
                t.column("step", .text).notNull()
                t.column("item", .integer)
                t.column("outputs", .text).notNull()
                t.column("files", .text).notNull()
                t.column("components", .text).notNull()
                t.column("created_at", .double).notNull()
                t.column("run_id", .text).notNull()
                t.column("duration", .double).notNull()
            }
            try db.create(index: "cache_entry_by_step", on: "cache_entry", columns: ["workflow", "step", "item", "created_at"])
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("workflow", .text).notNull()
                t.column("file", .text).notNull()
                t.column("folder", .text).notNull()
                t.column("inputs", .text).notNull()
                t.column("started_at", .double).notNull()
                t.column("duration", .double)
                t.column("status", .text).notNull()
                t.column("pid", .integer).notNull()
            }
            try db.create(table: "run_step") { t in
                t.column("run_id", .text).notNull().references("run", onDelete: .cascade)
                t.column("step", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("status", .text).notNull()
                t.column("started_at", .double)
                t.column("duration", .double).notNull()
                t.column("invocations", .integer).notNull()
                t.column("cached_invocations", .integer).notNull()
                t.column("attempts", .integer).notNull()
                t.column("reason", .text).notNull()
                t.column("error", .text)
                t.column("position", .integer).notNull()
                t.primaryKey(["run_id", "step"])
            }
        }
        migrator.registerMigration("v2 services") { db in
            // Every request a step made: tokens per step and latency per call (the seed's metrics).
            try db.create(table: "service_call") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("run_id", .text).notNull().indexed()
                t.column("step", .text).notNull()
                t.column("item", .integer)
                t.column("service", .text).notNull()
                t.column("method", .text).notNull()
                t.column("target", .text).notNull()
                t.column("status", .integer)
                t.column("latency", .double).notNull()
                t.column("attempt", .integer).notNull()
                t.column("input_tokens", .integer)
                t.column("output_tokens", .integer)
                t.column("total_tokens", .integer)
                t.column("error", .text)
            }
            // Requests and tokens per service per quota day, across runs.
            try db.create(table: "quota_usage") { t in
                t.column("service", .text).notNull()
                t.column("day", .text).notNull()
                t.column("requests", .integer).notNull().defaults(to: 0)
                t.column("tokens", .integer).notNull().defaults(to: 0)
                t.primaryKey(["service", "day"])
            }
        }
        migrator.registerMigration("v3 external records") { db in
            // What aiv created at a service, by key: a re-run updates the same object.
            try db.create(table: "external_record") { t in
                t.column("namespace", .text).notNull()
                t.column("key", .text).notNull()
                t.column("id", .text).notNull()
                t.column("url", .text)
                t.column("content_hash", .text)
                t.column("updated_at", .double).notNull()
                t.primaryKey(["namespace", "key"])
            }
        }
        migrator.registerMigration("v4 stock") { db in
            // The vocabulary stock: one entry per normalised key, with every stream it was seen in.
            try db.create(table: "stock_entry") { t in
                t.column("stock", .text).notNull()
                t.column("key", .text).notNull()
                t.column("entry", .text).notNull()
                t.column("sources", .text).notNull()
                t.column("first_seen", .double).notNull()
                t.column("updated_at", .double).notNull()
                t.primaryKey(["stock", "key"])
            }
        }
        migrator.registerMigration("v5 step logs") { db in
            // A step's log, so `aiv runs log` needs no run folder (which keeps one log for the run).
            try db.alter(table: "run_step") { t in t.add(column: "log", .text) }
        }
        migrator.registerMigration("v6 planned steps") { db in
            // The run's steps as planned (id and kind, JSON), so a run that stopped half way
            // shows the steps that never finished too.
            try db.alter(table: "run") { t in t.add(column: "steps", .text) }
        }
        migrator.registerMigration("v7 cache use") { db in
            // When a run last took an entry that was not its step's newest (inputs switched back):
            // the entry then counts as the newest, so `cache gc` keeps what is in use.
            try db.alter(table: "cache_entry") { t in t.add(column: "used_at", .double) }
        }
        migrator.registerMigration("v8 shared cache entries") { db in
            // The last entry a step (and item) took that another step made: results are found by
            // their content, so a step of one workflow uses another's, and `cache gc`, `clear` and
            // `ls` must see that use as well as the step that made the entry. `item` is -1 for none
            // (a primary key's NULLs would never be equal).
            try db.create(table: "cache_use") { t in
                t.column("workflow", .text).notNull()
                t.column("step", .text).notNull()
                t.column("item", .integer).notNull()
                t.column("key", .text).notNull().indexed()
                t.column("used_at", .double).notNull()
                t.primaryKey(["workflow", "step", "item"])
            }
        }
        migrator.registerMigration("v9 dry-run entries") { db in
            // A dry run's results (answers from fixtures) beside live ones: `cache gc` keeps the
            // newest of each, so a dry run never costs the live results their place.
            try db.alter(table: "cache_entry") { t in t.add(column: "dry_run", .boolean).notNull().defaults(to: false) }
            try db.execute(sql: "UPDATE cache_entry SET dry_run = 1 WHERE json_valid(components) AND json_extract(components, '$.settings.dry_run') = 1")
        }
        migrator.registerMigration("v10 step progress") { db in
            // How far each step under way had got (items done, from the cache, in all), written
            // as the run goes, so a run killed half way shows which steps were under way and how
            // many of their items were done. Rows are removed when the run ends; `tracks_progress`
            // tells a step that never started from one of a run recorded before this was kept.
            try db.create(table: "run_step_progress") { t in
                t.column("run_id", .text).notNull()
                t.column("step", .text).notNull()
                t.column("invocations", .integer).notNull()
                t.column("done", .integer)
                t.column("cached", .integer).notNull()
                t.primaryKey(["run_id", "step"])
            }
            try db.alter(table: "run") { t in t.add(column: "tracks_progress", .boolean).notNull().defaults(to: false) }
        }
        migrator.registerMigration("v11 a replaced entry keeps its maker") { db in
            // Results are found by content, so another workflow's step (run with --no-cache, say) may
            // make again an entry under the same key, and INSERT OR REPLACE would take it from the step
            // that made it first: `cache ls` no longer listed it there and `cache clear` of that
            // workflow removed nothing. The first maker keeps it as a result it took, as recent as it
            // was; the new maker's note of having taken it goes, since it is now its own.
            try db.execute(sql: """
                CREATE TRIGGER cache_entry_replaced BEFORE INSERT ON cache_entry
                WHEN EXISTS (SELECT 1 FROM cache_entry WHERE key = NEW.key
                             AND NOT (workflow = NEW.workflow AND step = NEW.step AND ifnull(item, -1) = ifnull(NEW.item, -1)))
                BEGIN
                  INSERT OR REPLACE INTO cache_use (workflow, step, item, key, used_at)
                    SELECT workflow, step, ifnull(item, -1), key, max(created_at, ifnull(used_at, 0)) FROM cache_entry WHERE key = NEW.key;
                  DELETE FROM cache_use WHERE workflow = NEW.workflow AND step = NEW.step AND item = ifnull(NEW.item, -1) AND key = NEW.key;
                END
                """)
        }
        return migrator
    }

    /// `PRAGMA integrity_check`: "ok" when the database is whole.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }
}

extension JSONValue {
    init(json text: String) throws {
        self = try JSONValue(parsing: text)
    }
}


func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(text.utf8))
}
