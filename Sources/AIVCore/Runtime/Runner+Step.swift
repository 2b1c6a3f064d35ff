import Foundation

extension Runner {
    /// The result of one invocation (one item).
    struct Invocation: Sendable {
        var outputs: JSONValue
        var cached: Bool
        var attempts: Int
        var reason: String
    }

    /// Runs one step: its condition, its fan-out, every invocation, then writes its outputs and log.
    func execute(_ step: PlannedStep, scope: EvaluationScope, context: RunContext) async -> (StepReport, JSONValue?) {
        let started = environment.now()
        let log = StepLog(now: environment.now, secrets: environment.secrets)
        func finish(_ status: StepStatus, outputs: JSONValue?, invocations: Int = 0, cached: Int = 0, attempts: Int = 0,
                    reason: String, error: String? = nil, failedAt: StepReport.FailedPart? = nil) -> (StepReport, JSONValue?) {
            log.append("\(status.rawValue): \(error ?? reason)")  // the log redacts what it is given
            var report = StepReport(step: step.id, kind: step.kind, status: status, startedAt: started,
                                    duration: environment.now().timeIntervalSince(started), invocations: invocations,
                                    cachedInvocations: cached, attempts: attempts,
                                    // A reason may quote a condition written with a secret's value.
                                    reason: environment.secrets.isEmpty ? reason : environment.secrets.redact(reason),
                                    error: error.map(environment.secrets.redact), log: log.text)
            report.failedAt = failedAt
            context.record.stepFinished(step.id, outputs: outputs, log: log.text(naming: step.id))
            return (report, outputs)
        }

        let items: [JSONValue]?
        do {
            guard try step.shouldRun(in: scope) else {
                return finish(.skipped, outputs: nil, reason: "if: \(step.condition?.expression ?? "") was false")
            }
        } catch {
            return finish(.failed, outputs: nil, reason: "", error: "step '\(step.id)': \(error.message)", failedAt: .condition)
        }
        do {
            items = try step.items(in: scope)
        } catch {
            return finish(.failed, outputs: nil, reason: "", error: "step '\(step.id)': \(error.message)", failedAt: .forEach)
        }

        let count = items?.count ?? 1
        if count == 0 {
            return finish(.succeeded, outputs: .array([]), reason: "for_each list is empty")
        }
        environment.observer.handle(.stepStarted(step: step.id, invocations: count, forEach: items != nil))
        // Items taken from the cache, counted as they finish: a step whose other items fail
        // still says how many came from the cache.
        let cachedSoFar = Counter(), doneSoFar = Counter()
        // What a stopped for_each had done, as `runs show` says of a killed run's (the next run
        // takes the results of those items from the cache, when the step is cached).
        func stoppedDetail() -> String {
            items == nil ? "" : ", " + ItemReasons.done(doneSoFar.value, of: count, cached: cachedSoFar.value)
        }
        do {
            let results: [Invocation]
            if let items {
                results = try await invokeEach(step, items: items, scope: scope, context: context, log: log, cached: cachedSoFar, done: doneSoFar)
            } else {
                // One invocation runs in the step's own task: no group to set up for it.
                let invocation = try await invoke(step, item: nil, index: nil, scope: scope, context: context, log: log)
                environment.observer.handle(.invocationFinished(step: step.id, index: nil, cached: invocation.cached, done: 1, of: 1))
                results = [invocation]
            }
            let outputs: JSONValue = items == nil ? results[0].outputs : .array(results.map(\.outputs))
            let cachedCount = results.filter(\.cached).count
            let reason = cachedCount == count ? "cached"
                : ItemReasons.summary(results.enumerated().filter { !$1.cached }.map { (items == nil ? nil : $0, $1.reason) }, of: count)
            return finish(cachedCount == count ? .cached : .succeeded, outputs: outputs, invocations: count, cached: cachedCount,
                          attempts: results.map(\.attempts).max() ?? 0, reason: reason)
        } catch let failure as InvocationFailure {
            return finish(failure.cancelled ? .cancelled : .failed, outputs: nil, invocations: count, cached: cachedSoFar.value,
                          attempts: failure.attempts,
                          reason: failure.cancelled ? "cancelled" + stoppedDetail() : failure.ranBecause ?? "", error: failure.cancelled ? nil : failure.message,
                          failedAt: failure.failedArgument.map { .argument($0) })
        } catch {
            let cancelled = error is CancellationError
            return finish(cancelled ? .cancelled : .failed, outputs: nil, invocations: count, cached: cachedSoFar.value,
                          reason: cancelled ? "cancelled" + stoppedDetail() : "", error: cancelled ? nil : "step '\(step.id)': \(error)")
        }
    }

