import AIVCore
import AIVTestSupport
import Foundation
import Testing

@Suite struct JSONParsingTests {
    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        (" false ", .bool(false)),
        ("0", .int(0)),
        ("-12", .int(-12)),
        ("9223372036854775807", .int(Int.max)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("1.5", .double(1.5)),
        ("-0.25e2", .double(-25)),
        ("2E+3", .double(2000)),
        ("1e+15", .double(1e15)),
        (#""""#, .string("")),
        (#""plain text""#, .string("plain text")),
        (#""a\"b\\c\/d\b\f\n\r\t""#, .string("a\"b\\c/d\u{08}\u{0C}\n\r\t")),
        (#""\u00e9\u3042""#, .string("éあ")),
        (#""\ud83d\ude00 smile""#, .string("😀 smile")),
        ("\"日本語のテキスト\"", .string("日本語のテキスト")),
        ("[]", .array([])),
        ("[1, \"two\", [3], {}]", .array([.int(1), .string("two"), .array([.int(3)]), .object([:])])),
        ("{\"b\": 1, \"a\": {\"c\": [true, null]}}", .object(["b": .int(1), "a": .object(["c": .array([.bool(true), .null])])])),
        ("{\"k\": 1, \"k\": 2}", .object(["k": .int(2)])),
        ("\n\t[ 1 ,\r\n 2 ]\n", .array([.int(1), .int(2)])),
    ])
    func parsesEveryKindOfValue(text: String, expected: JSONValue) throws {
        let value = try JSONValue(parsing: text)
        #expect(value == expected)
        // Integers stay integers (canonical JSON, and so cache keys, depend on it).
        if case .int = expected { #expect(value.typeName == "number" && value.canonicalJSON == expected.canonicalJSON) }
        #expect(try JSONValue(parsing: Data(text.utf8)) == expected)
    }

    @Test(arguments: [
        ("", 0, "unexpected end of text"),
        ("   ", 3, "unexpected end of text"),
        ("nul", 0, "expected 'null'"),
        ("[1, 2", 5, "unterminated list"),
        ("[1 2]", 3, "expected ',' or ']' in a list"),
        ("[1,]", 3, "unexpected character ']'"),
        ("{\"a\" 1}", 5, "expected ':' after a member name"),
        ("{a: 1}", 1, "expected a member name in quotes"),
        ("{\"a\": 1,}", 8, "expected a member name in quotes"),
        ("\"open", 0, "unterminated string"),
        ("\"tab\there\"", 4, "a control character inside a string must be escaped"),
        (#""\x""#, 1, "unknown escape '\\' followed by character 'x'"),
        ("[1, \u{7F}]", 4, "unexpected byte 0x7F"),
        ("\u{E9}", 0, "unexpected byte 0xC3"),
        (#""\u12G4""#, 5, "a \\u escape needs four hex digits"),
        (#""\ud83d alone""#, 7, "a high surrogate escape must be followed by a low one"),
        (#""\ude00""#, 7, "a low surrogate escape without a high one"),
        ("01", 0, "a number may not start with 0"),
        ("-", 0, "a number needs a digit"),
        ("1.", 2, "a digit must follow '.'"),
        ("1e", 2, "a digit must follow the exponent"),
        ("1e999", 0, "number out of range"),
        ("1 2", 2, "unexpected text after the value"),
        ("[] x", 3, "unexpected text after the value"),
    ])
    func rejectsMalformedTextSayingWhereAndWhy(text: String, offset: Int, message: String) {
        #expect(throws: JSONParseError(message: message, offset: offset)) { try JSONValue(parsing: text) }
    }

    /// A number written with a fraction or an exponent is a double, and its canonical text reads
    /// back to the same text: a value read from the cache hashes like the one that was stored.
    @Test func doublesReadBackToTheSameCanonicalText() throws {
        for text in ["1e+15", "0.5", "-2.25", "1.5e+20", "1e-07", "123456789.125"] {
            let value = try JSONValue(parsing: text)
            #expect(value == .double(Double(text)!), "\(text)")
            if case .int = value { Issue.record("\(text) read as an integer") }
            let canonical = value.canonicalJSON
            #expect(try JSONValue(parsing: canonical).canonicalJSON == canonical, "\(text) → \(canonical)")
        }
        #expect(try JSONValue(parsing: "1.0").canonicalJSON == "1", "integral doubles are written as integers")
    }

    @Test func rejectsBytesThatAreNotUTF8() {
        let bytes = Data([0x22, 0x61, 0xFF, 0x62, 0x22])  // "a\xFFb"
        #expect(throws: JSONParseError(message: "a string is not valid UTF-8", offset: 0)) { try JSONValue(parsing: bytes) }
    }

    @Test func limitsNestingInsteadOfOverflowingTheStack() throws {
        let deepest = String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: JSONValue.maximumDepth)
        #expect(try JSONValue(parsing: deepest).arrayValue?.count == 1)
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError(message: "nested deeper than \(JSONValue.maximumDepth) levels", offset: JSONValue.maximumDepth)) {
            try JSONValue(parsing: hostile)
        }
    }

    @Test func textIsQuotedWithTheShortEscapesAndControlCharactersAsHex() {
        #expect(JSONValue.string("a\"b\\c\n\r\t\u{01}\u{1f}é").canonicalJSON == #""a\"b\\c\n\r\t\u0001\u001fé""#)
        #expect(JSONValue.string("").canonicalJSON == #""""#)
        #expect(JSONValue.string("\u{0b}end").canonicalJSON == #""\u000bend""#)
    }

    /// Random values written as canonical JSON (and with Foundation's encoder) read back equal:
    /// the cache stores one form and reads it with this parser.
    @Test func readsBackWhatCanonicalJSONAndJSONEncoderWrite() throws {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            let value = Self.randomValue(depth: 0, using: &generator)
            #expect(try JSONValue(parsing: value.canonicalJSON) == value)
            let encoded = try JSONEncoder().encode(value)
            #expect(try JSONValue(parsing: encoded) == value)
        }
    }

    @Test func anObjectWrittenMemberByMemberInSortedOrderIsItsCanonicalJSON() throws {
        var text = JSONObjectText()
        let members: [(String, JSONValue)] = [("a", .int(1)), ("b \"q\"", .string("line\nbreak")), ("c", .array([.null, .double(0.5)])),
                                             ("d", ["z": 1, "y": [true]])]
        for (key, value) in members { text.add(key, value) }
        let object = JSONValue.object(Dictionary(uniqueKeysWithValues: members))
        #expect(text.closed == object.canonicalJSON)
        #expect(try JSONValue(parsing: text.closed) == object)
        #expect(JSONObjectText().closed == "{}")
    }

    /// The layout people read in a run's `outputs.json` and in `file.write`'s JSON: two spaces a
    /// level, sorted keys, `"key": value`, empty containers on one line, canonical scalars.
    @Test func prettyJSONIndentsTwoSpacesWithSortedKeysAndCanonicalScalars() throws {
        let value: JSONValue = ["b": [1, 2.5, "x\"y"], "a": ["inner": [], "empty": [:], "n": .null], "c": 3.0]
        #expect(value.prettyJSON == """
            {
              "a": {
                "empty": {},
                "inner": [],
                "n": null
              },
              "b": [
                1,
                2.5,
                "x\\"y"
              ],
              "c": 3
            }
            """)
        #expect(JSONValue.array([]).prettyJSON == "[]" && JSONValue.string("é\n").prettyJSON == #""é\n""#)
        var generator = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let random = Self.randomValue(depth: 0, using: &generator)
            #expect(try JSONValue(parsing: random.prettyJSON) == random)
        }
    }

    static func randomValue(depth: Int, using generator: inout SplitMix64) -> JSONValue {
        let choice = Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int(Int.random(in: Int.min...Int.max, using: &generator) >> Int.random(in: 0..<63, using: &generator))
        case 3: return .double(Double.random(in: -1e6...1e6, using: &generator))
        case 4:
            let alphabet = Array("ab \"\\/\n\t\u{01}é日本😀")
            return .string(String((0..<Int.random(in: 0..<12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        case 5:
            return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for index in 0..<Int.random(in: 0..<4, using: &generator) {
                members["k\(index)\(Bool.random(using: &generator) ? "\"" : "")"] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }
}

extension JSONParseError: Equatable {
    public static func == (a: JSONParseError, b: JSONParseError) -> Bool { a.message == b.message && a.offset == b.offset }
}

/// JSON for a reader that cares about key order: the order given for an object (found by its
/// JSON Pointer), then the rest sorted; the same value, whatever the order.
@Suite struct OrderedJSONTests {
    @Test func objectsListTheKeysGivenForThemFirstThenTheRestSorted() throws {
        let value: JSONValue = ["z": ["b": 1, "a/b": ["y": 1, "x": 2], "c": 3], "list": [["q": 1, "p": 2]], "a": true]
        let order = ["": ["z"], "/z": ["c", "a/b", "missing"], "/z/a~1b": ["y", "x"], "/list/0": ["q"]]
        let text = String(decoding: value.bytes(keyOrder: order), as: UTF8.self)
        #expect(text == #"{"z":{"c":3,"a/b":{"y":1,"x":2},"b":1},"a":true,"list":[{"q":1,"p":2}]}"#)
        #expect(try JSONValue(parsing: text) == value)
        #expect(value.bytes(keyOrder: [:]) == value.canonicalBytes)
    }

    @Test func aYAMLMappingsKeyOrderIsFoundByPointer() throws {
        let source = SourceFile(path: "s.yaml", text: "type: object\nproperties:\n  zeta: {type: string}\n  alpha: {anyOf: [{type: string, title: t}]}\n")
        let value = try #require(YAMLReader().read(source).0)
        let order = value.keyOrder
        #expect(order[""] == ["type", "properties"])
        #expect(order["/properties"] == ["zeta", "alpha"])
        #expect(order["/properties/alpha/anyOf/0"] == ["type", "title"])
    }
}
