import AIVCore
import AIVSteps
import Testing

@Suite struct ListSortStepTests {
    func sort(_ items: JSONValue, by path: String? = nil, order: String? = nil) async throws -> JSONValue {
        var arguments: [String: JSONValue] = ["items": items]
        if let path { arguments["by"] = .string(path) }
        if let order { arguments["order"] = .string(order) }
        let outputs = try await StepHarness().outputs(ListSortStep.self, arguments)
        #expect(outputs["count"] == .int(items.arrayValue?.count ?? -1))
        return outputs["items"] ?? nil
    }

    @Test(arguments: [
        ("numbers numerically, integers and decimals together", JSONValue.array([10, 9.5, -1, 100, 2, 9]), JSONValue.array([-1, 2, 9, 9.5, 10, 100])),
        ("text by Unicode scalars: upper case before lower case", ["b", "a", "B", "A", "ab", ""], ["", "A", "B", "a", "ab", "b"]),
        ("text by Unicode scalars, not canonical equivalence", ["é", "f", "e\u{301}", "e"], ["e", "e\u{301}", "f", "é"]),
        ("kana and kanji by code point", ["草", "やばい", "ヤバい", "あ"], ["あ", "やばい", "ヤバい", "草"]),
        ("numbers, then text, then booleans, then the rest", [true, "a", nil, 1, [1], false, ["k": 1], "0", 0],
         [0, 1, "0", "a", false, true, nil, [1], ["k": 1]]),
        ("large integers stay exact", [9_007_199_254_740_993, 9_007_199_254_740_992], [9_007_199_254_740_992, 9_007_199_254_740_993]),
    ] as [(String, JSONValue, JSONValue)])
    func sortsTheElementsThemselvesWithoutBy(_ situation: String, _ items: JSONValue, _ expected: JSONValue) async throws {
        let sorted = try await sort(items)
        #expect(sorted == expected, "\(situation)")
        // JSONValue's == follows String's canonical equivalence: compare the scalars too.
        func scalars(_ value: JSONValue) -> [[UInt32]] {
            (value.arrayValue ?? []).map { $0.stringValue.map { $0.unicodeScalars.map(\.value) } ?? [] }
        }
        #expect(scalars(sorted) == scalars(expected), "\(situation)")
    }

    static let words: JSONValue = [
        ["japanese": "草", "timestamp": 95, "source": ["start": 95.5, "tags": ["b"]]],
        ["japanese": "推し", "timestamp": 12, "source": ["start": 12.0, "tags": ["a"]]],
        ["japanese": "えーと", "timestamp": nil, "source": ["start": 3]],
        ["japanese": "やばい", "timestamp": 95, "source": ["start": 95.5, "tags": ["a"]]],
        ["japanese": "お疲れ様"],
        ["japanese": "ガチ", "timestamp": 40, "source": ["start": 40, "tags": []]],
    ]

    func japanese(_ items: JSONValue) -> [String] {
        (items.arrayValue ?? []).map { $0["japanese"]?.stringValue ?? "?" }
    }

    @Test(arguments: [
        // Equal keys (草 and やばい at 95) keep their order; null and missing come last, in their order.
        ("timestamp", "ascending", ["推し", "ガチ", "草", "やばい", "えーと", "お疲れ様"]),
        ("timestamp", "descending", ["草", "やばい", "ガチ", "推し", "えーと", "お疲れ様"]),
        ("source.start", "ascending", ["えーと", "推し", "ガチ", "草", "やばい", "お疲れ様"]),
        ("source.tags.0", "ascending", ["推し", "やばい", "草", "えーと", "お疲れ様", "ガチ"]),
        ("source.tags.0", "descending", ["草", "推し", "やばい", "えーと", "お疲れ様", "ガチ"]),
        ("japanese", "ascending", ["えーと", "お疲れ様", "やばい", "ガチ", "推し", "草"]),
    ])
    func sortsByAFieldPathStably(_ path: String, _ order: String, _ expected: [String]) async throws {
        #expect(japanese(try await sort(Self.words, by: path, order: order)) == expected)
    }

    @Test func descendingReversesKeysButNotTheOrderOfEqualOnes() async throws {
        let items: JSONValue = [["k": 1, "n": "a"], ["k": 2, "n": "b"], ["k": 1, "n": "c"], ["k": 2, "n": "d"], ["n": "e"]]
        let sorted = try await sort(items, by: "k", order: "descending")
        #expect(sorted.arrayValue?.map { $0["n"] } == ["b", "d", "a", "c", "e"])
    }

    @Test(arguments: ["a..b", ".a", "a.", ""])
    func aMalformedPathIsAnArgumentError(_ path: String) async throws {
        let message = try await StepHarness().failure(ListSortStep.self, ["items": [1], "by": .string(path)])
        #expect(message == "argument 'by' must be a field path such as 'name' or 'source.start', not '\(path)'")
    }

    @Test func anEmptyListStaysEmpty() async throws {
        #expect(try await sort([], by: "x") == [])
    }
}
