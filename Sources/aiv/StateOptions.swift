import AIVCore
import AIVStore
import ArgumentParser
import Foundation

/// Where aiv keeps its database, cache files and run folders.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Folder for aiv's database, cache and runs.", valueName: "dir"))
    var stateDirectory: String = ".aiv"

    func validate() throws {
        try Self.checkFolder(stateDirectory, option: "--state-dir")
    }

    /// A folder option given as nothing (`--fixtures ""` would read the current folder) or naming
    /// a file is a mistake in the command line (64), said before anything is read or written.
    static func checkFolder(_ path: String?, option: String) throws {
        guard let path else { return }
        guard !path.isEmpty else { throw ValidationError("\(option) needs a folder; it was given nothing") }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
            throw ValidationError("\(option) '\(path)' is a file, not a folder")
        }
    }

    var absoluteState: String { Paths.resolve(stateDirectory, relativeTo: FileManager.default.currentDirectoryPath) }
    var databasePath: String { absoluteState + "/aiv.sqlite" }
    var blobs: BlobStore { BlobStore(path: absoluteState + "/cache/files") }

    /// The database when there is one: commands that only read it (`runs`, `cache ls`) must not
    /// leave a new `.aiv/` in whatever folder they were run from.
    /// One in a folder this user cannot write to is opened read-only.
    func openExistingStore() throws -> Store? {
        FileManager.default.fileExists(atPath: databasePath) ? try openStore(access: .readOnlyWhereUnwritable) : nil
    }

    func openStore(access: Store.Access = .readWrite) throws -> Store {
        do {
            return try Store(path: databasePath, access: access)
        } catch {
            // Not a mistake in the command line (64, with the usage): the state folder's problem.
            StandardError.write("aiv: cannot open \(databasePath): \(error)\n")
            throw ExitCode.failure
        }
    }
}
