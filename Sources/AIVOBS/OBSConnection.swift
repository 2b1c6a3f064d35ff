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
    private var waiters: [(id: Int, type: String, match: @Sendable (JSONValue) -> Bool, promise: Promise)] = []
    private var closedError: OBSConnectionError?
    private var nextID = 0
    private var task: Task<Void, Never>?

    init(url: String, password: String?, logger: Logger) {
        self.url = url
        self.password = password
        self.logger = logger
    }

    /// Connects and identifies (answering the authentication challenge when OBS asks), within `timeout` seconds.
    public static func connect(url: String, password: String?, timeout: Double, logger: Logger) async throws -> OBSConnection {
        let connection = OBSConnection(url: url, password: password, logger: logger)
        try await connection.open(timeout: timeout)
        return connection
    }

    public var isOpen: Bool { closedError == nil && task != nil }

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
                let code = close.map { Self.code($0.closeCode) }
                let message = code.map { OBSProtocol.closeMessage(code: $0, reason: close?.reason, url: url) }
                    ?? "OBS at \(url) closed the connection"
                await self.closed(OBSConnectionError(message: message, isDrop: code == nil || code! < 4000 || code == 4011))
            } catch {
                await self.closed(OBSConnectionError(message: OBSProtocol.unreachable(url, "\(error)"), isDrop: true))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.waitIdentified() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                throw OBSConnectionError(message: "OBS at \(url) did not answer within \(Durations.format(timeout)): is its WebSocket server on?", isDrop: true)
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
        if let closedError { throw closedError }
        try await withCheckedThrowingContinuation { continuation in
            identified = continuation
        }
    }

    /// Closes the connection (the run is over).
    public func close() {
        outgoing?.finish()
        task?.cancel()
        closed(OBSConnectionError(message: "the OBS connection was closed", isDrop: false))
    }

    private func closed(_ error: OBSConnectionError) {
        if closedError == nil { closedError = error }
        identified?.resume(throwing: error)
        identified = nil
        for (_, continuation) in pending { continuation.resume(throwing: error) }
        pending.removeAll()
        for waiter in waiters { waiter.promise.fulfill(.failure(error)) }
        waiters.removeAll()
    }

    private func send(_ message: JSONValue) throws {
        if let closedError { throw closedError }
        outgoing?.yield(message.canonicalJSON)
    }

    private func receive(_ text: String) {
        guard let message = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
              let op = message["op"]?.numberValue.flatMap({ OBSProtocol.Op(rawValue: Int($0)) }) else {
            logger.warning("OBS sent a message aiv cannot read")
            return
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
            identified?.resume()
            identified = nil
        case .requestResponse, .requestBatchResponse:
            if let id = data["requestId"]?.stringValue, let continuation = pending.removeValue(forKey: id) {
                continuation.resume(returning: data)
            }
        case .event:
            let type = data["eventType"]?.stringValue ?? ""
            let eventData = data["eventData"] ?? .null
            let matched = waiters.filter { $0.type == type && $0.match(eventData) }
            waiters.removeAll { waiter in matched.contains { $0.id == waiter.id } }
            for waiter in matched { waiter.promise.fulfill(.success(eventData)) }
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
        return try await withCheckedThrowingContinuation { continuation in
            pending[id] = continuation
            do {
                try send(["op": .int(op.rawValue), "d": .object(body)])
            } catch {
                pending[id] = nil
                continuation.resume(throwing: error)
            }
        }
    }

    /// Sends one request; returns its `responseData`, or throws OBS's status code and comment.
    public func request(_ type: String, data: JSONValue? = nil) async throws -> JSONValue {
        var body: [String: JSONValue] = ["requestType": .string(type)]
        if let data, data != .null { body["requestData"] = data }
        let answer = try await exchange(.request, body)
        let status = answer["requestStatus"]
        guard status?["result"]?.isTruthy == true else {
            throw OBSRequestError(requestType: type, code: Int(status?["code"]?.numberValue ?? 0), comment: status?["comment"]?.stringValue)
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
                                  code: Int(status?["code"]?.numberValue ?? 0), comment: status?["comment"]?.stringValue,
                                  responseData: result["responseData"] ?? .object([:]))
        }
    }

    /// Registers a wait for the next event of `type` whose data `match` accepts, at once (so call
    /// it before the request that causes the event), and returns the task that waits for it.
    public func expectEvent(_ type: String, timeout: Double, match: @escaping @Sendable (JSONValue) -> Bool = { _ in true }) -> Task<JSONValue, any Error> {
        nextID += 1
        let id = nextID
        let promise = Promise()
        if let closedError { promise.fulfill(.failure(closedError)) } else { waiters.append((id, type, match, promise)) }
        return Task {
            try await withThrowingTaskGroup(of: JSONValue.self) { group in
                group.addTask { try await promise.value() }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                    throw OBSConnectionError(message: "no \(type) event from OBS within \(Durations.format(timeout))", isDrop: false)
                }
                defer {
                    group.cancelAll()
                    Task { await self.removeWaiter(id) }
                }
                return try await group.next()!
            }
        }
    }

    private func removeWaiter(_ id: Int) {
        if let index = waiters.firstIndex(where: { $0.id == id }) {
            waiters.remove(at: index).promise.fulfill(.failure(CancellationError()))
        }
    }
}

/// A value that arrives once, for one waiter.
final class Promise: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<JSONValue, any Error>?
    private var continuation: CheckedContinuation<JSONValue, any Error>?

    func fulfill(_ value: Result<JSONValue, any Error>) {
        let waiting: CheckedContinuation<JSONValue, any Error>? = lock.withLock {
            guard result == nil else { return nil }
            result = value
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(with: value)
    }

    func value() async throws -> JSONValue {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiting: CheckedContinuation<JSONValue, any Error>) in
                let ready: Result<JSONValue, any Error>? = lock.withLock {
                    if let result { return result }
                    continuation = waiting
                    return nil
                }
                if let ready { waiting.resume(with: ready) }
            }
        } onCancel: {
            fulfill(.failure(CancellationError()))
        }
    }
}
