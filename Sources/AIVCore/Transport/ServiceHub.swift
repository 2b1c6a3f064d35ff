import Foundation
import Logging

/// How a run reaches services.
public enum TransportMode: String, Sendable, Codable {
    /// The network.
    case live
    /// The network, keeping every exchange as fixtures (`--record`).
    case record
    /// Fixtures only: no network, no keys, no quota (`--dry-run`).
    case replay
}

/// One call a step made to a service, for run history and the progress display.
public struct ServiceCall: Sendable, Codable, Equatable {
    public var step: String
    public var item: Int?
    public var service: String
    public var method: String
    /// Path and query, no credentials.
    public var target: String
    public var status: Int?
    public var latency: Double
    public var attempt: Int
    public var tokens: TokenUsage?
    public var error: String?

    public init(step: String, item: Int?, service: String, method: String, target: String, status: Int?, latency: Double,
                attempt: Int, tokens: TokenUsage?, error: String?) {
        self.step = step
        self.item = item
        self.service = service
        self.method = method
        self.target = target
        self.status = status
        self.latency = latency
        self.attempt = attempt
        self.tokens = tokens
        self.error = error
    }
}

/// Everything a run shares for talking to services: the transport (network or fixtures), one
/// limiter per service, the recorder of `--record`, credentials and settings. Steps get a
/// `ServiceClient` from it through their context.
public final class ServiceHub: Sendable {
    public let mode: TransportMode
    let transport: any HTTPTransport
    let descriptions: [String: HTTPServiceInfo]
    let settings: [String: JSONValue]
    let environment: [String: String]
    let secrets: Secrets
    let recorder: FixtureRecorder?
    let limiters: [String: ServiceLimiter]
    let clock: LimiterClock
    let random: @Sendable () -> Double
    let report: @Sendable (ServiceCall) -> Void
    /// Objects created at services, by key (the store; in memory for a dry run).
    public let records: any ExternalRecordIndex
    /// The vocabulary stock across runs (the store; in memory for a dry run).
    public let stock: any StockStore
    /// Values fetched once per run (a database's schema).
    public let memo = RunMemo()
    /// What decides the services' answers besides the workflow's settings, for cache keys.
    public let keyFacts: ServiceKeyFacts

    /// - Parameters:
    ///   - services: the HTTP services steps may call, by name.
    ///   - settings: the workflow's `services:` settings, by service.
    ///   - report: hears of every call (run history, progress).
    ///   - warn: hears quota warnings (80% of a daily quota).
    ///   - keyLockFolder: where writes by key (a Notion page) are locked across processes
    ///     (`.aiv/locks`); nil locks within this process only (a dry run, whose records are its own).
    public init(mode: TransportMode, transport: any HTTPTransport, services: [String: HTTPServiceInfo], settings: [String: JSONValue],
                environment: [String: String] = [:], secrets: Secrets = Secrets(), ledger: (any QuotaLedger)? = nil,
                recorder: FixtureRecorder? = nil, records: any ExternalRecordIndex = MemoryRecordIndex(),
                stock: any StockStore = MemoryStockStore(), clock: LimiterClock = .continuous,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                wallClock: @escaping @Sendable () -> Date = Date.init,
                report: @escaping @Sendable (ServiceCall) -> Void = { _ in }, warn: @escaping @Sendable (String) -> Void = { _ in },
                keyLockFolder: String? = nil) {
        self.mode = mode
        keyLocks = KeyedLocks(folder: keyLockFolder)
        self.transport = transport
        self.descriptions = services
        self.settings = settings
        self.environment = environment
        self.secrets = secrets
        self.recorder = recorder
        self.records = RedactingRecordIndex(base: records, secrets: secrets)
        self.stock = stock
        self.clock = clock
        self.random = random
        self.report = report
        var limiters: [String: ServiceLimiter] = [:]
        for (name, info) in services {
            let limits = info.defaultLimits.overridden(by: settings[name]?["limits"])
            // The server as clients will use it; another than the service's own keeps its own count.
            var base = environment[info.baseURLVariable].flatMap { $0.isEmpty ? nil : $0 } ?? settings[name]?["base_url"]?.stringValue ?? info.defaultBaseURL
            if base.hasSuffix("/") { base.removeLast() }
            let server = base == info.defaultBaseURL ? "" : URL(string: base).map(Redaction.displayURL) ?? base
            // A replay has no quota to protect: nothing is sent.
            limiters[name] = ServiceLimiter(service: name, limits: mode == .replay ? ServiceLimits() : limits,
                                            ledger: mode == .replay ? nil : ledger, server: server, clock: clock, wallClock: wallClock, warn: warn)
        }
        self.limiters = limiters
        keyFacts = ServiceKeyFacts(services: services, environment: environment,
                                   replaying: mode == .replay ? (transport as? ReplayTransport)?.recordedExchanges ?? [] : nil)
        // A workflow may come from someone else: say where its `base_url` sends a key, before
        // anything is sent. (An environment override is the user's own choice; loopback is a
        // local stand-in.)
        if mode != .replay {
            for (name, info) in services.sorted(by: { $0.key < $1.key }) where environment[info.baseURLVariable].map(\.isEmpty) ?? true {
                guard let base = settings[name]?["base_url"]?.stringValue, let url = URL(string: base), let host = url.host,
                      !Self.isLoopback(host), host != URL(string: info.defaultBaseURL)?.host, secrets[info.credential.variable] != nil else { continue }
                warn("\(name): services.\(name).base_url sends \(info.credential.variable) to \(host), not to \(URL(string: info.defaultBaseURL)?.host ?? info.defaultBaseURL)")
            }
        }
    }

