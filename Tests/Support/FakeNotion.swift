import AIVCore
import Foundation

/// A local server that speaks the Notion API's wire format (api.notion.com, `/v1`), for tests:
/// databases, data sources (Notion-Version 2025-09-03), database and data source queries, and
/// page create, retrieve and update.
///
/// What it checks, and answers, follows Notion's documentation (developers.notion.com: status
/// codes, request limits, database, data source, page, parent and rich text objects, the
/// 2025-09-03 upgrade guide):
/// - Errors are `{"object":"error","status":N,"code":"...","message":"...","request_id":"..."}`.
/// - Every request needs `Authorization: Bearer <token>` (missing or wrong: 401 `unauthorized`
///   "API token is invalid.") and a `Notion-Version` header (missing: 400 `missing_version`);
///   the fake knows "2022-06-28" and "2025-09-03" (others: 400 `validation_error`).
/// - Under 2022-06-28 a database carries its `properties` and is queried at
///   `/v1/databases/{id}/query`; under 2025-09-03 a database lists its `data_sources` and the
///   data source (`/v1/data_sources/{id}`) carries the properties and is queried. Each fake
///   database has exactly one data source. IDs are UUIDs, taken with or without dashes.
/// - Size limits (400 `validation_error`, worded like Notion's "body failed validation: ..."):
///   text content and link URLs ≤ 2000 characters (UTF-16 units, as Notion's JavaScript counts),
///   arrays ≤ 100 elements, URLs ≤ 2000 characters, emails and phone numbers ≤ 200, `page_size`
///   ≤ 100; select option names cannot contain commas.
/// - A property named in a page body that the database lacks is "X is not a property that
///   exists."; one named in a filter is "Could not find property with name or id: X.". Property
///   keys may be names or property IDs (a title property's ID is "title").
/// - Rate limit: an average of `requestsPerSecond` (default 3, Notion's documented average) with
///   bursts of `rateLimitBurst`; beyond it 429 `rate_limited` with a `Retry-After` in whole
///   seconds.
///
/// Tests can inject faults (`enqueueFault`, `randomFaultRate`), add latency, and read what was
/// stored (`pages`, `pages(in:)`, `plainText(of:property:)`).
public final class FakeNotion: @unchecked Sendable {
    /// A failure the fake plays instead of (or after) doing what a request asks.
    public enum Fault: Sendable, Equatable {
        /// Answer this status without doing anything, with Notion's code for it: 500
        /// `internal_server_error`, 502 `bad_gateway`, 503 `service_unavailable`, 504
        /// `gateway_timeout`, 409 `conflict_error`, 429 `rate_limited` (Retry-After 1), 403
        /// `restricted_resource`, 404 `object_not_found`, 401 `unauthorized`, 400 `validation_error`.
        case status(Int)
        /// Close the connection without answering (and without doing anything).
        case drop
        /// Perform the write (page create or update), THEN answer this status: the page exists (or
        /// changed) although the client saw an error. Only writes consume it.
        case applyThenFail(Int)
        /// Perform the write, then close the connection without answering. Only writes consume it.
        case applyThenDrop
        /// Answer the next write (page create or update) this status without doing it; reads
        /// before it pass untouched.
        case refuseWrite(Int)
        /// Do what the next request asks (a read or a write), then answer it with a 200 whose JSON
        /// stops halfway, without a `Content-Length`: an answer cut short on the way.
        case cutShortAnswer
        /// Perform the write, then hold the answer back this long: a client that gives up first
        /// (a step's timeout, a stop) never learns the page was made. Only writes consume it.
        case applyThenStall(TimeInterval)

        var dropsConnection: Bool { self == .drop || self == .applyThenDrop }
        var waitsForWrite: Bool {
            switch self {
            case .applyThenFail, .applyThenDrop, .refuseWrite, .applyThenStall: true
            case .status, .drop, .cutShortAnswer: false
            }
        }
    }

    /// The Notion-Version values the fake answers.
    public static let versions = ["2022-06-28", "2025-09-03"]

    public let token: String
    private let server: LocalHTTPServer
    private let core: FakeNotionCore

    /// Starts the server on 127.0.0.1 (a port the kernel picks).
    public init(token: String = "secret_test-token-456") throws {
        self.token = token
        let core = FakeNotionCore(token: token)
        self.core = core
        server = try LocalHTTPServer { request in core.handle(request) }
    }

    deinit { server.stop() }

    /// `http://127.0.0.1:PORT`; the API is under `/v1`.
    public var baseURL: String { server.baseURL }
    public var port: Int { server.port }

    /// Stops the server (open connections are closed, delayed answers cut short).
    public func stop() { server.stop() }

    /// Every request received, in order, whatever the route and the answer.
    public var requests: [ReceivedRequest] { server.requests }
    /// Requests received so far (all of them, refused ones included).
    public var requestCount: Int { server.requestCount }
    /// TCP connections accepted so far.
    public var connectionCount: Int { server.connectionCount }

    /// Pages created through `POST /v1/pages` (including those applied before a fault's error).
    public var creates: Int { core.withLock { $0.creates } }
    /// Pages updated through `PATCH /v1/pages/{id}` (including those applied before a fault's error).
    public var updates: Int { core.withLock { $0.updates } }
    /// Queries answered with a list.
    public var queries: Int { core.withLock { $0.queries } }

    // MARK: Databases and pages

    /// Adds a database with one data source and returns its ID (dashed, lower-case UUID).
    ///
    /// `properties` maps a property name to its type: "title", "rich_text", "select",
    /// "multi_select", "number", "url", "date", "checkbox", "email" or "phone_number"; exactly
    /// one must be "title" (a misuse stops the test with a precondition failure).
    @discardableResult
    public func addDatabase(id: String? = nil, title: String, properties: [String: String]) -> String {
        core.addDatabase(id: id, title: title, properties: properties)
    }

    /// The ID of the database's data source (what 2025-09-03 clients query and create pages in).
    public func dataSourceID(of databaseID: String) -> String? {
        core.withLock { s in FakeNotionCore.normalizeID(databaseID).flatMap { s.databases[$0]?.dataSourceID } }
    }

    /// Adds a page as if created by `POST /v1/pages` (the same checks; nothing is counted), with
    /// property values in Notion's request form, e.g. `["Name": ["title": [["text": ["content": "A"]]]]]`.
    /// Returns the page's ID; throws the error message Notion would answer.
    @discardableResult
    public func addPage(in databaseID: String, properties: [String: JSONValue]) throws -> String {
        try core.addPage(in: databaseID, properties: properties)
    }

    /// Every live (not archived, not in trash) page, in creation order, as `GET /v1/pages/{id}`
    /// answers it under Notion-Version 2025-09-03 (the parent carries both `data_source_id` and
    /// `database_id`).
    public var pages: [JSONValue] { core.renderPages(in: nil) }

    /// The live pages of one database, in creation order (see `pages`).
    public func pages(in databaseID: String) -> [JSONValue] {
        guard let id = FakeNotionCore.normalizeID(databaseID) else { return [] }
        return core.renderPages(in: id)
    }

    /// A page by ID, archived or not (see `pages`).
    public func page(id: String) -> JSONValue? { core.renderPage(id: id) }

    /// A property of a page object as plain text: title and rich text joined, a select's name,
    /// multi-select names joined with ", ", a number (integers without ".0"), a URL, email or
    /// phone number, a date's start, a checkbox as "true"/"false". Nil when the page has no such
    /// property (by name or ID) or its value is empty (null).
    public func plainText(of page: JSONValue, property: String) -> String? {
        FakeNotionCore.plainText(of: page, property: property)
    }

    // MARK: Behaviour

    /// A wait before every answer (drops included), in seconds.
    public var latency: TimeInterval {
        get { core.withLock { $0.latency } }
        set { core.withLock { $0.latency = newValue } }
    }

