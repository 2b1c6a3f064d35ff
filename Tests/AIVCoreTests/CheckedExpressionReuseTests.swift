import Foundation
import Testing
@testable import AIVCore
import AIVSteps

/// `Compiler` reuses the `if` and `for_each` expressions the checker parsed; these tests hold
/// that fast path to the slow one (parsing again), on plans and on errors.
@Suite struct CheckedExpressionReuseTests {
    static let yaml = """
        name: t
        inputs:
          publish: {type: bool, default: false}
          names: {type: list, default: [a, b, c]}
          single: {type: string, default: x}
        steps:
          - id: each
            uses: file.write
            for_each: ${{ inputs.names }}
            with: {path: "${{ item }}.txt", content: x}
          - id: maybe
            uses: file.write
            if: inputs.publish && env.AIV_PUBLISH
            with: {path: p.txt, content: x}
          - id: literal
            uses: file.write
            for_each: [1, 2]
            if: ${{ length(inputs.names) > 2 }}
            with: {path: "${{ item }}.txt", content: x}
          - id: later
            uses: file.write
            for_each: "${{ steps.each.outputs }}"
            if: steps.maybe.outputs.bytes > 0
            with: {path: "l${{ index }}.txt", content: x}
          - id: flag
            uses: file.write
            if: true
            with: {path: f.txt, content: x}
        """

    static func checked(_ yaml: String) throws -> CheckedWorkflow {
        let source = SourceFile(path: "reuse.yaml", text: yaml)
        let workflow = try #require(WorkflowLoader().load(source).workflow)
        return WorkflowChecker(registry: .builtin).check(workflow, source: source)
    }

    /// The plan as JSON with sorted keys, or the diagnostics' text.
    static func outcome(_ checked: CheckedWorkflow, inputs: [String: JSONValue], environment: [String: String] = [:]) throws -> String {
        switch Compiler(registry: .builtin).compile(checked, inputs: inputs, environment: environment) {
        case .success(let plan):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(plan), as: UTF8.self)
        case .failure(let diagnostics):
            return diagnostics.sorted.map { "\($0.location.map(\.description) ?? "-") \($0.message) \($0.length)" }.joined(separator: "\n")
        }
    }

    @Test func theCheckerKeepsOneEntryPerStepWithTheTextItParsed() throws {
        let checked = try Self.checked(Self.yaml)
        #expect(checked.isValid)
        #expect(checked.parsedExpressions.count == checked.workflow.steps.count)
        #expect(checked.parsedExpressions[0].forEach?.text == "${{ inputs.names }}")
        #expect(checked.parsedExpressions[1].condition?.text == "inputs.publish && env.AIV_PUBLISH")
        #expect(checked.parsedExpressions[2].forEach == nil)  // a literal list: nothing to parse
        #expect(checked.parsedExpressions[4].condition == nil)  // a literal boolean
        #expect(checked.parsedExpressions[1].condition?.expression == (try ExpressionParser.parse("inputs.publish && env.AIV_PUBLISH")))
    }

    @Test func plansAreTheSameWithAndWithoutTheCheckersExpressions() throws {
        let checked = try Self.checked(Self.yaml)
        var reparsing = checked
        reparsing.parsedExpressions = []
        for (inputs, environment) in [
            (["publish": JSONValue.bool(true), "names": ["a", "b", "c"], "single": "x"], ["AIV_PUBLISH": "yes"]),
            (["publish": JSONValue.bool(false), "names": ["a"], "single": "x"], [:]),
        ] {
            let fast = try Self.outcome(checked, inputs: inputs, environment: environment)
            #expect(fast == (try Self.outcome(reparsing, inputs: inputs, environment: environment)))
            #expect(fast.hasPrefix("{"))
        }
    }

    @Test func errorsAreTheSameWithAndWithoutTheCheckersExpressions() throws {
        let checked = try Self.checked(Self.yaml)
        var reparsing = checked
        reparsing.parsedExpressions = []
        // `names` given as a string: the for_each of `each` is then known not to be a list.
        let inputs: [String: JSONValue] = ["publish": false, "names": "abc", "single": "x"]
        let fast = try Self.outcome(checked, inputs: inputs)
        #expect(fast == (try Self.outcome(reparsing, inputs: inputs)))
        #expect(fast.contains("'for_each' of step 'each' must be a list, but it is string here"))
    }

    @Test func anExpressionWhoseTextChangedAfterCheckingIsParsedAgain() throws {
        var checked = try Self.checked(Self.yaml)
        checked.workflow.steps[1].condition = SourceValue(.string("inputs.publish"), at: SourceLocation(file: "reuse.yaml", line: 13, column: 9))
        checked.workflow.steps[0].forEach = SourceValue(.string("${{ inputs.single }}"), at: SourceLocation(file: "reuse.yaml", line: 9, column: 15))
        var reparsing = checked
        reparsing.parsedExpressions = []
        let inputs: [String: JSONValue] = ["publish": true, "names": ["a"], "single": "x"]
        let fast = try Self.outcome(checked, inputs: inputs)
        #expect(fast == (try Self.outcome(reparsing, inputs: inputs)))
        #expect(fast.contains("'for_each' of step 'each' must be a list, but it is string here"))
    }
}

