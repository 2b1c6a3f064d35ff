import AIVCore

/// One timed line of a transcript, as the parsers read it (before sorting and numbering).
struct TranscriptSegment: Sendable, Equatable {
    var start: Double
    var end: Double
    var speaker: String?
    var text: String
}

/// The transcript formats `transcript.load` reads.
enum TranscriptFormat: String, Sendable {
    case srt, vtt, json

    /// The format a file's extension names, nil for any other extension.
    init?(extensionOf path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        self.init(rawValue: name[name.index(after: dot)...].lowercased())
    }

    /// The format the text shows beyond doubt: a `WEBVTT` header, a JSON list or object, or a
    /// SubRip cue (a number, then a timing line); nil for anything else (an empty file, a typo).
    init?(identifying text: String) {
        let start = text.unicodeScalars.drop { $0 == "\u{FEFF}" || $0.properties.isWhitespace }
        if start.starts(with: "WEBVTT".unicodeScalars) {
            self = .vtt
        } else if let first = start.first, first == "[" || first == "{" {
            self = .json
        } else {
            let lines = String(String.UnicodeScalarView(start.prefix(200))).split(whereSeparator: \.isNewline).prefix(2)
            guard lines.count == 2, let number = lines.first?.trimmingCharacters(in: .whitespaces), !number.isEmpty,
                  number.allSatisfy({ $0.isASCII && $0.isNumber }), lines.last?.contains("-->") == true else { return nil }
            self = .srt
        }
    }
}

/// A problem at a line of the transcript file; the step adds the file's name.
struct TranscriptProblem: Error, Equatable {
    var line: Int
    var message: String

    init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    /// Not a problem of the file: the step was cancelled (a timeout, a failed sibling) while a
    /// long transcript was being read, and stops rather than reading on to the end.
    static let cancelled = TranscriptProblem(line: 0, "cancelled")

    /// Throws `cancelled` when the task is, looking every 1,024th time it is asked (`passes`
    /// counts the times), so a parser's loop pays next to nothing for it.
    static func stopIfCancelled(_ passes: inout Int) throws(TranscriptProblem) {
        passes &+= 1
        if passes & 1023 == 0, Task.isCancelled { throw cancelled }
    }
}

/// The lines of a text, numbered from 1, with `\n`, `\r\n` or `\r` as the break and a leading
/// byte order mark dropped. Split on scalars: Swift treats `\r\n` as one `Character`.
func numberedLines(_ text: String) -> [(number: Int, text: Substring)] {
    var lines: [(number: Int, text: Substring)] = []
    let scalars = text.unicodeScalars
    var start = scalars.startIndex
    if start < scalars.endIndex, scalars[start] == "\u{FEFF}" { start = scalars.index(after: start) }
    var index = start
    var number = 1
    while index < scalars.endIndex {
        let scalar = scalars[index]
        if scalar == "\n" || scalar == "\r" {
            lines.append((number, Substring(scalars[start..<index])))
            var next = scalars.index(after: index)
            if scalar == "\r", next < scalars.endIndex, scalars[next] == "\n" { next = scalars.index(after: next) }
            number += 1
            start = next
            index = next
        } else {
            index = scalars.index(after: index)
        }
    }
    if start < scalars.endIndex { lines.append((number, Substring(scalars[start..<scalars.endIndex]))) }
    return lines
}

/// Cue timestamps as subtitle files write them: `HH:MM:SS,mmm` (SubRip), `HH:MM:SS.mmm` or
/// `MM:SS.mmm` (WebVTT). Both separators are accepted in both formats.
enum CueTime {
    /// Seconds, or nil when `text` is not a timestamp. Computed from whole milliseconds, so
    /// `00:00:09,030` gives exactly the `Double` that the JSON `9.03` gives.
    static func parse(_ text: Substring) -> Double? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        var hours = 0
        if parts.count == 3 {
            guard let h = digits(parts[0], count: nil) else { return nil }
            hours = h
        }
        guard let minutes = digits(parts[parts.count - 2], count: 2), minutes < 60 else { return nil }
        let last = parts[parts.count - 1]
        guard let separator = last.firstIndex(where: { $0 == "," || $0 == "." }) else { return nil }
        let fraction = last[last.index(after: separator)...]
        guard let seconds = digits(last[..<separator], count: 2), seconds < 60,
              (1...3).contains(fraction.count), let f = digits(fraction, count: nil) else { return nil }
        let milliseconds = f * [100, 10, 1][fraction.count - 1]
        let total = ((hours * 60 + minutes) * 60 + seconds) * 1000 + milliseconds
        return Double(total) / 1000
    }

    /// `start --> end`, with anything after the end (WebVTT cue settings, SubRip coordinates)
    /// ignored. Nil when the line is not a timing line.
    static func parseTiming(_ line: Substring) -> (start: Double, end: Double)? {
        guard let arrow = line.range(of: "-->") else { return nil }
        let left = line[..<arrow.lowerBound].trimmingCharacters(in: .whitespaces)
        let right = line[arrow.upperBound...].drop { $0 == " " || $0 == "\t" }
        let endText = right.prefix { $0 != " " && $0 != "\t" }
        guard let start = parse(Substring(left)), let end = parse(endText) else { return nil }
        return (start, end)
    }

    /// A cue's timing line, checked: it parses, and the cue does not end before it starts.
    /// `example` shows the format in the message (SubRip and WebVTT write milliseconds differently).
    static func timing(of line: (number: Int, text: Substring), example: String) throws(TranscriptProblem) -> (start: Double, end: Double) {
        guard let (start, end) = parseTiming(line.text) else {
            throw TranscriptProblem(line: line.number, "expected a timing line like \(example), got '\(line.text)'")
        }
        guard end >= start else {
            throw TranscriptProblem(line: line.number, "the cue ends before it starts: '\(line.text)'")
        }
        return (start, end)
    }

    private static func digits(_ text: Substring, count: Int?) -> Int? {
        guard !text.isEmpty, count == nil || text.count == count, text.count <= 9,
              text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}

