import AIVCore
import AIVMedia
import Foundation

/// `subtitles.extract`: a recording's own subtitle track written as SRT or WebVTT, which
/// transcript.load reads.
public struct SubtitlesExtractStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "subtitles.extract",
        summary: "Write a recording's text subtitle track (mkv or mp4) as an SRT or WebVTT file.",
        discussion: """
            Takes the subtitle stream given by `stream` (its index, see media.probe), else the first in `language`, \
            else the first one. Text subtitles only (SubRip, mov_text, WebVTT, ASS); styling is dropped. The format \
            follows the output's extension (.srt or .vtt).
            """,
        arguments: [
            Property("input", .string, required: true, role: .inputFile, "The recording, relative to the workflow."),
            Property("output", .string, required: true, role: .outputPath, "The .srt or .vtt file in the run folder."),
            Property("stream", .integer, "The subtitle stream's index."),
            Property("language", .string, "The track's language (ISO 639, e.g. jpn, eng)."),
        ],
        outputs: .object([
            Property("path", .string, required: true, "The subtitle file, relative to the run folder."),
            Property("cues", .integer, required: true, "Number of cues."),
            Property("stream", .integer, required: true, "The stream taken."),
            Property("language", .anyOf([.string, .null]), required: true, "Its language, when tagged."),
        ]),
        example: """
            - id: captions
              uses: subtitles.extract
              with:
                input: ${{ inputs.recording }}
                language: jpn
                output: captions.srt
            """,
        checkLiterals: { arguments in
            guard let format = arguments.pathExtension(of: "output"), !formats.contains(format) else { return [] }
            return [LiteralProblem("output", formatMessage(format))]
        })

    /// The output formats, by extension.
    static let formats: Set = ["srt", "vtt"]

    static func formatMessage(_ format: String) -> String {
        format.isEmpty ? "must end in .srt or .vtt (it has no extension)"
            : "must end in .srt or .vtt, not '.\(format)'\(Suggestions.didYouMean(format, in: formats.sorted()))"
    }

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let input = context.inputPath(try arguments.string("input"))
        let output = try arguments.string("output")
        let format = (output as NSString).pathExtension.lowercased()
        guard Self.formats.contains(format) else { throw StepError.argument("output", Self.formatMessage(format)) }
        let stream = try arguments.optionalInt("stream")
        let language = try arguments.optionalString("language")
        let (info, cues): (MediaStream, [SubtitleCue])
        do {
            (info, cues) = try await MediaWork.run { _ in try SubtitleExtractor.cues(of: input, stream: stream, language: language) }
        } catch {
            throw MediaWork.stepError(error)
        }
        let written = try context.runFolder.write(Data(SubtitleExtractor.render(cues, format: format).utf8), to: output)
        return StepResult(outputs: [
            "path": .string(written), "cues": .int(cues.count), "stream": .int(info.index),
            "language": info.language.map { .string($0) } ?? .null,
        ], files: [written])
    }
}
