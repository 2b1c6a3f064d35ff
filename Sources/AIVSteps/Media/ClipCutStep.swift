import AIVCore
import AIVMedia
import Foundation

/// `clip.cut`: a stretch of a recording copied into its own file, without re-encoding.
public struct ClipCutStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "clip.cut",
        // 2: the `adjustment` output (with min_length and max_length); results cached without it are not reused.
        version: 2,
        summary: "Cut a clip from a recording by stream copy (no re-encoding) into the run folder.",
        discussion: """
            Copies video, audio and subtitle packets from the keyframe at or before `start` up to `end`, with \
            timestamps shifted so the clip starts at zero, stream metadata and rotation kept. Stream copy cannot \
            start between keyframes: the clip begins at the keyframe before `start` (at most one keyframe interval \
            early, see media.probe), and `actual_start` says where. The container follows the output's extension \
            (mp4, mov, mkv, ts; m4a, mka, aac for audio); mp4 and mov get their index at the front (faststart), \
            so a browser can play them at once. A subtitle codec the container cannot hold is left out and listed \
            in `dropped`. `min_length` and `max_length` bound the clip (for Shorts, say): a shorter span ends later, \
            and starts earlier when the recording ends first; a longer one ends `max_length` after the keyframe it \
            starts on; `adjustment` says what changed. The file is written under a temporary name and renamed when \
            complete. Under for_each, clips are cut in parallel, up to --max-parallel.
            """,
        arguments: [
            Property("input", .string, required: true, role: .inputFile, "The recording, relative to the workflow."),
            Property("start", .anyOf([.number, .string]), required: true, "Seconds, or HH:MM:SS.mmm."),
            Property("end", .anyOf([.number, .string]), "Seconds, or HH:MM:SS.mmm (default: the end of the recording)."),
            Property("output", .string, required: true, role: .outputPath, "The clip's path in the run folder; its extension picks the container."),
            Property("audio_only", .boolean, default: false, "Copy only the audio streams (for example to send a stretch to Gemini)."),
            Property("min_length", .anyOf([.number, .string]), "The shortest clip, in seconds or as a duration (\"15s\"); a shorter span is lengthened."),
            Property("max_length", .anyOf([.number, .string]), "The longest clip, in seconds or as a duration (\"1m\"); a longer span is shortened."),
        ],
        outputs: .object([
            Property("path", .string, required: true, "The clip, relative to the run folder."),
            Property("requested_start", .number, required: true, "Seconds."),
            Property("actual_start", .number, required: true, "Seconds: the keyframe the clip starts on."),
            Property("duration", .number, required: true, "Seconds."),
            Property("bytes", .integer, required: true, "File size."),
            Property("streams", MediaWork.streamSchema, required: true, "The clip's streams."),
            Property("dropped", .array(.string), required: true, "Input streams the container could not hold."),
            Property("adjustment", .anyOf([.string, .null]), required: true, "How min_length or max_length changed the span asked for, or null."),
        ]),
        example: """
            - id: shorts
              uses: clip.cut
              for_each: ${{ steps.moments.outputs.result.clips }}
              with:
                input: ${{ inputs.recording }}
                start: ${{ item.start }}
                end: ${{ item.end }}
                output: ${{ format('clips/clip-{0}.mp4', index) }}
                min_length: 15s
                max_length: 60s
            """,
        checkLiterals: checkLiterals)

    /// Times and the container, when the workflow writes them out: a clip that cannot be cut is
    /// reported by `aiv validate`, not after the analysis that comes before it has run and been paid for.
    @Sendable static func checkLiterals(_ arguments: WrittenArguments) -> [LiteralProblem] {
        var problems: [LiteralProblem] = []
        func time(_ name: String) -> Double? {
            // Neither a number nor a string: the argument's schema says so already.
            guard let value = arguments[name], value.numberValue != nil || value.stringValue != nil else { return nil }
            if let seconds = value.numberValue, MediaTime.isValid(seconds) { return seconds }
            if let text = value.stringValue, let seconds = MediaTime.parse(text) { return seconds }
            problems.append(LiteralProblem(name, "must be seconds (0 to \(Int(MediaTime.latest))) or HH:MM:SS.mmm, not \(value.canonicalJSON)"))
            return nil
        }
        if let start = time("start"), let end = time("end"), end <= start {
            problems.append(LiteralProblem("end", "must come after start (\(MediaTime.format(start))), not \(MediaTime.format(end))"))
        }
        func length(_ name: String) -> Double? {
            guard let value = arguments[name], value.numberValue != nil || value.stringValue != nil else { return nil }
            do throws(StepError) {
                return try Self.length(value)
            } catch {
                problems.append(LiteralProblem(name, error.message))
                return nil
            }
        }
        let (minimum, maximum) = (length("min_length"), length("max_length"))
        if let minimum, let maximum, minimum > maximum {
            problems.append(LiteralProblem("max_length", "must not be shorter than min_length (\(MediaTime.format(minimum))), not \(MediaTime.format(maximum))"))
        }
        if let ext = arguments.pathExtension(of: "output") {
            if StreamCopy.containers[ext] == nil {
                let known = StreamCopy.containers.keys.sorted()
                problems.append(LiteralProblem("output", "names a '.\(ext)' file; aiv writes \(known.joined(separator: ", "))\(Suggestions.didYouMean(ext, in: known))"))
            }
        }
        return problems
    }

    static let audioContainers: Set = ["m4a", "mka", "aac"]

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let input = context.inputPath(try arguments.string("input"))
        let output = try arguments.string("output")
        guard let start = try MediaWork.time(arguments, "start") else { throw StepError.argument("start", "is missing") }
        let end = try MediaWork.time(arguments, "end")
        let minimum = try Self.length(arguments, "min_length")
        let maximum = try Self.length(arguments, "max_length")
        // An audio container (m4a, mka, aac) gets the audio streams whatever `audio_only` says:
        // with the video, an .aac cannot be written at all and an .m4a is an mp4 by another name.
        let audioOnly = try arguments.bool("audio_only", default: false)
            || Self.audioContainers.contains((output as NSString).pathExtension.lowercased())
        let target = try context.runFolder.resolveForWriting(output)
        try Folders.create((target as NSString).deletingLastPathComponent)
        let result: CutResult
        do {
            result = try await MediaWork.run { isCancelled in
                try StreamCopy.cut(CutRequest(input: input, output: target, start: start, end: end, streams: audioOnly ? .audioOnly : .all,
                                              minimumLength: minimum, maximumLength: maximum),
                                   isCancelled: isCancelled)
            }
        } catch {
            throw MediaWork.stepError(error)
        }
        for note in result.dropped { context.logger.notice("left out \(note)") }
        if let adjustment = result.adjustment { context.logger.notice("\(adjustment)") }
        return StepResult(outputs: [
            "path": .string(output),
            "requested_start": .double(start),
            "actual_start": .double(result.actualStart),
            "duration": .double(result.duration),
            "bytes": .int(result.bytes),
            "streams": MediaWork.streams(result.streams),
            "dropped": .array(result.dropped.map { .string($0) }),
            "adjustment": result.adjustment.map(JSONValue.string) ?? .null,
        ], files: [output])
    }

    /// A length argument, when given: seconds or a duration, more than 0.
    static func length(_ arguments: StepArguments, _ name: String) throws(StepError) -> Double? {
        guard let value = arguments[name] else { return nil }
        do throws(StepError) {
            return try length(value)
        } catch {
            throw StepError.argument(name, error.message)
        }
    }

    /// Seconds of a length, written out or computed; the error says what is wrong, for either
    /// `aiv validate` or the run to name the argument.
    static func length(_ value: JSONValue) throws(StepError) -> Double {
        guard let seconds = Durations.seconds(value), seconds > 0 else {
            throw StepError("must be a length of more than 0 seconds (15, \"15s\", \"1m\"), not \(shown(value))")
        }
        return seconds
    }

    /// A value as an error message shows it: JSON, but infinity and NaN (which JSON writes as
    /// null) as they are.
    static func shown(_ value: JSONValue) -> String {
        if case .double(let number) = value, !number.isFinite { return "\(number)" }
        return value.canonicalJSON
    }
}
