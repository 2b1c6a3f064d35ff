import Testing
@testable import AIVCore

/// The compiler and the cycle check work on step positions; these tests hold the position
/// functions to the id-based graph API on the same graphs.
@Suite struct PositionGraphTests {
    @Test func distinctPositionsKeepFirstOrderWithAndWithoutHashing() {
        let position = Dictionary(uniqueKeysWithValues: (0..<50).map { ("s\($0)", $0) })
        let few = ["s3", "s1", "s3", "nope", "s0"]
        #expect(DependencyGraph.distinctPositions(of: few, in: position) == [3, 1, 0])
        let many = (0..<40).map { "s\(($0 * 7) % 13)" } + ["nope"]
        var expected: [Int] = []
        for id in many { if let p = position[id], !expected.contains(p) { expected.append(p) } }
        #expect(DependencyGraph.distinctPositions(of: many, in: position) == expected)
    }

    @Test func positionOrderAndLayersMatchTheIdGraph() {
        var state: UInt64 = 11
        func random(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<200 {
            let count = 1 + random(30)
            let steps = (0..<count).map { "s\($0)" }
            var edges: [String: [String]] = [:]
            for i in 0..<count {
                // Mostly earlier steps (a DAG); sometimes a later one, an unknown one or a repeat, so cycles occur too.
                edges[steps[i]] = (0..<random(4)).map { _ in
                    switch random(10) {
                    case 0: "unknown"
                    case 1: steps[random(count)]
                    default: i == 0 ? "unknown" : steps[random(i)]
                    }
                }
            }
            let graph = DependencyGraph(steps: steps, edges: edges)
            let position = Dictionary(uniqueKeysWithValues: steps.enumerated().map { ($1, $0) })
            let successors = steps.map { DependencyGraph.distinctPositions(of: edges[$0] ?? [], in: position) }
            let order = DependencyGraph.topologicalOrder(successors: successors)
            #expect(order?.map { steps[$0] } == graph.topologicalOrder())
            // No order exactly when the id graph has a cycle (the checker relies on it).
            #expect((order == nil) == !graph.cycles().isEmpty)
            if let order {
                let layers = DependencyGraph.layers(order: order, successors: successors)
                let byID = graph.layers(order: order.map { steps[$0] })
                #expect(steps.indices.allSatisfy { byID[steps[$0]] == layers[$0] })
            }
        }
    }
}
