@testable import AIVCore
import AIVTestSupport
import Foundation
import Testing

/// Reading a workflow's `steps:` list in parts on several threads must give exactly what reading
/// the file whole gives: the same located values, the same diagnostics, or a fall back to the
/// whole reading whenever a part cannot stand on its own.
@Suite struct SplitReadingTests {
    /// Steps with what could fool a cut at lines starting with `- `: strings over several lines
    /// holding such lines, block scalars, flow collections over lines, comments at any
    /// indentation, and top-level keys after the list, one an alias of a key before it. (Anchors
    /// inside the list send a file to the whole reading: they have cases of their own below.)
    static let trickyWorkflow = """
        # a workflow
        name: split
        defaults: &defaults {retry: {attempts: 2}}
        description: |
          Steps below.
          - not a step
        steps:
          - id: a
            uses: list.merge
            with: {lists: [[1, 2], [3]]}
        # a comment at the left edge, inside the list
          - id: b
            uses: template.render
            with:
              template: t.mustache
              values:
                text: "a string that runs
                  - id: fake
            over lines"
              output: out.md
          - id: c
            uses: list.sort
            with: {items: [3,
              1, 2], order: descending}
          - id: d
            uses: file.write
            with:
              path: d.txt
              content: |
                - id: not-a-step
                  uses: nothing
          -   id: e
              uses: list.filter
              with: {items: [1], where: "item > 0"}
          - id: f
            uses: file.write
            with: {path: f.txt, content: f}
          - id: g
            uses: file.write
            with: {path: g.txt, content: "- id: x"}
          - id: h
            uses: list.merge
            with:
              lists:
              - [1]
              - [2]
        services:
          gemini: {model: m}
        trailer: *defaults
        """

    func read(_ text: String, _ reading: YAMLReader.StepsReading, budget: Int = 1_000_000, depth: Int = 128)
        -> (value: SourceValue?, diagnostics: String) {
        var reader = YAMLReader()
        reader.stepsReading = reading
        reader.valueBudget = budget
        reader.depthLimit = depth
        let (value, diagnostics) = reader.read(SourceFile(path: "w.yaml", text: text))
        return (value, diagnostics.items.map { "\($0.location.map { "\($0.line):\($0.column)" } ?? "-") \($0.message)" }.joined(separator: "\n"))
    }

