import AIVCore
import AIVTestSupport
import Foundation
import Testing

/// The flow-to-stock pipeline, end to end with the built `aiv`: the shipped sample as a dry run
/// from the shipped fixtures, and live runs against local stand-ins for Gemini and Notion.
@Suite(.serialized) struct PostStreamTests {
    /// A copy of the project's workflows (with their fixtures), prompts, templates and samples.
    final class Workspace: @unchecked Sendable {
        let folder = TemporaryFolder()

        init() throws {
            for name in ["workflows", "templates", "samples", "prompts"] {
                try FileManager.default.copyItem(atPath: CommandRunner.packageRoot + "/" + name, toPath: folder.path + "/" + name)
            }
        }

        func aiv(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandRunner.Result {
            try await CommandRunner.run(arguments, in: folder.path, environment: environment)
        }

        func json(_ relative: String) throws -> JSONValue {
            try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: folder.path + "/" + relative)))
        }

        /// A step's outputs from a run folder's `_aiv/outputs.json`.
        func outputs(_ run: String, _ step: String) throws -> JSONValue {
            guard let outputs = folder.stepOutputs(run: run, step: step) else {
                throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: "\(run)/_aiv/outputs.json: no step '\(step)'"])
            }
            return outputs
        }

        func statuses(_ result: CommandRunner.Result) -> [String: String] {
            var statuses: [String: String] = [:]
            for line in result.stdout.split(separator: "\n") where line.contains("\"step_finished\"") {
                guard let event = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)),
                      let step = event["step"]?.stringValue, let status = event["status"]?.stringValue else { continue }
                statuses[step] = status
            }
            return statuses
        }
    }

    /// What the sample's model answers hold, for checking the results against.
    static func answers() throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: CommandRunner.packageRoot + "/samples/stream-02/model-answers.json")))
    }

    /// What `aiv kinds K` shows as an example is a step of the shipped pipeline: appended to
    /// post-stream.yaml (under another id), each one validates.
    @Test func everyKindsExampleIsAValidStepOfThePipeline() async throws {
        let workspace = try Workspace()
        let list = try await workspace.aiv(["kinds"])
        let kinds = list.stdout.split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.contains(".") }
        #expect(kinds.count > 20)
        let pipeline = try String(contentsOfFile: workspace.folder.path + "/workflows/post-stream.yaml", encoding: .utf8)
        for kind in kinds {
            let shown = try await workspace.aiv(["kinds", kind]).stdout
            guard let start = shown.range(of: "Example:\n") else {
                Issue.record("\(kind) shows no example")
                continue
            }
            let example = shown[start.upperBound...].replacingOccurrences(of: "  - id: ", with: "  - id: example_")
            workspace.folder.write("workflows/example.yaml", pipeline + "\n" + example)
            let checked = try await workspace.aiv(["validate", "workflows/example.yaml"])
            #expect(checked.status == 0, "\(kind)'s example: \(checked.stdout)\(checked.stderr)")
        }
    }

    @Test func aDryRunOfTheSampleLeavesEveryOutputAndASecondRunIsCached() async throws {
        let workspace = try Workspace()
        let offline = ["GEMINI_API_KEY": "", "NOTION_TOKEN": "", "NOTION_DATABASE_ID": "", "GEMINI_BASE_URL": "", "NOTION_BASE_URL": ""]
        let first = try await workspace.aiv(["run", "workflows/post-stream.yaml", "--dry-run", "--json", "--run-dir", "out/first"], environment: offline)
        #expect(first.status == 0, "\(first.stdout.suffix(3000))\n\(first.stderr.suffix(2000))")

        // The vocabulary: every expression the model found, once, without the N5 ones, in stream order.
        let answers = try Self.answers()
        var expected: [String] = []
        for part in (answers["analyse"]?.objectValue ?? [:]).keys.sorted(by: { Int($0)! < Int($1)! }) {
            for item in answers["analyse"]?[part]?["items"]?.arrayValue ?? [] where item["difficulty"] != "N5" {
                if let japanese = item["japanese"]?.stringValue, !expected.contains(japanese) { expected.append(japanese) }
            }
        }
        let vocabulary = try workspace.outputs("out/first", "vocabulary")
        let found = vocabulary["items"]?.arrayValue?.compactMap { $0["japanese"]?.stringValue } ?? []
        #expect(Set(found) == Set(expected))
        #expect(found.count == expected.count)
        let starts = vocabulary["items"]?.arrayValue?.compactMap { $0["start"]?.numberValue } ?? []
        #expect(starts == starts.sorted())

        // Clips that ffprobe accepts, as long as the moments asked (from the keyframe at or before each start),
        // and each made a vertical Short of the same length.
        let asked = answers["moments"]?["clips"]?.arrayValue ?? []
        let clips = try workspace.outputs("out/first", "clips").arrayValue ?? []
        let shorts = try workspace.outputs("out/first", "shorts").arrayValue ?? []
        #expect(clips.count == asked.count && shorts.count == asked.count)
        for (index, moment) in asked.enumerated() {
            func probe(_ path: String) async throws -> [String] {
                let result = try await Tool.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height:format=duration",
                                                 "-of", "csv=p=0", workspace.folder.path + "/out/first/" + path])
                return result.stdout.split(whereSeparator: \.isNewline).flatMap { $0.split(separator: ",") }.map(String.init)
            }
            let clip = try await probe("clips/clip-\(index).mp4")
            let duration = Double(clip.last ?? "") ?? -1
            let actual = clips[index]["actual_start"]?.numberValue ?? 0
            let wanted = (moment["end"]?.numberValue ?? 0) - actual
            // What aiv reports is what ffprobe reads; both are the span asked plus at most the
            // B-frame delay and a frame (the sample has B-frames, as stream recordings do).
            #expect(abs(duration - (clips[index]["duration"]?.numberValue ?? 0)) < 0.05, "clip \(index): ffprobe \(duration)")
            #expect(duration >= wanted && duration - wanted < 0.5, "clip \(index): ffprobe \(duration), asked \(wanted)")
            let short = try await probe("shorts/short-\(index).mp4")
            #expect(short.count == 3, "short \(index): \(short)")
            let (width, height, length) = (Int(short.first ?? "") ?? 0, Int(short.dropFirst().first ?? "") ?? 0, Double(short.last ?? "") ?? -1)
            #expect(height > width && abs(Double(width) / Double(height) - 9.0 / 16) < 0.02, "short \(index): \(width)x\(height)")
            // Every frame of the clip; the clip reads longer by its B-frame delay (copied, it keeps the recording's).
            #expect(length <= duration + 0.05 && duration - length < 0.5, "short \(index): \(length) s, its clip \(duration) s")
            // Its captions, from the transcript, timed from the clip's start.
            let captions = workspace.folder.read("out/first/shorts/short-\(index).srt") ?? ""
            #expect(captions.hasPrefix("1\n00:00:"), "short \(index): \(captions.prefix(80))")
        }

        // The written material.
        let worksheet = workspace.folder.read("out/first/worksheet.md") ?? ""
        #expect(worksheet.contains("## Answer key"))
        for japanese in expected { #expect(worksheet.contains(japanese)) }
        #expect(workspace.folder.read("out/first/vocabulary.md")?.contains("| Japanese | Reading |") == true)
        #expect(workspace.folder.read("out/first/posts/short-0.txt")?.contains("&t=") == true)
        let youtube = try workspace.json("out/first/youtube-metadata.json")
        #expect(youtube["title"] == answers["metadata"]?["title"])
        #expect(youtube["tags"] == answers["metadata"]?["tags"])
        // The summary, then chapters YouTube accepts: 0:00 first, at least 3, each 10 s or longer,
        // the last ending with the recording; every expression is in one of them.
        let description = youtube["description"]?.stringValue ?? ""
        let summary = answers["metadata"]?["summary"]?.stringValue ?? "?"
        #expect(description.hasPrefix(summary + "\n\n"))
        let chapterLines = description.dropFirst(summary.count + 2).split(separator: "\n")
        let chapterStarts = chapterLines.map { line in
            line.prefix { $0 != " " }.split(separator: ":").reduce(0) { $0 * 60 + (Int($1) ?? -100_000) }
        }
        #expect(chapterStarts.first == 0)
        #expect(chapterStarts.count >= 3)
        #expect(zip(chapterStarts, chapterStarts.dropFirst()).allSatisfy { $1 - $0 >= 10 }, "\(chapterLines)")
        let recordingLength = try workspace.outputs("out/first", "recording")["duration"]?.numberValue ?? 0
        #expect(recordingLength - Double(chapterStarts.last ?? 0) >= 10)
        for japanese in expected { #expect(chapterLines.contains { $0.contains(japanese) }, "\(japanese) has no chapter") }
        let publish = try workspace.outputs("out/first", "publish").arrayValue ?? []
        #expect(publish.count == expected.count)

        // Again: everything but the steps with side effects comes from the cache.
        let second = try await workspace.aiv(["run", "workflows/post-stream.yaml", "--dry-run", "--json", "--run-dir", "out/second"], environment: offline)
        #expect(second.status == 0)
        let statuses = workspace.statuses(second)
        // (The sample has a transcript: the steps that make one from the recording are skipped.)
        let makeATranscript: Set = ["captions", "audio", "heard", "heard_transcript"]
        #expect(Set(statuses.filter { $0.value == "skipped" }.keys) == makeATranscript)
        for (step, status) in statuses where !["stock", "publish"].contains(step) && !makeATranscript.contains(step) {
            #expect(status == "cached", "\(step) was \(status)")
        }
        // Why the side-effecting steps ran again, as `plan` says it (not "cache off", which reads as a `cache: false`).
        let stockFinished = second.stdout.split(separator: "\n").first { $0.contains("\"step_finished\"") && $0.contains("\"step\":\"stock\"") }
        #expect(stockFinished?.contains("\"reason\":\"side effects: runs every time\"") == true, "\(stockFinished ?? "")")

        // `plan --dry-run` judges a dry run's keys: the analysis is cached. `plan` alone judges a
        // live run's, and says the cached analysis came from a dry run (not "settings changed").
        let dryPlan = try await workspace.aiv(["plan", "workflows/post-stream.yaml", "--dry-run"], environment: offline)
        #expect(dryPlan.status == 0, "\(dryPlan.stderr)")
        let analyse = try #require(dryPlan.stdout.split(separator: "\n").first { $0.contains(" analyse ") })
        #expect(analyse.contains("cached") && !analyse.contains("runs:"), "\(analyse)")
        let livePlan = try await workspace.aiv(["plan", "workflows/post-stream.yaml"], environment: offline)
        let liveAnalyse = try #require(livePlan.stdout.split(separator: "\n").first { $0.contains(" analyse ") })
        #expect(liveAnalyse.contains("runs: the cached result came from a dry run; a live run calls the service"), "\(liveAnalyse)")

        // Recorded answers that change (edited, or recorded again) are replayed again, and only
        // by the steps whose answers changed (this copy's fixture, not the shipped one).
        let fixture = "workflows/fixtures/post-stream/moments.yaml"
        let recorded = try #require(workspace.folder.read(fixture))
        workspace.folder.write(fixture, recorded.replacingOccurrences(of: "Dead end! 詰んだ", with: "Cornered! 詰んだ"))
        let edited = try await workspace.aiv(["plan", "workflows/post-stream.yaml", "--dry-run"], environment: offline)
        let moments = try #require(edited.stdout.split(separator: "\n").first { $0.contains(" moments ") })
        #expect(moments.contains("runs: its recorded answers (fixtures) changed"), "\(moments)")
        let third = try await workspace.aiv(["run", "workflows/post-stream.yaml", "--dry-run", "--json", "--run-dir", "out/third"], environment: offline)
        #expect(third.status == 0, "\(third.stderr.suffix(2000))")
        let rerun = workspace.statuses(third).filter { $0.value == "succeeded" }.keys
        #expect(Set(rerun) == ["moments", "stock", "publish", "posts"], "\(rerun.sorted())")
        #expect(workspace.folder.read("out/third/posts/short-1.txt")?.contains("Cornered! 詰んだ") == true)
    }

    /// A stand-in model: for each window, 草 (which every window shares, so the workflow folds it)
    /// and an expression of its own (N5 in the first window, which the workflow drops); moments
    /// inside a 10-second recording; fixed metadata.
    static func answer(_ request: JSONValue) -> FakeGemini.Reply {
        let text = request["contents"]?.arrayValue?.first?["parts"]?.arrayValue?.first?["text"]?.stringValue ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        if let from = lines.first(where: { $0.hasPrefix("This audio starts at ") }) {
            // Two lines per stretch of audio, timed from the stretch's own start.
            let at = from.dropFirst("This audio starts at ".count).prefix { $0 != " " }
            return .json(["segments": [["start": 2, "end": 4.5, "text": .string("草生える (\(at))")],
                                       ["start": 30, "end": 33, "text": .string("てぇてぇ (\(at))")]]])
        }
        let task = lines.first { $0.hasPrefix("Task: ") }.map { String($0.dropFirst(6)) } ?? ""
        switch task {
        case "analyse":
            let chunk = lines.first { $0.hasPrefix("Chunk: ") }.map { String($0.dropFirst(7)) } ?? "0"
            let said = lines.filter { $0.hasPrefix("[") }
            func seconds(_ line: String) -> Int {
                let stamp = line.dropFirst().prefix { $0 != "]" }.split(separator: ":").compactMap { Int($0) }
                return stamp.reduce(0) { $0 * 60 + $1 }
            }
            var items: [JSONValue] = [["japanese": "草", "reading": "くさ", "english": "lol", "category": "slang", "context": .string(said.first ?? ""),
                                       "difficulty": "N3", "tags": ["slang"], "start": .int(said.first.map(seconds) ?? 0)]]
            if let line = said.first {
                items.append(["japanese": .string("表現\(chunk)"), "reading": "ひょうげん", "english": .string("expression \(chunk)"), "category": "grammar",
                              "context": .string(line), "difficulty": chunk == "0" ? "N5" : "N2", "tags": ["stream"], "start": .int(seconds(line))])
            }
            return .json(["items": .array(items)])
        case "moments":
            return .json(["clips": [["start": 1, "end": 4, "title": "草 in one second", "expression": "草", "reason": "a laugh"],
                                    ["start": 5, "end": 9, "title": "A new expression", "expression": "表現1", "reason": "clear"]]])
        default:
            return .json(["title": "Learn Japanese with a stream", "summary": "Five windows of a stream.", "tags": ["japanese"]])
        }
    }

    /// The stand-ins, and the environment that points aiv at them.
    struct Services {
        var gemini: FakeGemini
        var notion: FakeNotion
        var database: String
        var environment: [String: String] {
            ["GEMINI_API_KEY": gemini.apiKey, "GEMINI_BASE_URL": gemini.baseURL, "NOTION_TOKEN": notion.token,
             "NOTION_BASE_URL": notion.baseURL, "NOTION_DATABASE_ID": database]
        }
        func stop() { gemini.stop(); notion.stop() }
    }

    /// The stand-in model, and a fake Notion with the vocabulary database.
    static func services() throws -> Services {
        let gemini = try FakeGemini()
        gemini.defaultReply = { answer($0) }
        let notion = try FakeNotion()
        notion.requestsPerSecond = nil
        let database = notion.addDatabase(title: "Vocabulary", properties: [
            "Japanese": "title", "Reading": "rich_text", "English": "rich_text", "Category": "select", "Context": "rich_text",
            "Difficulty": "select", "Tags": "multi_select", "Source": "url", "Timestamp": "url",
        ])
        return Services(gemini: gemini, notion: notion, database: database)
    }

    @Test func withoutATranscriptTheSubtitleTrackIsReadElseGeminiTranscribesTheAudioInStretches() async throws {
        let workspace = try Workspace()
        let services = try Self.services()
        defer { services.stop() }
        let (gemini, live) = (services.gemini, services.environment)

        // A recording with a subtitle track: its captions are the transcript, no audio is sent anywhere.
        let captioned = try await MediaSamples.shared.path("mkv")
        let withCaptions = try await workspace.aiv(["run", "workflows/post-stream.yaml", "--json", "--run-dir", "out/captions",
                                                    "--input", "recording=\(captioned)", "--input", "transcript="], environment: live)
        #expect(withCaptions.status == 0, "\(withCaptions.stdout.suffix(3000))\n\(withCaptions.stderr.suffix(2000))")
        let captionStatuses = workspace.statuses(withCaptions)
        #expect(captionStatuses["captions"] == "succeeded")
        #expect(captionStatuses["audio"] == "skipped" && captionStatuses["heard"] == "skipped")
        let captionSegments = try workspace.json("out/captions/transcript.json").arrayValue ?? []
        #expect(!captionSegments.isEmpty)
        #expect(captionSegments.compactMap { $0["text"]?.stringValue } == MediaSamples.cues.map(\.2))

        // The shipped 3-minute recording has none: Gemini hears it a minute at a time.
        let sent = gemini.generateRequests.count
        let heard = try await workspace.aiv(["run", "workflows/post-stream.yaml", "--json", "--run-dir", "out/heard",
                                             "--input", "transcript=", "--input", "audio_window=1m"], environment: live)
        #expect(heard.status == 0, "\(heard.stdout.suffix(3000))\n\(heard.stderr.suffix(2000))")
        let statuses = workspace.statuses(heard)
        #expect(statuses["captions"] == "skipped")
        #expect(statuses["audio"] == "succeeded" && statuses["heard"] == "succeeded" && statuses["transcript"] == "succeeded")
        let transcriptions = gemini.generateRequests.dropFirst(sent).filter { request in
            request["contents"]?.arrayValue?.first?["parts"]?.arrayValue?.contains { $0["inlineData"]?["mimeType"]?.stringValue?.hasPrefix("audio/") == true } == true
        }
        #expect(transcriptions.count == 3)
        // Each stretch's lines are moved to where the stretch starts in the stream. A stretch
        // starts on the audio packet that holds its start: the third, asked for at 2:00, at
        // 1:59.98, which its prompt gives as 1:59.
        let segments = try workspace.json("out/heard/transcript.json").arrayValue ?? []
        #expect(segments.compactMap { $0["text"]?.stringValue } == ["草生える (0:00)", "てぇてぇ (0:00)", "草生える (1:00)", "てぇてぇ (1:00)",
                                                                    "草生える (1:59)", "てぇてぇ (1:59)"])
        let starts = segments.compactMap { $0["start"]?.numberValue }
        #expect(starts.count == 6)
        for (start, expected) in zip(starts, [2.0, 30, 62, 90, 122, 150]) { #expect(abs(start - expected) < 0.5, "\(start) ≠ \(expected)") }
        #expect(try workspace.outputs("out/heard", "analyse").prettyJSON.contains("草生える"))

        // Run again: the audio stretches come back from the cache and so do Gemini's answers.
        let before = gemini.generateRequests.count
        let again = try await workspace.aiv(["run", "workflows/post-stream.yaml", "--json", "--run-dir", "out/heard-2",
                                             "--input", "transcript=", "--input", "audio_window=1m"], environment: live)
        #expect(again.status == 0)
        #expect(workspace.statuses(again)["heard"] == "cached")
        #expect(workspace.statuses(again)["audio"] == "cached")
        #expect(gemini.generateRequests.count == before)
    }

    @Test func liveRunsAgainstLocalServicesNeverDuplicatePagesAndAPromptEditRerunsOnlyItsStage() async throws {
        let workspace = try Workspace()
        let services = try Self.services()
        defer { services.stop() }
        let (gemini, notion, database, live) = (services.gemini, services.notion, services.database, services.environment)
        let recording = try await MediaSamples.shared.path("mp4")
        let fast = ["--input", "window=5m", "--input", "recording=\(recording)", "--input", "transcript=samples/stream-01/transcript.srt"]
        let first = try await workspace.aiv(["run", "workflows/post-stream.yaml", "--json", "--run-dir", "out/1"] + fast, environment: live)
        #expect(first.status == 0, "\(first.stdout.suffix(3000))\n\(first.stderr.suffix(2000))")
        // Every window's expressions, once each, without the N5 one; a page each; two Shorts that ffprobe reads.
        let vocabulary = try workspace.outputs("out/1", "vocabulary")["items"]?.arrayValue?.compactMap { $0["japanese"]?.stringValue } ?? []
        let windows = try workspace.outputs("out/1", "transcript")["chunks"]?.arrayValue?.count ?? 0
        #expect(windows == 5)
        #expect(Set(vocabulary) == Set(["草"] + (1..<windows).map { "表現\($0)" }))
        #expect(vocabulary.count == windows)
        let pages = notion.pages(in: database).count
        #expect(pages == vocabulary.count)
        for index in 0..<2 {
            let probe = try await Tool.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                            workspace.folder.path + "/out/1/shorts/short-\(index).mp4"])
            #expect((Double(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 2, "short \(index)")
        }
        #expect(workspace.folder.read("out/1/worksheet.md")?.contains("## Answer key") == true)
        #expect(workspace.folder.read("out/1/vocabulary.md")?.contains("| 草 | くさ | lol |") == true)
        #expect(workspace.folder.read("out/1/posts/short-1.txt")?.contains("表現1") == true)
        #expect(try workspace.json("out/1/youtube-metadata.json")["title"] == "Learn Japanese with a stream")

        // Edit one prompt: only its stage and what reads its output run again.
        let metadata = workspace.folder.path + "/prompts/metadata.prompt"
        let text = try String(contentsOfFile: metadata, encoding: .utf8)
        try text.replacingOccurrences(of: "temperature: 0.6", with: "temperature: 0.7").write(toFile: metadata, atomically: true, encoding: .utf8)
        let requests = gemini.generateRequests.count
        let second = try await workspace.aiv(["run", "workflows/post-stream.yaml", "--json", "--run-dir", "out/2"] + fast, environment: live)
        #expect(second.status == 0)
        let statuses = workspace.statuses(second)
        let ran = statuses.filter { $0.value == "succeeded" }.keys.sorted()
        // (description and youtube read metadata's result, which the fake answers the same: they stay cached.)
        #expect(ran.contains("metadata"))
        #expect(Set(ran).isSubset(of: ["metadata", "description", "youtube", "stock", "publish"]), "ran: \(ran)")
        #expect(gemini.generateRequests.count == requests + 1)
        // Twice through Notion, still one page per expression.
        #expect(notion.pages(in: database).count == pages)
        let keys = notion.pages(in: database).compactMap { notion.plainText(of: $0, property: "Japanese") }
        #expect(Set(keys).count == keys.count)
    }
}
