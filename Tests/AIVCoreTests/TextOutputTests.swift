@testable import AIVCore
import AIVText
import Foundation
import Testing

/// The texts aiv writes many times a run, by hand for speed: tables, log time stamps, canonical JSON.
@Suite struct TextOutputTests {
    /// A Japanese character takes two columns on a terminal: padding by characters misaligned
    /// every column after a Japanese cell.
    @Test func tableColumnsAlignByTerminalColumnsAndLinesHaveNoTrailingBlanks() {
        let text = Table.render(header: ["step", "status", "why"], rows: [
            ["transcribe", "cached", ""],
            ["語彙", "succeeded", "argument 'window' changed"],
        ])
        let lines: [String] = [
            "step        status     why",
            "transcribe  cached",
            "語彙        succeeded  argument 'window' changed",
            "",
        ]
        #expect(text == lines.joined(separator: "\n"))
        #expect(TextColumns.columns(lines[2]) == TextColumns.columns(lines[0]) + "argument 'window' changed".count - "why".count)
    }

    /// A step id (what `aiv runs log` is given) stays whole while the other columns can give
    /// room, even a one-word kind; only a table that cannot fit so breaks it.
    @Test func aColumnKeptWholeIsBrokenOnlyWhenNothingElseGivesRoom() {
        let rows = [["heard_transcript", "gemini.generate", "a long reason with several words in it"]]
        let kept = Table.render(header: ["step", "kind", "why"], rows: rows, width: 40, keptWhole: [0])
        #expect(kept.split(separator: "\n").contains { $0.hasPrefix("heard_transcript  ") }, "\(kept)")
        #expect(kept.split(separator: "\n").allSatisfy { TextColumns.columns($0) <= 40 }, "\(kept)")
        let broken = Table.render(header: ["step", "kind", "why"], rows: rows, width: 40)
        #expect(!broken.contains("heard_transcript"), "without it, every column shares the room: \(broken)")
        let tight = Table.render(header: ["step", "kind", "why"], rows: rows, width: 28, keptWhole: [0])
        #expect(tight.split(separator: "\n").allSatisfy { TextColumns.columns($0) <= 28 }, "\(tight)")
    }

    @Test func aTableThatFitsItsWidthIsTheSameAsWithoutOne() {
        let rows = [["recording", "succeeded", "no earlier result"], ["captions", "skipped", "if: !inputs.transcript was false"]]
        let plain = Table.render(header: ["step", "status", "why"], rows: rows)
        #expect(Table.render(header: ["step", "status", "why"], rows: rows, width: 200) == plain)
        #expect(Table.render(header: ["step", "status", "why"], rows: rows, width: plain.split(separator: "\n").map { TextColumns.columns($0) }.max()!) == plain)
        #expect(plain.split(separator: "\n").count == 3, "without a width, a row is one line")
    }

