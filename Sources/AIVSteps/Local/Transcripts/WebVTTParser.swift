/// Reads WebVTT (.vtt): a `WEBVTT` header, then blocks separated by blank lines. A cue block is
/// an optional identifier line, a timing line (`00:01.000 --> 00:04.000`, hours optional, cue
/// settings after the end time ignored) and text lines, up to a blank line or the next timing line. NOTE, STYLE and REGION blocks are
/// skipped. A `<v Name>` voice tag gives the segment's speaker; tags and time tags are removed
/// and character references (`&amp;`) decoded.
enum WebVTTParser {
    static let timingExample = "00:01:02.500 --> 00:01:04.000"

    static func parse(_ text: String) throws(TranscriptProblem) -> [TranscriptSegment] {
        let lines = numberedLines(text)
        guard let first = lines.first, first.text.hasPrefix("WEBVTT"),
              first.text.count == 6 || [" ", "\t"].contains(first.text.dropFirst(6).first) else {
            let got = lines.first.map { "'\($0.text)'" } ?? "an empty file"
            throw TranscriptProblem(line: 1, "a WebVTT file starts with a 'WEBVTT' line, got \(got)")
        }
        var segments: [TranscriptSegment] = []
        var i = 1
        func isBlank(_ k: Int) -> Bool { lines[k].text.allSatisfy(\.isWhitespace) }
        // The header runs to the first blank line.
        while i < lines.count, !isBlank(i) { i += 1 }

        var passes = 0
        while i < lines.count {
            try TranscriptProblem.stopIfCancelled(&passes)
            if isBlank(i) { i += 1; continue }
            let blockStart = lines[i].text
            if isBlock(blockStart, named: "NOTE") || isBlock(blockStart, named: "STYLE") || isBlock(blockStart, named: "REGION") {
                while i < lines.count, !isBlank(i) { i += 1 }
                continue
            }
            // An identifier line, unless the block starts with its timing line.
            if !blockStart.contains("-->") {
                i += 1
                guard i < lines.count, !isBlank(i) else {
                    throw TranscriptProblem(line: lines[i - 1].number, "expected a timing line like \(timingExample) after cue identifier '\(blockStart)', got \(i < lines.count ? "a blank line" : "the end of the file")")
                }
            }
            let (start, end) = try CueTime.timing(of: lines[i], example: timingExample)
            i += 1
            var textLines: [Substring] = []
            // Cue text never holds "-->": a line with it starts the next cue even without the
            // blank line before it (as WebVTT's own parsing rules read it).
            while i < lines.count, !isBlank(i), !lines[i].text.contains("-->") {
                textLines.append(lines[i].text)
                i += 1
            }
            // A cue where two people speak (`<v Aoi>…` then `<v Mio>…`) gives a segment per
            // voice, at the cue's times: each line goes to the one who said it.
            var voices: [(speaker: String?, lines: [Substring])] = []
            for line in textLines {
                let speaker = CueText.voice(in: [line])
                if let last = voices.last, speaker == nil || speaker == last.speaker {
                    voices[voices.count - 1].lines.append(line)
                } else {
                    voices.append((speaker, [line]))
                }
            }
            // Lines before the first voice tag (a "♪") go with the first voice, as a whole cue did.
            if voices.count > 1, voices[0].speaker == nil {
                let unvoiced = voices.removeFirst().lines
                voices[0].lines.insert(contentsOf: unvoiced, at: 0)
            }
            for voice in voices {
                let text = CueText.clean(voice.lines, timeTags: true, entities: true)
                if !text.isEmpty { segments.append(TranscriptSegment(start: start, end: end, speaker: voice.speaker, text: text)) }
            }
        }
        return segments
    }

    /// Whether a block starts with `name` as a word (`NOTE`, `NOTE this is…`).
    private static func isBlock(_ line: Substring, named name: String) -> Bool {
        guard line.hasPrefix(name) else { return false }
        let next = line.dropFirst(name.count).first
        return next == nil || next == " " || next == "\t"
    }
}
