import AIVText
import Foundation

/// The folder a run writes into, with the one way steps write files: inside it (no `..`, no
/// absolute path, no symbolic link leading out), under a temporary name first and then renamed,
/// so no file is ever half-written under its final name.
public struct RunFolder: Sendable {
    public let path: String
    /// Run metadata (outputs, logs) lives here, out of the way of the files steps write.
    public static let metadataFolder = "_aiv"
    /// The files this run's steps wrote or took back from the cache (relative paths).
    public let written = WrittenFiles()
    /// Who writes through this value (`step 'clips' item 2`), set for each step invocation: its
    /// writes claim their paths before a byte is written, so a second writer of a path fails
    /// before it replaces the first one's file. Nil for aiv's own writes.
    public var writer: String?
    /// A folder inside the run folder that steps must not write into either: aiv's state folder
    /// (database, cache), when the run folder holds it (`--run-dir .`). Relative, case-folded.
    let reserved: String?
    /// `path` normalized, what every resolved path starts with.
    private let root: String

    /// `stateFolder`: aiv's state folder, kept out of reach of the steps when it is inside `path`.
    public init(path: String, stateFolder: String? = nil) {
        self.path = path
        let root = Paths.normalize(path)
        self.root = root
        if let stateFolder = stateFolder.map(Paths.normalize), stateFolder.hasPrefix(root + "/") || stateFolder == root {
            reserved = String(stateFolder.dropFirst(root.count)).drop { $0 == "/" }.lowercased()
        } else {
            reserved = nil
        }
    }

    /// Where a step's input path points. A relative path names a file this run's steps wrote (an
    /// audio stretch cut by an earlier step, captions it extracted), else a file relative to the
    /// workflow: steps' file outputs are relative to the run folder, so a later step reads them as
    /// they are given, and the path (part of the cache key) is the same in every run. Only files
    /// written in this run count, so a file left in a reused run folder never stands in for an input.
    public func input(_ path: String, workflowDirectory: String) -> String {
        if !path.hasPrefix("/"), written.contains(path) {
            return Paths.resolve(path, relativeTo: self.path)
        }
        return Paths.resolve(path, relativeTo: workflowDirectory)
    }

    /// The absolute path of a file in the folder, after checking it stays inside.
    public func resolve(_ relative: String) throws(StepError) -> String {
        if let problem = OutputPaths.problem(with: relative) { throw StepError("output path \(problem)") }
        let normalized = Paths.normalize(relative)
        // Compared case-folded: on a case-insensitive disk `_AIV/` is the same folder.
        let folded = normalized.lowercased()
        if folded == Self.metadataFolder || folded.hasPrefix(Self.metadataFolder + "/") {
            throw StepError("output path '\(relative)' is inside '\(Self.metadataFolder)/', which aiv keeps for itself")
        }
        if let reserved, reserved.isEmpty {
            throw StepError("the run folder is aiv's state folder (its database and cache); give --run-dir another folder")
        }
        if let reserved, folded == reserved || folded.hasPrefix(reserved + "/") {
            throw StepError("output path '\(relative)' is inside aiv's state folder '\(reserved)/' (its database and cache)")
        }
        // Every part of the path below the folder that exists must be a real folder or file, not
        // a symbolic link: one could lead out, or be swapped for one that does after a check. An
        // lstat per part (a few microseconds each) and no memory of earlier checks; each part is
        // ended in place in one C string rather than built as a new one.
        var full = Array((root + "/" + normalized).utf8CString)
        let end = full.count - 1  // the terminating NUL
        var position = root.utf8.count + 1
        while position <= end {
            guard position == end || full[position] == CChar(UInt8(ascii: "/")) else {
                position += 1
                continue
            }
            let separator = full[position]
            full[position] = 0
            var status = stat()
            let found = lstat(full, &status) == 0
            let isLink = found && (status.st_mode & S_IFMT) == S_IFLNK
            let prefix = isLink ? String(cString: full) : ""
            full[position] = separator
            position += 1
            guard found else { break }  // nothing below a missing part exists
            guard isLink else { continue }
            let resolvedRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
            let target = URL(fileURLWithPath: prefix).resolvingSymlinksInPath().path
            if target == resolvedRoot || target.hasPrefix(resolvedRoot + "/") {
                let link = String(prefix.dropFirst(root.count + 1))
                throw StepError("output path '\(relative)' goes through the symbolic link '\(link)'; aiv does not follow links inside a run folder")
            }
            throw StepError("output path '\(relative)' leads out of the run folder through a symbolic link")
        }
        return Paths.normalize(root + "/" + normalized)
    }

