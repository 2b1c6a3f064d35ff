import Foundation

/// The files a run wrote into its folder, kept as `_aiv/files.json` with each file's size and
/// modification time, so that a later run of the same workflow into the same folder (`--run-dir`)
/// can take away what it no longer makes: the fifth Short of a stream that now has four, a file of
/// a step that is now skipped. Left there, such files pass for this run's output and get uploaded
/// with it. The lists are kept per workflow: another workflow run into the folder leaves them be.
///
/// Only a run that succeeds removes anything (one that stops part way has not made everything it
/// would), and only files an earlier run listed and nobody has changed since (same size, same
/// modification time): a file edited or replaced by hand is the user's, and stays. A run that fails
/// carries the earlier list forward, so the next run that succeeds still knows those files.
enum RunFolderManifest {
    struct Entry: Equatable {
        var size: Int64
        /// Nanoseconds since 1970, as the file system gives them.
        var modified: Int64
    }

    static func path(in folder: RunFolder) -> String { "\(folder.path)/\(RunFolder.metadataFolder)/files.json" }

    /// Writes this run's list and, after a success, removes what the earlier list has and this run
    /// did not write. Returns the removed paths (relative, sorted). Never fails the run: a list that
    /// cannot be read or written costs a later run its clean-up, not this run its result.
    static func update(_ folder: RunFolder, workflow: String, succeeded: Bool) -> [String] {
        var lists = read(path(in: folder))
        let earlier = lists[workflow] ?? [:]
        var now: [String: Entry] = [:]
        for relative in folder.written.all {
            if let entry = entry(of: "\(folder.path)/\(relative)") { now[relative] = entry }
        }
        // A file this run wrote is this workflow's now, whichever wrote it before.
        for other in lists.keys where other != workflow {
            lists[other] = lists[other]?.filter { now[$0.key] == nil }
        }
        var removed: [String] = []
        for (relative, entry) in earlier where now[relative] == nil {
            // Outside the folder, or inside aiv's own: not something a run wrote.
            guard OutputPaths.problem(with: relative) == nil, let full = try? folder.resolve(relative) else { continue }
            guard Self.entry(of: full) == entry else { continue }  // changed or gone: not ours to remove
            if succeeded {
                if unlink(full) == 0 {
                    removed.append(relative)
                    removeEmptyFolders(above: relative, in: folder)
                }
            } else {
                now[relative] = entry
            }
        }
        if !now.isEmpty || !lists.isEmpty {
            lists[workflow] = now
            // JSONValue's own writer: Foundation's JSONEncoder costs milliseconds for a thousand files.
            let encoded = lists.filter { !$0.value.isEmpty }.mapValues { files in
                JSONValue.object(files.mapValues { JSONValue.object(["size": .int(Int($0.size)), "modified": .int(Int($0.modified))]) })
            }
            try? AtomicFile.write(Data(JSONValue.object(["workflows": .object(encoded)]).canonicalBytes), to: path(in: folder))
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
                guard case .int(let size)? = entry["size"], case .int(let modified)? = entry["modified"] else { continue }
                entries[relative] = Entry(size: Int64(size), modified: Int64(modified))
            }
            lists[workflow] = entries
        }
        return lists
    }

    /// Size and modification time of a regular file (not followed through a symbolic link).
    static func entry(of path: String) -> Entry? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        #if os(Linux)
        let time = info.st_mtim
        #else
        let time = info.st_mtimespec
        #endif
        return Entry(size: Int64(info.st_size), modified: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
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
