import AIVCore
import AIVTestSupport
import Foundation
import Testing
@testable import AIVSteps

struct SubtitlesWriteStepTests {
    let harness = StepHarness()

    /// Lines of a stream, in seconds from its start.
    let segments: JSONValue = [
        ["start": 40, "end": 44, "text": "before the clip"],
        ["start": 44, "end": 47.5, "text": "ちょっと待って"],
        ["start": 50, "end": 53.25, "text": "やばい\n(oh no)"],
        ["start": 70, "end": 78, "text": "runs past the end"],
        ["start": 74.95, "end": 80, "text": "a sliver inside"],
        ["start": 80, "end": 90, "text": "after the clip"],
        ["start": 51, "end": 52, "text": "   "],
    ]

    /// In WebVTT `&` and `<` begin entities and tags: written raw, "<3 ‹はい>" was lost to a player
    /// (and to transcript.load reading the file back).
    @Test func webVTTTextIsEscapedAndReadsBackAsWritten() async throws {
        let lines: JSONValue = [["start": 1, "end": 2, "text": "Tom & Jerry <3 ‹はい> a<b"]]
        let outputs = try await harness.outputs(SubtitlesWriteStep.self, ["segments": lines, "start": 0, "output": "c.vtt"])
        #expect(outputs["text"] == "Tom & Jerry <3 ‹はい> a<b")
        let written = try String(contentsOfFile: harness.runFolder.path + "/c.vtt", encoding: .utf8)
        #expect(written.contains("Tom &amp; Jerry &lt;3 ‹はい&gt; a&lt;b"))
        harness.workflow.write("c.vtt", written)
        let loaded = try await harness.outputs(TranscriptLoadStep.self, ["path": "c.vtt"])
        #expect(loaded["segments", 0, "text"] == "Tom & Jerry <3 ‹はい> a<b")
    }

    /// 12.1 − 12 is a hair under 0.1 in binary; the rule counts the milliseconds the file writes.
    @Test func aLineOfExactlyATenthOfASecondIsKeptWhereverItFalls() async throws {
        let lines: JSONValue = [["start": 1, "end": 1.1, "text": "early"], ["start": 12, "end": 12.1, "text": "late"],
                                ["start": 14.9, "end": 20, "text": "cut at the end"], ["start": 13, "end": 13.09, "text": "sliver"]]
        let outputs = try await harness.outputs(SubtitlesWriteStep.self, ["segments": lines, "start": 0, "end": 15, "output": "c.srt"])
        #expect(outputs["text"] == "early\nlate\ncut at the end")
    }

    @Test func theLinesOfTheStretchAreCutToItAndTimedFromItsStart() async throws {
        let outputs = try await harness.outputs(SubtitlesWriteStep.self, ["segments": segments, "start": 46, "end": 75, "output": "shorts/short-0.srt"])
        #expect(outputs["path"] == "shorts/short-0.srt")
        #expect(outputs["cues"] == 3)
        #expect(outputs["text"] == "ちょっと待って\nやばい\n(oh no)\nruns past the end")
        let written = try String(contentsOfFile: harness.runFolder.path + "/shorts/short-0.srt", encoding: .utf8)
        #expect(written == """
            1
            00:00:00,000 --> 00:00:01,500
            ちょっと待って

            2
            00:00:04,000 --> 00:00:07,250
            やばい
            (oh no)

            3
            00:00:24,000 --> 00:00:29,000
            runs past the end

            """)
    }

    @Test func lengthStandsForEndAndWebVTTFollowsTheExtension() async throws {
        let outputs = try await harness.outputs(SubtitlesWriteStep.self, ["segments": segments, "start": "0:00:50", "length": "10s", "output": "c.vtt"])
        #expect(outputs["cues"] == 1)
        let written = try String(contentsOfFile: harness.runFolder.path + "/c.vtt", encoding: .utf8)
        #expect(written == "WEBVTT\n\n00:00:00.000 --> 00:00:03.250\nやばい\n(oh no)\n")
        // Without an end, to the last segment.
        let rest = try await harness.outputs(SubtitlesWriteStep.self, ["segments": segments, "start": 75, "output": "rest.srt"])
        #expect(rest["text"] == "runs past the end\na sliver inside\nafter the clip")
    }

    @Test func badArgumentsAreClearErrors() async throws {
        func failure(_ extra: [String: JSONValue], segments list: JSONValue? = nil) async throws -> String? {
            try await harness.failure(SubtitlesWriteStep.self, ["segments": list ?? segments, "output": "a.srt"].merging(extra) { $1 })
        }
        #expect(try await failure(["output": "a.txt"]) == "argument 'output' names a '.txt' file; captions are written as .srt or .vtt")
        #expect(try await failure(["start": 10, "end": 20, "length": 5]) == "argument 'length' cannot be given with end: the stretch has one end")
        #expect(try await failure(["start": 10, "end": 5]) == "argument 'end' must come after start (0:10), not 0:05")
        #expect(try await failure(["length": 0]) == "argument 'length' must be a length of more than 0 seconds (15, \"15s\", \"1m\"), not 0")
        #expect(try await failure([:], segments: [["start": 1, "text": "no end"]]) == "segment 0 needs start and end (seconds) and text, not {\"start\":1,\"text\":\"no end\"}")
        #expect(try await failure([:], segments: [["start": 0, "end": .double(.infinity), "text": "x"]])
                == "segment 0: start and end must be seconds from 0 to 10000000, not 0:00 and inf")
        #expect(try await failure([:], segments: [["start": 0, "end": 1e300, "text": "x"]])?.hasPrefix("segment 0: start and end must be seconds") == true)
        #expect(!FileManager.default.fileExists(atPath: harness.runFolder.path + "/a.srt"))
    }

    /// A blank line would end a cue early (and what follows could pass for another cue, or a
    /// WebVTT note); an arrow could pass for a timing line.
    @Test func aSegmentsTextCannotBreakTheFile() async throws {
        let tricky: JSONValue = [["start": 1, "end": 2, "text": "first\n\nsecond\n2\n00:00:09,000 --> 00:00:10,000\ninjected\n\nNOTE x"]]
        let outputs = try await harness.outputs(SubtitlesWriteStep.self, ["segments": tricky, "output": "t.srt"])
        #expect(outputs["cues"] == 1)
        let written = try String(contentsOfFile: harness.runFolder.path + "/t.srt", encoding: .utf8)
        #expect(written == "1\n00:00:01,000 --> 00:00:02,000\nfirst\nsecond\n2\n00:00:09,000 → 00:00:10,000\ninjected\nNOTE x\n")
    }

    @Test func validateReportsAWrongExtensionAndEndWithLength() {
        let problems = SubtitlesWriteStep.checkLiterals(WrittenArguments(["segments": [], "output": "a.ssa", "end": 3, "length": 2]))
        #expect(problems.map(\.argument) == ["output", "length"])
        #expect(problems.first?.message == "names a '.ssa' file; captions are written as .srt or .vtt")
    }
}
