/// Finds where a character of a YAML string value is written in its file, for a diagnostic
/// inside the string (an expression's unknown step, say) that should point at its real line and column.
///
/// A value's text is not its source: escapes (`\t`, `\u00e9`), a doubled `''`, and the folding of
/// quoted, plain and `>` scalars over several lines all change it. libyaml gives the scalar's
/// start only, so this walks the scalar from there with libyaml's own rules
/// (`yaml_parser_scan_flow_scalar`, `_plain_scalar` and `_block_scalar`), pairing every character it
/// produces with the place it was read from. Written here because no library maps a scalar's text
/// back to its source. Each produced character is compared with the value's text as it goes: any
/// difference (a rule this walk does not model, such as an explicit indentation indicator or a
/// line break other than LF and CRLF) gives nil, and the caller falls back to a coarser location.
enum ScalarSourceMap {
    /// Where the `offset`-th character (a `Character` offset, as expression errors count) of
    /// `text`, the value of the scalar that starts at `start` in `source`, is written.
    /// `budget`: characters the walk may read, less what it read; it goes to 0 or below when
    /// the walk stopped for want of it.
    static func location(ofCharacter offset: Int, in text: String, scalarAt start: SourceLocation, source: SourceFile,
                         budget: inout Int) -> SourceLocation? {
        // Finding the character and the start are walks too: along the value, along the start's line.
        budget -= offset + start.column
        guard budget > 0, offset >= 0, let characterIndex = text.index(text.startIndex, offsetBy: offset, limitedBy: text.endIndex),
              characterIndex < text.endIndex, let sourceIndex = source.index(of: start) else { return nil }
        let target = text.unicodeScalars.distance(from: text.startIndex, to: characterIndex)
        var walk = Walk(scalars: source.text.unicodeScalars, index: sourceIndex, line: start.line, column: start.column,
                        expected: Array(text.unicodeScalars.prefix(target + 1)), budget: budget)
        defer { budget = walk.budget }
        do throws(Walk.Stop) {
            try walk.scalar()
            return nil
        } catch {
            guard case .found(let line, let column) = error else { return nil }
            return SourceLocation(fileNumber: start.fileNumber, line: line, column: column)
        }
    }

    /// A walk over a scalar's source that stops at the wanted character or at the first difference.
    struct Walk {
        let scalars: String.UnicodeScalarView
        var index: String.UnicodeScalarView.Index
        /// Where `index` is (1-based; columns count Unicode scalars).
        var line: Int, column: Int
        /// The value's text up to and including the wanted character, which is the last.
        let expected: [Unicode.Scalar]
        var produced = 0
        /// Characters the walk may still read; at 0 it ends as if the file did.
        var budget: Int

        enum Stop: Error {
            case found(line: Int, column: Int)
            case differs
        }

        typealias Position = (line: Int, column: Int)

        var position: Position { (line, column) }

        func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
            var i = index
            for _ in 0..<ahead {
                guard i < scalars.endIndex else { return nil }
                i = scalars.index(after: i)
            }
            return i < scalars.endIndex ? scalars[i] : nil
        }

        mutating func skip() {
            guard index < scalars.endIndex else { return }
            budget -= 1
            if budget <= 0 {
                index = scalars.endIndex
                return
            }
            if scalars[index] == "\n" { line += 1; column = 1 } else { column += 1 }
            index = scalars.index(after: index)
        }

        /// Adds a character of the value, read at `position`.
        mutating func produce(_ scalar: Unicode.Scalar, at position: Position) throws(Stop) {
            guard produced < expected.count, expected[produced] == scalar else { throw .differs }
            produced += 1
            if produced == expected.count { throw .found(line: position.line, column: position.column) }
        }

        mutating func produce(_ scalars: [(Unicode.Scalar, Position)]) throws(Stop) {
            for (scalar, position) in scalars { try produce(scalar, at: position) }
        }

