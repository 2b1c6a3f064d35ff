import AIVTestSupport
import Foundation
import Testing
import Yams
@testable import AIVCore

extension ScalarSourceMap {
    /// A walk without a budget, as the tests below use it.
    static func location(ofCharacter offset: Int, in text: String, scalarAt start: AIVCore.SourceLocation, source: SourceFile) -> AIVCore.SourceLocation? {
        var unlimited = Int.max
        return location(ofCharacter: offset, in: text, scalarAt: start, source: source, budget: &unlimited)
    }
}

/// A diagnostic inside a string value points at the line and column where the text is written,
/// whatever the scalar's style: escapes, doubled quotes and folded lines included.
@Suite struct ScalarSourceMapTests {
    /// The value of `v` in a one-key document, as the reader gives it, and its file.
    func read(_ yaml: String) throws -> (value: SourceValue, source: SourceFile) {
        let source = SourceFile(path: "scalar.yaml", text: yaml)
        let value = try #require(YAMLReader().read(source).value?["v"])
        return (value, source)
    }

    /// The source character at a location.
    func written(at location: AIVCore.SourceLocation, in source: SourceFile) -> Unicode.Scalar? {
        guard let line = source.line(location.line) else { return nil }
        let scalars = Array(line.unicodeScalars)
        return location.column - 1 < scalars.count ? scalars[location.column - 1] : nil
    }

    static let scalars: [(style: String, yaml: String)] = [
        ("plain", "v: one two ${{ x }}\n"),
        ("plain over lines", "v: one two\n  three  four\n\n  five ${{ x }}\n"),
        ("double-quoted with escapes", "v: \"tab\\there \\u00e9\\x41\\\\ \\\" ${{ x }}\"\n"),
        ("double-quoted over lines", "v: \"first line\n   second ${{ x }}\n\n   fourth\"\n"),
        ("double-quoted with an escaped line break", "v: \"joined\\\n   here ${{ x }}\"\n"),
        ("single-quoted", "v: 'it''s ${{ format(''{0}'', x) }}'\n"),
        ("single-quoted over lines", "v: 'a\n  b ''c''\n  d'\n"),
        ("literal", "v: |\n  line one\n    indented ${{ x }}\n\n  last\n"),
        ("literal, kept end", "v: |+\n  a\n\n"),
        ("folded", "v: >\n  folded text\n  more ${{ x }}\n\n  new paragraph\n    kept indented\n  back\n"),
        ("folded, stripped, comment", "v: >- # note\n\n  after an empty line\n  and on\n"),
        ("with a tag and an anchor", "v: !!str &a \"x ${{ y }}\"\n"),
        ("non-ASCII", "v: \"日本語 👍🏽\n  ${{ x }} é\"\n"),
        ("CRLF lines", "v: \"one\r\n  two ${{ x }}\"\r\n"),
        ("a CRLF block", "v: >\r\n  é one\r\n  two ${{ x }}\r\n\r\n  three\r\n"),
        ("no line break at the end", "v: |\n  a\n  b ${{ x }}"),
        ("multi-byte before a fold", "v: '日本語\n  👍🏽 ${{ x }}'\n"),
    ]

    /// Every character of every style maps to where it is written: the same character, the
    /// backslash of its escape, or the line break a fold turned into a space or kept.
    @Test(arguments: scalars)
    func everyCharacterOfTheValueMapsToWhereItIsWritten(style: String, yaml: String) throws {
        try expectEveryCharacterMaps(yaml, style: style)
    }

