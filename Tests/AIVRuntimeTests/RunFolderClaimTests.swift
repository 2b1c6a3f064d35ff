@testable import AIVCore
import AIVTestSupport
import Foundation
import Testing

/// One run per run folder at a time, and what a killed run left half-written goes with the next.
@Suite struct RunFolderClaimTests {
    @Test func aFolderInUseIsRefusedNamingTheProcessThatHasIt() throws {
        let directory = TemporaryFolder()
        let folder = RunFolder(path: directory.path + "/run")
        let first = try folder.claim()
        // Another open file description conflicts with this one as another process's would.
        let refusal = #expect(throws: RunFolderInUse.self) { try folder.claim() }
        #expect(refusal?.holder == Int(getpid()))
        #expect(refusal?.description == "run folder '\(directory.path)/run' is in use by another aiv run (process \(getpid())); "
            + "wait for it to finish, or give --run-dir another folder")
        first.release()
        let second = try folder.claim()
        #expect(second.removedLeftovers.isEmpty)
    }

    @Test func afterARunThatDidNotEndItsTemporaryFilesAreRemovedAndNothingElse() throws {
        let directory = TemporaryFolder()
        let run = "run"
        // What a process killed mid-write leaves: its id still in the lock file, hidden temporary files.
        directory.write("\(run)/_aiv/lock", "4242\n")
        let leftovers = ["out/.s1.txt.k3x9-17.partial", "_aiv/.outputs.json.k3x9-18.partial", ".clip.mp4.partial-0A1B2C3D.mp4"]
        let kept = ["out/s1.txt", "out/.notes", "out/.a.partial", "out/.b.old.partial", "clip.mp4", ".aiv/blobs/.x.k3x9-1.partial"]
        for name in leftovers + kept { directory.write("\(run)/\(name)", "x") }
        let folder = RunFolder(path: directory.path + "/" + run, stateFolder: directory.path + "/" + run + "/.aiv")
        let claim = try folder.claim()
        #expect(claim.removedLeftovers == leftovers.sorted())
        for name in leftovers { #expect(!FileManager.default.fileExists(atPath: "\(folder.path)/\(name)"), "\(name)") }
        for name in kept { #expect(FileManager.default.fileExists(atPath: "\(folder.path)/\(name)"), "\(name) is not a leftover of this run folder") }
        #expect(try String(contentsOfFile: folder.lockPath, encoding: .utf8) == "\(getpid())\n")
        claim.release()
        #expect(try String(contentsOfFile: folder.lockPath, encoding: .utf8) == "", "an ended run leaves the lock file empty")
    }

    /// A folder whose last run ended is not searched: its lock file is empty.
    @Test func afterARunThatEndedTheFolderIsNotSearched() throws {
        let directory = TemporaryFolder()
        directory.write("run/_aiv/lock", "")
        directory.write("run/out/.s1.txt.k3x9-17.partial", "x")
        let claim = try RunFolder(path: directory.path + "/run").claim()
        #expect(claim.removedLeftovers.isEmpty)
        #expect(FileManager.default.fileExists(atPath: directory.path + "/run/out/.s1.txt.k3x9-17.partial"))
    }

    /// A run that ends while an attempt it gave up on is still writing leaves the folder marked
    /// unfinished, so the next run into it removes the temporary file that attempt leaves.
    @Test func aRunThatEndsBeforeItsAbandonedWorkLeavesTheFolderForTheNextRunToClean() async throws {
        let directory = TemporaryFolder()
        let folder = RunFolder(path: directory.path + "/run")
        let claim = try folder.claim()
        let abandoned = AbandonedWork()
        directory.write("run/.clip.mp4.partial-0A1B2C3D.mp4", "half")
        let busy = Task { _ = try? await Task.sleep(nanoseconds: 3_000_000_000) }
        abandoned.add(busy)
        #expect(await abandoned.settle(within: 0.1) == false)
        claim.keepMarkedUnfinished()
        claim.release()
        #expect(try String(contentsOfFile: folder.lockPath, encoding: .utf8) == "\(getpid())\n")
        let next = try folder.claim()
        #expect(next.removedLeftovers == [".clip.mp4.partial-0A1B2C3D.mp4"])
        busy.cancel()
        #expect(await abandoned.settle(within: 10) == true)
    }

    @Test func temporaryNamesAreTheOnesWritesUse() throws {
        let directory = TemporaryFolder()
        let made = URL(fileURLWithPath: try AtomicFile.temporaryPath(for: directory.path + "/vocabulary.json")).lastPathComponent
        for name in [made, ".a.txt.0-1.partial", ".語彙.json.zz9-120.partial", ".clip.mp4.partial-DEADBEEF.mp4"] {
            #expect(AtomicFile.isTemporaryName(name), "\(name)")
        }
        for name in [".partial", "a.txt.k-1.partial", ".notes.partial", ".x.abc.partial", ".x.AB-1.partial", ".x.ab-.partial",
                     ".x.-1.partial", ".clip.mp4.partial-XYZ.mp4", ".clip.partial-0A1B2C3D", ".partial-0A1B2C3D.mp4", "clip.mp4"] {
            #expect(!AtomicFile.isTemporaryName(name), "\(name)")
        }
    }
}
