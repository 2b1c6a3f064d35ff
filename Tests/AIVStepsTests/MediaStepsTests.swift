import AIVCore
import AIVTestSupport
import Foundation
import Testing
@testable import AIVSteps

/// What ffprobe says of a file: the check on every cut.
struct Probe {
    let json: JSONValue

    init(_ path: String) async throws {
        let result = try await Tool.run(["ffprobe", "-v", "error", "-show_entries",
                                         "format=duration,start_time,format_name:stream=index,codec_type,codec_name,start_time:stream_tags=language:stream_side_data=rotation",
                                         "-of", "json", path])
        json = try JSONDecoder().decode(JSONValue.self, from: Data(result.stdout.utf8))
    }

    var duration: Double { Double(json["format"]?["duration"]?.stringValue ?? "") ?? -1 }
    var startTime: Double { Double(json["format"]?["start_time"]?.stringValue ?? "") ?? -1 }
    var kinds: [String] { json["streams"]?.arrayValue?.compactMap { $0["codec_type"]?.stringValue } ?? [] }
    var codecs: [String] { json["streams"]?.arrayValue?.compactMap { $0["codec_name"]?.stringValue } ?? [] }

    /// `ffmpeg -v error -i FILE -f null -` prints nothing when the file decodes to the end.
    static func decodeErrors(_ path: String) async throws -> String {
        let result = try await Tool.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"])
        return result.stderr + (result.status == 0 ? "" : "exit \(result.status)")
    }
}

@Suite(.serialized) struct MediaStepsTests {
    let harness = StepHarness()

    func cut(_ input: String, start: JSONValue, end: JSONValue?, output: String, audioOnly: Bool = false) async throws -> JSONValue {
        var arguments: [String: JSONValue] = ["input": .string(input), "start": start, "output": .string(output), "audio_only": .bool(audioOnly)]
        if let end { arguments["end"] = end }
        return try await harness.outputs(ClipCutStep.self, arguments)
    }

    @Test func probeReadsContainerStreamsKeyframeIntervalAndSubtitles() async throws {
        let mp4 = try await MediaSamples.shared.path("mp4")
        let outputs = try await harness.outputs(MediaProbeStep.self, ["input": .string(mp4)])
        #expect(outputs["container"]?.stringValue?.contains("mp4") == true)
        #expect(abs((outputs["duration"]?.numberValue ?? 0) - 10) < 0.1)
        #expect(outputs["keyframe_interval"] == 2)
        let streams = outputs["streams"]?.arrayValue ?? []
        #expect(streams.compactMap { $0["kind"]?.stringValue } == ["video", "audio", "subtitle"])
        #expect(streams[0]["width"] == 320 && streams[0]["height"] == 240 && streams[0]["frame_rate"] == 25)
        #expect(streams[0]["rotation"]?.numberValue.map(abs) == 90)
        #expect(streams[1]["sample_rate"] == 44100)
        #expect(streams[1]["language"] == "jpn")
        #expect(outputs["subtitle_tracks", 0, "codec"] == "mov_text")
    }

    @Test func aCutStartsOnTheKeyframeBeforeTheStartAndFfprobeAgrees() async throws {
        let mp4 = try await MediaSamples.shared.path("mp4")
        let outputs = try await cut(mp4, start: 3.1, end: 7, output: "clips/middle.mp4")
        #expect(outputs["requested_start"] == 3.1)
        #expect(outputs["actual_start"] == 2)
        let duration = outputs["duration"]?.numberValue ?? 0
        #expect(abs(duration - 5) < 0.1)
        let file = harness.runFolder.path + "/clips/middle.mp4"
        let probe = try await Probe(file)
        #expect(abs(probe.duration - duration) < 0.1, "ffprobe \(probe.duration) vs aiv \(duration)")
        #expect(abs(probe.startTime) < 0.05)
        #expect(probe.kinds == ["video", "audio", "subtitle"])
        #expect(outputs["bytes"]?.numberValue.map(Int.init) == (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int))
        #expect(try await Probe.decodeErrors(file) == "")
        // Rotation and language kept.
        #expect(outputs["streams", 0, "rotation"]?.numberValue.map(abs) == 90)
        #expect(outputs["streams", 1, "language"] == "jpn")
        // No temporary file left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.runFolder.path + "/clips") == ["middle.mp4"])
    }