    /// The absolute path a step writes `relative` at (`resolve`), taken for its writer first.
    public func resolveForWriting(_ relative: String) throws(StepError) -> String {
        let full = try resolve(relative)
        if let writer, let other = written.claim(relative, by: writer) {
            throw StepError("writes '\(Paths.normalize(relative))', which \(other) also writes in this run; give each its own output path")
        }
        return full
    }

    /// Writes `data` to `relative` atomically and returns the relative path written.
    @discardableResult
    public func write(_ data: Data, to relative: String) throws(StepError) -> String {
        // A step that timed out or was stopped, still running in the background, writes nothing more.
        if Task.isCancelled { throw StepError("cancelled before writing '\(relative)'") }
        let full = try resolveForWriting(relative)
        do {
            try AtomicFile.write(data, to: full)
        } catch {
            // The reason alone: the path a step gave is named, not the temporary file beside it.
            throw StepError("cannot write '\(relative)': \((error as? FileProblem)?.reason ?? error.localizedDescription)")
        }
        written.record(relative, digest: nil)
        return Paths.normalize(relative)
    }

    /// Every step's outputs, by step id: `_aiv/outputs.json` (see `RunRecord`).
    public var outputsPath: String { "\(path)/\(Self.metadataFolder)/outputs.json" }

    /// Every step's log: `_aiv/log.txt`.
    public var logPath: String { "\(path)/\(Self.metadataFolder)/log.txt" }

    /// Where runs before `_aiv/outputs.json` kept a step's log; `aiv runs log` still reads it.
    public func legacyLogPath(step: String) -> String {
        "\(path)/\(Self.metadataFolder)/steps/\(step).log"
    }
}

/// A file operation the system refused, with the system's reason ("No space left on device").
public struct FileProblem: Error, CustomStringConvertible, LocalizedError {
    public var path: String
    public var code: Int32
    public var reason: String { String(cString: strerror(code)) }
    public var description: String { "\(path): \(reason)" }
    public var errorDescription: String? { description }
}

/// Writing a file so that it appears whole or not at all.
public enum AtomicFile {
    /// Writes to a temporary file beside the target, then renames it over the target: a process
    /// killed at any moment leaves the old file or the new one, never a mix. There is no fsync:
    /// it would protect against a machine losing power, not a process dying, and costs a disk
    /// flush per file (most of a short step's time).
    public static func write(_ data: Data, to path: String) throws {
        let temporary = try writeTemporary(data, for: path)
        if rename(temporary, path) != 0 {
            let failure = posixError(path)
            unlink(temporary)
            throw failure
        }
    }

