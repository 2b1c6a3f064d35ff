import Foundation

/// Breaks caption text into lines that fit a picture's width. libass wraps only at spaces, so a
/// Japanese line (no spaces) ran off both edges of a vertical Short. Written here because no
/// library at hand measures East Asian width (Swift's Unicode properties do not expose it, and
/// libass's own Unicode line breaking needs a libunibreak that Debian's build lacks).
public enum CaptionLines {
    /// Columns a text takes: 2 for a wide character (kana, kanji, hangul, full-width forms, an
    /// emoji however many scalars make it), 0 for a mark alone, 1 for the rest.
    public static func columns(_ text: Substring) -> Int {
        text.reduce(0) { $0 + width(of: $1) }
    }

    static func width(of character: Character) -> Int {
        let scalars = character.unicodeScalars
        if scalars.contains(where: { isWide($0) || $0.properties.isEmojiPresentation || $0.value == 0xFE0F || $0.value == 0x200D }) { return 2 }
        return scalars.allSatisfy(isZeroWidth) ? 0 : 1
    }

    static func isWide(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
             0x1F680...0x1F6FF, 0x1F900...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    static func isZeroWidth(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .enclosingMark
            || scalar.value == 0x200B || scalar.value == 0x200D || (0xFE00...0xFE0F).contains(scalar.value)
    }

    /// Text as libass should show it, not read it: a backslash starts its escapes (`\N`, `\h`),
    /// so one in a line gets a word joiner after it, which shows nothing; braces hold its override
    /// tags (and hide whatever they enclose), so they are drawn as their full-width forms.
    public static func drawable(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\u{2060}").replacingOccurrences(of: "{", with: "｛").replacingOccurrences(of: "}", with: "｝")
    }

    /// Characters a Japanese line does not start with (closing punctuation, small kana, the long
    /// vowel mark), and ones it does not end with (opening brackets): the usual line-breaking rules.
    static let noLineStart = Set("、。，．,.！？!?）)」』】〕〉》ー〜…‥・：；:;ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ")
    static let noLineEnd = Set("（(「『【〔〈《")

    /// `text` with each of its lines broken to at most `width` columns where it may break: at a
    /// space, or between wide characters. Lines come out of even length (two of 8 rather than 14
    /// and 2), and a word longer than a line is broken where it must.
    public static func wrap(_ text: String, width limit: Int) -> String {
        let limit = max(4, limit)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let width = Self.columns(line)
            guard width > limit else { return String(line) }
            let lines = (width + limit - 1) / limit
            // The narrowest width that still takes as few lines, with room for a break that cannot
            // fall exactly there; at the limit itself, however many lines it takes.
            var target = min(limit, (width + lines - 1) / lines + 1)
            var broken = greedy(line, width: target)
            while broken.count > lines, target < limit {
                target += 1
                broken = greedy(line, width: target)
            }
            return broken.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Fills each line up to `width` columns, breaking at the last place it may.
    static func greedy(_ line: Substring, width: Int) -> [String] {
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
            lines.append(String(characters[start..<end]).trimmingCharacters(in: .whitespaces))
            start = end
            while start < characters.count, characters[start] == " " { start += 1 }
        }
        return lines.filter { !$0.isEmpty }
    }

    static func mayBreak(between before: Character, and after: Character) -> Bool {
        if after == " " || before == " " { return true }
        if noLineStart.contains(after) || noLineEnd.contains(before) { return false }
        let wide = { (character: Character) in character.unicodeScalars.first.map(isWide) ?? false }
        return wide(before) || wide(after)
    }
}
