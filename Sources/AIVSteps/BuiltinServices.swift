import AIVCore

/// The external services steps call and the settings a workflow may give them under `services:`.
/// The limits' defaults follow each service's documented free-tier or published limits.
public enum BuiltinServices {
    public static let gemini = ServiceDescription(
        name: "gemini",
        summary: "Google's Gemini API (generateContent and the File API).",
        settings: [
            Property("base_url", .string, "API root; GEMINI_BASE_URL overrides it (default https://generativelanguage.googleapis.com)."),
            Property("model", .string, "Default model for steps whose prompt names none, e.g. gemini-2.0-flash."),
            Property("limits", .object([
                Property("requests_per_minute", .number, minimum: .above(0), "Requests per minute across all steps (default 10)."),
                Property("tokens_per_minute", .number, minimum: .above(0), "Input tokens per minute (default 250,000)."),
                Property("requests_per_day", .integer, minimum: .atLeast(1), "Requests per day, counted across runs; the day resets at midnight Pacific time (default 250)."),
            ]), "Rate limits shared by every Gemini step."),
            retrySetting, timeoutSetting(default: "300s"),
        ],
        http: HTTPServiceInfo(
            defaultBaseURL: "https://generativelanguage.googleapis.com", baseURLVariable: "GEMINI_BASE_URL",
            credential: .init(variable: "GEMINI_API_KEY", header: "x-goog-api-key"),
            // The free tier of the default model, gemini-2.5-flash, as Google's rate-limit page gave
            // it (a project's own limits are in AI Studio; a paid tier sets `limits` higher).
            defaultLimits: ServiceLimits(requestsPerMinute: 10, tokensPerMinute: 250_000, requestsPerDay: 250),
            // An hour of transcript or a long video takes a model minutes to read.
            defaultTimeout: 300, usage: geminiUsage))

    public static let notion = ServiceDescription(
        name: "notion",
        summary: "The Notion API, for the public vocabulary database.",
        settings: [
            Property("base_url", .string, "API root; NOTION_BASE_URL overrides it (default https://api.notion.com)."),
            Property("version", .oneOfStrings(["2022-06-28", "2025-09-03"]), "The Notion-Version header to pin."),
            Property("database_id", .string, "Default database; NOTION_DATABASE_ID overrides it."),
            Property("limits", .object([
                Property("requests_per_second", .number, minimum: .above(0), "Average requests per second (Notion allows 3 per integration)."),
            ]), "Rate limits shared by every Notion step."),
            retrySetting, timeoutSetting(default: "60s"),
        ],
        http: HTTPServiceInfo(
            defaultBaseURL: "https://api.notion.com", baseURLVariable: "NOTION_BASE_URL",
            credential: .init(variable: "NOTION_TOKEN", header: "Authorization", prefix: "Bearer "),
            // A page write answers in a second or so: a minute's silence is a stalled connection.
            defaultLimits: ServiceLimits(requestsPerSecond: 3), defaultTimeout: 60))

    public static let obs = ServiceDescription(
        name: "obs",
        summary: "OBS Studio's WebSocket server (obs-websocket protocol v5).",
        settings: [
            Property("url", .string, "WebSocket URL; OBS_WEBSOCKET_URL overrides it (default ws://127.0.0.1:4455)."),
            Property("connect_timeout", .anyOf([.number, .string]), role: .duration, minimum: .above(0), "How long to wait for OBS to answer (default 5s)."),
            Property("request_timeout", .anyOf([.number, .string]), role: .duration, minimum: .above(0), "How long one request may wait for its answer (default 30s)."),
        ])

    public static let all = [gemini, notion, obs]

    /// Gemini's `usageMetadata`: prompt tokens in, candidate and thinking tokens out.
    @Sendable static func geminiUsage(_ answer: JSONValue) -> TokenUsage? {
        guard let usage = answer["usageMetadata"] else { return nil }
        // Held to a billion each: the counts come from a server or a fixture, and sums of them must not overflow.
        func count(_ name: String) -> Int { Int(clamping: usage[name]?.numberValue ?? 0, to: 0...1_000_000_000) }
        let input = count("promptTokenCount")
        let output = count("candidatesTokenCount") + count("thoughtsTokenCount")
        return TokenUsage(input: input, output: output, total: usage["totalTokenCount"] == nil ? input + output : count("totalTokenCount"))
    }

    /// The services reached over HTTP, by name: what a run's `ServiceHub` serves.
    public static let http: [String: HTTPServiceInfo] = Dictionary(uniqueKeysWithValues: all.compactMap { service in
        service.http.map { (service.name, $0) }
    })

    /// `retry: 3` is `retry: {attempts: 3}`, as a step's `retry:` is.
    static let retrySetting = Property("retry", .anyOf([.integer, .object([
        Property("attempts", .integer, minimum: .atLeast(1), "Tries in all for a 429, 500, 502, 503, 504, timeout or dropped connection (default 5)."),
        Property("delay", .anyOf([.number, .string]), role: .duration, "First wait; doubles each time, with ±20% jitter (default 1s). A 429 waits as long as the server asks."),
        Property("max_delay", .anyOf([.number, .string]), role: .duration, "Longest wait between tries (default 60s)."),
    ])]), minimum: .atLeast(1), "How requests to the service are retried; a number alone is the tries in all.")
    static func timeoutSetting(default shown: String) -> Property {
        Property("timeout", .anyOf([.number, .string]), role: .duration, minimum: .above(0),
                 "Longest wait for one request's answer before it is tried again (default \(shown)).")
    }
}
