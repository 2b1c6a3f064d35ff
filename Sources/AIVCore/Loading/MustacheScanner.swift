/// Lists the variables a Mustache template reads, with where each is first used.
///
/// Written by hand because swift-mustache parses templates but keeps its token tree internal,
/// and swift-mustache renders a missing variable as an empty string, silently: this scan lets
/// validation compare a template's variables with what the step passes before anything runs.
/// Names are reported by their first part (`{{a.b}}` reads `a`); those read only inside a section
/// are marked so, as they may be fields of the section's items, which are not known statically.
struct MustacheScanner {
    struct Variable: Equatable {
        var name: String
        var line: Int
        var column: Int
        /// Read inside a section, where the name may be a field of the section's item or, by
        /// Mustache's lookup through enclosing contexts, a top-level variable: it counts as a
        /// use of a variable passed in, but its absence is not an error.
        var insideSection = false
        /// The sections it is read inside, outermost first; an inverted one (`{{^x}}`, which
        /// pushes no context) as `^x`. Each read inside sections is listed once per such stack,
        /// so the checker can look the name up where Mustache would.
        var sections: [String] = []
    }

    struct Problem: Error, Equatable {
        var message: String
        var line: Int
        var column: Int
        /// Where the section that a wrong closing tag meets was opened; the caller says where
        /// that is in its file (`message` ends where that place belongs).
        var opening: Position?
    }

    struct Position: Equatable {
        var line: Int
        var column: Int
    }

    /// The deepest sections may nest: a section renders once per item of each section around
    /// it, and Mustache finds an outer list again by name, so 40 levels over a list of two
    /// render 2^40 times. Real templates nest two or three deep.
    static let maxSectionDepth = 8

    /// The most tags a template may hold. swift-mustache's parser measures the rest of the text
    /// for every tag it reads (a `String` distance, linear), so its time grows with the square of
    /// the tag count: 5,000 tags take 0.4 s, 20,000 take 6 s. A prompt or page template has tens.
    static let maxTags = 5_000

