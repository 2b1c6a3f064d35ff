import AIVCore
import Foundation

/// A fresh folder under the system's temporary directory, removed when the value is released.
/// Tests use one as the workflow's folder (where inputs are read) and one as the run folder.
public final class TemporaryFolder: @unchecked Sendable {
    public let path: String

    public init() {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("aiv-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes a file (creating folders) and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) -> String {
        write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    public func write(_ name: String, bytes: [UInt8]) -> String {
        let file = (path as NSString).appendingPathComponent(name)
        try! FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        precondition(FileManager.default.createFile(atPath: file, contents: Data(bytes)), "cannot write \(file)")
        return file
    }

    public func read(_ name: String) -> String? {
        FileManager.default.contents(atPath: (path as NSString).appendingPathComponent(name)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A step's outputs as a run left them in `<run>/_aiv/outputs.json`; nil when the run has none
    /// for that step.
    public func stepOutputs(run: String, step: String) -> JSONValue? {
        guard let text = read(run + "/_aiv/outputs.json"),
              let all = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
        return all[step]
    }

    /// Every file under the folder, relative to it, sorted.
    public func files() -> [String] {
        (FileManager.default.subpaths(atPath: path) ?? []).filter { sub in
            var isFolder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(sub), isDirectory: &isFolder)
            return exists && !isFolder.boolValue
        }.sorted()
    }
}
