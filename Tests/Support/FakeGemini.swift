import AIVCore
import Foundation

/// A local server that speaks the Gemini API's wire format (generativelanguage.googleapis.com,
/// v1beta), for tests: `models/{model}:generateContent` and the File API (resumable upload,
/// `files.get`, `files.delete`).
///
/// What it checks, and answers, follows Google's documented and observed behaviour:
/// - The key comes in the `x-goog-api-key` header or the `key` query parameter. None: 403
///   PERMISSION_DENIED ("Method doesn't allow unregistered callers ..."); a wrong one: 400
///   INVALID_ARGUMENT "API key not valid. Please pass a valid API key." with an ErrorInfo detail
///   whose reason is API_KEY_INVALID.
/// - Errors are `{"error": {"code", "message", "status", "details"?}}`.
/// - The request body is parsed like proto JSON: field names in camelCase or snake_case; an
///   unknown field is 400 `Invalid JSON payload received. Unknown name "x": Cannot find field.`
///   with a BadRequest detail; `contents` must be a non-empty list of contents with non-empty
///   `parts`; each part sets exactly one of its data fields (`text`, `inlineData` with base64
///   `data`, `fileData` with `fileUri`, ...); `generationConfig` takes only its known fields,
///   typed, and not both `responseSchema` and `responseJsonSchema`.
/// - Media (`inlineData`, `fileData`) must have a MIME type of the audio, video, image and
///   document guides' lists: another is 400 INVALID_ARGUMENT "Unsupported MIME type: …".
/// - A request body over 20 MB (20,971,520 bytes) is 400 INVALID_ARGUMENT "Request payload size
///   exceeds the limit: 20971520 bytes." — what the File API is for.
/// - A model whose name does not start with `gemini-` is 404 NOT_FOUND.
/// - A `fileData` naming an unknown file is 403 PERMISSION_DENIED ("You do not have permission to
///   access the File ... or it may not exist."), one still PROCESSING is 400 FAILED_PRECONDITION
///   ("The File ... is not in an ACTIVE state and usage is not allowed.").
/// - Rate limits are 429 RESOURCE_EXHAUSTED with QuotaFailure, Help and RetryInfo details.
///
/// Replies are scripted (`enqueue`) or come from `defaultReply`; `enforce` turns on a sliding
/// window limit; `latency` delays every answer.
public final class FakeGemini: @unchecked Sendable {
    /// What the model "does" for one generateContent call.
    public enum Reply: Sendable {
        /// A candidate with this text, finishReason STOP.
        case text(String)
        /// A candidate whose text is this JSON value serialized (canonical JSON), finishReason STOP.
        case json(JSONValue)
        /// A candidate cut short: this text, finishReason MAX_TOKENS.
        case maxTokens(partialText: String)
        /// What a 2.5 model does when its thoughts use up `maxOutputTokens`: finishReason
        /// MAX_TOKENS, no answer text, and the allowance in `usageMetadata.thoughtsTokenCount`.
        case thoughtUntilMaxTokens
        /// The prompt is blocked: `promptFeedback.blockReason` SAFETY and no candidates.
        case safetyBlockedPrompt
        /// The answer is blocked: a candidate with finishReason SAFETY, safety ratings and no content.
        case safetyFinish
        /// 429 RESOURCE_EXHAUSTED whose details carry a RetryInfo with this `retryDelay` (e.g. "0.2s").
        case rateLimited(retryDelay: String)
        /// 429 RESOURCE_EXHAUSTED with a `Retry-After` header and no RetryInfo.
        case rateLimitedRetryAfter(seconds: Int)
        /// 429 RESOURCE_EXHAUSTED with neither a RetryInfo nor a `Retry-After` header.
        case rateLimitedWithoutDelay
        /// 503 UNAVAILABLE "The model is overloaded. Please try again later."
        case overloaded
        /// An error with this HTTP status (500 INTERNAL, 502, 504 DEADLINE_EXCEEDED, ...).
        case serverError(Int)
        /// The connection is closed without an answer (see `enqueue` for how the fake makes sure
        /// it is a connection the client has not used before).
        case dropConnection
        /// A 200 whose body is cut off halfway (Content-Length announces the whole body).
        case truncatedBody
        /// A 200 whose body is cut off halfway, sent without a Content-Length (so the client sees
        /// an answer that ends where the connection closes).
        case cutShortWithoutLength
        /// The other reply, after a wait.
        indirect case delayed(TimeInterval, Reply)

        var dropsConnection: Bool {
            switch self {
            case .dropConnection: true
            case .delayed(_, let next): next.dropsConnection
            default: false
            }
        }
    }

    public let apiKey: String
    private let server: LocalHTTPServer
    private let core: FakeGeminiCore

    public init(apiKey: String = "test-key-123") throws {
        self.apiKey = apiKey
        let core = FakeGeminiCore(apiKey: apiKey)
        self.core = core
        server = try LocalHTTPServer { request in core.handle(request) }
        core.withLock { $0.baseURL = server.baseURL }
    }

    deinit { server.stop() }

    /// `http://127.0.0.1:PORT`; the API is under `/v1beta`, uploads under `/upload/v1beta`.
    public var baseURL: String { server.baseURL }
    public var port: Int { server.port }

    /// Stops the server (open connections are closed, delayed answers cut short).
    public func stop() { server.stop() }

    /// Every request received, in order, whatever the route.
    public var requests: [ReceivedRequest] { server.requests }
    /// TCP connections accepted so far (to see whether a client reuses connections).
    public var connectionCount: Int { server.connectionCount }

