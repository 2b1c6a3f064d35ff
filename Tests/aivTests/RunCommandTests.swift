import AIVCore
import AIVStore
import Foundation
import Testing

/// End-to-end runs of the built `aiv` on the shipped sample, in a scratch state folder.
@Suite struct RunCommandTests {
    /// A copy of the project's workflows, templates and samples, so edits stay local.
    final class Workspace: @unchecked Sendable {
        let path = NSTemporaryDirectory() + "aiv-e2e-\(UUID().uuidString)"

        init() throws {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            for folder in ["workflows", "templates", "samples", "prompts"]
            where FileManager.default.fileExists(atPath: CommandRunner.packageRoot + "/" + folder) {
                try FileManager.default.copyItem(atPath: CommandRunner.packageRoot + "/" + folder, toPath: path + "/" + folder)
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        func aiv(_ arguments: [String]) async throws -> CommandRunner.Result {
            try await CommandRunner.run(arguments, in: path)
        }

        /// Runs the transcript pack, then edits the template of its `sheets` step.
        func runThenEditTheReadingSheet() async throws {
            #expect(try await aiv(["run", "workflows/transcript-pack.yaml"]).status == 0)
            let template = path + "/templates/reading-sheet.md.mustache"
            let text = try String(contentsOfFile: template, encoding: .utf8)
            try text.replacingOccurrences(of: "Watch along:", with: "Watch it here:").write(toFile: template, atomically: true, encoding: .utf8)
        }

        func read(_ relative: String) -> String? {
            try? String(contentsOfFile: path + "/" + relative, encoding: .utf8)
        }
    }

    /// The live block is redrawn in place: a line wider than the terminal wraps, and every
    /// redraw left its first row behind. On a 50-column terminal (util-linux `script` gives the
    /// run one), no line of the live block is 50 columns or wider, and the summary table at the
    /// end is fitted to the 50 columns too, its long reasons broken under their column.
    @Test func theLiveProgressAndTheSummaryFitANarrowTerminal() async throws {
        let workspace = try Workspace()
        let command = "stty cols 50 rows 40; exec '\(CommandRunner.binary)' run workflows/post-stream.yaml --dry-run --state-dir st"
        let result = try await CommandRunner.run(["-q", "-e", "-c", command, "/dev/null"], in: workspace.path, timeout: 300,
                                                 executable: "/usr/bin/script")
        #expect(result.status == 0, "\(result.stdout.suffix(2000))")
        let plain = result.stdout.replacing(/\x{1B}\[[0-9;]*[A-Za-z]/, with: "")
        let live = plain.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("  ▸ ") || $0.hasPrefix("  [") }
        #expect(!live.isEmpty, "the live block was drawn")
        for line in live { #expect(line.count < 50, "'\(line)' is \(line.count) columns") }
        let summary = plain.split(whereSeparator: \.isNewline).drop { !$0.hasPrefix("step ") }.prefix { !$0.hasPrefix("Run ") && !$0.isEmpty }
        #expect(summary.first?.hasPrefix("step ") == true && summary.contains { $0.hasPrefix("shorts ") }, "\(plain.suffix(3000))")
        #expect(summary.count > 27, "a row for each of the 27 steps, and more lines for the long reasons: \(summary.count)")
        for line in summary { #expect(line.count <= 50, "'\(line)' is \(line.count) columns") }
        // Skipped steps say why in full, over several lines: no part of the reason is cut off.
        #expect(summary.contains { $0.hasSuffix(" was false") || $0.hasSuffix(" false") }, "\(summary.joined(separator: "\n"))")
    }

    /// Two runs into one folder would overwrite each other's files: the second is refused, says
    /// why, and touches nothing. (The folder is held here the way a running aiv holds it.)
    @Test func aRunIntoAFolderAnotherRunHoldsIsRefused() async throws {
        let workspace = try Workspace()
        let claim = try RunFolder(path: workspace.path + "/busy").claim()
        let refused = try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--run-dir", "busy"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("run folder '\(workspace.path)/busy' is in use by another aiv run (process \(getpid()))"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path + "/busy") == ["_aiv"])
        // With --json, the reason is an event too.
        let json = try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--run-dir", "busy", "--json"])
        #expect(json.status == 1 && json.stdout.contains("\"event\":\"diagnostic\"") && json.stdout.contains("is in use by another aiv run"), "\(json.stdout)")
        claim.release()
        #expect(try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--run-dir", "busy"]).status == 0)
    }

    @Test func runsTheSampleWorkflowThenTakesEverythingFromTheCache() async throws {
        let workspace = try Workspace()
        let before = Date()
        let first = try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--run-dir", "out/first"])
        let after = Date()
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("succeeded"))
        // The run's id: its UTC start to the second, then six random hex digits.
        let id = try #require(first.stdout.firstMatch(of: /Run (\d{8}-\d{6})-[0-9a-f]{6} succeeded/)?.output.1)
        let stamp = DateFormatter()
        stamp.locale = Locale(identifier: "en_US_POSIX")
        stamp.timeZone = TimeZone(identifier: "UTC")
        stamp.dateFormat = "yyyyMMdd-HHmmss"
        let started = try #require(stamp.date(from: String(id)))
        // Between the call and its return (the stamp drops the fraction of a second), however
        // long the call waited for its turn to start a process.
        #expect(started >= before.addingTimeInterval(-1) && started <= after, "\(id)")
        let sheet = workspace.read("out/first/sheets/part-0.md") ?? ""
        #expect(sheet.hasPrefix("# Reading sheet, part 0 (0:05–"))
        #expect(sheet.contains("&t=5s"))
        let index = workspace.read("out/first/index.json") ?? ""
        #expect(index.contains("\"sheets\""))
        #expect(workspace.read("out/first/_aiv/outputs.json")?.contains("\"segment_count\": 80") == true)

        let second = try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--run-dir", "out/second"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("4 cached"), "\(second.stdout)")
        #expect(workspace.read("out/second/sheets/part-0.md") == sheet)

        let runs = try await workspace.aiv(["runs"])
        #expect(runs.stdout.components(separatedBy: "transcript-pack").count == 3)
        let shown = try await workspace.aiv(["runs", "show", "last"])
        #expect(shown.stdout.contains("sheets"))
        #expect(shown.stdout.contains("cached"))
        let log = try await workspace.aiv(["runs", "log", "last", "transcript"])
        #expect(log.stdout.contains("cached"))
        // Ends its last line, so what the shell prints next starts a line of its own.
        #expect(log.stdout.hasSuffix("\n"), "\(log.stdout)")
        // The log is kept in the history: it outlives the run folder.
        try FileManager.default.removeItem(atPath: workspace.path + "/out/second")
        let kept = try await workspace.aiv(["runs", "log", "last", "transcript"])
        #expect(kept.status == 0 && kept.stdout.contains("cached"), "\(kept.stderr)")
    }

    @Test func editingATemplateRerunsOnlyTheStepsThatUseIt() async throws {
        let workspace = try Workspace()
        try await workspace.runThenEditTheReadingSheet()

        let plan = try await workspace.aiv(["plan", "workflows/transcript-pack.yaml"])
        #expect(plan.stdout.contains("runs: file '../templates/reading-sheet.md.mustache' changed"), "\(plan.stdout)")
        // The same forecast for a script: per step, a verdict and its reason.
        let json = try await workspace.aiv(["plan", "--json", "workflows/transcript-pack.yaml"])
        let forecast = try JSONDecoder().decode(JSONValue.self, from: Data(json.stdout.utf8))["cache"]
        #expect(forecast?["transcript"] == ["verdict": "cached"], "\(json.stdout)")
        #expect(forecast?["sheets"]?["verdict"] == "runs")
        #expect(forecast?["sheets"]?["reason"]?.stringValue?.contains("'../templates/reading-sheet.md.mustache' changed") == true)

        let rerun = try await workspace.aiv(["run", "--json", "workflows/transcript-pack.yaml"])
        #expect(rerun.status == 0)
        let finished = rerun.stdout.split(separator: "\n").filter { $0.contains("\"step_finished\"") }
        func status(_ step: String) -> String? {
            finished.first { $0.contains("\"step\":\"\(step)\"") }.flatMap { line in
                ["cached", "succeeded", "failed", "skipped"].first { line.contains("\"status\":\"\($0)\"") }
            }
        }
        #expect(status("transcript") == "cached")
        #expect(status("questions") == "cached")
        #expect(status("sheets") == "succeeded")
        // The sheets' paths did not change, so the index that lists them stays cached.
        #expect(status("index") == "cached")
    }

    /// A file where a folder should be is said plainly, not as "NSCocoaErrorDomain error 512";
    /// `cache clear` of a folder that holds nothing cached fails rather than report 0 removed.
    @Test func aFileWhereAFolderShouldBeIsSaidPlainly() async throws {
        let workspace = try Workspace()
        FileManager.default.createFile(atPath: workspace.path + "/taken", contents: Data())
        let runDir = try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--run-dir", "taken"])
        // Given as it is on the command line, as a --state-dir that is a file is: a usage mistake.
        #expect(runDir.status == 64 && runDir.stderr.contains("--run-dir 'taken' is a file, not a folder"), "\(runDir.stderr)")
        try FileManager.default.createDirectory(atPath: workspace.path + "/state", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: workspace.path + "/state/runs", contents: Data())
        let runs = try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--state-dir", "state"])
        #expect(runs.status == 1)
        #expect(runs.stderr.contains("a part of the path is a file, not a folder"), "\(runs.stderr)")
        // Fixtures without --dry-run or --record would be ignored, and the run would call the real services.
        let fixtures = try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--fixtures", "fx"])
        #expect(fixtures.status == 64 && fixtures.stderr.contains("--fixtures goes with --dry-run"), "\(fixtures.stderr)")
        let planFixtures = try await workspace.aiv(["plan", "workflows/transcript-pack.yaml", "--fixtures", "fx"])
        #expect(planFixtures.status == 64 && planFixtures.stderr.contains("--fixtures goes with --dry-run"), "\(planFixtures.stderr)")
        let stateFile = try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--state-dir", "taken"])
        #expect(stateFile.status == 64 && stateFile.stderr.contains("--state-dir 'taken' is a file, not a folder"), "\(stateFile.stderr)")
        let clear = try await workspace.aiv(["cache", "clear", "workflows"])
        #expect(clear.status == 1 && clear.stderr.contains("'workflows' is a folder, not a file"), "\(clear.stderr)")
    }

    /// `wf.yaml`, `./wf.yaml` and the full path are one workflow to "why it ran" and `cache clear`.
    @Test func theCacheKnowsAWorkflowByItsRealPathHoweverItIsSpelled() async throws {
        let workspace = try Workspace()
        try await workspace.runThenEditTheReadingSheet()
        for spelling in ["./workflows/transcript-pack.yaml", workspace.path + "/workflows/../workflows/transcript-pack.yaml"] {
            let plan = try await workspace.aiv(["plan", spelling])
            #expect(plan.stdout.contains("runs: file '../templates/reading-sheet.md.mustache' changed"), "\(spelling): \(plan.stdout)")
            #expect(!plan.stdout.contains("no earlier result"), "\(spelling): \(plan.stdout)")
        }
        // Listed by the path to type from here, not the full real path.
        let listed = try await workspace.aiv(["cache", "ls"])
        #expect(listed.stdout.contains("\nworkflows/transcript-pack.yaml ") && !listed.stdout.contains(workspace.path + "/workflows"), "\(listed.stdout)")
        let clear = try await workspace.aiv(["cache", "clear", "./workflows/transcript-pack.yaml"])
        #expect(clear.status == 0)
        #expect(clear.stdout.hasPrefix("Removed ") && !clear.stdout.hasPrefix("Removed 0 "), "\(clear.stdout)")
        #expect(try await workspace.aiv(["cache", "ls"]).stdout.contains("The cache is empty."))
        // A mistyped path is said to be one, not answered with "Removed 0".
        let typo = try await workspace.aiv(["cache", "clear", "workflows/transcript-pakc.yaml"])
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("no workflow file 'workflows/transcript-pakc.yaml' and no cached results for it"), "\(typo.stderr)")
        // A workflow deleted since its runs is still found by the path it had.
        try FileManager.default.copyItem(atPath: workspace.path + "/workflows/transcript-pack.yaml", toPath: workspace.path + "/workflows/old.yaml")
        #expect(try await workspace.aiv(["run", "workflows/old.yaml"]).status == 0)
        try FileManager.default.removeItem(atPath: workspace.path + "/workflows/old.yaml")
        let deleted = try await workspace.aiv(["cache", "clear", "workflows/old.yaml"])
        #expect(deleted.status == 0 && deleted.stdout.hasPrefix("Removed ") && !deleted.stdout.hasPrefix("Removed 0 "), "\(deleted.stdout)\(deleted.stderr)")
    }

    /// A killed run's half-written files stay in its folder (each run gets its own); `cache gc`
    /// removes them from every run folder no run holds.
    @Test func cacheGCRemovesTheHalfWrittenFilesOfKilledRuns() async throws {
        let workspace = try Workspace()
        try "name: w\nsteps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n"
            .write(toFile: workspace.path + "/w.yaml", atomically: true, encoding: .utf8)
        #expect(try await workspace.aiv(["run", "w.yaml"]).status == 0)
        // A run killed while writing: its lock file still names it, a temporary file beside the output.
        let killed = workspace.path + "/.aiv/runs/20261127-000000-dead00"
        try FileManager.default.createDirectory(atPath: killed + "/_aiv", withIntermediateDirectories: true)
        try "999999 20261127-000000-dead00\n".write(toFile: killed + "/_aiv/lock", atomically: false, encoding: .utf8)
        try "half".write(toFile: killed + "/.a.txt.k3x9-1.partial", atomically: false, encoding: .utf8)
        try "kept".write(toFile: killed + "/b.txt", atomically: false, encoding: .utf8)
        let gc = try await workspace.aiv(["cache", "gc"])
        #expect(gc.status == 0)
        #expect(gc.stdout.contains("and 1 half-written file that killed runs left in their folders."), "\(gc.stdout)")
        #expect(!FileManager.default.fileExists(atPath: killed + "/.a.txt.k3x9-1.partial"))
        #expect(FileManager.default.fileExists(atPath: killed + "/b.txt"))
    }

    /// Runs started at once on a fresh state folder each find its database ready: one process
    /// makes the tables, the others wait for it (they used to fail on "table already exists").
    @Test func runsStartedAtOnceOnAFreshStateFolderAllSucceed() async throws {
        let workspace = try Workspace()
        try "name: at-once\nsteps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n"
            .write(toFile: workspace.path + "/w.yaml", atomically: true, encoding: .utf8)
        for round in 0..<4 {
            let state = "state-\(round)"
            let results = try await withThrowingTaskGroup(of: CommandRunner.Result.self) { group in
                for run in 0..<4 {
                    group.addTask { try await CommandRunner.run(["run", "w.yaml", "--state-dir", state, "--run-dir", "\(state)-run-\(run)"], in: workspace.path) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for result in results { #expect(result.status == 0, "\(result.stderr) \(result.stdout.suffix(500))") }
        }
    }

    /// `aiv run --json | head -1`: the reader leaves after the first line; the run goes on to
    /// its end (a SIGPIPE used to kill it and leave it `interrupted`).
    @Test func aRunWhoseReaderGoesAwayStillFinishes() async throws {
        let workspace = try Workspace()
        try "name: pipe\nsteps:\n  - {id: a, uses: file.write, for_each: \"${{ windows(2000, 1) }}\", with: {path: \"a/${{ index }}.txt\", content: x}}\n  - {id: b, uses: file.write, needs: [a], with: {path: b.txt, content: done}}\n"
            .write(toFile: workspace.path + "/pipe.yaml", atomically: true, encoding: .utf8)
        let piped = try await CommandRunner.run(["-c", "'\(CommandRunner.binary)' run pipe.yaml --json --run-dir out | head -1; sleep 1"],
                                                in: workspace.path, executable: "/bin/sh")
        #expect(piped.stdout.contains("\"event\""), "\(piped.stdout)")
        // The process may still be finishing when `sh` returns: its history says when it has.
        var status = ""
        for _ in 0..<50 {
            let runs = try await workspace.aiv(["runs"])
            status = runs.stdout.split(separator: "\n").first { $0.contains("pipe") }.map(String.init) ?? ""
            if !status.contains("running") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(status.contains("succeeded"), "\(status)")
        #expect(FileManager.default.contents(atPath: workspace.path + "/out/b.txt") == Data("done".utf8))
    }

    /// A workflow folder linked into a project finds `../templates` beside the files it links
    /// to, as the file system does, not beside the link.
    @Test func aLinkedWorkflowFolderFindsItsFilesBesideWhatItLinksTo() async throws {
        let workspace = try Workspace()
        let real = workspace.path + "/shared"
        try FileManager.default.createDirectory(atPath: real + "/workflows", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: real + "/templates", withIntermediateDirectories: true)
        try "Hi {{name}}\n".write(toFile: real + "/templates/t.mustache", atomically: true, encoding: .utf8)
        try "name: w\nsteps:\n  - {id: r, uses: template.render, with: {template: ../templates/t.mustache, values: {name: you}, output: hi.txt}}\n"
            .write(toFile: real + "/workflows/w.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: workspace.path + "/project", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: workspace.path + "/project/workflows", withDestinationPath: real + "/workflows")
        let run = try await CommandRunner.run(["run", "workflows/w.yaml", "--run-dir", "out"], in: workspace.path + "/project")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(workspace.read("project/out/hi.txt") == "Hi you\n")
    }

    /// A step that may fail (`continue_on_error`) did not fail the run: its error is repeated at
    /// the end as a warning, an error only when the run failed because of it.
    @Test func aFailureTheWorkflowAllowsIsRepeatedAsAWarningNotAnError() async throws {
        let workspace = try Workspace()
        try """
            name: lenient
            steps:
              - id: missing
                uses: transcript.load
                continue_on_error: true
                with: {path: broken.srt}
              - id: note
                uses: file.write
                with: {path: note.txt, content: done}
            """.write(toFile: workspace.path + "/workflows/lenient.yaml", atomically: true, encoding: .utf8)
        try "1\nnot a time line\nhello\n".write(toFile: workspace.path + "/workflows/broken.srt", atomically: true, encoding: .utf8)
        let run = try await workspace.aiv(["run", "workflows/lenient.yaml", "--run-dir", "out"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("workflows/lenient.yaml:3:9: warning: ") && run.stderr.contains("(continue_on_error: the run went on without it)"), "\(run.stderr)")
        #expect(!run.stderr.contains(": error: "), "\(run.stderr)")
    }

    @Test func aRunIdThatMatchesNothingIsAnErrorWithoutTheUsageText() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.aiv(["run", "workflows/transcript-pack.yaml"]).status == 0)
        let result = try await workspace.aiv(["runs", "show", "nope"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no run matches 'nope'; 'aiv runs' lists them"), "\(result.stderr)")
        #expect(!result.stderr.contains("USAGE") && !result.stderr.contains("Usage"), "\(result.stderr)")
    }

    /// A start of an id that two runs share lists them, so the user can pick one.
    @Test func aRunIdPrefixThatSeveralRunsShareListsThem() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.aiv(["run", "workflows/transcript-pack.yaml"]).status == 0)
        #expect(try await workspace.aiv(["run", "workflows/transcript-pack.yaml"]).status == 0)
        let ids = try FileManager.default.contentsOfDirectory(atPath: workspace.path + "/.aiv/runs")
        #expect(ids.count == 2, "\(ids)")
        let result = try await workspace.aiv(["runs", "show", "2"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("2 runs start with '2' ("), "\(result.stderr)")
        #expect(ids.allSatisfy { result.stderr.contains($0) } && result.stderr.contains("); give more of the id"), "\(result.stderr)")
    }

    /// A `.env` file's ordinary variables are read as if exported (`NOTION_DATABASE_ID` is one
    /// the README tells users to put there), by `plan` as by `run`; a file named with
    /// `--env-file` that is not there is an error, not silently nothing.
    @Test func aDotEnvFilesVariablesReachTheRunAndAMissingEnvFileIsAnError() async throws {
        let workspace = try Workspace()
        try "name: greet\nsteps:\n  - id: say\n    uses: file.write\n    with: {path: greeting.txt, content: \"${{ env.AIV_TEST_GREETING }}\"}\n"
            .write(toFile: workspace.path + "/workflows/greet.yaml", atomically: true, encoding: .utf8)
        try "AIV_TEST_GREETING=\"hello from .env\"  # a comment\n".write(toFile: workspace.path + "/.env", atomically: true, encoding: .utf8)
        let run = try await workspace.aiv(["run", "workflows/greet.yaml", "--run-dir", "out"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(workspace.read("out/greeting.txt") == "hello from .env")
        let plan = try await workspace.aiv(["plan", "workflows/greet.yaml"])
        #expect(plan.stdout.contains("say") && plan.stdout.contains("cached"), "\(plan.stdout)")

        let missing = try await workspace.aiv(["run", "workflows/greet.yaml", "--env-file", "prod.env"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no such file: prod.env (given with --env-file)"), "\(missing.stderr)")
        // A name set twice is a warning, and with --json a `diagnostic` event like the others.
        try "AIV_TEST_GREETING=one\nAIV_TEST_GREETING=two\n".write(toFile: workspace.path + "/twice.env", atomically: true, encoding: .utf8)
        let twice = try await workspace.aiv(["plan", "workflows/greet.yaml", "--env-file", "twice.env", "--json"])
        #expect(twice.status == 0)
        #expect(twice.stdout.contains("\"event\":\"diagnostic\"") && twice.stdout.contains("AIV_TEST_GREETING is set again (first on line 1)"), "\(twice.stdout)")
        let warning = twice.stdout.split(separator: "\n").filter { $0.contains("\"diagnostic\"") }
        #expect(warning.count == 1 && !warning[0].contains("one") && !warning[0].contains("two"), "no value is quoted: \(warning)")
    }

    /// A key given as a secret input reaches the step that needs it, and nothing aiv keeps or
    /// shows holds it: not the history, the cache, the logs, `plan`, or a message about a bad
    /// value. The step that reads it is not cached.
    @Test func aSecretGivenAsAnInputReachesItsStepButNothingKeptOrShown() async throws {
        let workspace = try Workspace()
        try """
            name: stream-setup
            inputs:
              stream_key: {type: string, required: true, secret: true}
              stream_pin: {type: number, default: 0, secret: true}
              title: {type: string, default: Tonight}
            steps:
              - id: config
                uses: file.write
                with: {path: service.txt, content: "key=${{ inputs.stream_key }} pin=${{ inputs.stream_pin }}"}
              - id: note
                uses: file.write
                with: {path: note.txt, content: "${{ inputs.title }}"}

            """.write(toFile: workspace.path + "/workflows/setup.yaml", atomically: true, encoding: .utf8)
        let key = "sk-live-7f3a9c1e", pin = "86420975"
        let arguments = ["workflows/setup.yaml", "--input", "stream_key=\(key)", "--input", "stream_pin=\(pin)", "--state-dir", "st"]
        let first = try await workspace.aiv(["run"] + arguments + ["--run-dir", "out"])
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(workspace.read("out/service.txt") == "key=\(key) pin=\(pin)")
        let second = try await workspace.aiv(["run"] + arguments + ["--run-dir", "again"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("reads secret inputs 'stream_key', 'stream_pin': not cached"), "\(second.stdout)")
        let note = try #require(second.stdout.split(separator: "\n").first { $0.hasPrefix("note ") })
        #expect(note.contains("yes"), "the step not given the key is cached: \(note)")

        let plan = try await workspace.aiv(["plan"] + arguments)
        let planJSON = try await workspace.aiv(["plan", "--json"] + arguments)
        let shown = try await workspace.aiv(["runs", "show", "--state-dir", "st"])
        for output in [first.stdout, first.stderr, second.stdout, plan.stdout, planJSON.stdout, shown.stdout] {
            #expect(!output.contains(key) && !output.contains(pin), "\(output)")
        }
        #expect(plan.stdout.contains("reads secret inputs 'stream_key', 'stream_pin'"), "\(plan.stdout)")
        #expect(planJSON.stdout.contains("[redacted inputs.stream_key]"), "\(planJSON.stdout)")
        // Every file of the state folder (the database, its logs, the run folders' records)
        // but the file the step was asked to write.
        let state = workspace.path + "/st"
        let files = try #require(FileManager.default.subpaths(atPath: state)).map { state + "/" + $0 }
            + [workspace.path + "/out/_aiv", workspace.path + "/again/_aiv"].flatMap { folder in
                (FileManager.default.subpaths(atPath: folder) ?? []).map { folder + "/" + $0 } }
        #expect(files.contains { $0.hasSuffix("aiv.sqlite") || $0.hasSuffix(".db") || $0.contains("sqlite") }, "\(files)")
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            #expect(data.range(of: Data(key.utf8)) == nil && data.range(of: Data(pin.utf8)) == nil, "\(file) holds the key or the PIN")
        }
        // In an inputs file: the error says where, without the line that holds the key.
        try "stream_key: \(key)\nstream_pin: 12ab\n".write(toFile: workspace.path + "/in.yaml", atomically: true, encoding: .utf8)
        let inFile = try await workspace.aiv(["plan", "workflows/setup.yaml", "--inputs", "in.yaml"])
        #expect(inFile.status == 2 && inFile.stderr.contains("in.yaml:2:13: error: input 'stream_pin' must be a number"), "\(inFile.stderr)")
        #expect(!inFile.stderr.contains(key) && !inFile.stderr.contains("12ab"), "\(inFile.stderr)")

        // A bad value for a secret input is an error that does not quote it.
        let bad = try await workspace.aiv(["run", "workflows/setup.yaml", "--input", "stream_key=x", "--input", "stream_pin=12ab-9931x"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("input 'stream_pin' must be a number"), "\(bad.stderr)")
        #expect(!bad.stderr.contains("12ab-9931x"), "\(bad.stderr)")
    }

    /// Commands that only read the state leave no `.aiv/` behind; a run folder that is a file is
    /// said plainly, not as a Foundation error.
    @Test func readingCommandsCreateNoStateAndARunFolderThatIsAFileIsSaidPlainly() async throws {
        let workspace = try Workspace()
        let runs = try await workspace.aiv(["runs"])
        #expect(runs.status == 0 && runs.stdout.contains("No runs yet"), "\(runs.stdout)")
        #expect(try await workspace.aiv(["runs", "show"]).status == 1)
        #expect(try await workspace.aiv(["cache", "ls"]).status == 0)
        let quota = try await workspace.aiv(["quota", "--state-dir", "mistyped/st"])
        #expect(quota.status == 0 && quota.stdout.contains("gemini"), "\(quota.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.path + "/.aiv"))
        #expect(!FileManager.default.fileExists(atPath: workspace.path + "/mistyped"))
        // A state folder that is a file, or no runs asked for, is a mistake in the command line.
        try "x".write(toFile: workspace.path + "/state-file", atomically: true, encoding: .utf8)
        let file = try await workspace.aiv(["runs", "--state-dir", "state-file"])
        #expect(file.status == 64 && file.stderr.contains("--state-dir 'state-file' is a file, not a folder"), "\(file.stderr)")
        let none = try await workspace.aiv(["runs", "--limit", "0"])
        #expect(none.status == 64 && none.stderr.contains("--limit must be at least 1"), "\(none.stderr)")
        let help = try await workspace.aiv(["help", "rnus"])
        #expect(help.status == 64 && help.stderr.contains("no command 'rnus'; did you mean 'runs'?"), "\(help.stderr)")
        let nested = try await workspace.aiv(["help", "runs", "shw"])
        #expect(nested.status == 64 && nested.stderr.contains("no command 'runs shw'; did you mean 'show'?"), "\(nested.stderr)")
        #expect(try await workspace.aiv(["help", "runs", "show"]).status == 0)
        try "x".write(toFile: workspace.path + "/taken", atomically: true, encoding: .utf8)
        let run = try await workspace.aiv(["run", "workflows/transcript-pack.yaml", "--run-dir", "taken"])
        #expect(run.status == 64 && run.stderr.contains("--run-dir 'taken' is a file, not a folder"), "\(run.stderr)")
        #expect(!run.stderr.contains("NSCocoaErrorDomain"), "\(run.stderr)")
        // A fixture folder that is a file, or nothing (which read the current folder's YAML as fixtures).
        for command in ["run", "plan"] {
            let fixtures = try await workspace.aiv([command, "workflows/transcript-pack.yaml", "--dry-run", "--fixtures", "taken"])
            #expect(fixtures.status == 64 && fixtures.stderr.contains("--fixtures 'taken' is a file, not a folder"), "\(fixtures.stderr)")
            let empty = try await workspace.aiv([command, "workflows/transcript-pack.yaml", "--dry-run", "--fixtures", ""])
            #expect(empty.status == 64 && empty.stderr.contains("--fixtures needs a folder; it was given nothing"), "\(empty.stderr)")
            for (option, noun) in [("--inputs", "--inputs needs a file"), ("--env-file", "--env-file needs a file")] {
                let none = try await workspace.aiv([command, "workflows/transcript-pack.yaml", option, ""])
                #expect(none.status == 64 && none.stderr.contains(noun + "; it was given nothing"), "\(none.stderr)")
            }
        }
    }

    @Test func aFailingRunExitsWithOneAndNamesTheStep() async throws {
        let workspace = try Workspace()
        try "name: broken\nsteps:\n  - id: load\n    uses: transcript.load\n    with: {path: ../samples/stream-01/transcript.srt, window: 10s, overlap: 20s}\n"
            .write(toFile: workspace.path + "/workflows/broken.yaml", atomically: true, encoding: .utf8)
        let result = try await workspace.aiv(["run", "workflows/broken.yaml"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("step 'load': argument 'overlap'"), "\(result.stdout)")
        // At the argument the step refused, not at the step.
        #expect(result.stderr.hasPrefix("workflows/broken.yaml:5:77: error: step 'load': argument 'overlap'"), "\(result.stderr)")
    }

    /// An expression that fails only when it runs (a value out of its range) is pointed at where
    /// it is written, as a failing `for_each` or `if` is.
    @Test func aFailureToEvaluateIsReportedWhereTheExpressionIsWritten() async throws {
        let workspace = try Workspace()
        try """
            name: broken
            inputs: {n: {type: number, default: -5}}
            steps:
              - id: stamp
                uses: file.write
                with:
                  path: a.txt
                  content: "${{ timestamp(inputs.n) }}"
              - id: each
                uses: file.write
                for_each: ${{ fromJSON('[1') }}
                with: {path: "b${{ index }}.txt", content: x}
              - id: cond
                uses: file.write
                if: ${{ fromJSON('{') }}
                with: {path: c.txt, content: x}

            """.write(toFile: workspace.path + "/workflows/broken.yaml", atomically: true, encoding: .utf8)
        let result = try await workspace.aiv(["run", "workflows/broken.yaml"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map { String($0.prefix { $0 != " " }) }.sorted()
        #expect(lines == ["workflows/broken.yaml:11:15:", "workflows/broken.yaml:15:9:", "workflows/broken.yaml:8:16:"],
                "\(result.stderr)")
        // With --json, a failed step's event says where, as a diagnostic does.
        let json = try await workspace.aiv(["run", "--json", "workflows/broken.yaml"])
        let finished = json.stdout.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }
            .first { $0["event"] == "step_finished" && $0["step"] == "stamp" }
        #expect(finished?["location"] == ["file": "workflows/broken.yaml", "line": 8, "column": 16], "\(json.stdout)")
    }
}
