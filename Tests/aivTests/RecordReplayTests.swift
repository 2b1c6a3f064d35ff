import AIVCore
import AIVTestSupport
import Foundation
import Testing

/// `aiv run --record` against a local fake Gemini, then `aiv run --dry-run` with the fake stopped.
@Suite(.serialized) struct RecordReplayTests {
    static let secret = "AIzaTopSecretKey-9f8e7d6c"

    static let workflow = """
        name: vocab
        services:
          gemini:
            model: gemini-2.5-flash
            retry: {attempts: 3, delay: 0.05}
            limits: {requests_per_minute: 6000}
        steps:
          - id: analyse
            uses: gemini.generate
            for_each: ["今日は配信ありがとう", "草生える", "てぇてぇ"]
            with:
              prompt: ../prompts/vocab.prompt
              values: {line: "${{ item }}"}
          - id: collect
            uses: list.merge
            with:
              lists: "${{ steps.analyse.outputs[*].result.items }}"
        """

    static let prompt = """
        ---
        output:
          schema:
            type: object
            required: [items]
            properties:
              items: {type: array, items: {type: object, required: [japanese], properties: {japanese: {type: string}}}}
        ---
        List the expressions worth learning in: {{line}}
        """

    func workspace() throws -> TemporaryFolder {
        let folder = TemporaryFolder()
        folder.write("workflows/vocab.yaml", Self.workflow)
        folder.write("prompts/vocab.prompt", Self.prompt)
        return folder
    }

    /// A workspace whose vocab run was recorded against a fake Gemini that answered every item
    /// alike, the fake stopped since.
    func recordedWorkspace() async throws -> TemporaryFolder {
        let folder = try workspace()
        let gemini = try FakeGemini(apiKey: Self.secret)
        defer { gemini.stop() }
        gemini.defaultReply = { _ in .json(["items": [["japanese": "草"]]]) }
        let live = ["GEMINI_API_KEY": Self.secret, "GEMINI_BASE_URL": gemini.baseURL]
        #expect(try await aiv(["run", "workflows/vocab.yaml", "--record"], in: folder, environment: live).status == 0)
        return folder
    }

    func aiv(_ arguments: [String], in folder: TemporaryFolder, environment: [String: String]) async throws -> CommandRunner.Result {
        try await CommandRunner.run(arguments, in: folder.path, environment: environment)
    }

    @Test func aRecordedRunReplaysWithTheServerStoppedAndNoKeyAndTheSecretIsWrittenNowhere() async throws {
        let folder = try workspace()
        let gemini = try FakeGemini(apiKey: Self.secret)
        gemini.defaultReply = { request in
            let text = request["contents"]?.arrayValue?.first?["parts"]?.arrayValue?.first?["text"]?.stringValue ?? ""
            return .json(["items": [["japanese": .string(String(text.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces))]]])
        }
        gemini.enqueue(.rateLimited(retryDelay: "0.1s"))
        let live = ["GEMINI_API_KEY": Self.secret, "GEMINI_BASE_URL": gemini.baseURL]
        let recorded = try await aiv(["run", "workflows/vocab.yaml", "--record", "--run-dir", "out/recorded"], in: folder, environment: live)
        #expect(recorded.status == 0, "\(recorded.stdout)\n\(recorded.stderr)")
        #expect(recorded.stdout.contains("Recorded 3 exchanges in 1 fixture file"))
        #expect(gemini.generateRequests.count == 4)
        gemini.stop()

        let fixture = try #require(folder.read("workflows/fixtures/vocab/analyse.yaml"))
        #expect(fixture.contains("x-goog-api-key: <redacted>"))
        #expect(fixture.contains("てぇてぇ"))

        // Every file the recording run wrote, the database included: the key is in none of them.
        for file in folder.files() {
            let data = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/" + file))
            #expect(data.range(of: Data(Self.secret.utf8)) == nil, "the key was written to \(file)")
        }

        let offline = ["GEMINI_API_KEY": "", "GEMINI_BASE_URL": gemini.baseURL]
        let replayed = try await aiv(["run", "workflows/vocab.yaml", "--dry-run", "--run-dir", "out/replayed"], in: folder, environment: offline)
        #expect(replayed.status == 0, "\(replayed.stdout)\n\(replayed.stderr)")
        let recordedOutputs = folder.stepOutputs(run: "out/recorded", step: "collect")
        #expect(recordedOutputs != nil)
        #expect(folder.stepOutputs(run: "out/replayed", step: "collect") == recordedOutputs)
        #expect(folder.stepOutputs(run: "out/replayed", step: "analyse") == folder.stepOutputs(run: "out/recorded", step: "analyse"))
    }

