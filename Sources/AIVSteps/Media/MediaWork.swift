import AIVCore
import AIVMedia
import Foundation

/// Runs blocking media work (libavformat reads and writes) on a thread of its own, not on one of
/// Swift concurrency's few threads, and tells it when the step is cancelled (a timeout), so a
/// long cut stops within a few hundred packets.
enum MediaWork {
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var raised = false
        func raise() { lock.withLock { raised = true } }
        var isRaised: Bool { lock.withLock { raised } }
    }

    static func run<T: Sendable>(_ body: @escaping @Sendable (_ isCancelled: @escaping () -> Bool) throws -> T) async throws -> T {
        let cancelled = Flag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue(label: "aiv.media").async {
                    continuation.resume(with: Result { try body { cancelled.isRaised } })
                }
            }
        } onCancel: {
            cancelled.raise()
        }
    }

    /// A media error as a step error: not transient (the same file fails the same way).
    static func stepError(_ error: any Error) -> StepError {
        StepError((error as? MediaError)?.message ?? "\(error)")
    }

    /// Seconds from a number or an `HH:MM:SS.mmm` string.
    static func time(_ arguments: StepArguments, _ name: String) throws(StepError) -> Double? {
        guard let value = arguments[name] else { return nil }
        if let number = value.numberValue, MediaTime.isValid(number) { return number }
        if let text = value.stringValue, let seconds = MediaTime.parse(text) { return seconds }
        throw StepError.argument(name, "must be seconds (0 to \(Int(MediaTime.latest))) or HH:MM:SS.mmm, not '\(value.interpolationText)'")
    }

    static func streams(_ streams: [MediaStream]) -> JSONValue {
        .array(streams.map { stream in
            var members: [String: JSONValue] = ["index": .int(stream.index), "kind": .string(stream.kind), "codec": .string(stream.codec)]
            if let value = stream.width { members["width"] = .int(value) }
            if let value = stream.height { members["height"] = .int(value) }
            if let value = stream.frameRate { members["frame_rate"] = .double(value) }
            if let value = stream.sampleRate { members["sample_rate"] = .int(value) }
            if let value = stream.channels { members["channels"] = .int(value) }
            if let value = stream.language { members["language"] = .string(value) }
            if let value = stream.rotation { members["rotation"] = .double(value) }
            if let value = stream.title { members["title"] = .string(value) }
            return .object(members)
        })
    }

    static let streamSchema: Schema = .array(.object([
        Property("index", .integer, required: true, "The stream's index in the file."),
        Property("kind", .string, required: true, "video, audio, subtitle, data or attachment."),
        Property("codec", .string, required: true, "h264, aac, subrip, mov_text, …"),
        Property("width", .integer, "Pixels (video)."),
        Property("height", .integer, "Pixels (video)."),
        Property("frame_rate", .number, "Frames per second (video)."),
        Property("sample_rate", .integer, "Hz (audio)."),
        Property("channels", .integer, "Audio channels."),
        Property("language", .string, "ISO 639 code, when tagged."),
        Property("rotation", .number, "Degrees the picture is shown rotated (video)."),
        Property("title", .string, "The stream's title, when tagged."),
    ]))
}
