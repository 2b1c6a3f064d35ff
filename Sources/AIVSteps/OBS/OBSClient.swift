import AIVCore
import AIVOBS
import Foundation
import Logging

/// A step's way to OBS: the run's one connection (opened on first use, reconnected once when it
/// dropped), or the fixtures in a dry run; every exchange kept as a fixture in a recording run.
struct OBSClient: Sendable {
    let hub: ServiceHub
    let step: String
    let item: Int?
    let logger: Logger

    static let defaultURL = "ws://127.0.0.1:4455"

    init(context: StepContext) throws(StepError) {
        guard let hub = context.services else { throw StepError("this run has no way to reach services") }
        self.hub = hub
        step = context.stepID
        item = context.index
        logger = context.logger
    }

    var url: String {
        hub.environmentValue("OBS_WEBSOCKET_URL") ?? hub.settings(of: "obs")["url"]?.stringValue ?? Self.defaultURL
    }

    /// How long to wait for OBS to greet and accept the password (`services.obs.connect_timeout`).
    func connectTimeout() throws(StepError) -> Double { try seconds("connect_timeout", default: 5) }

    /// How long one request may wait for OBS's answer (`services.obs.request_timeout`).
    func requestTimeout() throws(StepError) -> Double { try seconds("request_timeout", default: 30) }

    private func seconds(_ setting: String, default fallback: Double) throws(StepError) -> Double {
        guard let value = hub.settings(of: "obs")[setting] else { return fallback }
        guard let seconds = Durations.seconds(value), seconds > 0, seconds <= 86_400 else {
            throw StepError("services.obs.\(setting) must be a duration above 0 and at most a day, such as 5s")
        }
        return seconds
    }

    /// The run's connection, opened on first use and opened anew when the last one closed (one
    /// new connection for all the steps that find it so).
    func connection() async throws -> OBSConnection {
        let url = self.url, password = hub.secret("OBS_WEBSOCKET_PASSWORD"), logger = self.logger
        let timeout = try connectTimeout(), requestTimeout = try requestTimeout()
        return try await hub.sessions.value("obs", isUsable: { (connection: OBSConnection) in connection.isOpen }) {
            try await OBSConnection.connect(url: url, password: password, timeout: timeout, requestTimeout: requestTimeout, logger: logger)
        }
    }

    /// Runs `body` on the connection; a connection that dropped is reopened once and `body` tried
    /// again (a refused password, a timeout or a message OBS garbled is not a drop, and fails at once).
    func withConnection<T: Sendable>(_ body: @Sendable (OBSConnection) async throws -> T) async throws -> T {
        let current = try await connection()
        do {
            return try await body(current)
        } catch let error as OBSConnectionError where error.isDrop {
            logger.notice("\(error.message); reconnecting once")
            return try await body(try await connection())
        }
    }

    /// The fixture form of an OBS exchange: method OBS, the request type as the URL's path.
    func fixtureRequest(_ kind: String, _ name: String, data: JSONValue?) -> HTTPRequest {
        HTTPRequest(method: kind, url: URL(string: "obs://obs/\(name)")!, body: .json(data ?? .object([:])))
    }

    /// Sends one request; OBS's failure becomes a step error with its status code and comment.
    func request(_ type: String, _ data: JSONValue? = nil) async throws -> JSONValue {
        if hub.mode == .replay {
            let answer = try await hub.replay(fixtureRequest("OBS", type, data: data)).json ?? .null
            if answer["requestStatus"]?["result"]?.isTruthy == false {
                throw Self.failure(OBSRequestError(requestType: type, code: Int(clamping: answer["requestStatus"]?["code"]?.numberValue ?? 0, to: Int(Int32.min)...Int(Int32.max)),
                                                   comment: answer["requestStatus"]?["comment"]?.stringValue))
            }
            return answer["responseData"] ?? .object([:])
        }
        do {
            let response = try await withConnection { try await $0.request(type, data: data) }
            keep(type, data, ["requestStatus": ["result": true, "code": 100], "responseData": response])
            return response
        } catch let error as OBSRequestError {
            keep(type, data, ["requestStatus": ["result": false, "code": .int(error.code), "comment": error.comment.map(JSONValue.string) ?? .null]])
            throw Self.failure(error)
        } catch let error as OBSConnectionError {
            throw StepError(error.message)
        }
    }

    /// Waits for an event (registered before `trigger` runs, so it cannot be missed).
    func event(_ type: String, timeout: Double, match: @escaping @Sendable (JSONValue) -> Bool = { _ in true },
               trigger: @Sendable () async throws -> Void = {}) async throws -> JSONValue {
        if hub.mode == .replay {
            try await trigger()
            return try await hub.replay(fixtureRequest("OBS-EVENT", type, data: nil)).json ?? .null
        }
        do {
            let waiting = try await withConnection { await $0.expectEvent(type, timeout: timeout, match: match) }
            // The wait is a task of its own: stopped with the step (a timeout, a stop) or when the
            // trigger fails, not left to run out its own timeout while a retry waits for it.
            do {
                try await trigger()
                let data = try await withTaskCancellationHandler { try await waiting.value } onCancel: { waiting.cancel() }
                keepEvent(type, data)
                return data
            } catch {
                waiting.cancel()
                throw error
            }
        } catch let error as OBSConnectionError {
            throw StepError(error.message)
        }
    }

    func keep(_ type: String, _ data: JSONValue?, _ answer: JSONValue) {
        guard hub.mode == .record else { return }
        hub.record(step: step, item: item, service: "obs", request: fixtureRequest("OBS", type, data: data),
                   response: HTTPResponse(status: 200, headers: ["content-type": "application/json"], body: Data(answer.canonicalJSON.utf8)))
    }

    func keepEvent(_ type: String, _ data: JSONValue) {
        guard hub.mode == .record else { return }
        hub.record(step: step, item: item, service: "obs", request: fixtureRequest("OBS-EVENT", type, data: nil),
                   response: HTTPResponse(status: 200, headers: ["content-type": "application/json"], body: Data(data.canonicalJSON.utf8)))
    }

    static func failure(_ error: OBSRequestError) -> StepError {
        StepError("\(error)")
    }
}