    /// A recording run that fails would replace a complete set of fixtures with part of one: the
    /// fixtures stay as they were, and the partial recording goes into the run folder.
    @Test func aRecordingRunThatFailsLeavesTheFixturesAsTheyWere() async throws {
        let folder = try workspace()
        let gemini = try FakeGemini(apiKey: Self.secret)
        gemini.defaultReply = { _ in .json(["items": [["japanese": "草"]]]) }
        let live = ["GEMINI_API_KEY": Self.secret, "GEMINI_BASE_URL": gemini.baseURL]
        let first = try await aiv(["run", "workflows/vocab.yaml", "--record"], in: folder, environment: live)
        #expect(first.status == 0, "\(first.stderr)")
        let complete = try #require(folder.read("workflows/fixtures/vocab/analyse.yaml"))

        gemini.defaultReply = { _ in .serverError(400) }
        let failed = try await aiv(["run", "workflows/vocab.yaml", "--record", "--no-cache", "--run-dir", "out/failed"], in: folder, environment: live)
        gemini.stop()
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("the run did not succeed, so \(folder.path)/workflows/fixtures/vocab is left as it was"), "\(failed.stderr)")
        #expect(folder.read("workflows/fixtures/vocab/analyse.yaml") == complete)
        #expect(folder.read("out/failed/_aiv/fixtures/analyse.yaml")?.contains("status: 400") == true)
    }

    /// Ctrl-C stops a run as a failure does: the step under way is cancelled at once, the run is
    /// reported interrupted (exit 130), and what was recorded so far is kept in the run folder.
    @Test func anInterruptedRecordingStopsAtOnceAndKeepsWhatItRecorded() async throws {
        let folder = try workspace()
        let gemini = try FakeGemini(apiKey: Self.secret)
        gemini.enqueue(.json(["items": [["japanese": "今日"]]]))
        gemini.defaultReply = { _ in .delayed(30, .json(["items": []])) }
        let live = ["GEMINI_API_KEY": Self.secret, "GEMINI_BASE_URL": gemini.baseURL]
        let started = Date()
        let stopped = try await CommandRunner.run(
            ["run", "workflows/vocab.yaml", "--record", "--json", "--max-parallel", "1", "--run-dir", "out/stopped"],
            in: folder.path, environment: live, killWhen: { $0.contains("\"invocation_finished\"") }, signal: SIGINT)
        gemini.stop()
        #expect(stopped.status == 130, "\(stopped.stdout)\n\(stopped.stderr)")
        #expect(Date().timeIntervalSince(started) < 20, "the item waiting for its answer was cancelled")
        #expect(stopped.stdout.contains("\"event\":\"warning\"") && stopped.stdout.contains("interrupted: stopping the steps under way"), "\(stopped.stdout)")
        #expect(stopped.stdout.contains("\"event\":\"run_finished\"") && stopped.stdout.contains("\"status\":\"interrupted\""))
        // And how far it got, as `runs show` says of a killed run's step.
        #expect(stopped.stdout.contains("cancelled: the run was interrupted, 1 of 3 items done"), "the step under way says what stopped it")
        #expect(folder.read("workflows/fixtures/vocab/analyse.yaml") == nil, "a part of a recording replaces no fixtures")
        #expect(folder.read("out/stopped/_aiv/fixtures/analyse.yaml")?.contains("今日") == true)
    }

    /// GNU `timeout` (and a kill of the process group) delivers its SIGTERM twice at once: that
    /// is one request to stop, so the run still ends with its summary, history and recording.
    @Test func aStopSignalDeliveredTwiceAtOnceStopsTheRunGracefully() async throws {
        let folder = try workspace()
        let gemini = try FakeGemini(apiKey: Self.secret)
        gemini.enqueue(.json(["items": [["japanese": "今日"]]]))
        gemini.defaultReply = { _ in .delayed(30, .json(["items": []])) }
        let live = ["GEMINI_API_KEY": Self.secret, "GEMINI_BASE_URL": gemini.baseURL]
        let stopped = try await CommandRunner.run(
            ["run", "workflows/vocab.yaml", "--record", "--json", "--max-parallel", "1", "--run-dir", "out/stopped"],
            in: folder.path, environment: live, killWhen: { $0.contains("\"invocation_finished\"") }, signal: SIGTERM, signalTimes: 2)
        gemini.stop()
        #expect(stopped.status == 130, "\(stopped.stdout)\n\(stopped.stderr)")
        #expect(stopped.stdout.contains("terminated: stopping the steps under way"), "\(stopped.stdout)")
        #expect(stopped.stdout.contains("\"event\":\"run_finished\"") && stopped.stdout.contains("\"status\":\"interrupted\""))
        #expect(folder.read("out/stopped/_aiv/fixtures/analyse.yaml")?.contains("今日") == true)
    }

    /// `aiv runs show` of a run still going says its steps are running (with their items done so
    /// far) or to come, not that the run failed to finish them.
    @Test func aRunStillGoingShowsItsStepsAsRunningOrToCome() async throws {
        let folder = try workspace()
        let gemini = try FakeGemini(apiKey: Self.secret)
        gemini.defaultReply = { _ in .delayed(1, .json(["items": []])) }
        let aiv = "'\(CommandRunner.binary)'"
        let command = "\(aiv) run workflows/vocab.yaml --max-parallel 1 >/dev/null 2>&1 & "
            + "until \(aiv) runs | grep -q running; do sleep 0.1; done; \(aiv) runs show last; wait"
        let result = try await CommandRunner.run(["-c", command], in: folder.path, environment: ["GEMINI_API_KEY": Self.secret, "GEMINI_BASE_URL": gemini.baseURL],
                                                 timeout: 60, executable: "/bin/sh")
        gemini.stop()
        let collect = result.stdout.split(separator: "\n").first { $0.hasPrefix("collect") }.map(String.init) ?? ""
        #expect(collect.contains("to come") && collect.contains("not started yet"), "\(result.stdout)\n\(result.stderr)")
        // The first step is under way, unless `runs show` came before its start was written.
        let analyse = result.stdout.split(separator: "\n").first { $0.hasPrefix("analyse") }.map(String.init) ?? ""
        #expect(analyse.contains("running") && analyse.contains("under way: ") && analyse.contains(" of 3 items done")
                || analyse.contains("to come"), "\(result.stdout)")
        #expect(!result.stdout.contains("not finished"), "\(result.stdout)")
    }

    /// A recorded error answer is replayed as it was, retried as it was, but without the waits:
    /// nothing is sent, so a dry run of a recorded 503 with 20 s of backoff takes no 20 s. The
    /// error names the fixture that holds the answer.
    @Test func aRecordedErrorReplaysWithoutWaitingAndNamesItsFixture() async throws {
        let folder = try await recordedWorkspace()
        // The recording as a server having a bad day would have left it: every answer a 503.
        let fixture = try #require(folder.read("workflows/fixtures/vocab/analyse.yaml"))
        folder.write("workflows/fixtures/vocab/analyse.yaml", fixture.replacingOccurrences(of: "status: 200", with: "status: 503"))
        // The service's retries and the step's own: neither waits in a dry run.
        folder.write("workflows/vocab.yaml", Self.workflow
            .replacingOccurrences(of: "retry: {attempts: 3, delay: 0.05}", with: "retry: {attempts: 3, delay: 10}")
            .replacingOccurrences(of: "    uses: gemini.generate\n", with: "    uses: gemini.generate\n    retry: {attempts: 2, backoff: 30s}\n"))
        let started = Date()
        let replayed = try await aiv(["run", "workflows/vocab.yaml", "--dry-run"], in: folder, environment: ["GEMINI_API_KEY": ""])
        #expect(replayed.status == 1)
        #expect(Date().timeIntervalSince(started) < 10, "the backoff of 10 s and 20 s was not waited")
        #expect(replayed.stderr.contains("gemini answered 503"), "\(replayed.stderr)")
        #expect(replayed.stderr.contains("(after 3 attempts)") && replayed.stderr.contains("the step tried 2 times"), "\(replayed.stderr)")
        #expect(replayed.stderr.contains("the answer recorded in \(folder.path)/workflows/fixtures/vocab/analyse.yaml"), "\(replayed.stderr)")
    }

    /// An answer that is a failure inside a 200 (the output token limit) says which fixture it
    /// came from, as a recorded error status does, with the message's parenthesis closed.
    @Test func aRecordedAnswerThatFailsTheStepNamesItsFixture() async throws {
        let folder = try await recordedWorkspace()
        let fixture = try #require(folder.read("workflows/fixtures/vocab/analyse.yaml"))
        #expect(fixture.contains("finishReason: STOP"))
        folder.write("workflows/fixtures/vocab/analyse.yaml", fixture.replacingOccurrences(of: "finishReason: STOP", with: "finishReason: MAX_TOKENS"))
        let replayed = try await aiv(["run", "workflows/vocab.yaml", "--dry-run"], in: folder, environment: ["GEMINI_API_KEY": ""])
        #expect(replayed.status == 1)
        #expect(replayed.stderr.contains("tokens written): raise config.maxOutputTokens in '../prompts/vocab.prompt', or send less at once"
                                         + " (the answer recorded in \(folder.path)/workflows/fixtures/vocab/analyse.yaml)"), "\(replayed.stderr)")
    }

    /// A background job of a shell without job control is started with SIGINT ignored, so that a
    /// Ctrl-C meant for the foreground spares it: aiv leaves it ignored and runs to the end.
    @Test func aRunStartedWithInterruptIgnoredKeepsIgnoringIt() async throws {
        let folder = try workspace()
        let gemini = try FakeGemini(apiKey: Self.secret)
        gemini.defaultReply = { _ in .delayed(0.3, .json(["items": []])) }
        let command = "trap '' INT; exec '\(CommandRunner.binary)' run workflows/vocab.yaml --json --max-parallel 1"
        let result = try await CommandRunner.run(["-c", command], in: folder.path,
                                                 environment: ["GEMINI_API_KEY": Self.secret, "GEMINI_BASE_URL": gemini.baseURL],
                                                 killWhen: { $0.contains("\"invocation_finished\"") }, signal: SIGINT, executable: "/bin/sh")
        gemini.stop()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("\"status\":\"succeeded\""))
    }

    @Test func aDryRunOfAChangedPromptSaysWhatDiffersFromTheRecording() async throws {
        let folder = try workspace()
        let gemini = try FakeGemini(apiKey: Self.secret)
        let live = ["GEMINI_API_KEY": Self.secret, "GEMINI_BASE_URL": gemini.baseURL]
        gemini.defaultReply = { _ in .json(["items": []]) }
        let recorded = try await aiv(["run", "workflows/vocab.yaml", "--record"], in: folder, environment: live)
        #expect(recorded.status == 0, "\(recorded.stdout)\n\(recorded.stderr)")
        gemini.stop()

        folder.write("prompts/vocab.prompt", Self.prompt.replacingOccurrences(of: "worth learning", with: "a learner needs"))
        let replayed = try await aiv(["run", "workflows/vocab.yaml", "--dry-run"], in: folder, environment: ["GEMINI_API_KEY": ""])
        #expect(replayed.status == 1)
        let output = replayed.stdout + replayed.stderr
        #expect(output.contains("no recorded answer for POST /v1beta/models/gemini-2.5-flash:generateContent"))
        #expect(output.contains("contents[0].parts[0].text: recorded \"List the expressions worth learning"))
        #expect(output.contains("sent \"List the expressions a learner needs"))
    }

    @Test func aDryRunWithoutFixturesSaysHowToRecordThem() async throws {
        let folder = try workspace()
        let result = try await aiv(["run", "workflows/vocab.yaml", "--dry-run"], in: folder, environment: ["GEMINI_API_KEY": ""])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no fixtures in"))
        #expect(result.stderr.contains("aiv run --record"))
        let json = try await aiv(["run", "workflows/vocab.yaml", "--dry-run", "--json"], in: folder, environment: ["GEMINI_API_KEY": ""])
        #expect(json.status == 2 && json.stdout.contains("\"event\":\"diagnostic\"") && json.stdout.contains("no fixtures in"), "\(json.stdout)")
        // The plan checks the fixtures as the run would: none, or a malformed file, stops it too.
        let planned = try await aiv(["plan", "workflows/vocab.yaml", "--dry-run"], in: folder, environment: [:])
        #expect(planned.status == 2 && planned.stderr.contains("no fixtures in"), "\(planned.stdout)\n\(planned.stderr)")
        folder.write("workflows/fixtures/vocab/analyse.yaml", "format: 1\nexchanges: [\n")
        let malformed = try await aiv(["plan", "workflows/vocab.yaml", "--dry-run"], in: folder, environment: [:])
        #expect(malformed.status == 2 && malformed.stderr.contains("analyse.yaml:"), "\(malformed.stdout)\n\(malformed.stderr)")
        // Fixtures for other steps only: the plan goes on, and says which service step has nothing to replay.
        try FileManager.default.removeItem(atPath: folder.path + "/workflows/fixtures/vocab/analyse.yaml")
        folder.write("workflows/fixtures/vocab/other.yaml",
                     "format: 1\nstep: other\nexchanges:\n  - {service: gemini, request: {method: GET, url: /a}, response: {status: 200}}\n")
        let unrecorded = try await aiv(["plan", "workflows/vocab.yaml", "--dry-run"], in: folder, environment: [:])
        #expect(unrecorded.status == 0, "\(unrecorded.stderr)")
        #expect(unrecorded.stderr.contains("warning: step 'analyse' has no recording to replay (analyse.yaml in the fixtures)"), "\(unrecorded.stderr)")
    }

    @Test func quotaCountsTheDaysRequestsAcrossRunsAndRunsShowListsTokensPerStep() async throws {
        let folder = try workspace()
        let gemini = try FakeGemini(apiKey: Self.secret)
        defer { gemini.stop() }
        gemini.defaultReply = { _ in .json(["items": []]) }
        let live = ["GEMINI_API_KEY": Self.secret, "GEMINI_BASE_URL": gemini.baseURL]
        #expect(try await aiv(["run", "workflows/vocab.yaml"], in: folder, environment: live).status == 0)
        #expect(try await aiv(["run", "workflows/vocab.yaml", "--no-cache"], in: folder, environment: live).status == 0)

        let quota = try await aiv(["quota", "--json"], in: folder, environment: [:])
        #expect(quota.status == 0, "\(quota.stderr)")
        let services = try JSONDecoder().decode(JSONValue.self, from: Data(quota.stdout.utf8))
        // Counted for the stand-in, not against the real Gemini's day.
        let row = services.arrayValue?.first { $0["service"] == "gemini" && $0["server"] == .string(gemini.baseURL) }
        #expect(row?["requests"] == 6)
        #expect(row?["requests_per_day"] == 250)
        #expect(row?["left"] == 244)
        #expect(row?["rate_limits"] == "10/min, 250000 tokens/min")
        let own = services.arrayValue?.first { $0["service"] == "gemini" && $0["server"] == .null }
        #expect(own?["requests"] == 0)

        let show = try await aiv(["runs", "show", "last"], in: folder, environment: [:])
        #expect(show.stdout.contains("Service calls:"))
        #expect(show.stdout.contains("analyse"))
    }
}

