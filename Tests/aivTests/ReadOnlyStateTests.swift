import AIVStore
import Foundation
import Testing

/// A state folder this user cannot write to (a colleague's, a CI artifact, a read-only mount)
/// can still be read: its runs, its cache and what a plan would take from it. A run says why it
/// cannot use it. As root, which writes anywhere, aiv is run as `nobody` (through setpriv).
@Suite struct ReadOnlyStateTests {
    /// Closed cleanly (no WAL file: opened as immutable, through a URI file name, which the
    /// characters in the folder's name must survive) or with a WAL file left by the last run.
    @Test(arguments: [true, false])
    func aReadOnlyStateFolderCanBeReadButNotRunInto(closedCleanly: Bool) async throws {
        let folder = NSTemporaryDirectory() + "aiv-readonly %41?#-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer {
            _ = try? CommandRunner.runBlocking(["-R", "u+w", folder], in: "/", environment: [:], timeout: 10, killAfter: nil, killWhen: nil,
                                               signal: SIGKILL, signalTimes: 1, executable: "/bin/chmod")
            try? FileManager.default.removeItem(atPath: folder)
        }
        try "name: ro\nsteps:\n  - {id: note, uses: file.write, with: {path: note.txt, content: hello}}\n"
            .write(toFile: folder + "/ro.yaml", atomically: true, encoding: .utf8)
        let first = try await CommandRunner.run(["run", "ro.yaml"], in: folder)
        #expect(first.status == 0, "\(first.stderr)")
        // A run leaves its WAL file; a command that closes the database takes it away.
        if closedCleanly { _ = try await CommandRunner.run(["runs"], in: folder) }
        #expect(FileManager.default.fileExists(atPath: folder + "/.aiv/aiv.sqlite-wal") == !closedCleanly)
        // `nobody` may not reach the build folder (a clone under /root, which is private): a copy
        // of the binary beside the workflow runs.
        let binary = folder + "/bin/aiv"
        // Everything readable by all, nothing writable by anyone.
        try FileManager.default.createDirectory(atPath: folder + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CommandRunner.binary, toPath: binary)
        let chmod = try await CommandRunner.run(["-R", "a+rX,a-w", folder], in: "/", executable: "/bin/chmod")
        #expect(chmod.status == 0, "\(chmod.stderr)")
        func stateFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: folder + "/.aiv").sorted().map { name in
                let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/.aiv/" + name)
                return "\(name) \(attributes[.size] ?? 0) \(attributes[.modificationDate] ?? "")"
            }
        }
        let before = try stateFiles()

        func aiv(_ arguments: [String]) async throws -> CommandRunner.Result {
            guard getuid() == 0 else { return try await CommandRunner.run(arguments, in: folder) }
            return try await CommandRunner.run(["--reuid=65534", "--regid=65534", "--clear-groups", binary] + arguments,
                                               in: folder, environment: ["HOME": "/tmp"], executable: "/usr/bin/setpriv")
        }
        let runs = try await aiv(["runs"])
        #expect(runs.status == 0 && runs.stdout.contains("succeeded"), "\(runs.stdout)\(runs.stderr)")
        let shown = try await aiv(["runs", "show", "last"])
        #expect(shown.status == 0 && shown.stdout.contains("note "), "\(shown.stdout)\(shown.stderr)")
        let cache = try await aiv(["cache", "ls"])
        #expect(cache.status == 0 && cache.stdout.contains("note"), "\(cache.stdout)\(cache.stderr)")
        let plan = try await aiv(["plan", "ro.yaml"])
        #expect(plan.status == 0 && plan.stdout.contains("cached"), "\(plan.stdout)\(plan.stderr)")

        let run = try await aiv(["run", "ro.yaml"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("the state folder \(folder)/.aiv is read-only to this user, and this command writes to it; give --state-dir a folder you can write to"),
                "\(run.stderr)")
        let gc = try await aiv(["cache", "gc"])
        #expect(gc.status == 1 && gc.stderr.contains("is read-only to this user"), "\(gc.stderr)")
        // A read-only folder with no database yet says the same, not which lock file failed.
        let empty = try await aiv(["run", "ro.yaml", "--state-dir", "bin"])
        #expect(empty.status == 1 && empty.stderr.contains("the state folder \(folder)/bin is read-only to this user"), "\(empty.stderr)")
        // Nothing was written: the state folder is as it was.
        #expect(try stateFiles() == before)
    }
}