/// The checker parses each distinct text once; a repeat must give what parsing again gives.
@Suite struct CheckerParseReuseTests {
    static func run() -> CheckRun {
        CheckRun(registry: .builtin, workflow: Workflow(file: "w.yaml", name: "w"), source: nil)
    }

    static func fresh<T>(_ parse: () throws(ExpressionError) -> T) -> Result<T, ExpressionError> {
        Result { () throws(ExpressionError) in try parse() }
    }

    @Test func repeatsGiveTheSameTemplateOrError() {
        var run = Self.run()
        for text in ["${{ item }}", "a ${{ format('{0}', inputs.x) }} b", "${{ (", "${{ 1 + }}", "no expression", "${{ item }}", "${{ ("] {
            let expected = Self.fresh { () throws(ExpressionError) in try StringTemplate.parse(text) }
            for _ in 0..<2 {
                #expect(Self.fresh { () throws(ExpressionError) in try run.parseTemplate(text) } == expected)
            }
        }
        #expect(run.templatesByText.count == 5)
    }

    @Test func repeatsGiveTheSameExpressionOrError() {
        var run = Self.run()
        for text in ["item != null && index < 10", "inputs.a &&", "(((", "item != null && index < 10"] {
            let expected = Self.fresh { () throws(ExpressionError) in try ExpressionParser.parse(text) }
            for _ in 0..<2 {
                #expect(Self.fresh { () throws(ExpressionError) in try run.parseExpression(text) } == expected)
            }
        }
        #expect(run.expressionsByText.count == 3)
    }

    @Test func aRepeatedTextIsStillCheckedInEachPlace() {
        // The same text: an error in each step where it is written, and a type check in each
        // step's own scope (`item` exists only in a for_each step).
        let yaml = """
            name: t
            steps:
              - id: a
                uses: file.write
                with: {path: a.txt, content: "${{ 1 + }}"}
              - id: b
                uses: file.write
                with: {path: b.txt, content: "${{ 1 + }}"}
              - id: c
                uses: file.write
                for_each: [x, y]
                with: {path: "${{ item }}.txt", content: x}
              - id: d
                uses: file.write
                with: {path: "${{ item }}.txt", content: x}
            """
        let found = diagnose(yaml)
        #expect(found.count == 3)
        #expect(found[0].hasPrefix("5:") && found[1].hasPrefix("8:") && found[2].hasPrefix("15:"))
        #expect(found[0].dropFirst(2) == found[1].dropFirst(2))
        #expect(found[2].contains("item"))
    }
}

/// Checking validates `format` patterns with a byte scan for ASCII; it must give what `format` gives.
@Suite struct FormatPatternCheckTests {
    @Test func theByteScanAgreesWithFormat() {
        let patterns = ["", "plain", "{0}&t={1}s", "{{0}}", "{{", "}}", "{", "}", "a}b", "{x}", "{0", "{}", "{00}", "{1}", "{2}",
                        "{99999999999999999999999}", "{0}{1}{0}", "{{{0}}}", "}{", "\r\n{0}\r\n", "{0\r\n}", "tab\t{1}",
                        "é{0}", "{0}é}", "{\u{301}0}", "e\u{301}{3}", "😀{{0}}", "{0}😀}"]
        for pattern in patterns {
            for count in 0...2 {
                let expected: String?
                do throws(FunctionFailure) {
                    _ = try ExpressionFunctions.format(pattern, Array(repeating: JSONValue.null, count: count))
                    expected = nil
                } catch {
                    expected = error.message
                }
                #expect(ExpressionFunctions.formatProblem(pattern, valueCount: count) == expected, "\(pattern) with \(count)")
            }
        }
    }
}