    /// The JSON body of every generateContent call that had one, in order, whatever the answer.
    public var generateRequests: [JSONValue] { core.withLock { $0.generateRequests } }

    /// Queues a reply for a later generateContent call (first in, first out). Only calls that
    /// pass the key, model, payload and rate-limit checks consume replies.
    ///
    /// A queued `.dropConnection` makes the fake close its idle keep-alive connections now and
    /// answer `Connection: close` until the drop is used, so that the dropped call is the first on
    /// its connection: URLSession on Linux then throws at once (`URLError(.badServerResponse)`),
    /// where a drop on a reused connection would make libcurl resend the call and URLSession hang
    /// until its timeout.
    public func enqueue(_ reply: Reply) { enqueue([reply]) }
    public func enqueue(_ replies: [Reply]) {
        core.withLock { $0.queue += replies }
        if replies.contains(where: \.dropsConnection) { server.closeIdleConnections() }
    }
    /// Replies queued and not yet used.
    public var pendingReplies: Int { core.withLock { $0.queue.count } }

    /// The reply when the queue is empty, given the request body. By default `.json(["ok": true])`
    /// when the request asks for JSON (`responseMimeType` application/json), else `.text("ok")`.
    public var defaultReply: @Sendable (JSONValue) -> Reply {
        get { core.withLock { $0.defaultReply } }
        set { core.withLock { $0.defaultReply = newValue } }
    }

    /// A wait before every answer (all routes), in seconds.
    public var latency: TimeInterval {
        get { core.withLock { $0.latency } }
        set { core.withLock { $0.latency = newValue } }
    }

    /// Accept at most `requestsPerWindow` generateContent calls in any `window` seconds (a sliding
    /// window over accepted calls); a call beyond that is 429 with a RetryInfo whose `retryDelay`
    /// is the time until the oldest accepted call leaves the window.
    public func enforce(requestsPerWindow: Int, window: TimeInterval) {
        core.withLock { $0.limit = (max(0, requestsPerWindow), window) }
    }

    /// Turns the `enforce` limit off.
    public func stopEnforcing() { core.withLock { $0.limit = nil } }

    /// generateContent calls refused by the `enforce` limit.
    public var rejectedCount: Int { core.withLock { $0.rejectedCount } }
    /// When each generateContent call was accepted (passed every check), in order.
    public var acceptedTimes: [Date] { core.withLock { $0.acceptedTimes } }

    /// How many `files.get` polls a new file answers PROCESSING before it is ACTIVE (0: ACTIVE at
    /// once, already in the upload's answer). Read when a file is polled.
    public var processingPolls: Int {
        get { core.withLock { $0.processingPolls } }
        set { core.withLock { $0.processingPolls = newValue } }
    }

    /// The bytes of every finished upload, by the file's resource name (`files/ID`).
    public var uploadedFiles: [String: Data] {
        core.withLock { s in Dictionary(uniqueKeysWithValues: s.files.values.map { ("files/\($0.id)", $0.data) }) }
    }

    /// Adds a file as if uploaded (already ACTIVE unless `active` is false); returns its URI.
    @discardableResult
    public func addFile(_ data: Data, mimeType: String, displayName: String? = nil, active: Bool = true) -> String {
        core.withLock { s in
            let id = FakeGeminiCore.randomID(12)
            s.files[id] = FakeGeminiCore.StoredFile(id: id, displayName: displayName, mimeType: mimeType, data: data, created: Date(), active: active)
            return "\(s.baseURL)/v1beta/files/\(id)"
        }
    }

    /// The token count the fake reports for this text: characters / 4, rounded up, at least 1.
    public static func estimatedTokens(_ text: String) -> Int { FakeGeminiCore.tokens(text.count) }
}

// MARK: - State and behaviour

private struct FakeGeminiShared {
    var baseURL = ""
    var queue: [FakeGemini.Reply] = []
    var defaultReply: @Sendable (JSONValue) -> FakeGemini.Reply = { request in
        let config = FakeGeminiCore.field(request, "generationConfig")
        let mime = config.flatMap { FakeGeminiCore.field($0, "responseMimeType") }?.stringValue
        return mime == "application/json" ? .json(["ok": true]) : .text("ok")
    }
    var latency: TimeInterval = 0
    var limit: (count: Int, window: TimeInterval)?
    var rejectedCount = 0
    var acceptedTimes: [Date] = []
    var generateRequests: [JSONValue] = []
    var processingPolls = 1
    var files: [String: FakeGeminiCore.StoredFile] = [:]
    var uploads: [String: FakeGeminiCore.UploadSession] = [:]
}

final class FakeGeminiCore: @unchecked Sendable {
    struct StoredFile {
        let id: String
        let displayName: String?
        let mimeType: String
        let data: Data
        let created: Date
        var polls = 0
        var active: Bool
    }

    struct UploadSession {
        let fileID: String
        let displayName: String?
        let mimeType: String
        let announcedLength: Int?
        var received = Data()
    }

    let apiKey: String
    private let lock = NSLock()
    private var shared = FakeGeminiShared()

    init(apiKey: String) { self.apiKey = apiKey }

