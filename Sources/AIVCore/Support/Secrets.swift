import Foundation

/// The keys, tokens and passwords of a run, from the environment and a `.env` file, and the one
/// place that removes them from text before anything is written: step logs, error messages (and
/// so run history), outputs and the cache. Steps read them from their context, never from the
/// process environment.
public struct Secrets: Sendable {
    /// Name → value, for names that look secret.
    private let values: [String: String]
    /// Values longest first, so a secret that contains another is replaced whole.
    private let ordered: [(name: String, value: String)]

    public init(_ values: [String: String] = [:]) {
        self.values = values.filter { !$0.value.isEmpty }
        ordered = self.values.map { ($0.key, $0.value) }.sorted { $0.value.count > $1.value.count }
    }

    /// Names that hold keys, tokens or passwords (`GEMINI_API_KEY`, `NOTION_TOKEN`,
    /// `OBS_WEBSOCKET_PASSWORD`, `CLIENT_SECRET`, `AUTH`…).
    public static func looksSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH"].contains { upper.contains($0) }
    }

    /// The environment as expressions see it: without the variables whose names look like secrets'.
    static func visibleEnvironment(_ environment: [String: String]) -> [String: JSONValue] {
        var visible: [String: JSONValue] = [:]
        for (name, value) in environment where !looksSecret(name) { visible[name] = .string(value) }
        return visible
    }

    /// The secrets of the environment, and of a `.env` file when one is given and exists; the
    /// environment wins over the file. A malformed line is an error naming the file and line.
    public static func load(environment: [String: String], dotEnv path: String? = nil) throws(Diagnostic) -> Secrets {
        var found: [String: String] = [:]
        if let path, FileManager.default.fileExists(atPath: path) {
            for (name, value) in try DotEnv.parse(try SourceFile.read(path, sizeLimit: 1 << 20, readsPipes: true)) where looksSecret(name) {
                found[name] = value
            }
        }
        for (name, value) in environment where looksSecret(name) { found[name] = value }
        return Secrets(found)
    }

    public subscript(name: String) -> String? { values[name] }

    public var names: [String] { values.keys.sorted() }

    /// `text` with every secret value replaced by `[redacted NAME]`. Values shorter than 4
    /// characters are left alone: replacing them would mangle ordinary words.
    public func redact(_ text: String) -> String {
        var result = text
        for (name, value) in ordered where value.count >= 4 && result.contains(value) {
            result = result.replacingOccurrences(of: value, with: "[redacted \(name)]")
        }
        return result
    }

    /// A value with every string in it redacted.
    public func redact(_ value: JSONValue) -> JSONValue {
        guard !ordered.isEmpty else { return value }
        switch value {
        case .string(let text): return .string(redact(text))
        case .array(let items): return .array(items.map(redact))
        case .object(let members): return .object(Dictionary(members.map { (redact($0.key), redact($0.value)) }, uniquingKeysWith: { first, _ in first }))
        default: return value
        }
    }
}

/// `.env` files: `NAME=value` lines, `export NAME=value`, `#` comments, values in single quotes
/// (taken as they are) or double quotes (`\n`, `\"` and `\\` escapes). Written by hand: it is a
/// dozen lines, and the format has no standard a library would add.
enum DotEnv {
    static func parse(_ file: SourceFile) throws(Diagnostic) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for (index, raw) in file.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                throw .error("expected NAME=value", at: SourceLocation(file: file.path, line: index + 1, column: 1))
            }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'") {
                value = String(value.dropFirst().dropLast())
            } else if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
                    .replacingOccurrences(of: "\\\\", with: "\u{0}")
                    .replacingOccurrences(of: "\\n", with: "\n")
                    .replacingOccurrences(of: "\\\"", with: "\"")
                    .replacingOccurrences(of: "\u{0}", with: "\\")
            } else if let comment = value.range(of: " #") {
                value = value[..<comment.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw .error("'\(name)' is not a variable name", at: SourceLocation(file: file.path, line: index + 1, column: 1))
            }
            pairs.append((name, value))
        }
        return pairs
    }
}
