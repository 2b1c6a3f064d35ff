import AIVCore
import AIVMedia
import Foundation

/// `subtitles.write`: the lines of a stretch of a transcript as a caption file for a clip cut
/// from that stretch (a Short's captions, to upload with it).
public struct SubtitlesWriteStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "subtitles.write",
        version: 2,  // 2: WebVTT text escaped, a tenth of a second counted in milliseconds
        summary: "Write the transcript segments of a stretch (a clip's) as an SRT or WebVTT file, timed from the stretch's start.",
        discussion: """
            Takes segments (transcript.load's, or any list of mappings with start, end and text in seconds) and keeps \
            those that overlap `start` to `end` (or `start` plus `length`; without either, to the last segment), each \
            cut to the stretch and moved so the stretch starts at 0:00: the captions of a clip cut from there \
            (clip.cut's `actual_start` and `duration`), for YouTube Studio or a player to load beside it. The format \
            follows the output's extension (.srt or .vtt). Lines shorter than a tenth of a second after cutting \
            are left out. The file is written under a temporary name and renamed.
            """,
        arguments: [
            Property("segments", .array(.any), required: true, "Segments, each with start and end (seconds) and text."),
            Property("start", .anyOf([.number, .string]), default: 0, "Where the stretch starts in the recording: seconds or HH:MM:SS.mmm."),
            Property("end", .anyOf([.number, .string]), "Where it ends (default: start + length, else the last segment's end)."),
            Property("length", .anyOf([.number, .string]), "How long it is, in seconds or as a duration (\"30s\"), instead of end."),
            Property("output", .string, required: true, role: .outputPath, "The caption file in the run folder: .srt or .vtt."),
        ],
        outputs: .object([
            Property("path", .string, required: true, "The caption file, relative to the run folder."),
            Property("cues", .integer, required: true, "How many lines it has."),
            Property("text", .string, required: true, "The cues' text, joined by newlines (for a post or a description)."),
        ]),
        example: """
            - id: short_captions
              uses: subtitles.write
              for_each: ${{ steps.clips.outputs }}
              with:
                segments: ${{ steps.transcript.outputs.segments }}
                start: ${{ item.actual_start }}
                length: ${{ item.duration }}
                output: ${{ format('shorts/short-{0}.srt', index) }}
            """,
        checkLiterals: checkLiterals)

    static let formats = ["srt", "vtt"]
    static let endAndLength = "cannot be given with end: the stretch has one end"

    static func formatProblem(_ ext: String) -> String? {
        formats.contains(ext) ? nil : "names a '.\(ext)' file; captions are written as .srt or .vtt"
    }

    @Sendable static func checkLiterals(_ arguments: WrittenArguments) -> [LiteralProblem] {
        var problems: [LiteralProblem] = []
        if let ext = arguments.pathExtension(of: "output"), let problem = formatProblem(ext) {
            problems.append(LiteralProblem("output", problem + Suggestions.didYouMean(ext, in: formats)))
        }
        if arguments["end"] != nil, arguments["length"] != nil {
            problems.append(LiteralProblem("length", endAndLength))
        }
        return problems
    }

    /// A segment's text as one cue can hold it: no blank line (which would end the cue, and let
    /// the text after it pass for another cue or a WebVTT note) and no "-->" (a timing line's arrow).
    static func cueText(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "\n").replacingOccurrences(of: "-->", with: "→")
    }

    /// In WebVTT, `&` and `<` start an entity or a tag (so "Tom & Jerry <3" would lose "<3"):
    /// they and `>` are written as entities.
    static func escapedForWebVTT(_ line: String) -> String {
        line.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func shown(_ number: Double) -> String { number.isFinite ? MediaTime.format(number) : "\(number)" }

    /// The shortest line kept once cut to the stretch: a sliver at either edge is noise.
    static let shortestLine = 0.1

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let output = try arguments.string("output")
        let format = (output as NSString).pathExtension.lowercased()
        if let problem = Self.formatProblem(format) { throw StepError.argument("output", problem) }
        let start = try MediaWork.time(arguments, "start") ?? 0
        if arguments["end"] != nil, arguments["length"] != nil {
            throw StepError.argument("length", Self.endAndLength)
        }
        var end = try MediaWork.time(arguments, "end")
        if let length = try ClipCutStep.length(arguments, "length") { end = start + length }
        if let end, end <= start {
            throw StepError.argument("end", "must come after start (\(MediaTime.format(start))), not \(MediaTime.format(end))")
        }
        var cues: [SubtitleCue] = []
        for (index, segment) in try arguments.list("segments").enumerated() {
            guard let from = segment["start"]?.numberValue, let to = segment["end"]?.numberValue, let text = segment["text"]?.stringValue else {
                throw StepError("segment \(index) needs start and end (seconds) and text, not \(segment.canonicalJSON.prefix(120))")
            }
            guard MediaTime.isValid(from), MediaTime.isValid(to) else {
                throw StepError("segment \(index): start and end must be seconds from 0 to \(Int(MediaTime.latest)), not \(Self.shown(from)) and \(Self.shown(to))")
            }
            let line = Self.cueText(text)
            let cueStart = max(from, start), cueEnd = min(to, end ?? to)
            // In whole milliseconds, as the file writes them: 12 to 12.1 s is a tenth of a second,
            // though 12.1 - 12 is a hair under 0.1 in binary.
            guard !line.isEmpty, ((cueEnd - cueStart) * 1000).rounded() >= Self.shortestLine * 1000 else { continue }
            cues.append(SubtitleCue(start: cueStart - start, end: cueEnd - start, text: line))
        }
        cues.sort { $0.start < $1.start }
        let inFile = format == "vtt" ? cues.map { SubtitleCue(start: $0.start, end: $0.end, text: Self.escapedForWebVTT($0.text)) } : cues
        let written = try context.runFolder.write(Data(SubtitleExtractor.render(inFile, format: format).utf8), to: output)
        return StepResult(outputs: [
            "path": .string(written),
            "cues": .int(cues.count),
            "text": .string(cues.map(\.text).joined(separator: "\n")),
        ], files: [written])
    }
}
