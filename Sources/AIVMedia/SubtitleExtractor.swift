import CFFmpeg
import Foundation

/// A recording's own text subtitles (SubRip, mov_text, WebVTT, ASS in mkv or mp4) as cues, so a
/// recording with captions needs no separate transcript. Subtitle packets are decoded with
/// libavcodec; the text comes from the decoder's ASS form, with styling removed.
public struct SubtitleCue: Sendable, Equatable {
    public var start: Double
    public var end: Double
    public var text: String

    public init(start: Double, end: Double, text: String) {
        self.start = start
        self.end = end
        self.text = text
    }
}

public enum SubtitleExtractor {
    /// The cues of subtitle stream `stream` (an index), or of the first one whose language is
    /// `language`, or of the first subtitle stream.
    public static func cues(of path: String, stream wanted: Int? = nil, language: String? = nil) throws(MediaError) -> (stream: MediaStream, cues: [SubtitleCue]) {
        let input = try MediaInput(path: path)
        let subtitles = input.streams.filter { $0.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_SUBTITLE }
        guard !subtitles.isEmpty else { throw MediaError("\(path) has no subtitle track") }
        let chosen: UnsafeMutablePointer<AVStream>
        if let wanted {
            guard let match = subtitles.first(where: { Int($0.pointee.index) == wanted }) else {
                throw MediaError("\(path) has no subtitle stream \(wanted); its subtitle streams are \(subtitles.map { String($0.pointee.index) }.joined(separator: ", "))")
            }
            chosen = match
        } else if let language {
            guard let match = subtitles.first(where: { MediaStream($0).language == language }) else {
                throw MediaError("\(path) has no subtitle track in '\(language)'; it has \(subtitles.map { MediaStream($0).language ?? "und" }.joined(separator: ", "))")
            }
            chosen = match
        } else {
            chosen = subtitles[0]
        }
        let info = MediaStream(chosen)
        guard let decoder = avcodec_find_decoder(chosen.pointee.codecpar.pointee.codec_id) else {
            throw MediaError("no decoder for the \(info.codec) subtitles of \(path)")
        }
        var codec = avcodec_alloc_context3(decoder)
        defer { avcodec_free_context(&codec) }
        guard let codec else { throw MediaError("out of memory") }
        try MediaError.check(avcodec_parameters_to_context(codec, chosen.pointee.codecpar), "cannot set up the \(info.codec) decoder")
        codec.pointee.pkt_timebase = chosen.pointee.time_base
        try MediaError.check(avcodec_open2(codec, decoder, nil), "cannot open the \(info.codec) decoder")

        guard let packet = av_packet_alloc() else { throw MediaError("out of memory") }
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&owned) }
        let base = chosen.pointee.time_base
        let origin = input.origin
        var cues: [SubtitleCue] = []
        while true {
            let status = av_read_frame(input.formatContext, packet)
            if status == aiv_averror_eof() { break }
            if status < 0 { throw MediaError("cannot read \(path): \(MediaError.text(status))") }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == chosen.pointee.index, let pts = seconds(packet.pointee.pts, base) else { continue }
            let start = pts - origin
            var subtitle = AVSubtitle()
            var got: Int32 = 0
            guard avcodec_decode_subtitle2(codec, &subtitle, &got, packet) >= 0, got != 0 else { continue }
            defer { avsubtitle_free(&subtitle) }
            var lines: [String] = []
            for index in 0..<Int(subtitle.num_rects) {
                guard let rect = subtitle.rects[index]?.pointee else { continue }
                if let ass = rect.ass { lines.append(plainText(fromASS: String(cString: ass))) }
                else if let text = rect.text { lines.append(String(cString: text)) }
            }
            let text = lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { continue }
            let shown = start + Double(subtitle.start_display_time) / 1000
            var end = start + Double(subtitle.end_display_time) / 1000
            if subtitle.end_display_time == 0 || end <= shown, let duration = seconds(packet.pointee.duration, base), duration > 0 {
                end = start + duration
            }
            cues.append(SubtitleCue(start: shown, end: max(end, shown), text: text))
        }
        return (info, cues.sorted { $0.start < $1.start })
    }

    /// The text of an ASS dialogue line as the decoder gives it (`ReadOrder,Layer,Style,Name,
    /// MarginL,MarginR,MarginV,Effect,Text`), without override tags; `\N` becomes a line break.
    static func plainText(fromASS line: String) -> String {
        var text = line
        if line.hasPrefix("Dialogue:") { text = String(line.dropFirst("Dialogue:".count)) }
        let fields = text.split(separator: ",", maxSplits: 8, omittingEmptySubsequences: false)
        if fields.count == 9 { text = String(fields[8]) }
        text = text.replacingOccurrences(of: #"\{[^}]*\}"#, with: "", options: .regularExpression)
        return text.replacingOccurrences(of: "\\N", with: "\n").replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\h", with: " ")
    }

    /// Cues as an SRT or WebVTT file's text.
    public static func render(_ cues: [SubtitleCue], format: String) -> String {
        func stamp(_ seconds: Double, separator: String) -> String {
            // Within what the formats can write (99:59:59.999); a time past it, or not a number, is not a crash.
            let millis = seconds.isFinite ? Int((min(max(0, seconds), 359_999.999) * 1000).rounded()) : 0
            return String(format: "%02d:%02d:%02d", millis / 3_600_000, millis / 60_000 % 60, millis / 1000 % 60)
                + separator + String(format: "%03d", millis % 1000)
        }
        if format == "vtt" {
            return "WEBVTT\n\n" + cues.map { "\(stamp($0.start, separator: ".")) --> \(stamp($0.end, separator: "."))\n\($0.text)\n" }.joined(separator: "\n")
        }
        return cues.enumerated().map { "\($0.offset + 1)\n\(stamp($0.element.start, separator: ",")) --> \(stamp($0.element.end, separator: ","))\n\($0.element.text)\n" }
            .joined(separator: "\n")
    }
}
