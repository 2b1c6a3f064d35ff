import AIVCore
import AIVSteps
import Foundation
import Testing

/// A fresh folder under the system's temporary directory, removed when the value is released.
/// Tests use one as the workflow's folder (where inputs are read) and one as the run folder.
final class TemporaryFolder: @unchecked Sendable {
    let path: String

    init() {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("aiv-steps-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes a file (creating folders) and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let file = (path as NSString).appendingPathComponent(name)
        try! FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        precondition(FileManager.default.createFile(atPath: file, contents: Data(bytes)), "cannot write \(file)")
        return file
    }

    func read(_ name: String) -> String? {
        FileManager.default.contents(atPath: (path as NSString).appendingPathComponent(name)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every file under the folder, relative to it, sorted.
    func files() -> [String] {
        (FileManager.default.subpaths(atPath: path) ?? []).filter { sub in
            var isFolder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(sub), isDirectory: &isFolder)
            return exists && !isFolder.boolValue
        }.sorted()
    }
}

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