        static func isBlank(_ scalar: Unicode.Scalar?) -> Bool { scalar == " " || scalar == "\t" }
        /// LF and CRLF only: SourceFile numbers lines by LF, and libyaml also breaks lines at a
        /// lone CR, NEL, LS and PS, where the two would disagree. Those end the walk.
        func isBreak() throws(Stop) -> Bool {
            switch peek() {
            case "\n": return true
            case "\r": if peek(1) == "\n" { return true } else { throw .differs }
            case "\u{85}", "\u{2028}", "\u{2029}": throw .differs
            default: return false
            }
        }
        var atEnd: Bool { index >= scalars.endIndex }

        func atBlankOrBreak() throws(Stop) -> Bool {
            if Self.isBlank(peek()) { return true }
            return try isBreak()
        }

        /// Reads a line break; it stands for one "\n" in the value.
        mutating func readBreak() -> (Unicode.Scalar, Position) {
            let at = position
            if peek() == "\r" { skip() }
            skip()
            return ("\n", at)
        }

        mutating func scalar() throws(Stop) {
            // Node properties (a tag, an anchor) come before the scalar and are where its event starts.
            while peek() == "!" || peek() == "&" {
                while let c = peek(), !Self.isBlank(c), try !isBreak() { skip() }
                while Self.isBlank(peek()) { skip() }
            }
            switch peek() {
            case "\"": skip(); try flow(single: false)
            case "'": skip(); try flow(single: true)
            case "|": skip(); try block(literal: true)
            case ">": skip(); try block(literal: false)
            case nil: throw .differs
            default: try plain()
            }
        }

        /// A single- or double-quoted scalar, from just after its opening quote.
        mutating func flow(single: Bool) throws(Stop) {
            while !atEnd {
                var gap = Gap()
                while let c = peek(), !Self.isBlank(c), try !isBreak() {
                    let at = position
                    if single, c == "'" {
                        guard peek(1) == "'" else { break }
                        skip(); skip()
                        try produce("'", at: at)
                    } else if !single, c == "\"" {
                        break
                    } else if !single, c == "\\" {
                        skip()
                        if try isBreak() {
                            _ = readBreak()  // an escaped line break joins the lines with nothing
                            gap.folds = true
                            break
                        }
                        try produce(try escape(), at: at)
                    } else {
                        skip()
                        try produce(c, at: at)
                    }
                }
                if peek() == (single ? "'" : "\"") { return }
                try readGap(into: &gap)
                try produce(gap)
            }
        }

        /// The blanks and line breaks between two stretches of a flow or plain scalar's text.
        struct Gap {
            var whitespace: [(Unicode.Scalar, Position)] = []
            var leadingBreak: Position?
            var trailingBreaks: [(Unicode.Scalar, Position)] = []
            /// Whether the lines fold here: a line break was read (or an escaped one, which has no
            /// `leadingBreak` and so adds no space).
            var folds = false
        }

        /// Reads blanks and line breaks as libyaml does between a scalar's stretches of text.
        mutating func readGap(into gap: inout Gap) throws(Stop) {
            while try atBlankOrBreak() {
                if Self.isBlank(peek()) {
                    if !gap.folds { gap.whitespace.append((peek()!, position)) }
                    skip()
                } else if !gap.folds {
                    gap.whitespace = []
                    gap.leadingBreak = readBreak().1
                    gap.folds = true
                } else {
                    gap.trailingBreaks.append(readBreak())
                }
            }
        }

        /// What a gap stands for in the value: its blanks within a line; where lines fold, a
        /// space for one line break and all but the first for several.
        mutating func produce(_ gap: Gap) throws(Stop) {
            guard gap.folds else { return try produce(gap.whitespace) }
            if let leadingBreak = gap.leadingBreak, gap.trailingBreaks.isEmpty { try produce(" ", at: leadingBreak) }
            try produce(gap.trailingBreaks)
        }

