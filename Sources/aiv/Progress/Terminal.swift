import Foundation

/// What aiv asks of the terminal its output goes to.
enum Terminal {
    /// Whether standard output is a terminal that can be drawn on (not a file, a pipe, or `TERM=dumb`).
    static var isInteractive: Bool {
        isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// The terminal's width in columns, asked each time (a window can be resized); 80 when it
    /// does not say.
    static func columns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// The terminal's height in rows, asked each time; 24 when it does not say.
    static func rows() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return 24 }
        return Int(size.ws_row)
    }

    /// The width tables are fitted to: the terminal's, or nil when output goes to a file or a
    /// pipe, where a row stays one line for `grep` and `cut`.
    static var tableWidth: Int? {
        isatty(STDOUT_FILENO) != 0 ? columns() : nil
    }
}
