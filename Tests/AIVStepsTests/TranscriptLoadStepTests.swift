import AIVCore
@testable import AIVSteps
import Foundation
import Testing

@Suite struct TranscriptLoadStepTests {
    static let samples = packageRoot + "/samples/stream-01"

    /// Loads a transcript written into the workflow folder.
    func load(_ name: String, _ text: String, _ extra: [String: JSONValue] = [:], harness: StepHarness = StepHarness()) async throws -> JSONValue {
        harness.workflow.write(name, text)
        return try await harness.outputs(TranscriptLoadStep.self, ["path": .string(name)].merging(extra) { $1 })
    }

    func failure(_ name: String, _ text: String, _ extra: [String: JSONValue] = [:]) async throws -> String? {
        let harness = StepHarness()
        harness.workflow.write(name, text)
        return try await harness.failure(TranscriptLoadStep.self, ["path": .string(name)].merging(extra) { $1 })
    }

    /// `(start, end, text)` of each segment, for comparing formats that differ only in speakers.
    func timedTexts(_ outputs: JSONValue) -> [String] {
        (outputs["segments"]?.arrayValue ?? []).map { segment in
            "\(segment["index"]?.canonicalJSON ?? "?") \(segment["start"]?.canonicalJSON ?? "?")-\(segment["end"]?.canonicalJSON ?? "?") \(segment["text"]?.stringValue ?? "?")"
        }
    }

    // MARK: Pieces transcribed separately

    @Test func piecesArePutOnTheRecordingsClockByTheirOffsetsInTimeOrder() async throws {
        let outputs = try await StepHarness().outputs(TranscriptLoadStep.self, [
            "parts": [
                [["start": 0, "end": 4, "text": "はいどうもー"], ["start": 5, "text": "草"], ["start": 9.5, "text": "  てぇてぇ "]],
                [["start": 1, "end": 3, "text": "ナイス！", "speaker": "chat"], ["start": 4, "end": 6, "text": " "]],
            ],
            "offsets": [0, 600], "window": "10m", "overlap": "10s",
        ])
        #expect(timedTexts(outputs) == ["0 0-4 はいどうもー", "1 5-9.5 草", "2 9.5-9.5 てぇてぇ", "3 601-603 ナイス！"])
        #expect(outputs["segments"]?[3]?["speaker"] == "chat")
        #expect(outputs["duration"] == 603)
        #expect(outputs["chunks"]?.arrayValue?.count == 2)
        #expect(outputs["chunks"]?[1]?["text"] == "[10:01] ナイス！")
    }

    @Test func aBadPieceIsNamedByItsPlace() async throws {
        let harness = StepHarness()
        let missing = try await harness.failure(TranscriptLoadStep.self, ["parts": [[["start": 0, "text": "a"]], [["end": 3, "text": "b"]]]])
        #expect(missing?.contains("parts[1][0] has no 'start' (seconds)") == true)
        let backwards = try await harness.failure(TranscriptLoadStep.self, ["parts": [[["start": 5, "end": 2, "text": "a"]]]])
        #expect(backwards?.contains("parts[0][0] ends (2.0) before it starts (5.0)") == true)
        let counts = try await harness.failure(TranscriptLoadStep.self, ["parts": [[], []], "offsets": [0]])
        #expect(counts?.contains("has 1 values for 2 parts") == true)
        let offset = try await harness.failure(TranscriptLoadStep.self, ["parts": [[["start": 0, "text": "a"]]], "offsets": ["1:00"]])
        #expect(offset?.contains("[0] must be 0 or more seconds, not \"1:00\"") == true)
        let neither = try await harness.failure(TranscriptLoadStep.self, ["path": nil, "parts": nil])
        #expect(neither?.contains("needs 'path' (a transcript file) or 'parts'") == true)
        harness.workflow.write("t.srt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n")
        let both = try await harness.failure(TranscriptLoadStep.self, ["path": "t.srt", "parts": [[]]])
        #expect(both?.contains("either 'path'") == true)
    }

    // MARK: The shipped sample