    /// Scans `text`; lines and columns are 1-based within `text`. A variable's place is that of
    /// its name inside the tag (`{{ name }}` → the `n`), where a caret under it belongs.
    static func variables(in text: String) -> Result<[Variable], Problem> {
        var open = "{{", close = "}}"
        var found: [Variable] = []
        var sections: [(name: String, line: Int, column: Int, inverted: Bool)] = []
        let scalars = Array(text.unicodeScalars)
        var i = 0, line = 1, column = 1

        func matches(_ token: String, at position: Int) -> Bool {
            let t = Array(token.unicodeScalars)
            guard position + t.count <= scalars.count else { return false }
            for k in 0..<t.count where scalars[position + k] != t[k] { return false }
            return true
        }
        func advance(_ count: Int) {
            for _ in 0..<count where i < scalars.count {
                if scalars[i] == "\n" { line += 1; column = 1 } else { column += 1 }
                i += 1
            }
        }
        /// Where the name in a tag's content starts: past `skipping` leading scalars (spaces, a sigil).
        func namePosition(contentStart: Int, line startLine: Int, column startColumn: Int, skipping: (Unicode.Scalar) -> Bool) -> (Int, Int) {
            var (l, c, k) = (startLine, startColumn, contentStart)
            while k < i, skipping(scalars[k]) {
                if scalars[k] == "\n" { l += 1; c = 1 } else { c += 1 }
                k += 1
            }
            return (l, c)
        }
        func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" }

        func record(_ name: String, at line: Int, _ column: Int) {
            guard name != "." else { return }
            // swift-mustache's transforms look like `uppercased(name)`.
            var base = name
            if let open = base.firstIndex(of: "("), base.hasSuffix(")") {
                base = String(base[base.index(after: open)..<base.index(before: base.endIndex)])
            }
            let root = String(base.split(separator: ".").first ?? Substring(base))
            guard !root.isEmpty else { return }
            if !sections.isEmpty {
                let stack = sections.map { $0.inverted ? "^" + $0.name : $0.name }
                guard !found.contains(where: { $0.name == root && $0.sections == stack }) else { return }
                found.append(Variable(name: root, line: line, column: column, insideSection: true, sections: stack))
                return
            }
            // The first top-level use is what a missing value is reported at.
            guard !found.contains(where: { $0.name == root && !$0.insideSection }) else { return }
            found.append(Variable(name: root, line: line, column: column))
        }
        var tags = 0
        while i < scalars.count {
            guard matches(open, at: i) else { advance(1); continue }
            let tagLine = line, tagColumn = column
            tags += 1
            guard tags <= maxTags else {
                return .failure(Problem(message: "more than \(maxTags) tags; the template engine's time grows with the square of the tag count (split the text, or put repeated parts in a section over a list)",
                                        line: tagLine, column: tagColumn))
            }
            advance(open.unicodeScalars.count)
            var triple = false
            if open == "{{", i < scalars.count, scalars[i] == "{" { triple = true; advance(1) }
            let start = i, startLine = line, startColumn = column
            let closing = triple ? "}" + close : close
            while i < scalars.count, !matches(closing, at: i) { advance(1) }
            guard i < scalars.count else {
                return .failure(Problem(message: "unclosed tag '\(open)'", line: tagLine, column: tagColumn))
            }
            var content = String(String.UnicodeScalarView(scalars[start..<i])).trimmingCharacters(in: .whitespacesAndNewlines)
            // The name's place: past the spaces, the sigil (`#`, `^`, `&`) and the spaces after it.
            var sigilSeen = false
            let (nameLine, nameColumn) = namePosition(contentStart: start, line: startLine, column: startColumn) { scalar in
                if isSpace(scalar) { return true }
                if !sigilSeen, !triple, "#^&".unicodeScalars.contains(scalar) { sigilSeen = true; return true }
                return false
            }
            advance(closing.unicodeScalars.count)
            if triple { record(content, at: nameLine, nameColumn); continue }
            guard let sigil = content.first else {
                return .failure(Problem(message: "empty tag", line: tagLine, column: tagColumn))
            }
            switch sigil {
            case "!", "%": continue
            case "=":
                guard content.hasSuffix("=") else { return .failure(Problem(message: "bad set-delimiter tag", line: tagLine, column: tagColumn)) }
                let parts = content.dropFirst().dropLast().split(separator: " ", omittingEmptySubsequences: true)
                guard parts.count == 2 else { return .failure(Problem(message: "bad set-delimiter tag", line: tagLine, column: tagColumn)) }
                (open, close) = (String(parts[0]), String(parts[1]))
            case "#", "^":
                content = String(content.dropFirst()).trimmingCharacters(in: .whitespacesAndNewlines)
                record(content, at: nameLine, nameColumn)
                // Inverted sections render once at most: only the others multiply.
                guard sigil == "^" || sections.filter({ !$0.inverted }).count < maxSectionDepth else {
                    return .failure(Problem(message: "sections nest more than \(maxSectionDepth) deep; each level renders once per item of the one around it, so a deeper template can take hours",
                                            line: tagLine, column: tagColumn))
                }
                sections.append((content, tagLine, tagColumn, sigil == "^"))
            case "/":
                content = String(content.dropFirst()).trimmingCharacters(in: .whitespacesAndNewlines)
                guard let last = sections.popLast() else {
                    return .failure(Problem(message: "'\(open)/\(content)\(close)' closes no open section", line: tagLine, column: tagColumn))
                }
                guard last.name == content else {
                    return .failure(Problem(message: "'\(open)/\(content)\(close)' closes section '\(last.name)' opened at", line: tagLine, column: tagColumn,
                                            opening: Position(line: last.line, column: last.column)))
                }
            case ">", "<", "$":
                return .failure(Problem(message: "partials and blocks are not supported: a prompt or template is one file, so write their text in place", line: tagLine, column: tagColumn))
            case "&":
                record(String(content.dropFirst()).trimmingCharacters(in: .whitespacesAndNewlines), at: nameLine, nameColumn)
            default:
                record(content, at: nameLine, nameColumn)
            }
        }
        if let unclosed = sections.last {
            return .failure(Problem(message: "section '\(unclosed.name)' is never closed", line: unclosed.line, column: unclosed.column))
        }
        return .success(found)
    }
}

import Foundation
