import Foundation

/// What never leaves a request for a fixture, a log or an error: credential headers, the `key=`
/// query parameter, user:password in a URL, and (through `Secrets`) any secret value anywhere.
public enum Redaction {
    public static let placeholder = "<redacted>"

    /// Headers that carry credentials, whatever the service.
    public static let credentialHeaders: Set<String> = [
        "authorization", "proxy-authorization", "x-goog-api-key", "x-api-key", "api-key", "cookie", "set-cookie",
    ]
    /// Query parameters that carry credentials (Google APIs accept the key as `?key=`).
    public static let credentialParameters: Set<String> = ["key", "api_key", "access_token", "token"]

    public static func isCredentialHeader(_ name: String) -> Bool { credentialHeaders.contains(name.lowercased()) }

    /// The URL with credentials removed (for matching and for showing): no user or password, no `key=`.
    public static func strippedURL(_ url: URL) -> URL {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return url }
        components.user = nil
        components.password = nil
        if let items = components.queryItems {
            let kept = items.filter { !credentialParameters.contains($0.name.lowercased()) }
            components.queryItems = kept.isEmpty ? nil : kept
        }
        return components.url ?? url
    }

    public static func displayURL(_ url: URL) -> String { strippedURL(url).absoluteString }

    /// A service's settings as kept or shown (cache keys, `plan --json`): a `base_url` without
    /// the user:password or key a proxy's address may hold (from the environment, say). The
    /// client is given the settings as they are.
    public static func settingsWithoutCredentials(_ settings: JSONValue) -> JSONValue {
        guard case .object(var members) = settings, let base = members["base_url"]?.stringValue,
              base.contains("@") || base.contains("?"), let url = URL(string: base) else { return settings }
        members["base_url"] = .string(displayURL(url))
        return .object(members)
    }

    /// Path and query of a URL string: what fixture matching compares and history shows.
    public static func target(_ url: String) -> String {
        guard let components = URLComponents(string: url) else { return url }
        return components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }
}
