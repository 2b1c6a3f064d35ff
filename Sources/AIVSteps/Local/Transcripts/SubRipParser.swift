/// Reads SubRip (.srt): numbered cues, a `00:01:02,500 --> 00:01:04,000` timing line, text
/// lines until a blank line.
///
/// Tolerant of what real files do: CRLF line breaks, a byte order mark, `.` instead of `,`
/// before the milliseconds, a missing cue number, a missing blank line before the next cue
/// (a number line directly followed by a timing line starts a new cue), extra blank lines,
/// `<i>`-style tags and `{\an8}`-style override codes in the text (removed).
enum SubRipParser {
    static let timingExample = "00:01:02,500 --> 00:01:04,000"

    static func parse(_ text: String) throws(TranscriptProblem) -> [TranscriptSegment] {
        let lines = numberedLines(text)
        var segments: [TranscriptSegment] = []
        var i = 0
        func isBlank(_ k: Int) -> Bool { lines[k].text.allSatisfy(\.isWhitespace) }
        func isCueNumber(_ k: Int) -> Bool {
            let t = lines[k].text.trimmingCharacters(in: .whitespaces)
            return !t.isEmpty && t.allSatisfy { $0.isASCII && $0.isNumber }
        }
        func isTiming(_ k: Int) -> Bool { k < lines.count && CueTime.parseTiming(lines[k].text) != nil }

        var passes = 0
        while i < lines.count {
            try TranscriptProblem.stopIfCancelled(&passes)
            if isBlank(i) { i += 1; continue }
            // The cue number (optional: some writers leave it out).
            if isCueNumber(i), !lines[i].text.contains("-->") {
                guard i + 1 < lines.count else {
                    throw TranscriptProblem(line: lines[i].number, "expected a timing line like \(timingExample) after cue number \(lines[i].text.trimmingCharacters(in: .whitespaces)), got the end of the file")
                }
                i += 1
            } else if !lines[i].text.contains("-->") {
                var message = "expected a cue number or a timing line like \(timingExample), got '\(lines[i].text)'"
                if lines[i].number == 1, lines[i].text.hasPrefix("WEBVTT") { message += "; this is a WebVTT file: use format: vtt" }
                throw TranscriptProblem(line: lines[i].number, message)
            }
            let (start, end) = try CueTime.timing(of: lines[i], example: timingExample)
            i += 1
            var textLines: [Substring] = []
            while i < lines.count, !isBlank(i) {
                // A cue without the blank line before it: a timing line, or a number then a timing line.
                if isTiming(i) || (isCueNumber(i) && isTiming(i + 1)) { break }
                textLines.append(lines[i].text)
                i += 1
            }
            let text = CueText.clean(textLines, timeTags: false, entities: false)
            if !text.isEmpty {
                segments.append(TranscriptSegment(start: start, end: end, speaker: nil, text: text))
            }
        }
        return segments
    }
}
