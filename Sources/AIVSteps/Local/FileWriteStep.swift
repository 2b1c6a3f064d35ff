import AIVCore

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
        summary: "Write text, JSON or YAML to a file inside the run folder.",
        discussion: "The file is written under a temporary name and renamed, so it is never half-written. Paths that leave the run folder (.., absolute, symbolic links) are refused.",
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
        throw StepError("FileWriteStep is not implemented yet")
    }
}
