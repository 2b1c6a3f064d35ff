import AIVCore
import AIVNetwork
import AIVSteps
import AIVTestSupport
import Foundation
import Testing

/// A fake Gemini, a workflow folder with a prompt, and a step context whose services reach the fake.
final class GeminiHarness: @unchecked Sendable {
    let gemini: FakeGemini
    let steps = StepHarness()
    var key: String?
    var settings: JSONValue

    init(retryAttempts: Int = 3) throws {
        gemini = try FakeGemini()
        key = gemini.apiKey
        settings = ["base_url": .string(gemini.baseURL), "retry": ["attempts": .int(retryAttempts), "delay": 0.01],
                    "limits": ["requests_per_minute": 100_000]]
    }

    deinit { gemini.stop() }

    func prompt(_ text: String, name: String = "ask.prompt") {
        steps.workflow.write(name, text)
    }

    var context: StepContext {
        var context = steps.context
        let secrets = Secrets(key.map { ["GEMINI_API_KEY": $0] } ?? [:])
        context.secrets = secrets
        context.services = ServiceHub(mode: .live, transport: HTTPClientTransport(), services: BuiltinServices.http,
                                      settings: ["gemini": settings], secrets: secrets)
        return context
    }

    func run(_ arguments: [String: JSONValue]) async throws -> JSONValue {
        var values = arguments
        for property in GeminiGenerateStep.kind.arguments where values[property.name] == nil {
            if let value = property.defaultValue { values[property.name] = value }
        }
        return try await GeminiGenerateStep().run(StepArguments(values), context: context).outputs
    }

    /// The message the step fails with.
    func failure(_ arguments: [String: JSONValue]) async -> String? {
        do {
            _ = try await run(arguments)
            return nil
        } catch {
            return "\(error)"
        }
    }
}

let vocabularyPrompt = """
    ---
    model: gemini-2.5-flash
    config:
      temperature: 0.2
      max_output_tokens: 2048
    system: You are a Japanese teacher for {{level}} learners.
    output:
      schema:
        type: object
        required: [items]
        properties:
          items:
            type: array
            items:
              type: object
              required: [japanese, difficulty]
              properties:
                japanese: {type: string}
                difficulty: {type: string, enum: [N5, N4, N3, N2, N1]}
    ---
    Find expressions in: {{chunk}}
    """

@Suite(.serialized) struct GeminiGenerateStepTests {
    @Test func sendsTheRenderedPromptSystemConfigAndSchemaWithTheKeyInAHeader() async throws {
        let harness = try GeminiHarness()
        harness.prompt(vocabularyPrompt)
        harness.gemini.enqueue(.json(["items": [["japanese": "草", "difficulty": "N3"]]]))
        let outputs = try await harness.run(["prompt": "ask.prompt", "values": ["chunk": "草生える", "level": "N3"]])

        let request = try #require(harness.gemini.requests.first)
        #expect(request.pathWithoutQuery == "/v1beta/models/gemini-2.5-flash:generateContent")
        #expect(request.header("x-goog-api-key") == harness.gemini.apiKey)
        #expect(request.queryItems["key"] == nil)
        let body = try #require(request.json)
        #expect(body["contents", 0, "role"] == "user")
        #expect(body["contents", 0, "parts", 0, "text"] == "Find expressions in: 草生える")
        #expect(body["systemInstruction", "parts", 0, "text"] == "You are a Japanese teacher for N3 learners.")
        #expect(body["generationConfig", "temperature"] == 0.2)
        #expect(body["generationConfig", "maxOutputTokens"] == 2048)
        #expect(body["generationConfig", "responseMimeType"] == "application/json")
        #expect(body["generationConfig", "responseJsonSchema", "properties", "items", "type"] == "array")
        #expect(body["generationConfig", "responseSchema"] == nil)

        #expect(outputs["result", "items", 0, "japanese"] == "草")
        #expect(outputs["model"] == "gemini-2.5-flash")
        #expect(outputs["model_version"] == "gemini-2.5-flash")
        #expect(outputs["finish_reason"] == "STOP")
        #expect(outputs["repaired"] == false)
        #expect((outputs["usage", "total_tokens"]?.numberValue ?? 0) > 0)
    }

