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
        // Tabs keep their width in the caret line so the caret stays under the right character.
        let before = line.unicodeScalars.prefix(max(0, column - 1))
        let padding = String(before.map { $0 == "\t" ? "\t" : " " }.joined())
        let available = max(1, line.unicodeScalars.count - before.count)
        let underline = "^" + String(repeating: "~", count: max(0, min(length, available) - 1))
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
