import AIVCore
import AIVMedia
import AIVTestSupport
import Foundation
import Testing
@testable import AIVSteps

/// Where the picture of a reframed clip comes from and goes, without any media.
struct ReframeGeometryTests {
    typealias Case = (source: (Int, Int), fit: ReframeRequest.Fit, focus: Double, height: Int,
                      crop: [Int], scaled: [Int], offset: [Int], size: [Int])

    @Test(arguments: [
        // A 720p stream, cropped: the full height, a 9:16 window (404 px, even) where focus says; never scaled up.
        ((1280, 720), .crop, 0.5, 1920, [438, 0, 404, 720], [404, 720], [0, 0], [404, 720]),
        ((1280, 720), .crop, 0.0, 1920, [0, 0, 404, 720], [404, 720], [0, 0], [404, 720]),
        ((1280, 720), .crop, 1.0, 1920, [876, 0, 404, 720], [404, 720], [0, 0], [404, 720]),
        // A 1080p stream with a lower cap: scaled down to 640 tall.
        ((1920, 1080), .crop, 0.5, 640, [656, 0, 606, 1080], [360, 640], [0, 0], [360, 640]),
        // Padded: as wide as the frame at its tallest allows, the picture in the middle of the height.
        ((1280, 720), .pad, 0.5, 1920, [0, 0, 1280, 720], [1080, 606], [0, 656], [1080, 1920]),
        ((320, 180), .pad, 0.5, 1920, [0, 0, 320, 180], [320, 180], [0, 194], [320, 568]),
        // Already taller than 9:16 (a phone held upright, stored so): cropped in the middle of its height…
        ((720, 1600), .crop, 0.5, 1920, [0, 160, 720, 1280], [720, 1280], [0, 0], [720, 1280]),
        // …or padded at the sides.
        ((720, 1600), .pad, 0.5, 1920, [0, 0, 720, 1600], [720, 1600], [90, 0], [900, 1600]),
        // Odd sizes lose their last row or column: 4:2:0 needs even numbers.
        ((321, 181), .crop, 0.5, 1920, [110, 0, 100, 180], [100, 180], [0, 0], [100, 180]),
    ] as [Case])
    func theGeometryKeepsNineBySixteenAndEvenNumbers(_ c: Case) throws {
        let geometry = try #require(ReframeGeometry.make(sourceWidth: c.source.0, sourceHeight: c.source.1, fit: c.fit, focus: c.focus, maximumHeight: c.height))
        #expect([geometry.cropX, geometry.cropY, geometry.cropWidth, geometry.cropHeight] == c.crop)
        #expect([geometry.scaledWidth, geometry.scaledHeight] == c.scaled)
        #expect([geometry.offsetX, geometry.offsetY] == c.offset)
        #expect([geometry.width, geometry.height] == c.size)
        // The picture always fits on the frame and inside the source.
        #expect(geometry.offsetX + geometry.scaledWidth <= geometry.width && geometry.offsetY + geometry.scaledHeight <= geometry.height)
        #expect(geometry.cropX + geometry.cropWidth <= c.source.0 && geometry.cropY + geometry.cropHeight <= c.source.1)
    }

    @Test func aPictureTooSmallToReframeHasNoGeometry() {
        #expect(ReframeGeometry.make(sourceWidth: 1, sourceHeight: 720, fit: .crop, focus: 0.5, maximumHeight: 1920) == nil)
        #expect(ReframeGeometry.make(sourceWidth: 3, sourceHeight: 2, fit: .crop, focus: 0.5, maximumHeight: 1920) == nil)
    }
}

@Suite(.serialized) struct ClipReframeStepTests {
    let harness = StepHarness()

