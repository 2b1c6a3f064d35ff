import AIVCore

/// `template.render`: renders a Mustache template file (plain text, never HTML-escaped) with
/// values, and optionally writes the result to a file in the run folder.
///
/// ```yaml
/// - id: worksheet
///   uses: template.render
///   with:
///     template: ../templates/worksheet.md.mustache
///     values: { items: "${{ steps.vocab.outputs.items }}" }
///     output: worksheet.md
/// ```
public struct TemplateRenderStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "template.render",
        summary: "Render a Mustache template with values, to text or to a file in the run folder.",
        discussion: "The template file may start with front matter declaring its variables (input.schema), as prompt files do.",
        arguments: [
            Property("template", .string, required: true, role: .template(variables: "values"), "The template file, relative to the workflow."),
            Property("values", .map(.any), default: [:], "The values the template reads."),
            Property("output", .string, role: .outputPath, "A file in the run folder to write the text to."),
        ],
        outputs: .object([
            Property("text", .string, required: true, "The rendered text."),
            Property("path", .anyOf([.string, .null]), required: true, "The file written, when `output` was given."),
            Property("bytes", .integer, required: true, "Size of the text in UTF-8 bytes."),
        ]),
        example: """
            - id: worksheet
              uses: template.render
              with:
                template: ../templates/worksheet.md.mustache
                values:
                  items: ${{ steps.vocabulary.outputs.items }}
                output: worksheet.md
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        throw StepError("TemplateRenderStep is not implemented yet")
    }
}