    /// A key pasted with a line break around it is sent without it; one with a break inside is
    /// refused before anything is sent, by the variable's name: the HTTP client's own refusal
    /// quoted the value escaped (`…\\n`), where no redaction of the raw value found it.
    @Test func aKeyWithALineBreakIsTrimmedOrRefusedWithoutQuotingIt() async throws {
        let harness = try GeminiHarness()
        let key = harness.gemini.apiKey
        harness.prompt(vocabularyPrompt)
        harness.key = " " + key + "\n"
        harness.gemini.enqueue(.json(["items": [["japanese": "草", "difficulty": "N3"]]]))
        _ = try await harness.run(["prompt": "ask.prompt", "values": ["chunk": "草生える", "level": "N3"]])
        #expect(harness.gemini.requests.first?.header("x-goog-api-key") == key)

        harness.key = String(key.prefix(10)) + "\n" + String(key.dropFirst(10))
        let message = try #require(await harness.failure(["prompt": "ask.prompt", "values": ["chunk": "x", "level": "N3"]]))
        #expect(message.contains("GEMINI_API_KEY holds a control character"))
        #expect(!message.contains(String(key.prefix(10))))
        #expect(harness.gemini.requests.count == 1, "nothing more was sent")
    }

    /// Paths go after the base URL: one with a query would put them inside the query.
    @Test func aBaseURLWithAQueryIsRefusedWithoutShowingIt() async throws {
        let harness = try GeminiHarness()
        harness.prompt(vocabularyPrompt)
        harness.settings = ["base_url": .string(harness.gemini.baseURL + "/?key=" + harness.gemini.apiKey)]
        let message = try #require(await harness.failure(["prompt": "ask.prompt", "values": ["chunk": "x", "level": "N3"]]))
        #expect(message.contains("has a query or fragment"))
        #expect(!message.contains(harness.gemini.apiKey))
        #expect(harness.gemini.requests.isEmpty)
    }

    /// Gemini 2.5 answers with a schema's properties in the order the schema lists them: they go
    /// out in the order the prompt file writes them (`japanese` before `difficulty`), not sorted.
    @Test func theSchemasPropertiesAreSentInTheOrderThePromptWritesThem() async throws {
        let harness = try GeminiHarness()
        harness.prompt(vocabularyPrompt)
        harness.gemini.enqueue(.json(["items": [["japanese": "草", "difficulty": "N3"]]]))
        _ = try await harness.run(["prompt": "ask.prompt", "values": ["chunk": "草生える", "level": "N3"]])
        let sent = String(decoding: try #require(harness.gemini.requests.first).body, as: UTF8.self)
        let schema = try #require(sent.range(of: "\"responseJsonSchema\":"))
        let rest = sent[schema.upperBound...]
        func position(_ text: String) -> String.Index? { rest.range(of: text)?.lowerBound }
        // The prompt writes type, required, properties; and japanese before difficulty.
        let order = ["\"type\":\"object\"", "\"required\":[\"items\"]", "\"properties\":{\"items\""]
        #expect(order.compactMap(position) == order.compactMap(position).sorted() && order.compactMap(position).count == 3, "\(rest)")
        let japanese = try #require(position("\"japanese\":")), difficulty = try #require(position("\"difficulty\":"))
        #expect(japanese < difficulty, "\(rest)")
        // Elsewhere the body is as canonical as before: contents before generationConfig.
        #expect(sent.hasPrefix("{\"contents\":"))
    }

    /// Counts come from the server or a fixture: ones no integer holds are held to a billion, not
    /// converted (which stopped the run), and a missing total is the sum.
    @Test func tokenCountsTooLargeForAnIntegerAreHeldNotFatal() throws {
        let usage = try #require(BuiltinServices.gemini.http?.usage)
        let huge = usage(["usageMetadata": ["promptTokenCount": 1e30, "candidatesTokenCount": .double(.infinity), "thoughtsTokenCount": 5,
                                            "totalTokenCount": .double(.nan)]])
        #expect(huge == TokenUsage(input: 1_000_000_000, output: 1_000_000_005, total: 0))
        #expect(usage(["usageMetadata": ["promptTokenCount": 10, "candidatesTokenCount": 3]]) == TokenUsage(input: 10, output: 3, total: 13))
    }

    @Test func aPromptWithoutSchemaGivesText() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Say hello to {{name}}.")
        harness.gemini.enqueue(.text("こんにちは"))
        let outputs = try await harness.run(["prompt": "ask.prompt", "values": ["name": "Aiv"]])
        #expect(outputs["result"] == "こんにちは")
        #expect(outputs["text"] == "こんにちは")
        #expect(harness.gemini.generateRequests.first?["generationConfig"] == nil)
    }

