import AIVCore
import AIVTestSupport
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Pins what the fake Gemini server (and the hand-written HTTP server under it) does on the wire,
/// through URLSession directly: the step tests rely on these behaviours.
@Suite struct FakeGeminiServerTests {
    // MARK: Helpers

    struct Answer {
        let status: Int
        let headers: [String: String] // lower-cased names
        let body: Data
        var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: body) }
        var error: JSONValue? { json?["error"] }
    }

    /// One client per test: a fresh URLSession (its own connection pool). Its calls run off the
    /// concurrency pool: on Linux they wait for URLSession's queue with `DispatchQueue.sync`.
    final class Client: @unchecked Sendable {
        let session: URLSession
        init() {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
            configuration.urlCache = nil
            session = URLSession(configuration: configuration)
        }
        deinit { session.invalidateAndCancel() }

        func send(_ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil, timeout: TimeInterval = 5) async throws -> Answer {
            var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
            request.httpMethod = method
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            let (data, response): (Data, URLResponse)
            if let body {
                (data, response) = try await offThePool { try await session.upload(for: request, from: body) }
            } else {
                (data, response) = try await offThePool { try await session.data(for: request) }
            }
            let http = try #require(response as? HTTPURLResponse)
            var lowered: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { lowered[name.lowercased()] = value }
            }
            return Answer(status: http.statusCode, headers: lowered, body: data)
        }

        /// A request as built (a body stream, a file); the session lives as long as the call.
        func perform(_ request: URLRequest, fromFile file: URL? = nil) async throws -> Data {
            if let file { return try await offThePool { try await session.upload(for: request, fromFile: file) }.0 }
            return try await offThePool { try await session.data(for: request) }.0
        }

        func generate(_ fake: FakeGemini, model: String = "gemini-2.5-flash", key: String? = "test-key-123", body: JSONValue,
                      timeout: TimeInterval = 5) async throws -> Answer {
            var headers = ["Content-Type": "application/json"]
            if let key { headers["x-goog-api-key"] = key }
            return try await send("POST", "\(fake.baseURL)/v1beta/models/\(model):generateContent", headers: headers, body: Data(body.canonicalJSON.utf8),
                                  timeout: timeout)
        }
    }

    static func prompt(_ text: String) -> JSONValue {
        ["contents": [["role": "user", "parts": [["text": .string(text)]]]]]
    }

    static func seconds(_ duration: String) -> Double? {
        duration.hasSuffix("s") ? Double(duration.dropLast()) : nil
    }

    // MARK: generateContent

    @Test func aValidCallReturnsACandidateUsageAndModelVersion() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let client = Client()
        let answer = try await client.generate(fake, body: Self.prompt("Hello, world")) // 12 characters: 3 tokens
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true)
        let json = try #require(answer.json)
        let candidate = try #require(json["candidates"]?.arrayValue?.first)
        #expect(candidate["content"]?["role"] == "model")
        #expect(candidate["content"]?["parts"] == [["text": "ok"]])
        #expect(candidate["finishReason"] == "STOP")
        #expect(candidate["index"] == 0)
        #expect(json["usageMetadata"] == ["promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4])
        #expect(json["modelVersion"] == "gemini-2.5-flash")
        #expect(json["responseId"]?.stringValue?.isEmpty == false)
        #expect(fake.generateRequests == [Self.prompt("Hello, world")])
        #expect(fake.acceptedTimes.count == 1)
    }

    @Test func snakeCaseFieldsAreAcceptedAndAJSONRequestGetsJSONByDefault() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let body: JSONValue = [
            "system_instruction": ["parts": [["text": "Be terse."]]],
            "contents": [["parts": [["text": "Give me JSON"], ["inline_data": ["mime_type": "image/png", "data": "iVBORw0KGgo="]]]]],
            "generation_config": ["response_mime_type": "application/json", "temperature": 0.2, "max_output_tokens": 100,
                                  "response_json_schema": ["type": "object"]],
        ]
        let answer = try await Client().generate(fake, body: body)
        #expect(answer.status == 200)
        let text = try #require(answer.json?["candidates"]?.arrayValue?.first?["content"]?["parts"]?.arrayValue?.first?["text"]?.stringValue)
        #expect(text == #"{"ok":true}"#)
    }

    @Test func aMissingKeyIs403PermissionDenied() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let answer = try await Client().generate(fake, key: nil, body: Self.prompt("hi"))
        #expect(answer.status == 403)
        #expect(answer.error?["code"] == 403)
        #expect(answer.error?["status"] == "PERMISSION_DENIED")
        #expect(answer.error?["message"]?.stringValue?.hasPrefix("Method doesn't allow unregistered callers") == true)
        #expect(fake.acceptedTimes.isEmpty)
    }

    @Test func aWrongKeyIs400ApiKeyInvalid() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let answer = try await Client().generate(fake, key: "wrong", body: Self.prompt("hi"))
        #expect(answer.status == 400)
        #expect(answer.error?["status"] == "INVALID_ARGUMENT")
        #expect(answer.error?["message"] == "API key not valid. Please pass a valid API key.")
        let reasons = answer.error?["details"]?.arrayValue?.compactMap { $0["reason"]?.stringValue }
        #expect(reasons == ["API_KEY_INVALID"])
    }

    @Test func theKeyMayComeAsAQueryParameter() async throws {
        let fake = try FakeGemini(apiKey: "other-key")
        defer { fake.stop() }
        let answer = try await Client().send("POST", "\(fake.baseURL)/v1beta/models/gemini-2.0-flash:generateContent?key=other-key",
                                             headers: ["Content-Type": "application/json"], body: Data(Self.prompt("hi").canonicalJSON.utf8))
        #expect(answer.status == 200)
    }

    @Test func anUnknownTopLevelFieldIs400CannotFindField() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let answer = try await Client().generate(fake, body: ["contents": Self.prompt("hi")["contents"]!, "temperature": 0.5])
        #expect(answer.status == 400)
        #expect(answer.error?["status"] == "INVALID_ARGUMENT")
        #expect(answer.error?["message"] == #"Invalid JSON payload received. Unknown name "temperature": Cannot find field."#)
        #expect(answer.error?["details"]?.arrayValue?.first?["@type"] == "type.googleapis.com/google.rpc.BadRequest")
        #expect(fake.generateRequests.count == 1, "a refused call's body is still recorded")
        #expect(fake.acceptedTimes.isEmpty)
    }

    @Test(arguments: [
        ("empty contents", ["contents": []] as JSONValue, "contents is not specified"),
        ("no parts", ["contents": [["role": "user", "parts": []]]] as JSONValue, "parts must not be empty"),
        ("two data fields in a part", ["contents": [["parts": [["text": "a", "inlineData": ["mimeType": "image/png", "data": "AA=="]]]]]] as JSONValue, "Oneof field 'data' is already set"),
        ("a part without data", ["contents": [["parts": [["thought": true]]]]] as JSONValue, "required oneof field 'data'"),
        ("bad base64", ["contents": [["parts": [["inlineData": ["mimeType": "image/png", "data": "not base64!"]]]]]] as JSONValue, "Base64 decoding failed"),
        ("unknown generationConfig field", ["contents": [["parts": [["text": "a"]]]], "generationConfig": ["temprature": 1]] as JSONValue, #"Unknown name "temprature" at 'generation_config'"#),
        ("both schemas", ["contents": [["parts": [["text": "a"]]]], "generationConfig": ["responseMimeType": "application/json", "responseSchema": ["type": "OBJECT"], "responseJsonSchema": ["type": "object"]]] as JSONValue, "Only one of response_schema and response_json_schema"),
        ("a bad role", ["contents": [["role": "assistant", "parts": [["text": "a"]]]]] as JSONValue, "valid role"),
    ])
    func anInvalidPayloadIs400InvalidArgument(_ label: String, _ body: JSONValue, _ expected: String) async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let answer = try await Client().generate(fake, body: body)
        #expect(answer.status == 400, "\(label)")
        #expect(answer.error?["status"] == "INVALID_ARGUMENT", "\(label)")
        let message = answer.error?["message"]?.stringValue ?? ""
        #expect(message.contains(expected), "\(label): \(message)")
    }

    /// The fake takes the media types Gemini's guides list and no others, and no request over
    /// 20 MB, so a client sending audio/mp4 or a huge inline file fails here as it would there.
    @Test func anUnlistedMediaTypeAndARequestOver20MBAre400() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let m4a: JSONValue = ["contents": [["parts": [["text": "hi"], ["inlineData": ["mimeType": "audio/mp4", "data": "AAAA"]]]]]]
        let refused = try await Client().generate(fake, body: m4a)
        #expect(refused.status == 400)
        #expect(refused.error?["message"] == "Unsupported MIME type: audio/mp4")
        let aac: JSONValue = ["contents": [["parts": [["text": "hi"], ["inlineData": ["mimeType": "audio/aac", "data": "AAAA"]]]]]]
        #expect(try await Client().generate(fake, body: aac).status == 200)
        let huge = try await Client().generate(fake, body: Self.prompt(String(repeating: "x", count: 21_000_000)))
        #expect(huge.status == 400)
        #expect(huge.error?["message"] == "Request payload size exceeds the limit: 20971520 bytes.")
    }

    @Test func aModelNotNamedGeminiIs404NotFound() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let answer = try await Client().generate(fake, model: "gpt-4o", body: Self.prompt("hi"))
        #expect(answer.status == 404)
        #expect(answer.error?["status"] == "NOT_FOUND")
        #expect(answer.error?["message"]?.stringValue?.hasPrefix("models/gpt-4o is not found for API version v1beta") == true)
    }

    @Test func scriptedRepliesAreUsedInOrderThenTheDefault() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        fake.enqueue(.text("first"))
        fake.enqueue(.json(["n": 2]))
        fake.enqueue(.maxTokens(partialText: "cut"))
        let client = Client()
        func reply() async throws -> (String?, String?) {
            let json = try await client.generate(fake, body: Self.prompt("hi")).json
            let candidate = json?["candidates"]?.arrayValue?.first
            return (candidate?["content"]?["parts"]?.arrayValue?.first?["text"]?.stringValue, candidate?["finishReason"]?.stringValue)
        }
        #expect(try await reply() == ("first", "STOP"))
        #expect(try await reply() == (#"{"n":2}"#, "STOP"))
        #expect(try await reply() == ("cut", "MAX_TOKENS"))
        #expect(try await reply() == ("ok", "STOP"))
        fake.defaultReply = { request in .text("echo \(request["contents"]?.arrayValue?.count ?? 0)") }
        #expect(try await reply() == ("echo 1", "STOP"))
        #expect(fake.pendingReplies == 0)
    }

    @Test func safetyRepliesLookLikeGoogles() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        fake.enqueue(.safetyBlockedPrompt)
        fake.enqueue(.safetyFinish)
        let client = Client()
        let blocked = try #require(try await client.generate(fake, body: Self.prompt("hi")).json)
        #expect(blocked["candidates"] == nil)
        #expect(blocked["promptFeedback"]?["blockReason"] == "SAFETY")
        let finished = try #require(try await client.generate(fake, body: Self.prompt("hi")).json)
        let candidate = try #require(finished["candidates"]?.arrayValue?.first)
        #expect(candidate["finishReason"] == "SAFETY")
        #expect(candidate["content"]?["parts"] == nil)
        #expect(candidate["safetyRatings"]?.arrayValue?.isEmpty == false)
    }

    @Test func aScripted429CarriesRetryInfo() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        fake.enqueue(.rateLimited(retryDelay: "0.2s"))
        let client = Client()
        let answer = try await client.generate(fake, body: Self.prompt("hi"))
        #expect(answer.status == 429)
        #expect(answer.error?["status"] == "RESOURCE_EXHAUSTED")
        let details = answer.error?["details"]?.arrayValue ?? []
        let retryInfo = details.first { $0["@type"] == "type.googleapis.com/google.rpc.RetryInfo" }
        #expect(retryInfo?["retryDelay"] == "0.2s")
        #expect(details.contains { $0["@type"] == "type.googleapis.com/google.rpc.QuotaFailure" })
        #expect(try await client.generate(fake, body: Self.prompt("hi")).status == 200, "the script moves on")
    }

    @Test func aScripted429WithRetryAfterHasTheHeaderAndNoRetryInfo() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        fake.enqueue(.rateLimitedRetryAfter(seconds: 3))
        let answer = try await Client().generate(fake, body: Self.prompt("hi"))
        #expect(answer.status == 429)
        #expect(answer.headers["retry-after"] == "3")
        #expect(answer.error?["details"] == nil)
    }

    @Test func overloadedAndServerErrorsUseGoogleStatuses() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        fake.enqueue([.overloaded, .serverError(500), .serverError(504)])
        let client = Client()
        let overloaded = try await client.generate(fake, body: Self.prompt("hi"))
        #expect(overloaded.status == 503)
        #expect(overloaded.error?["status"] == "UNAVAILABLE")
        #expect(overloaded.error?["message"] == "The model is overloaded. Please try again later.")
        #expect(try await client.generate(fake, body: Self.prompt("hi")).error?["status"] == "INTERNAL")
        #expect(try await client.generate(fake, body: Self.prompt("hi")).error?["status"] == "DEADLINE_EXCEEDED")
    }

    // MARK: Misbehaviour at the byte level

    /// The URLError a call ended with (nil when it did not throw one).
    static func urlError(_ call: () async throws -> Answer) async -> URLError? {
        do {
            _ = try await call()
            return nil
        } catch {
            return error as? URLError
        }
    }

    @Test func aDroppedConnectionMakesURLSessionThrowAtOnce() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let client = Client()
        // A first call leaves a keep-alive connection in the client's pool: the fake closes it when
        // the drop is queued, so the dropped call goes out on a new connection and libcurl does not
        // resend it.
        #expect(try await client.generate(fake, body: Self.prompt("hi")).status == 200)
        fake.enqueue(.dropConnection)
        let started = Date()
        let error = await Self.urlError { try await client.generate(fake, body: Self.prompt("hi")) }
        #expect(error != nil)
        #if os(Linux)
        #expect(error?.code == .badServerResponse, "libcurl: Empty reply from server")
        #endif
        // "At once" against libcurl's 60-second hang; the margin is for a machine busy with the suite.
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(fake.generateRequests.count == 2, "the dropped call was not resent")
        #expect(try await client.generate(fake, body: Self.prompt("hi")).status == 200, "the next call gets the default reply")
    }

    @Test func aDropQueuedBehindAnotherReplyStillFailsAtOnce() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        fake.enqueue([.text("first"), .dropConnection])
        let client = Client()
        let first = try await client.generate(fake, body: Self.prompt("hi"))
        #expect(first.status == 200)
        #expect(first.headers["connection"]?.lowercased() == "close", "no keep-alive while a drop is pending")
        let started = Date()
        let error = await Self.urlError { try await client.generate(fake, body: Self.prompt("hi")) }
        #expect(error != nil)
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(fake.generateRequests.count == 2)
    }

    @Test func aTruncatedBodyMakesURLSessionThrow() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        fake.enqueue(.truncatedBody)
        let client = Client()
        let error = await Self.urlError { try await client.generate(fake, body: Self.prompt("hi")) }
        #expect(error != nil)
        #if os(Linux)
        // libcurl's CURLE_PARTIAL_FILE ("transfer closed with N bytes remaining to read") comes out
        // of FoundationNetworking as URLError(.unknown), not .networkConnectionLost.
        #expect(error?.code == .unknown)
        let underlying = (error as NSError?)?.userInfo[NSUnderlyingErrorKey] as? NSError
        #expect(underlying?.localizedDescription.contains("bytes remaining to read") == true)
        #endif
        #expect(try await client.generate(fake, body: Self.prompt("hi")).status == 200)
    }

    @Test func latencyDelaysEveryAnswer() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        fake.latency = 0.3
        let started = Date()
        #expect(try await Client().generate(fake, body: Self.prompt("hi")).status == 200)
        #expect(Date().timeIntervalSince(started) >= 0.3)
    }

    @Test func stoppingCutsADelayedAnswerShortWithoutHanging() async throws {
        let fake = try FakeGemini()
        fake.enqueue(.delayed(30, .text("too late")))
        let client = Client()
        // Time enough for the request to go out when the whole suite starts at once on two cores
        // (runs have stalled every test for about 20 s there): a shorter timeout ended the call
        // before the request reached the server, and the test measured nothing.
        let call = Task { try await client.generate(fake, body: Self.prompt("hi"), timeout: 90) }
        let deadline = Date().addingTimeInterval(60)
        while fake.generateRequests.isEmpty, Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(fake.generateRequests.count == 1)
        let started = Date()
        fake.stop()
        #expect(Date().timeIntervalSince(started) < 10, "stopping the server waited for the 30 s answer")
        await #expect(throws: URLError.self) { _ = try await call.value }
        // The call ends with the connection, not at its 90 s timeout or the 30 s answer.
        #expect(Date().timeIntervalSince(started) < 20)
    }

    // MARK: Rate-limit mode

    @Test func theRateLimitModeRejectsTheRequestBeyondTheWindowWithItsRetryDelay() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        // A minute, like Gemini's: a machine busy with the whole test suite still sends the three
        // calls within one window.
        fake.enforce(requestsPerWindow: 2, window: 60)
        let client = Client()
        #expect(try await client.generate(fake, body: Self.prompt("1")).status == 200)
        #expect(try await client.generate(fake, body: Self.prompt("2")).status == 200)
        let third = try await client.generate(fake, body: Self.prompt("3"))
        #expect(third.status == 429)
        #expect(fake.rejectedCount == 1)
        #expect(fake.acceptedTimes.count == 2)
        let delayText = try #require(third.error?["details"]?.arrayValue?.first { $0["@type"] == "type.googleapis.com/google.rpc.RetryInfo" }?["retryDelay"]?.stringValue)
        let delay = try #require(Self.seconds(delayText))
        // The delay is when the oldest accepted call leaves the window.
        let oldest = try #require(fake.acceptedTimes.first)
        #expect(delay > 0 && delay <= 60, "\(delayText)")
        #expect(abs(oldest.addingTimeInterval(60).timeIntervalSinceNow - delay) < 5, "\(delayText)")
        #expect(delayText.range(of: #"^\d+(\.\d{3})?s$"#, options: .regularExpression) != nil, "\(delayText)")
    }

    // MARK: File API

    @Test func aResumableUploadThenPollingReachesActive() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        fake.processingPolls = 1
        let client = Client()
        let bytes = Data((0..<3000).map { UInt8($0 % 251) })
        let start = try await client.send("POST", "\(fake.baseURL)/upload/v1beta/files", headers: [
            "x-goog-api-key": fake.apiKey,
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": String(bytes.count),
            "X-Goog-Upload-Header-Content-Type": "audio/mp3",
            "Content-Type": "application/json",
        ], body: Data(#"{"file":{"display_name":"talk.mp3"}}"#.utf8))
        #expect(start.status == 200)
        #expect(start.headers["x-goog-upload-status"] == "active")
        let uploadURL = try #require(start.headers["x-goog-upload-url"])
        #expect(uploadURL.hasPrefix("\(fake.baseURL)/upload/v1beta/files?upload_id="))

        let finish = try await client.send("POST", uploadURL, headers: [
            "x-goog-api-key": fake.apiKey,
            "X-Goog-Upload-Command": "upload, finalize",
            "X-Goog-Upload-Offset": "0",
            "Content-Type": "audio/mp3",
        ], body: bytes)
        #expect(finish.status == 200)
        #expect(finish.headers["x-goog-upload-status"] == "final")
        let file = try #require(finish.json?["file"])
        #expect(file["displayName"] == "talk.mp3")
        #expect(file["mimeType"] == "audio/mp3")
        #expect(file["sizeBytes"] == "3000")
        #expect(file["state"] == "PROCESSING")
        let name = try #require(file["name"]?.stringValue)
        let uri = try #require(file["uri"]?.stringValue)
        #expect(uri == "\(fake.baseURL)/v1beta/\(name)")
        #expect(fake.uploadedFiles[name] == bytes)

        let usesFile: JSONValue = ["contents": [["parts": [["fileData": ["mimeType": "audio/mp3", "fileUri": .string(uri)]], ["text": "Transcribe"]]]]]
        let early = try await client.generate(fake, body: usesFile)
        #expect(early.status == 400)
        #expect(early.error?["status"] == "FAILED_PRECONDITION")
        #expect(early.error?["message"]?.stringValue?.contains("is not in an ACTIVE state") == true)

        let poll1 = try await client.send("GET", "\(fake.baseURL)/v1beta/\(name)", headers: ["x-goog-api-key": fake.apiKey])
        #expect(poll1.json?["state"] == "PROCESSING")
        let poll2 = try await client.send("GET", "\(fake.baseURL)/v1beta/\(name)", headers: ["x-goog-api-key": fake.apiKey])
        #expect(poll2.json?["state"] == "ACTIVE")
        #expect(try await client.generate(fake, body: usesFile).status == 200)
    }

    @Test func anUploadShorterThanAnnouncedIs400() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let client = Client()
        let start = try await client.send("POST", "\(fake.baseURL)/upload/v1beta/files", headers: [
            "x-goog-api-key": fake.apiKey, "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": "10", "X-Goog-Upload-Header-Content-Type": "text/plain",
        ], body: Data("{}".utf8))
        let uploadURL = try #require(start.headers["x-goog-upload-url"])
        let finish = try await client.send("POST", uploadURL, headers: [
            "x-goog-api-key": fake.apiKey, "X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0",
        ], body: Data("short".utf8))
        #expect(finish.status == 400)
        #expect(fake.uploadedFiles.isEmpty)
    }

    @Test func theFileAPIRequiresTheKeyAndUnknownFilesAreDenied() async throws {
        let fake = try FakeGemini()
        defer { fake.stop() }
        let client = Client()
        let start = try await client.send("POST", "\(fake.baseURL)/upload/v1beta/files", headers: [
            "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
        ], body: Data("{}".utf8))
        #expect(start.status == 403)
        let get = try await client.send("GET", "\(fake.baseURL)/v1beta/files/nosuchfile", headers: ["x-goog-api-key": fake.apiKey])
        #expect(get.status == 403)
        #expect(get.error?["status"] == "PERMISSION_DENIED")
        let usesFile: JSONValue = ["contents": [["parts": [["file_data": ["file_uri": .string("\(fake.baseURL)/v1beta/files/nosuchfile")]]]]]]
        #expect(try await client.generate(fake, body: usesFile).status == 403)
    }

    // MARK: The HTTP server itself

    @Test func theServerKeepsConnectionsAliveAndReadsChunkedBodies() async throws {
        let server = try LocalHTTPServer { request in
            .json(status: 200, ["length": .int(request.body.count), "te": .string(request.header("TRANSFER-ENCODING") ?? "")])
        }
        defer { server.stop() }
        let client = Client()
        let small = try await client.send("POST", "\(server.baseURL)/a?x=1", body: Data("hello".utf8))
        #expect(small.json == ["length": 5, "te": ""])
        // A body from a stream has no known length: libcurl sends it chunked.
        let big = Data(repeating: 7, count: 200_000)
        var request = URLRequest(url: URL(string: "\(server.baseURL)/b")!, timeoutInterval: 5)
        request.httpMethod = "POST"
        request.httpBodyStream = InputStream(data: big)
        let data = try await client.perform(request)
        let json = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(json["length"] == .int(big.count))
        #expect(json["te"]?.stringValue?.lowercased() == "chunked")
        #expect(server.requests.map(\.path) == ["/a?x=1", "/b"])
        #expect(server.connectionCount == 1, "one keep-alive connection served both")
    }

    @Test func theServerReadsAFileUploadOfAMegabyteAndMore() async throws {
        let server = try LocalHTTPServer { request in
            .json(status: 200, ["length": .int(request.body.count), "sum": .int(request.body.reduce(0) { $0 + Int($1) }),
                                "contentLength": .string(request.header("content-length") ?? "")])
        }
        defer { server.stop() }
        let folder = TemporaryFolder()
        let bytes = (0..<1_500_000).map { UInt8($0 % 253) }
        let path = folder.write("big.bin", bytes: bytes)
        var request = URLRequest(url: URL(string: "\(server.baseURL)/upload")!, timeoutInterval: 5)
        request.httpMethod = "POST"
        let data = try await Client().perform(request, fromFile: URL(fileURLWithPath: path))
        let json = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(json["length"] == .int(bytes.count))
        #expect(json["sum"] == .int(bytes.reduce(0) { $0 + Int($1) }))
        #expect(json["contentLength"] == .string(String(bytes.count)), "URLSession streams a file with its length, not chunked")
    }
}
