import CFFmpeg
import Foundation

/// What a recording holds: container, duration, streams, keyframe interval, subtitle tracks.
public struct MediaInfo: Sendable, Equatable, Codable {
    public var path: String
    public var container: String
    public var containerName: String
    public var duration: Double?
    public var bytes: Int
    public var bitRate: Int?
    public var streams: [MediaStream]
    /// Mean seconds between video keyframes over the first keyframes (nil without video).
    public var keyframeInterval: Double?
}

public enum MediaProbe {
    /// Keyframes sampled at most, and seconds of media read at most, to measure the interval:
    /// a probe reads the start of the file, never all of it.
    static let keyframeSample = 12
    static let sampleSeconds = 120.0

    public static func probe(_ path: String) throws(MediaError) -> MediaInfo {
        let input = try MediaInput(path: path)
        let context = input.formatContext
        let format = context.pointee.iformat.pointee
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
        return MediaInfo(
            path: path,
            container: String(cString: format.name),
            containerName: format.long_name.map { String(cString: $0) } ?? "",
            duration: input.length,
            bytes: bytes,
            bitRate: context.pointee.bit_rate > 0 ? Int(context.pointee.bit_rate) : nil,
            streams: input.streams.map(MediaStream.init),
            keyframeInterval: keyframeInterval(input))
    }

    /// Reads video packets from the start (not decoding them) until enough keyframes are seen.
    static func keyframeInterval(_ input: MediaInput) -> Double? {
        guard let video = input.bestVideoStream, let stream = input.formatContext.pointee.streams[Int(video)] else { return nil }
        let base = stream.pointee.time_base
        guard let packet = av_packet_alloc() else { return nil }
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&owned) }
        var keyframes: [Double] = []
        var first: Double?
        while keyframes.count < keyframeSample, av_read_frame(input.formatContext, packet) >= 0 {
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == video else { continue }
            let time = seconds(packet.pointee.pts, base) ?? seconds(packet.pointee.dts, base)
            if let time {
                if first == nil { first = time }
                if time - (first ?? time) > sampleSeconds { break }
                if packet.pointee.flags & AV_PKT_FLAG_KEY != 0 { keyframes.append(time) }
            }
        }
        guard keyframes.count >= 2 else { return nil }
        let sorted = keyframes.sorted()
        return ((sorted.last! - sorted.first!) / Double(sorted.count - 1) * 1000).rounded() / 1000
    }
}