    @Test func theSampleGivesTheSameSegmentsInAllThreeFormats() async throws {
        let harness = StepHarness()
        var results: [String: JSONValue] = [:]
        for format in ["srt", "vtt", "json"] {
            results[format] = try await harness.outputs(TranscriptLoadStep.self, ["path": .string(Self.samples + "/transcript.\(format)")])
        }
        let srt = try #require(results["srt"]), vtt = try #require(results["vtt"]), json = try #require(results["json"])
        #expect(srt["segment_count"] == 80)
        #expect(timedTexts(srt).count == 80)
        #expect(timedTexts(srt) == timedTexts(vtt))
        #expect(timedTexts(srt) == timedTexts(json))
        // Everything but the speaker, which only the JSON file carries, is the same value.
        func withoutSpeaker(_ outputs: JSONValue) -> [JSONValue] {
            (outputs["segments"]?.arrayValue ?? []).map { segment in
                var members = segment.objectValue ?? [:]
                members["speaker"] = nil
                return .object(members)
            }
        }
        #expect(withoutSpeaker(srt) == withoutSpeaker(json))
        #expect(srt["segments"] == vtt["segments"])
        #expect(srt["segments", 0, "speaker"] == .null)
        #expect(json["segments", 0, "speaker"] == "Aoi")
        #expect(srt["chunks"] == vtt["chunks"])
        #expect(srt["duration"] == json["duration"])

        #expect(srt["segments", 0] == [
            "index": 0, "start": 5.0, "end": 9.03, "speaker": nil,
            "text": "こんあおい～！みんな聞こえてる？音量大丈夫かな？",
        ])
        #expect(srt["segments", 79, "start"] == 1436.13)
        #expect(srt["duration"] == 1440.02)
    }

    @Test func theSampleIsCutIntoTenMinuteWindowsThatShareThirtySeconds() async throws {
        let outputs = try await StepHarness().outputs(TranscriptLoadStep.self, ["path": .string(Self.samples + "/transcript.srt")])
        let chunks = try #require(outputs["chunks"]?.arrayValue)
        // Windows [0, 600), [570, 1170), [1140, 1740): start and end come from the segments.
        let summary = chunks.map { chunk in
            [chunk["index"], chunk["start"], chunk["end"], chunk["segments"]?.arrayValue.map { .int($0.count) },
             chunk["segments", 0, "index"]]
        }
        #expect(summary == [
            [0, 5.0, 595.43, 34, 0],
            [1, 577.64, 1135.49, 33, 32],
            [2, 1179.23, 1440.02, 15, 65],
        ])
        // Segments 32 and 33 start in the overlap [570, 600): both windows hold them whole.
        #expect(chunks[0]["segments", 33] == chunks[1]["segments", 1])
        let firstLines = try #require(chunks[1]["text"]?.stringValue).split(separator: "\n").prefix(2)
        #expect(firstLines == ["[9:37] 悪いおみくじは木に結んでいくんだよね。ここに結んじゃおう",
                               "[9:48] In Japan, if you get a bad fortune, you tie it at the shrine and leave the bad luck there."])
    }

    // MARK: Windows

    static let spread = """
        1
        00:00:00,000 --> 00:00:10,000
        zero

        2
        00:00:50,000 --> 00:00:55,000
        fifty

        3
        00:01:35,000 --> 00:01:45,000
        ninety-five, across the boundary at 100

        4
        00:01:50,000 --> 00:01:52,000
        one-ten

        5
        00:02:30,000 --> 00:02:31,500
        one-fifty
        """

    func chunkMembers(_ outputs: JSONValue) -> [[String]] {
        (outputs["chunks"]?.arrayValue ?? []).map { chunk in
            (chunk["segments"]?.arrayValue ?? []).map { $0["text"]?.stringValue ?? "?" }
        }
    }

    @Test func chunksOverlapSoABoundaryLineIsSeenWhole() async throws {
        // window 100, overlap 20: windows start every 80 s, [0, 100) and [80, 180).
        let outputs = try await load("t.srt", Self.spread, ["window": 100, "overlap": "20s"])
        #expect(chunkMembers(outputs) == [
            ["zero", "fifty", "ninety-five, across the boundary at 100"],
            ["ninety-five, across the boundary at 100", "one-ten", "one-fifty"],
        ])
        #expect(outputs["chunks", 0, "start"] == 0.0)
        #expect(outputs["chunks", 0, "end"] == 105.0)
        #expect(outputs["chunks", 1, "start"] == 95.0)
        #expect(outputs["chunks", 1, "end"] == 151.5)
    }

    @Test(arguments: [
        // (window, overlap, members of each chunk by start second)
        (JSONValue.int(60), JSONValue.int(0), [["zero", "fifty"], ["ninety-five, across the boundary at 100", "one-ten"], ["one-fifty"]]),
        // Windows every 45 s: [0, 60), [45, 105), [90, 150), [135, 195).
        ("1m", "15s", [["zero", "fifty"], ["fifty", "ninety-five, across the boundary at 100"],
                       ["ninety-five, across the boundary at 100", "one-ten"], ["one-fifty"]]),
        ("10m", "30s", [["zero", "fifty", "ninety-five, across the boundary at 100", "one-ten", "one-fifty"]]),
    ] as [(JSONValue, JSONValue, [[String]])])
    func windowsFollowWindowAndOverlap(window: JSONValue, overlap: JSONValue, expected: [[String]]) async throws {
        let outputs = try await load("t.srt", Self.spread, ["window": window, "overlap": overlap])
        #expect(chunkMembers(outputs) == expected)
        #expect(outputs["chunks"]?.arrayValue?.enumerated().allSatisfy { $0.element["index"] == .int($0.offset) } == true)
    }

    /// A window a hair longer than its overlap would take billions of positions (a run that never
    /// ends), and a window of 1e-300 s a position number no integer holds (a crash): both are refused.
    /// The argument blamed is the overlap when there is one, else the window.
    @Test(arguments: [(JSONValue.double(30.0000000001), JSONValue.int(30), "overlap", "the overlap shorter"),
                      (.double(1e-300), .int(0), "window", "the window longer")])
    func windowsTooCloseTogetherAreRefusedAtOnce(window: JSONValue, overlap: JSONValue, blamed: String, advice: String) async throws {
        let message = try await failure("t.srt", Self.spread, ["window": window, "overlap": overlap])
        #expect(message?.contains("argument '\(blamed)' leaves windows starting every") == true, "\(message ?? "")")
        #expect(message?.contains("that is more than a million windows; make \(advice)") == true, "\(message ?? "")")
    }

    /// A line far from the others (eleven years on) is one more window, not a million: the walk
    /// jumps over empty stretches, so only a window and overlap a hair apart are refused.
    @Test func aLineFarFromTheRestIsOneMoreWindow() async throws {
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nearly\n\n2\n99999:00:00,000 --> 99999:00:03,000\nmuch later\n"
        // 12 million positions of 30 s to its time; two of them hold lines.
        let outputs = try await load("t.srt", srt, ["window": "1m", "overlap": "30s"])
        #expect(chunkMembers(outputs) == [["early"], ["much later"]])
    }

    /// JSON times past a year are no stream's: most likely milliseconds, said at their line.
    @Test func aJSONTimePastAYearIsRefusedAtItsLineAsLikelyMilliseconds() async throws {
        let json = "[{\"start\": 1, \"end\": 2, \"text\": \"hello\"},\n {\"start\": 1000000000, \"end\": 1000000001, \"text\": \"typo\"}]\n"
        let message = try await failure("far.json", json)
        #expect(message?.hasSuffix("far.json:2: segment 1: 'start' is 1000000000 seconds, more than a year into the stream; are the times in milliseconds? (aiv reads seconds)") == true,
                "\(message ?? "")")
    }

    @Test func emptyWindowsAreSkippedAndChunksAreNumberedWithoutGaps() async throws {
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nearly\n\n2\n02:00:00,000 --> 02:00:03,000\ntwo hours later\n"
        let outputs = try await load("t.srt", srt, ["window": "10m", "overlap": "30s"])
        #expect(chunkMembers(outputs) == [["early"], ["two hours later"]])
        #expect(outputs["chunks", 1, "index"] == 1)
        #expect(outputs["chunks", 1, "text"] == "[2:00:00] two hours later")
        #expect(outputs["duration"] == 7203.0)
    }

    @Test func aWindowHoldingOnlyThePreviousWindowsOverlapIsSkipped() async throws {
        // Windows [0, 600) and [570, 1170): the second holds only the line at 590, already in the first.
        let srt = "1\n00:00:00,000 --> 00:00:05,000\nstart\n\n2\n00:09:50,000 --> 00:09:58,000\nin the overlap\n"
        let outputs = try await load("t.srt", srt)
        #expect(chunkMembers(outputs) == [["start", "in the overlap"]])
    }

    /// After a pause, window [570, 1170) holds only the line at 1150, which [1140, 1740) holds
    /// too with the lines after it: the one-line window would cost a model call for nothing.
    @Test func aWindowWhoseLinesAreAllInTheNextGivesWayToIt() async throws {
        let lines = [(0, "start"), (1150, "back"), (1200, "b"), (1300, "c"), (1400, "d")]
        let json = "[" + lines.map { "{\"start\": \($0.0), \"end\": \($0.0 + 5), \"text\": \"\($0.1)\"}" }.joined(separator: ", ") + "]"
        let outputs = try await load("t.json", json, ["window": "10m", "overlap": "30s"])
        #expect(chunkMembers(outputs) == [["start"], ["back", "b", "c", "d"]])
    }

    @Test func chunkTextIsTimestampedLinesInTheExpressionFunctionsFormat() async throws {
        let srt = """
            1
            00:00:05,900 --> 00:00:07,000
            five

            2
            00:01:02,000 --> 00:01:04,000
            two
            lines

            3
            01:02:03,000 --> 01:02:04,000
            an hour in
            """
        let outputs = try await load("t.srt", srt, ["window": "2h"])
        #expect(outputs["chunks", 0, "text"] == "[0:05] five\n[1:02] two\nlines\n[1:02:03] an hour in")
        // The same text the workflow's `timestamp()` gives for each start.
        for segment in outputs["segments"]?.arrayValue ?? [] {
            let stamp = try ExpressionParser.parse("timestamp(item.start)").evaluate(in: EvaluationScope(item: segment))
            #expect(outputs["chunks", 0, "text"]?.stringValue?.contains("[\(stamp.interpolationText)] ") == true)
        }
    }

    @Test func segmentsAreSortedByStartAndNumberedFromZeroKeepingTiesInFileOrder() async throws {
        let json = """
            [{"start": 30, "end": 31, "text": "third"},
             {"start": 10, "end": 12, "text": "first"},
             {"start": 10, "end": 11, "text": "also at ten"},
             {"start": 20.5, "end": 21, "text": "second"}]
            """
        let outputs = try await load("t.json", json)
        #expect(outputs["segments"]?.arrayValue?.map { [$0["index"], $0["text"]] } == [
            [0, "first"], [1, "also at ten"], [2, "second"], [3, "third"],
        ])
        #expect(outputs["duration"] == 31.0)
    }

    @Test(arguments: [
        (JSONValue.int(10), JSONValue.int(10), "argument 'overlap' (10s) must be shorter than 'window' (10s)"),
        ("1m", "2m", "argument 'overlap' (2m) must be shorter than 'window' (1m)"),
        (0, 0, "argument 'window' must be longer than 0 seconds"),
        ("10m", -5, "argument 'overlap' must be a duration from 0 to a year, such as \"90s\" or \"10m\", not '-5'"),
        ("ten minutes", "30s", "argument 'window' must be a duration from 0 to a year, such as \"90s\" or \"10m\", not 'ten minutes'"),
    ] as [(JSONValue, JSONValue, String)])
    func windowAndOverlapMustMakeSense(window: JSONValue, overlap: JSONValue, message: String) async throws {
        #expect(try await failure("t.srt", Self.spread, ["window": window, "overlap": overlap]) == message)
    }

    @Test func anEmptyTranscriptHasNoSegmentsAndNoChunks() async throws {
        let outputs = try await load("t.srt", "\n\n")
        #expect(outputs == ["segments": [], "chunks": [], "duration": 0.0, "segment_count": 0])
    }

    // MARK: SubRip

    @Test(arguments: [
        ("CRLF line breaks", "1\r\n00:00:01,000 --> 00:00:02,000\r\nHello\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nWorld\r\n",
         ["1-2 Hello", "3-4 World"]),
        ("a byte order mark", "\u{FEFF}1\n00:00:01,000 --> 00:00:02,000\nHello\n", ["1-2 Hello"]),
        ("'.' before the milliseconds", "1\n00:00:01.250 --> 00:00:02.500\nHello\n", ["1.25-2.5 Hello"]),
        ("multi-line text", "1\n00:00:01,000 --> 00:00:02,000\nfirst line\nsecond line\n", ["1-2 first line\nsecond line"]),
        ("tags and override codes", "1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>Hello</i> <font color=\"#ff0\">there</font>\n<b></b>\n",
         ["1-2 Hello there"]),
        ("no blank line before the next cue", "1\n00:00:01,000 --> 00:00:02,000\nHello\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n",
         ["1-2 Hello", "3-4 World"]),
        ("no cue numbers, extra blank lines", "\n\n00:00:01,000 --> 00:00:02,000\nHello\n\n\n\n00:00:03,000 --> 00:00:04,000\nWorld",
         ["1-2 Hello", "3-4 World"]),
        ("coordinates after the timing", "1\n00:00:01,000 --> 00:00:02,000  X1:100 X2:600 Y1:50 Y2:80\nHello\n", ["1-2 Hello"]),
        ("hours past 99 and a short fraction", "1\n100:00:00,5 --> 100:00:01,25\nlong\n", ["360000.5-360001.25 long"]),
        ("text that is a number", "1\n00:00:01,000 --> 00:00:02,000\n42\n\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n", ["1-2 42", "3-4 World"]),
        ("a cue with no text", "1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n", ["3-4 World"]),
        ("'<' that is not a tag", "1\n00:00:01,000 --> 00:00:02,000\nI <3 you & 2 < 3\n", ["1-2 I <3 you & 2 < 3"]),
    ])
    func subRipReads(_ situation: String, _ text: String, _ expected: [String]) async throws {
        let outputs = try await load("t.srt", text)
        let got = (outputs["segments"]?.arrayValue ?? []).map {
            "\($0["start"]?.interpolationText ?? "?")-\($0["end"]?.interpolationText ?? "?") \($0["text"]?.stringValue ?? "?")"
        }
        #expect(got == expected, "\(situation)")
    }

    // MARK: WebVTT

    @Test func webVTTSkipsNotesStylesAndRegionsAndReadsVoices() async throws {
        let vtt = """
            WEBVTT - a stream
            Kind: captions
            Language: ja

            STYLE
            ::cue { color: yellow }

            REGION
            id:top width:40%

            NOTE a note
            spanning lines

            intro
            00:01.000 --> 00:02.500 align:start position:10%
            <v Aoi>こんにちは &amp; welcome</v>

            00:00:03.000 --> 00:00:04.000
            <v.loud Chat Person><c.yellow>Hi</c> &lt;3</v>
            second line

            NOTE
            at the end

            3
            00:01:00.000 --> 00:01:01.000
            <00:01:00.200><c> karaoke</c><00:01:00.600><c> words</c>
            """
        let outputs = try await load("t.vtt", vtt)
        #expect(outputs["segments"] == [
            ["index": 0, "start": 1.0, "end": 2.5, "speaker": "Aoi", "text": "こんにちは & welcome"],
            ["index": 1, "start": 3.0, "end": 4.0, "speaker": "Chat Person", "text": "Hi <3\nsecond line"],
            ["index": 2, "start": 60.0, "end": 61.0, "speaker": nil, "text": "karaoke words"],
        ])
    }

    /// A ruby reading is not part of the line: the model and learners read 漢字を読む, not
    /// 漢字かんじを読よむ.
    @Test func rubyReadingsAreLeftOutAndOnlyKnownTagsAreMarkup() async throws {
        let vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\n<ruby>漢字<rt>かんじ</rt></ruby>を<ruby>読<rp>(</rp><rt>よ</rt><rp>)</rp></ruby>む\n"
        #expect(try await load("t.vtt", vtt)["segments", 0, "text"] == "漢字を読む")
        // The last </rt> may go unwritten: </ruby>, or the next reading, ends it.
        let unclosed = "WEBVTT\n\n00:01.000 --> 00:02.000\n<ruby>漢字<rt>かんじ</ruby>を<ruby>読<rt>よ<rt>x</ruby>む <i >it</i >\n"
        #expect(try await load("t.vtt", unclosed)["segments", 0, "text"] == "漢字を読む it")
        let srt = "1\n00:00:01,000 --> 00:00:02,000\n<i>if</i> a<b and b>c then a<c <3\nline<br/>break <font color=\"#ff0\">yellow</font>\n"
        #expect(try await load("t.srt", srt)["segments", 0, "text"] == "if a<b and b>c then a<c <3\nline\nbreak yellow")
    }

    @Test func aCueWhereTwoPeopleSpeakGivesEachTheirLine() async throws {
        let vtt = "WEBVTT\n\n00:01.000 --> 00:03.000\n♪\n<v Aoi>どうする？\nまじで\n<v Mio>やばい\n"
        #expect(try await load("t.vtt", vtt)["segments"] == [
            ["index": 0, "start": 1.0, "end": 3.0, "speaker": "Aoi", "text": "♪\nどうする？\nまじで"],
            ["index": 1, "start": 1.0, "end": 3.0, "speaker": "Mio", "text": "やばい"],
        ])
    }

    @Test func aWebVTTCueEndsAtTheNextTimingLineEvenWithoutABlankLine() async throws {
        let outputs = try await load("t.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nA\n00:03.000 --> 00:04.000\nB\n")
        #expect(timedTexts(outputs) == ["0 1-2 A", "1 3-4 B"])
    }

    /// A transcript long enough that reading it takes a while: a cancelled step (its timeout, a
    /// failed sibling) stops reading instead of going on to the end before it can be reported.
    @Test(arguments: ["srt", "vtt", "json"])
    func readingALongTranscriptStopsWhenTheStepIsCancelled(format: String) async throws {
        let cues = 5_000
        let text: String
        switch format {
        case "srt": text = (1...cues).map { "\($0)\n00:00:01,000 --> 00:00:02,000\nline \($0)\n" }.joined(separator: "\n")
        case "vtt": text = "WEBVTT\n\n" + (1...cues).map { "00:01.000 --> 00:02.000\nline \($0)\n" }.joined(separator: "\n")
        default: text = "[" + (1...cues).map { #"{"start": 1, "end": 2, "text": "line \#($0)"}"# }.joined(separator: ",") + "]"
        }
        func parse() throws(TranscriptProblem) -> [TranscriptSegment] {
            switch format {
            case "srt": try SubRipParser.parse(text)
            case "vtt": try WebVTTParser.parse(text)
            default: try JSONTranscriptParser.parse(text)
            }
        }
        // Whole when not cancelled…
        #expect(try parse().count == cues)
        // …and stopped, with the cancellation rather than a problem of the file, when cancelled.
        let cancelled = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(TranscriptProblem) {
                return "read \(try parse().count) segments"
            } catch {
                return error == .cancelled ? "cancelled" : "\(error)"
            }
        }.value
        #expect(cancelled == "cancelled")
    }

    // MARK: JSON

    @Test func jsonReadsAListOrAnObjectWithSegmentsAndDurationMayReplaceEnd() async throws {
        let list = #"[{"start": 1, "end": 2.5, "text": " Hi ", "speaker": null}, {"start": 3, "end": 4, "text": "Yo", "speaker": "Aoi"}]"#
        let whisper = """
            {"text": "Hi Yo", "language": "en",
             "segments": [
               {"id": 0, "seek": 0, "start": 1.0, "end": 2.5, "text": " Hi", "tokens": [1, 2]},
               {"id": 1, "seek": 0, "start": 3.0, "end": 4.0, "text": " Yo", "speaker": "Aoi", "avg_logprob": -0.2}
             ]}
            """
        let expected: JSONValue = [
            ["index": 0, "start": 1.0, "end": 2.5, "speaker": nil, "text": "Hi"],
            ["index": 1, "start": 3.0, "end": 4.0, "speaker": "Aoi", "text": "Yo"],
        ]
        let youtube = #"[{"text": "Hi", "start": 1, "duration": 1.5}, {"text": "Yo", "start": 3.0, "duration": 1, "speaker": "Aoi"}]"#
        #expect(try await load("a.json", list)["segments"] == expected)
        #expect(try await load("y.json", youtube)["segments"] == expected)
        #expect(try await load("b.json", whisper)["segments"] == expected)
        #expect(try await load("c.json", #"{"segments": [{"start": 0, "end": 1, "text": "escaped \"\u3042\ud83d\ude00\"\n\tline"}]}"#)["segments", 0, "text"]
                == "escaped \"あ😀\"\n\tline")
    }

    // MARK: Choosing the format

    @Test(arguments: [
        ("a WebVTT file named .VTT", "t.VTT", "WEBVTT\n\n00:01.000 --> 00:02.000\nvtt\n", nil as String?),
        ("a WebVTT download saved as .srt", "t.srt", "WEBVTT\n\n00:01.000 --> 00:02.000\nvtt\n", nil),
        ("SubRip saved as .vtt", "t.vtt", "1\n00:00:01,000 --> 00:00:02,000\nvtt\n", nil),
        ("a WEBVTT header", "t.txt", "WEBVTT\n\n00:01.000 --> 00:02.000\nvtt\n", nil),
        ("a JSON list", "t.txt", "  [{\"start\": 1, \"end\": 2, \"text\": \"vtt\"}]", nil),
        ("a JSON object", "t", "{\"segments\": [{\"start\": 1, \"end\": 2, \"text\": \"vtt\"}]}", nil),
        ("anything else is SubRip", "t.txt", "1\n00:00:01,000 --> 00:00:02,000\nvtt\n", nil),
        ("an explicit format wins over the extension", "t.json", "1\n00:00:01,000 --> 00:00:02,000\nvtt\n", "srt"),
    ])
    func autoGoesByContentThenByExtension(_ situation: String, _ name: String, _ text: String, _ format: String?) async throws {
        let outputs = try await load(name, text, format.map { ["format": .string($0)] } ?? [:])
        #expect(outputs["segments"] == [["index": 0, "start": 1.0, "end": 2.0, "speaker": nil, "text": "vtt"]], "\(situation)")
    }

    // MARK: Errors

    @Test(arguments: [
        ("transcript.srt", "1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\nabc\nHello\n",
         "transcript.srt:6: expected a timing line like 00:01:02,500 --> 00:01:04,000, got 'abc'"),
        ("transcript.srt", "1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\n00:00:05,000 --> 00:00:04,999\nback in time\n",
         "transcript.srt:6: the cue ends before it starts: '00:00:05,000 --> 00:00:04,999'"),
        ("transcript.srt", "1\n00:00:01,000 -> 00:00:02,000\nHi\n",
         "transcript.srt:2: expected a timing line like 00:01:02,500 --> 00:01:04,000, got '00:00:01,000 -> 00:00:02,000'"),
        ("transcript.srt", "1\n00:61:01,000 --> 00:62:02,000\nHi\n",
         "transcript.srt:2: expected a timing line like 00:01:02,500 --> 00:01:04,000, got '00:61:01,000 --> 00:62:02,000'"),
        ("transcript.srt", "Hello there\n",
         "transcript.srt:1: expected a cue number or a timing line like 00:01:02,500 --> 00:01:04,000, got 'Hello there'"),
        ("transcript.srt", "1\n",
         "transcript.srt:1: expected a timing line like 00:01:02,500 --> 00:01:04,000 after cue number 1, got the end of the file"),
        ("transcript.vtt", "Hi\n00:00:01.000 --> 00:00:02.000\nHi\n",
         "transcript.vtt:1: a WebVTT file starts with a 'WEBVTT' line, got 'Hi'"),
        ("transcript.vtt", "",
         "transcript.vtt:1: a WebVTT file starts with a 'WEBVTT' line, got an empty file"),
        ("transcript.vtt", "WEBVTT\n\ncue-1\nnot a timing\nHi\n",
         "transcript.vtt:4: expected a timing line like 00:01:02.500 --> 00:01:04.000, got 'not a timing'"),
        ("transcript.vtt", "WEBVTT\n\ncue-1\n\n",
         "transcript.vtt:3: expected a timing line like 00:01:02.500 --> 00:01:04.000 after cue identifier 'cue-1', got a blank line"),
        ("transcript.vtt", "WEBVTT\n\n00:05.000 --> 00:04.000\nHi\n",
         "transcript.vtt:3: the cue ends before it starts: '00:05.000 --> 00:04.000'"),
        ("transcript.json", "[\n  {\"start\": 1,\n   \"end\": 2\n   \"text\": \"x\"}\n]",
         "transcript.json:4: invalid JSON: expected ',' or '}' in the object, got '\"text\"'"),
        ("transcript.json", "[\n  {\"start\": 1, \"end\": 2, \"text\": \"x\"},\n  {\"start\": 3,\n   \"text\": \"y\"}\n]",
         "transcript.json:3: segment 1 has no 'end' (seconds)"),
        ("transcript.json", "[{\"start\": 1, \"end\": 2, \"text\": \"x\"},\n {\"start\": \"0:03\", \"end\": 4, \"text\": \"y\"}]",
         "transcript.json:2: segment 1: 'start' must be a number of seconds, got a string"),
        ("transcript.json", "[{\"start\": 5,\n  \"end\": 4.5, \"text\": \"x\"}]",
         "transcript.json:2: segment 0 ends (4.5) before it starts (5)"),
        ("transcript.json", "[{\"start\": -1, \"end\": 4.5, \"text\": \"x\"}]",
         "transcript.json:1: segment 0: 'start' must be 0 or more, got -1"),
        ("transcript.json", "[{\"start\": 1, \"end\": 2, \"text\": 3}]",
         "transcript.json:1: segment 0: 'text' must be a string, got a number"),
        ("transcript.json", "\n\"just text\"",
         "transcript.json:2: expected a list of segments, or an object with a 'segments' list, got a string"),
        ("transcript.json", "{\"results\": []}",
         "transcript.json:1: expected a list of segments, or an object with a 'segments' list; this object has no 'segments'"),
        ("transcript.json", "[1, 2",
         "transcript.json:1: invalid JSON: expected ',' or ']' in the list, got the end of the file"),
        ("transcript.json", "[] []",
         "transcript.json:1: invalid JSON: unexpected '[' after the JSON value"),
        ("transcript.json", "[{\"start\": 01, \"end\": 2, \"text\": \"x\"}]",
         "transcript.json:1: invalid JSON: expected a value, got '01'"),
    ])
    func malformedFilesNameTheFileAndTheLine(_ name: String, _ text: String, _ message: String) async throws {
        #expect(try await failure(name, text) == message)
    }

    @Test func aMissingFileSaysWhereItLooked() async throws {
        let harness = StepHarness()
        let message = try await harness.failure(TranscriptLoadStep.self, ["path": "missing.srt"])
        #expect(message == "transcript file not found: 'missing.srt' (looked for \(harness.workflow.path)/missing.srt)")
    }

    @Test func aFileThatIsNotUTF8NamesTheLine() async throws {
        let harness = StepHarness()
        harness.workflow.write("latin1.srt", bytes: Array("1\n00:00:01,000 --> 00:00:02,000\nCaf".utf8) + [0xE9, 0x0A])
        let message = try await harness.failure(TranscriptLoadStep.self, ["path": "latin1.srt"])
        #expect(message == "latin1.srt:3: file is not valid UTF-8 (byte 0xE9); save it as UTF-8")
    }
}
