import CFFmpeg
import Foundation

/// A clip made vertical (9:16, what YouTube takes as a Short) by re-encoding its picture:
/// decoded with libavcodec, cropped or fitted and scaled with libswscale, captions drawn on with
/// libavfilter's `subtitles` filter (libass) when asked, encoded as H.264 (libx264 when FFmpeg
/// has it); the audio is copied as it is.
public struct ReframeRequest: Sendable {
    public enum Fit: String, Sendable, CaseIterable {
        /// Fill the frame: a 9:16 window of the picture, the rest cut off.
        case crop
        /// Keep the whole picture, scaled to the frame's width, with black above and below.
        case pad
    }

    public var input: String
    public var output: String
    public var fit: Fit
    /// Where the crop window sits across a wide picture: 0 its left edge, 0.5 the middle, 1 the right edge.
    public var focus: Double
    /// The tallest output; a smaller picture is never scaled up.
    public var maximumHeight: Int
    /// x264's constant rate factor: lower is better and larger (18 looks lossless, 23 is its default).
    public var quality: Int
    /// Captions drawn onto the picture, if any.
    public var captions: Captions?

    /// Captions timed from the clip's start, drawn with libass, and their look.
    public struct Captions: Sendable {
        public enum Source: Sendable {
            /// Lines, broken to fit the picture's width and drawn in aiv's style; `file` names them in errors.
            case cues([SubtitleCue], file: String)
            /// An ASS file, drawn as it is styled (font, size and margin below are not used).
            case styledFile(String)
        }

        public var source: Source
        /// A font name fontconfig knows; characters it lacks (Japanese, say) come from another font that has them.
        public var font: String
        /// The letters' height, in 288ths of the picture's height (libass's scale for SRT): 14 is about 1/20.
        public var size: Int
        /// Space below the lowest line, in 288ths of the picture's height: Shorts cover their bottom with buttons and a title.
        public var bottomMargin: Int

        public init(_ source: Source, font: String = "sans-serif", size: Int = 14, bottomMargin: Int = 60) {
            self.source = source
            self.font = font
            self.size = size
            self.bottomMargin = bottomMargin
        }

        /// No lines to draw (a stretch where nobody spoke): the picture is left as it is.
        public var isEmpty: Bool {
            if case .cues(let cues, _) = source { return cues.isEmpty }
            return false
        }

        /// The columns of text a line may take across a picture: 92% of its width, in half-width
        /// characters of the size the captions are drawn at (libass scales SRT to 288 rows), a
        /// half-width bold letter taken as 0.55 of the letters' height so capitals fit too.
        func columns(width: Int, height: Int) -> Int {
            let letter = Double(size) / 288 * Double(height)
            return Int(Double(width) * 0.92 / (letter * 0.55))
        }

        /// libass's override of the style SRT gets: white, bold, a black outline, centred at the bottom.
        var style: String {
            "FontName=\(font),FontSize=\(size),Bold=1,PrimaryColour=&H00FFFFFF,OutlineColour=&H00000000,BorderStyle=1,Outline=2,Shadow=0,Alignment=2,MarginV=\(bottomMargin)"
        }
    }

    public init(input: String, output: String, fit: Fit = .crop, focus: Double = 0.5, maximumHeight: Int = 1920, quality: Int = 21,
                captions: Captions? = nil) {
        self.input = input
        self.output = output
        self.fit = fit
        self.focus = focus
        self.maximumHeight = maximumHeight
        self.quality = quality
        self.captions = captions
    }
}

public struct ReframeResult: Sendable, Equatable {
    public var path: String
    public var width: Int
    public var height: Int
    public var duration: Double
    public var bytes: Int
    public var frames: Int
    public var encoder: String
    public var streams: [MediaStream]
}

/// Where the picture goes: which part of the source is taken, how large it is drawn, and where
/// on the output frame. Every number is even, as 4:2:0 chroma needs.
public struct ReframeGeometry: Sendable, Equatable {
    public var cropX, cropY, cropWidth, cropHeight: Int
    public var scaledWidth, scaledHeight: Int
    public var offsetX, offsetY: Int
    public var width, height: Int