/// Cleaning of subtitle text: markup removed, whitespace trimmed, empty lines dropped.
enum CueText {
    /// The text of a cue's lines with tags (`<i>`, `</font>`, `<c.yellow>`, and in WebVTT
    /// `<00:01:02.000>` time tags) and SubRip/ASS override codes (`{\an8}`) removed, each line
    /// trimmed, empty lines dropped, joined with "\n". `entities` decodes WebVTT's `&amp;` etc.
    static func clean(_ lines: [Substring], timeTags: Bool, entities: Bool) -> String {
        lines.map { line in
            var text = stripMarkup(line, timeTags: timeTags)
            if entities { text = decodeEntities(text) }
            return text.trimmingCharacters(in: .whitespaces)
        }
        .filter { !$0.isEmpty }
        .joined(separator: "\n")
    }

    /// The name of the first WebVTT voice tag (`<v Name>`, `<v.loud Name>`), if any.
    static func voice(in lines: [Substring]) -> String? {
        for line in lines {
            var rest = line[...]
            while let open = rest.range(of: "<v") {
                let after = rest[open.upperBound...]
                guard let first = after.first, first == " " || first == "\t" || first == "." else {
                    rest = after
                    continue
                }
                guard let close = after.firstIndex(of: ">") else { break }
                var annotation = after[..<close]
                if annotation.first == "." {
                    // Classes (`<v.loud.first Name>`) come before the name.
                    annotation = annotation.drop { $0 != " " && $0 != "\t" }
                }
                let name = decodeEntities(String(annotation)).trimmingCharacters(in: .whitespaces)
                if !name.isEmpty { return name }
                rest = after[close...]
            }
        }
        return nil
    }

    /// Tags subtitle files use (WebVTT's, and the HTML-like ones SubRip players honour). Only
    /// these are markup: other text in angle brackets ("a<b and b>c", "<3") is text.
    static let knownTags: Set<Substring> = ["i", "b", "u", "s", "c", "v", "lang", "ruby", "rt", "rp", "font", "span", "br"]

    /// Whether what follows a tag's name closes it as markup: nothing, WebVTT classes (`.yellow`),
    /// a self-closing slash, or, for the tags that take them, attributes (`<font color=…>`,
    /// `<v Aoi>`). "<b and b>" in "a<b and b>c" is text.
    static func isTagEnd(_ after: Substring, name: String) -> Bool {
        guard let first = after.first else { return true }
        let rest = after.trimmingCharacters(in: .whitespaces)
        if first == "." || rest.isEmpty || rest == "/" { return true }
        return first.isWhitespace && ["font", "span", "v", "lang", "c"].contains(name)
    }

    /// The line without its markup. Ruby readings (`<rt>かんじ</rt>`) and their fallback
    /// parentheses (`<rp>`) go with their tags, leaving the base text (漢字); `<br>` breaks the line.
    static func stripMarkup(_ line: Substring, timeTags: Bool) -> String {
        var out = ""
        var rest = line[...]
        /// Inside `<rt>` or `<rp>`: its text is dropped until the tag closes.
        var skipping: String?
        while let c = rest.first {
            if c == "<", let close = rest.firstIndex(of: ">") {
                let inner = rest[rest.index(after: rest.startIndex)..<close]
                let closing = inner.first == "/"
                let body = closing ? inner.dropFirst() : inner
                let name = body.prefix { $0.isASCII && ($0.isLetter || $0.isNumber) }.lowercased()
                let isTimeTag = timeTags && !closing && (inner.first?.isASCII ?? false) && (inner.first?.isNumber ?? false)
                if isTimeTag || (Self.knownTags.contains(Substring(name)) && Self.isTagEnd(body.dropFirst(name.count), name: name)) {
                    rest = rest[rest.index(after: close)...]
                    if skipping != nil {
                        // WebVTT lets the last </rt> go unwritten: </ruby> or the next reading ends it too.
                        if closing, name == skipping || name == "ruby" {
                            skipping = nil
                        } else if !closing, name == "rt" || name == "rp" {
                            skipping = name
                        }
                    } else if !closing, name == "rt" || name == "rp" {
                        skipping = name
                    } else if name == "br" {
                        out.append("\n")
                    }
                    continue
                }
            }
            if c == "{", rest.dropFirst().first == "\\", let close = rest.firstIndex(of: "}") {
                rest = rest[rest.index(after: close)...]
                continue
            }
            if skipping == nil { out.append(c) }
            rest = rest.dropFirst()
        }
        return out
    }

    private static let namedEntities: [Substring: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}",
        "lrm": "\u{200E}", "rlm": "\u{200F}",
    ]

    /// `&amp;`, `&lt;`, `&#12354;`, `&#x3042;`…; anything else is left as written.
    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semicolon = after.prefix(12).firstIndex(of: ";") {
                let name = after[..<semicolon]
                var decoded: String?
                if let named = namedEntities[name] {
                    decoded = named
                } else if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    decoded = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else if name.hasPrefix("#") {
                    decoded = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                }
                if let decoded {
                    out += decoded
                    rest = after[after.index(after: semicolon)...]
                    continue
                }
            }
            out += "&"
            rest = after
        }
        out += rest
        return out
    }
}
