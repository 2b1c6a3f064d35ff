import AIVCore
import AIVSteps
import Testing

@Suite struct ListMergeStepTests {
    @Test(arguments: [
        ("lists are concatenated in order", JSONValue.array([[1, 2], [3], []]), JSONValue.array([1, 2, 3])),
        ("only one level is flattened", [[1], [[2, 3]], [[]]], [1, [2, 3], []]),
        ("a non-list element is one item", [[1], 2, "three", ["k": "v"], nil, [4]], [1, 2, "three", ["k": "v"], nil, 4]),
        ("no lists give an empty list", [], []),
        ("per-chunk results of a for_each", [[["japanese": "やばい"]], [], [["japanese": "草"], ["japanese": "推し"]]],
         [["japanese": "やばい"], ["japanese": "草"], ["japanese": "推し"]]),
    ] as [(String, JSONValue, JSONValue)])
    func mergesLists(_ situation: String, _ lists: JSONValue, _ expected: JSONValue) async throws {
        let outputs = try await StepHarness().outputs(ListMergeStep.self, ["lists": lists])
        #expect(outputs == ["items": expected, "count": .int(expected.arrayValue?.count ?? -1)], "\(situation)")
    }

    @Test func listsMustBeAList() async throws {
        #expect(try await StepHarness().failure(ListMergeStep.self, ["lists": "a"]) == "argument 'lists' must be a list, not string")
        #expect(try await StepHarness().failure(ListMergeStep.self, [:]) == "argument 'lists' is missing")
    }
}
