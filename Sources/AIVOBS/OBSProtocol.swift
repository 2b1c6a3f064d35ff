import AIVCore
import Crypto
import Foundation

/// obs-websocket protocol v5: the message kinds (`op`), the authentication string, and what a
/// failed request or a closed connection means, in words a user can act on.
public enum OBSProtocol {
    public enum Op: Int, Sendable {
        case hello = 0, identify = 1, identified = 2, reidentify = 3, event = 5
        case request = 6, requestResponse = 7, requestBatch = 8, requestBatchResponse = 9
    }

    public static let rpcVersion = 1
    /// Every event category except the high-volume ones (EventSubscription.All).
    public static let allEvents = 0x3FF

    /// base64(sha256(base64(sha256(password + salt)) + challenge)), as the protocol defines it.
    public static func authentication(password: String, salt: String, challenge: String) -> String {
        let secret = Data(SHA256.hash(data: Data((password + salt).utf8))).base64EncodedString()
        return Data(SHA256.hash(data: Data((secret + challenge).utf8))).base64EncodedString()
    }

    /// What a close code means (the protocol's WebSocketCloseCode values).
    public static func closeMessage(code: Int, reason: String?, url: String) -> String {
        let detail = reason.flatMap { $0.isEmpty ? nil : " (\($0))" } ?? ""
        switch code {
        case 4009: return "OBS at \(url) refused the password (close code 4009, authentication failed): check OBS_WEBSOCKET_PASSWORD or services.obs.password\(detail)"
        case 4010: return "OBS at \(url) does not speak RPC version \(rpcVersion) (close code 4010): update OBS Studio to 28 or later\(detail)"
        case 4007: return "OBS at \(url) closed the connection: a request came before identification (close code 4007)\(detail)"
        case 4006: return "OBS at \(url) did not understand a message (close code 4006)\(detail)"
        case 4008: return "OBS at \(url) saw a second Identify (close code 4008)\(detail)"
        case 4011: return "OBS at \(url) kicked this client (close code 4011)\(detail)"
        default: return "OBS at \(url) closed the connection (code \(code))\(detail)"
        }
    }

    public static func unreachable(_ url: String, _ error: String) -> String {
        "OBS is not reachable at \(url) (\(error)): start OBS Studio and turn on its WebSocket server (Tools → WebSocket Server Settings → Enable WebSocket server), or set OBS_WEBSOCKET_URL"
    }
}

/// A request OBS answered with a failure: its type, OBS's status code and comment.
public struct OBSRequestError: Error, Sendable, CustomStringConvertible {
    public var requestType: String
    public var code: Int
    public var comment: String?

    public init(requestType: String, code: Int, comment: String?) {
        self.requestType = requestType
        self.code = code
        self.comment = comment
    }

    public var description: String {
        "OBS refused \(requestType): status \(code)" + (comment.map { " (\($0))" } ?? "")
    }
}

/// The connection could not be made or was lost.
public struct OBSConnectionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// Worth reconnecting once: the connection dropped (not a wrong password).
    public var isDrop: Bool
    public var description: String { message }
}

/// One request of a batch, and its result.
public struct OBSBatchResult: Sendable {
    public var requestType: String
    public var succeeded: Bool
    public var code: Int
    public var comment: String?
    public var responseData: JSONValue
}
