import AIVStore
import Foundation
import Testing

/// Kills `aiv run` with SIGKILL at several moments, then runs the same command again: the
/// database stays whole, no file is half-written, and the result equals an uninterrupted run's.
@Suite struct CrashResumeTests {
    static let steps = 400

    /// A chain of short steps (each writes a file and hands its size on), slow enough to be killed midway.
    static var workflow: String {
        var yaml = "name: crash\nsteps:\n  - {id: s0, uses: file.write, with: {path: out/s0.txt, content: start}}\n"
        for i in 1..<steps {
            yaml += "  - {id: s\(i), uses: file.write, with: {path: \"out/s\(i).txt\", content: \"after ${{ steps.s\(i - 1).outputs.bytes }} bytes\"}}\n"
        }
        return yaml
    }

    @Test func killedRunsResumeToTheSameResult() async throws {
        let directory = NSTemporaryDirectory() + "aiv-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.workflow.write(toFile: directory + "/crash.yaml", atomically: true, encoding: .utf8)

        // The reference: one uninterrupted run.
        let reference = try await CommandRunner.run(["run", "crash.yaml", "--state-dir", "reference", "--run-dir", "reference-run", "--max-parallel", "1"], in: directory)
        #expect(reference.status == 0, "\(reference.stderr)")

        // Kill the run at several moments, each time picking up where it stopped: after a number of
        // steps has finished (counted in its --json events, cached ones included), so every kill
        // lands inside a run however fast or busy the machine is.
        var killed = 0
        var killedFolders: [String] = []
        for (attempt, fraction) in [0.25, 0.5, 0.7, 0.9].enumerated() {
            let finishedSteps = Int(Double(Self.steps) * fraction)
            let outcome = try await CommandRunner.run(["run", "crash.yaml", "--state-dir", "state", "--run-dir", "run-\(attempt)", "--max-parallel", "1", "--json"],
                                                in: directory, killWhen: { $0.components(separatedBy: "\"step_finished\"").count - 1 >= finishedSteps })
            if outcome.status == -9 {
                killed += 1
                killedFolders.append("run-\(attempt)")
            }
            if FileManager.default.fileExists(atPath: directory + "/state/aiv.sqlite") {
                #expect(try Store(path: directory + "/state/aiv.sqlite").integrityCheck() == "ok")
            }
            // Killed before the run folder existed: nothing to check there.
            let partial = ((try? FileManager.default.subpathsOfDirectory(atPath: directory + "/run-\(attempt)")) ?? []).filter { $0.hasSuffix(".partial") }
            for file in partial {
                // A kill may leave a temporary file, always hidden beside its final name.
                #expect((file as NSString).lastPathComponent.hasPrefix("."), "unexpected partial file \(file)")
            }
            // Every file under its final name is whole: the same bytes as in the uninterrupted run.
            for i in 0..<Self.steps {
                guard let written = try? String(contentsOfFile: "\(directory)/run-\(attempt)/out/s\(i).txt", encoding: .utf8) else { continue }
                #expect(written == (try String(contentsOfFile: "\(directory)/reference-run/out/s\(i).txt", encoding: .utf8)), "run-\(attempt) s\(i)")
            }
        }
        #expect(killed >= 2, "only \(killed) of the runs was killed midway")

        // Run again into a killed run's folder: it finishes there, and what the kill left
        // half-written (hidden temporary files) is gone.
        if let folder = killedFolders.first {
            let again = try await CommandRunner.run(["run", "crash.yaml", "--state-dir", "state", "--run-dir", folder, "--max-parallel", "1"], in: directory)
            #expect(again.status == 0, "\(again.stderr)")
            let leftovers = ((try? FileManager.default.subpathsOfDirectory(atPath: directory + "/" + folder)) ?? []).filter { $0.contains(".partial") }
            #expect(leftovers.isEmpty, "\(leftovers)")
            #expect(try String(contentsOfFile: "\(directory)/\(folder)/_aiv/lock", encoding: .utf8).isEmpty)
        }

        let final = try await CommandRunner.run(["run", "crash.yaml", "--state-dir", "state", "--run-dir", "final", "--max-parallel", "1", "--json"], in: directory)
        #expect(final.status == 0, "\(final.stderr)")
        // Whatever finished before a kill came from the cache; the rest ran once more.
        let cachedSteps = final.stdout.split(separator: "\n").filter { $0.contains("\"step_finished\"") && $0.contains("\"status\":\"cached\"") }.count
        #expect(cachedSteps > 0)
        for i in 0..<Self.steps {
            let expected = try String(contentsOfFile: "\(directory)/reference-run/out/s\(i).txt", encoding: .utf8)
            let actual = try String(contentsOfFile: "\(directory)/final/out/s\(i).txt", encoding: .utf8)
            #expect(actual == expected, "step s\(i)")
        }
        let outputs = try String(contentsOfFile: "\(directory)/final/_aiv/outputs.json", encoding: .utf8)
        #expect(outputs == (try String(contentsOfFile: "\(directory)/reference-run/_aiv/outputs.json", encoding: .utf8)))
        let cache = SQLiteCacheStore(store: try Store(path: directory + "/state/aiv.sqlite"))
        let entries = try cache.summary()
        #expect(entries.count == Self.steps)
        #expect(entries.allSatisfy { $0.entries == 1 }, "one cache entry per step")
    }
}

