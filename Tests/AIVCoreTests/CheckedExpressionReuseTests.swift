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
