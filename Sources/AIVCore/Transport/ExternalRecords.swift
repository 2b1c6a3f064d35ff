import Foundation

/// What aiv created outside itself (a Notion page for a key), kept in the store so re-running
/// or resuming a workflow updates the same object instead of creating a twin.
public struct ExternalRecord: Sendable, Equatable {
    /// Where the key lives, e.g. `notion:<database id>:<key property>`.
    public var namespace: String
    public var key: String
    /// The object's id at the service (a page id).
    public var id: String
    public var url: String?
    /// A digest of what was last written, so an unchanged object is not written again.
    public var contentHash: String?

    public init(namespace: String, key: String, id: String, url: String?, contentHash: String?) {
        self.namespace = namespace
        self.key = key
        self.id = id
        self.url = url
        self.contentHash = contentHash
    }
}

/// Remembers external objects by key. The SQLite store implements it; a dry run uses one in memory.
public protocol ExternalRecordIndex: Sendable {
    func record(namespace: String, key: String) throws -> ExternalRecord?
    func save(_ record: ExternalRecord) throws
    func remove(namespace: String, key: String) throws
}

/// Keeps a record's link free of secrets before it reaches the store (a service that echoes the
/// token in a page URL must not put it in the database). Only the URL: the key and the id are
/// what later runs look objects up by, and the service's ids never hold a credential.
struct RedactingRecordIndex: ExternalRecordIndex {
    let base: any ExternalRecordIndex
    let secrets: Secrets

    func record(namespace: String, key: String) throws -> ExternalRecord? { try base.record(namespace: namespace, key: key) }

    func save(_ record: ExternalRecord) throws {
        var redacted = record
        redacted.url = record.url.map(secrets.redact)
        try base.save(redacted)
    }

    func remove(namespace: String, key: String) throws { try base.remove(namespace: namespace, key: key) }
}

public final class MemoryRecordIndex: ExternalRecordIndex, @unchecked Sendable {
    private let lock = NSLock()
    private var records: [String: ExternalRecord] = [:]

    public init() {}

    public func record(namespace: String, key: String) -> ExternalRecord? {
        lock.withLock { records["\(namespace)\u{0}\(key)"] }
    }

    public func save(_ record: ExternalRecord) {
        lock.withLock { records["\(record.namespace)\u{0}\(record.key)"] = record }
    }

    public func remove(namespace: String, key: String) {
        lock.withLock { records["\(namespace)\u{0}\(key)"] = nil }
    }

    public var count: Int { lock.withLock { records.count } }
}

/// Values fetched once per run and shared by every step and item (a database's schema).
public actor RunMemo {
    private var values: [String: Task<JSONValue, any Error>] = [:]

    public init() {}

    /// The value for `key`, made by `make` the first time; concurrent callers wait for the same
    /// fetch. A failed fetch is forgotten, so a later caller tries again.
    public func value(_ key: String, _ make: @escaping @Sendable () async throws -> JSONValue) async throws -> JSONValue {
        if let task = values[key] { return try await task.value }
        let task = Task { try await make() }
        values[key] = task
        do {
            return try await task.value
        } catch {
            values[key] = nil
            throw error
        }
    }
}