    /// Whether the parts were used (not the whole reading after a check failed).
    func wasSplit(_ text: String, parts: Int) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard let split = StepsSplit.find(in: bytes, parts: parts) else { return false }
            return YAMLReader().readSplit(bytes, split, file: "w.yaml") != nil
        }
    }

    @Test(arguments: [2, 3, 4, 7])
    func aTrickyWorkflowReadsTheSameInParts(_ parts: Int) {
        #expect(wasSplit(Self.trickyWorkflow, parts: parts))
        let whole = read(Self.trickyWorkflow, .whole)
        let split = read(Self.trickyWorkflow, .parts(parts))
        #expect(whole.value != nil)
        #expect(split.value == whole.value)
        #expect(split.diagnostics == whole.diagnostics)
    }

    @Test func aLongWorkflowIsReadInPartsAndGivesTheSameValues() {
        var text = "name: long\nsteps:\n"
        for i in 0..<400 {
            text += "  - id: s\(i)\n    uses: list.merge\n    with: {lists: [[\(i)], [\"${{ inputs.x }}\"]]}\n"
        }
        text += "services: {gemini: {model: m}}\n"
        for parts in [2, 3, 8] {
            #expect(wasSplit(text, parts: parts))
            let split = read(text, .parts(parts)), whole = read(text, .whole)
            #expect(split.value == whole.value && split.diagnostics.isEmpty)
            #expect(split.value?["steps"]?.items?.count == 400)
        }
    }

    /// A list at the left edge, like its key, and CRLF line ends.
    @Test func aListAtTheLeftEdgeAndCRLFLinesReadTheSame() {
        let leftEdge = "name: x\nsteps:\n- id: a\n  uses: list.merge\n- id: b\n  uses: list.merge\n- id: c\n  uses: list.sort\nafter: 1\n"
        for text in [leftEdge, leftEdge.replacingOccurrences(of: "\n", with: "\r\n")] {
            #expect(wasSplit(text, parts: 2))
            #expect(read(text, .parts(2)).value == read(text, .whole).value)
        }
    }

    /// Whether the list is cut at all (then what the parts give decides).
    func isCut(_ text: String, parts: Int) -> Bool {
        var text = text
        return text.withUTF8 { StepsSplit.find(in: $0, parts: parts) != nil }
    }

    /// Each of these parts could be read alone, or not, but the whole file says something else,
    /// or something more: the whole reading must be what counts. `cut`: the line scan cuts the
    /// list, and it is what the parts give that sends the file to the whole reading.
    @Test(arguments: [
        ("an alias to an anchor in an earlier part", true, "name: x\nsteps:\n  - id: a\n    with: &w {p: 1}\n  - id: b\n  - id: c\n    with: *w\n"),
        ("a trailer alias to an anchor the list redefines", true,
         "name: x\nbase: &b 1\nsteps:\n  - id: a\n  - id: b\n    with: &b 2\nafter: *b\n"),
        ("a string left open before a cut", true, "name: x\nsteps:\n  - id: a\n    text: 'open\n  - id: b\n  - id: c\n"),
        ("a string going on at the items' indentation", true, "name: x\nsteps:\n  - id: a\n    text: \"one\n  - id: fake\n    two\"\n"),
        ("a flow list going on at the items' indentation", true, "name: x\nsteps:\n  - id: a\n    with: [1,\n  - 2]\n  - id: b\n  - id: c\n"),
        ("a duplicate key in a part", true, "name: x\nsteps:\n  - id: a\n    id: again\n  - id: b\n"),
        ("malformed YAML in the last part", true, "name: x\nsteps:\n  - id: a\n  - id: b\n    with: {p: [1, 2}\n"),
        ("a key less indented than the items", true, "name: x\nsteps:\n    - id: a\n    - id: b\n  odd: 1\n"),
        ("the list inside a string opened before steps", true, "name: \"x\nsteps:\n  - a\n  - b\n\"\nsteps: ~\n"),
        ("the list inside a flow mapping opened before steps", true, "x: {\nsteps:\n  - a\n  - b\n}\nsteps: ~\n"),
        ("the list inside a single-quoted string, at the left edge", true, "name: 'x\nsteps:\n- a\n- b\n'\n\"steps\": ~\n"),
        ("a line separator in a comment", false, "name: x\nsteps:\n  - a  # n\u{2028}\n  - b\nafter: 1\n"),
        ("a next-line character in a string", false, "name: x\nsteps:\n  - \"x\u{85}y\"\n  - b\nafter: 1\n"),
        ("a lone carriage return", false, "name: x\nsteps:\n  - a  # n\r\r\n  - b\nafter: 1\n"),
        ("a second steps key", false, "name: x\nsteps:\n  - id: a\n  - id: b\nsteps:\n  - id: c\n  - id: d\n"),
        ("a document marker", false, "name: x\nsteps:\n  - id: a\n  - id: b\n---\nname: y\n"),
        ("a flow list after steps", false, "name: x\nsteps: [\n  - id: a\n  ]\n"),
        ("a tag on steps", false, "name: x\nsteps: !!seq\n  - id: a\n  - id: b\n"),
    ])
    func partsThatDoNotStandAloneGiveTheWholeReading(_ name: String, _ cut: Bool, _ text: String) {
        for parts in [2, 3] {
            #expect(isCut(text, parts: parts) == cut, "\(name)")
            #expect(!wasSplit(text, parts: parts), "\(name)")
            let split = read(text, .parts(parts)), whole = read(text, .whole)
            #expect(split.value == whole.value, "\(name)")
            #expect(split.diagnostics == whole.diagnostics, "\(name)")
        }
    }

    /// Limits hold for the whole document, not each part: values an alias stands for add up over
    /// parts, and the list's items sit one level deeper than in a part of their own.
    @Test func limitsCountTheWholeDocument() {
        let items = (0..<6).map { "  - [\($0), \($0), \($0), \($0), \($0)]\n" }.joined()
        let text = "name: x\nsteps:\n" + items
        let whole = read(text, .whole, budget: 30), split = read(text, .parts(3), budget: 30)
        #expect(whole.diagnostics.contains("more than 30 values"))
        #expect(split.diagnostics == whole.diagnostics && split.value == whole.value)

        let nested = "name: x\nsteps:\n  - a: [[1]]\n  - b: [[2]]\n  - c: 3\n"
        for depth in 3...5 {
            let whole = read(nested, .whole, depth: depth), split = read(nested, .parts(2), depth: depth)
            #expect(split.diagnostics == whole.diagnostics && split.value == whole.value, "depth limit \(depth)")
        }
        #expect(read(nested, .whole, depth: 4).diagnostics.contains("nested more than 4 levels"))
    }

    /// Thousands of mutations of the tricky workflow: in parts or whole, the same answer.
    @Test func mutatedWorkflowsReadTheSameInPartsAsWhole() async throws {
        try await heavyComputation {
            var random = SplitMix64(seed: 1126)
            var splitRounds = 0
            for round in 0..<2500 {
                let text = LoaderFuzzTests.mutate(Self.trickyWorkflow, with: &random)
                let whole = read(text, .whole)
                for parts in [2, 5] {
                    let split = read(text, .parts(parts))
                    #expect(split.value == whole.value, "round \(round), \(parts) parts:\n\(text)")
                    #expect(split.diagnostics == whole.diagnostics, "round \(round), \(parts) parts:\n\(text)")
                }
                if wasSplit(text, parts: 2) { splitRounds += 1 }
            }
            // The parts were really used for a good share of the documents, not always given up.
            #expect(splitRounds > 200)
        }
    }
}