    /// 127.0.0.0/8 written as an address, ::1 and localhost: hosts that never leave the machine.
    /// A name that only starts with 127 (`127.example.com`) is a host like any other.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, bare, &v6) == 1 { return bare == "::1" || bare == "0:0:0:0:0:0:0:1" }
        return false
    }

    /// Connections a run opens once (OBS).
    public let sessions = SessionStore()

    /// Settings, environment and secrets, for services that are not HTTP (OBS).
    public func settings(of service: String) -> JSONValue { settings[service] ?? .null }
    public func environmentValue(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
    public func secret(_ name: String) -> String? { secrets[name] }

    /// Answers a non-HTTP exchange from the fixtures (a dry run), as an HTTP-shaped one.
    public func replay(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await transport.send(request)
    }

    /// Keeps a non-HTTP exchange as a fixture (a recording run).
    public func record(step: String, item: Int?, service: String, request: HTTPRequest, response: HTTPResponse) {
        recorder?.record(FixtureFile.exchange(step: step, item: item, service: service, request: request, response: response, secrets: secrets))
    }

    /// One writer at a time per key (a Notion page key): two items that write the same key must
    /// not both find nothing and both create.
    public let keyLocks: KeyedLocks

    /// The client a step uses for one service.
    public func client(_ service: String, step: String, item: Int?, logger: Logger) throws(StepError) -> ServiceClient {
        guard let info = descriptions[service], let limiter = limiters[service] else {
            throw StepError("no HTTP service named '\(service)'")
        }
        let setting = settings[service]
        let base = environment[info.baseURLVariable].flatMap { $0.isEmpty ? nil : $0 } ?? setting?["base_url"]?.stringValue ?? info.defaultBaseURL
        guard let baseURL = URL(string: base.hasSuffix("/") ? String(base.dropLast()) : base), baseURL.scheme != nil else {
            throw StepError("\(service): base URL '\(base)' is not a URL")
        }
        // Paths are appended to the base URL: after a query or fragment they would not be paths.
        guard baseURL.query == nil, baseURL.fragment == nil else {
            throw StepError("\(service): base URL '\(Redaction.displayURL(baseURL))' has a query or fragment ('?' or '#'); give scheme, host, port and path only (keys go in \(info.credential.variable), never in the URL)")
        }
        var credential: String?
        if mode != .replay {
            guard let value = secrets[info.credential.variable] else {
                throw StepError("\(service): \(info.credential.variable) is not set; put it in the environment or a .env file, or use --dry-run to answer from recorded fixtures")
            }
            // A key sent over plain HTTP can be read on the way; only a local stand-in may have it so.
            if baseURL.scheme?.lowercased() != "https", !Self.isLoopback(baseURL.host ?? "") {
                throw StepError("\(service): will not send \(info.credential.variable) over plain \(baseURL.scheme ?? "http") to \(baseURL.host ?? base); give \(service)'s base URL as https://, or a loopback address (127.0.0.1) for a local stand-in")
            }
            guard !secrets.unsendable(info.credential.variable) else {
                throw StepError("\(service): \(info.credential.variable) holds a control character (a line break or tab inside it), which no HTTP header may carry; set it again as one line")
            }
            credential = info.credential.prefix + value
        }
        let timeout = setting?["timeout"].flatMap { Durations.seconds($0) } ?? info.defaultTimeout
        return ServiceClient(hub: self, service: service, info: info, limiter: limiter, baseURL: baseURL, credential: credential,
                             retry: TransportRetry.standard.overridden(by: setting?["retry"]), timeout: timeout,
                             settings: setting ?? .null, step: step, item: item, logger: logger)
    }
}

