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
                Property("requests_per_minute", .number, "Requests per minute across all steps (default 15)."),
                Property("tokens_per_minute", .number, "Input tokens per minute (default 1,000,000)."),
                Property("requests_per_day", .number, "Requests per day, counted across runs; the day resets at midnight Pacific time (default 1,500)."),
            ]), "Rate limits shared by every Gemini step."),
        ])

    public static let notion = ServiceDescription(
        name: "notion",
        summary: "The Notion API, for the public vocabulary database.",
        settings: [
            Property("base_url", .string, "API root; NOTION_BASE_URL overrides it (default https://api.notion.com)."),
            Property("version", .oneOfStrings(["2022-06-28", "2025-09-03"]), "The Notion-Version header to pin."),
            Property("database_id", .string, "Default database; NOTION_DATABASE_ID overrides it."),
            Property("limits", .object([
                Property("requests_per_second", .number, "Average requests per second (Notion allows 3 per integration)."),
            ]), "Rate limits shared by every Notion step."),
        ])

    public static let obs = ServiceDescription(
        name: "obs",
        summary: "OBS Studio's WebSocket server (obs-websocket protocol v5).",
        settings: [
            Property("url", .string, "WebSocket URL; OBS_WEBSOCKET_URL overrides it (default ws://127.0.0.1:4455)."),
            Property("connect_timeout", .anyOf([.number, .string]), role: .duration, "How long to wait for OBS to answer (default 5s)."),
        ])

    public static let all = [gemini, notion, obs]
}
