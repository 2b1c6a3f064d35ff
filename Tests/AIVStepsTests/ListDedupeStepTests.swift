import AIVCore
import AIVSteps
import Testing

@Suite struct ListDedupeStepTests {
    func dedupe(_ items: JSONValue, key: String = "japanese", _ extra: [String: JSONValue] = [:]) async throws -> JSONValue {
        let outputs = try await StepHarness().outputs(ListDedupeStep.self, ["items": items, "key": .string(key)].merging(extra) { $1 })
        let count = outputs["items"]?.arrayValue?.count ?? -1
        #expect(outputs["count"] == .int(count))
        #expect(outputs["duplicates"] == .int((items.arrayValue?.count ?? 0) - count))
        return outputs
    }

    @Test(arguments: [
        ("half-width katakana, hiragana, spaces", ["ﾔﾊﾞｲ", " ヤバい ", "やばい", "ヤバイ"], [["ﾔﾊﾞｲ"]]),
        ("case and full-width Latin", ["GG", "gg", "ｇｇ", "Ｇ Ｇ"], [["GG"], ["Ｇ Ｇ"]]),
        ("inner whitespace collapses, ideographic space too", ["お 疲れ", "お\u{3000}\u{3000}疲れ", "お\t疲れ\n", "お疲れ"], [["お 疲れ"], ["お疲れ"]]),
        ("different words stay apart", ["推し", "押し", "おし"], [["推し"], ["押し"], ["おし"]]),
        ("composed and decomposed accents", ["café", "cafe\u{301}", "CAFÉ"], [["café"]]),
    ] as [(String, [String], [[String]])])
    func normalizedKeysMakeOneElement(_ situation: String, _ words: [String], _ expected: [[String]]) async throws {
        let items = JSONValue.array(words.map { ["japanese": .string($0)] })
        let outputs = try await dedupe(items)
        #expect(outputs["items"]?.arrayValue?.map { [$0["japanese"]?.stringValue ?? "?"] } == expected, "\(situation)")
    }

    @Test func withoutNormalizeKeysMustMatchExactly() async throws {
        let items: JSONValue = [["japanese": "ﾔﾊﾞｲ"], ["japanese": "やばい"], ["japanese": "やばい "], ["japanese": "やばい"]]
        let outputs = try await dedupe(items, ["normalize": false])
        #expect(outputs["items"] == [["japanese": "ﾔﾊﾞｲ"], ["japanese": "やばい"], ["japanese": "やばい "]])
    }

    static let sightings: JSONValue = [
        ["japanese": "やばい", "timestamp": "1:02", "chunk": 0, "notes": ["slang"]],
        ["japanese": "草", "timestamp": "3:00", "chunk": 0],
        ["japanese": "ヤバい", "timestamp": "9:40", "chunk": 1, "notes": nil],
        ["japanese": "やばい", "timestamp": nil, "chunk": 2, "notes": ["again", "loud"]],
    ]

    @Test func keepFirstKeepsTheFirstInItsPlaceAndCollectsEveryDuplicatesValues() async throws {
        let outputs = try await dedupe(Self.sightings, ["collect": ["timestamp", "notes"]])
        #expect(outputs["items"] == [
            ["japanese": "やばい", "timestamp": ["1:02", "9:40"], "chunk": 0, "notes": ["slang", "again", "loud"]],
            ["japanese": "草", "timestamp": ["3:00"], "chunk": 0, "notes": []],
        ])
    }

    @Test func keepLastKeepsTheLastInItsOwnPlace() async throws {
        let outputs = try await dedupe(Self.sightings, ["keep": "last", "collect": ["chunk"]])
        #expect(outputs["items"] == [
            ["japanese": "草", "timestamp": "3:00", "chunk": [0]],
            ["japanese": "やばい", "timestamp": nil, "chunk": [0, 1, 2], "notes": ["again", "loud"]],
        ])
    }

    @Test func withoutCollectTheSurvivorIsUnchanged() async throws {
        let outputs = try await dedupe(Self.sightings)
        #expect(outputs["items"] == .array(Array(Self.sightings.arrayValue!.prefix(2))))
    }

    @Test func elementsWithoutAKeyAreKeptAndNeverMerged() async throws {
        let items: JSONValue = [["japanese": nil, "n": 1], ["n": 2], "not a mapping", ["japanese": nil, "n": 3], ["japanese": "草", "n": 4], ["japanese": "草", "n": 5]]
        let outputs = try await dedupe(items, ["collect": ["n"]])
        #expect(outputs["items"] == [["japanese": nil, "n": [1]], ["n": [2]], "not a mapping", ["japanese": nil, "n": [3]], ["japanese": "草", "n": [4, 5]]])
    }

    @Test func nonTextKeysCompareAsValues() async throws {
        let items: JSONValue = [["id": 1], ["id": 1.0], ["id": "1"], ["id": [1, 2]], ["id": [1, 2]], ["id": true], ["id": ["a": 1]], ["id": ["a": 1.0]]]
        let outputs = try await dedupe(items, key: "id")
        #expect(outputs["items"] == [["id": 1], ["id": "1"], ["id": [1, 2]], ["id": true], ["id": ["a": 1]]])
    }

    @Test func theKeyIsADotPath() async throws {
        let items: JSONValue = [["word": ["text": "ヤバい"], "n": 1], ["word": ["text": "やばい"], "n": 2], ["word": "やばい", "n": 3]]
        let outputs = try await dedupe(items, key: "word.text")
        #expect(outputs["items"] == [["word": ["text": "ヤバい"], "n": 1], ["word": "やばい", "n": 3]])
    }

    @Test func collectTakesFieldNames() async throws {
        let message = try await StepHarness().failure(ListDedupeStep.self, ["items": [], "key": "k", "collect": ["ok", 3]])
        #expect(message == "argument 'collect' must be a list of field names; item 1 is number")
        let path = try await StepHarness().failure(ListDedupeStep.self, ["items": [], "key": "a..b"])
        #expect(path == "argument 'key' must be a field path such as 'name' or 'source.start', not 'a..b'")
    }
}
