import AIVCore
import AIVSteps
import Testing

@Suite struct ListMapStepTests {
    static let vocabulary: JSONValue = [
        ["japanese": "草", "start": 12.4],
        ["japanese": "推し", "start": 577.9, "link": "old"],
    ]

    @Test func setsEachFieldFromTheElementAsItCameIn() async throws {
        var harness = StepHarness()
        harness.scope = EvaluationScope(inputs: ["url": "https://youtu.be/abc"])
        let outputs = try await harness.outputs(ListMapStep.self, [
            "items": Self.vocabulary,
            "set": ["link": "timeLink(inputs.url, item.start)", "position": "index", "start": "floor(item.start)", "was": "item.start"],
        ])
        #expect(outputs == ["items": [
            ["japanese": "草", "start": 12, "link": "https://youtu.be/abc?t=12s", "position": 0, "was": 12.4],
            ["japanese": "推し", "start": 577, "link": "https://youtu.be/abc?t=577s", "position": 1, "was": 577.9],
        ], "count": 2])
    }

    @Test func anErrorNamesTheFieldAndTheElement() async throws {
        let failed = try await StepHarness().failure(ListMapStep.self, ["items": Self.vocabulary, "set": ["n": "length(item.start)"]])
        #expect(failed == "argument 'set' field 'n' failed on item 0: 'length' needs a string, list or mapping, got a number")
        let notMapping = try await StepHarness().failure(ListMapStep.self, ["items": [["a": 1], 3], "set": ["b": "1"]])
        #expect(notMapping == "argument 'items' item 1 is a number, not a mapping whose fields could be set")
        let syntax = try await StepHarness().failure(ListMapStep.self, ["items": [], "set": ["b": "${{ item }}"]])
        #expect(syntax == "argument 'set' field 'b' is not a valid expression: unexpected character '$' (at column 1 of '${{ item }}'); write it without ${{ }}")
    }
}