        /// YAML's one-character escapes (after the backslash) and what each stands for.
        static let simpleEscapes: [Unicode.Scalar: Unicode.Scalar] = [
            "0": "\0", "a": "\u{07}", "b": "\u{08}", "t": "\t", "\t": "\t", "n": "\n", "v": "\u{0B}", "f": "\u{0C}",
            "r": "\r", "e": "\u{1B}", " ": " ", "\"": "\"", "/": "/", "'": "'", "\\": "\\", "N": "\u{85}",
            "_": "\u{A0}", "L": "\u{2028}", "P": "\u{2029}",
        ]

        /// The character a backslash escape stands for, read from just after the backslash.
        mutating func escape() throws(Stop) -> Unicode.Scalar {
            guard let c = peek() else { throw .differs }
            skip()
            if let decoded = Self.simpleEscapes[c] { return decoded }
            let digits = c == "x" ? 2 : c == "u" ? 4 : c == "U" ? 8 : 0
            guard digits > 0 else { throw .differs }
            var value: UInt32 = 0
            for _ in 0..<digits {
                guard let d = peek(), d.isASCII, let digit = Character(d).hexDigitValue else { throw .differs }
                value = value * 16 + UInt32(digit)
                skip()
            }
            guard let decoded = Unicode.Scalar(value) else { throw .differs }
            return decoded
        }

        /// A plain scalar: its lines folded as a quoted scalar's are, each join made only when
        /// more text follows it (trailing blanks and breaks are not part of the value).
        mutating func plain() throws(Stop) {
            var gap = Gap()
            while !atEnd {
                if peek() == "#" { return }
                while let c = peek(), !Self.isBlank(c), try !isBreak() {
                    if c == ":", Self.isBlank(peek(1)) || peek(1) == nil || peek(1) == "\n" || peek(1) == "\r" { return }
                    try produce(gap)
                    gap = Gap()
                    let at = position
                    skip()
                    try produce(c, at: at)
                }
                try readGap(into: &gap)
            }
        }

        /// A literal (`|`) or folded (`>`) block scalar, from just after its indicator.
        mutating func block(literal: Bool) throws(Stop) {
            // Chomping (+, -) changes only the end of the value; an explicit indentation depends on
            // the parent's indentation, which is not known here.
            while peek() == "+" || peek() == "-" { skip() }
            if let c = peek(), ("0"..."9").contains(c) { throw .differs }
            while !atEnd, try !isBreak() { skip() }  // blanks and a comment
            guard !atEnd else { throw .differs }
            _ = readBreak()
            var indent = 0
            var trailingBreaks = try blockBreaks(indent: &indent)
            var leadingBreak: (Unicode.Scalar, Position)?
            var leadingBlank = false
            while column - 1 == indent, !atEnd {
                let trailingBlank = Self.isBlank(peek())
                if !literal, leadingBreak != nil, !leadingBlank, !trailingBlank {
                    // Lines of text next to each other fold into one; an empty line between them stays.
                    if trailingBreaks.isEmpty { try produce(" ", at: leadingBreak!.1) }
                    leadingBreak = nil
                }
                if let leadingBreak { try produce(leadingBreak.0, at: leadingBreak.1) }
                try produce(trailingBreaks)
                leadingBlank = Self.isBlank(peek())
                while let c = peek(), try !isBreak() {
                    let at = position
                    skip()
                    try produce(c, at: at)
                }
                guard !atEnd else { return }
                leadingBreak = readBreak()
                trailingBreaks = try blockBreaks(indent: &indent)
            }
            if let leadingBreak { try produce(leadingBreak.0, at: leadingBreak.1) }
            try produce(trailingBreaks)
        }

        /// Skips a block scalar's indentation and its empty lines; the first call (indent 0) finds
        /// the indentation as libyaml does, from the most-indented of those lines.
        mutating func blockBreaks(indent: inout Int) throws(Stop) -> [(Unicode.Scalar, Position)] {
            var breaks: [(Unicode.Scalar, Position)] = []
            var widest = 0
            while true {
                while indent == 0 || column - 1 < indent, peek() == " " { skip() }
                widest = max(widest, column - 1)
                guard try isBreak() else { break }
                breaks.append(readBreak())
            }
            if indent == 0 { indent = max(widest, 1) }
            return breaks
        }
    }
}
