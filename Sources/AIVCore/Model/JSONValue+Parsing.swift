import Foundation

/// Why a text is not JSON, and at which byte.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var offset: Int
    public var description: String { "invalid JSON at byte \(offset): \(message)" }

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
}

extension JSONValue {
    /// Parses JSON text (RFC 8259) straight into a value.
    ///
    /// Written here because the run reads one stored document per cached step, and decoding
    /// `JSONValue` through `Codable` (every case tried in turn, each miss a thrown error) was about
    /// 25 µs of a cached step's 240 µs of CPU in `perf`. This reads the bytes once.
    /// Numbers written without fraction or exponent that fit an `Int` stay integers, as in
    /// canonical JSON. Nesting is limited to `maximumDepth` so hostile input cannot overflow the stack.
    /// (The transcript loader's `LocatedJSON` parses JSON too, but keeps every value's line and
    /// members in file order for its error messages: more than the cache needs, and slower.)
    public init(parsing text: String) throws(JSONParseError) {
        var text = text
        self = try text.withUTF8(Self.parse).get()
    }

    /// Parses JSON bytes; see `init(parsing:)` for text.
    public init(parsing data: Data) throws(JSONParseError) {
        self = try data.withUnsafeBytes { Self.parse($0.bindMemory(to: UInt8.self)) }.get()
    }

    /// The one parse behind both initializers (a `Result`, since the closures they run it in
    /// cannot throw a typed error).
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONParseError> {
        var parser = JSONBytesParser(bytes: bytes)
        do throws(JSONParseError) {
            return .success(try parser.document())
        } catch {
            return .failure(error)
        }
    }

    /// How deep arrays and objects may nest.
    public static let maximumDepth = 512
}

private struct JSONBytesParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    func fail(_ message: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(message: message, offset: offset ?? position)
    }

    mutating func document() throws(JSONParseError) -> JSONValue {
        skipSpace()
        let value = try self.value()
        skipSpace()
        guard position == bytes.count else { throw fail("unexpected text after the value") }
        return value
    }

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    mutating func value() throws(JSONParseError) -> JSONValue {
        guard position < bytes.count else { throw fail("unexpected end of text") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected \(Self.describe(bytes[position]))")
        }
    }

    /// A byte as an error names it: the character when it is printable ASCII, else its value.
    static func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "character '\(Character(Unicode.Scalar(byte)))'" : String(format: "byte 0x%02X", byte)
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
              memcmp(bytes.baseAddress! + position, word.utf8Start, count) == 0 else { throw fail("expected '\(word)'") }
        position += count
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        guard depth <= JSONValue.maximumDepth else { throw fail("nested deeper than \(JSONValue.maximumDepth) levels") }
    }

    mutating func array() throws(JSONParseError) -> JSONValue {
        try enter()
        position += 1
        var items: [JSONValue] = []
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value())
            skipSpace()
            guard position < bytes.count else { throw fail("unterminated list") }
            let next = bytes[position]
            position += 1
            if next == UInt8(ascii: "]") { break }
            guard next == UInt8(ascii: ",") else { throw fail("expected ',' or ']' in a list", at: position - 1) }
        }
        depth -= 1
        return .array(items)
    }

    mutating func object() throws(JSONParseError) -> JSONValue {
        try enter()
        position += 1
        var members: [String: JSONValue] = [:]
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(members)
        }
        // Room for a few members at once: growing a dictionary one member at a time rehashes it
        // at every step, most of reading the small objects a cache entry holds.
        members.reserveCapacity(6)
        while true {
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
            let key = try string()
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':' after a member name") }
            position += 1
            skipSpace()
            // A repeated name keeps its last value, as JSONSerialization does (JSONDecoder keeps the
            // first); what aiv stores is canonical JSON, where no name repeats.
            members[key] = try value()
            skipSpace()
            guard position < bytes.count else { throw fail("unterminated object") }
            let next = bytes[position]
            position += 1
            if next == UInt8(ascii: "}") { break }
            guard next == UInt8(ascii: ",") else { throw fail("expected ',' or '}' in an object", at: position - 1) }
        }
        depth -= 1
        return .object(members)
    }

    mutating func string() throws(JSONParseError) -> String {
        let opening = position
        position += 1
        let start = position
        // The common case: no escape, so the bytes between the quotes are the string.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                guard let text = String(validating: slice, as: UTF8.self) else { throw fail("a string is not valid UTF-8", at: opening) }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw fail("a control character inside a string must be escaped") }
            position += 1
        }
        var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: scratch, as: UTF8.self) else { throw fail("a string is not valid UTF-8", at: opening) }
                return text
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw fail("unterminated string", at: opening) }
                let escape = bytes[position]
                position += 1
                if escape == UInt8(ascii: "u") {
                    scratch.append(contentsOf: try unicodeEscape())
                } else if let byte = JSONEscape.byte(for: escape) {
                    scratch.append(byte)
                } else {
                    throw fail("unknown escape '\\' followed by \(Self.describe(escape))", at: position - 2)
                }
            default:
                guard byte >= 0x20 else { throw fail("a control character inside a string must be escaped", at: position - 1) }
                scratch.append(byte)
            }
        }
        throw fail("unterminated string", at: opening)
    }

    /// The UTF-8 of a `\uXXXX` escape (a surrogate pair is two escapes); `position` is after the `u`.
    mutating func unicodeEscape() throws(JSONParseError) -> [UInt8] {
        let first = try hex4()
        var scalarValue = UInt32(first)
        if (0xD800...0xDBFF).contains(first) {
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw fail("a high surrogate escape must be followed by a low one")
            }
            position += 2
            let second = try hex4()
            guard (0xDC00...0xDFFF).contains(second) else { throw fail("a high surrogate escape must be followed by a low one") }
            scalarValue = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(first) {
            throw fail("a low surrogate escape without a high one")
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw fail("an escape that is not a Unicode scalar") }
        return Array(String(scalar).utf8)
    }

    mutating func hex4() throws(JSONParseError) -> UInt16 {
        guard position + 4 <= bytes.count else { throw fail("a \\u escape needs four hex digits") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = position
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw fail("a number needs a digit", at: start) }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) { throw fail("a number may not start with 0", at: start) }
        } else {
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        var integral = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            integral = false
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("a digit must follow '.'") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            integral = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("a digit must follow the exponent") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if integral, let whole = Int(text) { return .int(whole) }
        guard let real = Double(text), real.isFinite else { throw fail("number out of range", at: start) }
        return .double(real)
    }
}

/// JSON's one-character string escapes, which both of aiv's JSON readers decode (this one, and
/// the transcript reader that locates errors by line).
public enum JSONEscape {
    /// The byte `\` followed by `escape` stands for; nil for `u` (four hex digits follow) and
    /// for anything JSON does not allow.
    public static func byte(for escape: UInt8) -> UInt8? {
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): escape
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }
}
