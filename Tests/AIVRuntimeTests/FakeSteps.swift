import AIVCore
import AIVSteps
import Foundation

/// Step kinds for runtime tests: each does one observable thing.
enum FakeSteps {
    static let all: [any Step.Type] = [EchoStep.self, SleepStep.self, FlakyStep.self, WriteStep.self, ReadStep.self, HangStep.self, LeakStep.self, BlockStep.self]
    /// The fakes and the built-in local kinds.
    static let registry = StepRegistry(kinds: (all + BuiltinSteps.all).map { $0.kind })
    static let byName = Dictionary(uniqueKeysWithValues: (all + BuiltinSteps.all).map { ($0.kind.name, $0) })
}

/// Counts invocations per key across concurrent tasks (tests use unique keys).
final class Calls: @unchecked Sendable {
    static let shared = Calls()
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private var flags: Set<String> = []
    private var intervals: [String: [(start: Date, end: Date)]] = [:]

    func interval(_ key: String, start: Date, end: Date) { lock.withLock { intervals[key, default: []].append((start, end)) } }
    func intervals(_ key: String) -> [(start: Date, end: Date)] { lock.withLock { intervals[key] ?? [] } }

    @discardableResult
    func record(_ key: String) -> Int { lock.withLock { counts[key, default: 0] += 1; return counts[key]! } }
    func count(_ key: String) -> Int { lock.withLock { counts[key, default: 0] } }
    func flag(_ key: String) { _ = lock.withLock { flags.insert(key) } }
    func isFlagged(_ key: String) -> Bool { lock.withLock { flags.contains(key) } }
}

/// `test.echo`: returns `value`; counts calls under `tag`.
struct EchoStep: Step {
    static let kind = StepKindDescription(
        name: "test.echo", summary: "Echo a value.",
        arguments: [Property("value", .any, required: true, "Any value."), Property("tag", .string, "Call counter key.")],
        outputs: .object([Property("value", .any, required: true, "The value.")]), example: "")
    func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        if let tag = try arguments.optionalString("tag") { Calls.shared.record(tag) }
        return StepResult(outputs: ["value": arguments["value"] ?? .null])
    }
}

/// `test.sleep`: waits `ms` on the context's clock, then returns `value`.
struct SleepStep: Step {
    static let kind = StepKindDescription(
        name: "test.sleep", summary: "Sleep.",
        arguments: [Property("ms", .integer, required: true, "Milliseconds."), Property("value", .any, "Returned."),
                    Property("tag", .string, "Records when the sleep started and ended under this key.")],
        outputs: .object([Property("value", .any, required: true, "The value.")]), example: "")
    func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        guard case .int(let ms) = arguments["ms"] ?? 0 else { throw StepError("ms") }
        let start = Date()
        try await context.clock.sleep(for: .milliseconds(ms))
        if let tag = try arguments.optionalString("tag") { Calls.shared.interval(tag, start: start, end: Date()) }
        return StepResult(outputs: ["value": arguments["value"] ?? .null])
    }
}

/// `test.flaky`: fails the first `failures` calls for `tag`, then succeeds.
struct FlakyStep: Step {
    static let kind = StepKindDescription(
        name: "test.flaky", summary: "Fail, then succeed.",
        arguments: [Property("failures", .integer, required: true, "How many calls fail."), Property("tag", .string, required: true, "Counter key."),
                    Property("transient", .boolean, default: true, "Whether the failure may go away on a retry.")],
        outputs: .object([Property("calls", .integer, required: true, "Calls so far.")]), example: "")
    func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let calls = Calls.shared.record(try arguments.string("tag"))
        guard case .int(let failures) = arguments["failures"] ?? 0 else { throw StepError("failures") }
        if calls <= failures { throw StepError("service unavailable (call \(calls))", transient: try arguments.bool("transient", default: true)) }
        return StepResult(outputs: ["calls": .int(calls)])
    }
}