    @Test func invalidJSONIsSentBackOnceWithTheProblemThenAccepted() async throws {
        let harness = try GeminiHarness()
        harness.prompt(vocabularyPrompt)
        harness.gemini.enqueue([.text("Sure! Here are the items: {"), .json(["items": []])])
        let outputs = try await harness.run(["prompt": "ask.prompt", "values": ["chunk": "x", "level": "N5"]])
        #expect(outputs["repaired"] == true)
        #expect(outputs["result"] == ["items": []])
        let second = try #require(harness.gemini.generateRequests.last)
        #expect(second["contents"]?.arrayValue?.count == 3)
        #expect(second["contents", 1, "role"] == "model")
        #expect(second["contents", 1, "parts", 0, "text"] == "Sure! Here are the items: {")
        #expect(second["contents", 2, "parts", 0, "text"]?.stringValue?.contains("not valid JSON") == true)
    }

    /// Gemini refuses a model turn without text, so an empty reply is asked for again as it was.
    @Test func anEmptyReplyIsAskedForAgainWithoutAnEmptyModelTurn() async throws {
        let harness = try GeminiHarness()
        harness.prompt(vocabularyPrompt)
        harness.gemini.enqueue([.text(""), .json(["items": []])])
        let outputs = try await harness.run(["prompt": "ask.prompt", "values": ["chunk": "x", "level": "N5"]])
        #expect(outputs["result"] == ["items": []])
        #expect(outputs["repaired"] == true)
        let requests = harness.gemini.generateRequests
        #expect(requests.count == 2)
        #expect(requests.last?["contents"] == requests.first?["contents"])
    }

    @Test func aReplyThatBreaksTheSchemaTwiceFailsNamingTheViolation() async throws {
        let harness = try GeminiHarness()
        harness.prompt(vocabularyPrompt)
        let bad: JSONValue = ["items": [["japanese": "草", "difficulty": "N6"]]]
        harness.gemini.enqueue([.json(bad), .json(bad)])
        let message = await harness.failure(["prompt": "ask.prompt", "values": ["chunk": "x", "level": "N5"]])
        #expect(message?.contains("does not match the output schema of 'ask.prompt'") == true)
        #expect(message?.contains("$.items[0].difficulty") == true)
        let correction = harness.gemini.generateRequests.last?["contents", 2, "parts", 0, "text"]?.stringValue
        #expect(correction?.contains("$.items[0].difficulty") == true)
        #expect(harness.gemini.generateRequests.count == 2)
    }

    @Test func maxTokensIsReportedAsSuch() async throws {
        let harness = try GeminiHarness()
        harness.prompt(vocabularyPrompt)
        harness.gemini.enqueue(.maxTokens(partialText: "{\"items\": [{\"japa"))
        let message = await harness.failure(["prompt": "ask.prompt", "values": ["chunk": "x", "level": "N5"]])
        #expect(message?.contains("finishReason MAX_TOKENS") == true)
        #expect(message?.contains("(2048)") == true)
        #expect(message?.contains("maxOutputTokens in 'ask.prompt'") == true)
    }

