import AIVCore
import Foundation

/// `gemini.generate`: one `generateContent` call from a prompt file, with text and media parts,
/// structured JSON output checked against the prompt's schema, and the reply's token usage.
///
/// ```yaml
/// - id: analyse
///   uses: gemini.generate
///   for_each: ${{ steps.transcript.outputs.chunks }}
///   with:
///     prompt: ../prompts/analyse.prompt
///     values: { part: "${{ item.index }}", chunk: "${{ item.text }}", stream_title: "${{ inputs.stream_title }}" }
/// ```
public struct GeminiGenerateStep: Step {
    public init() {}

    /// Google's documented limit for inline data: a request up to 20 MB; larger media go through the File API.
    static let defaultInlineLimit = 20_000_000

    public static let kind = StepKindDescription(
        name: "gemini.generate",
        summary: "Ask Gemini with a prompt file (and media); get text, or JSON checked against the prompt's schema.",
        discussion: """
            The prompt file's front matter gives the model, generation settings (`config`: temperature, maxOutputTokens, \
            topP, …, sent as generationConfig), the system instruction and the output schema; its body is rendered with \
            `values`. With an output schema, Gemini is asked for application/json under that schema (responseJsonSchema), \
            the reply is parsed and validated, and an invalid reply is sent back once with what was wrong before the step \
            fails. A finishReason other than STOP (MAX_TOKENS, SAFETY, …) or a blocked prompt fails the step, saying so. \
            Media files are sent inline while the whole request (their base64, a third larger than the files, with the \
            prompt, system instruction and settings) fits in `inline_limit` bytes, else uploaded through the File \
            API (resumable upload, started again from the beginning if it breaks, \
            then polled until ACTIVE). Requests obey services.gemini.limits, shared by every Gemini step of the run.
            """,
        arguments: [
            Property("prompt", .string, required: true, role: .template(variables: "values"), "The prompt file, relative to the workflow."),
            Property("values", .map(.any), default: [:], "The values the prompt reads."),
            Property("media", .anyOf([.string, .array(.string)]), default: [], role: .inputFile,
                     "Audio, video, image or PDF files sent with the prompt (relative to the workflow)."),
            Property("model", .string, "Overrides the prompt's model (and services.gemini.model)."),
            Property("inline_limit", .integer, default: .int(defaultInlineLimit),
                     "The largest request sent with its media inline (Gemini's limit, 20 MB): media that would make the request larger are uploaded through the File API instead."),
        ],
        outputs: .object([
            Property("result", .any, required: true, "The parsed JSON reply (with an output schema, whose shape validation checks references against), else the text."),
            Property("text", .string, required: true, "The reply's text as Gemini sent it."),
            Property("model", .string, required: true, "The model asked."),
            Property("model_version", .anyOf([.string, .null]), required: true, "The model version that answered."),
            Property("finish_reason", .string, required: true, "Why generation stopped (STOP)."),
            Property("usage", .object([
                Property("input_tokens", .integer, required: true, "Prompt tokens (promptTokenCount)."),
                Property("output_tokens", .integer, required: true, "Reply tokens, thinking included."),
                Property("total_tokens", .integer, required: true, "totalTokenCount."),
            ]), required: true, "Tokens used, over every call of the invocation (a repaired reply makes two)."),
            Property("repaired", .boolean, required: true, "Whether the first reply was invalid and Gemini was asked again."),
        ]),
        service: "gemini",
        example: """
            - id: analyse
              uses: gemini.generate
              for_each: ${{ steps.transcript.outputs.chunks }}
              with:
                prompt: ../prompts/analyse.prompt
                values:
                  part: ${{ item.index }}
                  chunk: ${{ item.text }}
                  stream_title: ${{ inputs.stream_title }}
            """,
        promptShapedOutput: .init(output: "result", promptArgument: "prompt"))
        .withServiceModelAsADefault()

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let promptPath = try arguments.string("prompt")
        let values = try arguments.object("values")
        let prompt = try TemplateRenderStep.load(promptPath, resolved: context.inputPath(promptPath))
        let client = try context.service("gemini")
        let model = try arguments.optionalString("model") ?? prompt.model ?? client.settings["model"]?.stringValue ?? GeminiRequest.defaultModel

        try TemplateRenderStep.checkValues(prompt, path: promptPath, noun: "prompt", values: values)
        let text = try TemplateRenderStep.render(prompt, values: values)
        let system = try prompt.system.map { system throws(StepError) in
            try TemplateRenderStep.render(system, path: prompt.path, values: values)
        }

        var request = try GeminiRequest(model: model, text: text, system: system, config: prompt.config, media: [],
                                        outputSchema: prompt.outputSchema,
                                        outputSchemaKeyOrder: prompt.outputSchemaKeyOrder, promptPath: promptPath)
        let paths = arguments["media"].map { $0.arrayValue?.compactMap(\.stringValue) ?? [$0.stringValue].compactMap { $0 } } ?? []
        if !paths.isEmpty {
            // Gemini's 20 MB is for the whole request: the media inline share it with the text.
            let limit = try arguments.optionalInt("inline_limit") ?? Self.defaultInlineLimit
            let media = try await GeminiFiles.parts(for: paths.map { ($0, context.inputPath($0)) },
                                                    inlineLimit: limit - request.body.canonicalBytes.count, client: client,
                                                    clock: context.clock)
            request = try GeminiRequest(model: model, text: text, system: system, config: prompt.config, media: media,
                                        outputSchema: prompt.outputSchema,
                                        outputSchemaKeyOrder: prompt.outputSchemaKeyOrder, promptPath: promptPath)
        }
        let exchange = GeminiExchange(client: client, request: request, logger: context.logger)
        return try await exchange.run()
    }
}
