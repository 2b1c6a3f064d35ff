/// The steps of a workflow and the edges between them: cycle detection, topological order and layers.
public struct DependencyGraph: Sendable {
    /// Whether step `id` may be skipped in a run: it can skip itself (`skipsItself`: an `if:`, a
    /// `continue_on_error`), or a step it needs may be skipped. An unknown id (`skipsItself`
    /// nil), a cycle or a chain deeper than 10,000 counts as skippable. `known` memoizes.
    public static func mayBeSkipped(_ id: String, skipsItself: (String) -> Bool?, needs: (String) -> [String],
                                    known: inout [String: Bool], depth: Int = 0) -> Bool {
        if let answer = known[id] { return answer }
        guard let itself = skipsItself(id), depth < 10_000 else { return true }
        known[id] = true
        let answer = itself || needs(id).contains {
            $0 != id && mayBeSkipped($0, skipsItself: skipsItself, needs: needs, known: &known, depth: depth + 1)
        }
        known[id] = answer
        return answer
    }

    /// Step ids in declaration order.
    public let steps: [String]
    /// Step id → ids it depends on.
    public let edges: [String: [String]]

    public init(steps: [String], edges: [String: [String]]) {
        self.steps = steps
        self.edges = edges
    }

    /// Every cycle, one per strongly connected component, as the steps along it in order
    /// (`[a, b, c]` means a → b → c → a, "a depends on b"). Uses Tarjan's algorithm, iteratively,
    /// so that a chain of thousands of steps cannot overflow the stack.
    public func cycles() -> [[String]] {
        // On positions rather than names, with each step's successors listed once: hashing names
        // in the inner loop made this the largest part of checking a wide workflow.
        let position = Dictionary(steps.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let successors: [[Int]] = steps.map { step in (edges[step] ?? []).compactMap { position[$0] } }
        let unvisited = -1
        var index = [Int](repeating: unvisited, count: steps.count), low = index
        var onStack = [Bool](repeating: false, count: steps.count), stack: [Int] = []
        var counter = 0
        var components: [[Int]] = []

        for root in steps.indices where index[root] == unvisited {
            var work: [(node: Int, next: Int)] = [(root, 0)]
            index[root] = counter; low[root] = counter; counter += 1
            stack.append(root); onStack[root] = true
            while let (node, next) = work.last {
                if next < successors[node].count {
                    work[work.count - 1].next += 1
                    let successor = successors[node][next]
                    if index[successor] == unvisited {
                        index[successor] = counter; low[successor] = counter; counter += 1
                        stack.append(successor); onStack[successor] = true
                        work.append((successor, 0))
                    } else if onStack[successor] {
                        low[node] = min(low[node], index[successor])
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last?.node { low[parent] = min(low[parent], low[node]) }
                if low[node] == index[node] {
                    var component: [Int] = []
                    while let top = stack.popLast() {
                        onStack[top] = false
                        component.append(top)
                        if top == node { break }
                    }
                    if component.count > 1 || successors[node].contains(node) { components.append(component) }
                }
            }
        }
        return components.map { cyclePath(through: Set($0.map { steps[$0] }), position: position) }
            .sorted { position[$0[0]]! < position[$1[0]]! }
    }

    /// A cycle inside one strongly connected component, starting at its first-declared step.
    private func cyclePath(through members: Set<String>, position: [String: Int]) -> [String] {
        let start = members.min { position[$0]! < position[$1]! }!
        // Breadth-first search from start's successors back to start, within the component.
        var previous: [String: String] = [:]
        var queue = [start]
        var head = 0
        while head < queue.count {
            let node = queue[head]; head += 1
            for successor in (edges[node] ?? []) where members.contains(successor) {
                if successor == start {
                    var path = [node]
                    while let p = previous[path[0]] { path.insert(p, at: 0) }
                    return path
                }
                if previous[successor] == nil, successor != start {
                    previous[successor] = node
                    queue.append(successor)
                }
            }
        }
        return [start]
    }

    /// Steps so that each comes after everything it depends on; among steps that are ready at the
    /// same time, the one declared first comes first. Nil when there is a cycle.
    public func topologicalOrder() -> [String]? {
        let position = Dictionary(uniqueKeysWithValues: steps.enumerated().map { ($1, $0) })
        let successors = steps.map { Self.distinctPositions(of: edges[$0] ?? [], in: position) }
        return Self.topologicalOrder(successors: successors)?.map { steps[$0] }
    }

    /// Each step's layer: 0 for steps with no dependencies, else one more than its deepest dependency.
    public func layers(order: [String]) -> [String: Int] {
        var layer: [String: Int] = [:]
        for step in order {
            layer[step] = (edges[step] ?? []).compactMap { layer[$0] }.max().map { $0 + 1 } ?? 0
        }
        return layer
    }

    // MARK: On positions

    /// The positions of `ids` that name a step, each once, in the order first listed.
    static func distinctPositions(of ids: some Collection<String>, in position: [String: Int]) -> [Int] {
        var found: [Int] = []
        found.reserveCapacity(ids.count)
        // A step lists a few dependencies: a scan beats hashing, unless it lists many.
        var seen: Set<Int>? = ids.count > 16 ? [] : nil
        for id in ids {
            guard let p = position[id] else { continue }
            if seen == nil ? !found.contains(p) : seen!.insert(p).inserted { found.append(p) }
        }
        return found
    }

    /// `topologicalOrder()` on positions: `successors[i]` are the distinct positions step `i`
    /// depends on. Ties go to the lowest position. Nil when there is a cycle.
    static func topologicalOrder(successors: [[Int]]) -> [Int]? {
        var remaining = successors.map(\.count)
        var dependents = [[Int]](repeating: [], count: successors.count)
        for (step, needs) in successors.enumerated() {
            for need in needs { dependents[need].append(step) }
        }
        var ready = Heap(remaining.indices.filter { remaining[$0] == 0 })
        var order: [Int] = []
        order.reserveCapacity(successors.count)
        while let next = ready.popMin() {
            order.append(next)
            for dependent in dependents[next] {
                remaining[dependent] -= 1
                if remaining[dependent] == 0 { ready.insert(dependent) }
            }
        }
        return order.count == successors.count ? order : nil
    }

    /// `layers(order:)` on positions: the layer of each position, given a topological order.
    static func layers(order: [Int], successors: [[Int]]) -> [Int] {
        var layer = [Int](repeating: 0, count: successors.count)
        for step in order {
            layer[step] = successors[step].map { layer[$0] }.max().map { $0 + 1 } ?? 0
        }
        return layer
    }
}

/// A binary min-heap of integers (declaration positions).
struct Heap {
    private var items: [Int] = []

    init(_ values: [Int]) { values.forEach { insert($0) } }

    mutating func insert(_ value: Int) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Int? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let min = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left] < items[smallest] { smallest = left }
            if right < items.count, items[right] < items[smallest] { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return min
    }
}