    /// Writes several files so that a process killed while they are written leaves the old set:
    /// all are written under temporary names first, then renamed one after another. Only those
    /// renames (a few system calls) can leave some files new and some old, on a kill -9 or a
    /// rename refused: `renaming` runs them, so a caller can hold the signals it handles for
    /// that moment. A target that is a folder is found before anything is renamed.
    public static func writeTogether(_ files: [(path: String, data: Data)],
                                     renaming: (() throws -> Void) throws -> Void = { try $0() }) throws {
        var temporaries: [String] = []
        do {
            for file in files {
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: file.path, isDirectory: &isFolder), isFolder.boolValue {
                    throw FileProblem(path: file.path, code: EISDIR)
                }
                temporaries.append(try writeTemporary(file.data, for: file.path))
            }
        } catch {
            for temporary in temporaries { unlink(temporary) }
            throw error
        }
        try renaming {
            for (index, (temporary, file)) in zip(temporaries, files).enumerated() where rename(temporary, file.path) != 0 {
                let failure = posixError(file.path)
                for rest in temporaries[index...] { unlink(rest) }
                throw failure
            }
        }
    }

    /// `data` written whole to a new temporary file beside `path`; its name returned.
    private static func writeTemporary(_ data: Data, for path: String) throws -> String {
        // POSIX calls: FileManager.createFile itself writes through a temporary file and a rename,
        // which doubled the file operations of every step.
        let (temporary, descriptor) = try openTemporary(for: path)
        var failure: (any Error)?
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = posixError(temporary)
                    return
                }
                offset += written
            }
        }
        if close(descriptor) != 0, failure == nil { failure = posixError(temporary) }
        if let failure {
            unlink(temporary)
            throw failure
        }
        return temporary
    }

    /// A new hidden temporary file beside `path`, open for writing. A name taken (left by a
    /// killed process, or another one's) is never touched: the next is tried.
    static func openTemporary(for path: String) throws -> (path: String, descriptor: Int32) {
        var temporary = try temporaryPath(for: path)
        var descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        for _ in 0..<8 where descriptor < 0 && errno == EEXIST {
            temporary = try temporaryPath(for: path)
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard descriptor >= 0 else { throw posixError(temporary) }
        return (temporary, descriptor)
    }

    /// The error `errno` says, for `path`: its message is the system's reason ("No space left on
    /// device"), which Foundation's file errors hid behind "NSCocoaErrorDomain error 512".
    static func posixError(_ path: String) -> any Error {
        FileProblem(path: path, code: errno)
    }

    /// Copies `source` to `path` the same way: a hidden temporary copy, then a rename.
    public static func copy(_ source: String, to path: String) throws {
        var temporary = try temporaryPath(for: path)
        // As in `write`, a name already taken is left alone and the next one tried.
        for _ in 0..<8 where FileManager.default.fileExists(atPath: temporary) { temporary = try temporaryPath(for: path) }
        do {
            try FileManager.default.copyItem(atPath: source, toPath: temporary)
            guard rename(temporary, path) == 0 else { throw posixError(path) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// `.name.<random>-<n>.partial` beside `path` (its folder created): hidden, and never the final name.
    static func temporaryPath(for path: String) throws -> String {
        // Split at the last slash by hand: `NSString`'s path methods cost about 20,000
        // instructions each, a sizeable part of writing a small file.
        let (directory, name) = split(path)
        try Folders.create(directory)
        // Within the file system's limit on a name: the tag makes it unique, the stem only says whose it is.
        let suffix = ".\(temporaryNames.next()).partial"
        return "\(directory)/.\(FileNames.prefix(of: name, bytes: FileNames.maximumBytes - 1 - suffix.utf8.count))\(suffix)"
    }

    /// A file path's folder and name: `a/b/c.txt` → (`a/b`, `c.txt`), `/c.txt` → (`/`, `c.txt`), `c.txt` → (`.`, `c.txt`).
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    /// A random prefix drawn once per process and a counter: unique among this process's writes,
    /// and apart from another process's even with the same process id (containers sharing a
    /// cache). A UUID per name read /dev/urandom for every file written.
    private static let temporaryNames = TemporaryNames()

    private final class TemporaryNames: @unchecked Sendable {
        private let lock = NSLock()
        private var counter = 0
        private let process = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        func next() -> String { lock.withLock { counter += 1; return "\(process)-\(counter)" } }
    }
}

/// Creates folders, remembering the ones made (or found) in this process: a run writes thousands
/// of files into a few folders, and `createDirectory` walks every component each time.
public enum Folders {
    private static let known = KnownFolders()

    public static func create(_ path: String) throws {
        if path.isEmpty || path == "/" || path == "." || known.contains(path) { return }
        // One mkdir when the parent exists (the common case); the parent first when it does not.
        if mkdir(path, 0o755) != 0 {
            switch errno {
            case EEXIST:
                try requireFolder(path)
            case ENOENT:
                try create((path as NSString).deletingLastPathComponent)
                if mkdir(path, 0o755) != 0 {
                    if errno == EEXIST { try requireFolder(path) } else { throw FolderProblem(path: path, reason: String(cString: strerror(errno))) }
                }
            case ENOTDIR:
                throw FolderProblem(path: path, reason: "a part of the path is a file, not a folder")
            default:
                throw FolderProblem(path: path, reason: String(cString: strerror(errno)))
            }
        }
        known.insert(path)
    }

    /// Throws when `path` exists but is not a folder (a file where `.aiv/runs` should be).
    private static func requireFolder(_ path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFDIR else { return }
        throw FolderProblem(path: path, reason: "it is a file, not a folder")
    }

    /// A folder that cannot be made, said plainly (Foundation's errors print as "NSCocoaErrorDomain error 512").
    public struct FolderProblem: Error, CustomStringConvertible, LocalizedError {
        public var path: String
        public var reason: String
        public var description: String { "cannot create the folder '\(path)': \(reason)" }
        public var errorDescription: String? { description }
    }

    private final class KnownFolders: @unchecked Sendable {
        private let lock = NSLock()
        private var paths: Set<String> = []
        func contains(_ path: String) -> Bool { lock.withLock { paths.contains(path) } }
        func insert(_ path: String) { _ = lock.withLock { paths.insert(path) } }
    }
}

/// The relative paths of the files a run's steps wrote, shared by every copy of its `RunFolder`,
/// with their content digests when the cache gave or took them. A file taken back from the cache
/// is known by the digest it was stored under: a restored copy has a new modification time, which
/// the digest of a very large file would otherwise take in.
public final class WrittenFiles: @unchecked Sendable {
    private let lock = NSLock()
    // By bytes: two Unicode forms of a name are two files on Linux.
    private var paths: Set<ExactPath> = []
    private var digests: [ExactPath: String] = [:]
    private var writers: [ExactPath: String] = [:]

    public init() {}

    /// Takes `path` for one writer of this run (`step 'clips' item 2`); returns the writer that
    /// already has it when that is another. Two items or steps writing one path would overwrite
    /// each other's file in whatever order they finish: the run says so instead.
    public func claim(_ path: String, by writer: String) -> String? {
        let normalized = ExactPath(Paths.normalize(path))
        return lock.withLock {
            if let other = writers[normalized], other != writer { return other }
            writers[normalized] = writer
            return nil
        }
    }

    /// A file written now: `digest` is the one the cache stored it under, or nil when it was just
    /// made (its digest is then taken from the file, and any the cache gave no longer holds).
    public func record(_ path: String, digest: String?) {
        let normalized = ExactPath(Paths.normalize(path))
        lock.withLock {
            paths.insert(normalized)
            digests[normalized] = digest
        }
    }

    /// Every path recorded (relative, normalized).
    public var all: [String] { lock.withLock { paths.map(\.path) } }

    public func contains(_ path: String) -> Bool {
        guard OutputPaths.problem(with: path) == nil else { return false }
        let normalized = ExactPath(Paths.normalize(path))
        return lock.withLock { paths.contains(normalized) }
    }

    /// The digest the cache knows the file by, if it does.
    public func digest(_ path: String) -> String? {
        guard OutputPaths.problem(with: path) == nil else { return nil }
        let normalized = ExactPath(Paths.normalize(path))
        return lock.withLock { digests[normalized] }
    }
}
