import Foundation

/// The files a run wrote into its folder, kept as `_aiv/files.json` with each file's size and
/// modification time, so that a later run of the same workflow into the same folder (`--run-dir`)
/// can take away what it no longer makes: the fifth Short of a stream that now has four, a file of
/// a step that is now skipped. Left there, such files pass for this run's output and get uploaded
/// with it. The lists are kept per workflow: another workflow run into the folder leaves them be.
///
/// Only a run whose every step succeeded removes anything (one that stopped part way, or whose
/// `continue_on_error` step failed, has not made everything it would), and only files an earlier
/// run listed and nobody has changed since (same size, modification and status-change times): a
/// file edited or replaced by hand is the user's, and stays. Any other run carries the earlier
/// list forward, so the next run that succeeds still knows those files; while a run goes on, the
/// list is saved with its record (`RunRecord`), so a run that is killed leaves it too.
///
/// One per run: the earlier lists are read once, when the run starts, and kept in memory as the
/// run saves its own.
final class RunFolderManifest: @unchecked Sendable {
    struct Entry: Equatable {
        var size: Int64
        /// Nanoseconds since 1970, as the file system gives them. The status-change time moves
        /// whenever a file is replaced, renamed onto or linked, even by a copy that keeps the
        /// modification time (`cp -p`, `rsync -a`).
        var modified: Int64
        var changed: Int64
    }

    /// A file as the system knows it, whatever name reaches it.
    struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    static func path(in folder: RunFolder) -> String { "\(folder.path)/\(RunFolder.metadataFolder)/files.json" }

    private let lock = NSLock()
    private let folder: RunFolder
    private let workflow: String
    /// Every workflow's list, this run's as last saved.
    private var lists: [String: [String: Entry]]

    init(folder: RunFolder, workflow: String) {
        self.folder = folder
        self.workflow = workflow
        lists = Self.read(Self.path(in: folder))
    }

    /// Saves the list as the run has it so far, the earlier run's files carried forward.
    func save() {
        lock.withLock { _ = updateLocked(succeeded: false) }
    }

    /// Saves this run's list and, when `succeeded`, removes what the earlier list has and this run
    /// did not write. Returns the removed paths (relative, sorted). Never fails the run: a list that
    /// cannot be read or written costs a later run its clean-up, not this run its result.
    func finish(succeeded: Bool) -> [String] {
        lock.withLock { updateLocked(succeeded: succeeded) }
    }

    private func updateLocked(succeeded: Bool) -> [String] {
        let earlier = lists[workflow] ?? [:]
        var now: [String: Entry] = [:]
        // Names as the file system compares them, byte for byte: a Swift `String` counts two
        // Unicode forms of a name equal, which are two files on Linux.
        var written: Set<ExactPath> = []
        var made: Set<FileID> = []
        for relative in folder.written.all {
            if let (entry, id) = Self.stat("\(folder.path)/\(relative)") {
                now[relative] = entry
                written.insert(ExactPath(relative))
                made.insert(id)
            }
        }
        // A file this run wrote is this workflow's now, whichever wrote it before.
        for other in lists.keys where other != workflow {
            lists[other] = lists[other]?.filter { !written.contains(ExactPath($0.key)) }
        }
        var removed: [String] = []
        for (relative, entry) in earlier where !written.contains(ExactPath(relative)) {
            // Outside the folder, inside aiv's own, or not as a run records a path: not something a run wrote.
            guard OutputPaths.problem(with: relative) == nil, Paths.normalize(relative) == relative,
                  let full = try? folder.resolve(relative) else { continue }
            // Changed or gone: not ours to remove. Reached by this run under another name (a
            // case-insensitive disk, another Unicode form): this run's own file.
            guard let (found, id) = Self.stat(full), found == entry, !made.contains(id) else { continue }
            if succeeded {
                if unlink(full) == 0 {
                    removed.append(relative)
                    Self.removeEmptyFolders(above: relative, in: folder)
                }
            } else {
                now[relative] = entry
            }
        }
        if !now.isEmpty || !lists.isEmpty {
            lists[workflow] = now
            // JSONValue's own writer: Foundation's JSONEncoder costs milliseconds for a thousand files.
            let encoded = lists.filter { !$0.value.isEmpty }.mapValues { files in
                JSONValue.object(files.mapValues { JSONValue.object(["size": .int(Int($0.size)), "modified": .int(Int($0.modified)), "changed": .int(Int($0.changed))]) })
            }
            try? AtomicFile.write(Data(JSONValue.object(["workflows": .object(encoded)]).canonicalBytes), to: Self.path(in: folder))
        }
        return removed.sorted()
    }

    /// The lists earlier runs left, by workflow; empty when there are none or they cannot be read.
    static func read(_ path: String) -> [String: [String: Entry]] {
        guard let data = FileManager.default.contents(atPath: path), let value = try? JSONValue(parsing: data),
              case .object(let workflows)? = value["workflows"] else { return [:] }
        var lists: [String: [String: Entry]] = [:]
        for (workflow, files) in workflows {
            guard case .object(let files) = files else { continue }
            var entries: [String: Entry] = [:]
            for (relative, entry) in files {
                // Whole numbers kept exact: nanoseconds since 1970 are past what a Double holds exactly.
                guard case .int(let size)? = entry["size"], case .int(let modified)? = entry["modified"],
                      case .int(let changed)? = entry["changed"] else { continue }
                entries[relative] = Entry(size: Int64(size), modified: Int64(modified), changed: Int64(changed))
            }
            lists[workflow] = entries
        }
        return lists
    }

    /// A regular file's size and times, and its identity (not followed through a symbolic link).
    static func stat(_ path: String) -> (Entry, FileID)? {
        guard let stamp = FileStamp.of(path, followingLinks: false), stamp.isRegularFile else { return nil }
        return (Entry(size: stamp.size, modified: stamp.modified, changed: stamp.changed), FileID(device: stamp.device, inode: stamp.inode))
    }

    /// Removes the folders `relative` was in, from the deepest up, while they are empty (a
    /// `shorts/` that held only removed clips); never the run folder itself.
    static func removeEmptyFolders(above relative: String, in folder: RunFolder) {
        var parts = relative.split(separator: "/").dropLast()
        while !parts.isEmpty {
            guard rmdir("\(folder.path)/\(parts.joined(separator: "/"))") == 0 else { return }
            parts = parts.dropLast()
        }
    }
}
