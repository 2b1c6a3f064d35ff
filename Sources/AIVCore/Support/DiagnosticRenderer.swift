import Foundation

/// Prints diagnostics the way compilers do: `file:line:col: error: message`, the source line,
/// and a caret under the place, then notes. Source lines are read once per file.
public struct DiagnosticRenderer {
    public var useColor: Bool
    private var files: [String: SourceFile?] = [:]

    public init(useColor: Bool = false, files: [SourceFile] = []) {
        self.useColor = useColor
        for file in files { self.files[file.path] = file }
    }

    public mutating func render(_ diagnostics: Diagnostics) -> String {
        diagnostics.sorted.map { render($0) }.joined()
    }

    public mutating func render(_ diagnostic: Diagnostic) -> String {
        var out = ""
        let label = diagnostic.severity == .error ? paint("error", "1;31") : paint("warning", "1;33")
        out += header(diagnostic.location) + label + ": " + paint(diagnostic.message, "1") + "\n"
        out += excerpt(diagnostic.location, length: diagnostic.length)
        for note in diagnostic.notes {
            out += header(note.location) + paint("note", "1;36") + ": " + note.message + "\n"
            out += excerpt(note.location, length: 1)
        }
        return out
    }

    func header(_ location: SourceLocation?) -> String {
        location.map { paint("\($0): ", "1") } ?? ""
    }

    mutating func excerpt(_ location: SourceLocation?, length: Int) -> String {
        guard let location, let file = source(location.file), var line = file.line(location.line) else { return "" }
        var column = location.column
        // A long line (a minified value, a multi-megabyte scalar) is shown as the stretch around
        // the place, so a thousand problems on it do not print it a thousand times whole.
        // (Counting bytes, never the whole line's scalars: that alone would be quadratic.)
        let scalars = line.unicodeScalars
        if line.utf8.count > Self.widestExcerpt,
           let widest = scalars.index(scalars.startIndex, offsetBy: Self.widestExcerpt, limitedBy: scalars.endIndex), widest < scalars.endIndex {
            let start = max(0, column - 1 - Self.widestExcerpt / 4)
            let from = scalars.index(scalars.startIndex, offsetBy: start, limitedBy: scalars.endIndex) ?? scalars.endIndex
            let to = scalars.index(from, offsetBy: Self.widestExcerpt, limitedBy: scalars.endIndex) ?? scalars.endIndex
            line = Substring((start > 0 ? "…" : "") + String(scalars[from..<to]) + (to < scalars.endIndex ? "…" : ""))
            column = column - start + (start > 0 ? 1 : 0)
        }
        let number = String(location.line)
        let gutter = String(repeating: " ", count: number.count)
        // Tabs keep their width in the caret line, and a character a terminal draws two cells
        // wide (kana, kanji, most emoji) takes two spaces, so the caret stays under it.
        let shown = Array(line.unicodeScalars)
        let widths = TerminalWidth.cells(shown)
        let before = min(max(0, column - 1), shown.count)
        let padding = String(zip(shown[..<before], widths).map { $0 == "\t" ? "\t" : String(repeating: " ", count: $1) }.joined())
        let cells = max(1, widths[before..<min(shown.count, before + max(1, length))].reduce(0, +))
        let underline = "^" + String(repeating: "~", count: cells - 1)
        return " \(number) | \(line)\n \(gutter) | \(padding)\(paint(underline, "1;32"))\n"
    }

    /// Columns of a source line shown under a diagnostic, at most.
    public static let widestExcerpt = 160

    mutating func source(_ path: String) -> SourceFile? {
        if let cached = files[path] { return cached }
        let file = path.hasPrefix("<") ? nil : try? SourceFile.read(path)
        files[path] = .some(file)
        return file
    }

    func paint(_ text: String, _ code: String) -> String {
        useColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}

/// How many terminal cells a character takes: two for East Asian wide and fullwidth characters
/// and emoji shown as pictures, none for combining marks and invisible format characters, one
/// otherwise. Written here because the C library's `wcwidth` answers only under a UTF-8 locale,
/// which a library must not set for its process, and no package in reach has the table; these
/// ranges are the wide blocks of Unicode's East Asian Width property (UAX #11).
enum TerminalWidth {
    /// Each scalar's cells in context: an emoji variation selector (U+FE0F) widens the character
    /// before it to two cells, and a flag's two regional indicators take two cells between them.
    static func cells(_ scalars: [Unicode.Scalar]) -> [Int] {
        var widths = scalars.map(of)
        for index in scalars.indices.dropFirst() where scalars[index].value == 0xFE0F && widths[index - 1] == 1 {
            widths[index] = 1
        }
        return widths
    }

    static func of(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x300 { return 1 }
        if (0x1F1E6...0x1F1FF).contains(value) { return 1 }  // a regional indicator: half a flag
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if scalar.properties.isEmojiPresentation { return 2 }
        for range in wide where range.contains(value) { return 2 }
        return 1
    }

    static let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF,
        0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
        0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF,
        0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]
}