/// A step's handle on one service: builds URLs from the base URL, adds the credential, waits for
/// the limiter, retries what is worth retrying, records and reports every call.
public struct ServiceClient: Sendable {
    let hub: ServiceHub
    public let service: String
    let info: HTTPServiceInfo
    let limiter: ServiceLimiter
    public let baseURL: URL
    let credential: String?
    public let retry: TransportRetry
    public let timeout: Double
    /// The workflow's settings for the service (`model`, …).
    public let settings: JSONValue
    let step: String
    let item: Int?
    let logger: Logger

    public var mode: TransportMode { hub.mode }

    /// The base URL when it is not the service's own (a stand-in, a proxy), else "": what keeps
    /// the records of pages written to a stand-in from standing for pages in the real service.
    public var nonDefaultBaseURL: String {
        // Stored with the records of pages written: without a proxy's user:password in it.
        baseURL.absoluteString == info.defaultBaseURL ? "" : Redaction.displayURL(baseURL)
    }

    /// `path` (starting with `/`) under the base URL.
    public func url(_ path: String) -> URL {
        URL(string: baseURL.absoluteString + path) ?? baseURL
    }

    /// Sends a request and returns a 2xx answer. 409, 429, 500, 502, 503, 504, timeouts and dropped
    /// connections are retried (a 429 after the delay the server asks, the whole service paused
    /// meanwhile); any other answer fails at once with the API's own message.
    ///
    /// - Parameters:
    ///   - estimatedTokens: what the request will cost against a tokens-per-minute limit.
    ///   - limited: false for calls that a service's request limits do not count (file uploads).
    ///   - retriesFailures: false for writes that are not idempotent (creating a page): a 5xx,
    ///     timeout or dropped connection then throws at once (`isTransient` true), since the write
    ///     may have happened; the caller checks before trying again. A 429 is always waited out:
    ///     the server did nothing; so is a 409 (a conflict: the transaction did not happen).
    ///   - expectsJSON: true where every successful answer is JSON: a 2xx whose body is not is
    ///     one cut short on the way (a connection closed before the end of a body without a
    ///     length) or not from the service, and is handled as a dropped connection, never read as
    ///     an empty answer ("no pages have this key" would make a twin).
    ///   - willSend: runs once the request's turn has come, right before it goes (a note that a
    ///     create is under way: one still waiting for its turn when cut off was never sent).
    public func send(_ request: HTTPRequest, estimatedTokens: Int = 0, limited: Bool = true,
                     retriesFailures: Bool = true, expectsJSON: Bool = false,
                     willSend: () throws -> Void = {}) async throws -> HTTPResponse {
        var request = request
        if request.timeout == nil { request.timeout = timeout }
        request.origin = (step, item)
        // The credential goes only to the service's own host, not to an address an answer gave.
        if let credential, request.url.host == baseURL.host, request.url.port == baseURL.port {
            request.headers[info.credential.header] = credential
        }
        let target = Redaction.target(Redaction.displayURL(request.url))
        var attempt = 0
        while true {
            attempt += 1
            let permit = limited ? try await limiter.acquire(estimatedTokens: estimatedTokens) : nil
            try willSend()
            let started = ServiceClient.realTime()
            let response: HTTPResponse
            let json: JSONValue?
            do {
                let sending = request
                // A replay answers at once from memory, and its clock does not wait: no timer.
                response = hub.mode == .replay ? try await hub.transport.send(sending)
                    : try await Self.withTimeout(sending, clock: hub.clock) { try await hub.transport.send(sending) }
                json = response.json
                if expectsJSON, response.isSuccess, json == nil {
                    if !retriesFailures {
                        // A write that may have happened: recorded, as a 5xx to one is below, so a
                        // dry run replays the same answer and the same recovery.
                        record(request, response)
                    }
                    throw TransportError(.connectionLost, "\(request.method) \(Redaction.displayURL(request.url)): the answer is not JSON "
                                         + "(\(response.body.count) bytes; cut short on the way, or not from \(service))")
                }
            } catch let error as TransportError {
                report(request, target: target, status: nil, started: started, attempt: attempt, tokens: nil, error: error.message)
                if let permit { await limiter.settle(permit, usage: TokenUsage(input: 0, output: 0, total: 0)) }
                if !retriesFailures, error.isTransient {
                    // A write that may have happened and whose answer never came: recorded as
                    // `status: 0` (no answer), so a dry run replays the same loss and recovery.
                    record(request, HTTPResponse(status: 0, headers: [:], body: Data()))
                }
                guard error.isTransient, attempt < retry.attempts, retriesFailures else {
                    var failure = ServiceError(service: service, status: nil, apiStatus: nil,
                                               message: error.message + (attempt > 1 ? " (after \(attempt) attempts)" : ""),
                                               transient: error.isTransient && !retriesFailures)
                    // The client gave up on what may pass with time: a step's own `retry:` may try again.
                    failure.clientGaveUp = error.isTransient && retriesFailures
                    throw failure
                }
                try await pause(retry.delay(after: attempt, random: hub.random()), because: error.message, attempt: attempt)
                continue
            }
            let tokens = json.flatMap(info.usage)
            var failure = response.isSuccess ? nil : ServiceError(service: service, response: response, json: json)
            if let recordedIn = response.header(ReplayTransport.recordedInHeader) {
                failure?.message += " (the answer recorded in \(recordedIn))"
            }
            report(request, target: target, status: response.status, started: started, attempt: attempt, tokens: tokens, error: failure?.message)
            if response.status == 429 {
                let asked = Self.serverDelay(response, json: json)
                let delay = asked ?? retry.delay(after: attempt, random: hub.random())
                if delay > retry.maxDelay {
                    // A quota that resets in hours: waiting would look like a hang.
                    if let permit { await limiter.rejected(permit, delay: retry.maxDelay) }
                    throw failure!.withMessage(failure!.message + " (the server asks to wait \(Durations.format(delay)), more than retry.max_delay \(Durations.format(retry.maxDelay)))")
                }
                if let permit { await limiter.rejected(permit, delay: delay) }
                guard attempt < retry.attempts else { throw failure!.afterAttempts(attempt) }
                logger.notice("\(service) answered 429 (rate limited): the service pauses \(Durations.format(delay)) \(asked == nil ? "(the server named no delay: the retry backoff)" : "as the server asks") (attempt \(attempt) of \(retry.attempts))")
                if permit == nil { try await hub.clock.sleep(delay) }
                continue
            }
            if let permit { await limiter.settle(permit, usage: tokens) }
            // A conflict (Notion's conflict_error, Google's ABORTED): two writes met and this one
            // was not made, so even a create may be sent again.
            if response.status == 409, attempt < retry.attempts {
                try await pause(retry.delay(after: attempt, random: hub.random()), because: failure!.message, attempt: attempt)
                continue
            }
            if [500, 502, 503, 504].contains(response.status) {
                guard retriesFailures else {
                    // Recorded, so a dry run replays the same lost write and its recovery.
                    record(request, response)
                    var uncertain = failure!
                    uncertain.isTransient = true
                    throw uncertain
                }
                if attempt < retry.attempts {
                    try await pause(retry.delay(after: attempt, random: hub.random()), because: failure!.message, attempt: attempt)
                    continue
                }
            }
            // Only what the step finally saw is recorded: a retried 503 is not part of the conversation.
            record(request, response)
            if var failure {
                // A 5xx the client stopped retrying may pass with time: the step's `retry:` may try
                // again. A 4xx (a bad key, a malformed request, a quota) would fail the same way.
                failure.clientGaveUp = [409, 500, 502, 503, 504].contains(response.status)
                throw attempt > 1 ? failure.afterAttempts(attempt) : failure
            }
            return response
        }
    }

