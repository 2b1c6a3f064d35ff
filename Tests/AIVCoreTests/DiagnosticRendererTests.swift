import AIVCore
import Testing

@Suite struct DiagnosticRendererTests {
    @Test func printsTheSourceLineWithACaretUnderTheProblem() {
        let file = SourceFile(path: "w.yaml", text: "name: x\nsteps:\n  - id: a\n    uses: notoin.upsert\n")
        var renderer = DiagnosticRenderer(files: [file])
        let diagnostic = Diagnostic.error("unknown step kind 'notoin.upsert'; did you mean 'notion.upsert'?",
                                          at: SourceLocation(file: "w.yaml", line: 4, column: 11), length: 13,
                                          notes: [.init("declared here", at: SourceLocation(file: "w.yaml", line: 3, column: 5))])
        #expect(renderer.render(diagnostic) == """
            w.yaml:4:11: error: unknown step kind 'notoin.upsert'; did you mean 'notion.upsert'?
             4 |     uses: notoin.upsert
               |           ^~~~~~~~~~~~~
            w.yaml:3:5: note: declared here
             3 |   - id: a
               |     ^

            """)
    }

    @Test func keepsTabsSoTheCaretLinesUp() {
        let file = SourceFile(path: "w.yaml", text: "\tkey: value\n")
        var renderer = DiagnosticRenderer(files: [file])
        let text = renderer.render(.warning("w", at: SourceLocation(file: "w.yaml", line: 1, column: 7), length: 5))
        #expect(text.hasSuffix(" 1 | \tkey: value\n   | \t     ^~~~~\n"))
    }

    /// Kana, kanji and emoji take two cells of a terminal: the caret line pads them with two
    /// spaces and underlines them with two cells, so the caret lands under the problem.
    @Test func wideCharactersKeepTheCaretUnderTheProblem() {
        let file = SourceFile(path: "w.yaml", text: "content: \"ホラー😀 ${{ steps.nope.outputs.x }}\"\ntitle: 初見プレイ\n")
        var renderer = DiagnosticRenderer(files: [file])
        let first = renderer.render(.error("unknown step 'nope'", at: SourceLocation(file: "w.yaml", line: 1, column: 26), length: 4))
        #expect(first.hasSuffix(" 1 | content: \"ホラー😀 ${{ steps.nope.outputs.x }}\"\n   |                              ^~~~\n"))
        let second = renderer.render(.error("e", at: SourceLocation(file: "w.yaml", line: 2, column: 8), length: 2))
        #expect(second.hasSuffix(" 2 | title: 初見プレイ\n   |        ^~~~\n"))
        // A flag (two regional indicators) and a heart with the emoji selector: two cells each.
        let flags = SourceFile(path: "f.yaml", text: "t: 🇯🇵❤️ x\n")
        var flagRenderer = DiagnosticRenderer(files: [flags])
        let third = flagRenderer.render(.error("e", at: SourceLocation(file: "f.yaml", line: 1, column: 9), length: 1))
        #expect(third.hasSuffix(" 1 | t: 🇯🇵❤️ x\n   |         ^\n"), "\(third)")
    }

    /// A problem far along a very long line shows the stretch around it, not the whole line.
    @Test func aLongLineIsShownAroundTheProblem() {
        let line = "content: " + String(repeating: "a", count: 900) + "BAD" + String(repeating: "z", count: 900)
        let file = SourceFile(path: "w.yaml", text: line + "\n")
        var renderer = DiagnosticRenderer(files: [file])
        let text = renderer.render(.error("e", at: SourceLocation(file: "w.yaml", line: 1, column: 910), length: 3))
        let lines = text.split(separator: "\n")
        #expect(lines[1].hasPrefix(" 1 | …aaa") && lines[1].hasSuffix("zzz…"))
        #expect(lines[1].count == " 1 | ".count + 1 + DiagnosticRenderer.widestExcerpt + 1)
        // The caret still sits under the problem.
        let caret = lines[2].distance(from: lines[2].startIndex, to: lines[2].firstIndex(of: "^")!)
        #expect(Array(lines[1])[caret..<caret + 3] == ["B", "A", "D"])
        #expect(lines[2].hasSuffix("^~~"))
    }

    /// Clipping counts columns, not bytes: 130 Japanese characters (390 bytes) are shown whole.
    @Test func aLineOfFewerColumnsThanTheWidestIsShownWholeWhateverItsBytes() {
        let line = "text: " + String(repeating: "草", count: 130)
        let file = SourceFile(path: "w.yaml", text: line + "\n")
        var renderer = DiagnosticRenderer(files: [file])
        let text = renderer.render(.error("e", at: SourceLocation(file: "w.yaml", line: 1, column: 100)))
        #expect(text.contains(" 1 | " + line + "\n"))
        #expect(!text.contains("…"))
    }

    @Test func colorsOnlyWhenAsked() {
        var plain = DiagnosticRenderer()
        var colored = DiagnosticRenderer(useColor: true)
        let diagnostic = Diagnostic.error("bad", at: nil)
        #expect(plain.render(diagnostic) == "error: bad\n")
        #expect(colored.render(diagnostic).contains("\u{1B}[1;31merror"))
    }
}

@Suite struct WorkflowSchemaTests {
    @Test func listsEveryKindWithItsArguments() throws {
        let schema = WorkflowSchema.document(for: .builtin)
        let step = try #require(schema["properties"]?["steps"]?["items"])
        let kinds = try #require(step["properties"]?["uses"]?["enum"]?.arrayValue)
        #expect(kinds.count == StepRegistry.builtin.kinds.count)
        let rules = try #require(step["allOf"]?.arrayValue)
        let filter = try #require(rules.first { $0["if"]?["properties"]?["uses"]?["const"] == "list.filter" })
        let with = try #require(filter["then"]?["properties"]?["with"])
        #expect(with["required"] == ["items", "where"])
        #expect(with["additionalProperties"] == false)
        // A list argument also accepts a ${{ }} expression.
        #expect(with["properties"]?["items"]?["anyOf"]?.arrayValue?.count == 2)
    }

    /// The schema's duration pattern takes what `Durations.parse` takes, in the forms people write
    /// (a span past a year, `400d` or `1e400`, is refused by aiv and not by a pattern, which
    /// knows no sizes).
    @Test(arguments: ["30", "1.5", "+5", "1e3", ".5", "250ms", "90s", "5m", "1h30m", "1h30m15s", "2d", "1.5h", ".5m", "1d2h3m4s5ms",
                      "5m5m", "30s1m", "1m1h", "abc", "", "s", "5", "10 m", "5mm", "1.2.3s", "-5s", "5x", "0x10", "-0", "-5", "inf", " 10m ", "5 "])
    func theDurationPatternTakesWhatAivReads(_ text: String) throws {
        let regex = try NSRegularExpression(pattern: WorkflowSchema.durationPattern)
        let matches = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        #expect(matches == (Durations.parse(text) != nil), "\(text)")
    }

    /// An editor flags what validate refuses: a step without the arguments its kind requires, a
    /// default of another type than its input's, an item expression in `${{ }}`, a timeout of
    /// zero, a cache on a kind with side effects.
    @Test func theSchemaRequiresWhatValidateRequires() throws {
        let schema = WorkflowSchema.document(for: .builtin)
        let step = try #require(schema["properties"]?["steps"]?["items"])
        let rules = try #require(step["allOf"]?.arrayValue)
        let filter = try #require(rules.first { $0["if"]?["properties"]?["uses"]?["const"] == "list.filter" })
        #expect(filter["then"]?["required"] == ["with"])
        #expect(filter["then"]?["properties"]?["with"]?["properties"]?["where"]?["allOf"]?.arrayValue?.first?["not"]?["pattern"] == #"\$\{\{"#)
        let input = try #require(schema["properties"]?["inputs"]?["additionalProperties"]?["anyOf"]?.arrayValue?.last)
        let bool = try #require(input["allOf"]?.arrayValue?.first { $0["if"]?["properties"]?["type"]?["const"] == "bool" })
        #expect(bool["then"]?["properties"]?["default"]?["type"] == ["boolean", "null"])
        #expect(step["properties"]?["timeout"]?["anyOf"]?.arrayValue?.first?["exclusiveMinimum"] == 0)
        let stock = try #require(rules.first { $0["if"]?["properties"]?["uses"]?["const"] == "stock.merge" })
        #expect(stock["then"]?["properties"]?["cache"]?["enum"] == [false, "off", "never"])
    }

    @Test func isValidJSON() throws {
        let text = WorkflowSchema.document(for: .builtin).prettyJSON
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(decoded == WorkflowSchema.document(for: .builtin))
    }
}

import AIVSteps
import Foundation

@Suite struct GraphRendererTests {
    @Test func marksForEachStepsAndDrawsEveryEdge() throws {
        let yaml = """
            name: g
            steps:
              - id: a
                uses: file.write
                for_each: [1, 2]
                with: {path: "${{ item }}.txt", content: x}
              - id: b
                uses: file.write
                needs: a
                if: true
                with: {path: b.txt, content: "${{ steps.a.outputs[0].path }}"}
            """
        let plan = try #require(plan(yaml).plan)
        #expect(GraphRenderer.mermaid(plan) == """
            flowchart LR
              s0[["a<br/>file.write<br/>for each ×2"]]
              s1{{"b<br/>file.write<br/>if …"}}
              s0 -.-> s1

            """)
        let dot = GraphRenderer.dot(plan)
        #expect(dot.contains("\"a\" [label=\"a\\nfile.write\\nfor each ×2\", shape=box3d];"))
        #expect(dot.contains("\"a\" -> \"b\" [style=dotted];"))
    }

    /// A workflow name with a NUL or a line break in it still gives a graph Graphviz reads.
    @Test func aControlCharacterInTheNameIsShownNotWritten() throws {
        let plan = try #require(plan("name: \"say \\0\\\"hi\\\"\\n\"\nsteps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n").plan)
        #expect(GraphRenderer.dot(plan).hasPrefix("digraph \"say \u{FFFD}\\\"hi\\\"\u{FFFD}\" {\n"), "\(GraphRenderer.dot(plan))")
    }

    /// An optional need (its skipping does not skip the step) is told apart from a plain one.
    @Test func labelsOptionalNeeds() throws {
        let yaml = """
            name: g
            steps:
              - {id: a, uses: file.write, if: false, with: {path: a.txt, content: x}}
              - {id: b, uses: file.write, with: {path: b.txt, content: x}}
              - {id: c, uses: file.write, needs: [b], optional_needs: [a], with: {path: c.txt, content: x}}
            """
        let plan = try #require(plan(yaml).plan)
        let mermaid = GraphRenderer.mermaid(plan)
        #expect(mermaid.contains("s0 -. optional .-> s2") && mermaid.contains("s1 -.-> s2"), "\(mermaid)")
        let dot = GraphRenderer.dot(plan)
        #expect(dot.contains("\"a\" -> \"c\" [style=dotted, label=\"optional\", arrowhead=empty];") && dot.contains("\"b\" -> \"c\" [style=dotted];"), "\(dot)")
    }
}
