import AIVCore
import AIVMedia
import Foundation

/// `clip.reframe`: a clip made vertical (9:16) by re-encoding its picture, so YouTube takes it as a Short.
public struct ClipReframeStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "clip.reframe",
        summary: "Make a clip vertical (9:16, for Shorts) by re-encoding its picture as H.264; the audio is copied.",
        discussion: """
            YouTube takes a video as a Short only when it is vertical or square; a stream is recorded wide. \
            This step decodes the clip's picture, takes a 9:16 window of it (`fit: crop`, placed across the picture \
            by `focus`: 0 the left edge, 0.5 the middle, 1 the right edge, where a Vtuber's model usually stands) or \
            keeps all of it with black above and below (`fit: pad`), scales it to at most `height` pixels tall \
            (never up: a small picture stays small) and encodes it with libx264 (`quality` is its CRF: lower is \
            better and larger). Audio streams are copied untouched; subtitle streams are left out. A picture stored \
            sideways (a phone's) is turned upright and non-square pixels are drawn at their shape, as players \
            show them; a file that stops before the length it states is an error. Re-encoding costs what decoding and encoding \
            every frame costs, unlike clip.cut: cut first, then reframe only the clips. The file (mp4, mov or mkv; \
            mp4 and mov with their index at the front) is written under a temporary name and renamed when complete. \
            With `captions`, each line is drawn onto the picture (libass, through libavfilter). SRT and WebVTT lines \
            are broken to fit the frame's width (libass breaks only at spaces; Japanese is broken between characters) \
            and drawn white, bold, outlined in black, `caption_size` tall, centred above the bottom fifth of the frame, \
            which Shorts cover with their buttons and title; an ASS (or SSA) file is drawn as it is styled, and \
            caption_font and caption_size do not apply to it. A caption file with no lines leaves the picture as it \
            is. Japanese needs a Japanese font installed (Debian: fonts-ipafont-gothic or fonts-noto-cjk).
            """,
        arguments: [
            Property("input", .string, required: true, role: .inputFile, "The clip: a file an earlier step wrote (clip.cut's `path`), or one relative to the workflow."),
            Property("output", .string, required: true, role: .outputPath, "The vertical clip's path in the run folder (.mp4, .mov or .mkv)."),
            Property("fit", .oneOfStrings(ReframeRequest.Fit.allCases.map(\.rawValue)), default: "crop",
                     "crop: fill the frame with a 9:16 window of the picture; pad: the whole picture, black above and below."),
            Property("focus", .number, default: 0.5, "With fit: crop, where the window sits across the picture, from 0 (left) to 1 (right)."),
            Property("height", .integer, default: 1920, "The tallest output in pixels (16 to 4096); a smaller picture is not scaled up."),
            Property("quality", .integer, default: 21, "x264's CRF, 0 to 51: 18 looks lossless, 23 is x264's default."),
            Property("captions", .anyOf([.string, .null]), role: .inputFile,
                     "A caption file (.srt, .vtt, .ass or .ssa, timed from the clip's start; subtitles.write makes one) to draw onto the picture."),
            Property("caption_font", .string, default: "sans-serif", "The font of SRT and WebVTT captions, by name; characters it lacks (Japanese) come from an installed font that has them."),
            Property("caption_size", .integer, default: 14, "The letters' height of SRT and WebVTT captions, in 288ths of the picture's height (14: about 1/20; 8 to 40)."),
        ],
        outputs: .object([
            Property("path", .string, required: true, "The vertical clip, relative to the run folder."),
            Property("width", .integer, required: true, "Pixels."),
            Property("height", .integer, required: true, "Pixels."),
            Property("duration", .number, required: true, "Seconds, as players read the file."),
            Property("frames", .integer, required: true, "Frames encoded."),
            Property("encoder", .string, required: true, "The H.264 encoder used (libx264 when FFmpeg has it)."),
            Property("bytes", .integer, required: true, "File size."),
            Property("streams", MediaWork.streamSchema, required: true, "The clip's streams."),
        ]),
        example: """
            - id: shorts
              uses: clip.reframe
              for_each: ${{ steps.clips.outputs }}
              with:
                input: ${{ item.path }}
                output: ${{ format('shorts/short-{0}.mp4', index) }}
                fit: crop
                focus: 0.75
            """,
        checkLiterals: checkLiterals)

    /// The numeric arguments' ranges, which `aiv validate` checks when they are written out and
    /// the run checks when they are computed. (Their defaults are the kind's `Property` defaults.)
    static let ranges: KeyValuePairs<String, ClosedRange<Double>> = [
        "focus": 0...1, "height": 16...4096, "quality": 0...51, "caption_size": 8...40,
    ]

    /// Numbers out of range and a container it cannot write, when the workflow writes them out.
    @Sendable static func checkLiterals(_ arguments: WrittenArguments) -> [LiteralProblem] {
        var problems: [LiteralProblem] = []
        for (name, range) in ranges {
            if let value = arguments[name]?.numberValue, !range.contains(value) {
                problems.append(LiteralProblem(name, Self.rangeMessage(range, value)))
            }
        }
        if let font = arguments["caption_font"]?.stringValue, let problem = fontProblem(font) {
            problems.append(LiteralProblem("caption_font", problem))
        }
        if let ext = arguments.pathExtension(of: "output"), Reframe.containers[ext] == nil {
            let known = Reframe.containers.keys.sorted()
            problems.append(LiteralProblem("output", "names a '.\(ext)' file; a reframed clip is \(known.joined(separator: ", "))\(Suggestions.didYouMean(ext, in: known))"))
        }
        return problems
    }

    /// SRT and WebVTT are read here (by transcript.load's parsers, so a malformed file is named
    /// with its line) and their lines broken to fit; an ASS file is drawn as it is styled.
    static func captionSource(_ path: String) throws(StepError) -> ReframeRequest.Captions.Source {
        let ext = (path as NSString).pathExtension.lowercased()
        guard ["srt", "vtt", "ass", "ssa"].contains(ext) else {
            throw StepError.argument("captions", "names a '.\(ext)' file; captions are .srt, .vtt, .ass or .ssa")
        }
        if ext == "ass" || ext == "ssa" {
            guard FileManager.default.isReadableFile(atPath: path) else { throw StepError.argument("captions", "cannot be read: \(path)") }
            return .styledFile(path)
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw StepError.argument("captions", "cannot be read: \(path): \((error as NSError).localizedDescription)")
        }
        do throws(TranscriptProblem) {
            let segments = ext == "srt" ? try SubRipParser.parse(text) : try WebVTTParser.parse(text)
            let cues = segments.map { SubtitleCue(start: $0.start, end: $0.end, text: $0.text.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return .cues(cues.filter { !$0.text.isEmpty }, file: path)
        } catch {
            throw StepError("captions \((path as NSString).lastPathComponent) line \(error.line): \(error.message)")
        }
    }

    /// The captions to draw, or nil when the step has none.
    static func captions(_ arguments: StepArguments, size: Int, context: StepContext) throws(StepError) -> ReframeRequest.Captions? {
        guard let value = arguments["captions"], value != .null else { return nil }
        let font = try arguments.optionalString("caption_font") ?? "sans-serif"
        if let problem = fontProblem(font) { throw StepError.argument("caption_font", problem) }
        return ReframeRequest.Captions(try captionSource(context.inputPath(try arguments.string("captions"))), font: font, size: size)
    }

    /// A font name libass's style line cannot carry (its fields are split at commas).
    static func fontProblem(_ font: String) -> String? {
        let trimmed = font.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty || trimmed != font || font.contains(",") || font.contains("\n")
            ? "must be a font name without commas or spaces around it, not '\(font)'" : nil
    }

    static func rangeMessage(_ range: ClosedRange<Double>, _ value: Double) -> String {
        func shown(_ number: Double) -> String { number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number) }
        return "must be from \(shown(range.lowerBound)) to \(shown(range.upperBound)), not \(shown(value))"
    }

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let input = context.inputPath(try arguments.string("input"))
        let output = try arguments.string("output")
        let fitName = try arguments.optionalString("fit") ?? "crop"
        guard let fit = ReframeRequest.Fit(rawValue: fitName) else { throw StepError.argument("fit", "must be crop or pad, not '\(fitName)'") }
        func number(_ name: String) throws(StepError) -> Double {
            let property = Self.kind.arguments.first { $0.name == name }
            guard let value = arguments[name] ?? property?.defaultValue else { throw StepError.argument(name, "is missing") }
            guard let number = value.numberValue else { throw StepError.argument(name, "must be a number, not \(value.canonicalJSON)") }
            if let range = Self.ranges.first(where: { $0.key == name })?.value, !range.contains(number) {
                throw StepError.argument(name, Self.rangeMessage(range, number))
            }
            return number
        }
        let focus = try number("focus")
        let height = try number("height")  // whole numbers (height, quality, caption_size), by the schema
        let quality = try number("quality")
        let captionSize = try number("caption_size")
        let captions = try Self.captions(arguments, size: Int(captionSize), context: context)
        if let captions, captions.isEmpty, let file = arguments["captions"]?.stringValue {
            context.logger.notice("no caption lines in \(file): the picture has none drawn")
        }
        let target = try context.runFolder.resolveForWriting(output)
        try Folders.create((target as NSString).deletingLastPathComponent)
        let result: ReframeResult
        do {
            result = try await MediaWork.run { isCancelled in
                try Reframe.run(ReframeRequest(input: input, output: target, fit: fit, focus: focus, maximumHeight: Int(height), quality: Int(quality),
                                               captions: captions),
                                isCancelled: isCancelled)
            }
        } catch {
            throw MediaWork.stepError(error)
        }
        return StepResult(outputs: [
            "path": .string(output),
            "width": .int(result.width),
            "height": .int(result.height),
            "duration": .double(result.duration),
            "frames": .int(result.frames),
            "encoder": .string(result.encoder),
            "bytes": .int(result.bytes),
            "streams": MediaWork.streams(result.streams),
        ], files: [output])
    }
}