    /// Runs the request, giving up when `request.timeout` passes. The limit is kept here rather
    /// than left to each transport (URLSession on Linux let a dropped keep-alive connection wait
    /// its own 60 s), and the request is cancelled when it is reached.
    static func withTimeout(_ request: HTTPRequest, clock: LimiterClock,
                            _ body: @escaping @Sendable () async throws -> HTTPResponse) async throws -> HTTPResponse {
        try await withThrowingTaskGroup(of: HTTPResponse?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await clock.sleep(request.timeout ?? 300)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            guard let response = first else {
                throw TransportError(.timedOut, "\(request.method) \(Redaction.displayURL(request.url)): no answer within \(Durations.format(request.timeout ?? 300))")
            }
            return response
        }
    }

    /// Seconds on a monotonic clock, for a call's latency: the hub's clock may be a dry run's,
    /// which only counts waits.
    static func realTime() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
    }

    /// Keeps the exchange in the recording, credentials out (a `--record` run; otherwise nothing).
    private func record(_ request: HTTPRequest, _ response: HTTPResponse) {
        hub.recorder?.record(FixtureFile.exchange(step: step, item: item, service: service, request: request, response: response,
                                                  secrets: hub.secrets))
    }

    /// Waits on the run's clock (for steps that pace their own retries).
    public func wait(_ seconds: Double) async throws {
        try await hub.clock.sleep(seconds)
    }

    /// A number in 0..<1 from the run's source of jitter.
    public func random() -> Double { hub.random() }

    private func pause(_ delay: Double, because reason: String, attempt: Int) async throws {
        logger.notice("\(reason); trying again in \(String(format: "%.2f", delay))s (attempt \(attempt) of \(retry.attempts))")
        try await hub.clock.sleep(delay)
    }

    private func report(_ request: HTTPRequest, target: String, status: Int?, started: Double, attempt: Int, tokens: TokenUsage?, error: String?) {
        // A path may hold a secret (a database id given as a secret input).
        hub.report(ServiceCall(step: step, item: item, service: service, method: request.method, target: hub.secrets.redact(target), status: status,
                               latency: ServiceClient.realTime() - started, attempt: attempt, tokens: tokens, error: error.map(hub.secrets.redact)))
    }

    /// The delay a 429 asks for: Google's `RetryInfo.retryDelay` ("37s", "1.5s") in the error
    /// details, else a `Retry-After` header (seconds or an HTTP date).
    static func serverDelay(_ response: HTTPResponse, json: JSONValue?) -> Double? {
        for detail in json?["error"]?["details"]?.arrayValue ?? [] {
            if let type = detail["@type"]?.stringValue, type.hasSuffix("google.rpc.RetryInfo"),
               let text = detail["retryDelay"]?.stringValue, text.hasSuffix("s"), let seconds = Double(text.dropLast()) {
                return seconds
            }
        }
        if let header = response.header("retry-after") {
            if let seconds = Double(header.trimmingCharacters(in: .whitespaces)) { return max(0, seconds) }
            let format = DateFormatter()
            format.locale = Locale(identifier: "en_US_POSIX")
            format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            if let date = format.date(from: header) { return max(0, date.timeIntervalSinceNow) }
        }
        return nil
    }
}

