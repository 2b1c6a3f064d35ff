import Foundation

/// Messages to standard error. aiv ignores SIGPIPE (a reader that goes away must not kill a run
/// halfway), and then Foundation's non-throwing `FileHandle.write(_:)` traps on EPIPE: every
/// message goes through the throwing write here instead, and one nobody reads is dropped.
public enum StandardError {
    public static func write(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }
}
