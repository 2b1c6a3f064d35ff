import CFFmpeg
import AIVText
import Foundation

/// An open media file (an `AVFormatContext` for reading), closed when released. Opening reads the
/// header and a few seconds of packets to learn the streams, never the whole file.
final class MediaInput {
    let path: String
    var context: UnsafeMutablePointer<AVFormatContext>?

    init(path: String) throws(MediaError) {
        try FFmpegLibrary.load()
        self.path = path
        var attributes: [FileAttributeKey: Any] = [:]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw MediaError("\(path): no such file")
        }
        if (attributes[.type] as? FileAttributeType) == .typeDirectory { throw MediaError("\(path) is a folder, not a media file") }
        var opened: UnsafeMutablePointer<AVFormatContext>?
        let status = avformat_open_input(&opened, path, nil, nil)
        if status < 0 {
            throw MediaError(status == aiv_averror_invaliddata()
                ? "\(path) is not a media file FFmpeg can read (\(MediaError.text(status)))"
                : "cannot open \(path): \(MediaError.text(status))")
        }
        context = opened
        let found = avformat_find_stream_info(opened, nil)
        if found < 0 {
            avformat_close_input(&context)
            throw MediaError("cannot read the streams of \(path): \(MediaError.text(found))")
        }
    }

    deinit { avformat_close_input(&context) }

    var formatContext: UnsafeMutablePointer<AVFormatContext> { context! }

    var streams: [UnsafeMutablePointer<AVStream>] {
        (0..<Int(formatContext.pointee.nb_streams)).compactMap { formatContext.pointee.streams[$0] }
    }

    /// Seconds, or nil when the container does not say.
    var duration: Double? {
        let value = formatContext.pointee.duration
        return value == aiv_nopts_value() || value <= 0 ? nil : Double(value) / Double(AV_TIME_BASE)
    }

    /// The container's first timestamp, in seconds: players show `pts - origin` as the time, and
    /// so do aiv's start, end and subtitle times (an AAC encoder's priming delay shifts it, say).
    var origin: Double {
        let value = formatContext.pointee.start_time
        return value == aiv_nopts_value() ? 0 : Double(value) / Double(AV_TIME_BASE)
    }

    /// Where the file says its media ends, on its own timeline (seconds), for telling a file cut
    /// short: the latest end its audio and video streams state, else its start plus its duration
    /// (Matroska: see below). (An mp4 whose times start late counts the lead-in in the container's
    /// duration too.)
    var statedEnd: Double? {
        let ends = streams.compactMap { stream -> Double? in
            let type = stream.pointee.codecpar.pointee.codec_type
            guard type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO, stream.pointee.duration > 0,
                  let start = seconds(stream.pointee.start_time, stream.pointee.time_base),
                  let length = seconds(stream.pointee.duration, stream.pointee.time_base) else { return nil }
            return start + length
        }
        if let end = ends.max() { return end }
        guard let duration else { return nil }
        // FFmpeg reads a Matroska segment's Duration as its last timestamp, lead-in included (a
        // recording whose times start at 1000 s and run 6 s says 1006): taken as the end unless it
        // comes before the first timestamp (a writer that stored the length). Taking it as the
        // end can only expect less than is there, never call a whole file truncated.
        if isMatroska, duration >= origin { return duration }
        return origin + duration
    }

    /// How long the recording plays, on the timeline players show (from its first timestamp):
    /// FFmpeg's own duration counts a lead-in (times that start at 1000 s) in some containers.
    var length: Double? {
        guard let end = statedEnd else { return duration }
        return max(0, end - origin)
    }

    var isMatroska: Bool {
        formatContext.pointee.iformat.map { String(cString: $0.pointee.name).hasPrefix("matroska") } ?? false
    }

    /// The error for a file whose packets ran out (at `readUpTo`, on its timeline) before the end
    /// it states, or before `end` when that comes first: it was cut short after its index, as a
    /// copy that did not finish is. Nil when it is whole, or when its length is only a guess from
    /// its bit rate (which may be off by seconds).
    /// `seekedTo`: where reading started (a cut's start); when nothing was read past it, the
    /// media stops somewhere before it, which is what is said (not "at 0:00").
    func cutShort(readUpTo: Double, expectedBy end: Double? = nil, seekedTo start: Double? = nil) -> MediaError? {
        guard duration != nil, formatContext.pointee.duration_estimation_method != AVFMT_DURATION_FROM_BITRATE,
              let stated = statedEnd, readUpTo + Self.shortfallTolerance < min(end ?? .infinity, stated) else { return nil }
        let stop = if let start, readUpTo <= start { "stops before \(MediaTime.format(max(0, start - origin)))" }
            else { "stops at \(MediaTime.format(max(0, readUpTo - origin)))" }
        return MediaError("\(path) is truncated: its media \(stop), before the \(MediaTime.format(stated - origin)) its header gives")
    }

    /// How far the last packet of a whole file may end before the end it states: a frame or an
    /// audio packet, with room for streams that end a little apart.
    static let shortfallTolerance = 1.0

    /// The main video stream (FFmpeg's pick), or nil for audio-only files.
    var bestVideoStream: Int32? {
        let index = av_find_best_stream(formatContext, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        return index >= 0 ? index : nil
    }
}