    /// On a terminal narrower than the table, the long texts are broken under their own column,
    /// nothing is cut off, and the short columns keep their width.
    @Test func aTableWiderThanItsWidthBreaksItsLongestCellsUnderTheirColumn() {
        let why = "if: !inputs.transcript && length(steps.recording.outputs.subtitle_tracks) > 0 was false"
        let text = Table.render(header: ["step", "status", "time", "why"], rows: [
            ["recording", "succeeded", "211ms", "no earlier result"],
            ["captions", "skipped", "0ms", why],
            ["語彙", "succeeded", "3ms", "字幕が見つからなかったので音声から文字起こしをしました"],
        ], width: 50)
        let lines = text.split(separator: "\n").map(String.init)
        for line in lines { #expect(TextColumns.columns(line) <= 50, "'\(line)' is \(TextColumns.columns(line)) columns") }
        let whyColumn = TextColumns.columns("recording  succeeded  211ms  ")
        #expect(lines[0] == "step       status     time   why")
        #expect(lines[1] == "recording  succeeded  211ms  no earlier result")
        #expect(lines[2] == "captions   skipped    0ms    if:")
        // The rest of the cell, under its column: every character kept, words broken only where
        // one is longer than the column.
        let captions = lines.dropFirst(2).prefix { !$0.hasPrefix("語彙") }
        #expect(captions.dropFirst().allSatisfy { $0.prefix(whyColumn).allSatisfy { $0 == " " } }, "\(captions)")
        let pieces = captions.map { String($0.dropFirst(whyColumn)) }
        #expect(pieces.joined().filter { $0 != " " } == why.filter { $0 != " " }, "\(pieces)")
        #expect(pieces == ["if:", "!inputs.transcript &&", "length(steps.recordin", "g.outputs.subtitle_tr", "acks) > 0 was false"])
        // Japanese breaks between characters, not before 。 or small kana.
        let japanese = lines.drop { !$0.hasPrefix("語彙") }.map { $0.hasPrefix("語彙") ? String($0.dropFirst(whyColumn - 2)) : String($0.dropFirst(whyColumn)) }
        #expect(lines.contains { $0.hasPrefix("語彙       succeeded  3ms    字幕が") }, "\(lines)")
        #expect(japanese.count > 1 && !japanese.contains { $0.hasPrefix("っ") || $0.hasPrefix("ー") }, "\(japanese)")
    }

    /// The widest columns give way first, to a common width, not below their longest word while
    /// that is enough; then the columns of several words go down to `Table.narrowest`, breaking at
    /// their spaces, while one-word columns (ids) stay whole; a table that cannot fit so is left
    /// as it is.
    @Test func aTableNarrowsItsWidestColumnsFirstAndKeepsIdsWhole() {
        let widths = Table.fitted([16, 9, 5, 90], to: 60, longestWords: [16, 9, 5, 47], manyWords: [false, false, false, true])
        #expect(widths == [16, 9, 5, 24], "the text column takes what is left: \(widths)")
        #expect(Table.fitted([16, 17, 30, 30], to: 50, longestWords: [16, 17, 12, 12], manyWords: [false, false, true, true]) == [11, 11, 11, 11], "ids break only when the texts at their narrowest cannot make room")
        #expect(Table.fitted([16, 17, 30, 30], to: 56, longestWords: [16, 17, 12, 12], manyWords: [false, false, true, true]) == [16, 17, 9, 8])
        #expect(Table.fitted([16, 17, 30, 30], to: 50, longestWords: [16, 17, 12, 12], manyWords: [true, true, true, true]) == [11, 11, 11, 11])
        // A run id (22 characters) is one word a column keeps whole while the table can fit so.
        #expect(Table.fitted([22, 11, 90], to: 80, longestWords: [22, 11, 30], manyWords: [false, false, true]) == [22, 11, 43])
        // `runs` on 100 columns: its ids, statuses and counts are whole, so the rest cannot make
        // room enough, and the table is left as it is rather than broken to no avail.
        #expect(Table.fitted([22, 11, 25, 5, 9, 3, 6, 6, 7, 9], to: 100, longestWords: [22, 11, 10, 5, 9, 3, 6, 6, 7, 9],
                             manyWords: [false, false, true, false, false, false, false, false, false, false], whole: [0, 3, 4, 5, 6, 7, 8, 9])
                == [22, 11, 25, 5, 9, 3, 6, 6, 7, 9])
        #expect(Table.fitted([22, 11, 25, 5, 9, 3, 6, 6, 7, 9], to: 110, longestWords: [22, 11, 10, 5, 9, 3, 6, 6, 7, 9],
                             manyWords: [false, false, true, false, false, false, false, false, false, false], whole: [0, 3, 4, 5, 6, 7, 8, 9])
                == [22, 11, 14, 5, 9, 3, 6, 6, 7, 9])
        // A cell of a million characters is fitted at once, not a column at a time.
        #expect(Table.fitted([1_000_000, 1_000_000, 5], to: 100, longestWords: [3, 3, 5], manyWords: [true, true, false]) == [46, 45, 5])

        let words = "alpha beta gamma delta epsilon", numbers = "one two three four five six seven"
        let cramped = Table.render(header: ["a", "b"], rows: [[words, numbers]], width: 18).split(separator: "\n").dropFirst()
        #expect(cramped.allSatisfy { TextColumns.columns($0) <= 18 }, "\(cramped)")
        #expect(cramped.map { $0.prefix(Table.narrowest) }.joined().filter { $0 != " " } == words.filter { $0 != " " }, "\(cramped)")
        #expect(cramped.map { $0.dropFirst(Table.narrowest + 2) }.joined().filter { $0 != " " } == numbers.filter { $0 != " " }, "\(cramped)")
    }

    /// A cell with line breaks (an error listing several problems) is broken at them under its
    /// column; a tab is a space, as wide as it measures; a blank cell wider than its column keeps its row.
    @Test func lineBreaksTabsAndBlankCellsKeepTheColumns() {
        let text = Table.render(header: ["step", "why"], rows: [
            ["render", "bad.mustache:3:1: error: one\nbad.mustache:5:2: error: two"],
            ["tabs", "a\tb"],
            ["blank", String(repeating: " ", count: 40)],
        ], width: 40)
        #expect(text == """
            step    why
            render  bad.mustache:3:1: error: one
                    bad.mustache:5:2: error: two
            tabs    a b
            blank

            """)
    }

    @Test func aLineIsCutToAWidthWithAnEllipsis() {
        #expect(TextColumns.cut("  ▸ analyse  12s  3/10 items", to: 14) == "  ▸ analyse  …")
        #expect(TextColumns.cut("語彙の分析", to: 6) == "語彙…")
        #expect(TextColumns.cut("short", to: 5) == "short")
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