    /// The invocations of a `for_each` step, in parallel and collected in order: items start in
    /// order, at most the step's `max_parallel` at a time, and the run's slots bound them too.
    /// Without `max_parallel`, at most `startedAhead` items are under way at once: each started
    /// item resolves its arguments and reads the cache before it waits for a slot, so starting
    /// all of 100,000 items took memory in proportion to the list (750 MB), not to the work.
    private func invokeEach(_ step: PlannedStep, items: [JSONValue], scope: EvaluationScope, context: RunContext,
                            log: StepLog, cached: Counter, done: Counter) async throws -> [Invocation] {
        let count = items.count
        return try await withThrowingTaskGroup(of: (Int, Invocation).self) { group in
            var started = 0
            func startNext() {
                let index = started
                started += 1
                let item = items[index]
                group.addTask {
                    let invocation = try await invoke(step, item: item, index: index, scope: scope, context: context, log: log)
                    let finished = done.increment()
                    if invocation.cached { _ = cached.increment() }
                    environment.observer.handle(.invocationFinished(step: step.id, index: index, cached: invocation.cached, done: finished, of: count))
                    context.record.itemFinished()
                    return (index, invocation)
                }
            }
            while started < min(count, step.maxParallel ?? Self.startedAhead(maxParallel: environment.maxParallel)) { startNext() }
            var collected = [Invocation?](repeating: nil, count: count)
            for try await (index, invocation) in group {
                collected[index] = invocation
                if started < count, !Task.isCancelled { startNext() }
            }
            // Stopped before every item started: the run is being cancelled.
            if started < count { throw CancellationError() }
            return collected.map { $0! }
        }
    }
}

extension Runner {
    /// Items of a `for_each` without `max_parallel` under way at once: enough that cached items
    /// (put back without a slot) never wait for running ones, few enough to keep memory flat.
    static func startedAhead(maxParallel: Int) -> Int { max(256, maxParallel * 16) }
}

/// Why an invocation failed, with the message a user sees (step id and item included).
struct InvocationFailure: Error {
    var message: String
    var attempts: Int
    var cancelled: Bool
    /// Why the invocation ran rather than came from the cache, once that was known: a failed
    /// step's report still says why it ran.
    var ranBecause: String?
    /// The timed-out attempt, which may still be running: its slot is given back when it ends.
    var abandoned: Task<Void, Never>?
    /// The argument whose value could not be made or was refused, when that is what failed
    /// (`StepReport.failedAt`).
    var failedArgument: String?
}

/// Which things were said already, thread-safe: `first` is true once per key.
final class SaidOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var said: Set<String> = []
    func first(_ key: String) -> Bool { lock.withLock { said.insert(key).inserted } }
}

/// A thread-safe counter of finished (or cached) invocations.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() -> Int { lock.withLock { count += 1; return count } }
    var value: Int { lock.withLock { count } }
}

extension PlannedStep {
    /// Whether the step's `if:` holds (true when it has none).
    func shouldRun(in scope: EvaluationScope) throws(ExpressionError) -> Bool {
        guard let condition else { return true }
        if let constant = condition.constant { return constant }
        do throws(ExpressionError) {
            if condition.expression.hasExpressionMarker {
                return try StringTemplate.parse(condition.expression).render(in: scope).isTruthy
            }
            return try ExpressionParser.parse(condition.expression).evaluate(in: scope).isTruthy
        } catch {
            throw ExpressionError("in 'if': \(error.message)", offset: error.offset, length: error.length)
        }
    }

    /// The `for_each` list, or nil for a step without one.
    func items(in scope: EvaluationScope) throws(ExpressionError) -> [JSONValue]? {
        guard let fanout = forEach else { return nil }
        if let known = fanout.items { return known }
        guard let expression = fanout.expression else { return nil }
        let value: JSONValue
        do throws(ExpressionError) {
            value = try StringTemplate.parse(expression).render(in: scope)
        } catch {
            throw ExpressionError("in 'for_each': \(error.message)", offset: error.offset, length: error.length)
        }
        guard case .array(let list) = value else {
            let skipped = value == .null && !optionalNeeds.isEmpty ? " (a skipped step under optional_needs gives null: write '|| []' inside the ${{ }} to run no items then)" : ""
            throw ExpressionError("for_each gave \(value.typeName), not a list\(skipped)", offset: 0, length: 0)
        }
        return list
    }
}