@Suite(.serialized) struct NotionRecordReplayTests {
    @Test func notionUpsertsReplayFromFixturesWithNothingWrittenAnywhere() async throws {
        let notion = try FakeNotion()
        notion.requestsPerSecond = nil
        let database = notion.addDatabase(title: "Vocabulary", properties: ["Japanese": "title", "English": "rich_text"])
        let folder = TemporaryFolder()
        folder.write("publish.yaml", """
            name: publish
            services:
              notion: {version: "2025-09-03", limits: {requests_per_second: 100}}
            steps:
              - id: publish
                uses: notion.upsert
                for_each: [草, てぇてぇ, 尊い]
                with:
                  key: Japanese
                  properties: {Japanese: "${{ item }}", English: "${{ format('meaning of {0}', item) }}"}
            """)
        let live = ["NOTION_TOKEN": notion.token, "NOTION_BASE_URL": notion.baseURL, "NOTION_DATABASE_ID": database]
        let recorded = try await CommandRunner.run(["run", "publish.yaml", "--record", "--run-dir", "recorded"], in: folder.path, environment: live)
        #expect(recorded.status == 0, "\(recorded.stdout)\n\(recorded.stderr)")
        #expect(notion.pages(in: database).count == 3)
        notion.stop()
        #expect(folder.read("fixtures/publish/publish.yaml")?.contains("authorization: <redacted>") == true)

        var offline = live
        offline["NOTION_TOKEN"] = ""
        let replayed = try await CommandRunner.run(["run", "publish.yaml", "--dry-run", "--run-dir", "replayed"], in: folder.path, environment: offline)
        #expect(replayed.status == 0, "\(replayed.stdout)\n\(replayed.stderr)")
        #expect(folder.stepOutputs(run: "replayed", step: "publish") != nil)
        #expect(folder.stepOutputs(run: "replayed", step: "publish") == folder.stepOutputs(run: "recorded", step: "publish"))
        // A service without a daily limit still has its requests counted (the recording's, not the replay's).
        let quota = try await CommandRunner.run(["quota", "--json"], in: folder.path, environment: [:])
        let row = try JSONDecoder().decode(JSONValue.self, from: Data(quota.stdout.utf8)).arrayValue?.first {
            $0["service"] == "notion" && $0["server"] == .string(notion.baseURL)
        }
        #expect(row?["requests"]?.numberValue.map(Int.init) == notion.requestCount, "\(quota.stdout)")
        #expect(row?["resets_at"] == .null, "no daily quota, so nothing resets")
        for file in folder.files() {
            let data = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/" + file))
            #expect(data.range(of: Data(notion.token.utf8)) == nil, "the token was written to \(file)")
        }
    }
}