    /// Gemini 2.5 thinks out of the same allowance as the answer: when thinking used it up, the
    /// message says so and names the setting that limits it.
    @Test func thinkingThatUsesUpTheAllowanceIsNamedInTheMessage() async throws {
        let harness = try GeminiHarness()
        harness.prompt(vocabularyPrompt)
        harness.gemini.enqueue(.thoughtUntilMaxTokens)
        let message = await harness.failure(["prompt": "ask.prompt", "values": ["chunk": "x", "level": "N5"]])
        #expect(message?.contains("finishReason MAX_TOKENS, 2048 tokens written, 2048 of them thinking") == true, "\(message ?? "")")
        #expect(message?.contains("config.thinkingConfig.thinkingBudget") == true)
    }

    @Test func aBlockedPromptAndASafetyStopAreReportedAsSuch() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Tell me about {{topic}}.")
        harness.gemini.enqueue([.safetyBlockedPrompt, .safetyFinish])
        let blocked = await harness.failure(["prompt": "ask.prompt", "values": ["topic": "x"]])
        #expect(blocked?.contains("blocked the prompt") == true)
        #expect(blocked?.contains("blockReason SAFETY") == true)
        let stopped = await harness.failure(["prompt": "ask.prompt", "values": ["topic": "x"]])
        #expect(stopped?.contains("finishReason SAFETY") == true)
    }

    /// An answer far larger than any model writes is refused, not held in memory and the cache.
    @Test func anAnswerFarLargerThanAModelWritesIsRefused() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Hi {{name}}")
        harness.gemini.enqueue([.text(String(repeating: "草", count: 6 << 20))])
        let message = await harness.failure(["prompt": "ask.prompt", "values": ["name": "x"]])
        #expect(message?.contains("Gemini's answer is 18.0 MB; a model's answer is at most 65,536 tokens, so aiv does not read one over 16 MB") == true,
                "\(message ?? "")")
    }

    @Test func a429WaitsForTheServersRetryDelayThenSucceeds() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Hi {{name}}")
        harness.gemini.enqueue([.rateLimited(retryDelay: "0.4s"), .text("ok")])
        let started = Date()
        let outputs = try await harness.run(["prompt": "ask.prompt", "values": ["name": "a"]])
        #expect(Date().timeIntervalSince(started) >= 0.4)
        #expect(outputs["result"] == "ok")
        #expect(harness.gemini.generateRequests.count == 2)
    }

    /// A 429 that names no delay (no RetryInfo, no Retry-After) is waited out with the retry
    /// backoff, and counts as an attempt: one too many fails with Gemini's message.
    @Test func a429WithoutADelayWaitsTheBackoffThenSucceeds() async throws {
        let harness = try GeminiHarness(retryAttempts: 3)
        harness.prompt("Hi {{name}}")
        harness.gemini.enqueue([.rateLimitedWithoutDelay, .rateLimitedWithoutDelay, .text("ok")])
        #expect(try await harness.run(["prompt": "ask.prompt", "values": ["name": "a"]])["result"] == "ok")
        #expect(harness.gemini.generateRequests.count == 3)
        harness.gemini.enqueue([.rateLimitedWithoutDelay, .rateLimitedWithoutDelay, .rateLimitedWithoutDelay])
        let message = await harness.failure(["prompt": "ask.prompt", "values": ["name": "b"]])
        #expect(message?.contains("gemini answered 429 RESOURCE_EXHAUSTED") == true && message?.contains("after 3 attempts") == true, "\(message ?? "succeeded")")
    }

    @Test func aServerThatAsksToWaitLongerThanMaxDelayFailsAtOnce() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Hi {{name}}")
        harness.gemini.enqueue(.rateLimited(retryDelay: "3600s"))
        let started = Date()
        let message = await harness.failure(["prompt": "ask.prompt", "values": ["name": "a"]])
        #expect(message?.contains("gemini answered 429 RESOURCE_EXHAUSTED") == true)
        #expect(message?.contains("asks to wait 1h") == true)
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func overloadDroppedConnectionsAndTruncatedBodiesAreRetried() async throws {
        let harness = try GeminiHarness(retryAttempts: 4)
        harness.prompt("Hi {{name}}")
        // The drop comes first on its connection: see FakeGemini.enqueue on libcurl and reused connections.
        harness.gemini.enqueue([.dropConnection, .overloaded, .truncatedBody, .text("finally")])
        let outputs = try await harness.run(["prompt": "ask.prompt", "values": ["name": "a"]])
        #expect(outputs["result"] == "finally")
        #expect(harness.gemini.generateRequests.count == 4)
    }

    /// An answer without a length ends where the connection closes: cut short, it is still
    /// not JSON, and the client asks again as for a dropped connection.
    @Test func anAnswerCutShortWithoutALengthIsAskedForAgain() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Hi {{name}}")
        harness.gemini.enqueue([.cutShortWithoutLength, .text("whole")])
        let outputs = try await harness.run(["prompt": "ask.prompt", "values": ["name": "a"]])
        #expect(outputs["result"] == "whole")
        #expect(harness.gemini.generateRequests.count == 2)
    }

    @Test func transientFailuresStopAfterTheConfiguredAttempts() async throws {
        let harness = try GeminiHarness(retryAttempts: 2)
        harness.prompt("Hi {{name}}")
        harness.gemini.enqueue([.overloaded, .overloaded, .text("never")])
        let message = await harness.failure(["prompt": "ask.prompt", "values": ["name": "a"]])
        #expect(message?.contains("gemini answered 503 UNAVAILABLE") == true)
        #expect(message?.contains("after 2 attempts") == true)
    }

    @Test func aWrongKeyFailsAtOnceWithTheAPIsMessageAndNeverShowsTheKey() async throws {
        let harness = try GeminiHarness()
        harness.key = "wrong-key-abcdef"
        harness.prompt("Hi {{name}}")
        let message = await harness.failure(["prompt": "ask.prompt", "values": ["name": "a"]])
        #expect(message?.contains("gemini answered 400 INVALID_ARGUMENT: API key not valid") == true)
        #expect(message?.contains("wrong-key-abcdef") == false)
        #expect(harness.gemini.requests.count == 1)
    }

    @Test func aMissingKeyFailsBeforeAnyRequestAndPointsAtDryRun() async throws {
        let harness = try GeminiHarness()
        harness.key = nil
        harness.prompt("Hi {{name}}")
        let message = await harness.failure(["prompt": "ask.prompt", "values": ["name": "a"]])
        #expect(message?.contains("GEMINI_API_KEY is not set") == true)
        #expect(message?.contains("--dry-run") == true)
        #expect(harness.gemini.requests.isEmpty)
    }

    @Test func smallMediaGoInlineAndLargeOnesThroughTheFileAPI() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Transcribe this.")
        let audio = [UInt8](repeating: 7, count: 5000)
        harness.steps.workflow.write("clip.mp3", bytes: audio)

        harness.gemini.enqueue(.text("inline"))
        _ = try await harness.run(["prompt": "ask.prompt", "media": ["clip.mp3"]])
        let inline = try #require(harness.gemini.generateRequests.last)
        #expect(inline["contents", 0, "parts", 1, "inlineData", "mimeType"] == "audio/mp3")
        #expect(inline["contents", 0, "parts", 1, "inlineData", "data"] == .string(Data(audio).base64EncodedString()))

        harness.gemini.processingPolls = 2
        harness.gemini.enqueue(.text("uploaded"))
        let outputs = try await harness.run(["prompt": "ask.prompt", "media": "clip.mp3", "inline_limit": 1000])
        #expect(outputs["result"] == "uploaded")
        let uploaded = try #require(harness.gemini.generateRequests.last)
        let uri = try #require(uploaded["contents", 0, "parts", 1, "fileData", "fileUri"]?.stringValue)
        #expect(uploaded["contents", 0, "parts", 1, "fileData", "mimeType"] == "audio/mp3")
        #expect(harness.gemini.uploadedFiles.values.contains(Data(audio)))
        #expect(uri.hasPrefix(harness.gemini.baseURL))
    }

    @Test func aMediaTypeGeminiDoesNotTakeIsAnError() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Look.")
        harness.steps.workflow.write("notes.docx", "x")
        let message = await harness.failure(["prompt": "ask.prompt", "media": ["notes.docx"]])
        #expect(message?.contains("not '.docx'") == true)
        #expect(harness.gemini.requests.isEmpty)
    }

    /// An .m4a (what a phone records) or an .mkv (what OBS records) is not among the types
    /// Gemini's guides list: refused before anything is sent, saying how to make one it takes.
    @Test func containersGeminiDoesNotListAreRefusedWithAWayToCutThemToOneItDoes() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Transcribe this.")
        for (file, advice) in [("talk.m4a", "cut it to .aac with clip.cut"), ("stream.mkv", "cut it to .mp4 with clip.cut")] {
            harness.steps.workflow.write(file, "x")
            let message = await harness.failure(["prompt": "ask.prompt", "media": [.string(file)]])
            #expect(message?.contains(advice) == true, "\(message ?? "")")
        }
        #expect(harness.gemini.requests.isEmpty)
        // The types sent are the listed ones: a QuickTime movie is video/mov.
        harness.steps.workflow.write("clip.mov", "x")
        harness.gemini.enqueue(.text("seen"))
        _ = try await harness.run(["prompt": "ask.prompt", "media": ["clip.mov"]])
        #expect(harness.gemini.generateRequests.last?["contents", 0, "parts", 1, "inlineData", "mimeType"] == "video/mov")
    }

    /// Gemini's 20 MB is for the whole request: media that fit alone but not beside the prompt's
    /// text go through the File API, not into a request the server refuses.
    @Test func theInlineLimitCountsThePromptTextTooNotOnlyTheMedia() async throws {
        let harness = try GeminiHarness()
        harness.prompt("Transcribe this. {{notes}}")
        harness.steps.workflow.write("clip.mp3", bytes: [UInt8](repeating: 7, count: 600))  // 800 bytes of base64
        harness.gemini.enqueue(.text("short prompt"))
        _ = try await harness.run(["prompt": "ask.prompt", "media": ["clip.mp3"], "values": ["notes": ""], "inline_limit": 1200])
        #expect(harness.gemini.generateRequests.last?["contents", 0, "parts", 1, "inlineData"] != nil)
        harness.gemini.enqueue(.text("long prompt"))
        let notes = String(repeating: "メモ", count: 200)  // 1,200 bytes of UTF-8
        _ = try await harness.run(["prompt": "ask.prompt", "media": ["clip.mp3"], "values": ["notes": .string(notes)], "inline_limit": 1200])
        #expect(harness.gemini.generateRequests.last?["contents", 0, "parts", 1, "fileData"] != nil)
    }
}

@Suite struct GeminiTimeoutTests {
    @Test func aServerThatSendsNothingWithinTheTimeoutIsTriedAgain() async throws {
        let harness = try GeminiHarness()
        harness.settings = ["base_url": .string(harness.gemini.baseURL), "retry": ["attempts": 3, "delay": 0.01], "timeout": "1s",
                            "limits": ["requests_per_minute": 100_000]]
        harness.prompt("Hi {{name}}")
        harness.gemini.enqueue([.delayed(60, .text("too late")), .text("in time")])
        let started = Date()
        let outputs = try await harness.run(["prompt": "ask.prompt", "values": ["name": "a"]])
        #expect(outputs["result"] == "in time")
        // Well before the slow answer would have come: the first request was abandoned at 1 s
        // (the wide margin is for a 2-core machine busy with the rest of the test suite).
        #expect(Date().timeIntervalSince(started) < 40)
    }
}