/// `test.write`: writes `text` to `path` in the run folder.
struct WriteStep: Step {
    static let kind = StepKindDescription(
        name: "test.write", summary: "Write a file.",
        arguments: [Property("path", .string, required: true, role: .outputPath, "Where."), Property("text", .string, required: true, "What."),
                    Property("tag", .string, "Call counter key.")],
        outputs: .object([Property("path", .string, required: true, "Written.")]), example: "")
    func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        if let tag = try arguments.optionalString("tag") { Calls.shared.record(tag) }
        let path = try context.runFolder.write(Data(try arguments.string("text").utf8), to: try arguments.string("path"))
        return StepResult(outputs: ["path": .string(path)], files: [path])
    }
}

/// `test.read`: returns the text of an input file (its contents are part of the cache key).
struct ReadStep: Step {
    static let kind = StepKindDescription(
        name: "test.read", summary: "Read a file.",
        arguments: [Property("file", .string, required: true, role: .inputFile, "The file."), Property("tag", .string, "Call counter key."),
                    Property("rewrite", .string, "Text written to the file before it is read: an edit made while the step waited.")],
        outputs: .object([Property("text", .string, required: true, "Its text.")]), example: "")
    func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        if let tag = try arguments.optionalString("tag") { Calls.shared.record(tag) }
        if let rewrite = try arguments.optionalString("rewrite") {
            try rewrite.write(toFile: context.inputPath(try arguments.string("file")), atomically: false, encoding: .utf8)
        }
        let text = try String(contentsOfFile: context.inputPath(try arguments.string("file")), encoding: .utf8)
        return StepResult(outputs: ["text": .string(text)])
    }
}

/// `test.hang`: sleeps for an hour on the context clock; flags `tag` when cancelled.
struct HangStep: Step {
    static let kind = StepKindDescription(
        name: "test.hang", summary: "Hang.",
        arguments: [Property("tag", .string, required: true, "Flag key.")],
        outputs: .object([]), example: "")
    func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let tag = try arguments.string("tag")
        do {
            try await context.clock.sleep(for: .seconds(3600))
        } catch {
            Calls.shared.flag(tag)
            throw error
        }
        return StepResult(outputs: [:])
    }
}

/// `test.block`: waits `seconds` without ever looking at cancellation (as a synchronous render
/// does), then writes `path`. It waits on a dispatch timer, not by blocking a thread, so it does
/// not starve the other tests of the few threads async work shares.
struct BlockStep: Step {
    static let kind = StepKindDescription(
        name: "test.block", summary: "Block.",
        arguments: [Property("seconds", .number, required: true, "How long."), Property("path", .string, required: true, role: .outputPath, "Then write."),
                    Property("tag", .string, "Key under which each body's start and end are kept.")],
        outputs: .object([]), example: "")
    func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let seconds = arguments["seconds"]?.numberValue ?? 0
        let started = Date()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { done.resume() }
        }
        let tag = try arguments.optionalString("tag")
        if let tag { Calls.shared.interval(tag, start: started, end: Date()) }
        // Flagged once the write has been tried, refused or not, for tests that check its outcome.
        defer { if let tag { Calls.shared.flag("\(tag).wrote") } }
        let path = try context.runFolder.write(Data("late".utf8), to: try arguments.string("path"))
        return StepResult(outputs: [:], files: [path])
    }
}

/// `test.leak`: does everything a careless step could do with a secret: logs it, returns it,
/// and (with `fail`) throws it.
struct LeakStep: Step {
    static let kind = StepKindDescription(
        name: "test.leak", summary: "Leak a secret.",
        arguments: [Property("name", .string, required: true, "Secret name."), Property("fail", .boolean, default: false, "Throw it.")],
        outputs: .object([Property("said", .string, required: true, "Text with the secret.")]), example: "")
    func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let secret = context.secrets[try arguments.string("name")] ?? "missing"
        context.logger.info("calling with key \(secret)")
        if try arguments.bool("fail", default: false) { throw StepError("server said: bad key \(secret)") }
        return StepResult(outputs: ["said": .string("the key is \(secret)")])
    }
}
