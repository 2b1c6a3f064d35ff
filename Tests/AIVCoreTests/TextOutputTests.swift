@testable import AIVCore
import Foundation
import Testing

/// The texts aiv writes many times a run, by hand for speed: tables, log time stamps, canonical JSON.
@Suite struct TextOutputTests {
    @Test func tableColumnsAlignByCharactersAndLinesHaveNoTrailingBlanks() {
        let text = Table.render(header: ["step", "status", "why"], rows: [
            ["transcribe", "cached", ""],
            ["語彙", "succeeded", "argument 'window' changed"],
        ])
        let lines: [String] = [
            "step        status     why",
            "transcribe  cached",
            "語彙          succeeded  argument 'window' changed",
            "",
        ]
        #expect(text == lines.joined(separator: "\n"))
        #expect(lines[2].count == lines[0].count + "argument 'window' changed".count - "why".count, "columns line up by characters")
    }

    @Test func tableOfOnlyAHeader() {
        #expect(Table.render(header: ["a", "bb"], rows: []) == "a  bb\n")
    }

    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_764_175_501.123_9, "2025-11-26T16:45:01.123Z"),
        (951_782_400.5, "2000-02-29T00:00:00.500Z"),
        (253_402_300_799.5, "9999-12-31T23:59:59.500Z"),
    ])
    func logTimeStampsAreUTCWithMilliseconds(seconds: Double, expected: String) {
        #expect(StepLog.timestamp(Date(timeIntervalSince1970: seconds)) == expected)
    }

    /// A step's log as the history keeps it (`<time> <message>`) and as the run folder's log.txt
    /// shows it (`<time> <step>: <message>`), secrets already redacted.
    @Test func aStepLogRendersEachLineWithItsTimeAndOptionallyItsStep() {
        let log = StepLog(now: { Date(timeIntervalSince1970: 1_764_175_501.25) }, secrets: Secrets(["NOTION_TOKEN": "ntn-secret-1"]))
        #expect(log.text == "" && log.text(naming: "s") == "")
        log.append("cached: key 3f2a")
        log.append("sent ntn-secret-1 to 草 — lol")
        #expect(log.text == """
            2025-11-26T16:45:01.250Z cached: key 3f2a
            2025-11-26T16:45:01.250Z sent [redacted NOTION_TOKEN] to 草 — lol

            """)
        #expect(log.text(naming: "analyse") == """
            2025-11-26T16:45:01.250Z analyse: cached: key 3f2a
            2025-11-26T16:45:01.250Z analyse: sent [redacted NOTION_TOKEN] to 草 — lol

            """)
    }

    /// Canonical JSON is what cache keys hash: its exact bytes are pinned, escapes included.
    @Test func canonicalJSONSortsKeysAndEscapesOnlyWhatJSONRequires() {
        let value: JSONValue = ["b": .string("q\"\\\n\r\t\u{01}\u{1f}é/語"), "a": [1, 2.5, nil, true, ["z": [:], "y": []]]]
        let expected = #"{"a":[1,2.5,null,true,{"y":[],"z":{}}],"b":"q\"\\\n\r\t\u0001\u001fé/語"}"#
        #expect(value.canonicalJSON == expected)
        #expect(value.canonicalBytes == Array(expected.utf8))
    }

    @Test func aCacheKeyIsTheSHA256OfTheCanonicalComponents() {
        let components = CacheKeyComponents(kind: "file.write", kindVersion: 2, arguments: ["path": "a.txt"], files: ["t.mustache": "sha256:00"],
                                            settings: .null)
        let document: JSONValue = ["kind": "file.write", "version": 2, "arguments": ["path": "a.txt"], "files": ["t.mustache": "sha256:00"],
                                   "settings": nil]
        #expect(components.key == Digest.sha256(Data(document.canonicalJSON.utf8)))
        #expect(components.key.count == 64 && components.key.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        var reading = components
        reading.expressionInputs = ["inputs": ["min": 2]]
        let readingDocument: JSONValue = ["kind": "file.write", "version": 2, "arguments": ["path": "a.txt"], "files": ["t.mustache": "sha256:00"],
                                          "settings": nil, "expression_inputs": ["inputs": ["min": 2]]]
        #expect(reading.key == Digest.sha256(Data(readingDocument.canonicalJSON.utf8)))
    }
}
