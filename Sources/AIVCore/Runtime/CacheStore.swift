import Crypto
import Foundation

/// One cached step invocation: its outputs, the files it wrote (by content digest), and the
/// components of its key.
public struct CacheEntry: Sendable, Codable, Equatable {
    public struct File: Sendable, Codable, Equatable {
        public var path: String
        public var digest: String
        /// The bytes of a small file, kept in the entry itself rather than as a blob: storing a
        /// blob creates a file, which costs more than a short step (see `inlineLimit`).
        public var content: Data?
        public init(path: String, digest: String, content: Data? = nil) {
            self.path = path
            self.digest = digest
            self.content = content
        }

        /// Files up to this size are kept inside their cache entry.
        public static let inlineLimit = 64 << 10

        /// The file as stored in a cache entry (the bytes, if kept, in base64): the same document
        /// its `Codable` form gives, built without an encoder, which showed in a cached step's profile.
        public var jsonValue: JSONValue {
            var members: [String: JSONValue] = ["path": .string(path), "digest": .string(digest)]
            if let content { members["content"] = .string(content.base64EncodedString()) }
            return .object(members)
        }

        public init(json: JSONValue) throws(JSONParseError) {
            guard case .object(let members) = json, let path = members["path"]?.stringValue, let digest = members["digest"]?.stringValue else {
                throw JSONParseError(message: "a cached file needs a path and a digest", offset: 0)
            }
            var content: Data?
            if let text = members["content"]?.stringValue {
                guard let bytes = Data(base64Encoded: text) else { throw JSONParseError(message: "a cached file's content is not base64", offset: 0) }
                content = bytes
            }
            self.init(path: path, digest: digest, content: content)
        }
    }

    public var key: String
    /// The workflow file as `CacheEntry.workflowIdentity` gives it.
    public var workflow: String
    public var step: String
    public var item: Int?
    public var outputs: JSONValue
    public var files: [File]
    /// What the key was made of: what a later miss is explained against. Nil in an entry read
    /// for a hit, which has no use for them (decoding them was a tenth of a cached step).
    public var components: CacheKeyComponents?
    public var createdAt: Date
    public var runID: String
    public var duration: Double

    public init(key: String, workflow: String, step: String, item: Int?, outputs: JSONValue, files: [File],
                components: CacheKeyComponents?, createdAt: Date, runID: String, duration: Double) {
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

extension CacheEntry {
    /// Whether every file of the entry can be put back: kept inline, or as a blob still stored.
    public func filesAvailable(in blobs: BlobStore?) -> Bool {
        files.allSatisfy { $0.content != nil || blobs?.contains($0.digest) == true }
    }

    /// Whether the step's `cache: <time>` says this entry is too old.
    public func isExpired(for step: PlannedStep, now: Date) -> Bool {
        if case .timeToLive(let seconds) = step.cache { return now.timeIntervalSince(createdAt) > seconds }
        return false
    }
}

extension CacheKeyComponents {
    /// Why this invocation is not in the cache, said against the latest result of the same step
    /// and item: what changed, or that the result expired or its files are gone. `found` is the
    /// entry under this key that could not be used, if the caller found one.
    public func missReason(in cache: any CacheStore, found: CacheEntry?, workflow: String, step: PlannedStep, item: Int?, now: Date) -> String {
        if let entry = found {
            if entry.isExpired(for: step, now: now), case .timeToLive(let seconds) = step.cache {
                return "cached result is older than \(Durations.format(seconds))"
            }
            return "cached files were removed"
        }
        guard let previous = try? cache.latestEntry(workflow: workflow, step: step.id, item: item, dryRun: isDryRun),
              let earlier = previous.components else { return "no earlier result" }
        let changes = differences(from: earlier)
        return changes.isEmpty ? "result shared with another step was removed" : changes.joined(separator: ", ")
    }
}

/// Where step results are kept between runs. The SQLite store is the real one; tests use the
/// in-memory one.
public protocol CacheStore: Sendable {
    /// The entry with this key, if any; its `components` may be left out.
    func entry(forKey key: String) throws -> CacheEntry?
    /// The most recent entry for a step (and item) of a workflow, whatever its key: what a miss is explained against.
    func latestEntry(workflow: String, step: String, item: Int?) throws -> CacheEntry?
    /// The same, preferring an entry of the same kind of run (a dry run's, or a live one's).
    func latestEntry(workflow: String, step: String, item: Int?, dryRun: Bool) throws -> CacheEntry?
    /// Saves an entry; returns once it is committed, so that it survives the process being killed
    /// (a step reported finished must not lose its result that way). Concurrent saves may share
    /// one commit.
    func save(_ entry: CacheEntry) async throws
    /// Reads ahead what a run of `workflow` will likely ask for; an optimization, which a store
    /// may skip. Entries saved afterwards through the same store must still be found; entries
    /// another process saves meanwhile may be missed (the step then runs again).
    func prefetch(workflow: String) throws
    /// Notes that a step (and item) of `workflow` took `entry` from the cache. One another step
    /// made is remembered as this step's (what keeps a shared result through `cache gc` and lets
    /// `cache clear` of this workflow remove it); the step's own ends that.
    func noteTaken(_ entry: CacheEntry, workflow: String, step: String, item: Int?) throws
}

extension CacheStore {
    public func latestEntry(workflow: String, step: String, item: Int?, dryRun: Bool) throws -> CacheEntry? {
        try latestEntry(workflow: workflow, step: step, item: item)
    }
    public func prefetch(workflow: String) throws {}
    public func noteTaken(_ entry: CacheEntry, workflow: String, step: String, item: Int?) throws {}
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
/// back in a new run folder. Copies, not hard links: a user editing a file of one run folder in
/// place must not change the stored copy, nor the files of other runs.
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
            try AtomicFile.copy(file, to: target)
        }
        return digest
    }