    /// The geometry for a source picture; nil when it is too small to make anything of.
    /// `pixelAspect` is the width of a stored pixel as shown, over its height (a DVD's 720x576
    /// shown 1024x576 has 64:45): the output's pixels are square.
    public static func make(sourceWidth: Int, sourceHeight: Int, fit: ReframeRequest.Fit, focus: Double, maximumHeight: Int,
                            pixelAspect: Double = 1) -> ReframeGeometry? {
        func even(_ value: Double) -> Int { Int(value / 2) * 2 }
        let width = sourceWidth / 2 * 2, height = sourceHeight / 2 * 2
        let aspect = pixelAspect.isFinite && pixelAspect > 0 ? pixelAspect : 1
        /// The picture's width as shown, in square pixels.
        let shownWidth = Double(width) * aspect
        guard width >= 2, height >= 2, maximumHeight >= 16 else { return nil }
        let wide = shownWidth / Double(height) > 9.0 / 16.0
        switch fit {
        case .crop:
            // The largest 9:16 window (as shown), across a wide picture where `focus` says, down a tall one in the middle.
            let cropWidth = wide ? min(width, even(Double(height) * 9 / 16 / aspect)) : width
            let cropHeight = wide ? height : min(height, even(shownWidth * 16 / 9))
            guard cropWidth >= 2, cropHeight >= 2 else { return nil }
            let cropX = even(min(1, max(0, focus)) * Double(width - cropWidth))
            let cropY = even(Double(height - cropHeight) / 2)
            let outHeight = min(maximumHeight / 2 * 2, cropHeight)
            let outWidth = max(2, even(Double(outHeight) * 9 / 16))
            return ReframeGeometry(cropX: cropX, cropY: cropY, cropWidth: cropWidth, cropHeight: cropHeight, scaledWidth: outWidth,
                                   scaledHeight: outHeight, offsetX: 0, offsetY: 0, width: outWidth, height: outHeight)
        case .pad:
            if wide {
                // As wide as the picture (or the frame at its tallest), the picture centred in its height.
                let outWidth = max(2, min(even(shownWidth), even(Double(maximumHeight) * 9 / 16)))
                let outHeight = even(Double(outWidth) * 16 / 9)
                let scaledHeight = min(outHeight, max(2, even(Double(height) * Double(outWidth) / shownWidth)))
                return ReframeGeometry(cropX: 0, cropY: 0, cropWidth: width, cropHeight: height, scaledWidth: outWidth, scaledHeight: scaledHeight,
                                       offsetX: 0, offsetY: even(Double(outHeight - scaledHeight) / 2), width: outWidth, height: outHeight)
            }
            let outHeight = min(height, maximumHeight / 2 * 2)
            let outWidth = max(2, even(Double(outHeight) * 9 / 16))
            let scaledWidth = min(outWidth, max(2, even(shownWidth * Double(outHeight) / Double(height))))
            return ReframeGeometry(cropX: 0, cropY: 0, cropWidth: width, cropHeight: height, scaledWidth: scaledWidth, scaledHeight: outHeight,
                                   offsetX: even(Double(outWidth - scaledWidth) / 2), offsetY: 0, width: outWidth, height: outHeight)
        }
    }
}

public enum Reframe {
    /// Containers a re-encoded clip can go in, by extension.
    public static let containers: [String: String] = ["mp4": "mp4", "m4v": "mp4", "mov": "mov", "mkv": "matroska"]

