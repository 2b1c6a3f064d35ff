import CFFmpeg
import Foundation

/// A media problem said plainly: the file, what was being done, and FFmpeg's own words for its
/// error code (what `av_err2str` would print).
public struct MediaError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// FFmpeg's text for an error code.
    static func text(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        aiv_error_string(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The message a C loader wrote into its buffer.
    static func text(of buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Throws when `code` is negative (FFmpeg's failure convention).
    @discardableResult
    static func check(_ code: Int32, _ doing: @autoclosure () -> String) throws(MediaError) -> Int32 {
        if code < 0 { throw MediaError("\(doing()): \(text(code))") }
        return code
    }
}
