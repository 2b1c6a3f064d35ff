import Foundation

/// One cached step invocation: its outputs, the files it wrote (by content digest), and the
/// components of its key.
public struct CacheEntry: Sendable, Codable, Equatable {
    public struct File: Sendable, Codable, Equatable {
        public var path: String
        public var digest: String
        public init(path: String, digest: String) {
            self.path = path
            self.digest = digest
        }
    }

    public var key: String
    public var workflow: String
    public var step: String
    public var item: Int?
    public var outputs: JSONValue
    public var files: [File]
    public var components: CacheKeyComponents
    public var createdAt: Date
    public var runID: String
    public var duration: Double

    public init(key: String, workflow: String, step: String, item: Int?, outputs: JSONValue, files: [File],
                components: CacheKeyComponents, createdAt: Date, runID: String, duration: Double) {
        self.key = key
        self.workflow = workflow
        self.step = step
        self.item = item
        self.outputs = outputs
        self.files = files
        self.components = components
        self.createdAt = createdAt
        self.runID = runID
        self.duration = duration
    }
}

/// Where step results are kept between runs. The SQLite store is the real one; tests use the
/// in-memory one.
public protocol CacheStore: Sendable {
    func entry(forKey key: String) throws -> CacheEntry?
    /// The most recent entry for a step (and item) of a workflow, whatever its key: what a miss is explained against.
    func latestEntry(workflow: String, step: String, item: Int?) throws -> CacheEntry?
    func save(_ entry: CacheEntry) throws
}

/// A cache that lives as long as the value; for tests.
public final class MemoryCacheStore: CacheStore, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: CacheEntry] = [:]
    private var order: [String] = []

    public init() {}

    public func entry(forKey key: String) throws -> CacheEntry? { lock.withLock { entries[key] } }

    public func latestEntry(workflow: String, step: String, item: Int?) throws -> CacheEntry? {
        lock.withLock {
            order.reversed().lazy.compactMap { self.entries[$0] }.first { $0.workflow == workflow && $0.step == step && $0.item == item }
        }
    }

    public func save(_ entry: CacheEntry) throws {
        lock.withLock {
            entries[entry.key] = entry
            order.removeAll { $0 == entry.key }
            order.append(entry.key)
        }
    }

    public var count: Int { lock.withLock { entries.count } }
}

/// Files produced by cached steps, stored once by content digest so a cache hit can put them
/// back in a new run folder (hard link when possible, else a copy).
public struct BlobStore: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    func blobPath(_ digest: String) -> String {
        let name = digest.replacingOccurrences(of: ":", with: "-")
        return "\(path)/\(name.prefix(9).suffix(2))/\(name)"
    }

    /// Stores a file, returning its digest.
    public func store(_ file: String) throws -> String {
        let digest = try Digest.file(file)
        let target = blobPath(digest)
        if !FileManager.default.fileExists(atPath: target) {
            try Folders.create((target as NSString).deletingLastPathComponent)
            let temporary = target + ".\(UUID().uuidString.prefix(8)).partial"
            if link(file, temporary) != 0 { try FileManager.default.copyItem(atPath: file, toPath: temporary) }
            guard rename(temporary, target) == 0 else { unlink(temporary); throw CocoaError(.fileWriteUnknown) }
        }
        return digest
    }

    public func contains(_ digest: String) -> Bool {
        FileManager.default.fileExists(atPath: blobPath(digest))
    }

    /// Puts a stored file at `destination`, atomically.
    public func restore(_ digest: String, to destination: String) throws {
        let source = blobPath(digest)
        try Folders.create((destination as NSString).deletingLastPathComponent)
        let temporary = destination + ".\(UUID().uuidString.prefix(8)).partial"
        if link(source, temporary) != 0 { try FileManager.default.copyItem(atPath: source, toPath: temporary) }
        guard rename(temporary, destination) == 0 else { unlink(temporary); throw CocoaError(.fileWriteUnknown) }
    }

    /// Digests of every stored blob (for garbage collection).
    public func allDigests() -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return [] }
        return enumerator.compactMap { ($0 as? String).map { ($0 as NSString).lastPathComponent } }
            .filter { !$0.hasSuffix(".partial") && $0.contains("-") }
            .map { name in name.replacingOccurrences(of: "-", with: ":", options: [], range: name.range(of: "-")) }
    }

    public func remove(_ digest: String) {
        try? FileManager.default.removeItem(atPath: blobPath(digest))
    }
}
