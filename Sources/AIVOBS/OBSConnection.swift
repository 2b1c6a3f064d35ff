import AIVCore
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOWebSocket
import WSClient

/// A live, identified connection to OBS Studio's WebSocket server, shared by every OBS step of a
/// run: requests matched to answers by request id, batches, and events for whoever waits.
///
/// swift-websocket keeps a connection open while a closure runs; the closure here lives in a task
/// of its own, writing what `send` queues and handing every message it reads to this actor.
public actor OBSConnection {
    public let url: String
    private let password: String?
    private let logger: Logger
    private var outgoing: AsyncStream<String>.Continuation?
    private var identified: CheckedContinuation<Void, any Error>?
    private var pending: [String: CheckedContinuation<JSONValue, any Error>] = [:]
    private var waiters: [(id: Int, type: String, match: @Sendable (JSONValue) -> Bool, promise: FirstOutcome<JSONValue>)] = []
    private var closedError: OBSConnectionError?
    private var wasIdentified = false
    /// A request went unanswered: no new work, and closed once the last waiter is done.
    private var retiring = false
    /// Requests whose steps were cancelled and that OBS has not answered yet.
    private var abandoned: Set<String> = []
    private var nextID = 0
    private var task: Task<Void, Never>?
    /// How long a request may wait for its answer.
    private let requestTimeout: Double
    /// Read without waiting on the actor, so the run's session store can tell a dropped connection
    /// from a live one without suspending.
    private let openFlag = LockedFlag()

    init(url: String, password: String?, requestTimeout: Double, logger: Logger) {
        self.url = url
        self.password = password
        self.requestTimeout = requestTimeout
        self.logger = logger
    }

    /// Connects and identifies (answering the authentication challenge when OBS asks), within
    /// `timeout` seconds; each request then waits at most `requestTimeout` seconds for its answer.
    public static func connect(url: String, password: String?, timeout: Double, requestTimeout: Double = 30,
                               logger: Logger) async throws -> OBSConnection {
        let connection = OBSConnection(url: url, password: password, requestTimeout: requestTimeout, logger: logger)
        try await connection.open(timeout: timeout)
        return connection
    }

    /// Identified and not closed since.
    public nonisolated var isOpen: Bool { openFlag.value }

    private func open(timeout: Double) async throws {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        outgoing = continuation
        let url = self.url
        let logger = self.logger
        task = Task {
            do {
                var headers = HTTPFields()
                headers[HTTPField.Name("Sec-WebSocket-Protocol")!] = "obswebsocket.json"
                // OBS sends whole scene lists and screenshots in one message: 16 KiB frames would close the connection.
                let configuration = WebSocketClientConfiguration(maxFrameSize: 16 << 20, additionalHeaders: headers)
                let close = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await text in stream { try await outbound.write(.text(text)) }
                        }
                        for try await message in inbound.messages(maxSize: 64 << 20) {
                            if case .text(let text) = message { await self.receive(text) }
                        }
                        group.cancelAll()
                    }
                }
                if let close {
                    let code = Self.code(close.closeCode)
                    self.closed(OBSConnectionError(message: OBSProtocol.closeMessage(code: code, reason: close.reason, url: url),
                                                         isDrop: code < 4000 || code == 4011))
                } else {
                    self.failed("closed without a close frame")
                }
            } catch {
                self.failed("\(error)")
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.waitIdentified() }
            group.addTask {
                try await Task.sleep(nanoseconds: timeout.sleepNanoseconds)
                let error = OBSConnectionError(message: "OBS at \(url) did not answer within \(Durations.format(timeout)): is its WebSocket server on?", isDrop: true)
                await self.abandon(error)
                throw error
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    static func code(_ code: WebSocketErrorCode) -> Int {
        switch code {
        case .normalClosure: 1000
        case .goingAway: 1001
        case .protocolError: 1002
        case .unacceptableData: 1003
        case .dataInconsistentWithMessage: 1007
        case .policyViolation: 1008
        case .messageTooLarge: 1009
        case .missingExtension: 1010
        case .unexpectedServerError: 1011
        case .unknown(let value): Int(value)
        }
    }

    private func waitIdentified() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if let closedError { return continuation.resume(throwing: closedError) }
                identified = continuation
            }
        } onCancel: {
            Task { await self.abandon(OBSConnectionError(message: "connecting to OBS at \(self.url) was cancelled", isDrop: false)) }
        }
    }

    /// Gives up on the connection (a timeout, a cancelled step): whatever waits on it is released.
    private func abandon(_ error: OBSConnectionError) {
        outgoing?.finish()
        task?.cancel()
        closed(error)
    }

    /// Closes the connection (the run is over).
    public func close() {
        abandon(OBSConnectionError(message: "the OBS connection was closed", isDrop: false))
    }

    /// The connection could not be made, or broke without a close frame.
    private func failed(_ reason: String) {
        closed(OBSConnectionError(message: wasIdentified ? "the connection to OBS at \(url) dropped (\(reason))" : OBSProtocol.unreachable(url, reason),
                                  isDrop: true))
    }

    private func closed(_ error: OBSConnectionError) {
        openFlag.value = false
        if closedError == nil { closedError = error }
        identified?.resume(throwing: error)
        identified = nil
        for (_, continuation) in pending { continuation.resume(throwing: error) }
        pending.removeAll()
        for waiter in waiters { waiter.promise.settle(.failure(error)) }
        waiters.removeAll()
    }

    private func send(_ message: JSONValue) throws {
        if let closedError { throw closedError }
        outgoing?.yield(message.canonicalJSON)
    }

    /// OBS broke the protocol: whatever waits fails with what came, and the connection is closed
    /// (which answer went astray cannot be known); the next OBS step opens a new one.
    ///
    /// What is quoted is the shape of a JSON message (its op and field names), never its values,
    /// which may hold a stream key; text that is not JSON is quoted up to 80 characters.
    private func protocolError(_ problem: String, _ text: String, message: JSONValue? = nil) {
        let excerpt: String
        if let message {
            let fields = (message["d"]?.objectValue?.keys.sorted() ?? []).joined(separator: ", ")
            let op = message["op"]?.numberValue.map { String(format: "%g", $0) } ?? "none"
            excerpt = "op \(op), fields: \(fields.isEmpty ? "none" : fields)"
        } else {
            excerpt = text.count > 80 ? String(text.prefix(80)) + "…" : text
        }
        logger.warning("OBS at \(url) \(problem); closing the connection")
        abandon(OBSConnectionError(message: "OBS at \(url) \(problem): \(excerpt)", isDrop: false))
    }

    private func receive(_ text: String) {
        guard let message = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
            return protocolError("sent a message that is not JSON", text)
        }
        guard let number = message["op"]?.numberValue else {
            return protocolError("sent a message with no op code", text, message: message)
        }
        // A kind of message a later OBS may add: not ours to answer.
        guard let code = Int(exactly: number), let op = OBSProtocol.Op(rawValue: code) else {
            logger.debug("OBS sent a message with op \(String(format: "%g", number)), which aiv does not use")
            return
        }
        guard message["d"]?.objectValue != nil else {
            return protocolError("sent a message with no data", text, message: message)
        }
        let data = message["d"] ?? .null
        switch op {
        case .hello:
            var identify: [String: JSONValue] = ["rpcVersion": .int(OBSProtocol.rpcVersion), "eventSubscriptions": .int(OBSProtocol.allEvents)]
            if let auth = data["authentication"], let salt = auth["salt"]?.stringValue, let challenge = auth["challenge"]?.stringValue {
                identify["authentication"] = .string(OBSProtocol.authentication(password: password ?? "", salt: salt, challenge: challenge))
            }
            try? send(["op": .int(OBSProtocol.Op.identify.rawValue), "d": .object(identify)])
        case .identified:
            wasIdentified = true
            openFlag.value = closedError == nil
            identified?.resume()
            identified = nil
        case .requestResponse, .requestBatchResponse:
            guard let id = data["requestId"]?.stringValue else { return protocolError("answered with no request id", text, message: message) }
            guard op == .requestBatchResponse || data["requestStatus"]?.objectValue != nil else {
                return protocolError("answered request \(id) with no requestStatus", text, message: message)
            }
            abandoned.remove(id)
            pending.removeValue(forKey: id)?.resume(returning: data)
            closeIfRetired()
        case .event:
            let type = data["eventType"]?.stringValue ?? ""
            let eventData = data["eventData"] ?? .null
            let matched = waiters.filter { $0.type == type && $0.match(eventData) }
            waiters.removeAll { waiter in matched.contains { $0.id == waiter.id } }
            for waiter in matched { waiter.promise.settle(.success(eventData)) }
            closeIfRetired()
        default:
            break
        }
    }

    private func exchange(_ op: OBSProtocol.Op, _ data: [String: JSONValue]) async throws -> JSONValue {
        nextID += 1
        let id = "aiv-\(nextID)"
        var body = data
        body["requestId"] = .string(id)
        if let closedError { throw closedError }
        let what = body["requestType"]?.stringValue ?? "a batch of requests"
        let timeout = requestTimeout
        let timer = Task { [weak self, url] in
            try await Task.sleep(nanoseconds: timeout.sleepNanoseconds)
            await self?.expire(id, OBSConnectionError(message: "OBS at \(url) did not answer \(what) within \(Durations.format(timeout))",
                                                      isDrop: false), retire: true)
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled { return continuation.resume(throwing: CancellationError()) }
                pending[id] = continuation
                do {
                    try send(["op": .int(op.rawValue), "d": .object(body)])
                } catch {
                    pending[id] = nil
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            Task { await self.giveUp(id) }
        }
    }

    /// A request whose step was cancelled: its caller goes at once, but if OBS has not answered
    /// by the request timeout the connection is retired all the same (a hung OBS must not be
    /// trusted with the next step because the last one was cancelled first).
    private func giveUp(_ id: String) {
        guard pending[id] != nil else { return }
        expire(id, CancellationError(), retire: false)
        abandoned.insert(id)
        let timeout = requestTimeout
        Task { [weak self] in
            try await Task.sleep(nanoseconds: timeout.sleepNanoseconds)
            await self?.unansweredAfterGivingUp(id)
        }
    }

    private func unansweredAfterGivingUp(_ id: String) {
        guard abandoned.remove(id) != nil else { return }
        retire()
    }

    /// A request that was given up on (no answer in time, or its step was cancelled); an answer
    /// arriving later is ignored. After a timeout the connection is not trusted with new steps
    /// (they open another), and it closes once nothing waits on it.
    private func expire(_ id: String, _ error: any Error, retire shouldRetire: Bool) {
        // An answer that came as the timer fired has already been handed over: nothing to expire.
        guard let continuation = pending.removeValue(forKey: id) else { return }
        continuation.resume(throwing: error)
        if shouldRetire { retire() } else { closeIfRetired() }
    }

    private func retire() {
        retiring = true
        openFlag.value = false
        closeIfRetired()
    }

    private func closeIfRetired() {
        if retiring, pending.isEmpty, waiters.isEmpty, closedError == nil {
            abandon(OBSConnectionError(message: "the OBS connection at \(url) stopped answering and was closed", isDrop: true))
        }
    }

    /// Sends one request; returns its `responseData`, or throws OBS's status code and comment.
    public func request(_ type: String, data: JSONValue? = nil) async throws -> JSONValue {
        var body: [String: JSONValue] = ["requestType": .string(type)]
        if let data, data != .null { body["requestData"] = data }
        let answer = try await exchange(.request, body)
        let status = answer["requestStatus"]
        guard status?["result"]?.isTruthy == true else {
            throw OBSRequestError(requestType: type, code: Int(clamping: status?["code"]?.numberValue ?? 0, to: Int(Int32.min)...Int(Int32.max)), comment: status?["comment"]?.stringValue)
        }
        return answer["responseData"] ?? .object([:])
    }

    /// Sends several requests as one batch (`executionType`: 0 serial in real time, 1 serial per
    /// frame, 2 parallel).
    public func batch(_ requests: [(type: String, data: JSONValue?)], haltOnFailure: Bool, executionType: Int) async throws -> [OBSBatchResult] {
        let list: [JSONValue] = requests.map { request in
            var item: [String: JSONValue] = ["requestType": .string(request.type)]
            if let data = request.data, data != .null { item["requestData"] = data }
            return .object(item)
        }
        let answer = try await exchange(.requestBatch, ["haltOnFailure": .bool(haltOnFailure), "executionType": .int(executionType),
                                                        "requests": .array(list)])
        return (answer["results"]?.arrayValue ?? []).map { result in
            let status = result["requestStatus"]
            return OBSBatchResult(requestType: result["requestType"]?.stringValue ?? "", succeeded: status?["result"]?.isTruthy == true,
                                  code: Int(clamping: status?["code"]?.numberValue ?? 0, to: Int(Int32.min)...Int(Int32.max)), comment: status?["comment"]?.stringValue,
                                  responseData: result["responseData"] ?? .object([:]))
        }
    }

    /// Registers a wait for the next event of `type` whose data `match` accepts, at once (so call
    /// it before the request that causes the event), and returns the task that waits for it.
    public func expectEvent(_ type: String, timeout: Double, match: @escaping @Sendable (JSONValue) -> Bool = { _ in true }) -> Task<JSONValue, any Error> {
        nextID += 1
        let id = nextID
        let promise = FirstOutcome<JSONValue>()
        if let closedError { promise.settle(.failure(closedError)) } else { waiters.append((id, type, match, promise)) }
        return Task {
            try await withThrowingTaskGroup(of: JSONValue.self) { group in
                group.addTask { try await promise.value() }
                group.addTask {
                    try await Task.sleep(nanoseconds: timeout.sleepNanoseconds)
                    throw OBSConnectionError(message: "no \(type) event from OBS within \(Durations.format(timeout))", isDrop: false)
                }
                defer {
                    group.cancelAll()
                    Task { self.removeWaiter(id) }
                }
                return try await group.next()!
            }
        }
    }

    private func removeWaiter(_ id: Int) {
        if let index = waiters.firstIndex(where: { $0.id == id }) {
            waiters.remove(at: index).promise.settle(.failure(CancellationError()))
        }
        closeIfRetired()
    }
}

/// A Boolean readable from any thread.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    var value: Bool {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

