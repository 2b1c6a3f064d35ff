import Foundation

/// A JSON value: what expressions evaluate to, what steps take as arguments and return as outputs.
///
/// Integers and floating-point numbers are kept apart so that `3` stays `3` in canonical JSON
/// (cache keys hash that text) and in rendered prompts.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int, .double: "number"
        case .string: "string"
        case .array: "list"
        case .object: "object"
        }
    }

    /// Truthiness for `if:` and `&&`/`||`: null, false, 0, "" and [] are false; everything else is true.
    public var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .double(let d): d != 0 && !d.isNaN
        case .string(let s): !s.isEmpty
        case .array(let a): !a.isEmpty
        case .object: true
        }
    }

    public var numberValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// The text a value becomes when interpolated into a string: strings as they are, numbers in
    /// their shortest form, null as nothing, lists and objects as canonical JSON.
    public var interpolationText: String {
        switch self {
        case .null: ""
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .double(let d): JSONValue.format(d)
        case .string(let s): s
        case .array, .object: canonicalJSON
        }
    }

    static func format(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return "\(d)"
    }

    /// JSON with sorted keys and no insignificant whitespace: equal values give equal text.
    public var canonicalJSON: String {
        String(decoding: canonicalBytes, as: UTF8.self)
    }

    /// `canonicalJSON` as UTF-8 bytes, what a cache key hashes. Written into a byte array rather
    /// than a `String`: appending to a `String` and scanning one through its `utf8` view cost
    /// about a thousand instructions per string written, most of an up-to-date step's key.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        writeCanonical(into: &out)
        return out
    }

    func writeCanonical(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): out.append(contentsOf: (d.isFinite ? JSONValue.format(d) : "null").utf8)
        case .string(let s): JSONValue.writeQuoted(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // Sorted as `String` sorts (Unicode order), which is byte order for the ASCII keys
            // nearly every object has.
            for (i, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeQuoted(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// JSON whose objects list their keys in a given order: `keyOrder` maps an object's JSON
    /// Pointer (RFC 6901, "" for the whole value) to the keys it writes first, in that order; the
    /// rest follow sorted. For a reader that cares about order, as Gemini does about a schema's
    /// properties (it answers in the order they are written); `canonicalBytes` stays sorted.
    public func bytes(keyOrder: [String: [String]]) -> [UInt8] {
        var out: [UInt8] = []
        write(into: &out, pointer: "", keyOrder: keyOrder)
        return out
    }

    private func write(into out: inout [UInt8], pointer: String, keyOrder: [String: [String]]) {
        switch self {
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out, pointer: pointer + "/" + String(i), keyOrder: keyOrder)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let first = (keyOrder[pointer] ?? []).filter { members[$0] != nil }
            let written = Set(first)
            let keys = first + members.keys.filter { !written.contains($0) }.sorted()
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeQuoted(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out, pointer: pointer + "/" + JSONValue.pointerToken(key), keyOrder: keyOrder)
            }
            out.append(UInt8(ascii: "}"))
        default:
            writeCanonical(into: &out)
        }
    }

    /// A key as a JSON Pointer token: `~` and `/` escaped as `~0` and `~1`.
    public static func pointerToken(_ key: String) -> String {
        key.contains("~") || key.contains("/") ? key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") : key
    }

    static func writeQuoted(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { bytes in
            out.append(UInt8(ascii: "\""))
            var plainFrom = 0
            // Indexed rather than `enumerated()`: unspecialized, that iterator looked up generic
            // metadata for every byte, a fifth of the time of writing a long transcript's outputs.
            var offset = 0
            while offset < bytes.count {
                let byte = bytes[offset]
                defer { offset += 1 }
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom..<offset]))
                plainFrom = offset + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
                case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
                case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
                default:
                    func hex(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10 }
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hex(byte >> 4))
                    out.append(hex(byte & 0x0f))
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom...]))
            out.append(UInt8(ascii: "\""))
        }
    }
}

extension JSONValue {
    /// Numbers compare by value (`5 == 5.0`): canonical JSON writes both as `5`, so a result read
    /// back from the cache equals the one that was stored.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.int, .double), (.double, .int), (.double, .double): lhs.numberValue == rhs.numberValue
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .int, .double: hasher.combine(numberValue)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o): hasher.combine(o)
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int.self) {
            self = .int(i)
        } else if let d = try? container.decode(Double.self) {
            self = .double(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

/// One JSON object written member by member, in the order given, with no dictionary built and
/// no keys sorted: for lines written many times a run (the `--json` events), where building and
/// sorting a dictionary per line showed in profiles. Give members in sorted order to match
/// canonical JSON.
public struct JSONObjectText {
    private var text: [UInt8] = [UInt8(ascii: "{")]
    private var empty = true
    #if DEBUG
    private var lastKey: String?
    #endif

    public init() {}

    public mutating func add(_ key: String, _ value: JSONValue) {
        #if DEBUG
        // The members of event lines are listed by hand: a debug build checks their order.
        assert(lastKey.map { $0 < key } ?? true, "JSONObjectText: '\(key)' comes after '\(lastKey ?? "")'; give members in sorted order")
        lastKey = key
        #endif
        if !empty { text.append(UInt8(ascii: ",")) }
        empty = false
        JSONValue.writeQuoted(key, into: &text)
        text.append(UInt8(ascii: ":"))
        value.writeCanonical(into: &text)
    }

    /// The object's text, closed.
    public var closed: String {
        let object = self
        return String(decoding: object.closedBytes(), as: UTF8.self)
    }

    /// The object's text as UTF-8, closed, without copying it: an event line is written as bytes.
    public consuming func closedBytes() -> [UInt8] {
        text.append(UInt8(ascii: "}"))
        return text
    }
}
