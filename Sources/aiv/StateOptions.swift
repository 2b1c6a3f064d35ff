import AIVCore
import AIVStore
import ArgumentParser
import Foundation

/// Where aiv keeps its database, cache files and run folders.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Folder for aiv's database, cache and runs.", valueName: "dir"))
    var stateDirectory: String = ".aiv"

    var databasePath: String { stateDirectory + "/aiv.sqlite" }
    var blobs: BlobStore { BlobStore(path: stateDirectory + "/cache/files") }

    func openStore() throws -> Store {
        do {
            return try Store(path: databasePath)
        } catch {
            throw ValidationError("cannot open \(databasePath): \(error)")
        }
    }
}