    /// Two seconds whose left half is red and right half blue, 320x180 at 10 fps, with audio.
    func redAndBlue() async throws -> String {
        let path = harness.workflow.path + "/red-blue.mp4"
        let made = try await Tool.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:s=160x180:r=10", "-f", "lavfi",
                                       "-i", "color=c=blue:s=160x180:r=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                                       "-filter_complex", "[0:v][1:v]hstack[v]", "-map", "[v]", "-map", "2:a", "-t", "2",
                                       "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", path])
        #expect(made.status == 0, "\(made.stderr)")
        return path
    }

    /// The mean colour (r, g, b) of a region of a file's first frame, as ffmpeg decodes it.
    func meanColour(_ path: String, crop: String, at time: Double = 0) async throws -> [Int] {
        // Into a file: the tool's output comes back as text, which would mangle bytes over 127.
        let pixel = harness.workflow.path + "/pixel-\(UUID().uuidString.prefix(8)).rgb"
        let result = try await Tool.run(["ffmpeg", "-v", "error", "-ss", String(time), "-i", path, "-frames:v", "1", "-vf", "crop=\(crop),scale=1:1:flags=area",
                                         "-f", "rawvideo", "-pix_fmt", "rgb24", pixel])
        #expect(result.status == 0, "\(result.stderr)")
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: pixel))).prefix(3).map(Int.init)
    }

    func size(_ path: String) async throws -> [Int] {
        let result = try await Tool.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
    }

    @Test func aWideClipBecomesAVerticalH264ClipWithItsAudioCopiedAndItsLengthKept() async throws {
        let mkv = try await MediaSamples.shared.path("mkv")  // 320x240, 10 s, AAC, and SubRip subtitles
        let outputs = try await harness.outputs(ClipReframeStep.self, ["input": .string(mkv), "output": "shorts/short-0.mp4"])
        #expect(outputs["path"] == "shorts/short-0.mp4")
        #expect(outputs["width"] == 134 && outputs["height"] == 240)
        #expect(outputs["frames"] == 250)
        #expect(outputs["encoder"] == "libx264")
        let file = harness.runFolder.path + "/shorts/short-0.mp4"
        let probe = try await Probe(file)
        #expect(probe.kinds == ["video", "audio"])
        #expect(probe.codecs == ["h264", "aac"])
        #expect(abs(probe.duration - 10) < 0.1, "\(probe.duration)")
        #expect(abs((outputs["duration"]?.numberValue ?? 0) - probe.duration) < 0.01)
        #expect(try await size(file) == [134, 240])
        #expect(try await Probe.decodeErrors(file) == "")
        #expect(outputs["bytes"]?.numberValue.map { Int($0) } == (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int))
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.runFolder.path + "/shorts") == ["short-0.mp4"])
    }

    @Test func focusChoosesWhichSideOfTheStreamTheCropKeeps() async throws {
        let source = try await redAndBlue()
        _ = try await harness.outputs(ClipReframeStep.self, ["input": .string(source), "output": "left.mp4", "focus": 0])
        _ = try await harness.outputs(ClipReframeStep.self, ["input": .string(source), "output": "right.mp4", "focus": 1])
        let left = try await meanColour(harness.runFolder.path + "/left.mp4", crop: "iw:ih:0:0")
        let right = try await meanColour(harness.runFolder.path + "/right.mp4", crop: "iw:ih:0:0")
        #expect(left[0] > 200 && left[2] < 60, "left: \(left)")
        #expect(right[2] > 200 && right[0] < 60, "right: \(right)")
    }

    @Test func padKeepsTheWholePictureBetweenBlackBands() async throws {
        let source = try await redAndBlue()
        let outputs = try await harness.outputs(ClipReframeStep.self, ["input": .string(source), "output": "padded.mkv", "fit": "pad"])
        #expect(outputs["width"] == 320 && outputs["height"] == 568)
        let file = harness.runFolder.path + "/padded.mkv"
        let top = try await meanColour(file, crop: "iw:180:0:0")
        let middleLeft = try await meanColour(file, crop: "150:170:0:199")
        let middleRight = try await meanColour(file, crop: "150:170:170:199")
        let bottom = try await meanColour(file, crop: "iw:180:0:388")
        #expect(top.allSatisfy { $0 < 20 } && bottom.allSatisfy { $0 < 20 }, "top \(top), bottom \(bottom)")
        #expect(middleLeft[0] > 200 && middleRight[2] > 200, "\(middleLeft) \(middleRight)")
    }

    @Test func heightCapsTheOutputAndASmallPictureIsNotScaledUp() async throws {
        let source = try await redAndBlue()  // 320x180
        let capped = try await harness.outputs(ClipReframeStep.self, ["input": .string(source), "output": "capped.mp4", "fit": "pad", "height": 320])
        #expect(capped["width"] == 180 && capped["height"] == 320)
        #expect(try await size(harness.runFolder.path + "/capped.mp4") == [180, 320])
        let small = try await harness.outputs(ClipReframeStep.self, ["input": .string(source), "output": "small.mp4"])
        #expect(small["height"] == 180)
    }

    /// A picture stored sideways and shown turned (a phone's) is turned as players turn it: the
    /// reference is ffmpeg's own decoding, which applies the rotation.
    @Test func aPictureStoredSidewaysIsTurnedUprightAsPlayersShowIt() async throws {
        let source = try await redAndBlue()  // red left, blue right, 320x180 as stored
        for rotate in [90, 180, 270] {
            let rotated = harness.workflow.path + "/rotated-\(rotate).mp4"
            let made = try await Tool.run(["ffmpeg", "-v", "error", "-y", "-i", source, "-map", "0", "-c", "copy", "-metadata:s:v:0", "rotate=\(rotate)", rotated])
            #expect(made.status == 0, "\(made.stderr)")
            let outputs = try await harness.outputs(ClipReframeStep.self, ["input": .string(rotated), "output": .string("turned-\(rotate).mp4"), "fit": "pad"])
            let ours = harness.runFolder.path + "/turned-\(rotate).mp4"
            // Shown upright the picture is 180x320 after a quarter turn (already 9:16) and 320x180 after a half turn (padded).
            #expect(outputs["width"] == (rotate == 180 ? 320 : 180) && outputs["height"] == (rotate == 180 ? 568 : 320), "\(rotate)°")
            let padding = rotate == 180 ? 194 : 0
            for (name, region, reference) in [("top", "iw:40:0:\(padding)", "iw:40:0:0"), ("bottom", "iw:40:0:\(padding + (rotate == 180 ? 140 : 280))", "iw:40:0:ih-40"),
                                               ("left", "40:\(rotate == 180 ? 180 : 320):0:\(padding)", "40:ih:0:0")] {
                let expected = try await meanColour(rotated, crop: reference)
                let got = try await meanColour(ours, crop: region)
                #expect(zip(expected, got).allSatisfy { abs($0 - $1) < 40 }, "\(rotate)° \(name): ffmpeg shows \(expected), the reframed clip \(got)")
            }
        }
    }

    /// Makes a file with the ffmpeg program in the workflow folder and returns its path.
    func make(_ name: String, _ arguments: [String]) async throws -> String {
        let path = harness.workflow.path + "/" + name
        let made = try await Tool.run(["ffmpeg", "-v", "error", "-y"] + arguments + [path])
        #expect(made.status == 0, "\(name): \(made.stderr)")
        return path
    }

    func streamField(_ path: String, _ field: String) async throws -> String {
        let result = try await Tool.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=\(field)", "-of", "csv=p=0", path])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func framesWithoutTimesOrWithTimesThatStartAgainComeOneFrameApart() async throws {
        // A raw H.264 stream has no timestamps at all; three joined copies of a transport stream start their times again twice.
        let raw = try await make("raw.h264", ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "h264"])
        let part = try await make("part.ts", ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        let joined = harness.workflow.path + "/joined.ts"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: part))
        try (bytes + bytes + bytes).write(to: URL(fileURLWithPath: joined))
        for (input, frames) in [(raw, 50), (joined, 75)] {
            let name = (input as NSString).lastPathComponent + ".mp4"
            let outputs = try await harness.outputs(ClipReframeStep.self, ["input": .string(input), "output": .string(name)])
            let file = harness.runFolder.path + "/" + name
            #expect(outputs["frames"] == .int(frames), "\(name)")
            #expect(abs((outputs["duration"]?.numberValue ?? 0) - Double(frames) / 25) < 0.05, "\(name): \(outputs["duration"] ?? .null)")
            #expect(try await Probe.decodeErrors(file) == "", "\(name)")
        }
    }

    @Test func aPixelFormatThatChangesMidwayIsConvertedNotGarbled() async throws {
        // A second of red as 4:4:4, then a second of blue as 10-bit 4:2:0, in one transport stream.
        let red = try await make("red.ts", ["-f", "lavfi", "-i", "color=c=red:s=320x180:r=25", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv444p"])
        let blue = try await make("blue.ts", ["-f", "lavfi", "-i", "color=c=blue:s=320x180:r=25", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p10le"])
        let joined = harness.workflow.path + "/changing.ts"
        try (Data(contentsOf: URL(fileURLWithPath: red)) + Data(contentsOf: URL(fileURLWithPath: blue))).write(to: URL(fileURLWithPath: joined))
        _ = try await harness.outputs(ClipReframeStep.self, ["input": .string(joined), "output": "changing.mp4"])
        let last = harness.runFolder.path + "/last.mp4"
        let cut = try await Tool.run(["ffmpeg", "-v", "error", "-y", "-sseof", "-0.3", "-i", harness.runFolder.path + "/changing.mp4", "-c:v", "libx264", last])
        #expect(cut.status == 0, "\(cut.stderr)")
        let colour = try await meanColour(last, crop: "iw:ih:0:0")
        #expect(colour[2] > 200 && colour[0] < 60 && colour[1] < 60, "the blue second came out \(colour)")
    }

    @Test func nonSquarePixelsKeepTheirShapeAsShown() async throws {
        // 720x576 stored, each pixel 64:45 as wide as tall: shown 1024x576.
        let anamorphic = try await make("anamorphic.mp4", ["-f", "lavfi", "-i", "testsrc=size=720x576:rate=25", "-t", "1", "-vf", "setsar=64/45",
                                                           "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        let padded = try await harness.outputs(ClipReframeStep.self, ["input": .string(anamorphic), "output": "padded.mp4", "fit": "pad"])
        #expect(padded["width"] == 1024 && padded["height"] == 1820)
        let cropped = try await harness.outputs(ClipReframeStep.self, ["input": .string(anamorphic), "output": "cropped.mp4"])
        #expect(cropped["width"] == 324 && cropped["height"] == 576)
        #expect(try await streamField(harness.runFolder.path + "/cropped.mp4", "sample_aspect_ratio") == "1:1")
    }

    @Test func aFullRangePictureInAnotherFormatIsConvertedToTheLimitedRange() async throws {
        // A grey 4:4:4 picture tagged full range: written in the limited range, it must look as
        // ffmpeg shows the source (taken as limited, it would come out darker).
        let full = try await make("grey444.mkv", ["-f", "lavfi", "-i", "color=c=0x404040:s=320x180:r=25", "-t", "1",
                                                  "-c:v", "ffv1", "-pix_fmt", "yuv444p", "-color_range", "pc"])
        #expect(try await streamField(full, "color_range") == "pc")
        _ = try await harness.outputs(ClipReframeStep.self, ["input": .string(full), "output": "grey.mp4"])
        let file = harness.runFolder.path + "/grey.mp4"
        #expect(try await streamField(file, "color_range") != "pc")
        let shown = try await meanColour(full, crop: "iw:ih:0:0")
        let grey = try await meanColour(file, crop: "iw:ih:0:0", at: 0.5)
        #expect(zip(shown, grey).allSatisfy { abs($0 - $1) <= 3 }, "ffmpeg shows the source as \(shown), the reframed clip as \(grey)")
    }

    @Test func aFullRangePicturePassedThroughSaysItIsFullRange() async throws {
        let full = try await make("full.mkv", ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-t", "1", "-c:v", "ffv1", "-pix_fmt", "yuv420p",
                                               "-color_range", "pc"])
        _ = try await harness.outputs(ClipReframeStep.self, ["input": .string(full), "output": "full.mp4"])
        #expect(try await streamField(harness.runFolder.path + "/full.mp4", "color_range") == "pc")
        let limited = try await harness.outputs(ClipReframeStep.self, ["input": .string(try await redAndBlue()), "output": "limited.mp4"])
        #expect(limited["encoder"] == "libx264")
        #expect(try await streamField(harness.runFolder.path + "/limited.mp4", "color_range") != "pc")
    }

    @Test func captionsAreDrawnWhileTheirLineIsShownAndNotBeforeOrAfter() async throws {
        let black = try await make("black.mp4", ["-f", "lavfi", "-i", "color=c=black:s=640x360:r=25", "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        harness.workflow.write("lines.srt", "1\n00:00:01,000 --> 00:00:02,000\nちょっと待って、今なんか音しなかった？\n(Wait, did you hear that?)\n")
        let outputs = try await harness.outputs(ClipReframeStep.self, ["input": .string(black), "output": "captioned.mp4", "captions": "lines.srt"])
        #expect(outputs["width"] == 202 && outputs["height"] == 360)
        let file = harness.runFolder.path + "/captioned.mp4"
        let before = try await meanColour(file, crop: "iw:ih:0:0", at: 0.5)
        let during = try await meanColour(file, crop: "iw:ih:0:0", at: 1.5)
        let after = try await meanColour(file, crop: "iw:ih:0:0", at: 2.5)
        #expect(before.allSatisfy { $0 <= 2 } && after.allSatisfy { $0 <= 2 }, "before \(before), after \(after)")
        #expect(during.allSatisfy { $0 >= 6 }, "white letters while the line is shown: \(during)")
        // Drawn inside the picture: the lines were broken to its width, so the edge columns stay black.
        let edges = try await [meanColour(file, crop: "4:ih:0:0", at: 1.5), meanColour(file, crop: "4:ih:iw-4:0", at: 1.5)]
        #expect(edges.allSatisfy { $0.allSatisfy { $0 <= 2 } }, "\(edges)")
        #expect(try await Probe.decodeErrors(file) == "")
        // The wrapped lines were written beside the clip under a temporary name, and are gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.runFolder.path) == ["captioned.mp4"])
    }

    @Test func aStretchWithNoLinesLeavesThePictureAsItIsAndAnASSFileKeepsItsOwnStyle() async throws {
        let black = try await make("black.mp4", ["-f", "lavfi", "-i", "color=c=black:s=640x360:r=25", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        harness.workflow.write("silent.srt", "")
        let silent = try await harness.outputs(ClipReframeStep.self, ["input": .string(black), "output": "silent.mp4", "captions": "silent.srt"])
        #expect(silent["frames"] == 50)
        #expect(try await meanColour(harness.runFolder.path + "/silent.mp4", crop: "iw:ih:0:0", at: 1).allSatisfy { $0 <= 2 })
        // An ASS file whose style puts big red letters at the top: drawn so, not in aiv's white at the bottom.
        harness.workflow.write("styled.ass", """
            [Script Info]
            ScriptType: v4.00+
            PlayResX: 202
            PlayResY: 360

            [V4+ Styles]
            Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
            Style: Default,sans-serif,60,&H000000FF,&H000000FF,&H000000FF,&H00000000,1,0,0,0,100,100,0,0,1,0,0,8,0,0,10,1

            [Events]
            Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
            Dialogue: 0,0:00:00.00,0:00:02.00,Default,,0,0,0,,XX

            """)
        _ = try await harness.outputs(ClipReframeStep.self, ["input": .string(black), "output": "styled.mp4", "captions": "styled.ass"])
        let file = harness.runFolder.path + "/styled.mp4"
        let top = try await meanColour(file, crop: "iw:90:0:0", at: 1)
        let bottom = try await meanColour(file, crop: "iw:90:0:ih-90", at: 1)
        #expect(top[0] > 20 && top[0] > 3 * top[2], "red letters at the top: \(top)")
        #expect(bottom.allSatisfy { $0 <= 2 }, "nothing at the bottom: \(bottom)")
    }

    @Test func aClipWhoseTimesStartLateIsNotTakenForATruncatedOne() async throws {
        let late = try await make("late.mp4", ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-f", "lavfi", "-i", "sine", "-t", "4",
                                               "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-output_ts_offset", "5"])
        let reframed = try await harness.outputs(ClipReframeStep.self, ["input": .string(late), "output": "late.mp4"])
        #expect(reframed["frames"] == 100)
        let cut = try await harness.outputs(ClipCutStep.self, ["input": .string(late), "start": 0, "output": "late-cut.mp4"])
        #expect(abs((cut["duration"]?.numberValue ?? 0) - 4) < 0.2, "\(cut["duration"] ?? .null)")
    }

    @Test func badCaptionsAreClearErrors() async throws {
        let source = try await redAndBlue()
        harness.workflow.write("bad.srt", "1\n00:00:01,000 --> soon\nhello\n")
        harness.workflow.write("notes.txt", "hello")
        func failure(_ extra: [String: JSONValue]) async throws -> String? {
            try await harness.failure(ClipReframeStep.self, ["input": .string(source), "output": "c.mp4"].merging(extra) { $1 })
        }
        #expect(try await failure(["captions": "bad.srt"])?.hasPrefix("captions bad.srt line 2:") == true)
        #expect(try await failure(["captions": "notes.txt"]) == "argument 'captions' names a '.txt' file; captions are .srt, .vtt, .ass or .ssa")
        #expect(try await failure(["captions": "gone.ass"])?.hasPrefix("argument 'captions' cannot be read") == true)
        #expect(try await failure(["captions": "bad.srt", "caption_font": "Noto, Sans"]) == "argument 'caption_font' must be a font name without commas or spaces around it, not 'Noto, Sans'")
        #expect(try await failure(["captions": "gone.srt"])?.contains("cannot be read") == true)
    }

    @Test func badInputsAreClearErrorsAndLeaveNoPartialFile() async throws {
        let audio = try await MediaSamples.shared.path("audio-only.m4a")
        let source = try await redAndBlue()
        harness.workflow.write("noise.mp4", bytes: (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        func failure(_ input: String, _ extra: [String: JSONValue] = [:], output: String = "out/x.mp4") async throws -> String? {
            try await harness.failure(ClipReframeStep.self, ["input": .string(input), "output": .string(output)].merging(extra) { $1 })
        }
        #expect(try await failure(audio)?.contains("has no video stream to reframe") == true)
        #expect(try await failure("noise.mp4")?.contains("not a media file FFmpeg can read") == true)
        #expect(try await failure("missing.mp4")?.contains("no such file") == true)
        #expect(try await failure(source, output: "out/x.avi")?.contains("a reframed clip is written as m4v, mkv, mov, mp4, not '.avi'") == true)
        #expect(try await failure(source, ["focus": 2]) == "argument 'focus' must be from 0 to 1, not 2")
        #expect(try await failure(source, ["quality": 60]) == "argument 'quality' must be from 0 to 51, not 60")
        #expect(try await failure(source, ["fit": "stretch"]) == "argument 'fit' must be crop or pad, not 'stretch'")
        #expect(try await failure(source, output: "../outside.mp4") != nil)
        // A file cut short that still ends cleanly (an mkv's clusters): an error, not a shorter Short.
        let whole = try await make("whole.mkv", ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-t", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        let wholeBytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        harness.workflow.write("cut-short.mkv", bytes: [UInt8](wholeBytes.prefix(wholeBytes.count / 2)))
        let truncated = try await failure("cut-short.mkv")
        #expect(truncated?.contains("cut-short.mkv is truncated: its media stops at") == true, "\(truncated ?? "it succeeded")")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: harness.runFolder.path + "/out")) ?? []
        #expect(left.isEmpty, "\(left)")
    }

    @Test func literalArgumentsOutOfRangeAreReportedByValidate() {
        let problems = ClipReframeStep.checkLiterals(WrittenArguments([
            "input": "a.mp4", "output": "v.webm", "focus": 1.5, "height": 8, "quality": 20,
        ]))
        #expect(problems.map(\.argument).sorted() == ["focus", "height", "output"])
        #expect(problems.first { $0.argument == "focus" }?.message == "must be from 0 to 1, not 1.5")
        #expect(problems.first { $0.argument == "output" }?.message.hasPrefix("names a '.webm' file; a reframed clip is m4v, mkv, mov, mp4") == true)
    }
}
