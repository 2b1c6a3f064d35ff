import Foundation

/// What a run keeps in its folder's `_aiv/`: `outputs.json`, every finished step's outputs by step
/// id, and `log.txt`, every step's log lines as each step ends, each line naming its step.
///
/// One file of each for the whole run rather than one per step: creating a file costs more than a
/// short step on most disks (ext4 here spends tens to hundreds of microseconds finding a free
/// inode), and a run of a thousand steps made two thousand of them. Both files are rewritten
/// whole, under a temporary name and then renamed, so a reader never finds half of one. They are
/// rewritten as steps finish, at most once a second (when writing them takes longer than a
/// twentieth of that, every twenty times as long as a write takes), and once more when the run
/// ends. A step that finishes sooner than that leaves a timer to write it when the time comes, so
/// quick steps followed by a long one are on disk while it runs. A process killed in between
/// leaves the folder's copy behind by at most that much: the run history has every step's log,
/// and the cache every result.
public final class RunRecord: @unchecked Sendable {
    private let lock = NSLock()
    private let folder: RunFolder
    /// The run's list of written files, saved with the record.
    private let files: RunFolderManifest
    private let now: @Sendable () -> Date
    private var outputs: [String: JSONValue] = [:]
    private var log = ""
    private var lastWritten: Date
    private var interval = 1.0
    private var unwritten = true
    /// A write is due later (a step finished less than `interval` after the last write).
    private var writeScheduled = false
    private var finished = false

    init(folder: RunFolder, files: RunFolderManifest, now: @escaping @Sendable () -> Date) {
        self.folder = folder
        self.files = files
        self.now = now
        self.lastWritten = now()
    }

    /// Takes a finished step's outputs and log; writes the files when a second has passed.
    func stepFinished(_ step: String, outputs stepOutputs: JSONValue?, log stepLog: String) {
        lock.withLock {
            if let stepOutputs { outputs[step] = stepOutputs }
            log += stepLog
            markUnwrittenLocked()
        }
    }

    /// An item of a `for_each` finished (and may have written files): the list of written files
    /// is saved as after a step, so a run killed in a for_each of thousands of items that never
    /// finished leaves its files known to the next run. Never written on the item's own thread:
    /// the write (the whole record) would hold the lock every other finishing item waits for, on
    /// a thread the concurrency pool needs.
    func itemFinished() {
        lock.withLock { markUnwrittenLocked(writesNow: false) }
    }

    private func markUnwrittenLocked(writesNow: Bool = true) {
        unwritten = true
        let since = now().timeIntervalSince(lastWritten)
        if writesNow, since >= interval {
            writeLocked()
        } else if !writeScheduled {
            writeScheduled = true
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + max(0.05, interval - since)) { [weak self] in
                self?.scheduledWrite()
            }
        }
    }

    private func scheduledWrite() {
        lock.withLock {
            writeScheduled = false
            if unwritten, !finished { writeLocked() }
        }
    }

    /// Writes what has not been written yet; called when the run ends, before the list of
    /// written files gets its final form.
    func finish() {
        lock.withLock {
            finished = true
            if unwritten { writeLocked(listingFiles: false) }
        }
    }

    private func writeLocked(listingFiles: Bool = true) {
        let started = Date()
        // A failed write of the record must not fail the run: the history and the cache hold the same.
        var text = JSONValue.object(outputs).prettyBytes
        text.append(UInt8(ascii: "\n"))
        try? AtomicFile.write(Data(text), to: folder.outputsPath)
        try? AtomicFile.write(Data(log.utf8), to: folder.logPath)
        // So a run killed from here on leaves the files it wrote listed, for the next run to remove.
        if listingFiles { files.save() }
        unwritten = false
        lastWritten = now()
        // Keeps the rewriting of a large record under about 5% of the run's time.
        interval = max(1, 20 * Date().timeIntervalSince(started))
    }
}
