import Testing
@testable import AIVCore

@Suite struct JSONSchemaValidatorTests {
    private func check(_ value: JSONValue, _ schema: JSONValue, limit: Int = 20) -> [String] {
        JSONSchemaValidator.violations(of: value, against: schema, limit: limit).map(\.description)
    }

    static let word: JSONValue = [
        "type": "object",
        "properties": [
            "word": ["type": "string", "minLength": 1],
            "reading": ["type": "string", "pattern": "^[\\p{Hiragana}\\p{Katakana}ー]+$"],
            "difficulty": ["type": "string", "enum": ["N5", "N4", "N3", "N2", "N1"]],
            "examples": ["type": "array", "items": ["type": "string"], "maxItems": 3],
        ],
        "required": ["word", "reading", "difficulty"],
        "propertyOrdering": ["word", "reading", "difficulty", "examples"],
    ]
    static let vocabulary: JSONValue = [
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Vocabulary list",
        "type": "object",
        "properties": [
            "topic": ["type": "string", "description": "What the words are about"],
            "items": ["type": "array", "items": word, "minItems": 1, "maxItems": 50],
        ],
        "required": ["topic", "items"],
        "additionalProperties": false,
    ]

    @Test func aRealisticVocabularyListWithOneBadItemGivesOneViolationAtItsPath() {
        let item: (String, String, String) -> JSONValue = { ["word": .string($0), "reading": .string($1), "difficulty": .string($2)] }
        let reply: JSONValue = ["topic": "food", "items": [
            item("水", "みず", "N5"), item("ご飯", "ごはん", "N5"), item("料理", "りょうり", "N4"),
            ["word": "献立", "reading": "こんだて", "difficulty": "N6", "examples": ["今日の献立"]],
            item("ラーメン", "ラーメン", "N5"),
        ]]
        #expect(check(reply, Self.vocabulary) == [#"$.items[3].difficulty: "N6" is not one of "N5", "N4", "N3", "N2", "N1""#])
        var fixed = reply.objectValue!
        fixed["items"] = .array(Array(reply["items"]!.arrayValue!.prefix(3)))
        #expect(check(.object(fixed), Self.vocabulary).isEmpty)
    }

    @Test func missingRequiredPropertyIsReportedWithItsPath() {
        let reply: JSONValue = ["topic": "food", "items": [["word": "水", "difficulty": "N5"]]]
        #expect(check(reply, Self.vocabulary) == ["$.items[0]: missing required property 'reading'"])
    }

    @Test func typeMismatchNamesBothTypesAndStopsTheChecksBelowIt() {
        #expect(check("3", ["type": "integer", "minimum": 5]) == [#"$: "3" is a string, not an integer"#])
        #expect(check(["a"], ["type": ["object", "null"]]) == [#"$: ["a"] is an array, not an object or null"#])
        #expect(check(true, ["type": "number"]) == ["$: true is a boolean, not a number"])
    }

    @Test func integerRejectsAFraction() {
        #expect(check(2.5, ["type": "integer"]) == ["$: 2.5 is a number, not an integer"])
        #expect(check(3.0, ["type": "integer"]).isEmpty)
        #expect(check(3, ["type": "number"]).isEmpty)
    }

    @Test func nullIsRejectedUnlessTheTypeAllowsIt() {
        #expect(check(nil, ["type": "string"]) == ["$: is null, but must be a string"])
        #expect(check(nil, ["type": ["string", "null"]]).isEmpty)
        #expect(check(nil, ["type": "null"]).isEmpty)
    }

    @Test func nullableAllowsNull() {
        #expect(check(nil, ["type": "string", "nullable": true, "enum": ["a", "b"]]).isEmpty)
        #expect(check(nil, ["type": "string", "nullable": false]) == ["$: is null, but must be a string"])
        #expect(check(5, ["type": "string", "nullable": true]) == ["$: 5 is an integer, not a string"])
    }

    @Test func additionalPropertiesFalseRejectsUnknownMembers() {
        let reply: JSONValue = ["topic": "food", "items": [["word": "水", "reading": "みず", "difficulty": "N5"]], "notes": "x"]
        #expect(check(reply, Self.vocabulary) == ["$: unexpected property 'notes' (allowed: 'items', 'topic')"])
    }

    @Test func additionalPropertiesSchemaChecksTheOtherMembers() {
        let schema: JSONValue = ["type": "object", "properties": ["id": ["type": "string"]], "additionalProperties": ["type": "integer"]]
        #expect(check(["id": "x", "apples": 3, "two words": "many"], schema) == [#"$["two words"]: "many" is a string, not an integer"#])
        #expect(check(["id": "x", "anything": [1]], ["type": "object", "properties": ["id": ["type": "string"]]]).isEmpty)
    }

    @Test func itemCountsAreBoundedByMinItemsAndMaxItems() {
        let schema: JSONValue = ["type": "array", "items": ["type": "integer"], "minItems": 2, "maxItems": 3]
        #expect(check([1], schema) == ["$: has 1 items; at least 2 are required"])
        #expect(check([1, 2, 3, 4], schema) == ["$: has 4 items; at most 3 are allowed"])
        #expect(check([1, 2], schema).isEmpty)
    }

