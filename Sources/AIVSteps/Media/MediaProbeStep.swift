import AIVCore
import AIVMedia
import Foundation

/// `media.probe`: what a recording holds, read from its header and first seconds (never the whole file).
public struct MediaProbeStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "media.probe",
        summary: "Read a recording's container, duration, streams, keyframe interval and subtitle tracks.",
        discussion: """
            Reads the header and the first keyframes (at most 12, or two minutes of media), never the whole file, \
            so it takes milliseconds even for a three-hour recording. The keyframe interval is what a stream-copy \
            cut's start can be off by (see clip.cut).
            """,
        arguments: [
            Property("input", .string, required: true, role: .inputFile, "The recording, relative to the workflow."),
        ],
        outputs: .object([
            Property("container", .string, required: true, "FFmpeg's name for the container (mov,mp4,m4a,3gp,3g2,mj2; matroska,webm; …)."),
            Property("duration", .anyOf([.number, .null]), required: true, "Seconds."),
            Property("bytes", .integer, required: true, "File size."),
            Property("bit_rate", .anyOf([.integer, .null]), required: true, "Bits per second overall."),
            Property("streams", MediaWork.streamSchema, required: true, "Every stream."),
            Property("keyframe_interval", .anyOf([.number, .null]), required: true, "Mean seconds between video keyframes."),
            Property("subtitle_tracks", .array(.object([
                Property("index", .integer, required: true, "Stream index, for subtitles.extract."),
                Property("codec", .string, required: true, "subrip, mov_text, webvtt, ass, …"),
                Property("language", .anyOf([.string, .null]), required: true, "ISO 639 code, when tagged."),
            ])), required: true, "The subtitle streams."),
        ]),
        example: """
            - id: recording
              uses: media.probe
              with:
                input: ${{ inputs.recording }}
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let path = context.inputPath(try arguments.string("input"))
        let info: MediaInfo
        do {
            info = try await MediaWork.run { _ in try MediaProbe.probe(path) }
        } catch {
            throw MediaWork.stepError(error)
        }
        // A transcript given where the recording belongs reads as a container of subtitles: said
        // here, not as a moment with no duration two steps later.
        guard info.streams.contains(where: { $0.kind == "audio" || $0.kind == "video" }) else {
            let kinds = Set(info.streams.map(\.kind)).sorted()
            throw StepError.argument("input", "names '\(try arguments.string("input"))', which is not a recording: it is \(info.container) with no audio or video stream"
                                     + (kinds.isEmpty ? "" : " (only \(kinds.joined(separator: ", ")))"))
        }
        let subtitles = info.streams.filter { $0.kind == "subtitle" }
        return StepResult(outputs: [
            "container": .string(info.container),
            "duration": info.duration.map { .double(($0 * 1000).rounded() / 1000) } ?? .null,
            "bytes": .int(info.bytes),
            "bit_rate": info.bitRate.map { .int($0) } ?? .null,
            "streams": MediaWork.streams(info.streams),
            "keyframe_interval": info.keyframeInterval.map { .double($0) } ?? .null,
            "subtitle_tracks": .array(subtitles.map { ["index": .int($0.index), "codec": .string($0.codec), "language": $0.language.map { .string($0) } ?? .null] }),
        ])
    }
}
