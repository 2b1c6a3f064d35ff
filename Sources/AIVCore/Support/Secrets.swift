/// What counts as a secret among environment variable names.
public enum Secrets {
    /// Names that hold keys, tokens or passwords (`GEMINI_API_KEY`, `NOTION_TOKEN`,
    /// `OBS_WEBSOCKET_PASSWORD`, `CLIENT_SECRET`, `AUTH`…).
    public static func looksSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH"].contains { upper.contains($0) }
    }
}
