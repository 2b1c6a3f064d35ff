/// How many columns text takes on a terminal or in a caption, and where a line of it may break.
/// Shared by the caption lines of a Short and by the tables and progress lines aiv prints: a
/// Japanese step id or error takes two columns a character in both. Written here because no
/// library at hand measures East Asian width (Swift's Unicode properties do not expose it, glibc's
/// `wcwidth` answers only under a UTF-8 locale, and libass's line breaking needs a libunibreak
/// that Debian's build lacks).
public enum TextColumns {
    /// Columns a text takes: 2 for a wide character (kana, kanji, hangul, full-width forms, an
    /// emoji however many scalars make it), 0 for a mark alone, 1 for the rest.
    public static func columns<Text: StringProtocol>(_ text: Text) -> Int {
        text.reduce(0) { $0 + width(of: $1) }
    }

    public static func columns(_ text: String) -> Int {
        // All ASCII, the common case for a table cell, by its bytes (a fraction of the cost).
        text.utf8.allSatisfy { $0 < 0x80 } ? text.utf8.count : columns(text[...])
    }

    public static func width(of character: Character) -> Int {
        let scalars = character.unicodeScalars
        if scalars.contains(where: { isWide($0) || $0.properties.isEmojiPresentation || $0.value == 0xFE0F || $0.value == 0x200D }) { return 2 }
        return scalars.allSatisfy(isZeroWidth) ? 0 : 1
    }

    static func isWide(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
             0x1F680...0x1F6FF, 0x1F900...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    static func isZeroWidth(_ scalar: Unicode.Scalar) -> Bool {
        // Marks that sit on the character before, and format characters (a left-to-right mark, the
        // word joiner a caption puts after a backslash), which show nothing.
        scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .enclosingMark
            || scalar.properties.generalCategory == .format
            || scalar.value == 0x200B || scalar.value == 0x200D || (0xFE00...0xFE0F).contains(scalar.value)
    }

    /// `line` cut to at most `limit` columns, with "…" (one of them) where it was cut.
    public static func cut(_ line: String, to limit: Int) -> String {
        guard columns(line) > limit else { return line }
        var kept = ""
        var used = 0
        for character in line {
            let width = width(of: character)
            if used + width > max(0, limit - 1) { break }
            kept.append(character)
            used += width
        }
        return kept + "…"
    }

    /// Characters a Japanese line does not start with (closing punctuation, small kana, the long
    /// vowel mark), and ones it does not end with (opening brackets): the usual line-breaking rules.
    static let noLineStart = Set("、。，．,.！？!?）)」』】〕〉》ー〜…‥・：；:;ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ")
    static let noLineEnd = Set("（(「『【〔〈《")

    /// `line` filled up to `width` columns a line, each broken at the last place it may: at a
    /// space, or between wide characters (not before closing punctuation or after an opening
    /// bracket); a word longer than a line is broken where it must. Lines come out without
    /// blanks at either end, and none empty.
    public static func breakGreedily(_ line: Substring, width: Int) -> [String] {
        let width = max(1, width)
        let characters = Array(line)
        var lines: [String] = []
        var start = 0
        while start < characters.count {
            var used = 0, end = start, lastBreak: Int?
            while end < characters.count {
                let next = Self.width(of: characters[end])
                if used + next > width, end > start { break }
                used += next
                end += 1
                if end < characters.count, mayBreak(between: characters[end - 1], and: characters[end]) { lastBreak = end }
            }
            if end < characters.count, let lastBreak, lastBreak > start { end = lastBreak }
            lines.append(trimmingBlanks(characters[start..<end]))
            start = end
            while start < characters.count, characters[start] == " " { start += 1 }
        }
        return lines.filter { !$0.isEmpty }
    }

    static func trimmingBlanks(_ characters: ArraySlice<Character>) -> String {
        let blank: (Character) -> Bool = { $0.isWhitespace && !$0.isNewline }
        guard let first = characters.firstIndex(where: { !blank($0) }), let last = characters.lastIndex(where: { !blank($0) }) else { return "" }
        return String(characters[first...last])
    }

    static func mayBreak(between before: Character, and after: Character) -> Bool {
        if after == " " || before == " " { return true }
        if noLineStart.contains(after) || noLineEnd.contains(before) { return false }
        let wide = { (character: Character) in character.unicodeScalars.first.map(isWide) ?? false }
        return wide(before) || wide(after)
    }
}
