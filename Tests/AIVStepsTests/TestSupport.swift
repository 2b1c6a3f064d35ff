import AIVCore
import AIVTestSupport
import AIVSteps
import Foundation
import Testing


/// The folder this package lives in (for the shipped samples and templates).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A workflow folder and a run folder for one test, and a way to run a step the way the runtime
/// does: defaults from the kind's description filled in, then `run`.
struct StepHarness {
    let workflow = TemporaryFolder()
    let runFolder = TemporaryFolder()
    var scope = EvaluationScope()

    var context: StepContext {
        StepContext(stepID: "test", workflowDirectory: workflow.path, runFolder: RunFolder(path: runFolder.path), scope: scope)
    }

    func run<S: Step>(_ step: S.Type, _ arguments: [String: JSONValue]) async throws -> StepResult {
        var values = arguments
        for property in S.kind.arguments where values[property.name] == nil {
            if let value = property.defaultValue { values[property.name] = value }
        }
        return try await S().run(StepArguments(values), context: context)
    }

    /// The outputs of a run that must succeed.
    func outputs<S: Step>(_ step: S.Type, _ arguments: [String: JSONValue]) async throws -> JSONValue {
        try await run(step, arguments).outputs
    }

    /// The message of the StepError a run must fail with (nil when it succeeds, so `#expect`
    /// shows that instead of crashing).
    func failure<S: Step>(_ step: S.Type, _ arguments: [String: JSONValue]) async throws -> String? {
        do {
            _ = try await run(step, arguments)
            return nil
        } catch let error as StepError {
            return error.message
        }
    }
}

extension JSONValue {
    /// Member `key`, or element `key` of a list when `key` is a number: `value["items", 0]`.
    subscript(path: Any...) -> JSONValue? {
        var current: JSONValue? = self
        for component in path {
            switch (current, component) {
            case (.object(let members)?, let key as String): current = members[key]
            case (.array(let items)?, let i as Int): current = items.indices.contains(i) ? items[i] : nil
            default: return nil
            }
        }
        return current
    }
}