    /// Seconds a new page stays out of query results after it is created (Notion's queries can
    /// take a moment to show a new page); 0 by default.
    public var queryLag: TimeInterval {
        get { core.withLock { $0.queryLag } }
        set { core.withLock { $0.queryLag = newValue } }
    }

    /// The average rate allowed (a token bucket refilled at this rate, holding at most
    /// `rateLimitBurst` requests); nil turns the limit off. Setting it refills the bucket.
    /// Authenticated, versioned requests count, whatever their route.
    public var requestsPerSecond: Double? {
        get { core.withLock { $0.requestsPerSecond } }
        set { core.withLock { $0.requestsPerSecond = newValue; $0.refillBucket() } }
    }

    /// How many requests may come at once before the rate limit bites (default 3). Setting it
    /// refills the bucket.
    public var rateLimitBurst: Int {
        get { core.withLock { $0.burst } }
        set { core.withLock { $0.burst = max(1, newValue); $0.refillBucket() } }
    }

    /// Requests answered 429 by the rate limit (not those from `Fault.status(429)`).
    public var rateLimitedCount: Int { core.withLock { $0.rateLimitedCount } }

    /// Queues a fault for a later request (first in, first out). Requests that pass the token,
    /// version and rate-limit checks consume them: `.status` and `.drop` by the next such request,
    /// `.applyThenFail` and `.applyThenDrop` by the next write that succeeds (while one of those is
    /// first in the queue, reads pass untouched).
    ///
    /// A drop makes the fake close its idle keep-alive connections now and answer
    /// `Connection: close` until the drop is used, so that the dropped request is the first on its
    /// connection: URLSession on Linux then throws at once, where a drop on a reused connection
    /// makes libcurl resend the request and URLSession hang until its timeout.
    public func enqueueFault(_ fault: Fault) {
        core.withLock { $0.faults.append(fault) }
        if fault.dropsConnection { server.closeIdleConnections() }
    }

    /// Faults queued and not yet used.
    public var pendingFaults: [Fault] { core.withLock { $0.faults } }

    /// The share (0...1) of requests (past the token, version and rate-limit checks) that get a
    /// random fault: 500, 502, 503, 504 or a drop, and for writes half of the time
    /// `.applyThenFail` or `.applyThenDrop` instead. The draws come from a generator seeded by
    /// `seedFaults` (a fixed seed by default), so sequential requests meet the same faults on
    /// every run. While the rate is above 0 every answer carries `Connection: close` (a new
    /// connection per request), so that a random drop never hits a reused connection.
    public var randomFaultRate: Double {
        get { core.withLock { $0.randomFaultRate } }
        set {
            core.withLock { $0.randomFaultRate = min(1, max(0, newValue)) }
            if newValue > 0 { server.closeIdleConnections() }
        }
    }

    /// Restarts the random fault generator from this seed.
    public func seedFaults(_ seed: UInt64) { core.withLock { $0.rng = SplitMix64(seed: seed) } }

    /// Faults played so far, queued and random (a random apply-fault whose write failed its
    /// checks is not played and not counted).
    public var injectedFaultCount: Int { core.withLock { $0.injectedFaults } }
}

// MARK: - State

struct FakeNotionShared {
    struct Option {
        let id: String
        let name: String
        let color: String
    }

    struct Property {
        let id: String
        let name: String
        let type: String
        var options: [Option] = []
    }

    struct Database {
        let id: String
        let dataSourceID: String
        let parentPageID: String
        let title: String
        var properties: [Property] // sorted by name
        let created: Date

        func property(_ key: String) -> Property? {
            properties.first { $0.name == key } ?? properties.first { $0.id == key }
        }

        func index(of key: String) -> Int? {
            properties.firstIndex { $0.name == key } ?? properties.firstIndex { $0.id == key }
        }
    }

    struct Page {
        let id: String
        let databaseID: String
        let sequence: Int
        let created: Date
        var edited: Date
        var editSequence: Int
        var archived = false
        /// Property ID → the value in answer form (the inner value: an array, object, scalar or null).
        var values: [String: JSONValue]
    }

    var databases: [String: Database] = [:]
    var dataSourceDatabase: [String: String] = [:] // data source ID → database ID
    var pages: [String: Page] = [:]
    var pageOrder: [String] = []
    var sequence = 0
    var cursors: [String: Int] = [:]

    var latency: TimeInterval = 0
    var queryLag: TimeInterval = 0
    var requestsPerSecond: Double? = 3
    var burst = 3
    var tokens: Double = 3
    var lastRefill = ProcessInfo.processInfo.systemUptime
    var rateLimitedCount = 0

    var faults: [FakeNotion.Fault] = []
    var randomFaultRate: Double = 0
    var rng = SplitMix64(seed: 0x5EED_0F_FA17)
    var injectedFaults = 0

    var creates = 0
    var updates = 0
    var queries = 0

    mutating func refillBucket() {
        tokens = Double(burst)
        lastRefill = ProcessInfo.processInfo.systemUptime
    }

    /// Takes a token; nil when allowed, else the whole seconds to wait (at least 1).
    mutating func admit() -> Int? {
        guard let rate = requestsPerSecond, rate > 0 else { return nil }
        let now = ProcessInfo.processInfo.systemUptime
        tokens = min(Double(burst), tokens + (now - lastRefill) * rate)
        lastRefill = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        rateLimitedCount += 1
        return max(1, Int(((1 - tokens) / rate).rounded(.up)))
    }

    mutating func nextSequence() -> Int {
        sequence += 1
        return sequence
    }
}

/// Thrown inside the fake: becomes Notion's error object.
struct NotionFakeError: Error {
    let status: Int
    let code: String
    let message: String
    var headers: [(String, String)] = []

    static func validation(_ message: String) -> NotionFakeError { NotionFakeError(status: 400, code: "validation_error", message: message) }

    /// "body failed validation: body.PATH should be WHAT, instead was `VALUE`."
    static func body(_ path: String, shouldBe what: String, was value: JSONValue?) -> NotionFakeError {
        validation("body failed validation: body.\(path) should be \(what), instead was `\(value.map(\.canonicalJSON) ?? "undefined")`.")
    }

    static func tooLong(_ path: String, limit: Int, was count: Int) -> NotionFakeError {
        validation("body failed validation: body.\(path).length should be ≤ `\(limit)`, instead was `\(count)`.")
    }

    static func notFound(_ kind: String, _ id: String) -> NotionFakeError {
        NotionFakeError(status: 404, code: "object_not_found",
                        message: "Could not find \(kind) with ID: \(id). Make sure the relevant pages and databases are shared with your integration.")
    }

    static let invalidURL = NotionFakeError(status: 400, code: "invalid_request_url", message: "Invalid request URL.")
}

// MARK: - Behaviour

final class FakeNotionCore: @unchecked Sendable {
    let token: String
    let botID = UUID().uuidString.lowercased()
    private let lock = NSLock()
    private var shared = FakeNotionShared()

    static let textLimit = 2000
    static let arrayLimit = 100
    static let urlLimit = 2000
    static let emailLimit = 200
    static let phoneLimit = 200
    static let propertyTypes: Set<String> = ["title", "rich_text", "select", "multi_select", "number", "url", "date", "checkbox", "email", "phone_number"]
    static let colors = ["default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red"]

    init(token: String) { self.token = token }

