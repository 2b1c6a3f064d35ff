import Foundation

/// How aiv reaches an HTTP service: its default address, where its credential comes from and
/// goes, its default limits, and how to read token usage from an answer. Part of the service's
/// description in the registry, so every step of that service shares it.
public struct HTTPServiceInfo: Sendable {
    /// Where a credential goes: a header, with an optional prefix (`Bearer `).
    public struct Credential: Sendable {
        public var variable: String
        public var header: String
        public var prefix: String
        public init(variable: String, header: String, prefix: String = "") {
            self.variable = variable
            self.header = header
            self.prefix = prefix
        }
    }

    public var defaultBaseURL: String
    /// The environment variable that overrides `base_url` (`GEMINI_BASE_URL`).
    public var baseURLVariable: String
    public var credential: Credential
    public var defaultLimits: ServiceLimits
    /// How long one request waits for its answer unless `timeout:` says otherwise: minutes for a
    /// model reading an hour of transcript, seconds for a database write.
    public var defaultTimeout: Double
    /// Tokens an answer reports having used (Gemini's `usageMetadata`), nil for services without tokens.
    public var usage: @Sendable (JSONValue) -> TokenUsage?

    public init(defaultBaseURL: String, baseURLVariable: String, credential: Credential, defaultLimits: ServiceLimits,
                defaultTimeout: Double = 300, usage: @escaping @Sendable (JSONValue) -> TokenUsage? = { _ in nil }) {
        self.defaultTimeout = defaultTimeout
        self.defaultBaseURL = defaultBaseURL
        self.baseURLVariable = baseURLVariable
        self.credential = credential
        self.defaultLimits = defaultLimits
        self.usage = usage
    }
}

public struct TokenUsage: Sendable, Equatable, Codable {
    public var input: Int
    public var output: Int
    public var total: Int
    public init(input: Int, output: Int, total: Int) {
        self.input = input
        self.output = output
        self.total = total
    }
}

/// A service's rate limits: what the workflow declares under `services.<name>.limits`, over the
/// service's documented defaults. Nil means no limit of that kind.
public struct ServiceLimits: Sendable, Equatable, Codable {
    public var requestsPerMinute: Double?
    public var tokensPerMinute: Double?
    public var requestsPerDay: Int?
    public var requestsPerSecond: Double?
    /// The time zone whose midnight starts a new day of `requestsPerDay` (Gemini: Pacific time).
    public var dayTimeZone: String

    public init(requestsPerMinute: Double? = nil, tokensPerMinute: Double? = nil, requestsPerDay: Int? = nil,
                requestsPerSecond: Double? = nil, dayTimeZone: String = "America/Los_Angeles") {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.requestsPerDay = requestsPerDay
        self.requestsPerSecond = requestsPerSecond
        self.dayTimeZone = dayTimeZone
    }

    /// These limits with the ones a workflow's `limits:` mapping sets.
    public func overridden(by settings: JSONValue?) -> ServiceLimits {
        var limits = self
        guard let settings else { return limits }
        if let value = settings["requests_per_minute"]?.numberValue { limits.requestsPerMinute = value }
        if let value = settings["tokens_per_minute"]?.numberValue { limits.tokensPerMinute = value }
        if let value = settings["requests_per_day"]?.numberValue { limits.requestsPerDay = Int(clamping: value, to: 0...Int(Int32.max)) }
        if let value = settings["requests_per_second"]?.numberValue { limits.requestsPerSecond = value }
        return limits
    }

    /// The least time between two request starts that keeps under both per-minute and
    /// per-second limits: requests are spaced evenly rather than sent in bursts, so a server
    /// that counts over any sliding minute never sees more than the limit.
    public var minimumInterval: Double {
        max(requestsPerMinute.map { 60 / max($0, 0.001) } ?? 0, requestsPerSecond.map { 1 / max($0, 0.001) } ?? 0)
    }
}

/// How a service client retries transient failures (429, 5xx, timeouts, dropped connections):
/// `services.<name>.retry` in the workflow, else these defaults.
public struct TransportRetry: Sendable, Equatable {
    public var attempts: Int
    public var delay: Double
    public var maxDelay: Double
    public var jitter: Double

    public static let standard = TransportRetry(attempts: 5, delay: 1, maxDelay: 60, jitter: 0.2)

    public init(attempts: Int, delay: Double, maxDelay: Double, jitter: Double) {
        self.attempts = attempts
        self.delay = delay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    public func overridden(by settings: JSONValue?) -> TransportRetry {
        var retry = self
        guard let settings else { return retry }
        // `retry: 3`: the tries in all, the waits left as they are.
        if let attempts = settings.numberValue {
            retry.attempts = Int(clamping: attempts, to: 1...1000)
            return retry
        }
        if let value = settings["attempts"]?.numberValue { retry.attempts = Int(clamping: value, to: 1...1000) }
        if let value = settings["delay"], let seconds = Durations.seconds(value) { retry.delay = seconds }
        if let value = settings["max_delay"], let seconds = Durations.seconds(value) { retry.maxDelay = seconds }
        return retry
    }

    /// The wait before attempt `attempt + 1`, `random` in 0..<1 spreading it by ±jitter.
    public func delay(after attempt: Int, random: Double) -> Double {
        let base = min(maxDelay, delay * pow(2, Double(attempt - 1)))
        // Capped after the jitter too: `max_delay` is the longest wait, as documented.
        return min(maxDelay, max(0, base * (1 + jitter * (2 * random - 1))))
    }
}
