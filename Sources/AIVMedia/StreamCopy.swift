import CFFmpeg
import Foundation

/// A stream-copy cut: packets copied as they are (no decoding, no re-encoding) from the keyframe
/// at or before `start` to `end`, timestamps shifted so the output starts at zero.
///
/// Stream copy can only start on a keyframe: a start between keyframes begins at the keyframe
/// before it (up to one keyframe interval early), and that actual start is reported.
public struct CutRequest: Sendable {
    public enum Streams: Sendable { case all, audioOnly }

    public var input: String
    public var output: String
    public var start: Double
    public var end: Double?
    public var streams: Streams
    /// The shortest clip: a shorter span is lengthened, its end moved later, and when the
    /// recording ends first, its start earlier.
    public var minimumLength: Double?
    /// The longest clip, from the keyframe it starts on: a longer span ends earlier.
    public var maximumLength: Double?
    /// How much earlier than `maximumLength` the packets stop, for a clip whose frames shown
    /// after the last one decoded made it longer than that as players read it.
    var endTrim = 0.0

    public init(input: String, output: String, start: Double, end: Double?, streams: Streams = .all,
                minimumLength: Double? = nil, maximumLength: Double? = nil) {
        self.input = input
        self.output = output
        self.start = start
        self.end = end
        self.streams = streams
        self.minimumLength = minimumLength
        self.maximumLength = maximumLength
    }
}

public struct CutResult: Sendable, Equatable {
    public var path: String
    public var requestedStart: Double
    public var actualStart: Double
    public var duration: Double
    public var bytes: Int
    public var streams: [MediaStream]
    /// Input streams left out because the container cannot hold them (a subtitle codec, say).
    public var dropped: [String]
    /// How the span asked for was changed to fit `minimumLength` and `maximumLength`, if it was.
    public var adjustment: String?
}

public enum StreamCopy {
    /// The codecs a transport stream has a stream type for (FFmpeg's mpegts muxer): another, such
    /// as VP9, would be written as opaque data no player shows.
    static let transportStreamCodecs: Set = [
        "h264", "hevc", "mpeg1video", "mpeg2video", "mpeg4", "vc1", "mp2", "mp3", "aac", "aac_latm", "ac3", "eac3", "dts", "truehd", "opus",
    ]

