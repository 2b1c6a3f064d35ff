import AIVCore
import Foundation

/// The body of a `generateContent` request, built from a rendered prompt.
struct GeminiRequest: Sendable {
    static let defaultModel = "gemini-2.5-flash"

    /// A media file as a request part: inline base64, or a File API reference.
    enum MediaPart: Sendable {
        case inline(mimeType: String, data: Data)
        case file(mimeType: String, uri: String)

        var json: JSONValue {
            switch self {
            case .inline(let mimeType, let data): ["inlineData": ["mimeType": .string(mimeType), "data": .string(data.base64EncodedString())]]
            case .file(let mimeType, let uri): ["fileData": ["mimeType": .string(mimeType), "fileUri": .string(uri)]]
            }
        }
    }

    var model: String
    var promptPath: String
    var outputSchema: JSONValue?
    /// Key order of `outputSchema` as the prompt file writes it (`PromptFile.outputSchemaKeyOrder`).
    var outputSchemaKeyOrder: [String: [String]]
    /// The conversation so far (one user turn; a repair adds the model's reply and a correction).
    var contents: [JSONValue]
    var systemInstruction: JSONValue?
    var generationConfig: [String: JSONValue]
    /// Characters of text sent, for the token estimate.
    var textCharacters: Int

    init(model: String, text: String, system: String?, config: [String: JSONValue], media: [MediaPart], outputSchema: JSONValue?,
         outputSchemaKeyOrder: [String: [String]] = [:], promptPath: String) throws(StepError) {
        guard !model.isEmpty, !model.contains("/"), !model.contains("?") else {
            throw StepError("model name '\(model)' is not valid (expected something like \(Self.defaultModel))")
        }
        self.model = model
        self.promptPath = promptPath
        self.outputSchema = outputSchema
        self.outputSchemaKeyOrder = outputSchemaKeyOrder
        contents = [["role": "user", "parts": .array([["text": .string(text)]] + media.map(\.json))]]
        systemInstruction = system.map { ["parts": [["text": .string($0)]]] }
        generationConfig = Self.generationConfig(config)
        if let outputSchema {
            generationConfig["responseMimeType"] = "application/json"
            generationConfig["responseJsonSchema"] = Self.jsonSchema(outputSchema)
        }
        textCharacters = text.count + (system?.count ?? 0)
    }

    /// Generation settings as the API names them: `max_output_tokens` and `maxOutputTokens` both
    /// become `maxOutputTokens`.
    static func generationConfig(_ config: [String: JSONValue]) -> [String: JSONValue] {
        Dictionary(config.map { (GenerationSettingName.camelCase($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// The prompt's schema as JSON Schema for `responseJsonSchema`: OpenAPI's `nullable: true`
    /// becomes a `null` in `type`.
    static func jsonSchema(_ schema: JSONValue) -> JSONValue {
        guard case .object(var members) = schema else { return schema }
        if members["nullable"]?.isTruthy == true, let type = members["type"] {
            let types = type.arrayValue ?? [type]
            members["type"] = .array(types + (types.contains("null") ? [] : ["null"]))
        }
        members["nullable"] = nil
        if let properties = members["properties"]?.objectValue { members["properties"] = .object(properties.mapValues(jsonSchema)) }
        for key in ["items", "additionalProperties"] where members[key]?.objectValue != nil { members[key] = jsonSchema(members[key]!) }
        if let options = members["anyOf"]?.arrayValue { members["anyOf"] = .array(options.map(jsonSchema)) }
        return .object(members)
    }

    var body: JSONValue {
        var body: [String: JSONValue] = ["contents": .array(contents)]
        if let systemInstruction { body["systemInstruction"] = systemInstruction }
        if !generationConfig.isEmpty { body["generationConfig"] = .object(generationConfig) }
        return .object(body)
    }

    /// The body as sent: the schema's keys in the order the prompt file writes them (Gemini 2.5
    /// answers in that order: `japanese` before `difficulty`, as the author meant, not
    /// alphabetically), everything else sorted.
    var wireBody: Data {
        let schemaPointer = "/generationConfig/responseJsonSchema"
        let order = Dictionary(outputSchemaKeyOrder.map { (schemaPointer + $0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        return Data(body.bytes(keyOrder: order))
    }

    /// Input tokens before the call, for a tokens-per-minute limit: about four characters a token
    /// for text (Google's rule of thumb); the answer's usage replaces the estimate.
    var estimatedTokens: Int { max(1, (textCharacters + 3) / 4) }

    var maxOutputTokens: Int? { generationConfig["maxOutputTokens"]?.numberValue.map { Int(clamping: $0, to: 0...Int(Int32.max)) } }
}