/// What the history says of a run killed half way through a `for_each`: the step that was under
/// way, with how many of its items were done, and the steps that never started.
@Suite struct KilledRunHistoryTests {
    @Test func aRunKilledInAForEachShowsTheItemsDoneAndTheStepsThatNeverStarted() async throws {
        let directory = NSTemporaryDirectory() + "aiv-killed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let numbers = (0..<6000).map(String.init).joined(separator: ", ")
        try """
            name: killed
            steps:
              - {id: first, uses: file.write, with: {path: first.txt, content: start}}
              - id: pages
                needs: first
                for_each: [\(numbers)]
                max_parallel: 1
                uses: file.write
                with: {path: "pages/${{ item }}.txt", content: "page ${{ item }}"}
              - {id: index, uses: file.write, with: {path: index.json, content: "${{ steps.pages.outputs }}", format: json}}
            """.write(toFile: directory + "/killed.yaml", atomically: true, encoding: .utf8)
        // Killed once items are done and the history has had time to write their progress, which
        // it does a few times a second: a second after the first item was seen to finish (on a
        // busy machine the process can take that long just to start).
        let firstItem = FirstSeen()
        let outcome = try await CommandRunner.run(["run", "killed.yaml", "--state-dir", "state", "--json"], in: directory,
                                                  killWhen: { output in
            let items = output.components(separatedBy: "\"invocation_finished\"").count - 1
            guard let first = firstItem.note(items > 0) else { return false }
            return items >= 200 && Date().timeIntervalSince(first) > 4 * RunHistory.progressWriteDelay
        })
        try #require(outcome.status == -9, "the run finished before it could be killed: \(outcome.stderr)")

        let shown = try await CommandRunner.run(["runs", "show", "last", "--state-dir", "state"], in: directory)
        #expect(shown.status == 0, "\(shown.stderr)")
        let rows = shown.stdout.split(separator: "\n").map(String.init)
        let pages = try #require(rows.first { $0.hasPrefix("pages ") })
        #expect(pages.contains("not finished"), "\(pages)")
        // Progress is written in batches as the run goes: what was on disk at the kill.
        let done = try #require(pages.firstMatch(of: /under way when the run stopped, (\d+) of 6000 items done/), "\(pages)")
        #expect((1..<6000).contains(Int(done.1)!), "\(pages)")
        let index = try #require(rows.first { $0.hasPrefix("index ") })
        #expect(index.contains("not started when the run stopped, as far as the history knows"), "\(index)")
        #expect(shown.stdout.contains("interrupted"))

        let log = try await CommandRunner.run(["runs", "log", "last", "pages", "--state-dir", "state"], in: directory)
        #expect(log.status == 1)
        #expect(log.stderr.contains("step 'pages' did not finish in run "), "\(log.stderr)")
        #expect(log.stderr.contains("a step's log is kept when it finishes, so there is none"), "\(log.stderr)")
        // A step that never started has no log either, and the reason says why.
        let never = try await CommandRunner.run(["runs", "log", "last", "index", "--state-dir", "state"], in: directory)
        #expect(never.status == 1)
        #expect(never.stderr.contains("step 'index' did not finish in run ") && never.stderr.contains("(not started when the run stopped, as far as the history knows)"), "\(never.stderr)")
    }
}

/// When something was first seen, from a callback that may run on any thread.
final class FirstSeen: @unchecked Sendable {
    private let lock = NSLock()
    private var moment: Date?

    /// The moment `seen` was first true; nil until then.
    func note(_ seen: Bool) -> Date? {
        lock.withLock {
            if seen, moment == nil { moment = Date() }
            return moment
        }
    }
}