    func withLock<T>(_ body: (inout FakeNotionShared) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&shared)
    }

    // MARK: Test hooks

    func addDatabase(id: String?, title: String, properties: [String: String]) -> String {
        let titles = properties.filter { $0.value == "title" }
        precondition(titles.count == 1, "a Notion database has exactly one title property; got \(titles.count)")
        for (name, type) in properties {
            precondition(Self.propertyTypes.contains(type), "FakeNotion does not know the property type '\(type)' of '\(name)'")
        }
        let databaseID: String
        if let id {
            guard let normalized = Self.normalizeID(id) else { preconditionFailure("'\(id)' is not a UUID") }
            databaseID = normalized
        } else {
            databaseID = Self.newID()
        }
        var used: Set<String> = ["title"]
        let schema = properties.keys.sorted().map { name -> FakeNotionShared.Property in
            let type = properties[name]!
            if type == "title" { return FakeNotionShared.Property(id: "title", name: name, type: type) }
            var propertyID: String
            repeat { propertyID = Self.shortID() } while !used.insert(propertyID).inserted
            return FakeNotionShared.Property(id: propertyID, name: name, type: type)
        }
        let database = FakeNotionShared.Database(id: databaseID, dataSourceID: Self.newID(), parentPageID: Self.newID(),
                                                 title: title, properties: schema, created: Date())
        withLock { s in
            s.databases[databaseID] = database
            s.dataSourceDatabase[database.dataSourceID] = databaseID
        }
        return databaseID
    }

    func addPage(in databaseID: String, properties: [String: JSONValue]) throws -> String {
        do {
            guard let id = Self.normalizeID(databaseID) else { throw NotionFakeError.validation("'\(databaseID)' is not a UUID") }
            return try withLock { s in
                guard s.databases[id] != nil else { throw NotionFakeError.notFound("database", id) }
                return try Self.insertPage(&s, databaseID: id, properties: properties).id
            }
        } catch let error as NotionFakeError {
            throw FakeNotionHookError(description: error.message)
        }
    }

    func renderPages(in databaseID: String?) -> [JSONValue] {
        withLock { s in
            s.pageOrder.compactMap { s.pages[$0] }
                .filter { !$0.archived && (databaseID == nil || $0.databaseID == databaseID) }
                .compactMap { page in s.databases[page.databaseID].map { Self.pageJSON(page, database: $0, version: "2025-09-03", botID: botID) } }
        }
    }

    func renderPage(id: String) -> JSONValue? {
        guard let id = Self.normalizeID(id) else { return nil }
        return withLock { s in
            guard let page = s.pages[id], let database = s.databases[page.databaseID] else { return nil }
            return Self.pageJSON(page, database: database, version: "2025-09-03", botID: botID)
        }
    }

    // MARK: Handling

    func handle(_ request: ReceivedRequest) -> ServerAction {
        var action = process(request)
        let (latency, closeEach) = withLock { s in (s.latency, s.randomFaultRate > 0 || s.faults.contains(where: \.dropsConnection)) }
        if closeEach { action = Self.closing(action) }
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

    private enum Route {
        case me
        case getDatabase(String)
        case queryDatabase(String)
        case getDataSource(String)
        case queryDataSource(String)
        case createPage
        case getPage(String)
        case updatePage(String)

        var isWrite: Bool {
            switch self {
            case .createPage, .updatePage: true
            default: false
            }
        }
    }

    private enum FaultPlan {
        case none
        case now(FakeNotion.Fault)
        case afterQueuedWrite
        case afterRandomWrite(FakeNotion.Fault)
    }

    private func process(_ request: ReceivedRequest) -> ServerAction {
        // Token, then version, then the rate limit.
        let authorization = request.header("authorization") ?? ""
        guard authorization.hasPrefix("Bearer "),
              authorization.dropFirst("Bearer ".count).trimmingCharacters(in: .whitespaces) == token else {
            return Self.error(NotionFakeError(status: 401, code: "unauthorized", message: "API token is invalid."))
        }
        guard let version = request.header("notion-version")?.trimmingCharacters(in: .whitespaces), !version.isEmpty else {
            return Self.error(NotionFakeError(status: 400, code: "missing_version",
                                              message: "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`."))
        }
        guard FakeNotion.versions.contains(version) else {
            return Self.error(.validation("Notion-Version header failed validation: Notion-Version header should be one of \(FakeNotion.versions.map { "\"\($0)\"" }.joined(separator: ", ")), instead was `\"\(version)\"`."))
        }
        if let wait = withLock({ $0.admit() }) {
            return Self.error(NotionFakeError(status: 429, code: "rate_limited",
                                              message: "You have been rate limited. Please try again in a few minutes.",
                                              headers: [("Retry-After", String(wait))]))
        }

        let route: Route
        do {
            route = try Self.route(request, version: version)
        } catch let error as NotionFakeError {
            return Self.error(error)
        } catch {
            return Self.error(NotionFakeError(status: 500, code: "internal_server_error", message: "\(error)"))
        }

        let plan: FaultPlan = withLock { s in
            if let head = s.faults.first {
                if !head.waitsForWrite {
                    s.faults.removeFirst()
                    s.injectedFaults += 1
                    return .now(head)
                }
                if route.isWrite, case .refuseWrite(let status) = head {
                    s.faults.removeFirst()
                    s.injectedFaults += 1
                    return .now(.status(status))
                }
                if route.isWrite { return .afterQueuedWrite }
            }
            guard s.randomFaultRate > 0, s.rng.unit() < s.randomFaultRate else { return .none }
            if route.isWrite, s.rng.unit() < 0.5 {
                let fault: FakeNotion.Fault = s.rng.unit() < 0.5 ? .applyThenFail(Self.randomStatus(&s.rng)) : .applyThenDrop
                return .afterRandomWrite(fault)
            }
            s.injectedFaults += 1
            return .now(s.rng.unit() < 0.2 ? .drop : .status(Self.randomStatus(&s.rng)))
        }
        if case .now(.cutShortAnswer) = plan {
            let (action, _) = perform(route, request: request, version: version)
            guard case .json(_, let value, _) = action else { return action }
            let body = Data(value.canonicalJSON.utf8)
            return .cutShortWithoutLength(status: 200, body: body, sendBytes: body.count / 2)
        }
        if case .now(let fault) = plan { return Self.play(fault) }

        let (action, applied) = perform(route, request: request, version: version)
        guard applied else { return action }
        let fault: FakeNotion.Fault? = withLock { s in
            switch plan {
            case .afterQueuedWrite:
                guard let head = s.faults.first, head.waitsForWrite else { return nil }
                s.faults.removeFirst()
                s.injectedFaults += 1
                return head
            case .afterRandomWrite(let fault):
                s.injectedFaults += 1
                return fault
            case .none, .now:
                return nil
            }
        }
        if case .applyThenStall(let interval)? = fault { return .delayed(interval, action) }
        return fault.map(Self.play) ?? action
    }

    private static func randomStatus(_ rng: inout SplitMix64) -> Int {
        [500, 502, 503, 504][Int(rng.next() % 4)]
    }

    /// Notion's code and message for each status a fault can answer.
    private static let faultErrors: [Int: (code: String, message: String)] = [
        400: ("validation_error", "The fake was told to answer 400."),
        401: ("unauthorized", "API token is invalid."),
        403: ("restricted_resource", "Insufficient permissions for this endpoint."),
        404: ("object_not_found", "Could not find the object. Make sure the relevant pages and databases are shared with your integration."),
        409: ("conflict_error", "Conflict occurred while saving. Please try again."),
        429: ("rate_limited", "You have been rate limited. Please try again in a few minutes."),
        500: ("internal_server_error", "Unexpected error occurred."),
        502: ("bad_gateway", "Bad gateway. Please try again later."),
        503: ("service_unavailable", "Notion is unavailable, please try again later."),
        504: ("gateway_timeout", "Notion timed out while completing this request. Please try again later."),
    ]

    private static func play(_ fault: FakeNotion.Fault) -> ServerAction {
        switch fault {
        case .drop, .applyThenDrop, .cutShortAnswer, .applyThenStall:
            return .drop
        case .status(let status), .applyThenFail(let status), .refuseWrite(let status):
            let known = faultErrors[status] ?? (status >= 500 ? ("internal_server_error", "Unexpected error occurred.")
                                                               : ("invalid_request", "The fake was told to answer \(status)."))
            return error(NotionFakeError(status: status, code: known.code, message: known.message,
                                         headers: status == 429 ? [("Retry-After", "1")] : []))
        }
    }

    static func error(_ error: NotionFakeError) -> ServerAction {
        .json(status: error.status, [
            "object": "error",
            "status": .int(error.status),
            "code": .string(error.code),
            "message": .string(error.message),
            "request_id": .string(newID()),
        ], headers: error.headers)
    }

    private static func route(_ request: ReceivedRequest, version: String) throws -> Route {
        let segments = request.pathWithoutQuery.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard segments.first == "v1" else { throw NotionFakeError.invalidURL }
        let rest = Array(segments.dropFirst())
        let modern = version == "2025-09-03"
        func id(_ text: String, _ name: String) throws -> String {
            let decoded = text.removingPercentEncoding ?? text
            guard let id = normalizeID(decoded) else {
                throw NotionFakeError.validation("path failed validation: path.\(name) should be a valid uuid, instead was `\"\(decoded)\"`.")
            }
            return id
        }
        switch (request.method, rest.count, rest.first ?? "") {
        case ("GET", 2, "users") where rest[1] == "me":
            return .me
        case ("GET", 2, "databases"):
            return .getDatabase(try id(rest[1], "database_id"))
        case ("POST", 3, "databases") where rest[2] == "query":
            guard !modern else { throw NotionFakeError.invalidURL }
            return .queryDatabase(try id(rest[1], "database_id"))
        case ("GET", 2, "data_sources"):
            guard modern else { throw NotionFakeError.invalidURL }
            return .getDataSource(try id(rest[1], "data_source_id"))
        case ("POST", 3, "data_sources") where rest[2] == "query":
            guard modern else { throw NotionFakeError.invalidURL }
            return .queryDataSource(try id(rest[1], "data_source_id"))
        case ("POST", 1, "pages"):
            return .createPage
        case ("GET", 2, "pages"):
            return .getPage(try id(rest[1], "page_id"))
        case ("PATCH", 2, "pages"):
            return .updatePage(try id(rest[1], "page_id"))
        default:
            throw NotionFakeError.invalidURL
        }
    }

    /// The answer, and whether a write was applied.
    private func perform(_ route: Route, request: ReceivedRequest, version: String) -> (ServerAction, Bool) {
        do {
            switch route {
            case .me:
                return (.json(status: 200, [
                    "object": "user", "id": .string(botID), "name": "aiv tests", "avatar_url": nil, "type": "bot",
                    "bot": ["owner": ["type": "workspace", "workspace": true], "workspace_name": "Fake workspace"],
                    "request_id": .string(Self.newID()),
                ]), false)
            case .getDatabase(let id):
                return (.json(status: 200, try withLock { s in
                    guard let database = s.databases[id] else { throw NotionFakeError.notFound("database", id) }
                    return Self.databaseJSON(database, version: version, botID: botID)
                }), false)
            case .getDataSource(let id):
                return (.json(status: 200, try withLock { s in
                    guard let databaseID = s.dataSourceDatabase[id], let database = s.databases[databaseID] else {
                        throw NotionFakeError.notFound("data source", id)
                    }
                    return Self.dataSourceJSON(database, botID: botID)
                }), false)
            case .queryDatabase(let id):
                return (.json(status: 200, try query(request, databaseID: id, viaDataSource: nil, version: version)), false)
            case .queryDataSource(let id):
                return (.json(status: 200, try query(request, databaseID: nil, viaDataSource: id, version: version)), false)
            case .createPage:
                return (.json(status: 200, try createPage(request, version: version)), true)
            case .getPage(let id):
                return (.json(status: 200, try withLock { s in
                    guard let page = s.pages[id], let database = s.databases[page.databaseID] else { throw NotionFakeError.notFound("page", id) }
                    return Self.pageJSON(page, database: database, version: version, botID: botID)
                }), false)
            case .updatePage(let id):
                return (.json(status: 200, try updatePage(request, id: id, version: version)), true)
            }
        } catch let error as NotionFakeError {
            return (Self.error(error), false)
        } catch {
            return (Self.error(NotionFakeError(status: 500, code: "internal_server_error", message: "\(error)")), false)
        }
    }

    // MARK: Bodies

    /// The body as a JSON object; `emptyIs` when there is no body.
    private static func bodyObject(_ request: ReceivedRequest, emptyIs empty: [String: JSONValue]?) throws -> [String: JSONValue] {
        if request.body.isEmpty || request.body.allSatisfy({ [9, 10, 13, 32].contains($0) }) {
            guard let empty else { throw NotionFakeError.body("parent", shouldBe: "defined", was: nil) }
            return empty
        }
        guard let json = request.json else {
            throw NotionFakeError(status: 400, code: "invalid_json", message: "Error parsing JSON body.")
        }
        guard let object = json.objectValue else {
            throw NotionFakeError.validation("body failed validation: body should be an object, instead was `\(json.canonicalJSON)`.")
        }
        return object
    }

    private static func rejectUnknownKeys(_ object: [String: JSONValue], allowed: Set<String>, at path: String = "") throws {
        for key in object.keys.sorted() where !allowed.contains(key) {
            throw NotionFakeError.body(path + key, shouldBe: "not present", was: object[key])
        }
    }

    // MARK: Query

    private func query(_ request: ReceivedRequest, databaseID: String?, viaDataSource dataSourceID: String?, version: String) throws -> JSONValue {
        let body = try Self.bodyObject(request, emptyIs: [:])
        try Self.rejectUnknownKeys(body, allowed: ["filter", "sorts", "start_cursor", "page_size", "archived", "in_trash", "result_type"])
        var pageSize = 100
        if let size = body["page_size"], size != .null {
            guard let number = size.numberValue, number == number.rounded() else {
                throw NotionFakeError.body("page_size", shouldBe: "a number", was: size)
            }
            guard number <= 100 else { throw NotionFakeError.body("page_size", shouldBe: "≤ `100`", was: size) }
            guard number >= 1 else { throw NotionFakeError.body("page_size", shouldBe: "≥ `1`", was: size) }
            pageSize = Int(number)
        }
        var cursor: String?
        if let value = body["start_cursor"], value != .null {
            guard let text = value.stringValue else { throw NotionFakeError.body("start_cursor", shouldBe: "a string", was: value) }
            cursor = text
        }
        let filter = body["filter"].flatMap { $0 == .null ? nil : $0 }
        if let filter, filter.objectValue == nil { throw NotionFakeError.body("filter", shouldBe: "an object", was: filter) }
        let sorts = body["sorts"].flatMap { $0 == .null ? nil : $0 }
        if let sorts, sorts.arrayValue == nil { throw NotionFakeError.body("sorts", shouldBe: "an array", was: sorts) }

        return try withLock { s in
            let database: FakeNotionShared.Database
            if let databaseID {
                guard let found = s.databases[databaseID] else { throw NotionFakeError.notFound("database", databaseID) }
                database = found
            } else {
                guard let id = s.dataSourceDatabase[dataSourceID!], let found = s.databases[id] else {
                    throw NotionFakeError.notFound("data source", dataSourceID!)
                }
                database = found
            }
            let predicate: Predicate = try filter.map { try Self.compileFilter($0, database: database, path: "filter") } ?? { _ in true }
            let order = try Self.compileSorts(sorts?.arrayValue ?? [], database: database)
            var offset = 0
            if let cursor {
                guard let known = s.cursors[cursor] else {
                    throw NotionFakeError.validation("The start_cursor provided is invalid: \(cursor)")
                }
                offset = known
            }
            var matching = s.pageOrder.compactMap { s.pages[$0] }
                .filter { $0.databaseID == database.id && !$0.archived && predicate($0) && -$0.created.timeIntervalSinceNow >= s.queryLag }
            if !order.isEmpty {
                matching = matching.enumerated().sorted { a, b in
                    for compare in order {
                        if let result = compare(a.element, b.element) { return result }
                    }
                    return a.offset < b.offset
                }.map(\.element)
            }
            let start = min(offset, matching.count)
            let end = min(start + pageSize, matching.count)
            var next: JSONValue = .null
            if end < matching.count {
                let token = Self.newID()
                s.cursors[token] = end
                next = .string(token)
            }
            s.queries += 1
            return [
                "object": "list",
                "results": .array(matching[start..<end].map { Self.pageJSON($0, database: database, version: version, botID: botID) }),
                "next_cursor": next,
                "has_more": .bool(end < matching.count),
                "type": "page_or_database",
                "page_or_database": [:],
                "request_id": .string(Self.newID()),
            ]
        }
    }

    typealias Predicate = (FakeNotionShared.Page) -> Bool

    private static let textFilterTypes: Set<String> = ["title", "rich_text", "url", "email", "phone_number"]

    private static func compileFilter(_ filter: JSONValue, database: FakeNotionShared.Database, path: String) throws -> Predicate {
        guard let object = filter.objectValue else { throw NotionFakeError.body(path, shouldBe: "an object", was: filter) }
        for compound in ["and", "or"] {
            guard let list = object[compound] else { continue }
            guard object.count == 1 else { throw NotionFakeError.body(path, shouldBe: "a single filter", was: filter) }
            guard let items = list.arrayValue else { throw NotionFakeError.body("\(path).\(compound)", shouldBe: "an array", was: list) }
            guard items.count <= 100 else { throw NotionFakeError.tooLong("\(path).\(compound)", limit: 100, was: items.count) }
            let parts = try items.enumerated().map { try compileFilter($1, database: database, path: "\(path).\(compound)[\($0)]") }
            return compound == "and" ? { page in parts.allSatisfy { $0(page) } } : { page in parts.contains { $0(page) } }
        }
        if let stamp = object["timestamp"] {
            guard let name = stamp.stringValue, ["created_time", "last_edited_time"].contains(name) else {
                throw NotionFakeError.body("\(path).timestamp", shouldBe: "`\"created_time\"` or `\"last_edited_time\"`", was: stamp)
            }
            guard let condition = object[name]?.objectValue, condition.count == 1, let first = condition.first else {
                throw NotionFakeError.body("\(path).\(name)", shouldBe: "an object with one condition", was: object[name])
            }
            let (operation, operand) = first
            guard let date = operand.stringValue.flatMap(parseDate) else {
                throw NotionFakeError.body("\(path).\(name).\(operation)", shouldBe: "a date", was: operand)
            }
            return { page in
                let value = name == "created_time" ? page.created : page.edited
                switch operation {
                case "before": return value < date
                case "after": return value > date
                case "on_or_before": return value <= date
                case "on_or_after": return value >= date
                default: return false
                }
            }
        }
        guard let nameValue = object["property"] else { throw NotionFakeError.body("\(path).property", shouldBe: "defined", was: nil) }
        guard let name = nameValue.stringValue else { throw NotionFakeError.body("\(path).property", shouldBe: "a string", was: nameValue) }
        guard let property = database.property(name) else {
            throw NotionFakeError.validation("Could not find property with name or id: \(name).")
        }
        let kinds = object.keys.filter { $0 != "property" && $0 != "type" }
        guard kinds.count == 1, let kind = kinds.first else {
            throw NotionFakeError.body(path, shouldBe: "an object with one property filter (e.g. `\(property.type)`)", was: filter)
        }
        let compatible: Bool = switch property.type {
        case "title", "rich_text", "url", "email", "phone_number": textFilterTypes.contains(kind)
        default: kind == property.type
        }
        guard compatible else {
            throw NotionFakeError.validation("database property \(property.type) does not match filter \(kind)")
        }
        let conditionPath = "\(path).\(kind)"
        guard let condition = object[kind]?.objectValue, condition.count == 1, let first = condition.first else {
            throw NotionFakeError.body(conditionPath, shouldBe: "an object with one condition", was: object[kind])
        }
        let (operation, operand) = first
        let operandPath = "\(conditionPath).\(operation)"
        let propertyID = property.id

        func requireTrue() throws {
            guard operand == .bool(true) else { throw NotionFakeError.body(operandPath, shouldBe: "`true`", was: operand) }
        }

        switch property.type {
        case "title", "rich_text", "url", "email", "phone_number":
            let text = { (page: FakeNotionShared.Page) in textOf(page.values[propertyID]) }
            if operation == "is_empty" { try requireTrue(); return { text($0).isEmpty } }
            if operation == "is_not_empty" { try requireTrue(); return { !text($0).isEmpty } }
            guard let wanted = operand.stringValue else { throw NotionFakeError.body(operandPath, shouldBe: "a string", was: operand) }
            switch operation {
            case "equals": return { text($0) == wanted }
            case "does_not_equal": return { text($0) != wanted }
            case "contains": return { text($0).localizedCaseInsensitiveContains(wanted) }
            case "does_not_contain": return { !text($0).localizedCaseInsensitiveContains(wanted) }
            case "starts_with": return { text($0).lowercased().hasPrefix(wanted.lowercased()) }
            case "ends_with": return { text($0).lowercased().hasSuffix(wanted.lowercased()) }
            default: throw NotionFakeError.body(operandPath, shouldBe: "not present", was: operand)
            }
        case "number":
            let number = { (page: FakeNotionShared.Page) in page.values[propertyID]?.numberValue }
            if operation == "is_empty" { try requireTrue(); return { number($0) == nil } }
            if operation == "is_not_empty" { try requireTrue(); return { number($0) != nil } }
            guard let wanted = operand.numberValue else { throw NotionFakeError.body(operandPath, shouldBe: "a number", was: operand) }
            switch operation {
            case "equals": return { number($0) == wanted }
            case "does_not_equal": return { number($0) != wanted }
            case "greater_than": return { number($0).map { $0 > wanted } ?? false }
            case "less_than": return { number($0).map { $0 < wanted } ?? false }
            case "greater_than_or_equal_to": return { number($0).map { $0 >= wanted } ?? false }
            case "less_than_or_equal_to": return { number($0).map { $0 <= wanted } ?? false }
            default: throw NotionFakeError.body(operandPath, shouldBe: "not present", was: operand)
            }
        case "checkbox":
            guard case .bool(let wanted) = operand else { throw NotionFakeError.body(operandPath, shouldBe: "a boolean", was: operand) }
            let checked = { (page: FakeNotionShared.Page) in page.values[propertyID] == .bool(true) }
            switch operation {
            case "equals": return { checked($0) == wanted }
            case "does_not_equal": return { checked($0) != wanted }
            default: throw NotionFakeError.body(operandPath, shouldBe: "not present", was: operand)
            }
        case "select", "multi_select":
            let names = { (page: FakeNotionShared.Page) -> [String] in
                let value = page.values[propertyID] ?? .null
                return (value.arrayValue ?? (value == .null ? [] : [value])).compactMap { $0["name"]?.stringValue }
            }
            if operation == "is_empty" { try requireTrue(); return { names($0).isEmpty } }
            if operation == "is_not_empty" { try requireTrue(); return { !names($0).isEmpty } }
            guard let wanted = operand.stringValue else { throw NotionFakeError.body(operandPath, shouldBe: "a string", was: operand) }
            switch (property.type, operation) {
            case ("select", "equals"), ("multi_select", "contains"): return { names($0).contains(wanted) }
            case ("select", "does_not_equal"), ("multi_select", "does_not_contain"): return { !names($0).contains(wanted) }
            default: throw NotionFakeError.body(operandPath, shouldBe: "not present", was: operand)
            }
        case "date":
            let start = { (page: FakeNotionShared.Page) in page.values[propertyID]?["start"]?.stringValue.flatMap(parseDate) }
            if operation == "is_empty" { try requireTrue(); return { start($0) == nil } }
            if operation == "is_not_empty" { try requireTrue(); return { start($0) != nil } }
            guard let wanted = operand.stringValue.flatMap(parseDate) else { throw NotionFakeError.body(operandPath, shouldBe: "a date", was: operand) }
            let compare: (Date, Date) -> Bool
            switch operation {
            case "equals": compare = { $0 == $1 }
            case "before": compare = { $0 < $1 }
            case "after": compare = { $0 > $1 }
            case "on_or_before": compare = { $0 <= $1 }
            case "on_or_after": compare = { $0 >= $1 }
            default: throw NotionFakeError.body(operandPath, shouldBe: "not present", was: operand)
            }
            return { page in start(page).map { compare($0, wanted) } ?? false }
        default:
            throw NotionFakeError.validation("The fake cannot filter \(property.type) properties.")
        }
    }

    typealias Ordering = (FakeNotionShared.Page, FakeNotionShared.Page) -> Bool?

    private static func compileSorts(_ sorts: [JSONValue], database: FakeNotionShared.Database) throws -> [Ordering] {
        guard sorts.count <= 100 else { throw NotionFakeError.tooLong("sorts", limit: 100, was: sorts.count) }
        return try sorts.enumerated().map { index, sort in
            guard let object = sort.objectValue else { throw NotionFakeError.body("sorts[\(index)]", shouldBe: "an object", was: sort) }
            let directionValue = object["direction"] ?? "ascending"
            guard let direction = directionValue.stringValue, ["ascending", "descending"].contains(direction) else {
                throw NotionFakeError.body("sorts[\(index)].direction", shouldBe: "`\"ascending\"` or `\"descending\"`", was: directionValue)
            }
            let ascending = direction == "ascending"
            func ordered<T: Comparable>(_ a: T?, _ b: T?) -> Bool? {
                switch (a, b) {
                case (nil, nil): return nil
                case (nil, _): return false // empty values last
                case (_, nil): return true
                case let (a?, b?): return a == b ? nil : (ascending ? a < b : a > b)
                }
            }
            if let stamp = object["timestamp"] {
                switch stamp.stringValue {
                case "created_time": return { ordered($0.sequence, $1.sequence) }
                case "last_edited_time": return { ordered($0.editSequence, $1.editSequence) }
                default: throw NotionFakeError.body("sorts[\(index)].timestamp", shouldBe: "`\"created_time\"` or `\"last_edited_time\"`", was: stamp)
                }
            }
            guard let name = object["property"]?.stringValue else {
                throw NotionFakeError.body("sorts[\(index)].property", shouldBe: "defined", was: nil)
            }
            guard let property = database.property(name) else {
                throw NotionFakeError.validation("Could not find sort property with name or id: \(name)")
            }
            let id = property.id
            switch property.type {
            case "number": return { ordered($0.values[id]?.numberValue, $1.values[id]?.numberValue) }
            case "checkbox": return { ordered($0.values[id] == .bool(true) ? 1 : 0, $1.values[id] == .bool(true) ? 1 : 0) }
            case "date": return { ordered($0.values[id]?["start"]?.stringValue.flatMap(parseDate), $1.values[id]?["start"]?.stringValue.flatMap(parseDate)) }
            default:
                return { a, b in
                    let x = textOf(a.values[id]), y = textOf(b.values[id])
                    return ordered(x.isEmpty ? nil : x, y.isEmpty ? nil : y)
                }
            }
        }
    }

    // MARK: Pages

    private func createPage(_ request: ReceivedRequest, version: String) throws -> JSONValue {
        let body = try Self.bodyObject(request, emptyIs: nil)
        try Self.rejectUnknownKeys(body, allowed: ["parent", "properties", "children", "icon", "cover", "content", "template", "position"])
        guard let parentValue = body["parent"] else { throw NotionFakeError.body("parent", shouldBe: "defined", was: nil) }
        guard let parent = parentValue.objectValue else { throw NotionFakeError.body("parent", shouldBe: "an object", was: parentValue) }
        let modern = version == "2025-09-03"
        func parentID(_ key: String) throws -> String? {
            guard let value = parent[key] else { return nil }
            guard let text = value.stringValue, let id = Self.normalizeID(text) else {
                throw NotionFakeError.body("parent.\(key)", shouldBe: "a valid uuid", was: value)
            }
            return id
        }
        let propertiesValue = body["properties"] ?? [:]
        guard let properties = propertiesValue.objectValue else {
            throw NotionFakeError.body("properties", shouldBe: "an object", was: propertiesValue)
        }
        return try withLock { s in
            let databaseID: String
            if modern, let sourceID = try parentID("data_source_id") {
                guard let id = s.dataSourceDatabase[sourceID] else { throw NotionFakeError.notFound("data source", sourceID) }
                databaseID = id
            } else if let id = try parentID("database_id") {
                guard s.databases[id] != nil else { throw NotionFakeError.notFound("database", id) }
                databaseID = id
            } else if parent["page_id"] != nil || parent["workspace"] != nil {
                throw NotionFakeError.validation("The fake Notion API creates pages in databases only (parent.\(modern ? "data_source_id" : "database_id")).")
            } else {
                throw NotionFakeError.body("parent.\(modern ? "data_source_id" : "database_id")", shouldBe: "defined", was: nil)
            }
            let page = try Self.insertPage(&s, databaseID: databaseID, properties: properties)
            s.creates += 1
            return Self.pageJSON(page, database: s.databases[databaseID]!, version: version, botID: botID)
        }
    }

    /// Checks and stores a new page (the lock is held).
    private static func insertPage(_ s: inout FakeNotionShared, databaseID: String, properties: [String: JSONValue]) throws -> FakeNotionShared.Page {
        var database = s.databases[databaseID]!
        let values = try convert(properties, database: &database)
        let now = Date()
        let sequence = s.nextSequence()
        let page = FakeNotionShared.Page(id: newID(), databaseID: databaseID, sequence: sequence, created: now, edited: now,
                                         editSequence: sequence, values: values)
        s.databases[databaseID] = database
        s.pages[page.id] = page
        s.pageOrder.append(page.id)
        return page
    }

    private func updatePage(_ request: ReceivedRequest, id: String, version: String) throws -> JSONValue {
        let body = try Self.bodyObject(request, emptyIs: [:])
        try Self.rejectUnknownKeys(body, allowed: ["properties", "archived", "in_trash", "icon", "cover", "is_locked", "erase_content"])
        var archive: Bool?
        for key in ["archived", "in_trash"] {
            guard let value = body[key] else { continue }
            guard case .bool(let flag) = value else { throw NotionFakeError.body(key, shouldBe: "a boolean", was: value) }
            archive = flag
        }
        let propertiesValue = body["properties"] ?? [:]
        guard let properties = propertiesValue.objectValue else {
            throw NotionFakeError.body("properties", shouldBe: "an object", was: propertiesValue)
        }
        return try withLock { s in
            guard var page = s.pages[id], var database = s.databases[page.databaseID] else { throw NotionFakeError.notFound("page", id) }
            if page.archived, archive != false, !properties.isEmpty {
                throw NotionFakeError.validation("Can't edit block that is archived. You must unarchive the block before editing.")
            }
            let values = try Self.convert(properties, database: &database)
            page.values.merge(values) { _, new in new }
            if let archive { page.archived = archive }
            page.edited = Date()
            page.editSequence = s.nextSequence()
            s.databases[database.id] = database
            s.pages[id] = page
            s.updates += 1
            return Self.pageJSON(page, database: database, version: version, botID: botID)
        }
    }

    // MARK: Property values

    /// Request property values → stored values by property ID; new select options join the schema.
    private static func convert(_ properties: [String: JSONValue], database: inout FakeNotionShared.Database) throws -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        for key in properties.keys.sorted() {
            guard let index = database.index(of: key) else {
                throw NotionFakeError.validation("\(key) is not a property that exists.")
            }
            let type = database.properties[index].type
            let value = properties[key]!
            let path = "properties.\(key)"
            guard let object = value.objectValue else {
                throw NotionFakeError.body(path, shouldBe: "an object", was: value)
            }
            if let declared = object["type"], declared != .string(type) {
                throw NotionFakeError.validation("\(key) is expected to be \(type).")
            }
            guard let inner = object[type] else {
                if object.keys.contains(where: { propertyTypes.contains($0) || $0 == "status" || $0 == "people" || $0 == "files" || $0 == "relation" }) {
                    throw NotionFakeError.validation("\(key) is expected to be \(type).")
                }
                throw NotionFakeError.body("\(path).\(type)", shouldBe: "defined", was: nil)
            }
            try rejectUnknownKeys(object, allowed: ["type", "id", "name", type], at: "\(path).")
            values[database.properties[index].id] = try convertValue(inner, type: type, path: "\(path).\(type)", property: &database.properties[index])
        }
        return values
    }

    private static func convertValue(_ value: JSONValue, type: String, path: String, property: inout FakeNotionShared.Property) throws -> JSONValue {
        switch type {
        case "title", "rich_text":
            guard let items = value.arrayValue else { throw NotionFakeError.body(path, shouldBe: "an array", was: value) }
            guard items.count <= arrayLimit else { throw NotionFakeError.tooLong(path, limit: arrayLimit, was: items.count) }
            return .array(try items.enumerated().map { try richText($1, path: "\(path)[\($0)]") })
        case "select":
            if value == .null { return .null }
            return try option(value, path: path, property: &property)
        case "multi_select":
            guard let items = value.arrayValue else { throw NotionFakeError.body(path, shouldBe: "an array", was: value) }
            guard items.count <= arrayLimit else { throw NotionFakeError.tooLong(path, limit: arrayLimit, was: items.count) }
            return .array(try items.enumerated().map { try option($1, path: "\(path)[\($0)]", property: &property) })
        case "number":
            switch value {
            case .null, .int: return value
            case .double(let d) where d.isFinite: return value
            default: throw NotionFakeError.body(path, shouldBe: "a number or `null`", was: value)
            }
        case "url", "email", "phone_number":
            if value == .null { return .null }
            guard let text = value.stringValue else { throw NotionFakeError.body(path, shouldBe: "a string or `null`", was: value) }
            let limit = type == "url" ? urlLimit : type == "email" ? emailLimit : phoneLimit
            guard text.utf16.count <= limit else { throw NotionFakeError.tooLong(path, limit: limit, was: text.utf16.count) }
            return .string(text)
        case "date":
            if value == .null { return .null }
            guard let object = value.objectValue else { throw NotionFakeError.body(path, shouldBe: "an object or `null`", was: value) }
            try rejectUnknownKeys(object, allowed: ["start", "end", "time_zone"], at: "\(path).")
            guard let startValue = object["start"] else { throw NotionFakeError.body("\(path).start", shouldBe: "defined", was: nil) }
            guard let start = startValue.stringValue, parseDate(start) != nil else {
                throw NotionFakeError.body("\(path).start", shouldBe: "a valid ISO 8601 date string", was: startValue)
            }
            var end: JSONValue = .null
            if let endValue = object["end"], endValue != .null {
                guard let text = endValue.stringValue, parseDate(text) != nil else {
                    throw NotionFakeError.body("\(path).end", shouldBe: "a valid ISO 8601 date string or `null`", was: endValue)
                }
                end = .string(text)
            }
            var zone: JSONValue = .null
            if let zoneValue = object["time_zone"], zoneValue != .null {
                guard let name = zoneValue.stringValue, TimeZone(identifier: name) != nil else {
                    throw NotionFakeError.body("\(path).time_zone", shouldBe: "an IANA time zone or `null`", was: zoneValue)
                }
                zone = .string(name)
            }
            return ["start": .string(start), "end": end, "time_zone": zone]
        case "checkbox":
            guard case .bool = value else { throw NotionFakeError.body(path, shouldBe: "a boolean", was: value) }
            return value
        default:
            throw NotionFakeError.validation("The fake cannot write \(type) properties.")
        }
    }

    private static func richText(_ item: JSONValue, path: String) throws -> JSONValue {
        guard let object = item.objectValue else { throw NotionFakeError.body(path, shouldBe: "an object", was: item) }
        try rejectUnknownKeys(object, allowed: ["type", "text", "annotations", "plain_text", "href"], at: "\(path).")
        if let type = object["type"], type != "text" {
            throw NotionFakeError.body("\(path).type", shouldBe: "`\"text\"` (the fake writes text objects only)", was: type)
        }
        guard let textValue = object["text"] else { throw NotionFakeError.body("\(path).text", shouldBe: "defined", was: nil) }
        guard let text = textValue.objectValue else { throw NotionFakeError.body("\(path).text", shouldBe: "an object", was: textValue) }
        try rejectUnknownKeys(text, allowed: ["content", "link"], at: "\(path).text.")
        guard let contentValue = text["content"] else { throw NotionFakeError.body("\(path).text.content", shouldBe: "defined", was: nil) }
        guard let content = contentValue.stringValue else { throw NotionFakeError.body("\(path).text.content", shouldBe: "a string", was: contentValue) }
        guard content.utf16.count <= textLimit else { throw NotionFakeError.tooLong("\(path).text.content", limit: textLimit, was: content.utf16.count) }
        var link: JSONValue = .null
        var href: JSONValue = .null
        if let linkValue = text["link"], linkValue != .null {
            guard let url = linkValue["url"]?.stringValue else { throw NotionFakeError.body("\(path).text.link.url", shouldBe: "a string", was: linkValue["url"]) }
            guard url.utf16.count <= urlLimit else { throw NotionFakeError.tooLong("\(path).text.link.url", limit: urlLimit, was: url.utf16.count) }
            link = ["url": .string(url)]
            href = .string(url)
        }
        var annotations: [String: JSONValue] = ["bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"]
        if let given = object["annotations"] {
            guard let fields = given.objectValue else { throw NotionFakeError.body("\(path).annotations", shouldBe: "an object", was: given) }
            for (name, flag) in fields {
                guard annotations[name] != nil else { throw NotionFakeError.body("\(path).annotations.\(name)", shouldBe: "not present", was: flag) }
                annotations[name] = flag
            }
        }
        return ["type": "text", "text": ["content": .string(content), "link": link], "annotations": .object(annotations),
                "plain_text": .string(content), "href": href]
    }

    /// A select option by name (added to the property when new) or by ID.
    private static func option(_ value: JSONValue, path: String, property: inout FakeNotionShared.Property) throws -> JSONValue {
        guard let object = value.objectValue else { throw NotionFakeError.body(path, shouldBe: "an object", was: value) }
        try rejectUnknownKeys(object, allowed: ["name", "id", "color"], at: "\(path).")
        let found: FakeNotionShared.Option
        if let nameValue = object["name"] {
            guard let name = nameValue.stringValue else { throw NotionFakeError.body("\(path).name", shouldBe: "a string", was: nameValue) }
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { throw NotionFakeError.body("\(path).name", shouldBe: "a non-empty string", was: nameValue) }
            guard !trimmed.contains(",") else { throw NotionFakeError.validation("Invalid select option, commas not allowed: \(trimmed)") }
            guard trimmed.utf16.count <= 100 else { throw NotionFakeError.tooLong("\(path).name", limit: 100, was: trimmed.utf16.count) }
            if let existing = property.options.first(where: { $0.name == trimmed }) {
                found = existing
            } else {
                let color = object["color"]?.stringValue.flatMap { colors.contains($0) ? $0 : nil } ?? colors[property.options.count % colors.count]
                found = FakeNotionShared.Option(id: shortID(), name: trimmed, color: color)
                property.options.append(found)
            }
        } else if let idValue = object["id"] {
            guard let id = idValue.stringValue, let existing = property.options.first(where: { $0.id == id }) else {
                throw NotionFakeError.validation("Invalid select option id: \(idValue.stringValue ?? idValue.canonicalJSON)")
            }
            found = existing
        } else {
            throw NotionFakeError.body("\(path).name", shouldBe: "defined", was: nil)
        }
        return ["id": .string(found.id), "name": .string(found.name), "color": .string(found.color)]
    }

    // MARK: Objects

    static func empty(_ type: String) -> JSONValue {
        switch type {
        case "title", "rich_text", "multi_select": []
        case "checkbox": false
        default: .null
        }
    }

    private static func user(_ id: String) -> JSONValue { ["object": "user", "id": .string(id)] }

    private static func richTitle(_ text: String) -> JSONValue {
        [["type": "text", "text": ["content": .string(text), "link": nil],
          "annotations": ["bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"],
          "plain_text": .string(text), "href": nil]]
    }

    private static func schemaJSON(_ database: FakeNotionShared.Database) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: database.properties.map { property in
            let config: JSONValue = switch property.type {
            case "select", "multi_select":
                ["options": .array(property.options.map { ["id": .string($0.id), "name": .string($0.name), "color": .string($0.color), "description": nil] })]
            case "number": ["format": "number"]
            default: [:]
            }
            return (property.name, ["id": .string(property.id), "name": .string(property.name), "description": "",
                                    "type": .string(property.type), property.type: config] as JSONValue)
        }))
    }

    static func databaseJSON(_ database: FakeNotionShared.Database, version: String, botID: String) -> JSONValue {
        var json: [String: JSONValue] = [
            "object": "database",
            "id": .string(database.id),
            "created_time": .string(timestamp(database.created)),
            "last_edited_time": .string(timestamp(database.created)),
            "created_by": user(botID),
            "last_edited_by": user(botID),
            "title": richTitle(database.title),
            "description": [],
            "icon": nil,
            "cover": nil,
            "parent": ["type": "page_id", "page_id": .string(database.parentPageID)],
            "url": .string("https://www.notion.so/\(database.id.replacingOccurrences(of: "-", with: ""))"),
            "public_url": nil,
            "is_inline": false,
            "archived": false,
            "in_trash": false,
            "request_id": .string(newID()),
        ]
        if version == "2025-09-03" {
            json["data_sources"] = [["id": .string(database.dataSourceID), "name": .string(database.title)]]
            json["is_locked"] = false
        } else {
            json["properties"] = schemaJSON(database)
        }
        return .object(json)
    }

    static func dataSourceJSON(_ database: FakeNotionShared.Database, botID: String) -> JSONValue {
        [
            "object": "data_source",
            "id": .string(database.dataSourceID),
            "created_time": .string(timestamp(database.created)),
            "last_edited_time": .string(timestamp(database.created)),
            "created_by": user(botID),
            "last_edited_by": user(botID),
            "title": richTitle(database.title),
            "description": [],
            "icon": nil,
            "properties": schemaJSON(database),
            "parent": ["type": "database_id", "database_id": .string(database.id)],
            "database_parent": ["type": "page_id", "page_id": .string(database.parentPageID)],
            "url": .string("https://www.notion.so/\(database.id.replacingOccurrences(of: "-", with: ""))"),
            "public_url": nil,
            "archived": false,
            "in_trash": false,
            "request_id": .string(newID()),
        ]
    }

    static func pageJSON(_ page: FakeNotionShared.Page, database: FakeNotionShared.Database, version: String, botID: String) -> JSONValue {
        let parent: JSONValue = version == "2025-09-03"
            ? ["type": "data_source_id", "data_source_id": .string(database.dataSourceID), "database_id": .string(database.id)]
            : ["type": "database_id", "database_id": .string(database.id)]
        let properties = Dictionary(uniqueKeysWithValues: database.properties.map { property in
            (property.name, ["id": .string(property.id), "type": .string(property.type),
                             property.type: page.values[property.id] ?? empty(property.type)] as JSONValue)
        })
        return [
            "object": "page",
            "id": .string(page.id),
            "created_time": .string(timestamp(page.created)),
            "last_edited_time": .string(timestamp(page.edited)),
            "created_by": user(botID),
            "last_edited_by": user(botID),
            "cover": nil,
            "icon": nil,
            "parent": parent,
            "archived": .bool(page.archived),
            "in_trash": .bool(page.archived),
            "is_locked": false,
            "properties": .object(properties),
            "url": .string("https://www.notion.so/\(page.id.replacingOccurrences(of: "-", with: ""))"),
            "public_url": nil,
        ]
    }

    // MARK: Helpers

    /// Plain text of a stored value: rich text joined, a string, a select's name.
    static func textOf(_ value: JSONValue?) -> String {
        switch value {
        case .array(let items)?: items.map { $0["plain_text"]?.stringValue ?? $0["name"]?.stringValue ?? "" }.joined()
        case .string(let text)?: text
        case .object(let fields)?: fields["name"]?.stringValue ?? ""
        default: ""
        }
    }

    static func plainText(of page: JSONValue, property: String) -> String? {
        guard let properties = page["properties"]?.objectValue else { return nil }
        guard let value = properties[property] ?? properties.values.first(where: { $0["id"]?.stringValue == property }),
              let type = value["type"]?.stringValue, let inner = value[type], inner != .null else { return nil }
        switch type {
        case "title", "rich_text":
            return inner.arrayValue?.map { $0["plain_text"]?.stringValue ?? $0["text"]?["content"]?.stringValue ?? "" }.joined()
        case "select", "status":
            return inner["name"]?.stringValue
        case "multi_select":
            return inner.arrayValue?.compactMap { $0["name"]?.stringValue }.joined(separator: ", ")
        case "number":
            switch inner {
            case .int(let i): return String(i)
            case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
            default: return nil
            }
        case "checkbox":
            if case .bool(let flag) = inner { return flag ? "true" : "false" }
            return nil
        case "date":
            return inner["start"]?.stringValue
        default:
            return inner.stringValue
        }
    }

    /// A UUID with or without dashes → dashed, lower case; nil when it is not 32 hex digits.
    static func normalizeID(_ text: String) -> String? {
        let hex = Array(text.lowercased().filter { $0 != "-" })
        guard hex.count == 32, hex.allSatisfy({ "0123456789abcdef".contains($0) }) else { return nil }
        let s = String(hex)
        func part(_ from: Int, _ length: Int) -> Substring {
            let start = s.index(s.startIndex, offsetBy: from)
            return s[start..<s.index(start, offsetBy: length)]
        }
        return "\(part(0, 8))-\(part(8, 4))-\(part(12, 4))-\(part(16, 4))-\(part(20, 12))"
    }

    static func newID() -> String { UUID().uuidString.lowercased() }

    /// A property or option ID, like Notion's short ones.
    static func shortID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<4).map { _ in alphabet.randomElement()! })
    }

    /// Notion's timestamps: ISO 8601 in UTC, to the minute, with ".000".
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60))
    }

    /// YYYY-MM-DD (midnight UTC) or an ISO 8601 date-time (`T` or a space; offset optional, UTC
    /// when absent).
    static func parseDate(_ text: String) -> Date? {
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?$"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        func group(_ i: Int) -> String? {
            guard let range = Range(match.range(at: i), in: text) else { return nil }
            return String(text[range])
        }
        var components = DateComponents()
        components.year = Int(group(1)!)
        components.month = Int(group(2)!)
        components.day = Int(group(3)!)
        components.hour = group(4).flatMap(Int.init) ?? 0
        components.minute = group(5).flatMap(Int.init) ?? 0
        components.second = group(6).flatMap(Int.init) ?? 0
        guard (1...12).contains(components.month!), (1...31).contains(components.day!),
              components.hour! < 24, components.minute! < 60, components.second! < 61 else { return nil }
        var offset = 0
        if let zone = group(8), zone != "Z" {
            let digits = zone.dropFirst().filter(\.isNumber)
            let hours = Int(digits.prefix(2)) ?? 0, minutes = Int(digits.suffix(2)) ?? 0
            offset = (hours * 3600 + minutes * 60) * (zone.hasPrefix("-") ? -1 : 1)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: offset)!
        guard let date = calendar.date(from: components) else { return nil }
        let fraction = group(7).flatMap { Double("0." + $0) } ?? 0
        return date.addingTimeInterval(fraction)
    }
}

/// What `FakeNotion.addPage` throws: the message Notion would answer.
public struct FakeNotionHookError: Error, CustomStringConvertible {
    public let description: String
}