/// A service answered with an error (or could not be reached), said with the API's own words.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    public var service: String
    public var status: Int?
    /// The API's status word (`INVALID_ARGUMENT`, `rate_limited`).
    public var apiStatus: String?
    public var message: String
    /// Whether the caller may try the same request again (a write that may or may not have
    /// happened, say); false once the client itself has spent its retries.
    public var isTransient: Bool
    /// The client spent its retries on a 5xx or a dropped connection, which may pass with time:
    /// a step's own `retry:` tries the step again (see `retriesAsAStep`); loops inside a step
    /// (an upload, a page create) do not, so retries do not multiply.
    public var clientGaveUp = false

    public init(service: String, status: Int?, apiStatus: String?, message: String, transient: Bool) {
        self.service = service
        self.status = status
        self.apiStatus = apiStatus
        self.message = message
        self.isTransient = transient
    }

    /// From an error answer: Google's `{"error": {"code", "message", "status"}}`, Notion's
    /// `{"object": "error", "status", "code", "message"}`, or the body's first line.
    init(service: String, response: HTTPResponse, json: JSONValue?) {
        let error = json?["error"]
        let apiStatus = error?["status"]?.stringValue ?? json?["code"]?.stringValue
        var detail = error?["message"]?.stringValue ?? json?["message"]?.stringValue
        if detail == nil {
            // Cut by characters, not bytes: a cut inside a Japanese character printed U+FFFD.
            var text = String(decoding: response.body.prefix(1200), as: UTF8.self)
            if response.body.count > 1200, text.last == "\u{FFFD}" { text.removeLast() }
            text = String(text.prefix(300)).trimmingCharacters(in: .whitespacesAndNewlines)
            detail = text.isEmpty ? nil : String(text.split(separator: "\n").first ?? "")
        }
        let head = "\(service) answered \(response.status)" + (apiStatus.map { " \($0)" } ?? "")
        self.init(service: service, status: response.status, apiStatus: apiStatus,
                  message: head + (detail.map { ": \($0)" } ?? ""), transient: false)
    }

    public func withMessage(_ message: String) -> ServiceError {
        var copy = self
        copy.message = message
        return copy
    }

    func afterAttempts(_ attempts: Int) -> ServiceError {
        var copy = self
        copy.message += " (after \(attempts) attempts)"
        return copy
    }

    public var description: String { message }
}
