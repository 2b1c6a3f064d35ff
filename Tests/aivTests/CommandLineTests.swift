import AIVCore
import AIVTestSupport
import Foundation
import Testing

/// End-to-end: the built `aiv` on real files, checking output and exit codes.
@Suite struct CommandLineTests {
    @Test func everyShippedWorkflowValidates() async throws {
        let workflows = try FileManager.default.contentsOfDirectory(atPath: CommandRunner.packageRoot + "/workflows")
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
        #expect(!workflows.isEmpty)
        for workflow in workflows {
            let result = try await CommandRunner.run(["validate", "workflows/\(workflow)"])
            #expect(result.status == 0, "\(workflow): \(result.stderr)")
            #expect(result.stdout.contains("valid"))
        }
    }

    /// What only values show (a setting from an input's default) is found by validate too,
    /// as plan and run find it; a workflow with an input that must be given is checked only.
    @Test func validateChecksWhatTheInputsDefaultsGive() async throws {
        let folder = TemporaryFolder()
        folder.write("w.yaml", "name: w\ninputs:\n  rpm: {type: number, default: 0}\nservices:\n  gemini: {limits: {requests_per_minute: \"${{ inputs.rpm }}\"}}\n"
                     + "steps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n")
        let result = try await CommandRunner.run(["validate", "w.yaml"], in: folder.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("w.yaml:5:42: error: 'services.gemini.limits.requests_per_minute' must be more than 0, not 0"), "\(result.stderr)")
        folder.write("given.yaml", "name: g\ninputs:\n  rpm: number\nservices:\n  gemini: {limits: {requests_per_minute: \"${{ inputs.rpm }}\"}}\n"
                     + "steps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n")
        #expect(try await CommandRunner.run(["validate", "given.yaml"], in: folder.path).status == 0)
    }

    /// `aiv quota FILE` takes the limits as a run would, expressions evaluated.
    @Test func quotaTakesLimitsWrittenAsExpressions() async throws {
        let folder = TemporaryFolder()
        folder.write("w.yaml", "name: w\ninputs:\n  per_day: {type: number, default: 50}\nservices:\n  gemini: {limits: {requests_per_day: \"${{ inputs.per_day }}\"}}\n"
                     + "steps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n")
        let result = try await CommandRunner.run(["quota", "w.yaml", "--json", "--state-dir", "state"], in: folder.path)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try JSONDecoder().decode(JSONValue.self, from: Data(result.stdout.utf8))
        #expect(rows.arrayValue?.first { $0["service"] == "gemini" }?["requests_per_day"] == 50, "\(result.stdout)")
    }

