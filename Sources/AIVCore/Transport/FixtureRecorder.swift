import AIVText
import Foundation

/// Collects the exchanges of a `--record` run and writes them, one YAML file per step, when the
/// run ends. Each file is written whole under a temporary name and renamed, so a crash leaves the
/// previous recording, never half a file.
public final class FixtureRecorder: @unchecked Sendable {
    public let folder: String
    public let workflow: String
    private let lock = NSLock()
    private var exchanges: [String: [RecordedExchange]] = [:]

    public init(folder: String, workflow: String) {
        self.folder = folder
        self.workflow = workflow
    }

    public func record(_ exchange: RecordedExchange) {
        lock.withLock { exchanges[exchange.step, default: []].append(exchange) }
    }

    public var recordedCount: Int { lock.withLock { exchanges.values.reduce(0) { $0 + $1.count } } }

    /// Writes the files of the steps that made calls; returns their paths. Items are sorted (the
    /// order of an item's own calls is kept), so two recordings of the same run diff cleanly.
    /// `destination`: another folder than `folder` (a failed run's recording is kept apart).
    ///
    /// The files are written together (`AtomicFile.writeTogether`, `renaming` running the
    /// renames), so a recording is replaced as a whole; temporary files a killed recording left
    /// beside them (over a minute old: a recording's own are there for milliseconds) are removed.
    @discardableResult
    public func flush(into destination: String? = nil, renaming: (() throws -> Void) throws -> Void = { try $0() }) throws -> [String] {
        let folder = destination ?? folder
        let byStep = lock.withLock { exchanges }
        guard !byStep.isEmpty else { return [] }
        try Folders.create(folder)
        var files: [(path: String, data: Data)] = []
        for step in byStep.keys.sorted() {
            let ordered = byStep[step]!.enumerated().sorted { a, b in
                (a.element.item ?? -1, a.offset) < (b.element.item ?? -1, b.offset)
            }.map(\.element)
            files.append((FixtureFile.path(folder: folder, step: step), Data(try FixtureFile.yaml(step: step, workflow: workflow, exchanges: ordered).utf8)))
        }
        // A long name's temporary files start with as much of it as fits (`AtomicFile.temporaryPath`).
        let prefixes = files.map { file -> String in
            let name = (file.path as NSString).lastPathComponent
            return name.utf8.count > 200 ? "." + FileNames.prefix(of: name, bytes: 200) : "." + name + "."
        }
        let leftOverBefore = Date().addingTimeInterval(-60)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where AtomicFile.isTemporaryName(name) && prefixes.contains(where: name.hasPrefix) {
            let modified = (try? FileManager.default.attributesOfItem(atPath: folder + "/" + name))?[.modificationDate] as? Date
            if let modified, modified < leftOverBefore { unlink(folder + "/" + name) }
        }
        try AtomicFile.writeTogether(files, renaming: renaming)
        return files.map(\.path)
    }
}
