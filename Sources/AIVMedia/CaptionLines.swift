import AIVText
import Foundation

/// Breaks caption text into lines that fit a picture's width. libass wraps only at spaces, so a
/// Japanese line (no spaces) ran off both edges of a vertical Short. Widths and break points are
/// `TextColumns`'s (libass's own Unicode line breaking needs a libunibreak that Debian's build lacks).
public enum CaptionLines {
    /// Text as libass should show it, not read it: a backslash starts its escapes (`\N`, `\h`),
    /// so one in a line gets a word joiner after it, which shows nothing; braces hold its override
    /// tags (and hide whatever they enclose), so they are drawn as their full-width forms.
    public static func drawable(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\u{2060}").replacingOccurrences(of: "{", with: "｛").replacingOccurrences(of: "}", with: "｝")
    }

    /// `text` with each of its lines broken to at most `width` columns where it may break: at a
    /// space, or between wide characters. Lines come out of even length (two of 8 rather than 14
    /// and 2), and a word longer than a line is broken where it must.
    public static func wrap(_ text: String, width limit: Int) -> String {
        let limit = max(4, limit)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let width = TextColumns.columns(line)
            guard width > limit else { return String(line) }
            let lines = (width + limit - 1) / limit
            // The narrowest width that still takes as few lines, with room for a break that cannot
            // fall exactly there; at the limit itself, however many lines it takes.
            var target = min(limit, (width + lines - 1) / lines + 1)
            var broken = TextColumns.breakGreedily(line, width: target)
            while broken.count > lines, target < limit {
                target += 1
                broken = TextColumns.breakGreedily(line, width: target)
            }
            return broken.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
