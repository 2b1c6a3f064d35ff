import Foundation

/// Another run holds the run folder: two runs writing the same files would overwrite each other's.
public struct RunFolderInUse: Error, CustomStringConvertible, Sendable {
    public var folder: String
    /// The process that holds it, when the lock file names one.
    public var holder: Int?
    public var description: String {
        "run folder '\(folder)' is in use by another aiv run\(holder.map { " (process \($0))" } ?? ""); "
            + "wait for it to finish, or give --run-dir another folder"
    }
}

extension RunFolder {
    /// A run's hold on its folder, from `claim()` until `release()` (or the process ends).
    ///
    /// An exclusive `flock` on `_aiv/lock`, which holds the process id while the run goes on and is
    /// emptied when it ends: the kernel lets go of the lock when a process dies, even by
    /// `kill -9`, and a lock file left non-empty says that the last run in the folder did not end.
    /// Only then is the folder searched for the temporary files a killed write leaves (see
    /// `AtomicFile.isTemporaryName`), so a run into a folder whose last run ended costs no walk.
    public final class Claim: @unchecked Sendable {
        private var descriptor: Int32
        /// Temporary files a run that did not end left behind, removed when the folder was claimed.
        public let removedLeftovers: [String]

        init(descriptor: Int32, removedLeftovers: [String]) {
            self.descriptor = descriptor
            self.removedLeftovers = removedLeftovers
        }

        private var unfinished = false

        /// Marks the run as ended and lets go of the folder.
        public func release() {
            guard descriptor >= 0 else { return }
            if !unfinished { _ = ftruncate(descriptor, 0) }
            close(descriptor)
            descriptor = -1
        }

        /// Lets `release()` leave the folder marked as a run that did not end: work it gave up on
        /// is still writing, and the next run into the folder removes what that leaves.
        public func keepMarkedUnfinished() {
            unfinished = true
        }

        deinit { release() }
    }

    public var lockPath: String { "\(path)/\(Self.metadataFolder)/lock" }

    /// Takes the folder for one run: throws `RunFolderInUse` when another process has it, and
    /// removes what a run that did not end left half-written. The lock file then holds the
    /// process id and, when given, the run's id (`4242 20261127-101500-a1b2c3`).
    public func claim(runID: String? = nil) throws -> Claim {
        try Folders.create("\(path)/\(Self.metadataFolder)")
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { throw AtomicFile.posixError(lockPath) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.contents(of: descriptor).split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
            close(descriptor)
            throw RunFolderInUse(folder: path, holder: holder)
        }
        let unfinished = !Self.contents(of: descriptor).isEmpty
        let removed = unfinished ? removeLeftovers() : []
        let pid = Array("\(getpid())\(runID.map { " " + $0 } ?? "")\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        return Claim(descriptor: descriptor, removedLeftovers: removed)
    }

    /// Whether a live process holds the run folder at `path` for run `runID` (process `pid`):
    /// true or false, or nil when the folder has no lock file (removed, or never claimed). What
    /// run history asks of a run still marked running: a process id alone misleads, as ids are
    /// reused and a container's first process is always 1, but the kernel drops the lock with
    /// the process, and the lock names the run that holds it. A held lock is seen without taking
    /// it; a free one is taken, shared, for an instant (a run claiming the folder in that instant
    /// is told it is in use, and can retry).
    public static func isHeld(_ path: String, runID: String, pid: Int) -> Bool? {
        let descriptor = open("\(path)/\(metadataFolder)/lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(descriptor, LOCK_UN)
            return false
        }
        guard errno == EWOULDBLOCK else { return nil }
        // Held, but by a later run into the same folder when the run it names is another (a
        // lock written without a run id names its process only).
        let holder = contents(of: descriptor).split(whereSeparator: \.isWhitespace)
        return holder.count > 1 ? String(holder[1]) == runID : holder.first.flatMap { Int($0) } == pid
    }

    private static func contents(of descriptor: Int32) -> String {
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = pread(descriptor, &bytes, bytes.count, 0)
        return count > 0 ? String(decoding: bytes.prefix(count), as: UTF8.self) : ""
    }

    /// Removes temporary files below the folder (relative paths returned, sorted). Symbolic links
    /// are not followed, and aiv's state folder, when inside, is left alone: another run may be
    /// writing its blobs.
    func removeLeftovers() -> [String] {
        var removed: [String] = []
        func walk(_ relative: String) {
            let absolute = relative.isEmpty ? path : "\(path)/\(relative)"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: absolute) else { return }
            for name in names {
                let child = relative.isEmpty ? name : "\(relative)/\(name)"
                var status = stat()
                guard lstat("\(path)/\(child)", &status) == 0 else { continue }
                switch status.st_mode & S_IFMT {
                case S_IFDIR:
                    if let reserved, !reserved.isEmpty, child.lowercased() == reserved { continue }
                    walk(child)
                case S_IFREG where AtomicFile.isTemporaryName(name):
                    if unlink("\(path)/\(child)") == 0 { removed.append(child) }
                default:
                    continue
                }
            }
        }
        if reserved?.isEmpty != true { walk("") }
        return removed.sorted()
    }
}

extension AtomicFile {
    /// Whether a file name is one a write in progress uses: `.<name>.<random>-<n>.partial`
    /// (`temporaryPath(for:)`), or `.<name>.partial-<8 hex digits>.<extension>`, the name media
    /// files are written under before they are renamed (AIVMedia's `temporaryPath(for:extension:)`:
    /// clips, reframed clips and the captions drawn on them).
    public static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix("."), name.count > ".partial".count + 1 else { return false }
        if name.hasSuffix(".partial") {
            // `<random>-<n>` before the suffix: base-36 letters and digits, a dash, digits.
            let stem = name.dropLast(".partial".count)
            guard let dot = stem.lastIndex(of: "."), dot != stem.startIndex else { return false }
            let tag = stem[stem.index(after: dot)...].split(separator: "-", omittingEmptySubsequences: false)
            return tag.count == 2 && !tag[0].isEmpty && tag[0].allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber) }
                && !tag[1].isEmpty && tag[1].allSatisfy { $0.isASCII && $0.isNumber }
        }
        guard let marker = name.range(of: ".partial-", options: .backwards) else { return false }
        let rest = name[marker.upperBound...]
        let hex = rest.prefix(8)
        // A name between the leading dot and the marker.
        return name.distance(from: name.startIndex, to: marker.lowerBound) >= 2 && hex.count == 8 && hex.allSatisfy(\.isHexDigit)
            && rest.dropFirst(8).first == "." && rest.count > 9
    }
}
