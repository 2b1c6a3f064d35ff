import AIVCore
import Foundation

/// `transcript.load`: reads a SubRip, WebVTT or JSON transcript into timed segments, and cuts
/// them into overlapping time windows so a long stream can be analysed in pieces. Instead of a
/// file it takes pieces transcribed separately (windows of audio heard by Gemini), each with its
/// times counted from its own beginning, and puts them on the recording's clock.
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
        Property("end", .number, required: true, "End of the window's segment that ends last, in seconds."),
        Property("text", .string, required: true, "The window's lines, each prefixed with its start as timestamp() writes it: [4:05], [1:02:03]."),
        Property("segments", .array(segment), required: true, "The window's segments."),
    ])

    public static let kind = StepKindDescription(
        name: "transcript.load",
        version: 2,  // 2: ruby readings left out, only known tags are markup, content decides the format, a cue's voices split, a window inside the next dropped
        summary: "Read an SRT, WebVTT or JSON transcript into timed segments and overlapping windows.",
        discussion: """
            Subtitle markup is removed (tags such as <i>, <c.yellow>, <font …>, WebVTT time tags, {\\an8}), and so are ruby \
            readings (<rt>かんじ</rt>): the text is the line as said; other text in angle brackets stays. \
            JSON transcripts are a list of {start, end, text, speaker?} objects (seconds; `duration` may replace `end`), \
            or an object with such a `segments` list. Windows start every `window` minus `overlap` seconds, so a line near a boundary is seen whole \
            by at least one window; a segment belongs to each window its start falls in, and windows that would add \
            nothing (empty, or only the previous window's overlap) are skipped, and so is a window whose lines are all in the next one. \
            Give `parts` instead of `path` for a transcript made in pieces: a list of segment lists ({start, end?, text, speaker?}, \
            seconds from the start of their piece), with `offsets`, where each piece starts in the recording; a missing `end` is the next segment's start \
            (or the segment's own start, for the last). A null `path` or `parts` counts as not given, so one step can take whichever a workflow's branches made.
            """,
        arguments: [
            Property("path", .anyOf([.string, .null]), role: .inputFile, "The transcript file (or give `parts`)."),
            Property("parts", .anyOf([.array(.array(.any)), .null]), "Pieces transcribed separately: a list of segment lists, times from each piece's start."),
            Property("offsets", .anyOf([.array(.number), .null]), "Where each of `parts` starts in the recording, in seconds (default 0 for every piece)."),
            Property("format", .oneOfStrings(["auto", "srt", "vtt", "json"]), default: "auto", "File format; auto goes by content (a WEBVTT header, a JSON bracket, a SubRip cue), else by extension."),
            Property("window", .anyOf([.number, .string]), default: "10m", role: .duration, "Length of each chunk."),
            Property("overlap", .anyOf([.number, .string]), default: "30s", role: .duration, "How much consecutive chunks share."),
        ],
        outputs: .object([
            Property("segments", .array(segment), required: true, "Every segment, in time order."),
            Property("chunks", .array(chunk), required: true, "The segments grouped into overlapping windows."),
            Property("duration", .number, required: true, "End of the segment that ends last, in seconds."),
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

    /// Largest transcript read: a ten-hour stream's subtitles are a few megabytes.
    static let sizeLimit = 64 << 20

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let path = try arguments.optionalString("path").flatMap { $0.isEmpty ? nil : $0 }
        let parts = arguments["parts"]?.arrayValue
        let window = try arguments.duration("window", default: 600)
        let overlap = try arguments.duration("overlap", default: 30)
        guard window > 0 else { throw StepError.argument("window", "must be longer than 0 seconds") }
        guard overlap < window else {
            throw StepError.argument("overlap", "(\(Durations.format(overlap))) must be shorter than 'window' (\(Durations.format(window)))")
        }

        let parsed: [TranscriptSegment]
        switch (path, parts) {
        case (let path?, nil):
            parsed = try Self.load(path, format: try arguments.optionalString("format") ?? "auto", context: context)
        case (nil, let parts?):
            parsed = try Self.assemble(parts, offsets: arguments["offsets"]?.arrayValue)
        case (.some, .some):
            throw StepError("give either 'path' (a transcript file) or 'parts' (pieces transcribed separately), not both")
        case (nil, nil):
            throw StepError("needs 'path' (a transcript file) or 'parts' (pieces transcribed separately); both are empty")
        }
        try Task.checkCancellation()
        return try Self.result(parsed, window: window, overlap: overlap)
    }

    /// Reads and parses a transcript file; a problem names the file and line.
    static func load(_ path: String, format: String, context: StepContext) throws -> [TranscriptSegment] {
        let text = try Self.read(path, resolved: context.inputPath(path))
        let chosen: TranscriptFormat
        if format == "auto" {
            // Content first, which a file's name can belie (a WebVTT download saved as .srt); the
            // extension for a file whose start says nothing clear, so its errors speak its format.
            chosen = TranscriptFormat(identifying: text) ?? TranscriptFormat(extensionOf: path) ?? .srt
        } else if let named = TranscriptFormat(rawValue: format) {
            chosen = named
        } else {
            throw StepError.argument("format", "must be auto, srt, vtt or json, not '\(format)'")
        }
        let parsed: [TranscriptSegment]
        do throws(TranscriptProblem) {
            switch chosen {
            case .srt: parsed = try SubRipParser.parse(text)
            case .vtt: parsed = try WebVTTParser.parse(text)
            case .json: parsed = try JSONTranscriptParser.parse(text)
            }
        } catch {
            if error == .cancelled { throw CancellationError() }
            throw StepError("\(path):\(error.line): \(error.message)")
        }
        return parsed
    }

    /// Segments of pieces transcribed separately, moved by their offsets onto the recording's
    /// clock; a problem names the piece and segment (`parts[2][5]`).
    static func assemble(_ parts: [JSONValue], offsets: [JSONValue]?) throws(StepError) -> [TranscriptSegment] {
        if let offsets, offsets.count != parts.count {
            throw StepError.argument("offsets", "has \(offsets.count) values for \(parts.count) parts; give one per part")
        }
        var segments: [TranscriptSegment] = []
        for (p, part) in parts.enumerated() {
            let given = offsets?[p] ?? 0
            guard let offset = given.numberValue, offset >= 0, offset.isFinite else {
                throw StepError.argument("offsets", "[\(p)] must be 0 or more seconds, not \(given.canonicalJSON)")
            }
            guard let list = part.arrayValue else { throw StepError.argument("parts", "[\(p)] must be a list of segments, got \(part.typeName)") }
            for (i, item) in list.enumerated() {
                let at = "parts[\(p)][\(i)]"
                func seconds(_ name: String) throws(StepError) -> Double? {
                    guard let value = item[name], value != .null else { return nil }
                    guard let number = value.numberValue, number.isFinite, number >= 0 else {
                        throw StepError("\(at).\(name) must be 0 or more seconds, got \(value.canonicalJSON)")
                    }
                    return number
                }
                guard let start = try seconds("start") else { throw StepError("\(at) has no 'start' (seconds)") }
                guard let text = item["text"]?.stringValue else { throw StepError("\(at) has no 'text'") }
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !trimmed.isEmpty else { continue }
                let next = i + 1 < list.count ? list[i + 1]["start"]?.numberValue : nil
                let end = try seconds("end") ?? max(start, next ?? start)
                guard end >= start else { throw StepError("\(at) ends (\(end)) before it starts (\(start))") }
                let speaker = item["speaker"]?.stringValue.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
                segments.append(TranscriptSegment(start: offset + start, end: offset + end, speaker: speaker, text: trimmed))
            }
        }
        return segments
    }

    /// Numbered segments in time order, and their windows.
    static func result(_ parsed: [TranscriptSegment], window: Double, overlap: Double) throws -> StepResult {
        // Stable: segments that start together keep their order in the file.
        let sorted = parsed.enumerated().sorted { ($0.element.start, $0.offset) < ($1.element.start, $1.offset) }.map(\.element)
        let segments: [JSONValue] = sorted.enumerated().map { index, segment in
            [
                "index": .int(index),
                "start": .double(segment.start),
                "end": .double(segment.end),
                "speaker": segment.speaker.map(JSONValue.string) ?? .null,
                "text": .string(segment.text),
            ]
        }
        let lines = try sorted.map { "[\(try Self.timestamp($0.start))] \($0.text)" }
        let ranges = try TranscriptWindows(window: window, overlap: overlap).ranges(starts: sorted.map(\.start))
        var chunks: [JSONValue] = []
        chunks.reserveCapacity(ranges.count)
        for (index, range) in ranges.enumerated() {
            try Task.checkCancellation()
            chunks.append([
                "index": .int(index),
                "start": .double(sorted[range.lowerBound].start),
                "end": .double(sorted[range].map(\.end).max()!),
                "text": .string(lines[range].joined(separator: "\n")),
                "segments": .array(Array(segments[range])),
            ])
        }
        return StepResult(outputs: [
            "segments": .array(segments),
            "chunks": .array(chunks),
            "duration": .double(sorted.map(\.end).max() ?? 0),
            "segment_count": .int(segments.count),
        ])
    }

    /// The transcript's text; a missing, unreadable or non-UTF-8 file is an error naming it.
    static func read(_ path: String, resolved: String) throws(StepError) -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder) else {
            throw StepError("transcript file not found: '\(path)' (looked for \(resolved))")
        }
        guard !isFolder.boolValue else { throw StepError("transcript '\(path)' is a folder, not a file") }
        do {
            return try SourceFile.read(resolved, sizeLimit: sizeLimit).text
        } catch {
            throw StepError("\(path):\(error.location?.line ?? 1): \(error.message)")
        }
    }

    /// A time as the expression function `timestamp` writes it (`4:05`, `1:02:03`), from the
    /// same code, so prompts and chunk text agree. Seconds are rounded down, as `floor` does.
    static func timestamp(_ seconds: Double) throws(StepError) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < Double(Int.max) else { throw StepError("cannot write \(seconds) seconds as a time") }
        return ExpressionFunctions.timestamp(seconds: Int(seconds.rounded(.down)))
    }
}
