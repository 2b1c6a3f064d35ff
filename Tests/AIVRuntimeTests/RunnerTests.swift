import AIVCore
import Clocks
import Foundation
import Testing

/// Moves virtual time on in steps, letting the run reach its next sleep between them, until
/// `done` holds (at most 2,000 steps, so a broken run fails the test instead of hanging it).
func advance(_ clock: TestClock<Duration>, by step: Duration, until done: () -> Bool) async throws {
    for _ in 0..<2000 where !done() {
        try await Task.sleep(for: .milliseconds(5))
        await clock.advance(by: step)
    }
}

/// Polls `done` every 10 ms for up to `seconds`; the caller's expectations say what was missing.
func waitUntil(seconds: Int, _ done: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while !done(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
}

@Suite struct RunnerTests {
    /// Whether any two recorded sleeps overlapped in time (checked on the steps' own timestamps,
    /// so a loaded machine cannot make the answer wrong, only slower).
    func overlapped(_ tag: String) -> Bool {
        let spans = Calls.shared.intervals(tag)
        return spans.indices.contains { i in spans.indices.contains { j in i != j && spans[i].start < spans[j].end && spans[j].start < spans[i].end } }
    }

    @Test func independentStepsRunInParallel() async throws {
        var harness = Harness()
        let tag = unique("parallel")
        let yaml = """
            name: p
            steps:
              - {id: a, uses: test.sleep, with: {ms: 300, value: a, tag: \(tag)}}
              - {id: b, uses: test.sleep, with: {ms: 300, value: b, tag: \(tag)}}
            """
        let report = try await harness.run(yaml, maxParallel: 2)
        #expect(report.status == .succeeded)
        #expect(Calls.shared.intervals(tag).count == 2)
        #expect(overlapped(tag), "two independent steps did not run at the same time")
    }

    @Test func maxParallelOneRunsStepsOneAfterTheOther() async throws {
        var harness = Harness()
        let tag = unique("serial")
        let yaml = """
            name: p
            steps:
              - {id: a, uses: test.sleep, with: {ms: 100, value: a, tag: \(tag)}}
              - {id: b, uses: test.sleep, with: {ms: 100, value: b, tag: \(tag)}}
              - {id: c, uses: test.sleep, for_each: [1, 2], with: {ms: 100, value: "${{ item }}", tag: \(tag)}}
            """
        _ = try await harness.run(yaml, maxParallel: 1)
        #expect(Calls.shared.intervals(tag).count == 4)
        #expect(!overlapped(tag))
    }

    @Test func aStepsMaxParallelOfOneRunsItsItemsOneAfterAnotherInOrder() async throws {
        var harness = Harness()
        let serial = unique("items"), free = unique("free")
        let yaml = """
            name: p
            steps:
              - id: shown
                uses: test.sleep
                max_parallel: 1
                for_each: [80, 40, 60, 20]
                with: {ms: "${{ item }}", tag: "\(serial)-${{ index }}"}
              - {id: other, uses: test.sleep, for_each: [80, 80], with: {ms: "${{ item }}", tag: \(free)}}
            """
        let report = try await harness.run(yaml, maxParallel: 4)
        #expect(report.status == .succeeded)
        let spans = (0..<4).compactMap { Calls.shared.intervals("\(serial)-\($0)").first }
        #expect(spans.count == 4)
        // Each item starts once the one before it in the list has finished, shortest or not.
        for (before, after) in zip(spans, spans.dropFirst()) { #expect(after.start >= before.end) }
        // Another step's items are not held back.
        #expect(overlapped(free))
    }

    @Test func aOneAtATimeStepBesideAWideForEachIsNotHeldBackByItsQueue() async throws {
        var harness = Harness()
        let serial = unique("serial-beside"), wide = unique("wide")
        // 60 items of 40 ms on two slots keep about 60 waiters queued for over a second; the
        // serial step's four items each get a slot in turn with them, not after them.
        let yaml = """
            name: p
            steps:
              - {id: wide, uses: test.sleep, for_each: \(Array(repeating: 40, count: 60)), with: {ms: "${{ item }}", tag: \(wide)}}
              - id: serial
                uses: test.sleep
                max_parallel: 1
                for_each: [40, 40, 40, 40]
                with: {ms: "${{ item }}", tag: \(serial)}
            """
        let report = try await harness.run(yaml, maxParallel: 2)
        #expect(report.status == .succeeded)
        let serialEnd = try #require(Calls.shared.intervals(serial).map(\.end).max())
        let wideSpans = Calls.shared.intervals(wide)
        #expect(wideSpans.count == 60)
        // In turns, the serial step's 4 items share the 2 slots with the wide step's, so it ends
        // well before the wide one; one queue for both ended it after all 60 of them.
        let wideDoneBefore = wideSpans.filter { $0.end <= serialEnd }.count
        #expect(wideDoneBefore < 30, "the serial step finished only after \(wideDoneBefore) of 60 wide items")
    }

    /// A step reads the file a slow step writes (not a copy beside the workflow, which a step
    /// started beside the writer would have read); with the writer skipped, it reads that copy.
    @Test func aStepReadsTheFileAnotherStepWritesOnceItIsWrittenOrTheOneBesideTheWorkflow() async throws {
        var harness = Harness()
        harness.directory.write("notes.txt", "beside the workflow")
        let yaml = """
            name: p
            inputs: {write: {type: bool, default: true}}
            steps:
              - {id: slow, uses: test.sleep, with: {ms: 200}}
              - {id: make, uses: test.write, if: "${{ inputs.write }}", with: {path: notes.txt, text: "made by ${{ steps.slow.outputs.value || 'make' }}"}}
              - {id: read, uses: test.read, with: {file: notes.txt}}
            """
        let written = try await harness.run(yaml)
        #expect(written.status == .succeeded)
        #expect(harness.stepOutputs(run: 1, step: "read")?["text"] == "made by make")
        let skipped = try await harness.run(yaml, inputs: ["write=false"])
        #expect(skipped.step("make")?.status == .skipped && skipped.step("read")?.status != .skipped)
        #expect(harness.stepOutputs(run: 2, step: "read")?["text"] == "beside the workflow")
    }

    /// Two steps write one path on other branches (one is skipped): the reader waits for both,
    /// and reads what the one that ran wrote, however late.
    @Test func aStepReadingAFileTwoBranchesWriteWaitsForWhicheverRan() async throws {
        var harness = Harness()
        harness.directory.write("notes.txt", "stale, beside the workflow")
        let yaml = """
            name: p
            inputs: {fast: {type: bool, default: false}}
            steps:
              - {id: read, uses: test.read, with: {file: notes.txt}}
              - {id: quick, uses: test.write, if: "${{ inputs.fast }}", with: {path: notes.txt, text: quick}}
              - {id: slow, uses: test.sleep, with: {ms: 200, value: slow}}
              - {id: late, uses: test.write, if: "${{ !inputs.fast }}", with: {path: notes.txt, text: "${{ steps.slow.outputs.value }}"}}
            """
        let report = try await harness.run(yaml)
        #expect(report.status == .succeeded)
        #expect(harness.stepOutputs(run: 1, step: "read")?["text"] == "slow")
    }

    @Test func forEachItemsRunInParallelAndAreCollectedInOrder() async throws {
        var harness = Harness()
        let yaml = """
            name: p
            steps:
              - id: each
                uses: test.sleep
                for_each: [300, 200, 100, 0]
                with: {ms: "${{ item }}", value: "item ${{ index }}"}
              - id: after
                uses: test.echo
                with: {value: "${{ steps.each.outputs[*].value }}"}
            """
        let report = try await harness.run(yaml, maxParallel: 4)
        #expect(report.status == .succeeded)
        #expect(harness.stepOutputs(run: 1, step: "after")?["value"] == ["item 0", "item 1", "item 2", "item 3"])
        #expect(report.step("each")?.invocations == 4)
    }

    /// A stop that comes when every step has finished (the last one saving its result) cost
    /// nothing: the run succeeded, and says so.
    @Test func aRunStoppedAfterItsLastStepFinishedSucceeded() async throws {
        final class CancelAtTheEnd: RunObserver, @unchecked Sendable {
            let lock = NSLock()
            var task: Task<RunReport, Never>?
            var finished = 0
            func handle(_ event: RunEvent) {
                guard case .stepFinished = event else { return }
                lock.withLock {
                    finished += 1
                    if finished == 2 { task?.cancel() }
                }
            }
        }
        let harness = Harness()
        let plan = try harness.plan("name: w\nsteps:\n  - {id: a, uses: test.sleep, with: {ms: 50}}\n  - {id: b, uses: test.sleep, needs: a, with: {ms: 50}}\n")
        let observer = CancelAtTheEnd()
        let environment = RunEnvironment(steps: harness.steps, registry: harness.registry, observer: observer)
        let task = Task { await Runner(environment).run(plan, runID: "r", folder: RunFolder(path: harness.directory.path + "/out"),
                                                        workflowDirectory: harness.directory.path) }
        observer.lock.withLock { observer.task = task }
        let report = await task.value
        #expect(report.status == .succeeded)
        #expect(report.steps.allSatisfy { $0.status == .succeeded })
    }

    /// A failed step's report (its `--json` event, its history row) says why it ran, as one that
    /// succeeded does; the summary shows its error.
    @Test func aFailedStepStillSaysWhyItRan() async throws {
        var harness = Harness()
        let report = try await harness.run("name: w\nsteps:\n  - {id: bad, uses: test.flaky, with: {failures: 9, tag: \(unique("why"))}}\n")
        #expect(report.step("bad")?.status == .failed)
        #expect(report.step("bad")?.reason == "no earlier result")
    }

    @Test func aFalseConditionSkipsTheStepAndItsDependents() async throws {
        var harness = Harness()
        let yaml = """
            name: p
            inputs:
              publish: {type: bool, default: false}
            steps:
              - {id: a, uses: test.echo, with: {value: 1}}
              - {id: b, uses: test.echo, if: "inputs.publish && steps.a.outputs.value == 1", with: {value: 2}}
              - {id: c, uses: test.echo, with: {value: "${{ steps.b.outputs.value }}"}}
            """
        let report = try await harness.run(yaml)
        #expect(report.statuses == ["a": .succeeded, "b": .skipped, "c": .skipped])
        #expect(report.step("b")?.reason == "if: inputs.publish && steps.a.outputs.value == 1 was false")
        #expect(report.step("c")?.reason == "skipped because 'b' was skipped")
        #expect(report.status == .succeeded)
        let published = try await harness.run(yaml, inputs: ["publish=true"])
        #expect(published.statuses["b"] == .succeeded)
        // c asks test.echo exactly what b did: results are content-addressed, so it is b's.
        #expect(published.statuses["c"] == .cached)
    }

    @Test func optionalNeedsLetAStepRunAfterWhicheverBranchRanAndReadNullFromTheSkippedOne() async throws {
        var harness = Harness()
        let yaml = """
            name: p
            inputs:
              given: {type: string, default: ""}
            steps:
              - {id: from_input, uses: test.echo, if: "inputs.given != ''", with: {value: "${{ inputs.given }}"}}
              - {id: fallback, uses: test.echo, if: "inputs.given == ''", with: {value: made}}
              - id: joined
                uses: test.echo
                optional_needs: [from_input, fallback]
                with: {value: "joined ${{ steps.from_input.outputs.value || steps.fallback.outputs.value }}"}
              - {id: after, uses: test.echo, with: {value: "after ${{ steps.joined.outputs.value }}"}}
            """
        let fallback = try await harness.run(yaml)
        #expect(fallback.statuses == ["from_input": .skipped, "fallback": .succeeded, "joined": .succeeded, "after": .succeeded])
        #expect(harness.stepOutputs(run: 1, step: "joined")?["value"] == "joined made")
        let given = try await harness.run(yaml, inputs: ["given=typed"])
        #expect(given.statuses["fallback"] == .skipped)
        #expect(harness.stepOutputs(run: 2, step: "joined")?["value"] == "joined typed")
        // Only a skip is forgiven: a branch that fails still skips what needs it.
        let failing = """
            name: p
            steps:
              - {id: bad, uses: test.flaky, continue_on_error: true, with: {failures: 5, tag: \(unique("optional"))}}
              - {id: after_bad, uses: test.echo, optional_needs: bad, with: {value: 1}}
              - {id: mid, uses: test.echo, needs: bad, with: {value: 2}}
              - {id: after_mid, uses: test.echo, optional_needs: mid, with: {value: 3}}
            """
        let failed = try await harness.run(failing)
        #expect(failed.statuses["after_bad"] == .skipped)
        #expect(failed.step("after_bad")?.reason == "skipped because 'bad' failed")
        // Nor a skip that a failure caused further up.
        #expect(failed.statuses["mid"] == .skipped)
        #expect(failed.statuses["after_mid"] == .skipped)
    }

    @Test func retriesWithExponentialBackoffOnTheInjectedClock() async throws {
        var harness = Harness()
        let tag = unique("flaky")
        let yaml = """
            name: p
            steps:
              - id: call
                uses: test.flaky
                retry: {attempts: 4, backoff: 2s, factor: 3, jitter: 0}
                with: {failures: 2, tag: \(tag)}
            """
        let clock = TestClock()
        let start = clock.now
        let events = EventLog()
        let run = Task { [harness] in
            var copy = harness
            return try await copy.run(yaml, clock: clock, observer: events)
        }
        // Advance virtual time in small steps while the run waits on it.
        try await advance(clock, by: .milliseconds(500)) { Calls.shared.count(tag) >= 3 }
        let report = try await run.value
        #expect(report.step("call")?.status == .succeeded)
        #expect(report.step("call")?.attempts == 3)
        #expect(events.retries.map(\.delay) == [2, 6])
        #expect(start.duration(to: clock.now) >= .seconds(8))
        harness.runs += 1
    }

    @Test(arguments: [(0.0, [0.8, 1.6]), (1.0, [1.2, 2.0]), (0.5, [1.0, 2.0])])
    func jitterSpreadsTheDelayAroundTheBackoffWithinTheLongestDelay(random: Double, delays: [Double]) async throws {
        var harness = Harness()
        let tag = unique("jitter")
        let yaml = """
            name: p
            steps:
              - {id: call, uses: test.flaky, retry: {attempts: 3, backoff: 1s, factor: 2, max_delay: 2s, jitter: 0.2}, with: {failures: 2, tag: \(tag)}}
            """
        let clock = TestClock()
        let events = EventLog()
        let run = Task { [harness] in
            var copy = harness
            return try await copy.run(yaml, clock: clock, observer: events, random: { random })
        }
        try await advance(clock, by: .milliseconds(100)) { Calls.shared.count(tag) >= 3 }
        #expect(try await run.value.step("call")?.status == .succeeded)
        #expect(events.retries.map { ($0.delay * 1000).rounded() / 1000 } == delays)
        harness.runs += 1
    }

    @Test func aFailureThatIsNotTransientIsNotRetried() async throws {
        var harness = Harness()
        let tag = unique("permanent")
        let yaml = "name: p\nsteps:\n  - {id: call, uses: test.flaky, retry: 5, with: {failures: 3, tag: \(tag), transient: false}}\n"
        let report = try await harness.run(yaml)
        #expect(report.step("call")?.status == .failed)
        #expect(report.step("call")?.attempts == 1)
        #expect(Calls.shared.count(tag) == 1)
    }

    @Test func aStepThatFailsEveryAttemptFailsTheRunWithTheLastError() async throws {
        var harness = Harness()
        let tag = unique("always")
        let yaml = """
            name: p
            steps:
              - {id: call, uses: test.flaky, retry: {attempts: 2, backoff: 10ms, jitter: 0}, with: {failures: 99, tag: \(tag)}}
              - {id: later, uses: test.echo, with: {value: "${{ steps.call.outputs.calls }}"}}
              - {id: slow, uses: test.sleep, with: {ms: 60000}}
            """
        // `slow` would take a minute: it ends when the run stops, however late a loaded machine
        // lets `call` fail.
        let report = try await harness.run(yaml)
        #expect(report.status == .failed)
        #expect(report.step("call")?.error == "step 'call': service unavailable (call 2) (after 2 attempts)")
        #expect(report.step("later")?.status == .skipped)
        #expect(report.step("slow")?.status == .cancelled)
        #expect(Calls.shared.count(tag) == 2)
    }

    /// A run that stops puts back no more cached items: a cached step takes no parallelism slot,
    /// so the runner checks for itself that the run is still going before each lookup.
    @Test func aStoppingRunStopsPuttingBackCachedItems() async throws {
        let lookups = SlowLookups(MemoryCacheStore(), delay: 0.005)
        var harness = Harness()
        harness.cache = lookups
        let tag = unique("boom")
        let yaml = """
            name: p
            inputs: {fail: {type: bool, default: false}}
            steps:
              - {id: many, uses: test.echo, for_each: [\((0..<200).map(String.init).joined(separator: ", "))], max_parallel: 1, with: {value: "${{ item }}"}}
              - {id: boom, uses: test.flaky, if: "${{ inputs.fail }}", with: {failures: 99, tag: \(tag)}}
            """
        #expect(try await harness.run(yaml).statuses["many"] == .succeeded)
        let before = lookups.count
        let stopped = try await harness.run(yaml, inputs: ["fail=true"])
        #expect(stopped.statuses["boom"] == .failed)
        #expect(stopped.statuses["many"] == .cancelled)
        // 200 lookups of 5 ms would take a second; the failure comes in well under that.
        #expect(lookups.count - before < 150, "\(lookups.count - before) items were looked up after the run stopped")
    }

    /// A cached step does not wait for a parallelism slot held by a step that runs.
    @Test func aCachedStepDoesNotWaitForASlot() async throws {
        var harness = Harness()
        let yaml = """
            name: p
            steps:
              - {id: slow, uses: test.sleep, cache: false, with: {ms: 3000}}
              - {id: quick, uses: test.echo, with: {value: 1}}
            """
        _ = try await harness.run(yaml.replacingOccurrences(of: "ms: 3000", with: "ms: 1"), maxParallel: 1)
        let events = EventLog()
        let report = try await harness.run(yaml, maxParallel: 1, observer: events)
        #expect(report.statuses == ["slow": .succeeded, "quick": .cached])
        #expect(events.finishedSteps == ["quick", "slow"], "the cached step finished while the other held the only slot")
    }

    @Test func aTimedOutStepIsCancelledNotLeftRunning() async throws {
        var harness = Harness()
        let tag = unique("hang")
        let yaml = """
            name: p
            steps:
              - {id: wait, uses: test.hang, timeout: 2s, with: {tag: \(tag)}}
            """
        let clock = TestClock()
        let run = Task { [harness] in
            var copy = harness
            return try await copy.run(yaml, clock: clock)
        }
        try await advance(clock, by: .milliseconds(500)) { Calls.shared.isFlagged(tag) }
        let report = try await run.value
        #expect(report.step("wait")?.status == .failed)
        #expect(report.step("wait")?.error == "step 'wait': timed out after 2s")
        #expect(Calls.shared.isFlagged(tag))
        harness.runs += 1
    }

    /// A body that never looks at cancellation (a synchronous render) cannot hold a step past
    /// its timeout, nor a run past another step's failure; what it would write after that is refused.
    @Test func aStepThatIgnoresCancellationStillTimesOutAndStopsWithTheRun() async throws {
        // The check is that each run returns before its body ends, not a wall-clock bound: on
        // CI's two busy cores a 200 ms timeout has been seen to fire 4.5 s late.
        var harness = Harness()
        let (first, second) = (unique("timed-out"), unique("stopped"))
        let timedOut = try await harness.run("""
            name: p
            steps:
              - {id: slow, uses: test.block, timeout: 200ms, with: {seconds: 8, path: late.txt, tag: \(first)}}
            """)
        let timedOutReturned = Date()
        #expect(timedOut.step("slow")?.error == "step 'slow': timed out after 200ms")

        let failed = try await harness.run("""
            name: p
            steps:
              - {id: slow, uses: test.block, with: {seconds: 8, path: later.txt, tag: \(second)}}
              - {id: bad, uses: test.flaky, with: {failures: 5, tag: \(unique("bad"))}}
            """)
        let failedReturned = Date()
        #expect(failed.step("bad")?.status == .failed)
        #expect(failed.step("slow")?.status == .cancelled)
        #expect(failed.step("slow")?.reason == "cancelled: the run stopped after 'bad' failed")

        // Both bodies end in the background and try to write: neither file appears.
        try await waitUntil(seconds: 60) { Calls.shared.isFlagged("\(first).wrote") && Calls.shared.isFlagged("\(second).wrote") }
        let firstBody = try #require(Calls.shared.intervals(first).first)
        let secondBody = try #require(Calls.shared.intervals(second).first)
        #expect(timedOutReturned < firstBody.end, "the timed-out run waited for its body")
        #expect(failedReturned < secondBody.end, "the failed run waited for its cancelled body")
        #expect(harness.directory.read("run-1/late.txt") == nil)
        #expect(harness.directory.read("run-2/later.txt") == nil)
    }

    /// An attempt given up on at its timeout may still be busy; the retry starts once it has
    /// ended, so attempts never pile up past the run's parallelism.
    @Test func aRetryAfterATimeoutStartsOnceTheAbandonedAttemptHasEnded() async throws {
        var harness = Harness()
        let tag = unique("attempts")
        let report = try await harness.run("""
            name: p
            steps:
              - {id: slow, uses: test.block, timeout: 300ms, retry: {attempts: 2, backoff: 1ms}, with: {seconds: 1, path: x.txt, tag: \(tag)}}
            """)
        #expect(report.step("slow")?.error == "step 'slow': timed out after 300ms (after 2 attempts)")
        // Wait for the second body too, then compare: the second started after the first ended.
        try await Task.sleep(for: .seconds(1.5))
        let bodies = Calls.shared.intervals(tag).sorted { $0.start < $1.start }
        #expect(bodies.count == 2)
        if bodies.count == 2 { #expect(bodies[1].start >= bodies[0].end, "\(bodies)") }
    }

    /// A timed-out attempt that is not retried still holds its slot until it really ends: a step
    /// waiting for a slot does not start beside work that is still busy.
    @Test func aTimedOutAttemptHoldsItsSlotUntilItEndsEvenWithoutARetry() async throws {
        var harness = Harness()
        let (first, second) = (unique("abandoned"), unique("next"))
        let report = try await harness.run("""
            name: p
            steps:
              - {id: slow, uses: test.block, timeout: 200ms, continue_on_error: true, with: {seconds: 1, path: a.txt, tag: \(first)}}
              - {id: next, uses: test.block, with: {seconds: 0.1, path: b.txt, tag: \(second)}}
            """, maxParallel: 1)
        #expect(report.step("slow")?.error == "step 'slow': timed out after 200ms")
        #expect(report.step("next")?.status == .succeeded)
        try await waitUntil(seconds: 30) { !Calls.shared.intervals(first).isEmpty }
        let abandoned = try #require(Calls.shared.intervals(first).first)
        let next = try #require(Calls.shared.intervals(second).first)
        // Either order of start is possible; what may not happen is the two bodies overlapping.
        #expect(next.start >= abandoned.end || next.end <= abandoned.start, "abandoned \(abandoned), next \(next)")
    }

    @Test func continueOnErrorSkipsDependentsAndLetsTheRestRun() async throws {
        var harness = Harness()
        let yaml = """
            name: p
            steps:
              - {id: bad, uses: test.flaky, continue_on_error: true, with: {failures: 5, tag: \(unique("bad"))}}
              - {id: needs_bad, uses: test.echo, needs: bad, with: {value: 1}}
              - {id: fine, uses: test.sleep, with: {ms: 50, value: ok}}
              - {id: after_fine, uses: test.echo, with: {value: "${{ steps.fine.outputs.value }}"}}
            """
        let report = try await harness.run(yaml)
        #expect(report.statuses == ["bad": .failed, "needs_bad": .skipped, "fine": .succeeded, "after_fine": .succeeded])
        #expect(report.step("needs_bad")?.reason == "skipped because 'bad' failed")
        #expect(report.status == .succeeded)
    }

    @Test func anItemFailureNamesTheStepAndTheItem() async throws {
        var harness = Harness()
        let yaml = """
            name: p
            steps:
              - id: each
                uses: test.sleep
                for_each: [1, 2, "three"]
                with: {ms: "${{ item }}"}
            """
        let report = try await harness.run(yaml)
        #expect(report.step("each")?.error == "step 'each' item 2: argument 'ms' expected an integer, got string 'three'")
    }

    @Test func anEmptyForEachSucceedsWithAnEmptyList() async throws {
        var harness = Harness()
        let yaml = """
            name: p
            steps:
              - {id: none, uses: test.echo, for_each: [], with: {value: "${{ item }}"}}
              - {id: after, uses: test.echo, with: {value: "${{ length(steps.none.outputs) }}"}}
            """
        let report = try await harness.run(yaml)
        #expect(report.statuses == ["none": .succeeded, "after": .succeeded])
        #expect(report.step("none")?.reason == "for_each list is empty")
    }

    @Test func outputsAndLogsOfEveryStepAreWrittenToTheRunFolder() async throws {
        var harness = Harness()
        let yaml = """
            name: p
            steps:
              - {id: a, uses: test.echo, with: {value: [1, 2]}}
              - {id: b, uses: test.echo, if: "${{ false }}", with: {value: 3}}
              - {id: c, uses: test.echo, with: {value: "${{ steps.a.outputs.value }}"}}
            """
        let report = try await harness.run(yaml)
        #expect(harness.stepOutputs(run: 1, step: "a") == ["value": [1, 2]])
        #expect(harness.stepOutputs(run: 1, step: "c") == ["value": [1, 2]])
        #expect(harness.stepOutputs(run: 1, step: "b") == nil, "a skipped step has no outputs")
        let log = harness.directory.read("run-1/_aiv/log.txt") ?? ""
        #expect(log.contains(" a: running: no earlier result\n"))
        #expect(log.contains(" b: skipped: if: ${{ false }} was false\n"))
        #expect(log.contains(" c: "))
        #expect(report.step("a")?.log?.contains("running: no earlier result") == true, "the report carries the log for the history")
        #expect(harness.directory.files().filter { $0.hasPrefix("run-1/_aiv/") } == ["run-1/_aiv/log.txt", "run-1/_aiv/outputs.json"],
                "one file of each for the run, not one per step")
    }
}

extension Harness {
    /// A step's outputs as the run folder keeps them.
    func stepOutputs(run: Int, step: String) -> JSONValue? {
        directory.stepOutputs(run: "run-\(run)", step: step)
    }
}

@Suite struct SlotsTests {
    @Test func aWaiterCancelledWhileWaitingLeavesTheQueue() async throws {
        let slots = Slots(limit: 1)
        try await slots.acquire(for: "a")
        let waiter = Task { try await slots.acquire(for: "b") }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        await slots.release()
        // The slot is free again: the cancelled waiter did not take it.
        #expect(await slots.waiting == 0)
        try await slots.acquire(for: "c")
        await slots.release()
    }

    @Test func aFreedSlotGoesToEachWaitingStepInTurnAndInOrderWithinAStep() async throws {
        let slots = Slots(limit: 1)
        try await slots.acquire(for: "holder")
        let served = Served()
        var waiters: [Task<Void, any Error>] = []
        for name in ["a1", "a2", "a3", "b1", "b2"] {
            waiters.append(Task {
                try await slots.acquire(for: String(name.prefix(1)))
                served.append(name)
            })
            // Each waiter joins its queue before the next one comes.
            let deadline = ContinuousClock.now + .seconds(5)
            while await slots.waiting < waiters.count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        }
        for expected in 1...5 {
            await slots.release()
            try await waitUntil(seconds: 5) { served.names.count == expected }
        }
        for waiter in waiters { try await waiter.value }
        #expect(served.names == ["a1", "b1", "a2", "b2", "a3"])
    }

    @Test func aLeaseReleasesOnceHoweverOftenItIsReleased() async throws {
        let slots = Slots(limit: 1)
        let lease = try await slots.lease(for: "a")
        await lease.release()
        await lease.release()
        let second = try await slots.lease(for: "a")
        let third = Task { try await slots.lease(for: "a") }
        try await Task.sleep(for: .milliseconds(20))
        await second.release()
        let got = try await third.value
        await got.release()
    }
}

/// Names in the order they were served, thread-safe.
private final class Served: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ name: String) { lock.withLock { list.append(name) } }
    var names: [String] { lock.withLock { list } }
}