/// Where a media file is written before it is complete: hidden beside `output`, named
/// `.<name>.partial-<8 hex digits>.<ext>`, which a later run in the folder recognises as a
/// leftover of a killed one (`AtomicFile.isTemporaryName`) and removes.
func temporaryPath(for output: String, extension ext: String) -> String {
    let folder = (output as NSString).deletingLastPathComponent
    let suffix = ".partial-\(UUID().uuidString.prefix(8)).\(ext)"
    // Within the file system's limit on a name (a Short named after an 80-character Japanese title).
    let stem = FileNames.prefix(of: (output as NSString).lastPathComponent, bytes: FileNames.maximumBytes - 1 - suffix.utf8.count)
    return "\(folder)/.\(stem)\(suffix)"
}

/// Opens `path` for `output` (unless its muxer writes no file, which leaves `opened` false) and
/// writes the header; mp4 and mov get their index at the front (faststart), so a browser can
/// play them at once. `opened` is set as soon as there is a file to close.
func startWriting(_ output: UnsafeMutablePointer<AVFormatContext>, to path: String, muxer: String, opened: inout Bool) throws(MediaError) {
    if output.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
        try MediaError.check(avio_open(&output.pointee.pb, path, AVIO_FLAG_WRITE), "cannot write \(path)")
        opened = true
    }
    var options: OpaquePointer?
    if ["mp4", "mov", "ipod"].contains(muxer) { av_dict_set(&options, "movflags", "+faststart", 0) }
    let header = avformat_write_header(output, &options)
    av_dict_free(&options)
    try MediaError.check(header, "cannot start the \(fileKind(path)) file")
}

/// How messages name the kind of file being written: by its extension (".m4a"), which the user
/// chose, not by FFmpeg's muxer name ("ipod").
func fileKind(_ path: String) -> String {
    "." + (path as NSString).pathExtension.lowercased()
}

extension AVRational {
    var seconds: Double { den == 0 ? 0 : Double(num) / Double(den) }
}

func seconds(_ value: Int64, _ base: AVRational) -> Double? {
    value == aiv_nopts_value() ? nil : Double(value) * base.seconds
}

/// A stream's side of a probe or cut: what kind, which codec, and the numbers that matter.
public struct MediaStream: Sendable, Equatable, Codable {
    public var index: Int
    public var kind: String
    public var codec: String
    public var width: Int?
    public var height: Int?
    public var frameRate: Double?
    public var sampleRate: Int?
    public var channels: Int?
    public var language: String?
    /// Degrees, from the display matrix (phone recordings).
    public var rotation: Double?
    public var title: String?

    init(_ stream: UnsafeMutablePointer<AVStream>) {
        let parameters = stream.pointee.codecpar.pointee
        index = Int(stream.pointee.index)
        switch parameters.codec_type {
        case AVMEDIA_TYPE_VIDEO: kind = "video"
        case AVMEDIA_TYPE_AUDIO: kind = "audio"
        case AVMEDIA_TYPE_SUBTITLE: kind = "subtitle"
        case AVMEDIA_TYPE_DATA: kind = "data"
        case AVMEDIA_TYPE_ATTACHMENT: kind = "attachment"
        default: kind = "unknown"
        }
        codec = String(cString: avcodec_get_name(parameters.codec_id))
        if kind == "video" {
            width = Int(parameters.width)
            height = Int(parameters.height)
            let rate = stream.pointee.avg_frame_rate.den != 0 ? stream.pointee.avg_frame_rate : stream.pointee.r_frame_rate
            frameRate = rate.den == 0 ? nil : (rate.seconds * 1000).rounded() / 1000
            rotation = Self.rotation(stream)
        }
        if kind == "audio" {
            sampleRate = Int(parameters.sample_rate)
            channels = Int(parameters.ch_layout.nb_channels)
        }
        language = Self.metadata(stream.pointee.metadata, "language").flatMap { $0 == "und" ? nil : $0 }
        title = Self.metadata(stream.pointee.metadata, "title")
    }

    static func metadata(_ dictionary: OpaquePointer?, _ key: String) -> String? {
        guard let entry = av_dict_get(dictionary, key, nil, 0), let value = entry.pointee.value else { return nil }
        return String(cString: value)
    }

    static func rotation(_ stream: UnsafeMutablePointer<AVStream>) -> Double? {
        var size: Int = 0
        guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 else { return nil }
        let angle = data.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
        return angle.isNaN || angle == 0 ? nil : -angle
    }
}
