import AIVCore
import Foundation
import Yams

/// `file.write`: writes text, JSON or YAML to a file inside the run folder, atomically.
///
/// ```yaml
/// - id: save
///   uses: file.write
///   with: { path: vocabulary.json, content: "${{ steps.vocabulary.outputs.items }}" }
/// ```
public struct FileWriteStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "file.write",
        // 2: YAML writes numbers as the cache key sees them (5.0 as 5, infinity and NaN as null).
        version: 2,
        summary: "Write text, JSON or YAML to a file inside the run folder.",
        discussion: """
            A string is written as it is, whatever the format. Other values are encoded: as JSON (two-space \
            indentation, sorted keys, a final newline) for .json files and any other extension, as YAML for .yaml and \
            .yml (numbers as JSON and the cache see them: 5.0 as 5, a number too large for JSON as null, so a \
            file never differs between two contents that share a cache key); `format` overrides the extension (text writes numbers, booleans and null as expressions \
            interpolate them, lists and mappings as compact JSON). The file is written under a temporary name and \
            renamed, so it is never half-written. Paths that leave the run folder (.., absolute, symbolic links) are refused.
            """,
        arguments: [
            Property("path", .string, required: true, role: .outputPath, "Where to write, relative to the run folder."),
            Property("content", .any, required: true, "Text as it is; other values are encoded by `format`."),
            Property("format", .oneOfStrings(["auto", "text", "json", "yaml"]), default: "auto", "auto goes by the file's extension."),
        ],
        outputs: .object([
            Property("path", .string, required: true, "The file written, relative to the run folder."),
            Property("bytes", .integer, required: true, "Its size."),
        ]),
        example: """
            - id: save
              uses: file.write
              with:
                path: vocabulary.json
                content: ${{ steps.vocabulary.outputs.items }}
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let path = try arguments.string("path")
        // A null content is a value like any other (JSON `null`); only a missing one is an error.
        guard let content = arguments.values["content"] else { throw StepError.argument("content", "is missing") }
        let format = try arguments.optionalString("format") ?? "auto"
        let text = try Self.encode(content, format: format, path: path)
        let written = try context.runFolder.write(Data(text.utf8), to: path)
        return StepResult(outputs: ["path": .string(written), "bytes": .int(text.utf8.count)], files: [written])
    }

    /// The text written for `content`: a string as it is, anything else encoded by `format`, or
    /// with `auto` by the extension of `path`.
    static func encode(_ content: JSONValue, format: String, path: String) throws(StepError) -> String {
        if case .string(let text) = content { return text }
        var chosen = format
        if format == "auto" {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            let suffix = name.split(separator: ".").count > 1 ? name.split(separator: ".").last!.lowercased() : ""
            chosen = suffix == "yaml" || suffix == "yml" ? "yaml" : "json"
        }
        switch chosen {
        case "json": return content.prettyJSON + "\n"
        case "yaml": return try yaml(content)
        case "text": return content.interpolationText
        default: throw StepError.argument("format", "must be auto, text, json or yaml, not '\(format)'")
        }
    }

    /// Block-style YAML with sorted keys, Unicode written as it is and no line folding. Strings
    /// that would read as something else (`no`, `123`, `null`) are quoted, multi-line strings
    /// are literal blocks.
    static func yaml(_ value: JSONValue) throws(StepError) -> String {
        do {
            return try Yams.serialize(node: yamlNode(value), indent: 2, width: -1, allowUnicode: true, sortKeys: true)
        } catch {
            throw StepError("cannot write the content as YAML: \(error)")
        }
    }

    /// The YAML node of a value. Built here rather than by YAMLEncoder, which writes `1440.02` as
    /// `1.44002e+3` and `5.0` as `5e+0`.
    static func yamlNode(_ value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null")
        case .bool(let b): return Node(b ? "true" : "false")
        case .int(let i): return Node(String(i))
        case .double(let d):
            // As canonical JSON writes it, which the cache key hashes: `5.0` and `5` share a key (and a
            // result restored from the cache holds 5), so they must give the same file, and so must
            // infinity and null.
            return Node(value.canonicalJSON)
        case .string(let s) where s.contains("\n"):
            // A literal block (`|`) keeps several lines readable; libyaml quotes instead when it must.
            return Node(s, Tag(.str), .literal)
        case .string(let s): return .scalar(s.represented())
        case .array(let items): return Node(items.map(yamlNode))
        case .object(let members): return Node(members.map { (Node.scalar($0.key.represented()), yamlNode($0.value)) })
        }
    }
}