    public static func run(_ request: ReframeRequest, isCancelled: () -> Bool = { false }) throws(MediaError) -> ReframeResult {
        let ext = (request.output as NSString).pathExtension.lowercased()
        guard let muxer = containers[ext] else {
            throw MediaError("output '\((request.output as NSString).lastPathComponent)': a reframed clip is written as \(containers.keys.sorted().joined(separator: ", ")), not '.\(ext)'")
        }
        let input = try MediaInput(path: request.input)
        try FFmpegLibrary.loadScaling()
        // Written under a temporary name beside the target, renamed at the end: a failed or
        // killed re-encode never leaves a partial file under the final name.
        let temporary = temporaryPath(for: request.output, extension: ext)
        do throws(MediaError) {
            var result = try Encoding(input: input, request: request, muxer: muxer, path: temporary).run(isCancelled: isCancelled)
            if let written = try? MediaInput(path: temporary), let duration = written.duration {
                result.duration = (duration * 1000).rounded() / 1000
            }
            // A cut given up on (a timeout, a stop) puts nothing in place after the step was
            // reported failed; the temporary file goes below.
            if isCancelled() { throw MediaError("cancelled") }
            guard rename(temporary, request.output) == 0 else {
                throw MediaError("cannot move the clip into place at \(request.output): \(String(cString: strerror(errno)))")
            }
            result.path = request.output
            result.bytes = ((try? FileManager.default.attributesOfItem(atPath: request.output))?[.size] as? Int) ?? result.bytes
            return result
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// One re-encode: the FFmpeg objects it holds, freed together when it ends, however it ends.
    private final class Encoding {
        let input: MediaInput
        let request: ReframeRequest
        let muxer: String
        let path: String
        var output: UnsafeMutablePointer<AVFormatContext>?
        var opened = false
        var decoder: UnsafeMutablePointer<AVCodecContext>?
        var encoder: UnsafeMutablePointer<AVCodecContext>?
        var decoded: UnsafeMutablePointer<AVFrame>?
        var normalized: UnsafeMutablePointer<AVFrame>?
        var picture: UnsafeMutablePointer<AVFrame>?
        var packet: UnsafeMutablePointer<AVPacket>?
        var encoded: UnsafeMutablePointer<AVPacket>?
        var normalizer: OpaquePointer?
        /// What `normalizer` converts from: width, height and pixel format.
        var normalizerSource: (Int32, Int32, Int32)?
        var scaler: OpaquePointer?
        /// Luma of black: 16 in the usual limited range, 0 in a full-range picture passed through as it is.
        var blackLuma: Int32 = 16
        /// Clockwise quarter turns that make the stored picture upright, and the frame they are made in.
        var quarterTurns = 0
        var upright: UnsafeMutablePointer<AVFrame>?
        /// The caption drawing: buffer source → subtitles (libass) → buffer sink, and the frames it gives.
        var graph: UnsafeMutablePointer<AVFilterGraph>?
        var graphSource: UnsafeMutablePointer<AVFilterContext>?
        var graphSink: UnsafeMutablePointer<AVFilterContext>?
        var filtered: UnsafeMutablePointer<AVFrame>?
        /// The wrapped captions written for the filter, removed with the rest.
        var temporaryCaptions: String?

        init(input: MediaInput, request: ReframeRequest, muxer: String, path: String) {
            self.input = input
            self.request = request
            self.muxer = muxer
            self.path = path
        }

        deinit {
            if opened, let output { avio_closep(&output.pointee.pb) }
            if let output { avformat_free_context(output) }
            avcodec_free_context(&decoder)
            avcodec_free_context(&encoder)
            av_frame_free(&decoded)
            av_frame_free(&normalized)
            av_frame_free(&picture)
            av_frame_free(&upright)
            av_frame_free(&filtered)
            if graph != nil { avfilter_graph_free(&graph) }  // libavfilter is loaded only for captions
            if let temporaryCaptions { unlink(temporaryCaptions) }
            av_packet_free(&packet)
            av_packet_free(&encoded)
            if let normalizer { sws_freeContext(normalizer) }
            if let scaler { sws_freeContext(scaler) }
        }

        func run(isCancelled: () -> Bool) throws(MediaError) -> ReframeResult {
            let inContext = input.formatContext
            guard let videoIndex = input.bestVideoStream, let videoStream = inContext.pointee.streams[Int(videoIndex)] else {
                throw MediaError("\(input.path) has no video stream to reframe")
            }
            // A picture stored sideways (a phone's) is turned upright first, as players show it.
            let turn = ((Int((MediaStream.rotation(videoStream) ?? 0).rounded()) % 360) + 360) % 360
            guard turn % 90 == 0 else {
                throw MediaError("\(input.path) is shown rotated by \(turn)°; clip.reframe turns pictures by quarter turns only")
            }
            quarterTurns = turn / 90
            guard videoStream.pointee.time_base.num > 0, videoStream.pointee.time_base.den > 0 else {
                throw MediaError("\(input.path) gives its video no time base; it cannot be timed")
            }
            let parameters = videoStream.pointee.codecpar!
            guard let decoderCodec = avcodec_find_decoder(parameters.pointee.codec_id) else {
                throw MediaError("FFmpeg cannot decode the \(String(cString: avcodec_get_name(parameters.pointee.codec_id))) video of \(input.path)")
            }
            decoder = avcodec_alloc_context3(decoderCodec)
            guard let decoder else { throw MediaError("out of memory") }
            try MediaError.check(avcodec_parameters_to_context(decoder, parameters), "cannot read the video's parameters")
            decoder.pointee.pkt_timebase = videoStream.pointee.time_base
            decoder.pointee.thread_count = 0
            try MediaError.check(avcodec_open2(decoder, decoderCodec, nil), "cannot open the video decoder")

            let sideways = quarterTurns % 2 == 1
            let (uprightWidth, uprightHeight) = sideways ? (Int(decoder.pointee.height), Int(decoder.pointee.width))
                : (Int(decoder.pointee.width), Int(decoder.pointee.height))
            // Pixels shown wider or narrower than tall (a DVD's); a quarter turn turns their shape too.
            let storedAspect = videoStream.pointee.sample_aspect_ratio.num > 0 ? videoStream.pointee.sample_aspect_ratio : decoder.pointee.sample_aspect_ratio
            let pixelAspect = storedAspect.num > 0 && storedAspect.den > 0 ? storedAspect.seconds : 1
            guard let geometry = ReframeGeometry.make(sourceWidth: uprightWidth, sourceHeight: uprightHeight, fit: request.fit, focus: request.focus,
                                                      maximumHeight: request.maximumHeight, pixelAspect: sideways ? 1 / pixelAspect : pixelAspect) else {
                throw MediaError("\(input.path)'s picture (\(uprightWidth)x\(uprightHeight)) is too small to reframe")
            }

            try MediaError.check(avformat_alloc_output_context2(&output, nil, muxer, path), "cannot make a \(fileKind(path)) file")
            guard let output else { throw MediaError("cannot make a \(fileKind(path)) file") }

            // H.264: libx264 when this FFmpeg has it (Debian's does), otherwise whatever H.264 encoder it has.
            guard let encoderCodec = avcodec_find_encoder_by_name("libx264") ?? avcodec_find_encoder(AV_CODEC_ID_H264) else {
                throw MediaError("this FFmpeg has no H.264 encoder (libx264); install one to reframe clips")
            }
            encoder = avcodec_alloc_context3(encoderCodec)
            guard let encoder else { throw MediaError("out of memory") }
            // The frame rate the container gives, else the decoder's, else 30: x264's rate control
            // and the last frame's length need one.
            let rate = [videoStream.pointee.avg_frame_rate, videoStream.pointee.r_frame_rate, decoder.pointee.framerate]
                .first { $0.num > 0 && $0.den > 0 && $0.seconds < 1000 } ?? AVRational(num: 30, den: 1)
            encoder.pointee.width = Int32(geometry.width)
            encoder.pointee.height = Int32(geometry.height)
            encoder.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            encoder.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
            encoder.pointee.time_base = videoStream.pointee.time_base
            encoder.pointee.framerate = rate
            // Colour as the source says; the range as written: a 4:2:0 picture passes through as
            // it is, any other is converted to the limited range.
            encoder.pointee.color_primaries = decoder.pointee.color_primaries
            encoder.pointee.color_trc = decoder.pointee.color_trc
            encoder.pointee.colorspace = decoder.pointee.colorspace
            let passesThrough = decoder.pointee.pix_fmt == AV_PIX_FMT_YUV420P
            encoder.pointee.color_range = passesThrough ? decoder.pointee.color_range : AVCOL_RANGE_MPEG
            if passesThrough, decoder.pointee.color_range == AVCOL_RANGE_JPEG { blackLuma = 0 }
            encoder.pointee.thread_count = 0
            if output.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
                encoder.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
            }
            var options: OpaquePointer?
            av_dict_set(&options, "preset", "veryfast", 0)
            av_dict_set(&options, "crf", String(request.quality), 0)
            let openedEncoder = avcodec_open2(encoder, encoderCodec, &options)
            av_dict_free(&options)
            try MediaError.check(openedEncoder, "cannot open the H.264 encoder")
            let encoderName = String(cString: encoderCodec.pointee.name)
            if let captions = request.captions, !captions.isEmpty {
                try makeCaptionGraph(captions, width: geometry.width, height: geometry.height, timeBase: encoder.pointee.time_base)
            }

            // The picture first, then the audio streams, copied.
            guard let videoOut = avformat_new_stream(output, nil) else { throw MediaError("cannot add a stream to the output") }
            try MediaError.check(avcodec_parameters_from_context(videoOut.pointee.codecpar, encoder), "cannot describe the video stream")
            videoOut.pointee.time_base = encoder.pointee.time_base
            av_dict_copy(&videoOut.pointee.metadata, videoStream.pointee.metadata, 0)
            av_dict_set(&videoOut.pointee.metadata, "encoder", nil, 0)  // the source's encoder did not make this stream
            var audio: [Int32: Int32] = [:]
            for stream in input.streams where stream.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO {
                let codecID = stream.pointee.codecpar.pointee.codec_id
                guard avformat_query_codec(output.pointee.oformat, codecID, FF_COMPLIANCE_NORMAL) != 0 else {
                    throw MediaError("a \(fileKind(path)) file cannot hold the \(String(cString: avcodec_get_name(codecID))) audio of \(input.path); choose .mkv")
                }
                guard let out = avformat_new_stream(output, nil) else { throw MediaError("cannot add a stream to the output") }
                try MediaError.check(avcodec_parameters_copy(out.pointee.codecpar, stream.pointee.codecpar), "cannot copy the audio's parameters")
                out.pointee.codecpar.pointee.codec_tag = 0
                out.pointee.time_base = stream.pointee.time_base
                av_dict_copy(&out.pointee.metadata, stream.pointee.metadata, 0)
                audio[stream.pointee.index] = out.pointee.index
            }
            av_dict_copy(&output.pointee.metadata, inContext.pointee.metadata, 0)
            output.pointee.avoid_negative_ts = AVFMT_AVOID_NEG_TS_AUTO
            try startWriting(output, to: path, muxer: muxer, opened: &opened)

            packet = av_packet_alloc()
            encoded = av_packet_alloc()
            decoded = av_frame_alloc()
            picture = av_frame_alloc()
            guard let packet, let encoded, let decoded, let picture else { throw MediaError("out of memory") }
            picture.pointee.format = AV_PIX_FMT_YUV420P.rawValue
            picture.pointee.width = Int32(geometry.width)
            picture.pointee.height = Int32(geometry.height)
            try MediaError.check(av_frame_get_buffer(picture, 0), "out of memory for the picture")

            // Times from the container's first timestamp, as players show them (and clip.cut writes them).
            let origin = input.origin
            var frames = 0
            var lastPTS = Int64.min
            /// One frame's time in the stream's (and the encoder's) time base.
            let frameSeconds = 1 / rate.seconds
            let frameTicks = max(1, Int64((frameSeconds / encoder.pointee.time_base.seconds).rounded()))

            func writeEncoded() throws(MediaError) {
                while true {
                    let status = avcodec_receive_packet(encoder, encoded)
                    if status == aiv_averror_eagain() || status == aiv_averror_eof() { return }
                    try MediaError.check(status, "cannot encode the video")
                    // Without a duration the container ends the last frame as it starts, a frame short.
                    if encoded.pointee.duration <= 0 { encoded.pointee.duration = frameTicks }
                    av_packet_rescale_ts(encoded, encoder.pointee.time_base, videoOut.pointee.time_base)
                    encoded.pointee.stream_index = videoOut.pointee.index
                    try MediaError.check(av_interleaved_write_frame(output, encoded), "cannot write the clip")
                }
            }
            func encodeDecoded() throws(MediaError) {
                while true {
                    let status = avcodec_receive_frame(decoder, decoded)
                    if status == aiv_averror_eagain() || status == aiv_averror_eof() { return }
                    // A damaged frame is skipped, as players skip it (a file cut short is caught at the end).
                    if status == aiv_averror_invaliddata() { continue }
                    try MediaError.check(status, "cannot decode the video of \(input.path)")
                    defer { av_frame_unref(decoded) }
                    try MediaError.check(av_frame_make_writable(picture), "out of memory for the picture")
                    try draw(decoded, into: picture, geometry: geometry)
                    let base = videoStream.pointee.time_base
                    let stamp = decoded.pointee.best_effort_timestamp != aiv_nopts_value() ? decoded.pointee.best_effort_timestamp : decoded.pointee.pts
                    // A frame without a time, or with one that repeats or goes back (timestamps that
                    // start again in joined recordings), comes one frame after the last.
                    let next = lastPTS == .min ? 0 : lastPTS + frameTicks
                    var pts = stamp == aiv_nopts_value() ? next : stamp - Int64((origin / base.seconds).rounded())
                    if lastPTS != .min, pts <= lastPTS { pts = next }
                    lastPTS = pts
                    picture.pointee.pts = pts
                    frames += 1
                    try submit(picture)
                }
            }
            /// A finished picture to the encoder, through the caption drawing when there is one.
            func submit(_ frame: UnsafeMutablePointer<AVFrame>?) throws(MediaError) {
                guard let graphSource, let graphSink, let filtered else {
                    try MediaError.check(avcodec_send_frame(encoder, frame), "cannot encode the video")
                    return try writeEncoded()
                }
                try MediaError.check(av_buffersrc_add_frame_flags(graphSource, frame, frame == nil ? 0 : Int32(AV_BUFFERSRC_FLAG_KEEP_REF)),
                                     "cannot draw the captions")
                while true {
                    let status = av_buffersink_get_frame(graphSink, filtered)
                    if status == aiv_averror_eagain() { return }
                    if status == aiv_averror_eof() {
                        _ = avcodec_send_frame(encoder, nil)
                        return try writeEncoded()
                    }
                    try MediaError.check(status, "cannot draw the captions")
                    defer { av_frame_unref(filtered) }
                    try MediaError.check(avcodec_send_frame(encoder, filtered), "cannot encode the video")
                    try writeEncoded()
                }
            }

            var count = 0
            /// Where the packets read reach, on the input's timeline.
            var readUpTo = 0.0
            while true {
                let status = av_read_frame(inContext, packet)
                if status == aiv_averror_eof() { break }
                if status < 0 { throw MediaError("cannot read \(input.path): \(MediaError.text(status)) (the file may be truncated or damaged)") }
                defer { av_packet_unref(packet) }
                count += 1
                if count % 64 == 0, isCancelled() { throw MediaError("cancelled") }
                let index = packet.pointee.stream_index
                if index == videoIndex || audio[index] != nil, let stream = inContext.pointee.streams[Int(index)] {
                    let base = stream.pointee.time_base
                    if let time = seconds(packet.pointee.pts, base) ?? seconds(packet.pointee.dts, base) {
                        readUpTo = max(readUpTo, time + (seconds(packet.pointee.duration, base) ?? 0))
                    }
                }
                if index == videoIndex {
                    let sent = avcodec_send_packet(decoder, packet)
                    // A damaged packet is skipped as players skip it; anything else stops.
                    if sent < 0, sent != aiv_averror_invaliddata() { try MediaError.check(sent, "cannot decode the video of \(input.path)") }
                    try encodeDecoded()
                } else if let outIndex = audio[index] {
                    let inStream = inContext.pointee.streams[Int(index)]!
                    let outStream = output.pointee.streams[Int(outIndex)]!
                    let offset = Int64((origin / inStream.pointee.time_base.seconds).rounded())
                    if packet.pointee.pts != aiv_nopts_value() { packet.pointee.pts -= offset }
                    if packet.pointee.dts != aiv_nopts_value() { packet.pointee.dts -= offset }
                    av_packet_rescale_ts(packet, inStream.pointee.time_base, outStream.pointee.time_base)
                    packet.pointee.stream_index = outIndex
                    packet.pointee.pos = -1
                    try MediaError.check(av_interleaved_write_frame(output, packet), "cannot write the clip")
                }
            }
            // What the decoder and the encoder still hold.
            _ = avcodec_send_packet(decoder, nil)
            try encodeDecoded()
            try submit(nil)
            guard frames > 0 else { throw MediaError("\(input.path) has no picture that could be decoded") }
            // The packets ran out before the end the file states, as clip.cut checks.
            if let cutShort = input.cutShort(readUpTo: readUpTo) { throw cutShort }
            try MediaError.check(av_write_trailer(output), "cannot finish the \(fileKind(path)) file")
            let streams = (0..<Int(output.pointee.nb_streams)).compactMap { output.pointee.streams[$0] }.map(MediaStream.init)
            let bytes = opened ? Int(avio_size(output.pointee.pb)) : 0
            let duration = lastPTS == .min ? 0 : Double(lastPTS + frameTicks) * videoStream.pointee.time_base.seconds
            return ReframeResult(path: path, width: geometry.width, height: geometry.height, duration: duration, bytes: bytes, frames: frames,
                                 encoder: encoderName, streams: streams)
        }

        /// The filter graph that draws the captions: libavfilter's `subtitles` (libass), its file
        /// and style given as options, so no path needs escaping for a filter description.
        private func makeCaptionGraph(_ captions: ReframeRequest.Captions, width: Int, height: Int, timeBase: AVRational) throws(MediaError) {
            try FFmpegLibrary.loadFilters()
            let path: String, named: String
            switch captions.source {
            case .styledFile(let file):
                guard FileManager.default.fileExists(atPath: file) else { throw MediaError("captions \(file): no such file") }
                (path, named) = (file, file)
            case .cues(let cues, let file):
                // The lines broken to fit, as an SRT file the subtitles filter reads, beside the
                // clip under a temporary name: removed when the re-encode ends, and by the next
                // run in the folder when a killed one could not.
                let columns = captions.columns(width: width, height: height)
                let wrapped = cues.map { SubtitleCue(start: $0.start, end: $0.end, text: CaptionLines.drawable(CaptionLines.wrap($0.text, width: columns))) }
                path = temporaryPath(for: request.output, extension: "srt")
                named = file
                temporaryCaptions = path
                do {
                    try Data(SubtitleExtractor.render(wrapped, format: "srt").utf8).write(to: URL(fileURLWithPath: path))
                } catch {
                    throw MediaError("cannot write the captions for drawing at \(path): \(error.localizedDescription)")
                }
            }
            guard let subtitles = avfilter_get_by_name("subtitles") else {
                throw MediaError("this FFmpeg's libavfilter cannot draw captions (it was built without libass)")
            }
            graph = avfilter_graph_alloc()
            filtered = av_frame_alloc()
            guard let graph, filtered != nil else { throw MediaError("out of memory") }
            let arguments = "video_size=\(width)x\(height):pix_fmt=\(AV_PIX_FMT_YUV420P.rawValue):time_base=\(timeBase.num)/\(timeBase.den):pixel_aspect=1/1"
            try MediaError.check(avfilter_graph_create_filter(&graphSource, avfilter_get_by_name("buffer"), "in", arguments, nil, graph),
                                 "cannot set up the caption drawing")
            try MediaError.check(avfilter_graph_create_filter(&graphSink, avfilter_get_by_name("buffersink"), "out", nil, nil, graph),
                                 "cannot set up the caption drawing")
            guard let drawing = avfilter_graph_alloc_filter(graph, subtitles, "captions") else { throw MediaError("out of memory") }
            var options: OpaquePointer?
            av_dict_set(&options, "filename", path, 0)
            // An ASS file keeps its own styles; SRT and WebVTT lines get aiv's.
            if case .cues = captions.source { av_dict_set(&options, "force_style", captions.style, 0) }
            let initialised = avfilter_init_dict(drawing, &options)
            av_dict_free(&options)
            try MediaError.check(initialised, "cannot read the captions \(named)")
            try MediaError.check(avfilter_link(graphSource, 0, drawing, 0), "cannot set up the caption drawing")
            try MediaError.check(avfilter_link(drawing, 0, graphSink, 0), "cannot set up the caption drawing")
            try MediaError.check(avfilter_graph_config(graph, nil), "cannot set up the caption drawing")
        }

        /// Draws a decoded frame onto the output picture: converted to 4:2:0 first when it is
        /// another format, then the crop window scaled into place, black around it.
        private func draw(_ frame: UnsafeMutablePointer<AVFrame>, into picture: UnsafeMutablePointer<AVFrame>,
                          geometry: ReframeGeometry) throws(MediaError) {
            var source = frame
            if frame.pointee.format != AV_PIX_FMT_YUV420P.rawValue {
                // Made for the first frame of another format, and again when the format changes midway.
                let key = (frame.pointee.width, frame.pointee.height, frame.pointee.format)
                if normalizerSource.map({ $0 != key }) ?? true {
                    if let normalizer { sws_freeContext(normalizer) }
                    normalizer = nil
                    av_frame_free(&normalized)
                    normalizerSource = key
                    normalized = av_frame_alloc()
                    guard let normalized else { throw MediaError("out of memory") }
                    normalized.pointee.format = AV_PIX_FMT_YUV420P.rawValue
                    normalized.pointee.width = frame.pointee.width
                    normalized.pointee.height = frame.pointee.height
                    try MediaError.check(av_frame_get_buffer(normalized, 0), "out of memory for the picture")
                    normalizer = sws_getContext(frame.pointee.width, frame.pointee.height, AVPixelFormat(frame.pointee.format),
                                                frame.pointee.width, frame.pointee.height, AV_PIX_FMT_YUV420P, SWS_BICUBIC, nil, nil, nil)
                    // From the source's range (a full-range picture's black is 0, not 16) to the limited range written.
                    if let normalizer {
                        let fullRange: Int32 = frame.pointee.color_range == AVCOL_RANGE_JPEG ? 1 : 0
                        let coefficients = sws_getCoefficients(SWS_CS_DEFAULT)
                        _ = sws_setColorspaceDetails(normalizer, coefficients, fullRange, coefficients, 0, 0, 1 << 16, 1 << 16)
                    }
                }
                guard let normalized, let normalizer else {
                    let format = av_get_pix_fmt_name(AVPixelFormat(frame.pointee.format)).map { String(cString: $0) } ?? "unknown"
                    throw MediaError("cannot convert the \(format) pictures of \(input.path) to 4:2:0")
                }
                try MediaError.check(av_frame_make_writable(normalized), "out of memory for the picture")
                let from = planes(frame, x: 0, y: 0)
                let to = planes(normalized, x: 0, y: 0)
                sws_scale(normalizer, from.pointers.map { UnsafePointer($0) }, from.strides, 0, frame.pointee.height, to.pointers, to.strides)
                source = normalized
            }
            if quarterTurns != 0 {
                source = try turned(source)
            }
            if scaler == nil {
                scaler = sws_getContext(Int32(geometry.cropWidth), Int32(geometry.cropHeight), AV_PIX_FMT_YUV420P,
                                        Int32(geometry.scaledWidth), Int32(geometry.scaledHeight), AV_PIX_FMT_YUV420P, SWS_BICUBIC, nil, nil, nil)
                guard scaler != nil else { throw MediaError("cannot scale \(geometry.cropWidth)x\(geometry.cropHeight) to \(geometry.scaledWidth)x\(geometry.scaledHeight)") }
            }
            guard Int(source.pointee.width) / 2 * 2 >= geometry.cropX + geometry.cropWidth,
                  Int(source.pointee.height) / 2 * 2 >= geometry.cropY + geometry.cropHeight else {
                throw MediaError("the video of \(input.path) changes size midway; clip.reframe takes one size throughout")
            }
            if geometry.scaledWidth != geometry.width || geometry.scaledHeight != geometry.height { fillBlack(picture) }
            let from = planes(source, x: geometry.cropX, y: geometry.cropY)
            let to = planes(picture, x: geometry.offsetX, y: geometry.offsetY)
            sws_scale(scaler, from.pointers.map { UnsafePointer($0) }, from.strides, 0, Int32(geometry.cropHeight), to.pointers, to.strides)
        }

        /// A 4:2:0 frame turned clockwise by `quarterTurns`, each plane copied pixel by pixel:
        /// libswscale scales but does not rotate, and libavfilter's transpose would bring a filter
        /// graph for one operation. (Odd sizes lose their last row or column, as 4:2:0 needs.)
        private func turned(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> UnsafeMutablePointer<AVFrame> {
            let width = Int(frame.pointee.width) / 2 * 2, height = Int(frame.pointee.height) / 2 * 2
            let sideways = quarterTurns % 2 == 1
            let (turnedWidth, turnedHeight) = sideways ? (height, width) : (width, height)
            if upright == nil {
                upright = av_frame_alloc()
                guard let upright else { throw MediaError("out of memory") }
                upright.pointee.format = AV_PIX_FMT_YUV420P.rawValue
                upright.pointee.width = Int32(turnedWidth)
                upright.pointee.height = Int32(turnedHeight)
                try MediaError.check(av_frame_get_buffer(upright, 0), "out of memory for the picture")
            }
            guard let upright, Int(upright.pointee.width) == turnedWidth, Int(upright.pointee.height) == turnedHeight else {
                throw MediaError("the video of \(input.path) changes size midway; clip.reframe takes one size throughout")
            }
            try MediaError.check(av_frame_make_writable(upright), "out of memory for the picture")
            let from = planes(frame, x: 0, y: 0), to = planes(upright, x: 0, y: 0)
            for plane in 0..<3 {
                guard let source = from.pointers[plane], let target = to.pointers[plane] else { continue }
                let shift = plane == 0 ? 0 : 1
                let (w, h) = (width >> shift, height >> shift)
                let (sourceStride, targetStride) = (Int(from.strides[plane]), Int(to.strides[plane]))
                switch quarterTurns {
                case 1:  // clockwise: the bottom-left corner becomes the top-left
                    for y in 0..<w { for x in 0..<h { target[y * targetStride + x] = source[(h - 1 - x) * sourceStride + y] } }
                case 2:
                    for y in 0..<h { for x in 0..<w { target[y * targetStride + x] = source[(h - 1 - y) * sourceStride + (w - 1 - x)] } }
                default:  // three clockwise turns: the top-right corner becomes the top-left
                    for y in 0..<w { for x in 0..<h { target[y * targetStride + x] = source[x * sourceStride + (w - 1 - y)] } }
                }
            }
            return upright
        }

        /// A 4:2:0 frame's three planes, starting at (x, y) (even numbers).
        private func planes(_ frame: UnsafeMutablePointer<AVFrame>, x: Int, y: Int) -> (pointers: [UnsafeMutablePointer<UInt8>?], strides: [Int32]) {
            let data = frame.pointee.data, lines = frame.pointee.linesize
            let strides = [lines.0, lines.1, lines.2, lines.3]
            let bases = [data.0, data.1, data.2, data.3]
            var pointers: [UnsafeMutablePointer<UInt8>?] = []
            for plane in 0..<4 {
                let shift = plane == 0 || plane == 3 ? 0 : 1
                pointers.append(bases[plane].map { $0 + (y >> shift) * Int(strides[plane]) + (x >> shift) })
            }
            return (pointers, strides)
        }

        /// Black in 4:2:0: luma `blackLuma`, chroma 128.
        private func fillBlack(_ frame: UnsafeMutablePointer<AVFrame>) {
            let data = frame.pointee.data, lines = frame.pointee.linesize
            let height = Int(frame.pointee.height)
            let planes = [(data.0, Int(lines.0), blackLuma, height), (data.1, Int(lines.1), Int32(128), height / 2),
                          (data.2, Int(lines.2), Int32(128), height / 2)]
            for (plane, stride, value, rows) in planes {
                if let plane { memset(plane, value, stride * rows) }
            }
        }
    }
}
