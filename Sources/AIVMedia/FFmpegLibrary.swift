import CFFmpeg
import CFFmpegLoader

/// FFmpeg, loaded on first use (see CFFmpegLoader): every way into FFmpeg passes through `load()`.
enum FFmpegLibrary {
    /// Loads FFmpeg once and silences its own logging (aiv reports FFmpeg's complaints in its
    /// errors instead); throws, saying what is missing, when the libraries cannot be loaded.
    static func load() throws(MediaError) {
        if let problem = loadFailure { throw MediaError(problem) }
    }

    /// libswscale (scaling pictures), loaded on first use by the steps that re-encode.
    static func loadScaling() throws(MediaError) {
        if let problem = scalingFailure { throw MediaError(problem) }
    }

    /// libavfilter (captions drawn with libass), loaded on first use by the steps that draw them.
    static func loadFilters() throws(MediaError) {
        if let problem = filtersFailure { throw MediaError(problem) }
    }

    private static let scalingFailure: String? = {
        var message = [CChar](repeating: 0, count: 512)
        return aiv_swscale_load(&message, message.count) == 1 ? nil : MediaError.text(of: message)
    }()

    private static let filtersFailure: String? = {
        var message = [CChar](repeating: 0, count: 512)
        return aiv_avfilter_load(&message, message.count) == 1 ? nil : MediaError.text(of: message)
    }()

    /// Why FFmpeg could not be loaded; nil when it was.
    private static let loadFailure: String? = {
        var message = [CChar](repeating: 0, count: 512)
        guard aiv_ffmpeg_load(&message, message.count) == 1 else { return MediaError.text(of: message) }
        av_log_set_level(AV_LOG_QUIET)
        return nil
    }()
}
