import Foundation

/// Runs a command-line tool (ffmpeg, ffprobe) to the end and returns its status and output. The
/// wait happens on a thread of its own (`childProcess`), never on one of Swift concurrency's.
public enum Tool {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    final class Box: @unchecked Sendable { var data = Data() }

    public static func run(_ arguments: [String]) async throws -> Result {
        try await childProcess { try runBlocking(arguments) }
    }

    static func runBlocking(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = Box(), stderr = Box()
        let group = DispatchGroup()
        DispatchQueue(label: "aiv-tests.tool.out").async(group: group) { stdout.data = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue(label: "aiv-tests.tool.err").async(group: group) { stderr.data = err.fileHandleForReading.readDataToEndOfFile() }
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout.data, as: UTF8.self),
                      stderr: String(decoding: stderr.data, as: UTF8.self))
    }
}

/// Small recordings made once per test process with the ffmpeg CLI: 10 seconds of 320x240
/// H.264 at 25 fps with a keyframe every 2 s exactly, AAC audio, and a text subtitle track.
public actor MediaSamples {
    public static let shared = MediaSamples()

    public let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("aiv-media-\(UUID().uuidString.prefix(8))")
    /// One making per sample: an actor lets a second caller in while the first awaits ffmpeg, and
    /// two ffmpeg processes writing one file had a test read it half-rewritten.
    private var making: [String: Task<String, any Error>] = [:]

    public static let cues = [(1.0, 2.5, "こんにちは、配信へようこそ"), (4.0, 6.0, "草生える"), (7.5, 9.0, "Thanks for watching")]

    /// `mp4` (mov_text subtitles, rotated 90°), `mkv` (SubRip subtitles in Japanese), `ts`, `vp9.webm`,
    /// `growing.mkv` (no duration or index, cut off halfway), `audio-only.m4a`, `opus.mka`,
    /// `late.mkv` (times from 1000 s).
    public func path(_ name: String) async throws -> String {
        if let task = making[name] { return try await task.value }
        let task = Task { try await make(name) }
        making[name] = task
        return try await task.value
    }

    private func make(_ name: String) async throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let srt = folder + "/cues.srt"
        let text = Self.cues.enumerated().map { index, cue in
            "\(index + 1)\n\(Self.stamp(cue.0)) --> \(Self.stamp(cue.1))\n\(cue.2)\n"
        }.joined(separator: "\n")
        try text.write(toFile: srt, atomically: true, encoding: .utf8)
        let output = folder + "/" + (name.contains(".") ? name : "sample.\(name)")
        let video = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
        let encode = ["-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
                      "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k"]
        var arguments: [String]
        switch name {
        case "mp4":
            // Encoded, then remuxed with a rotation (FFmpeg 5.1 writes the display matrix when copying).
            let encoded = folder + "/encoded.mp4"
            let first = try await Tool.run(["ffmpeg", "-v", "error", "-y"] + video + ["-i", srt, "-map", "0:v", "-map", "1:a", "-map", "2:s"]
                                           + encode + ["-c:s", "mov_text", "-metadata:s:a:0", "language=jpn", encoded])
            guard first.status == 0 else { throw SampleError(message: "ffmpeg failed: \(first.stderr)") }
            arguments = ["ffmpeg", "-v", "error", "-y", "-i", encoded, "-map", "0", "-c", "copy", "-metadata:s:v:0", "rotate=90", output]
        case "mkv":
            arguments = ["ffmpeg", "-v", "error", "-y"] + video + ["-i", srt, "-map", "0:v", "-map", "1:a", "-map", "2:s"] + encode
                + ["-c:s", "srt", "-metadata:s:s:0", "language=jpn", output]
        case "ts":
            // A transport stream, sought by bisecting its bytes: a keyframe every 2 s.
            arguments = ["ffmpeg", "-v", "error", "-y"] + video + ["-map", "0:v", "-map", "1:a"] + encode + [output]
        case "vp9.webm":
            arguments = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-t", "4",
                         "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "50", output]
        case "growing.mkv":
            // What a recording still being written looks like: no duration, no index, and its
            // data stopping halfway (the first 5 of its 10 s, give or take).
            let whole = folder + "/live.mkv"
            let live = try await Tool.run(["ffmpeg", "-v", "error", "-y"] + video + ["-map", "0:v", "-map", "1:a"] + encode
                                          + ["-live", "1", whole])
            guard live.status == 0 else { throw SampleError(message: "ffmpeg failed: \(live.stderr)") }
            let data = try Data(contentsOf: URL(fileURLWithPath: whole))
            try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: output))
            return output
        case "late.mkv":
            // Times that start at 1000 s, as a recording split off a longer one has them.
            arguments = ["ffmpeg", "-v", "error", "-y"] + video + ["-map", "0:v", "-map", "1:a"] + encode + ["-output_ts_offset", "1000", output]
        case "opus.mka":
            arguments = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "6", "-c:a", "libopus", output]
        case "audio-only.m4a":
            arguments = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "10", "-c:a", "aac", output]
        default:
            throw CocoaError(.fileNoSuchFile)
        }
        let result = try await Tool.run(arguments)
        guard result.status == 0 else { throw SampleError(message: "ffmpeg failed: \(result.stderr)") }
        return output
    }

    static func stamp(_ seconds: Double) -> String {
        let millis = Int(seconds * 1000)
        return String(format: "00:%02d:%02d,%03d", millis / 60_000, millis / 1000 % 60, millis % 1000)
    }

    public struct SampleError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
