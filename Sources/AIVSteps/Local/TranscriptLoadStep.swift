import AIVCore

/// `transcript.load`: reads a SubRip, WebVTT or JSON transcript into timed segments, and cuts
/// them into overlapping time windows so a long stream can be analysed in pieces.
///
/// ```yaml
/// - id: transcript
///   uses: transcript.load
///   with:
///     path: ${{ inputs.transcript }}
///     window: 10m
///     overlap: 30s
/// ```
public struct TranscriptLoadStep: Step {
    public init() {}

    static let segment = Schema.object([
        Property("index", .integer, required: true, "Position in the transcript, from 0."),
        Property("start", .number, required: true, "Start, in seconds from the beginning of the recording."),
        Property("end", .number, required: true, "End, in seconds."),
        Property("speaker", .anyOf([.string, .null]), "Speaker name when the format carries one."),
        Property("text", .string, required: true, "What was said."),
    ])

    static let chunk = Schema.object([
        Property("index", .integer, required: true, "Position of the window, from 0."),
        Property("start", .number, required: true, "Start of the first segment in the window, in seconds."),
        Property("end", .number, required: true, "End of the last segment in the window, in seconds."),
        Property("text", .string, required: true, "The window's lines, each prefixed with its [H:MM:SS] time."),
        Property("segments", .array(segment), required: true, "The window's segments."),
    ])

    public static let kind = StepKindDescription(
        name: "transcript.load",
        summary: "Read an SRT, WebVTT or JSON transcript into timed segments and overlapping windows.",
        discussion: """
            JSON transcripts are a list of {start, end, text, speaker?} objects (seconds). Windows start every \
            `window` minus `overlap` seconds, so a line near a boundary is seen whole by at least one window.
            """,
        arguments: [
            Property("path", .string, required: true, role: .inputFile, "The transcript file."),
            Property("format", .oneOfStrings(["auto", "srt", "vtt", "json"]), default: "auto", "File format; auto goes by extension and content."),
            Property("window", .anyOf([.number, .string]), default: "10m", role: .duration, "Length of each chunk."),
            Property("overlap", .anyOf([.number, .string]), default: "30s", role: .duration, "How much consecutive chunks share."),
        ],
        outputs: .object([
            Property("segments", .array(segment), required: true, "Every segment, in time order."),
            Property("chunks", .array(chunk), required: true, "The segments grouped into overlapping windows."),
            Property("duration", .number, required: true, "End of the last segment, in seconds."),
            Property("segment_count", .integer, required: true, "Number of segments."),
        ]),
        example: """
            - id: transcript
              uses: transcript.load
              with:
                path: ${{ inputs.transcript }}
                window: 10m
                overlap: 30s
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        throw StepError("TranscriptLoadStep is not implemented yet")
    }
}
