import CFFmpeg
import CFFmpegLoader

/// FFmpeg, loaded on first use (see CFFmpegLoader): every way into FFmpeg passes through `load()`.
enum FFmpegLibrary {
    /// Loads FFmpeg once and silences its own logging (aiv reports FFmpeg's complaints in its
    /// errors instead); throws, saying what is missing, when the libraries cannot be loaded.
    static func load() throws(MediaError) {
        if let problem = loadFailure { throw MediaError(problem) }
    }

    /// Why FFmpeg could not be loaded; nil when it was.
    private static let loadFailure: String? = {
        var message = [CChar](repeating: 0, count: 512)
        guard aiv_ffmpeg_load(&message, message.count) == 1 else { return String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        av_log_set_level(AV_LOG_QUIET)
        return nil
    }()
}