    /// Where to seek so that reading starts at or before `startTime` (seconds on the input's
    /// timeline), and the last keyframe of `anchor` at or before it (nil without video). Seeks
    /// further back, doubling the step, while a seek lands after the start; reads on until the
    /// anchor's packets pass the start.
    static func seekPoint(_ context: UnsafeMutablePointer<AVFormatContext>, stream: Int?, base: AVRational, anchor: Int32?,
                          startTime: Double, path: String, shownStart: Double) throws(MediaError) -> (target: Int64, keyframe: Double?) {
        guard let packet = av_packet_alloc() else { throw MediaError("out of memory") }
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&owned) }
        var back = 0.0
        while true {
            let target = Int64((max(0, startTime - back) / base.seconds).rounded(.down))
            try MediaError.check(av_seek_frame(context, Int32(stream ?? -1), target, AVSEEK_FLAG_BACKWARD),
                                 "cannot seek to \(format(shownStart)) in \(path)")
            var first: Double?
            var keyframe: Double?
            var read = 0
            while read < 100_000 {
                guard av_read_frame(context, packet) >= 0 else { break }
                defer { av_packet_unref(packet) }
                read += 1
                let index = packet.pointee.stream_index
                guard anchor == nil || index == anchor else { continue }
                let inBase = context.pointee.streams[Int(index)]!.pointee.time_base
                guard let time = seconds(packet.pointee.pts, inBase) ?? seconds(packet.pointee.dts, inBase) else { continue }
                if anchor != nil, packet.pointee.flags & AV_PKT_FLAG_KEY == 0, keyframe == nil { continue }
                if first == nil { first = time }
                if time > startTime + 0.0005 { break }
                if anchor != nil, packet.pointee.flags & AV_PKT_FLAG_KEY != 0 { keyframe = time }
            }
            // Landed at or before the start (or at the file's beginning, or past its end: the cut
            // itself says so): this target will do.
            guard let landed = first, landed > startTime + 0.0005, target > 0 else { return (target, keyframe) }
            back = back == 0 ? max(1, landed - startTime) : back * 2
        }
    }

    /// Muxer names by output extension.
    public static let containers: [String: String] = ["mp4": "mp4", "m4v": "mp4", "mov": "mov", "mkv": "matroska", "ts": "mpegts",
                                                      "m4a": "ipod", "mka": "matroska", "aac": "adts"]

    public static func cut(_ request: CutRequest, isCancelled: () -> Bool = { false }) throws(MediaError) -> CutResult {
        let ext = (request.output as NSString).pathExtension.lowercased()
        guard let muxer = containers[ext] else {
            throw MediaError("output '\((request.output as NSString).lastPathComponent)': aiv writes \(containers.keys.sorted().joined(separator: ", ")) files, not '.\(ext)'")
        }
        guard request.start >= 0 else { throw MediaError("start \(request.start) is before the beginning") }
        if let end = request.end, end <= request.start {
            throw MediaError("end (\(format(end))) must come after start (\(format(request.start)))")
        }
        if let minimum = request.minimumLength, let maximum = request.maximumLength, minimum > maximum {
            throw MediaError("the shortest clip (\(format(minimum))) is longer than the longest (\(format(maximum)))")
        }
        let input = try MediaInput(path: request.input)
        if let duration = input.length, request.start >= duration {
            throw MediaError("start \(format(request.start)) is past the end of \(request.input) (\(format(duration)) long)")
        }
        let asked = request
        var request = request
        // The span asked for, within the recording (a model's moment may overshoot its end).
        let recordingEnd = input.length ?? .infinity
        let askedEnd = min(request.end ?? recordingEnd, recordingEnd)
        var lengthened = false
        if let minimum = request.minimumLength, askedEnd - request.start < minimum {
            request.end = request.start + minimum
            if request.start + minimum > recordingEnd {
                request.start = max(0, recordingEnd - minimum)
                request.end = recordingEnd
            }
            lengthened = true
        }
        // Written under a temporary name beside the target, renamed at the end: a failed or
        // killed cut never leaves a partial file under the final name.
        let temporary = temporaryPath(for: request.output, extension: ext)
        do throws(MediaError) {
            var result = try copy(input, request: request, muxer: muxer, to: temporary, isCancelled: isCancelled)
            // The duration as players (and ffprobe) read the file: with B-frames and edit lists it
            // is a little more than the span of the packets copied.
            func measured() -> Double { (try? MediaInput(path: temporary)).flatMap(\.duration).map { ($0 * 1000).rounded() / 1000 } ?? result.duration }
            var duration = measured()
            // So the longest clip is measured there too: a clip a player reads as longer is cut
            // again, its packets stopping earlier by the difference (frames shown after the last
            // one decoded), but never so early that it falls short of the shortest clip.
            var overLongest = false
            if let maximum = asked.maximumLength {
                var attempt = request
                let mostTrim = maximum - (asked.minimumLength ?? 0)
                for _ in 0..<3 where duration > maximum + 0.0005 && attempt.endTrim < mostTrim {
                    attempt.endTrim = min(mostTrim, attempt.endTrim + (duration - maximum) + 0.001)
                    unlink(temporary)
                    result = try copy(input, request: attempt, muxer: muxer, to: temporary, isCancelled: isCancelled)
                    duration = measured()
                }
                overLongest = duration > maximum + 0.0005
            }
            // A cut given up on (a timeout, a stop) puts nothing in place after the step was
            // reported failed; the temporary file goes below.
            if isCancelled() { throw MediaError("cancelled") }
            guard rename(temporary, request.output) == 0 else {
                throw MediaError("cannot move the clip into place at \(request.output): \(String(cString: strerror(errno)))")
            }
            var final = result
            final.path = request.output
            final.requestedStart = asked.start
            final.duration = duration
            final.bytes = ((try? FileManager.default.attributesOfItem(atPath: request.output))?[.size] as? Int) ?? result.bytes
            // What changed, from what was written.
            let span = "\(format(asked.start))–\(asked.end.map(format) ?? "the end")"
            let written = "\(format(final.actualStart))–\(format(final.actualStart + duration))"
            if lengthened, let minimum = asked.minimumLength {
                final.adjustment = "lengthened \(span) to \(written) (the shortest clip is \(format(minimum)))"
                    + (recordingEnd < minimum ? "; the recording is only \(format(recordingEnd)) long" : "")
            } else if let maximum = asked.maximumLength, askedEnd - final.actualStart > maximum + 0.0005 {
                final.adjustment = "shortened \(span) to \(written) (the longest clip is \(format(maximum)))"
            }
            if overLongest, let maximum = asked.maximumLength {
                // Only when min_length leaves no room to cut earlier: said, not hidden.
                final.adjustment = (final.adjustment.map { $0 + "; " } ?? "")
                    + "players read it as \(format(duration)), over the longest clip (\(format(maximum))), by frames shown after the last one decoded"
            }
            return final
        } catch {
            unlink(temporary)
            throw error
        }
    }

    static func format(_ seconds: Double) -> String { MediaTime.format(seconds) }

    private static func copy(_ input: MediaInput, request: CutRequest, muxer: String, to path: String,
                             isCancelled: () -> Bool) throws(MediaError) -> CutResult {
        let inContext = input.formatContext
        var outContext: UnsafeMutablePointer<AVFormatContext>?
        try MediaError.check(avformat_alloc_output_context2(&outContext, nil, muxer, path), "cannot make a \(fileKind(path)) file")
        guard let output = outContext else { throw MediaError("cannot make a \(fileKind(path)) file") }
        var opened = false
        defer {
            if opened { avio_closep(&output.pointee.pb) }
            avformat_free_context(output)
        }

        // Input stream index → output stream index, for the streams that go.
        var mapping: [Int32: Int32] = [:]
        var dropped: [String] = []
        for stream in input.streams {
            guard let parameters = stream.pointee.codecpar else { continue }
            let type = parameters.pointee.codec_type
            let wanted = request.streams == .audioOnly ? type == AVMEDIA_TYPE_AUDIO
                : type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO || type == AVMEDIA_TYPE_SUBTITLE
            guard wanted else { continue }
            let codec = String(cString: avcodec_get_name(parameters.pointee.codec_id))
            // 0 is "cannot"; a negative answer means the muxer keeps no list (mpegts), so it is
            // tried, except for text subtitles, which a transport stream carries only as DVB ones
            // (mov_text or SubRip would become an opaque data stream no player reads).
            let dvb = parameters.pointee.codec_id == AV_CODEC_ID_DVB_SUBTITLE || parameters.pointee.codec_id == AV_CODEC_ID_DVB_TELETEXT
            if avformat_query_codec(output.pointee.oformat, parameters.pointee.codec_id, FF_COMPLIANCE_NORMAL) == 0
                || (muxer == "mpegts" && type == AVMEDIA_TYPE_SUBTITLE && !dvb)
                || (muxer == "mpegts" && type != AVMEDIA_TYPE_SUBTITLE && !Self.transportStreamCodecs.contains(codec))
                // An ADTS stream is AAC frames and nothing else (FFmpeg keeps no list to ask).
                || (muxer == "adts" && codec != "aac") {
                if type == AVMEDIA_TYPE_SUBTITLE {
                    dropped.append("subtitle stream \(stream.pointee.index) (\(codec)): a .\((path as NSString).pathExtension) file cannot hold it")
                    continue
                }
                let instead = type == AVMEDIA_TYPE_AUDIO && ["adts", "ipod"].contains(muxer) ? ".mka holds any audio" : ".mkv holds most codecs"
                throw MediaError("a \(fileKind(path)) file cannot hold the \(codec) stream \(stream.pointee.index) of \(input.path); choose another container (\(instead))")
            }
            guard let out = avformat_new_stream(output, nil) else { throw MediaError("cannot add a stream to the output") }
            try MediaError.check(avcodec_parameters_copy(out.pointee.codecpar, parameters), "cannot copy the \(codec) stream's parameters")
            out.pointee.codecpar.pointee.codec_tag = 0
            out.pointee.time_base = stream.pointee.time_base
            av_dict_copy(&out.pointee.metadata, stream.pointee.metadata, 0)
            out.pointee.disposition = stream.pointee.disposition
            // Rotation (a phone held upright) travels as the display matrix, which only mp4 and
            // mov keep: in another container the clip would play sideways, and a reframe of it
            // would crop the wrong way.
            var size = 0
            if let matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size > 0 {
                if let turn = MediaStream.rotation(stream), Int(turn.rounded()) % 360 != 0, !["mp4", "mov", "ipod"].contains(muxer) {
                    throw MediaError("the video of \(input.path) is rotated (\(Int(turn.rounded()))°), and a .\((path as NSString).pathExtension) file cannot keep that; cut it to .mp4 or .mov")
                }
                if let copy = av_stream_new_side_data(out, AV_PKT_DATA_DISPLAYMATRIX, size) { copy.update(from: matrix, count: size) }
            }
            mapping[stream.pointee.index] = out.pointee.index
        }
        guard !mapping.isEmpty else {
            throw MediaError(request.streams == .audioOnly ? "\(input.path) has no audio stream" : "\(input.path) has no video, audio or subtitle stream to copy")
        }
        av_dict_copy(&output.pointee.metadata, inContext.pointee.metadata, 0)
        // mp4 and mov keep a B-frame stream's negative first dts and start presentation at zero with an edit
        // list (as ffmpeg -c copy does); formats without negative timestamps are shifted.
        output.pointee.avoid_negative_ts = AVFMT_AVOID_NEG_TS_AUTO

        try startWriting(output, to: path, muxer: muxer, opened: &opened)

        // Seek to the keyframe at or before the start (on the video stream when there is one).
        let anchor = request.streams == .audioOnly ? nil : input.bestVideoStream
        let seekStream = anchor.map { Int(inContext.pointee.streams[Int($0)]!.pointee.index) }
        let seekBase = seekStream.map { inContext.pointee.streams[$0]!.pointee.time_base } ?? aiv_time_base_q()
        // Times in the request are as players show them: from the container's first timestamp.
        let origin = input.origin
        let startTime = request.start + origin
        var endTime = request.end.map { $0 + origin }
        // The keyframe the clip starts on: the last one at or before the start. An index (mp4,
        // mkv) takes a seek straight there; a transport stream, sought by bisecting its bytes,
        // can land after it, so the seek is tried further back until what it lands on is not
        // after the start, and the packets read from there tell which keyframe is the last.
        var startKeyframe: Double?
        if request.start > 0 {
            let found = try Self.seekPoint(inContext, stream: seekStream, base: seekBase, anchor: anchor, startTime: startTime,
                                           path: input.path, shownStart: request.start)
            startKeyframe = found.keyframe
            try MediaError.check(av_seek_frame(inContext, Int32(seekStream ?? -1), found.target, AVSEEK_FLAG_BACKWARD),
                                 "cannot seek to \(format(request.start)) in \(input.path)")
        }

        guard let packet = av_packet_alloc() else { throw MediaError("out of memory") }
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&owned) }
        var actualStart: Double?
        var lastEnd = 0.0
        /// Where the packets read from the copied streams reach, on the input's timeline.
        var readUpTo = 0.0
        var reachedEndOfFile = false
        var finished = Set<Int32>()
        var count = 0
        while true {
            let status = av_read_frame(inContext, packet)
            if status == aiv_averror_eof() {
                reachedEndOfFile = true
                break
            }
            if status < 0 {
                throw MediaError("cannot read \(input.path) after \(format(lastEnd)) of the clip: \(MediaError.text(status)) (the file may be truncated or damaged)")
            }
            defer { av_packet_unref(packet) }
            count += 1
            if count % 256 == 0, isCancelled() { throw MediaError("cancelled") }
            let index = packet.pointee.stream_index
            guard let outIndex = mapping[index], !finished.contains(index) else { continue }
            let inStream = inContext.pointee.streams[Int(index)]!
            let base = inStream.pointee.time_base
            guard let time = seconds(packet.pointee.pts, base) ?? seconds(packet.pointee.dts, base) else { continue }
            readUpTo = max(readUpTo, time + (seconds(packet.pointee.duration, base) ?? 0))

            if actualStart == nil {
                // The clip starts at the first keyframe of the anchor stream; without video, at
                // the packet that holds the start (an AAC packet is about 21 ms: the one after it
                // would begin the clip late, losing the start of a word).
                if let anchor {
                    guard index == anchor, packet.pointee.flags & AV_PKT_FLAG_KEY != 0,
                          time >= (startKeyframe ?? -.infinity) - 0.0005 else { continue }
                    actualStart = time
                } else {
                    let length = seconds(packet.pointee.duration, base) ?? 0
                    guard time >= startTime - 0.0005 || (length > 0 && time + length > startTime + 0.0005) else { continue }
                    actualStart = time
                }
                // The longest clip is measured from where it really starts, which must leave it
                // reaching the start asked for.
                if let maximum = request.maximumLength {
                    guard time + maximum > startTime + 0.0005 else {
                        throw MediaError("a clip of at most \(format(maximum)) cannot reach \(format(request.start)): it starts on the keyframe at "
                                         + "\(format(time - origin)), \(format(startTime - time)) earlier; give a longer max_length")
                    }
                    endTime = min(endTime ?? .infinity, time + maximum - request.endTrim)
                }
            }
            let start = actualStart!
            if time < start - 0.0005 { continue }
            // The end is checked in decode order (dts, as ffmpeg's -to does with stream copy): a
            // B-frame shown before the end but decoded after a later frame is kept with it.
            if let end = endTime, (seconds(packet.pointee.dts, base) ?? time) >= end {
                finished.insert(index)
                if finished.count == mapping.count { break }
                continue
            }
            // libavformat marks a packet it could read only part of (the file ends inside it):
            // copied, it would be a clip that players show broken.
            if packet.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 {
                throw MediaError("\(input.path) is truncated or damaged: its data stops inside the packet at \(format(time - origin))")
            }
            let outStream = output.pointee.streams[Int(outIndex)]!
            let offset = Int64((start / base.seconds).rounded())
            if packet.pointee.pts != aiv_nopts_value() { packet.pointee.pts -= offset }
            if packet.pointee.dts != aiv_nopts_value() { packet.pointee.dts -= offset }
            var duration = seconds(packet.pointee.duration, base) ?? 0
            if let end = endTime, time + duration > end {
                // A subtitle sample shown past the end is cut short at the end.
                duration = end - time
                packet.pointee.duration = Int64((duration / base.seconds).rounded())
            }
            lastEnd = max(lastEnd, time - start + duration)
            av_packet_rescale_ts(packet, base, outStream.pointee.time_base)
            packet.pointee.stream_index = outIndex
            packet.pointee.pos = -1
            try MediaError.check(av_interleaved_write_frame(output, packet), "cannot write the clip")
        }
        // The packets ran out before the end the file's header gives (and the clip asks for).
        if reachedEndOfFile, let cutShort = input.cutShort(readUpTo: readUpTo, expectedBy: endTime, seekedTo: request.start > 0 ? startTime : nil) { throw cutShort }
        // A header that states no length (a recording still being written) or a longer one than
        // the media has: the seek found the last keyframe, and what follows it ends before the
        // start, so no part of the span asked for is in the clip.
        if reachedEndOfFile, request.start > 0, readUpTo <= startTime + 0.0005 {
            throw MediaError("start \(format(request.start)) is past the end of \(input.path): its media stops at \(format(max(0, readUpTo - origin)))")
        }
        guard let actualStart else {
            throw MediaError("found no \(anchor == nil ? "packet" : "keyframe") at or after \(format(request.start)) in \(input.path)")
        }
        try MediaError.check(av_write_trailer(output), "cannot finish the \(fileKind(path)) file")
        let streams = (0..<Int(output.pointee.nb_streams)).compactMap { output.pointee.streams[$0] }.map(MediaStream.init)
        let bytes = opened ? Int(avio_size(output.pointee.pb)) : 0
        return CutResult(path: path, requestedStart: request.start, actualStart: ((actualStart - origin) * 1000).rounded() / 1000,
                         duration: (lastEnd * 1000).rounded() / 1000, bytes: bytes, streams: streams, dropped: dropped, adjustment: nil)
    }
}