    public func contains(_ digest: String) -> Bool {
        FileManager.default.fileExists(atPath: blobPath(digest))
    }

    /// Puts a stored file at `destination`, atomically, once it is known to hold what its name
    /// says: a blob whose bytes no longer hash to its digest (a disk fault, an edit in place)
    /// would hand out wrong bytes as a cache hit, so it is removed and `DamagedBlob` thrown, and
    /// the step runs again. Files over `Digest.fullHashLimit` are named by their size, time and
    /// ends rather than their whole content (see `Digest.file`), which a copy cannot re-check:
    /// those are restored as they are.
    public func restore(_ digest: String, to destination: String) throws {
        let source = blobPath(digest)
        guard let size = (try? FileManager.default.attributesOfItem(atPath: source))?[.size] as? Int, size <= Digest.fullHashLimit else {
            try AtomicFile.copy(source, to: destination)
            return
        }
        if try !Self.copy(source, to: destination, ifItHashesTo: digest) {
            remove(digest)
            throw DamagedBlob(digest: digest)
        }
    }

    /// Copies `source` to `path` through a hidden temporary file, hashing the bytes as they are
    /// copied (one read of the source, not one to check and one to copy), and renames the copy
    /// into place only when they hash to `digest`; false, with nothing left behind, otherwise.
    static func copy(_ source: String, to path: String, ifItHashesTo digest: String) throws -> Bool {
        guard let input = FileHandle(forReadingAtPath: source) else { throw AtomicFile.posixError(source) }
        defer { try? input.close() }
        let (temporary, descriptor) = try AtomicFile.openTemporary(for: path)
        let output = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            var hasher = SHA256()
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                try output.write(contentsOf: chunk)
            }
            try output.close()
            guard "sha256:" + Digest.hex(hasher.finalize()) == digest else {
                unlink(temporary)
                return false
            }
            guard rename(temporary, path) == 0 else { throw AtomicFile.posixError(path) }
            return true
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Digests of the stored blobs older than `age` seconds (for garbage collection: a younger blob
    /// may belong to a run that is about to save the cache entry pointing at it).
    public func digests(olderThan age: Double = 0) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return [] }
        let cutoff = Date().addingTimeInterval(-age)
        return enumerator.compactMap { $0 as? String }.filter { relative in
            let name = (relative as NSString).lastPathComponent
            guard !name.hasPrefix("."), name.contains("-") else { return false }
            let modified = (try? FileManager.default.attributesOfItem(atPath: "\(path)/\(relative)")[.modificationDate] as? Date) ?? .distantPast
            return modified < cutoff
        }.map { relative in
            let name = (relative as NSString).lastPathComponent
            return name.replacingOccurrences(of: "-", with: ":", options: [], range: name.range(of: "-"))
        }
    }

    /// How old a temporary copy must be before `removeUnfinishedCopies` takes it for a killed
    /// run's: far longer than storing a recording-sized file takes.
    public static let unfinishedCopyAge = 600.0

    /// Removes the temporary files (`AtomicFile.isTemporaryName`) older than `age` seconds that
    /// runs killed while storing a file left under the blob folder; returns how many.
    public func removeUnfinishedCopies(olderThan age: Double) -> Int {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        let cutoff = Date().addingTimeInterval(-age)
        var removed = 0
        for case let relative as String in enumerator where AtomicFile.isTemporaryName((relative as NSString).lastPathComponent) {
            let full = "\(path)/\(relative)"
            let modified = (try? FileManager.default.attributesOfItem(atPath: full)[.modificationDate] as? Date) ?? .distantFuture
            if modified < cutoff, unlink(full) == 0 { removed += 1 }
        }
        return removed
    }

    public func remove(_ digest: String) {
        try? FileManager.default.removeItem(atPath: blobPath(digest))
    }
}

/// A stored file whose content no longer matches its digest (it has been removed).
public struct DamagedBlob: Error, CustomStringConvertible {
    public var digest: String
    public var description: String { "a cached file was damaged (its content no longer matches \(digest.prefix(19))…) and was removed" }
}

extension CacheEntry {
    /// The workflow file as the cache knows it: its real path (absolute, symbolic links followed),
    /// so `wf.yaml`, `./wf.yaml` and the full path are one workflow to "why it ran", `cache clear`
    /// and `cache gc`, and two projects' `wf.yaml` sharing a state folder are two. A file deleted
    /// since its runs: its folder's real path and its name, as its runs stored it (the path as
    /// given when the folder is gone too).
    public static func workflowIdentity(_ file: String) -> String {
        func real(_ path: String) -> String? {
            guard let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        }
        if let resolved = real(file) { return resolved }
        let (folder, name) = AtomicFile.split(file)
        return real(folder).map { $0 == "/" ? "/" + name : $0 + "/" + name } ?? file
    }
}