    @Test func invalidWorkflowExitsWithTwoAndPointsAtTheProblem() async throws {
        let dir = NSTemporaryDirectory() + "aiv-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "name: broken\nsteps:\n  - id: a\n    uses: file.wirte\n    with: {path: a.txt, content: x}\n"
            .write(toFile: dir + "/w.yaml", atomically: true, encoding: .utf8)
        let result = try await CommandRunner.run(["validate", "w.yaml"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderr == """
            w.yaml:4:11: error: unknown step kind 'file.wirte'; did you mean 'file.write'?
             4 |     uses: file.wirte
               |           ^~~~~~~~~~
            1 error

            """)
        let json = try await CommandRunner.run(["validate", "--json", "w.yaml"], in: dir)
        #expect(json.status == 2)
        #expect(json.stdout.contains("\"line\":4"))
        // `run --json` says why nothing ran as events too, one JSON object per line.
        let run = try await CommandRunner.run(["run", "--json", "w.yaml"], in: dir)
        #expect(run.status == 2)
        let events = run.stdout.split(separator: "\n").map { try? JSONValue(parsing: String($0)) }
        #expect(events.count == 1 && events[0]?["event"] == "diagnostic" && events[0]?["severity"] == "error", "\(run.stdout)")
        #expect(events[0]?["message"]?.stringValue?.contains("unknown step kind 'file.wirte'") == true)
    }

    /// A negative count is read as the option's value (not as an unknown flag "-1") and refused for what it is.
    @Test(arguments: ["0", "-1"])
    func aMaxParallelBelowOneIsRefusedByName(_ value: String) async throws {
        let result = try await CommandRunner.run(["run", "workflows/transcript-pack.yaml", "--max-parallel", value])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--max-parallel must be at least 1"), "\(result.stderr)")
    }

    /// The counts of `runs` and `cache gc` too: "-1" is their value, refused with what they take.
    @Test(arguments: [(["runs", "--limit", "-1"], "--limit must be at least 1, not -1"),
                      (["cache", "gc", "--keep", "-1"], "--keep must be 1 or more; 'aiv cache clear' removes every result")])
    func aNegativeCountOfRunsOrCacheIsRefusedByName(_ arguments: [String], _ message: String) async throws {
        let dir = TemporaryFolder()
        let result = try await CommandRunner.run(arguments + ["--state-dir", dir.path + "/.aiv"])
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func planPrintsStepsInRunOrderAndTakesInputs() async throws {
        let result = try await CommandRunner.run(["plan", "workflows/transcript-pack.yaml", "--input", "window=5m"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Plan for workflow 'transcript-pack'"))
        // Seconds, as expressions see it, and as it was written.
        #expect(result.stdout.contains("window = 300 (5m)"), "\(result.stdout)")
        let order = ["transcript", "sheets", "questions", "index"].compactMap { result.stdout.range(of: "  \($0)  ")?.lowerBound }
        #expect(order.count == 4 && order == order.sorted())
    }

    /// An input given as empty shows as "" (given, and empty), not as if it had not been given.
    @Test func planShowsAnEmptyInputAsAnEmptyString() async throws {
        let result = try await CommandRunner.run(["plan", "workflows/transcript-pack.yaml", "--input", "stream_url="])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("  stream_url = \"\"\n"), "\(result.stdout)")
    }

    /// The README's example of the workflow format is a valid workflow beside the shipped
    /// templates and sample, so what it teaches is what aiv accepts.
    @Test func theReadmesWorkflowFormatExampleValidates() async throws {
        let readme = try String(contentsOfFile: CommandRunner.packageRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.range(of: "## The workflow format"))
        let start = try #require(readme.range(of: "```yaml\n", range: section.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "\n```", range: start.upperBound..<readme.endIndex))
        let dir = NSTemporaryDirectory() + "aiv-readme-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/workflows", withIntermediateDirectories: true)
        for folder in ["templates", "samples"] {
            try FileManager.default.copyItem(atPath: CommandRunner.packageRoot + "/" + folder, toPath: dir + "/" + folder)
        }
        try String(readme[start.upperBound..<end.lowerBound]).write(toFile: dir + "/workflows/example.yaml", atomically: true, encoding: .utf8)
        let result = try await CommandRunner.run(["validate", "workflows/example.yaml"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func planRejectsUnknownInputs() async throws {
        let result = try await CommandRunner.run(["plan", "workflows/transcript-pack.yaml", "--input", "windw=5m"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("has no input 'windw'; did you mean 'window'?"))
    }

    /// `--input` without `=` is a command-line mistake (64), shown with the subcommand's usage.
    @Test func anInputWithoutAnEqualsSignShowsTheSubcommandsUsage() async throws {
        let result = try await CommandRunner.run(["plan", "workflows/transcript-pack.yaml", "--input", "window"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--input takes name=value, not 'window'"), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: aiv plan "), "\(result.stderr)")
    }

    /// A family's name lists its kinds (as the README shows: `aiv kinds obs`); a kind that is
    /// not there is exit 1 without usage text, with the nearest kind or family.
    @Test func aFamilyListsItsKindsAndAnUnknownKindIsExitOneWithTheNearestName() async throws {
        let family = try await CommandRunner.run(["kinds", "obs"])
        #expect(family.status == 0, "\(family.stderr)")
        let listed = family.stdout.split(separator: "\n").dropFirst(1).compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(listed == ["obs.scene", "obs.text", "obs.record", "obs.replay_save", "obs.wait_event", "obs.request", "obs.batch"], "\(family.stdout)")
        let typo = try await CommandRunner.run(["kinds", "clip.cutt"])
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("unknown step kind 'clip.cutt'; did you mean 'clip.cut'?"), "\(typo.stderr)")
        #expect(!typo.stderr.contains("Usage"), "\(typo.stderr)")
        let misspeltFamily = try await CommandRunner.run(["kinds", "lsit"])
        #expect(misspeltFamily.status == 1)
        #expect(misspeltFamily.stderr.contains("did you mean 'list'?"), "\(misspeltFamily.stderr)")
        // A name pasted by mistake is quoted cut short, not echoed whole.
        let pasted = try await CommandRunner.run(["kinds", String(repeating: "x", count: 5000)])
        #expect(pasted.status == 1 && pasted.stderr.contains("'" + String(repeating: "x", count: 60) + "…'") && pasted.stderr.count < 300, "\(pasted.stderr.count)")
    }

    /// A mistyped command gets the nearest one, as a mistyped kind or field does.
    @Test func aMistypedCommandGetsTheNearestOne() async throws {
        let result = try await CommandRunner.run(["rn", "workflows/post-stream.yaml"])
        #expect(result.status == 64)
        #expect(result.stderr == "Error: unknown command 'rn'; did you mean 'run'?; 'aiv --help' lists the commands\n")
        #expect(try await CommandRunner.run(["help", "run"]).status == 0)
        // A subcommand too, which the parser would call an unexpected argument.
        let nested = try await CommandRunner.run(["runs", "shwo"])
        #expect(nested.status == 64)
        #expect(nested.stderr == "Error: unknown command 'runs shwo'; did you mean 'runs show'?; 'aiv runs --help' lists the commands\n")
    }

    @Test func planAsJSONDecodes() async throws {
        let result = try await CommandRunner.run(["plan", "--json", "workflows/transcript-pack.yaml"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect((object?["steps"] as? [Any])?.count == 4)
    }

    /// An invalid workflow or input under `plan --json` gives the diagnostic events `run --json`
    /// gives, on stdout, not the human format on stderr.
    @Test func planAsJSONReportsProblemsAsDiagnosticEvents() async throws {
        let result = try await CommandRunner.run(["plan", "--json", "workflows/transcript-pack.yaml", "--input", "window=abc"])
        #expect(result.status == 2)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stdout)")
        let event = try JSONSerialization.jsonObject(with: Data(String(lines[0]).utf8)) as? [String: Any]
        #expect(event?["event"] as? String == "diagnostic")
        #expect((event?["message"] as? String)?.contains("input 'window'") == true, "\(result.stdout)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    /// A dry run's missing recording is to be made into the folder the dry run reads.
    @Test func theRecordCommandSuggestedNamesTheFixtureFolderGiven() async throws {
        let dir = TemporaryFolder().path
        let result = try await CommandRunner.run(["plan", "--dry-run", "--fixtures", dir, "workflows/post-stream.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("`aiv run --record --fixtures \(dir) workflows/post-stream.yaml`"), "\(result.stderr)")
    }

    /// A problem in a value two steps share through a YAML alias is printed once, and counted once.
    @Test func aProblemReachedTwiceThroughAnAliasIsCountedOnce() async throws {
        let dir = TemporaryFolder()
        dir.write("w.yaml", """
            name: t
            x-common: &common
              path: a.txt
              content: "${{ steps.nope1.outputs.x }}"
            steps:
              - {id: a, uses: file.write, with: *common}
              - {id: b, uses: file.write, with: *common}
            """)
        let result = try await CommandRunner.run(["validate", "w.yaml"], in: dir.path)
        #expect(result.status == 2)
        #expect(result.stderr.components(separatedBy: "unknown step 'nope1'").count == 2, "\(result.stderr)")
        #expect(result.stderr.hasSuffix("\n2 errors\n"), "\(result.stderr)")
    }

    @Test func graphDrawsMermaidAndDot() async throws {
        let mermaid = try await CommandRunner.run(["graph", "workflows/transcript-pack.yaml"])
        #expect(mermaid.status == 0)
        #expect(mermaid.stdout.hasPrefix("flowchart LR\n"))
        let dot = try await CommandRunner.run(["graph", "--format", "dot", "workflows/transcript-pack.yaml"])
        #expect(dot.stdout.hasPrefix("digraph \"transcript-pack\" {"))
    }

    @Test func schemaIsJSONAndKindsHelpComesFromTheRegistry() async throws {
        let schema = try await CommandRunner.run(["schema"])
        #expect(schema.status == 0)
        #expect((try? JSONSerialization.jsonObject(with: Data(schema.stdout.utf8))) != nil)
        let kinds = try await CommandRunner.run(["kinds", "transcript.load"])
        #expect(kinds.stdout.contains("window   a number or a string                 \"10m\"    Length of each chunk."))
        let unknown = try await CommandRunner.run(["kinds", "transcript.lod"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("did you mean 'transcript.load'?"))
    }

    @Test func missingFileIsAnErrorNotACrash() async throws {
        let result = try await CommandRunner.run(["validate", "workflows/nope.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("workflows/nope.yaml:1:1: error: no such file"))
    }

    /// FFmpeg (and the hundred-odd libraries it pulls in) is loaded by a run that touches media,
    /// and by nothing else: the dynamic loader's own trace (LD_DEBUG) shows what a process opened.
    @Test func onlyARunThatTouchesMediaLoadsFFmpeg() async throws {
        let trace = ["LD_DEBUG": "files"]
        let validate = try await CommandRunner.run(["validate", "workflows/post-stream.yaml"], environment: trace)
        #expect(validate.status == 0, "\(validate.stderr.suffix(2000))")
        #expect(validate.stderr.contains("file=libsqlite3"), "the trace is on")
        #expect(!validate.stderr.contains("libavformat"))

        let folder = TemporaryFolder()
        let recording = try await MediaSamples.shared.path("mp4")
        try "name: probe\nsteps:\n  - {id: probe, uses: media.probe, with: {input: \"\(recording)\"}}\n"
            .write(toFile: folder.path + "/probe.yaml", atomically: true, encoding: .utf8)
        let probe = try await CommandRunner.run(["run", "probe.yaml"], in: folder.path, environment: trace)
        #expect(probe.status == 0, "\(probe.stdout.suffix(2000))")
        #expect(probe.stderr.contains("file=libavformat.so"))
    }

    /// A `--json` reader that goes away (here `head`, with SIGPIPE ignored as some parents do)
    /// makes the writes fail; the run goes on to its end instead of crashing.
    @Test func aJSONReaderThatGoesAwayDoesNotStopTheRun() async throws {
        let folder = TemporaryFolder()
        let script = """
            trap '' PIPE
            "$AIV" run workflows/post-stream.yaml --dry-run --json --state-dir "$DIR/state" --run-dir "$DIR/run" | head -c 1 > /dev/null
            echo "aiv exited ${PIPESTATUS[0]}"
            """
        let result = try await CommandRunner.run(["-c", script], environment: ["AIV": CommandRunner.binary, "DIR": folder.path],
                                                 executable: "/bin/bash")
        #expect(result.stdout.contains("aiv exited 0"), "\(result.stdout)\n\(result.stderr.suffix(2000))")
        #expect(!result.stderr.contains("Fatal error"))
        let runs = try await CommandRunner.run(["runs", "list", "--state-dir", folder.path + "/state"])
        #expect(runs.stdout.contains("succeeded"), "\(runs.stdout)")
    }
}
