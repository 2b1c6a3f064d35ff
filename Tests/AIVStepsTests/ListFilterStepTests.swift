import AIVCore
import AIVSteps
import Testing

@Suite struct ListFilterStepTests {
    static let vocabulary: JSONValue = [
        ["japanese": "えーと", "kind": "filler", "difficulty": "N5"],
        ["japanese": "お疲れ様", "kind": "phrase", "difficulty": "N4"],
        ["japanese": "草", "kind": "slang", "difficulty": nil],
        ["japanese": "推し", "kind": "slang", "difficulty": "N2"],
    ]

    func filter(_ items: JSONValue, _ condition: String, harness: StepHarness = StepHarness()) async throws -> JSONValue {
        try await harness.outputs(ListFilterStep.self, ["items": items, "where": .string(condition)])
    }

    func japanese(_ outputs: JSONValue) -> [String] {
        (outputs["items"]?.arrayValue ?? []).map { $0["japanese"]?.stringValue ?? "?" }
    }

    @Test(arguments: [
        ("item.kind != 'filler'", ["お疲れ様", "草", "推し"]),
        ("item.kind == 'slang' && length(item.japanese) > 1", ["推し"]),
        ("item.difficulty", ["えーと", "お疲れ様", "推し"]),
        ("!item.difficulty", ["草"]),
        ("index >= 2", ["草", "推し"]),
        ("contains(item.japanese, '疲')", ["お疲れ様"]),
        ("false", []),
    ])
    func keepsTheElementsForWhichTheConditionIsTrue(_ condition: String, _ expected: [String]) async throws {
        let outputs = try await filter(Self.vocabulary, condition)
        #expect(japanese(outputs) == expected)
        #expect(outputs["count"] == .int(expected.count))
        #expect(outputs["dropped"] == .int(4 - expected.count))
    }

    @Test func truthinessIsTheExpressionLanguages() async throws {
        let items: JSONValue = [0, 1, 0.0, 2.5, "", "a", nil, [], [0], [:], false, true]
        let outputs = try await filter(items, "item")
        #expect(outputs == ["items": [1, 2.5, "a", [0], [:], true], "count": 6, "dropped": 6])
    }

    @Test func inputsAndFinishedStepsAreInScopeAndItemShadowsTheStepsOwnItem() async throws {
        var harness = StepHarness()
        harness.scope = EvaluationScope(inputs: ["skip": "slang"], steps: ["levels": ["hard": "N2"]], item: "the for_each item", index: 7)
        let outputs = try await filter(Self.vocabulary, "item.kind != inputs.skip || item.difficulty == steps.levels.outputs.hard", harness: harness)
        #expect(japanese(outputs) == ["えーと", "お疲れ様", "推し"])
    }

    @Test func anEvaluationErrorNamesTheElement() async throws {
        let items: JSONValue = [["tags": ["first": "x"]], ["tags": nil], ["tags": ["x"]]]
        let message = try await StepHarness().failure(ListFilterStep.self, ["items": items, "where": "item.tags.first == 'x'"])
        #expect(message == "argument 'where' failed on item 2: 'item.tags' is a list; use [index] or [*]")
        let comparison = try await StepHarness().failure(ListFilterStep.self, ["items": [1, "two"], "where": "item > 0"])
        #expect(comparison == "argument 'where' failed on item 1: '>' needs two numbers or two strings, got a string and a number")
    }

    @Test(arguments: [
        ("item.kind ==", "argument 'where' is not a valid expression: expected an expression, found the end of the expression (at column 13 of 'item.kind ==')"),
        ("${{ item.kind }}", "argument 'where' is not a valid expression: unexpected character '$' (at column 1 of '${{ item.kind }}'); write the condition without ${{ }}"),
    ])
    func aConditionThatDoesNotParseIsAnArgumentError(_ condition: String, _ message: String) async throws {
        #expect(try await StepHarness().failure(ListFilterStep.self, ["items": Self.vocabulary, "where": .string(condition)]) == message)
    }

    @Test func aCancelledRunStopsBeforeTheNextElement() async throws {
        let harness = StepHarness()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await harness.run(ListFilterStep.self, ["items": [1, 2, 3], "where": "item"])
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