    /// Shorts have a shortest and a longest length: a span outside them is moved to fit, the
    /// clip as ffprobe reads it is within them, and the output says what changed.
    @Test func minAndMaxLengthBoundAClipAndSayHowTheSpanChanged() async throws {
        let mp4 = try await MediaSamples.shared.path("mp4")  // 10 s, a keyframe every 2 s
        func bounded(_ start: Double, _ end: Double?, min: Double? = nil, max: Double? = nil, _ name: String) async throws -> (JSONValue, Double) {
            var arguments: [String: JSONValue] = ["input": .string(mp4), "start": .double(start), "output": .string("bounded/\(name).mp4")]
            if let end { arguments["end"] = .double(end) }
            if let min { arguments["min_length"] = .double(min) }
            if let max { arguments["max_length"] = .string("\(max)s") }
            let outputs = try await harness.outputs(ClipCutStep.self, arguments)
            let file = harness.runFolder.path + "/bounded/\(name).mp4"
            #expect(try await Probe.decodeErrors(file) == "", "\(name)")
            return (outputs, try await Probe(file).duration)
        }
        // Too short: the end moves later (the clip starts on the keyframe at 2 s).
        let (longer, longerLength) = try await bounded(3.1, 4, min: 4, "longer")
        #expect(longer["requested_start"] == 3.1 && longer["actual_start"] == 2)
        #expect(longerLength >= 4 && abs(longerLength - 5.1) < 0.15, "\(longerLength)")
        #expect(longer["adjustment"]?.stringValue?.hasPrefix("lengthened 0:03.100–0:04 to 0:02–0:07.") == true, "\(longer["adjustment"] ?? nil)")
        #expect(longer["adjustment"]?.stringValue?.hasSuffix("(the shortest clip is 0:04)") == true)
        // Too short near the end: the start moves earlier as well.
        let (moved, movedLength) = try await bounded(8.5, 9, min: 4, "moved")
        #expect(moved["requested_start"] == 8.5 && moved["actual_start"] == 6)
        #expect(abs(movedLength - 4) < 0.15, "\(movedLength)")
        #expect(moved["adjustment"]?.stringValue?.hasPrefix("lengthened 0:08.500–0:09 to 0:06–0:1") == true, "\(moved["adjustment"] ?? nil)")
        // An end past the recording's counts as its end: still too short, so lengthened.
        let (overshot, overshotLength) = try await bounded(7, 100, min: 6, "overshot")
        #expect(overshot["actual_start"] == 4 && abs(overshotLength - 6) < 0.15, "\(overshotLength)")
        #expect(overshot["adjustment"]?.stringValue?.hasPrefix("lengthened 0:07–1:40 to 0:04–0:1") == true, "\(overshot["adjustment"] ?? nil)")
        // ...and a long span the recording ends first is not shortened.
        let (whole10, _) = try await bounded(0, 100, max: 60, "untouched")
        #expect(whole10["adjustment"] == .null)
        // Too long: it ends by max_length after the keyframe it starts on, as ffprobe reads the file.
        let (shorter, shorterLength) = try await bounded(1, 9.5, max: 5, "shorter")
        #expect(shorter["actual_start"] == 0)
        #expect(shorterLength <= 5.0005 && shorterLength > 4.7, "\(shorterLength)")
        #expect(shorter["duration"]?.numberValue == shorterLength)
        #expect(shorter["adjustment"]?.stringValue?.hasPrefix("shortened 0:01–0:09.500 to 0:00–0:0") == true, "\(shorter["adjustment"] ?? nil)")
        #expect(shorter["adjustment"]?.stringValue?.hasSuffix("(the longest clip is 0:05)") == true)
        // A longest clip too short to reach from the keyframe before the start is refused.
        let unreachable = try await harness.failure(ClipCutStep.self, ["input": .string(mp4), "start": 5.5, "end": 9, "output": "x.mp4", "max_length": 0.5])
        #expect(unreachable?.contains("a clip of at most 0:00.500 cannot reach 0:05.500: it starts on the keyframe at 0:04, 0:01.500 earlier") == true,
                "\(unreachable ?? "succeeded")")
        // The longest clip just reaches a start 1.95 s after its keyframe.
        let (reaching, _) = try await bounded(3.95, 9, max: 2, "reaching")
        #expect(reaching["actual_start"] == 2)
        // Shortest and longest the same: never cut below the shortest to meet the longest.
        let (exact, exactLength) = try await bounded(3.1, 4, min: 4, max: 4, "exact")
        #expect(exactLength >= 3.999 && exactLength <= 4.2, "\(exactLength)")
        #expect(exact["adjustment"]?.stringValue?.hasPrefix("lengthened 0:03.100–0:04 to ") == true, "\(exact["adjustment"] ?? nil)")
        // Within both: as asked.
        let (within, withinLength) = try await bounded(3, 7, min: 2, max: 6, "within")
        #expect(within["adjustment"] == .null)
        #expect(abs(withinLength - 5) < 0.15)
        // Longer than the recording: all of it.
        let (whole, wholeLength) = try await bounded(4, 5, min: 30, "whole")
        #expect(abs(wholeLength - 10) < 0.15)
        #expect(whole["adjustment"]?.stringValue?.hasSuffix("the recording is only 0:10 long") == true)
        // Bounds that contradict each other, or are not lengths.
        let contradicting = try await harness.failure(ClipCutStep.self, ["input": .string(mp4), "start": 1, "output": "x.mp4", "min_length": 6, "max_length": 5])
        #expect(contradicting?.contains("the shortest clip (0:06) is longer than the longest (0:05)") == true, "\(contradicting ?? "succeeded")")
        let negative = try await harness.failure(ClipCutStep.self, ["input": .string(mp4), "start": 1, "output": "x.mp4", "min_length": -1])
        #expect(negative?.contains("argument 'min_length' must be a length of more than 0 seconds") == true, "\(negative ?? "succeeded")")
    }

    @Test func anMp4ClipHasItsIndexAtTheFrontForStreaming() async throws {
        let mkv = try await MediaSamples.shared.path("mkv")
        _ = try await cut(mkv, start: "00:00:02.000", end: "00:00:06", output: "fast.mp4")
        let data = try Data(contentsOf: URL(fileURLWithPath: harness.runFolder.path + "/fast.mp4"))
        let moov = try #require(data.range(of: Data("moov".utf8)))
        let mdat = try #require(data.range(of: Data("mdat".utf8)))
        #expect(moov.lowerBound < mdat.lowerBound)
    }

    @Test func everyContainerByExtensionDecodesToTheEnd() async throws {
        let mkv = try await MediaSamples.shared.path("mkv")
        for name in ["c.mkv", "c.mov", "c.ts", "c.mp4"] {
            let outputs = try await cut(mkv, start: 4, end: 8, output: name)
            let file = harness.runFolder.path + "/" + name
            #expect(try await Probe.decodeErrors(file) == "", "\(name)")
            let probe = try await Probe(file)
            #expect(abs(probe.duration - (outputs["duration"]?.numberValue ?? 0)) < 0.15, "\(name): ffprobe \(probe.duration)")
            // What aiv says it wrote is what ffprobe finds; mp4 cannot hold SubRip, so it is dropped there.
            #expect(probe.kinds.count == outputs["streams"]?.arrayValue?.count, "\(name)")
            if name == "c.mp4" { #expect(outputs["dropped"]?.arrayValue?.count == 1) }
            if name == "c.mkv" { #expect(probe.kinds == ["video", "audio", "subtitle"]) }
        }
    }

    @Test func audioOnlyExtractsARangeToM4a() async throws {
        let mp4 = try await MediaSamples.shared.path("mp4")
        let outputs = try await cut(mp4, start: 2.5, end: 5, output: "speech.m4a", audioOnly: true)
        let probe = try await Probe(harness.runFolder.path + "/speech.m4a")
        #expect(probe.kinds == ["audio"])
        #expect(probe.codecs == ["aac"])
        #expect(abs(probe.duration - 2.5) < 0.1)
        #expect(abs((outputs["actual_start"]?.numberValue ?? 0) - 2.5) < 0.05)
    }

    /// Audio has no keyframes to wait for: a cut starts on the packet that holds the start, at
    /// or before it by less than a packet (about 21 ms of AAC), never after it.
    @Test(arguments: [1.01, 2.5, 3.333, 7.77])
    func anAudioCutStartsOnThePacketThatHoldsTheStart(_ start: Double) async throws {
        let mp4 = try await MediaSamples.shared.path("mp4")
        let outputs = try await cut(mp4, start: .double(start), end: .double(start + 1), output: "part-\(start).aac")
        let actual = try #require(outputs["actual_start"]?.numberValue)
        #expect(actual <= start + 0.0005 && actual > start - 0.025, "asked \(start), started at \(actual)")
    }

    /// An audio container gets the audio only, without `audio_only`: an .aac with the video
    /// could not be written, and an .m4a with it would be an mp4 by another name.
    @Test func anAudioContainerGetsOnlyTheAudioOfAVideo() async throws {
        let mp4 = try await MediaSamples.shared.path("mp4")
        for output in ["speech.aac", "speech.m4a", "speech.mka"] {
            _ = try await cut(mp4, start: 2, end: 4, output: output)
            let probe = try await Probe(harness.runFolder.path + "/" + output)
            #expect(probe.kinds == ["audio"], "\(output): \(probe.kinds)")
        }
    }

    /// A transport stream carries subtitles only as DVB ones: the mp4's mov_text track is left
    /// out and listed, not written as a data stream no player reads.
    @Test func aTransportStreamLeavesOutTextSubtitlesAndSaysSo() async throws {
        let mkv = try await MediaSamples.shared.path("mkv")
        let outputs = try await cut(mkv, start: 2, end: 4, output: "clip.ts")
        let probe = try await Probe(harness.runFolder.path + "/clip.ts")
        #expect(probe.kinds.sorted() == ["audio", "video"], "\(probe.kinds)")
        let dropped = outputs["dropped"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(dropped.count == 1 && dropped[0].contains("subrip"), "\(dropped)")
    }

    /// A transport stream has no index: a seek bisects its bytes and can land after the start.
    /// The clip still starts on the last keyframe at or before it, as from an mp4 or an mkv.
    @Test func aCutFromATransportStreamStartsOnTheKeyframeBeforeTheStartNotAfterIt() async throws {
        let ts = try await MediaSamples.shared.path("ts")
        for start in [3.9, 5.5, 7.0] {
            let outputs = try await cut(ts, start: .double(start), end: .double(start + 1.5), output: "clip-\(start).mp4")
            let actual = try #require(outputs["actual_start"]?.numberValue)
            // Keyframes every 2 s: the one at or before the start is less than 2 s before it.
            #expect(actual <= start + 0.001 && actual > start - 2.05, "asked \(start), started at \(actual)")
            #expect(try await Probe.decodeErrors(harness.runFolder.path + "/clip-\(start).mp4") == "")
        }
    }

    /// A recording still being written states no length: a start after where its data stops is
    /// an error, not a clip of its last second that reports success.
    @Test func aStartPastWhereAGrowingRecordingStopsIsAnError() async throws {
        let growing = try await MediaSamples.shared.path("growing.mkv")
        let message = try await harness.failure(ClipCutStep.self, ["input": .string(growing), "start": 8, "end": 9, "output": "late.mp4"])
        #expect(message?.contains("start 0:08 is past the end of \(growing): its media stops at") == true, "\(message ?? "")")
        // Within the data it holds, it cuts as any recording does: from the keyframe at or before the start.
        let early = try await cut(growing, start: 1, end: 2, output: "early.mp4")
        #expect((early["actual_start"]?.numberValue ?? 99) <= 1.001)
        #expect(try await Probe(harness.runFolder.path + "/early.mp4").duration > 0.9)
    }

    /// FFmpeg gives a Matroska file whose times start at 1000 s a duration of 1000 s plus its
    /// length: a whole one is cut to its end and measured by what plays, and half of one is still
    /// found truncated.
    @Test func anMkvWhoseTimesStartLateIsWholeAndHalfOfItIsNot() async throws {
        let late = try await MediaSamples.shared.path("late.mkv")
        let tail = try await cut(late, start: 4.5, end: nil, output: "tail.mp4")
        // From the keyframe at or before 4.5 s to the end of its 10 s.
        let from = try #require(tail["actual_start"]?.numberValue)
        #expect(from <= 4.5 && from > 2.5, "\(from)")
        #expect(abs((tail["duration"]?.numberValue ?? 0) - (10 - from)) < 0.2, "\(tail["duration"] ?? .null) from \(from)")
        // Its length is what plays, not where its times end; a short clip near the end is taken
        // back from the end, not cut short.
        let probed = try await harness.outputs(MediaProbeStep.self, ["input": .string(late)])
        #expect(abs((probed["duration"]?.numberValue ?? 0) - 10) < 0.1, "\(probed["duration"] ?? .null)")
        var near = try await harness.outputs(ClipCutStep.self, ["input": .string(late), "start": 8, "min_length": 5, "output": "near.mp4"])
        #expect((near["duration"]?.numberValue ?? 0) > 4.5, "\(near)")
        near = try await harness.outputs(ClipCutStep.self, ["input": .string(late), "start": 8, "max_length": 30, "output": "far.mp4"])
        #expect(near["adjustment"] == .null, "\(near)")
        let half = harness.workflow.path + "/half.mkv"
        let data = try Data(contentsOf: URL(fileURLWithPath: late))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: half))
        let message = try await harness.failure(ClipCutStep.self, ["input": .string(half), "start": 4, "output": "half.mp4"])
        #expect(message?.contains("\(half) is truncated") == true, "\(message ?? "")")
    }

    /// Only mp4 and mov keep a phone video's rotation; in an mkv or a transport stream it would
    /// play (and be reframed) sideways. A VP9 stream in a transport stream would be opaque data,
    /// and an .aac file holds AAC and nothing else.
    @Test func aContainerThatWouldLoseTheRotationOrTheCodecIsRefused() async throws {
        let rotated = try await MediaSamples.shared.path("mp4")
        let sideways = try await harness.failure(ClipCutStep.self, ["input": .string(rotated), "start": 2, "end": 4, "output": "clip.mkv"])
        #expect(sideways?.contains("is rotated (") == true && sideways?.contains("cut it to .mp4 or .mov") == true, "\(sideways ?? "")")
        let vp9 = try await MediaSamples.shared.path("vp9.webm")
        let opaque = try await harness.failure(ClipCutStep.self, ["input": .string(vp9), "start": 1, "end": 2, "output": "clip.ts"])
        #expect(opaque?.contains("a .ts file cannot hold the vp9 stream") == true, "\(opaque ?? "")")
        // An .aac file is AAC frames only: Opus audio is refused before a header is written.
        let opus = try await MediaSamples.shared.path("opus.mka")
        let adts = try await harness.failure(ClipCutStep.self, ["input": .string(opus), "start": 1, "end": 2, "output": "speech.aac"])
        #expect(adts?.contains("a .aac file cannot hold the opus stream 0") == true && adts?.contains(".mka holds any audio") == true, "\(adts ?? "")")
    }

    @Test func aRecordingWithoutVideoIsCutFromTheFirstPacketAtTheStart() async throws {
        let m4a = try await MediaSamples.shared.path("audio-only.m4a")
        let outputs = try await cut(m4a, start: 2, end: 4, output: "part.m4a")
        let probe = try await Probe(harness.runFolder.path + "/part.m4a")
        #expect(probe.kinds == ["audio"])
        #expect(abs(probe.duration - 2) < 0.1)
        #expect(abs((outputs["actual_start"]?.numberValue ?? 0) - 2) < 0.05)
        #expect(try await Probe.decodeErrors(harness.runFolder.path + "/part.m4a") == "")
    }

    @Test func subtitlesOfAnMkvAndAnMp4BecomeSRTAndWebVTTThatTranscriptLoadReads() async throws {
        for (name, output) in [("mkv", "captions.srt"), ("mp4", "captions.vtt")] {
            let input = try await MediaSamples.shared.path(name)
            let outputs = try await harness.outputs(SubtitlesExtractStep.self, ["input": .string(input), "output": .string(output)])
            #expect(outputs["cues"] == 3)
            let transcript = try await harness.outputs(TranscriptLoadStep.self, ["path": .string(harness.runFolder.path + "/" + output)])
            let texts = transcript["segments"]?.arrayValue?.compactMap { $0["text"]?.stringValue } ?? []
            #expect(texts == MediaSamples.cues.map(\.2), "\(name)")
            // ffmpeg's mkv muxer shifts the subtitles by the AAC priming delay (23 ms) in the sample itself.
            let starts = transcript["segments"]?.arrayValue?.compactMap { $0["start"]?.numberValue } ?? []
            #expect(zip(starts, MediaSamples.cues.map(\.0)).allSatisfy { abs($0 - $1) < 0.03 } && starts.count == 3, "\(name): \(starts)")
        }
        let mkv = try await MediaSamples.shared.path("mkv")
        let english = try await harness.failure(SubtitlesExtractStep.self, ["input": .string(mkv), "output": "x.srt", "language": "eng"])
        #expect(english?.contains("no subtitle track in 'eng'; it has jpn") == true)
    }

    /// A recording whose index (at its start) promises more than the file holds, as a copy that
    /// stopped part way leaves it, is an error naming the file, not a short or broken clip.
    @Test func aRecordingTruncatedAfterItsIndexIsAnError() async throws {
        let mp4 = try await MediaSamples.shared.path("mp4")
        let indexed = harness.workflow.path + "/indexed.mp4"
        let remux = try await Tool.run(["ffmpeg", "-v", "error", "-y", "-i", mp4, "-map", "0", "-c", "copy", "-movflags", "+faststart", indexed])
        #expect(remux.status == 0, "\(remux.stderr)")
        let whole = try Data(contentsOf: URL(fileURLWithPath: indexed))
        harness.workflow.write("cut-short.mp4", bytes: [UInt8](whole.prefix(whole.count * 6 / 10)))
        for (start, end) in [(1.0, 9.0), (8.0, 9.5)] {
            let message = try await harness.failure(ClipCutStep.self, ["input": "cut-short.mp4", "start": .double(start), "end": .double(end), "output": "x.mp4"])
            #expect(message?.contains("cut-short.mp4 is truncated") == true, "\(start)-\(end): \(message ?? "no error")")
            // Where the media stops is said truly: at a time read, or before the start when none was read past it (not "at 0:00").
            #expect(message?.contains("stops at 0:00,") == false, "\(start)-\(end): \(message ?? "no error")")
            if start == 8 { #expect(message?.contains("its media stops before 0:08, before the 0:10 its header gives") == true, "\(message ?? "")") }
        }
        // The whole file cuts as before.
        _ = try await cut(indexed, start: 1, end: 9, output: "whole.mp4")
    }

    @Test func badInputsAreClearErrorsNotCrashes() async throws {
        let mp4 = try await MediaSamples.shared.path("mp4")
        let folder = harness.workflow
        folder.write("noise.mp4", bytes: (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        let whole = try Data(contentsOf: URL(fileURLWithPath: mp4))
        folder.write("truncated.mp4", bytes: [UInt8](whole.prefix(whole.count / 3)))
        func failure(_ input: String, start: JSONValue = 1, end: JSONValue? = 3, output: String = "x.mp4") async throws -> String? {
            var arguments: [String: JSONValue] = ["input": .string(input), "start": start, "output": .string(output)]
            if let end { arguments["end"] = end }
            return try await harness.failure(ClipCutStep.self, arguments)
        }
        #expect(try await failure("missing.mp4")?.contains("no such file") == true)
        #expect(try await failure("noise.mp4")?.contains("not a media file FFmpeg can read") == true)
        let truncated = try await failure("truncated.mp4", start: 0, end: 9)
        #expect(truncated != nil, "a file cut to a third cannot give 9 seconds")
        #expect(try await failure(mp4, start: 5, end: 5)?.contains("end (0:05) must come after start (0:05)") == true)
        #expect(try await failure(mp4, start: 30, end: 40)?.contains("past the end") == true)
        #expect(try await failure(mp4, start: "1:75", end: nil)?.contains("must be seconds (0 to 10000000) or HH:MM:SS.mmm") == true)
        // Times no recording has (from a model's answer, say) are refused, not a crash of the run.
        #expect(try await failure(mp4, start: 1e20, end: 3)?.contains("must be seconds (0 to 10000000)") == true)
        #expect(try await failure(mp4, start: 1, end: .string("99999999999:00"))?.contains("must be seconds (0 to 10000000)") == true)
        #expect(try await failure(mp4, output: "x.avi")?.contains("not '.avi'") == true)
        #expect(try await failure(mp4, output: "../outside.mp4") != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.runFolder.path).filter { $0.contains("partial") }.isEmpty)
        let probe = try await harness.failure(MediaProbeStep.self, ["input": "noise.mp4"])
        #expect(probe?.contains("not a media file") == true)
        // A transcript where the recording belongs: libavformat reads it, but it is no recording.
        folder.write("captions.srt", "1\n00:00:01,000 --> 00:00:02,000\nこんにちは\n")
        let transcript = try await harness.failure(MediaProbeStep.self, ["input": "captions.srt"])
        #expect(transcript == "argument 'input' names 'captions.srt', which is not a recording: it is srt with no audio or video stream (only subtitle)")
    }
}