/// Serialises work per key: `withLock("notion:…:草") { … }` runs one body at a time for that key,
/// any number at once for different keys. With a folder, across processes too: two runs at once
/// (two streams sharing 草) must not both find no page and both create one.
public actor KeyedLocks {
    private var tails: [String: Task<Void, Never>] = [:]
    /// Where the lock files of other processes' runs are (`.aiv/locks`); nil: this process only.
    private let folder: String?

    public init(folder: String? = nil) {
        self.folder = folder
    }

    public func withLock<T: Sendable>(_ key: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = tails[key]
        let folder = folder
        let work = Task { () async throws -> T in
            await previous?.value
            guard let folder else { return try await body() }
            let lock = try await Self.lockFile(for: key, in: folder)
            defer { close(lock) }  // closing gives the lock back
            return try await body()
        }
        let tail = Task { _ = try? await work.value }
        tails[key] = tail
        defer { Task { await self.release(key, tail) } }
        return try await withTaskCancellationHandler { try await work.value } onCancel: { work.cancel() }
    }

    /// Lock files a key maps to: a fixed number, so the folder never grows with the keys; two
    /// keys sharing one only wait for each other across processes.
    static let lockFiles = 256

    /// An open descriptor holding an exclusive `flock` on the key's lock file. Polled without
    /// blocking, so a waiting run holds no thread and can be cancelled.
    static func lockFile(for key: String, in folder: String) async throws -> Int32 {
        try Folders.create(folder)
        let bucket = Int(Digest.sha256(Data(key.utf8)).prefix(4), radix: 16)! % lockFiles
        let path = "\(folder)/key-\(bucket).lock"
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw StepError("cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            guard code == EWOULDBLOCK else {
                close(descriptor)
                throw StepError("cannot lock \(path): \(String(cString: strerror(code)))")
            }
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                close(descriptor)
                throw error
            }
        }
        return descriptor
    }

    private func release(_ key: String, _ tail: Task<Void, Never>) async {
        await tail.value
        // Forget the key once nothing newer queued behind it.
        if let current = tails[key], current == tail { tails[key] = nil }
    }
}

/// Long-lived things a run opens once and its steps share (the OBS connection), by name.
public actor SessionStore {
    private var values: [String: any Sendable] = [:]
    private var making: [String: Task<any Sendable, any Error>] = [:]

    public init() {}

    /// The session for `key`, made by `make` the first time (concurrent callers share one making).
    /// A stored session that `isUsable` rejects (a dropped connection) is made anew, once for
    /// all the callers that find it so.
    public func value<T: Sendable>(_ key: String, isUsable: (T) -> Bool = { _ in true },
                                   make: @escaping @Sendable () async throws -> T) async throws -> T {
        if let value = values[key] as? T {
            if isUsable(value) { return value }
            values[key] = nil
        }
        if let task = making[key] { return try await task.value as! T }
        let task = Task<any Sendable, any Error> { try await make() }
        making[key] = task
        defer { making[key] = nil }
        let value = try await task.value as! T
        values[key] = value
        return value
    }
}

/// One entry of a vocabulary stock after a merge.
public struct StockMerge: Sendable, Equatable {
    public var entry: JSONValue
    /// Every source the entry was seen in, oldest first (one per stream).
    public var sources: [JSONValue]
    /// Whether the key was new to the stock.
    public var isNew: Bool

    public init(entry: JSONValue, sources: [JSONValue], isNew: Bool) {
        self.entry = entry
        self.sources = sources
        self.isNew = isNew
    }

    /// A known entry as it stays: its first wording of every field it has, and the fields it
    /// lacks (or holds as null) from the newer item (a field added to the analysis's schema
    /// reaches old entries; without it they were published with that field empty).
    public static func combined(known: JSONValue, with item: JSONValue) -> JSONValue {
        guard case .object(var fields) = known, case .object(let newer) = item else { return known }
        for (name, value) in newer where fields[name] == nil || fields[name] == .null { fields[name] = value }
        return .object(fields)
    }
}

/// A lasting collection of entries by normalised key, across runs: the "stock" an expression
/// seen in ten streams is one entry of, with ten sources. The SQLite store implements it; a dry
/// run uses one in memory.
public protocol StockStore: Sendable {
    /// Adds `source` to the entry with `key` (creating it from `entry` when new; a known entry
    /// keeps its first wording and gains the source once).
    func merge(stock: String, key: String, entry: JSONValue, source: JSONValue) throws -> StockMerge
}

public final class MemoryStockStore: StockStore, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: (entry: JSONValue, sources: [JSONValue])] = [:]

    public init() {}

    public func merge(stock: String, key: String, entry: JSONValue, source: JSONValue) -> StockMerge {
        lock.withLock {
            let id = "\(stock)\u{0}\(key)"
            guard var known = entries[id] else {
                entries[id] = (entry, [source])
                return StockMerge(entry: entry, sources: [source], isNew: true)
            }
            if !known.sources.contains(source) { known.sources.append(source) }
            known.entry = StockMerge.combined(known: known.entry, with: entry)
            entries[id] = known
            return StockMerge(entry: known.entry, sources: known.sources, isNew: false)
        }
    }
}
