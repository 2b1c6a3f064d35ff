import AIVCore

/// Reads a JSON transcript: a list of `{start, end, text, speaker?}` objects (times in seconds),
/// or an object whose `segments` member is that list (as Whisper writes). `duration` may stand
/// in for `end` (as YouTube transcript lists have it). Other members are ignored; text is trimmed.
///
/// It parses the JSON itself, keeping each value's line, so a problem is reported where it is
/// (`transcript.json:14: segment 3 has no 'end'`), which Foundation's decoders cannot say.
enum JSONTranscriptParser {
    static func parse(_ text: String) throws(TranscriptProblem) -> [TranscriptSegment] {
        let root = try LocatedJSON.parse(text)
        let list: [LocatedJSON]
        switch root.content {
        case .array(let items):
            list = items
        case .object(let members):
            guard let segments = members.last(where: { $0.key == "segments" })?.value else {
                throw TranscriptProblem(line: root.line, "expected a list of segments, or an object with a 'segments' list; this object has no 'segments'")
            }
            guard case .array(let items) = segments.content else {
                throw TranscriptProblem(line: segments.line, "'segments' must be a list of {start, end, text} objects, got \(segments.kind)")
            }
            list = items
        default:
            throw TranscriptProblem(line: root.line, "expected a list of segments, or an object with a 'segments' list, got \(root.kind)")
        }
        var segments: [TranscriptSegment] = []
        segments.reserveCapacity(list.count)
        var passes = 0
        for (i, item) in list.enumerated() {
            try TranscriptProblem.stopIfCancelled(&passes)
            guard case .object(let members) = item.content else {
                throw TranscriptProblem(line: item.line, "segment \(i) must be an object with start, end and text, got \(item.kind)")
            }
            func member(_ name: String) -> LocatedJSON? { members.last { $0.key == name }?.value }
            func seconds(_ name: String) throws(TranscriptProblem) -> Double {
                guard let value = member(name) else {
                    throw TranscriptProblem(line: item.line, "segment \(i) has no '\(name)' (seconds)")
                }
                guard case .number(let number) = value.content else {
                    throw TranscriptProblem(line: value.line, "segment \(i): '\(name)' must be a number of seconds, got \(value.kind)")
                }
                guard number >= 0 else {
                    throw TranscriptProblem(line: value.line, "segment \(i): '\(name)' must be 0 or more, got \(value.text)")
                }
                // More than a year (the longest span aiv reads anywhere) is no stream's time: most
                // likely milliseconds.
                guard number <= Durations.limit else {
                    throw TranscriptProblem(line: value.line, "segment \(i): '\(name)' is \(value.text) seconds, more than a year into the stream; are the times in milliseconds? (aiv reads seconds)")
                }
                return number
            }
            let start = try seconds("start")
            let end: Double
            if member("end") == nil, member("duration") != nil {
                // YouTube's transcript lists give {text, start, duration}.
                end = start + (try seconds("duration"))
            } else {
                end = try seconds("end")
                guard end >= start else {
                    throw TranscriptProblem(line: member("end")!.line, "segment \(i) ends (\(member("end")!.text)) before it starts (\(member("start")!.text))")
                }
            }
            guard let textValue = member("text") else {
                throw TranscriptProblem(line: item.line, "segment \(i) has no 'text'")
            }
            guard case .string(let text) = textValue.content else {
                throw TranscriptProblem(line: textValue.line, "segment \(i): 'text' must be a string, got \(textValue.kind)")
            }
            var speaker: String?
            if let speakerValue = member("speaker") {
                switch speakerValue.content {
                case .null: break
                case .string(let name): speaker = name.trimmingCharacters(in: .whitespaces).isEmpty ? nil : name
                default:
                    throw TranscriptProblem(line: speakerValue.line, "segment \(i): 'speaker' must be a string or null, got \(speakerValue.kind)")
                }
            }
            segments.append(TranscriptSegment(start: start, end: end, speaker: speaker,
                                              text: text.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return segments
    }
}

/// A JSON value with the line it starts on.
struct LocatedJSON {
    enum Content {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([LocatedJSON])
        /// Members in file order (duplicates kept; readers take the last, as JSONSerialization does).
        case object([(key: String, value: LocatedJSON)])
    }

    var content: Content
    var line: Int
    /// The source text of a scalar, for messages.
    var text: String

    var kind: String {
        switch content {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }

    static let maximumDepth = 256

    static func parse(_ text: String) throws(TranscriptProblem) -> LocatedJSON {
        var reader = Reader(bytes: Array(text.utf8))
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        if reader.position < reader.bytes.count {
            throw reader.problem("unexpected \(reader.describeCurrent()) after the JSON value")
        }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0
        var line = 1

        init(bytes: [UInt8]) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        }

        func problem(_ message: String) -> TranscriptProblem {
            TranscriptProblem(line: line, "invalid JSON: \(message)")
        }

        func describeCurrent() -> String {
            guard position < bytes.count else { return "end of the file" }
            let rest = bytes[position...].prefix(20)
            let word = rest.prefix { !Reader.isStructural($0) && !Reader.isSpace($0) }
            let shown = word.isEmpty ? rest.prefix(1) : word
            return "'\(String(decoding: shown, as: UTF8.self))'"
        }

        static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        static func isStructural(_ b: UInt8) -> Bool { [UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","), UInt8(ascii: ":")].contains(b) }

        mutating func skipWhitespace() {
            while position < bytes.count, Reader.isSpace(bytes[position]) {
                if bytes[position] == 0x0A || (bytes[position] == 0x0D && (position + 1 == bytes.count || bytes[position + 1] != 0x0A)) {
                    line += 1
                }
                position += 1
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(TranscriptProblem) {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == byte else {
                throw problem("expected \(what), got \(describeCurrent())")
            }
            position += 1
        }

        mutating func value(depth: Int) throws(TranscriptProblem) -> LocatedJSON {
            skipWhitespace()
            guard depth < LocatedJSON.maximumDepth else { throw problem("nested more than \(LocatedJSON.maximumDepth) levels deep") }
            guard position < bytes.count else { throw problem("expected a value, got the end of the file") }
            let startLine = line
            switch bytes[position] {
            case UInt8(ascii: "["):
                position += 1
                var items: [LocatedJSON] = []
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return LocatedJSON(content: .array(items), line: startLine, text: "[]")
                }
                while true {
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard position < bytes.count else { throw problem("expected ',' or ']' in the list, got the end of the file") }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "]") { position += 1; break }
                    throw problem("expected ',' or ']' in the list, got \(describeCurrent())")
                }
                return LocatedJSON(content: .array(items), line: startLine, text: "[…]")
            case UInt8(ascii: "{"):
                position += 1
                var members: [(key: String, value: LocatedJSON)] = []
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return LocatedJSON(content: .object(members), line: startLine, text: "{}")
                }
                while true {
                    skipWhitespace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                        throw problem("expected a member name in double quotes, got \(describeCurrent())")
                    }
                    let key = try string()
                    try expect(UInt8(ascii: ":"), "':' after the member name")
                    members.append((key, try value(depth: depth + 1)))
                    skipWhitespace()
                    guard position < bytes.count else { throw problem("expected ',' or '}' in the object, got the end of the file") }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "}") { position += 1; break }
                    throw problem("expected ',' or '}' in the object, got \(describeCurrent())")
                }
                return LocatedJSON(content: .object(members), line: startLine, text: "{…}")
            case UInt8(ascii: "\""):
                let s = try string()
                return LocatedJSON(content: .string(s), line: startLine, text: s)
            case UInt8(ascii: "t"):
                try literal("true")
                return LocatedJSON(content: .bool(true), line: startLine, text: "true")
            case UInt8(ascii: "f"):
                try literal("false")
                return LocatedJSON(content: .bool(false), line: startLine, text: "false")
            case UInt8(ascii: "n"):
                try literal("null")
                return LocatedJSON(content: .null, line: startLine, text: "null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try number()
            default:
                throw problem("expected a value, got \(describeCurrent())")
            }
        }

        mutating func literal(_ word: String) throws(TranscriptProblem) {
            let expected = Array(word.utf8)
            guard bytes[position...].starts(with: expected) else { throw problem("expected a value, got \(describeCurrent())") }
            position += expected.count
        }

        /// A number by JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        mutating func number() throws(TranscriptProblem) -> LocatedJSON {
            let start = position
            func digits() -> Int {
                let from = position
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
                return position - from
            }
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            let whole = position
            guard digits() > 0, !(bytes[whole] == UInt8(ascii: "0") && position - whole > 1) else {
                position = start
                throw problem("expected a value, got \(describeCurrent())")
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { position = start; throw problem("bad number \(describeCurrent())") }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                guard digits() > 0 else { position = start; throw problem("bad number \(describeCurrent())") }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            guard let value = Double(text), value.isFinite else { throw problem("number \(text) is out of range") }
            return LocatedJSON(content: .number(value), line: line, text: text)
        }

        /// A string starting at the opening quote; escapes decoded, raw line breaks refused.
        mutating func string() throws(TranscriptProblem) -> String {
            position += 1
            var out: [UInt8] = []
            while true {
                guard position < bytes.count else { throw problem("a string is not closed before the end of the file") }
                let b = bytes[position]
                switch b {
                case UInt8(ascii: "\""):
                    position += 1
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.count else { throw problem("a string is not closed before the end of the file") }
                    let e = bytes[position]
                    position += 1
                    if let byte = JSONEscape.byte(for: e) {
                        out.append(byte)
                        continue
                    }
                    switch e {
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            // A surrogate pair: \uD83D\uDE00.
                            guard bytes[position...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]) else {
                                throw problem("a \\u escape has a lone surrogate")
                            }
                            position += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw problem("a \\u escape has a lone surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw problem("a \\u escape has a lone surrogate") }
                        out.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default:
                        position -= 1
                        throw problem("unknown escape '\\\(String(decoding: [e], as: UTF8.self))' in a string")
                    }
                case 0x0A, 0x0D:
                    throw problem("a string is not closed before the end of its line")
                case 0x00..<0x20:
                    throw problem("a string contains a control character; write it as an escape")
                default:
                    out.append(b)
                    position += 1
                }
            }
        }

        mutating func hex4() throws(TranscriptProblem) -> UInt32 {
            guard position + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else {
                throw problem("a \\u escape needs four hexadecimal digits")
            }
            position += 4
            return value
        }
    }
}
