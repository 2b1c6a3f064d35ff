import Foundation

/// Where a workflow's `steps:` list can be cut so that its parts are read on several cores.
///
/// libyaml reads one document on one thread, and reading a 1,000-step workflow into located values
/// was the largest part of validating it. A workflow is mostly its list of steps, and each item of
/// a block list starts on a line of its own, at the list's indentation, with `- `: the list can be
/// read as a few smaller lists, each from the line where one of its items starts, and the rest of
/// the file (with the list's lines blanked) as one more document.
///
/// This is safe only where such a line really starts an item, which a line scan cannot know (a
/// quoted string may run over several lines). The cut is therefore checked by what the parts give
/// (`YAMLReader.readSplit`): any part that reports anything, defines an anchor, or does not have
/// the expected shape, and a rest of the file that does not read the `steps:` line found as its
/// `steps` key (that line could sit inside a string or a bracket opened before it), send the whole
/// file to the one-thread reader, so diagnostics always come from reading the file whole. Whatever
/// spans a cut between items leaves the part before it unfinished (an unclosed quote or bracket),
/// and a plain or block scalar ends at a line indented as little as an item of the list, in the
/// whole file as in a part.
struct StepsSplit {
    /// Byte ranges of the parts of the list, in order; each starts at the start of a line.
    var parts: [Range<Int>]
    /// 0-based line number where each part starts.
    var firstLines: [Int]
    /// The bytes the list takes (from its first item to the end of its last), blanked in the rest of the file.
    var list: Range<Int>
    /// 0-based line of the `steps:` key: the rest of the file must read it as its key there.
    var stepsLine: Int

    /// Cuts the list of `bytes` into at most `count` parts of similar size; nil when the file does
    /// not have the plain shape this needs (one `steps:` key at the start of a line with nothing
    /// after it, then a block list, no document markers or directives).
    static func find(in bytes: UnsafeBufferPointer<UInt8>, parts count: Int) -> StepsSplit? {
        let newline = UInt8(ascii: "\n"), space = UInt8(ascii: " "), hash = UInt8(ascii: "#"), dash = UInt8(ascii: "-")
        var itemStarts: [(offset: Int, line: Int)] = []
        var stepsLine: Int?
        var indent: Int?
        var listEnd: Int?
        var lineStart = 0, line = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != newline {
                // Line breaks libyaml counts besides LF (a lone CR, NEL, LS, PS) would put the
                // parts' line numbers out of step with the file's: such a file is read whole.
                if Self.isOtherLineBreak(bytes, at: lineEnd) { return nil }
                lineEnd += 1
            }
            var column = 0
            while lineStart + column < lineEnd, bytes[lineStart + column] == space { column += 1 }
            let first = lineStart + column
            let isBlankOrComment = first == lineEnd || bytes[first] == hash || bytes[first] == UInt8(ascii: "\r")
            let text = bytes[first..<lineEnd]
            // Document markers and directives: one document, read whole.
            if column == 0, text.first == UInt8(ascii: "%") || text.starts(with: "---".utf8) || text.starts(with: "...".utf8) {
                return nil
            }
            if column == 0, Self.isStepsKey(text) {
                guard stepsLine == nil else { return nil }  // a second `steps:`: the whole reading reports it
                stepsLine = line
            } else if stepsLine != nil, listEnd == nil, !isBlankOrComment {
                let isItem = bytes[first] == dash && (first + 1 == lineEnd || bytes[first + 1] == space || bytes[first + 1] == UInt8(ascii: "\r"))
                if indent == nil {
                    guard isItem else { return nil }  // `steps:` not followed by a block list
                    indent = column
                }
                if column == indent, isItem {
                    itemStarts.append((lineStart, line))
                } else if column < indent! || (column == indent! && !isItem) {
                    listEnd = lineStart
                }
            }
            lineStart = lineEnd + 1
            line += 1
        }
        let count = min(count, itemStarts.count)
        guard let firstItem = itemStarts.first, count >= 2 else { return nil }
        let end = listEnd ?? bytes.count
        // Parts of about equal bytes, each from an item's first line and with at least one item.
        var cuts = [0]
        for part in 1..<count {
            let target = firstItem.offset + (end - firstItem.offset) * part / count
            var next = cuts[part - 1] + 1
            while next < itemStarts.count - (count - part), itemStarts[next].offset < target { next += 1 }
            cuts.append(next)
        }
        cuts.append(itemStarts.count)
        let parts = (0..<count).map { part in
            itemStarts[cuts[part]].offset..<(cuts[part + 1] < itemStarts.count ? itemStarts[cuts[part + 1]].offset : end)
        }
        return StepsSplit(parts: parts, firstLines: cuts.dropLast().map { itemStarts[$0].line }, list: firstItem.offset..<end,
                          stepsLine: stepsLine!)
    }

    /// A CR not followed by LF, or NEL (U+0085), LS (U+2028) or PS (U+2029) in UTF-8.
    static func isOtherLineBreak(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        switch bytes[i] {
        case UInt8(ascii: "\r"): return i + 1 == bytes.count || bytes[i + 1] != UInt8(ascii: "\n")
        case 0xC2: return i + 1 < bytes.count && bytes[i + 1] == 0x85
        case 0xE2: return i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9)
        default: return false
        }
    }

    /// `steps:` with nothing after it but spaces and a comment.
    static func isStepsKey(_ line: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        guard line.starts(with: "steps:".utf8) else { return false }
        let after = line.dropFirst(6)
        let rest = after.drop { $0 == UInt8(ascii: " ") }
        // A comment needs a space before it (`steps:#` is a different key).
        return rest.isEmpty || (rest.first == UInt8(ascii: "#") && rest.count < after.count) || rest.elementsEqual("\r".utf8)
    }
}