    /// Random strings as libyaml's own emitter writes them in each style, 16 columns wide so that
    /// it folds them: escapes, quotes, breaks and folds it chooses, not ones written by hand.
    @Test func stringsAsLibyamlWritesThemMapBackInEveryStyle() async throws {
        try await heavyComputation {
            var random = SplitMix64(seed: 2026)
            let pieces = ["${{ steps.a.outputs.x }}", " ", "  ", "\n", "\n\n", "\t", "'", "\"", "\\", "é", "日本", "👍🏽", "word", "#", ": ", "- ", "x", "\u{7}"]
            var checked = 0
            for _ in 0..<300 {
                let text = (0..<Int.random(in: 1...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
                for style in [Node.Scalar.Style.plain, .singleQuoted, .doubleQuoted, .literal, .folded] {
                    let yaml = try Yams.serialize(node: .mapping(Node.Mapping([(Node("v"), Node(text, .implicit, style))])), width: 16, allowUnicode: true)
                    // An indentation indicator (written for text that starts with a space) is not followed: no location, by design.
                    let explicitIndentation = yaml.range(of: #"[|>][+-]?[1-9]"#, options: .regularExpression) != nil
                    guard let (value, _) = try? read(yaml), value.string == text, !explicitIndentation else { continue }
                    try expectEveryCharacterMaps(yaml, style: "\(style) \(text.debugDescription) as \(yaml.debugDescription)")
                    checked += 1
                }
            }
            #expect(checked > 1000)
        }
    }

    func expectEveryCharacterMaps(_ yaml: String, style: String) throws {
        let (value, source) = try read(yaml)
        let text = try #require(value.string)
        var previous: AIVCore.SourceLocation?
        for (offset, character) in text.enumerated() {
            let location = try #require(ScalarSourceMap.location(ofCharacter: offset, in: text, scalarAt: value.location, source: source),
                                        "\(style): character \(offset) '\(character)' has no location")
            let written = written(at: location, in: source)
            let decoded = character.unicodeScalars.first!
            let fromFold = (decoded == " " || decoded == "\n") && (written == nil || written == "\r")
            #expect(written == decoded || written == "\\" || fromFold, "\(style): '\(character)' at \(offset) maps to \(location), which holds \(written.map { "'\($0)'" } ?? "the line end")")
            if let previous {
                #expect((location.line, location.column) > (previous.line, previous.column), "\(style): locations go forward")
            }
            previous = location
        }
    }

    @Test func aCharacterPastTheEndOrAnExplicitIndentationHasNoLocation() throws {
        let (plain, source) = try read("v: abc\n")
        #expect(ScalarSourceMap.location(ofCharacter: 3, in: "abc", scalarAt: plain.location, source: source) == nil)
        #expect(ScalarSourceMap.location(ofCharacter: -1, in: "abc", scalarAt: plain.location, source: source) == nil)
        let (indented, indentedSource) = try read("v: |2\n   x\n")
        #expect(ScalarSourceMap.location(ofCharacter: 0, in: indented.string!, scalarAt: indented.location, source: indentedSource) == nil)
    }

    /// The walk reads at most its budget, and says so by what is left of it.
    @Test func aWalkStopsAtItsBudget() throws {
        let (value, source) = try read("v: \"" + String(repeating: "x", count: 5000) + " ${{ x }}\"\n")
        let text = try #require(value.string)
        var small = 1000
        #expect(ScalarSourceMap.location(ofCharacter: 5001, in: text, scalarAt: value.location, source: source, budget: &small) == nil)
        #expect(small <= 0)
        var enough = 20_000
        #expect(ScalarSourceMap.location(ofCharacter: 5001, in: text, scalarAt: value.location, source: source, budget: &enough)?.column == 5006)
        #expect(enough > 0 && enough < 20_000 - 5001)
    }

    /// A value that is not what its source says (the walk cannot follow it) gives no location, not a wrong one.
    @Test func aTextThatDiffersFromTheSourceHasNoLocation() throws {
        let (value, source) = try read("v: \"abc def\"\n")
        #expect(ScalarSourceMap.location(ofCharacter: 5, in: "abc xyz", scalarAt: value.location, source: source) == nil)
    }

    /// The checker's diagnostics for expressions in such strings, end to end.
    @Test func expressionErrorsInEscapedAndFoldedStringsPointAtTheExpression() {
        let yaml = """
            name: t
            steps:
              - id: a
                uses: file.write
                with: {path: a.txt, content: "tab\\there \\u00e9 ${{ steps.nope.outputs.x }}"}
              - id: b
                uses: file.write
                with:
                  path: b.txt
                  content: "first line
                    second ${{ steps.nope2.outputs.x }}"
              - id: c
                uses: file.write
                with:
                  path: c.txt
                  content: >
                    folded text
                    more ${{ steps.nope3.outputs.x }}
              - id: d
                uses: file.write
                with:
                  path: d.txt
                  content: 'it''s ${{ steps.nope4.outputs.x }}'

            """
        #expect(diagnose(yaml) == [
            "5:62: error: unknown step 'nope'",
            "11:26: error: unknown step 'nope2'",
            "18:24: error: unknown step 'nope3'",
            "23:33: error: unknown step 'nope4'",
        ])
    }
}
