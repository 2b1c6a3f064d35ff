import AIVCore
import Foundation
import Logging

/// One invocation's conversation with Gemini: the call, the reply read and checked, and (with an
/// output schema) one repair round when the reply is not valid JSON under the schema.
struct GeminiExchange {
    let client: ServiceClient
    var request: GeminiRequest
    let logger: Logger

    /// What one reply said.
    struct Reply {
        var text: String
        var finishReason: String
        var modelVersion: String?
        var usage: TokenUsage
        /// The fixture a dry run answered from, for a message about the answer.
        var recordedIn: String?
    }

    func run() async throws -> StepResult {
        var request = self.request
        var usage = TokenUsage(input: 0, output: 0, total: 0)
        var repaired = false
        var showedProblems = false
        while true {
            let reply = try await call(request)
            usage = TokenUsage(input: usage.input + reply.usage.input, output: usage.output + reply.usage.output,
                               total: usage.total + reply.usage.total)
            var result = JSONValue.string(reply.text)
            if let schema = request.outputSchema {
                switch Self.check(reply.text, against: schema) {
                case .success(let value):
                    result = value
                case .failure(let problem):
                    guard !repaired else {
                        let after = showedProblems ? "even after it was shown what was wrong" : "even when asked again after an empty reply"
                        let recorded = reply.recordedIn.map { " (the answer recorded in \($0))" } ?? ""
                        throw StepError("Gemini's reply does not match the output schema of '\(request.promptPath)', \(after): \(problem.summary)\(recorded)")
                    }
                    if reply.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                        // Gemini refuses a model turn without text (400 INVALID_ARGUMENT, "required
                        // oneof field 'data'"): an empty reply is asked for again as it was.
                        logger.notice("the reply is empty; asking Gemini once more")
                    } else {
                        showedProblems = true
                        logger.notice("the reply does not match the output schema (\(problem.summary)); asking Gemini once more with the problems")
                        request.contents.append(["role": "model", "parts": [["text": .string(reply.text)]]])
                        request.contents.append(["role": "user", "parts": [["text": .string(problem.correction)]]])
                    }
                    repaired = true
                    continue
                }
            }
            return StepResult(outputs: [
                "result": result,
                "text": .string(reply.text),
                "model": .string(request.model),
                "model_version": reply.modelVersion.map(JSONValue.string) ?? .null,
                "finish_reason": .string(reply.finishReason),
                "usage": ["input_tokens": .int(usage.input), "output_tokens": .int(usage.output), "total_tokens": .int(usage.total)],
                "repaired": .bool(repaired),
            ])
        }
    }

    /// Bytes of a `generateContent` answer aiv reads at most.
    static let largestAnswer = 16 << 20

    func call(_ request: GeminiRequest) async throws -> Reply {
        let http = HTTPRequest(method: "POST", url: client.url("/v1beta/models/\(request.model):generateContent"),
                               headers: ["Content-Type": "application/json"], body: .data(request.wireBody))
        let response = try await client.send(http, estimatedTokens: request.estimatedTokens, expectsJSON: true)
        // A model writes at most 65,536 tokens (well under a megabyte of JSON): an answer far
        // larger is not one, and decoding and keeping it would fill the run folder and the cache.
        guard response.body.count <= Self.largestAnswer else {
            let size = String(format: "%.1f", Double(response.body.count) / Double(1 << 20))
            throw StepError("Gemini's answer is \(size) MB; a model's answer is at most 65,536 tokens, so aiv does not read one over \(Self.largestAnswer >> 20) MB (is the service's base_url right?)")
        }
        guard let json = response.json else {
            // The client retries a 2xx that is not JSON; a fake transport may still hand one over.
            throw StepError("Gemini's answer is not JSON (\(response.body.count) bytes)", transient: true)
        }
        do {
            var reply = try Self.read(json, request: request)
            reply.recordedIn = response.header(ReplayTransport.recordedInHeader)
            return reply
        } catch {
            // A dry run's answer says where it was recorded, as a recorded error status does.
            var failure = error
            if let recordedIn = response.header(ReplayTransport.recordedInHeader) { failure.message += " (the answer recorded in \(recordedIn))" }
            throw failure
        }
    }

    /// Reads a `generateContent` answer; a blocked prompt or a stop other than STOP is an error that says which.
    static func read(_ json: JSONValue, request: GeminiRequest) throws(StepError) -> Reply {
        let usage = BuiltinServices.geminiUsage(json) ?? TokenUsage(input: 0, output: 0, total: 0)
        if let reason = json["promptFeedback"]?["blockReason"]?.stringValue {
            let message = json["promptFeedback"]?["blockReasonMessage"]?.stringValue.map { ": \($0)" } ?? ""
            throw StepError("Gemini blocked the prompt of '\(request.promptPath)' (blockReason \(reason)\(message))\(ratings(json["promptFeedback"]))")
        }
        guard let candidate = json["candidates"]?.arrayValue?.first else {
            throw StepError("Gemini's answer has no candidates", transient: true)
        }
        let finishReason = candidate["finishReason"]?.stringValue ?? "STOP"
        let parts = candidate["content"]?["parts"]?.arrayValue ?? []
        // Thought summaries are not the answer.
        let text = parts.filter { $0["thought"]?.isTruthy != true }.compactMap { $0["text"]?.stringValue }.joined()
        switch finishReason {
        case "STOP":
            break
        case "MAX_TOKENS":
            let limit = request.maxOutputTokens.map { " (\($0))" } ?? ""
            // Gemini 2.5 thinks by default, and its thoughts are taken from the same allowance.
            let thoughts = Int(clamping: json["usageMetadata"]?["thoughtsTokenCount"]?.numberValue ?? 0, to: 0...1_000_000_000)
            let thinking = thoughts > 0
                ? ", \(thoughts) of them thinking): give config.thinkingConfig.thinkingBudget a limit (0 turns thinking off on Flash) or raise config.maxOutputTokens"
                : "): raise config.maxOutputTokens"
            throw StepError("Gemini stopped at the output token limit\(limit) before finishing (finishReason MAX_TOKENS, \(usage.output) tokens written\(thinking) in '\(request.promptPath)', or send less at once")
        default:
            throw StepError("Gemini stopped with finishReason \(finishReason)\(ratings(candidate)); nothing usable came back for '\(request.promptPath)'")
        }
        return Reply(text: text, finishReason: finishReason, modelVersion: json["modelVersion"]?.stringValue, usage: usage)
    }

    /// The safety ratings that blocked (or were rated likely), for the message.
    static func ratings(_ holder: JSONValue?) -> String {
        let flagged = (holder?["safetyRatings"]?.arrayValue ?? []).filter { rating in
            rating["blocked"]?.isTruthy == true || ["HIGH", "MEDIUM"].contains(rating["probability"]?.stringValue ?? "")
        }.compactMap { rating -> String? in
            guard let category = rating["category"]?.stringValue else { return nil }
            return "\(category) \(rating["probability"]?.stringValue ?? "")".trimmingCharacters(in: .whitespaces)
        }
        return flagged.isEmpty ? "" : " — flagged: " + flagged.joined(separator: ", ")
    }

    struct SchemaProblem: Error {
        var summary: String
        /// The follow-up turn that tells the model what to fix.
        var correction: String
    }

    /// The reply parsed as JSON and validated against the schema.
    static func check(_ text: String, against schema: JSONValue) -> Result<JSONValue, SchemaProblem> {
        let trimmed = stripFence(text)
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)) else {
            let preview = trimmed.count > 60 ? String(trimmed.prefix(60)) + "…" : trimmed
            return .failure(SchemaProblem(
                summary: "not valid JSON (starts \"\(preview.replacingOccurrences(of: "\n", with: " "))\")",
                correction: "Your previous reply was not valid JSON. Reply again with only the JSON value, matching the response schema, and nothing else."))
        }
        let violations = JSONSchemaValidator.violations(of: value, against: schema, limit: 10)
        guard violations.isEmpty else {
            let list = violations.map(\.description)
            return .failure(SchemaProblem(
                summary: list.prefix(3).joined(separator: "; ") + (list.count > 3 ? " (and \(list.count - 3) more)" : ""),
                correction: "Your previous reply does not match the response schema:\n" + list.map { "- \($0)" }.joined(separator: "\n")
                    + "\nReply again with the whole corrected JSON, matching the schema, and nothing else."))
        }
        return .success(value)
    }

    /// Models sometimes wrap JSON in a Markdown fence even when asked for application/json.
    static func stripFence(_ text: String) -> String {
        var trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("```"), trimmed.hasSuffix("```"), trimmed.count >= 6 {
            trimmed = String(trimmed.dropFirst(3).dropLast(3))
            if let newline = trimmed.firstIndex(of: "\n") { trimmed = String(trimmed[trimmed.index(after: newline)...]) }
            trimmed = trimmed.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return trimmed
    }
}