    @Test func itemsAreEachCheckedWithTheirIndex() {
        #expect(check([1, "two", 3, nil], ["type": "array", "items": ["type": "integer"]])
                == [#"$[1]: "two" is a string, not an integer"#, "$[3]: is null, but must be an integer"])
    }

    @Test func minimumAndMaximumAreInclusive() {
        let schema: JSONValue = ["type": "number", "minimum": 1, "maximum": 5.5]
        #expect(check(1, schema).isEmpty)
        #expect(check(5.5, schema).isEmpty)
        #expect(check(0.5, schema) == ["$: 0.5 is less than the minimum 1"])
        #expect(check(6, schema) == ["$: 6 is greater than the maximum 5.5"])
    }

    @Test func lengthsCountUnicodeCodePoints() {
        let schema: JSONValue = ["type": "string", "minLength": 2, "maxLength": 3]
        // "e" + combining acute accent is one Character but two code points, as JSON Schema counts.
        #expect(check("e\u{301}", schema).isEmpty)
        #expect(check("日本語", schema).isEmpty)
        #expect(check("日", schema) == [#"$: "日" is 1 characters long; at least 2 are required"#])
        #expect(check("日本語です", schema) == [#"$: "日本語です" is 5 characters long; at most 3 are allowed"#])
    }

    @Test func patternIsAnUnanchoredSearch() {
        #expect(check("abc123", ["type": "string", "pattern": "[0-9]+"]).isEmpty)
        #expect(check("abc123", ["type": "string", "pattern": "^[0-9]+$"]) == [#"$: "abc123" does not match the pattern ^[0-9]+$"#])
    }

    @Test func invalidPatternIsAViolationNotACrash() {
        #expect(check("abc", ["type": "string", "pattern": "[a-"]) == [#"$: the schema's pattern "[a-" is not a valid regular expression"#])
    }

    @Test func enumAndConstCompareNumbersByValue() {
        #expect(check(2.0, ["enum": [1, 2, 3]]).isEmpty)
        #expect(check(4, ["enum": [1, 2, 3]]) == ["$: 4 is not one of 1, 2, 3"])
        // Thousands of choices: the first ten, and how many more.
        #expect(check(0, ["enum": .array((1...20_000).map { .int($0) })]) == ["$: 0 is not one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 19990 more"])
        #expect(check(["v": 1], ["const": ["v": 1.0]]).isEmpty)
        #expect(check("draft", ["const": "final"]) == [#"$: "draft" is not the allowed value "final""#])
    }

    @Test func anyOfAcceptsEitherShape() {
        let schema: JSONValue = ["anyOf": [
            ["type": "string"],
            ["type": "object", "properties": ["text": ["type": "string"]], "required": ["text"]],
        ]]
        #expect(check("plain", schema).isEmpty)
        #expect(check(["text": "rich"], schema).isEmpty)
    }

    @Test func anyOfReportsTheOnlyOptionOfTheValuesType() {
        let schema: JSONValue = ["anyOf": [
            ["type": "string"],
            ["type": "object", "properties": ["text": ["type": "string"]], "required": ["text"]],
        ]]
        #expect(check(["text": 5], schema) == ["$.text: 5 is an integer, not a string"])
        #expect(check(["body": "x"], schema) == ["$: missing required property 'text'"])
    }

    @Test func anyOfSummarisesWhenNoSingleOptionIsClosest() {
        let schema: JSONValue = ["anyOf": [["type": "string"], ["type": "integer"]]]
        #expect(check(true, schema) == ["$: matches none of the 2 allowed shapes: true is a boolean, not a string; or true is a boolean, not an integer"])
        let strings: JSONValue = ["anyOf": [["type": "string", "enum": ["a", "b"]], ["type": "string", "pattern": "^x"]]]
        #expect(check("c", strings) == [#"$: matches none of the 2 allowed shapes: "c" is not one of "a", "b"; or "c" does not match the pattern ^x"#])
    }

    @Test func dateAndDateTimeFormatsAreCheckedLoosely() {
        #expect(check("2024-05-01", ["type": "string", "format": "date"]).isEmpty)
        #expect(check("2024/05/01", ["type": "string", "format": "date"]) == [#"$: "2024/05/01" is not a date (YYYY-MM-DD)"#])
        for accepted in ["2024-05-01T09:30:00Z", "2024-05-01T09:30:00.123+09:00", "2024-05-01 09:30", "2024-05-01T09:30:00"] {
            #expect(check(.string(accepted), ["type": "string", "format": "date-time"]).isEmpty, "\(accepted)")
        }
        #expect(check("next Tuesday", ["type": "string", "format": "date-time"])
                == [#"$: "next Tuesday" is not a date-time (YYYY-MM-DDThh:mm:ssZ)"#])
    }

    @Test func otherFormatsAndAnnotationsAreIgnored() {
        let schema: JSONValue = ["type": "string", "format": "email", "description": "d", "title": "t", "default": "x",
                                 "$schema": "https://json-schema.org/draft/2020-12/schema", "x-unknown": 1]
        #expect(check("not an email", schema).isEmpty)
    }

    @Test func violationsStopAtTheLimit() {
        let reply: JSONValue = .array((0..<30).map { .int($0) })
        let all = check(reply, ["type": "array", "items": ["type": "string"]])
        #expect(all.count == 20)
        #expect(all.first == "$[0]: 0 is an integer, not a string")
        #expect(check(reply, ["type": "array", "items": ["type": "string"]], limit: 3).count == 3)
        #expect(check(reply, ["type": "array", "items": ["type": "string"]], limit: 0).isEmpty)
    }

    @Test func severalViolationsComeInAStableOrder() {
        let schema: JSONValue = ["type": "object", "properties": ["b": ["type": "integer"], "a": ["type": "integer"]], "required": ["c"]]
        #expect(check(["b": "x", "a": "y"], schema)
                == ["$: missing required property 'c'", #"$.a: "y" is a string, not an integer"#, #"$.b: "x" is a string, not an integer"#])
    }

    @Test func longValuesAreShortenedInMessages() {
        let long = String(repeating: "あ", count: 100)
        let message = JSONSchemaValidator.violations(of: .string(long), against: ["type": "integer"])[0].message
        #expect(message.count < 90)
        #expect(message.hasSuffix("… is a string, not an integer"))
    }
}