    fileprivate func withLock<T>(_ body: (inout FakeGeminiShared) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&shared)
    }

    // MARK: Routing

    func handle(_ request: ReceivedRequest) -> ServerAction {
        var action = route(request)
        let (latency, dropPending) = withLock { s in (s.latency, s.queue.contains(where: \.dropsConnection)) }
        if dropPending { action = Self.closing(action) }
        return latency > 0 ? .delayed(latency, action) : action
    }

    /// The action, answering `Connection: close`.
    private static func closing(_ action: ServerAction) -> ServerAction {
        switch action {
        case .respond(let status, let headers, let body): .respond(status: status, headers: headers + [("Connection", "close")], body: body)
        case .json(let status, let value, let headers): .json(status: status, value, headers: headers + [("Connection", "close")])
        case .delayed(let interval, let next): .delayed(interval, closing(next))
        case .drop, .truncate, .cutShortWithoutLength: action
        }
    }

    private func route(_ request: ReceivedRequest) -> ServerAction {
        let path = request.pathWithoutQuery
        if path.hasPrefix("/v1beta/models/"), path.hasSuffix(":generateContent") {
            guard request.method == "POST" else { return Self.notFoundRoute(request) }
            return generateContent(request, model: String(path.dropFirst("/v1beta/models/".count).dropLast(":generateContent".count)))
        }
        if path == "/upload/v1beta/files" {
            guard request.method == "POST" || request.method == "PUT" else { return Self.notFoundRoute(request) }
            if let denied = authenticate(request) { return denied }
            if let uploadID = request.queryItems["upload_id"] { return continueUpload(request, uploadID: uploadID) }
            return startUpload(request)
        }
        if path.hasPrefix("/v1beta/files/") {
            let id = String(path.dropFirst("/v1beta/files/".count))
            if let denied = authenticate(request) { return denied }
            switch request.method {
            case "GET": return getFile(id)
            case "DELETE": return deleteFile(id)
            default: return Self.notFoundRoute(request)
            }
        }
        return Self.notFoundRoute(request)
    }

    private static func notFoundRoute(_ request: ReceivedRequest) -> ServerAction {
        error(404, "NOT_FOUND", "The fake Gemini API has no route \(request.method) \(request.pathWithoutQuery).")
    }

    // MARK: Errors

    static func error(_ code: Int, _ status: String, _ message: String, details: [JSONValue]? = nil, headers: [(String, String)] = []) -> ServerAction {
        var error: [String: JSONValue] = ["code": .int(code), "message": .string(message), "status": .string(status)]
        if let details { error["details"] = .array(details) }
        return .json(status: code, ["error": .object(error)], headers: headers)
    }

    private static func badRequest(_ message: String, field: String? = nil) -> ServerAction {
        var violation: [String: JSONValue] = ["description": .string(message)]
        if let field { violation["field"] = .string(field) }
        return error(400, "INVALID_ARGUMENT", message, details: [
            ["@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [.object(violation)]],
        ])
    }

    private static func unknownName(_ name: String, at location: String?) -> ServerAction {
        let place = location.map { " at '\($0)'" } ?? ""
        return badRequest("Invalid JSON payload received. Unknown name \"\(name)\"\(place): Cannot find field.", field: location)
    }

    private static func invalidValue(at location: String, type: String, _ value: JSONValue) -> ServerAction {
        badRequest("Invalid value at '\(location)' (\(type)), \(value.canonicalJSON)", field: location)
    }

    /// A check failed after parsing: Google words these `* GenerateContentRequest.<path>: <why>`.
    private static func requestCheck(_ path: String, _ why: String) -> ServerAction {
        error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.\(path): \(why)\n")
    }

    private func authenticate(_ request: ReceivedRequest) -> ServerAction? {
        let key = request.header("x-goog-api-key") ?? request.queryItems["key"]
        guard let key, !key.isEmpty else {
            return Self.error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
        }
        guard key == apiKey else {
            let message = "API key not valid. Please pass a valid API key."
            return Self.error(400, "INVALID_ARGUMENT", message, details: [
                ["@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                 "metadata": ["service": "generativelanguage.googleapis.com"]],
                ["@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": .string(message)],
            ])
        }
        return nil
    }

    // MARK: generateContent

    private func generateContent(_ request: ReceivedRequest, model: String) -> ServerAction {
        let body = request.json
        if let body { withLock { $0.generateRequests.append(body) } }
        if let denied = authenticate(request) { return denied }
        guard model.hasPrefix("gemini-") else {
            return Self.error(404, "NOT_FOUND", "models/\(model) is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.")
        }
        if request.body.count > Self.payloadLimit {
            return Self.error(400, "INVALID_ARGUMENT", "Request payload size exceeds the limit: \(Self.payloadLimit) bytes.")
        }
        guard let body else {
            if request.body.isEmpty { return Self.requestCheck("contents", "contents is not specified") }
            return Self.badRequest("Invalid JSON payload received. Unexpected token.\n\(String(request.text.prefix(40)))\n^")
        }
        if let invalid = validate(body) { return invalid }

        let now = Date()
        enum Admission { case accepted(FakeGemini.Reply?), rejected(TimeInterval, Int) }
        let admission: Admission = withLock { s in
            if let limit = s.limit {
                let inWindow = s.acceptedTimes.filter { now.timeIntervalSince($0) < limit.window }
                if inWindow.count >= limit.count {
                    s.rejectedCount += 1
                    let wait = inWindow.first.map { limit.window - now.timeIntervalSince($0) } ?? limit.window
                    return .rejected(wait, limit.count)
                }
            }
            s.acceptedTimes.append(now)
            return .accepted(s.queue.isEmpty ? nil : s.queue.removeFirst())
        }
        switch admission {
        case .rejected(let wait, let limit):
            return Self.rateLimited(retryDelay: Self.formatDuration(wait), model: model, limit: limit)
        case .accepted(let queued):
            let reply = queued ?? withLock({ $0.defaultReply })(body)
            return render(reply, request: body, model: model)
        }
    }

    private func render(_ reply: FakeGemini.Reply, request: JSONValue, model: String) -> ServerAction {
        switch reply {
        case .text(let text):
            return .json(status: 200, Self.success(text: text, finishReason: "STOP", request: request, model: model))
        case .json(let value):
            return .json(status: 200, Self.success(text: value.canonicalJSON, finishReason: "STOP", request: request, model: model))
        case .maxTokens(let partial):
            return .json(status: 200, Self.success(text: partial, finishReason: "MAX_TOKENS", request: request, model: model))
        case .thoughtUntilMaxTokens:
            let prompt = Self.tokens(Self.promptCharacters(request))
            let allowance = request["generationConfig"]?["maxOutputTokens"]?.numberValue.map { Int($0) } ?? 8192
            return .json(status: 200, [
                "candidates": [["content": ["role": "model"], "finishReason": "MAX_TOKENS", "index": 0]],
                "usageMetadata": ["promptTokenCount": .int(prompt), "thoughtsTokenCount": .int(allowance),
                                  "totalTokenCount": .int(prompt + allowance)],
                "modelVersion": .string(model),
            ])
        case .safetyFinish:
            return .json(status: 200, Self.success(text: nil, finishReason: "SAFETY", request: request, model: model))
        case .safetyBlockedPrompt:
            let prompt = Self.tokens(Self.promptCharacters(request))
            return .json(status: 200, [
                "promptFeedback": ["blockReason": "SAFETY", "safetyRatings": Self.safetyRatings(blocked: true)],
                "usageMetadata": ["promptTokenCount": .int(prompt), "totalTokenCount": .int(prompt)],
                "modelVersion": .string(model),
                "responseId": .string(Self.randomID(22)),
            ])
        case .rateLimited(let delay):
            return Self.rateLimited(retryDelay: delay, model: model, limit: 15)
        case .rateLimitedRetryAfter(let seconds):
            return Self.error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
                              headers: [("Retry-After", String(seconds))])
        case .rateLimitedWithoutDelay:
            return Self.error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
        case .overloaded:
            return Self.error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        case .serverError(let code):
            return Self.error(code, Self.statusName(code), code == 500
                ? "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
                : "The service answered \(code).")
        case .dropConnection:
            return .drop
        case .truncatedBody:
            let full = Data(Self.success(text: "This answer is cut off before its end.", finishReason: "STOP", request: request, model: model).canonicalJSON.utf8)
            return .truncate(status: 200, body: full, sendBytes: full.count / 2)
        case .cutShortWithoutLength:
            let full = Data(Self.success(text: "This answer is cut off before its end.", finishReason: "STOP", request: request, model: model).canonicalJSON.utf8)
            return .cutShortWithoutLength(status: 200, body: full, sendBytes: full.count / 2)
        case .delayed(let interval, let next):
            return .delayed(interval, render(next, request: request, model: model))
        }
    }

    private static func success(text: String?, finishReason: String, request: JSONValue, model: String) -> JSONValue {
        var candidate: [String: JSONValue] = ["finishReason": .string(finishReason), "index": 0]
        if let text {
            candidate["content"] = ["role": "model", "parts": [["text": .string(text)]]]
        } else {
            candidate["safetyRatings"] = safetyRatings(blocked: true)
        }
        let prompt = tokens(promptCharacters(request))
        let answer = tokens(text?.count ?? 0)
        var usage: [String: JSONValue] = ["promptTokenCount": .int(prompt), "totalTokenCount": .int(prompt + (text == nil ? 0 : answer))]
        if text != nil { usage["candidatesTokenCount"] = .int(answer) }
        return [
            "candidates": [.object(candidate)],
            "usageMetadata": .object(usage),
            "modelVersion": .string(model),
            "responseId": .string(randomID(22)),
        ]
    }

    private static func safetyRatings(blocked: Bool) -> JSONValue {
        [
            ["category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"],
            ["category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"],
            ["category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"],
            ["category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": .bool(blocked)],
        ]
    }

    private static func rateLimited(retryDelay: String, model: String, limit: Int) -> ServerAction {
        let message = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: \(limit), model: \(model)\nPlease retry in \(retryDelay)."
        return error(429, "RESOURCE_EXHAUSTED", message, details: [
            ["@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [[
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                "quotaDimensions": ["location": "global", "model": .string(model)],
                "quotaValue": .string(String(limit)),
            ]]],
            ["@type": "type.googleapis.com/google.rpc.Help", "links": [[
                "description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
            ]]],
            ["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": .string(retryDelay)],
        ])
    }

    static func statusName(_ code: Int) -> String {
        switch code {
        case 400: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 409: "ABORTED"
        case 429: "RESOURCE_EXHAUSTED"
        case 499: "CANCELLED"
        case 500: "INTERNAL"
        case 501: "NOT_IMPLEMENTED"
        case 503: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: "UNKNOWN"
        }
    }

    /// A protobuf JSON duration, as Google writes RetryInfo: whole seconds as "22s", else three
    /// decimals ("1.234s"), rounded up to the millisecond so that waiting that long is enough.
    static func formatDuration(_ seconds: TimeInterval) -> String {
        let millis = max(0, Int((seconds * 1000).rounded(.up)))
        if millis % 1000 == 0 { return "\(millis / 1000)s" }
        let fraction = String(millis % 1000)
        return "\(millis / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }

    /// Token estimate: characters / 4, rounded up, at least 1.
    static func tokens(_ characters: Int) -> Int { max(1, (characters + 3) / 4) }

    private static func promptCharacters(_ request: JSONValue) -> Int {
        var contents = field(request, "contents")?.arrayValue ?? []
        if let system = field(request, "systemInstruction") { contents.append(system) }
        return contents.reduce(0) { total, content in
            total + (field(content, "parts")?.arrayValue ?? []).reduce(0) { $0 + (field($1, "text")?.stringValue?.count ?? 0) }
        }
    }

    static func randomID(_ length: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<length).map { _ in alphabet.randomElement()! })
    }

    // MARK: Payload validation

    /// A field by its camelCase name, also found under its snake_case name (proto JSON takes both).
    static func field(_ value: JSONValue, _ camel: String) -> JSONValue? {
        guard let object = value.objectValue else { return nil }
        return object[camel] ?? object[snake(camel)]
    }

    static func snake(_ camel: String) -> String {
        var out = ""
        for ch in camel {
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }

    static func camel(_ name: String) -> String {
        let pieces = name.split(separator: "_", omittingEmptySubsequences: false)
        guard pieces.count > 1 else { return name }
        return String(pieces[0]) + pieces.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    private static let requestFields: Set<String> = [
        "contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig", "cachedContent", "model",
    ]
    /// The MIME types Gemini's audio, video, image and document guides list.
    static let documentedMimeTypes: Set = [
        "audio/wav", "audio/mp3", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac",
        "video/mp4", "video/mpeg", "video/mov", "video/avi", "video/x-flv", "video/mpg", "video/webm", "video/wmv", "video/3gpp",
        "image/png", "image/jpeg", "image/webp", "image/heic", "image/heif",
        "application/pdf", "text/plain", "text/html", "text/css", "text/csv", "text/markdown", "text/xml", "application/json",
    ]
    static let payloadLimit = 20_971_520

    private static let partDataFields = ["text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"]
    private static let partOtherFields: Set<String> = ["thought", "thoughtSignature", "videoMetadata", "partMetadata", "mediaResolution"]
    private static let generationConfigFields: Set<String> = [
        "temperature", "topP", "topK", "maxOutputTokens", "candidateCount", "stopSequences", "responseMimeType",
        "responseSchema", "responseJsonSchema", "seed", "presencePenalty", "frequencyPenalty", "thinkingConfig",
        "responseModalities", "responseLogprobs", "logprobs", "mediaResolution",
    ]
    private static let responseMimeTypes: Set<String> = ["text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum"]

    /// The first problem with the body, as Google would answer it; nil when it is acceptable.
    private func validate(_ body: JSONValue) -> ServerAction? {
        guard let object = body.objectValue else {
            return Self.badRequest("Invalid JSON payload received. Expected an object, got \(body.typeName).")
        }
        for key in object.keys.sorted() where !Self.requestFields.contains(Self.camel(key)) {
            return Self.unknownName(key, at: nil)
        }
        guard let contentsValue = Self.field(body, "contents") else {
            return Self.requestCheck("contents", "contents is not specified")
        }
        guard let contents = contentsValue.arrayValue else {
            return Self.invalidValue(at: "contents", type: "type.googleapis.com/google.ai.generativelanguage.v1beta.Content", contentsValue)
        }
        if contents.isEmpty { return Self.requestCheck("contents", "contents is not specified") }
        var fileURIs: [String] = []
        for (i, content) in contents.enumerated() {
            if let problem = validateContent(content, at: "contents[\(i)]", checkRole: true, fileURIs: &fileURIs) { return problem }
        }
        if let system = Self.field(body, "systemInstruction") {
            if let problem = validateContent(system, at: "system_instruction", checkRole: false, fileURIs: &fileURIs) { return problem }
        }
        if let config = Self.field(body, "generationConfig") {
            if let problem = validateGenerationConfig(config) { return problem }
        }
        if let settings = Self.field(body, "safetySettings") {
            guard let list = settings.arrayValue else {
                return Self.invalidValue(at: "safety_settings", type: "type.googleapis.com/google.ai.generativelanguage.v1beta.SafetySetting", settings)
            }
            for (i, setting) in list.enumerated() {
                guard let fields = setting.objectValue else {
                    return Self.invalidValue(at: "safety_settings[\(i)]", type: "type.googleapis.com/google.ai.generativelanguage.v1beta.SafetySetting", setting)
                }
                for key in fields.keys.sorted() where !["category", "threshold"].contains(Self.camel(key)) {
                    return Self.unknownName(key, at: "safety_settings[\(i)]")
                }
            }
        }
        if let tools = Self.field(body, "tools"), tools.arrayValue == nil {
            return Self.invalidValue(at: "tools", type: "type.googleapis.com/google.ai.generativelanguage.v1beta.Tool", tools)
        }
        if let cached = Self.field(body, "cachedContent"), cached.stringValue == nil {
            return Self.invalidValue(at: "cached_content", type: "TYPE_STRING", cached)
        }
        return checkFiles(fileURIs)
    }

    private func validateContent(_ content: JSONValue, at location: String, checkRole: Bool, fileURIs: inout [String]) -> ServerAction? {
        guard let fields = content.objectValue else {
            return Self.invalidValue(at: location, type: "type.googleapis.com/google.ai.generativelanguage.v1beta.Content", content)
        }
        for key in fields.keys.sorted() where !["role", "parts"].contains(key) {
            return Self.unknownName(key, at: location)
        }
        if let role = fields["role"] {
            guard let text = role.stringValue else { return Self.invalidValue(at: "\(location).role", type: "TYPE_STRING", role) }
            if checkRole, !text.isEmpty, text != "user", text != "model" {
                return Self.error(400, "INVALID_ARGUMENT", "Please use a valid role: user, model.")
            }
        }
        guard let partsValue = fields["parts"], let parts = partsValue.arrayValue, !parts.isEmpty else {
            if let partsValue = fields["parts"], partsValue.arrayValue == nil {
                return Self.invalidValue(at: "\(location).parts", type: "type.googleapis.com/google.ai.generativelanguage.v1beta.Part", partsValue)
            }
            return Self.requestCheck("\(location).parts", "contents.parts must not be empty.")
        }
        for (j, part) in parts.enumerated() {
            if let problem = validatePart(part, at: "\(location).parts[\(j)]", fileURIs: &fileURIs) { return problem }
        }
        return nil
    }

    private func validatePart(_ part: JSONValue, at location: String, fileURIs: inout [String]) -> ServerAction? {
        guard let fields = part.objectValue else {
            return Self.invalidValue(at: location, type: "type.googleapis.com/google.ai.generativelanguage.v1beta.Part", part)
        }
        var dataFields: [String] = []
        for key in fields.keys.sorted() {
            let name = Self.camel(key)
            if Self.partDataFields.contains(name) {
                if !dataFields.isEmpty {
                    return Self.badRequest("Invalid JSON payload received. Oneof field 'data' is already set. Cannot set '\(name)'", field: location)
                }
                dataFields.append(name)
            } else if !Self.partOtherFields.contains(name) {
                return Self.unknownName(key, at: location)
            }
        }
        guard let kind = dataFields.first else {
            return Self.requestCheck("\(location).data", "required oneof field 'data' must have one initialized field")
        }
        let value = Self.field(part, kind)!
        switch kind {
        case "text":
            if value.stringValue == nil { return Self.invalidValue(at: "\(location).text", type: "TYPE_STRING", value) }
        case "inlineData":
            let here = "\(location).inline_data"
            guard let blob = value.objectValue else { return Self.invalidValue(at: here, type: "type.googleapis.com/google.ai.generativelanguage.v1beta.Blob", value) }
            for key in blob.keys.sorted() where !["mimeType", "data"].contains(Self.camel(key)) {
                return Self.unknownName(key, at: here)
            }
            guard let mime = Self.field(value, "mimeType"), let mimeText = mime.stringValue, !mimeText.isEmpty else {
                return Self.requestCheck("\(here).mime_type", "mime_type must be set.")
            }
            guard let data = Self.field(value, "data"), let text = data.stringValue else {
                return Self.requestCheck("\(here).data", "data must be set.")
            }
            if !Self.documentedMimeTypes.contains(mimeText) { return Self.badRequest("Unsupported MIME type: \(mimeText)", field: "\(here).mime_type") }
            if Self.decodeBase64(text) == nil {
                return Self.badRequest("Invalid value at '\(here).data' (TYPE_BYTES), Base64 decoding failed for \"\(text.prefix(40))\"", field: "\(here).data")
            }
        case "fileData":
            let here = "\(location).file_data"
            guard let file = value.objectValue else { return Self.invalidValue(at: here, type: "type.googleapis.com/google.ai.generativelanguage.v1beta.FileData", value) }
            for key in file.keys.sorted() where !["mimeType", "fileUri"].contains(Self.camel(key)) {
                return Self.unknownName(key, at: here)
            }
            if let mime = Self.field(value, "mimeType"), mime.stringValue == nil {
                return Self.invalidValue(at: "\(here).mime_type", type: "TYPE_STRING", mime)
            }
            if let mime = Self.field(value, "mimeType")?.stringValue, !Self.documentedMimeTypes.contains(mime) {
                return Self.badRequest("Unsupported MIME type: \(mime)", field: "\(here).mime_type")
            }
            guard let uri = Self.field(value, "fileUri")?.stringValue, !uri.isEmpty else {
                return Self.requestCheck("\(here).file_uri", "file_uri must be set.")
            }
            fileURIs.append(uri)
        default:
            if value.objectValue == nil {
                return Self.invalidValue(at: "\(location).\(Self.snake(kind))", type: "type.googleapis.com/google.ai.generativelanguage.v1beta.\(kind.prefix(1).uppercased() + kind.dropFirst())", value)
            }
        }
        return nil
    }

    private func validateGenerationConfig(_ config: JSONValue) -> ServerAction? {
        let here = "generation_config"
        guard let fields = config.objectValue else {
            return Self.invalidValue(at: here, type: "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig", config)
        }
        for key in fields.keys.sorted() where !Self.generationConfigFields.contains(Self.camel(key)) {
            return Self.unknownName(key, at: here)
        }
        for name in ["temperature", "topP", "presencePenalty", "frequencyPenalty"] {
            if let value = Self.field(config, name), value.numberValue == nil {
                return Self.invalidValue(at: "\(here).\(Self.snake(name))", type: "TYPE_FLOAT", value)
            }
        }
        for name in ["topK", "maxOutputTokens", "candidateCount", "seed"] {
            if let value = Self.field(config, name) {
                guard let number = value.numberValue, number == number.rounded() else {
                    return Self.invalidValue(at: "\(here).\(Self.snake(name))", type: "TYPE_INT32", value)
                }
            }
        }
        if let stops = Self.field(config, "stopSequences") {
            guard let list = stops.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                return Self.invalidValue(at: "\(here).stop_sequences", type: "TYPE_STRING", stops)
            }
        }
        var mimeType: String?
        if let mime = Self.field(config, "responseMimeType") {
            guard let text = mime.stringValue else { return Self.invalidValue(at: "\(here).response_mime_type", type: "TYPE_STRING", mime) }
            guard Self.responseMimeTypes.contains(text) else {
                return Self.requestCheck("\(here).response_mime_type", "allowed mimetypes are `text/plain`, `application/json`, `application/xml`, `application/yaml` and `text/x.enum`.")
            }
            mimeType = text
        }
        let schema = Self.field(config, "responseSchema")
        let jsonSchema = Self.field(config, "responseJsonSchema")
        if schema != nil, jsonSchema != nil {
            return Self.error(400, "INVALID_ARGUMENT", "Only one of response_schema and response_json_schema can be set in generation_config.")
        }
        if let schema, schema.objectValue == nil {
            return Self.invalidValue(at: "\(here).response_schema", type: "type.googleapis.com/google.ai.generativelanguage.v1beta.Schema", schema)
        }
        if schema != nil || jsonSchema != nil, mimeType != "application/json", mimeType != "text/x.enum" {
            let name = schema != nil ? "response_schema" : "response_json_schema"
            return Self.requestCheck("\(here).\(name)", "\(name) requires response_mime_type to be `application/json` (or `text/x.enum`).")
        }
        if let thinking = Self.field(config, "thinkingConfig") {
            guard let fields = thinking.objectValue else {
                return Self.invalidValue(at: "\(here).thinking_config", type: "type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig", thinking)
            }
            for key in fields.keys.sorted() where !["thinkingBudget", "includeThoughts", "thinkingLevel"].contains(Self.camel(key)) {
                return Self.unknownName(key, at: "\(here).thinking_config")
            }
        }
        return nil
    }

    /// Base64 as proto JSON reads bytes: standard or URL-safe alphabet, padding optional.
    static func decodeBase64(_ text: String) -> Data? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = standard.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { standard += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: standard)
    }

    private func checkFiles(_ uris: [String]) -> ServerAction? {
        for uri in uris {
            let id = Self.fileID(fromURI: uri)
            let state: Bool? = withLock { s in id.flatMap { s.files[$0]?.active } }
            switch state {
            case nil:
                return Self.error(403, "PERMISSION_DENIED", "You do not have permission to access the File \(id ?? uri) or it may not exist.")
            case false?:
                return Self.error(400, "FAILED_PRECONDITION", "The File \(id!) is not in an ACTIVE state and usage is not allowed.")
            case true?:
                continue
            }
        }
        return nil
    }

    /// The file's ID from `.../v1beta/files/ID` or `files/ID`.
    static func fileID(fromURI uri: String) -> String? {
        guard let range = uri.range(of: "files/", options: .backwards) else { return nil }
        let id = uri[range.upperBound...].prefix { $0 != "?" && $0 != "/" && $0 != "#" }
        return id.isEmpty ? nil : String(id)
    }

    // MARK: File API

    private func startUpload(_ request: ReceivedRequest) -> ServerAction {
        guard request.header("x-goog-upload-protocol")?.lowercased() == "resumable" else {
            return Self.error(400, "INVALID_ARGUMENT", "The fake File API takes resumable uploads only (X-Goog-Upload-Protocol: resumable).")
        }
        let commands = Self.commands(request)
        guard commands == ["start"] else {
            return Self.error(400, "INVALID_ARGUMENT", "An upload without upload_id must be started with X-Goog-Upload-Command: start.")
        }
        var announced: Int?
        if let text = request.header("x-goog-upload-header-content-length") {
            guard let length = Int(text.trimmingCharacters(in: .whitespaces)), length >= 0 else {
                return Self.error(400, "INVALID_ARGUMENT", "Invalid X-Goog-Upload-Header-Content-Length: \(text)")
            }
            announced = length
        }
        var displayName: String?
        var metadataMime: String?
        if !request.body.isEmpty {
            guard let body = request.json, let fields = body.objectValue else {
                return Self.badRequest("Invalid JSON payload received. Unexpected token.")
            }
            for key in fields.keys.sorted() where key != "file" { return Self.unknownName(key, at: nil) }
            if let file = fields["file"] {
                guard let fileFields = file.objectValue else {
                    return Self.invalidValue(at: "file", type: "type.googleapis.com/google.ai.generativelanguage.v1beta.File", file)
                }
                for key in fileFields.keys.sorted() where !["name", "displayName", "mimeType"].contains(Self.camel(key)) {
                    return Self.unknownName(key, at: "file")
                }
                displayName = Self.field(file, "displayName")?.stringValue
                metadataMime = Self.field(file, "mimeType")?.stringValue
            }
        }
        let mime = request.header("x-goog-upload-header-content-type") ?? metadataMime ?? "application/octet-stream"
        let uploadID = "ABgVH" + Self.randomID(40)
        let url: String = withLock { s in
            s.uploads[uploadID] = UploadSession(fileID: Self.randomID(12), displayName: displayName, mimeType: mime, announcedLength: announced)
            return "\(s.baseURL)/upload/v1beta/files?upload_id=\(uploadID)&upload_protocol=resumable"
        }
        return .respond(status: 200, headers: [
            ("X-Goog-Upload-Status", "active"),
            ("X-Goog-Upload-URL", url),
            ("X-Goog-Upload-Control-URL", url),
            ("X-Goog-Upload-Chunk-Granularity", "8388608"),
            ("X-GUploader-UploadID", uploadID),
            ("Content-Type", "text/plain; charset=utf-8"),
        ], body: Data())
    }

    private static func commands(_ request: ReceivedRequest) -> [String] {
        (request.header("x-goog-upload-command") ?? "").lowercased()
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private func continueUpload(_ request: ReceivedRequest, uploadID: String) -> ServerAction {
        let commands = Set(Self.commands(request))
        guard withLock({ $0.uploads[uploadID] != nil }) else {
            return Self.error(404, "NOT_FOUND", "No upload session \(uploadID) (unknown, finished or cancelled).")
        }
        if commands.contains("query") {
            let received = withLock { $0.uploads[uploadID]?.received.count ?? 0 }
            return .respond(status: 200, headers: [("X-Goog-Upload-Status", "active"), ("X-Goog-Upload-Size-Received", String(received))], body: Data())
        }
        if commands.contains("cancel") {
            withLock { _ = $0.uploads.removeValue(forKey: uploadID) }
            return .respond(status: 200, headers: [("X-Goog-Upload-Status", "cancelled")], body: Data())
        }
        guard commands.contains("upload") || commands.contains("finalize"), commands.isSubset(of: ["upload", "finalize"]) else {
            return Self.error(400, "INVALID_ARGUMENT", "Unsupported X-Goog-Upload-Command: \(request.header("x-goog-upload-command") ?? "(none)")")
        }
        if commands.contains("upload") {
            guard let offsetText = request.header("x-goog-upload-offset"), let offset = Int(offsetText.trimmingCharacters(in: .whitespaces)) else {
                return Self.error(400, "INVALID_ARGUMENT", "X-Goog-Upload-Offset is required with the upload command.")
            }
            let received = withLock { $0.uploads[uploadID]?.received.count ?? 0 }
            guard offset == received else {
                return Self.error(400, "INVALID_ARGUMENT", "X-Goog-Upload-Offset is \(offset) but \(received) bytes were received so far.",
                                  headers: [("X-Goog-Upload-Status", "active"), ("X-Goog-Upload-Size-Received", String(received))])
            }
            withLock { $0.uploads[uploadID]?.received.append(request.body) }
        }
        guard commands.contains("finalize") else {
            let received = withLock { $0.uploads[uploadID]?.received.count ?? 0 }
            return .respond(status: 200, headers: [("X-Goog-Upload-Status", "active"), ("X-Goog-Upload-Size-Received", String(received))], body: Data())
        }
        enum Outcome { case mismatch(Int, Int), file(JSONValue) }
        let outcome: Outcome = withLock { s in
            let session = s.uploads.removeValue(forKey: uploadID)!
            if let announced = session.announcedLength, announced != session.received.count {
                return .mismatch(session.received.count, announced)
            }
            var file = StoredFile(id: session.fileID, displayName: session.displayName, mimeType: session.mimeType, data: session.received, created: Date(), active: false)
            file.active = s.processingPolls <= 0
            s.files[file.id] = file
            return .file(Self.fileJSON(file, baseURL: s.baseURL))
        }
        switch outcome {
        case .mismatch(let received, let announced):
            return Self.error(400, "INVALID_ARGUMENT", "The upload has \(received) bytes but X-Goog-Upload-Header-Content-Length announced \(announced).",
                              headers: [("X-Goog-Upload-Status", "final")])
        case .file(let file):
            return .json(status: 200, ["file": file], headers: [("X-Goog-Upload-Status", "final")])
        }
    }

    private func getFile(_ id: String) -> ServerAction {
        let file: JSONValue? = withLock { s in
            guard var file = s.files[id] else { return nil }
            file.polls += 1
            if !file.active, file.polls > s.processingPolls { file.active = true }
            s.files[id] = file
            return Self.fileJSON(file, baseURL: s.baseURL)
        }
        guard let file else {
            return Self.error(403, "PERMISSION_DENIED", "You do not have permission to access the File \(id) or it may not exist.")
        }
        return .json(status: 200, file)
    }

    private func deleteFile(_ id: String) -> ServerAction {
        let removed = withLock { $0.files.removeValue(forKey: id) != nil }
        guard removed else {
            return Self.error(403, "PERMISSION_DENIED", "You do not have permission to access the File \(id) or it may not exist.")
        }
        return .json(status: 200, [:])
    }

    private static func fileJSON(_ file: StoredFile, baseURL: String) -> JSONValue {
        let stamp = ISO8601DateFormatter()
        stamp.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var json: [String: JSONValue] = [
            "name": .string("files/\(file.id)"),
            "mimeType": .string(file.mimeType),
            "sizeBytes": .string(String(file.data.count)),
            "createTime": .string(stamp.string(from: file.created)),
            "updateTime": .string(stamp.string(from: file.created)),
            "expirationTime": .string(stamp.string(from: file.created.addingTimeInterval(48 * 3600))),
            "uri": .string("\(baseURL)/v1beta/files/\(file.id)"),
            "state": .string(file.active ? "ACTIVE" : "PROCESSING"),
            "source": "UPLOADED",
        ]
        if let name = file.displayName { json["displayName"] = .string(name) }
        return .object(json)
    }
}
