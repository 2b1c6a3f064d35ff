import Foundation

/// A request as every service step builds it, whatever carries it (the network, or fixtures).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    /// Header names as sent; lookups ignore case.
    public var headers: [String: String]
    public var body: HTTPBody
    /// Seconds before the request is given up (and, as a transient failure, tried again); nil
    /// for the service's `timeout` setting.
    public var timeout: Double?
    /// The step (and item) that sends it, set by its service client: a dry run that has no
    /// recording for it compares it with that step's own recordings first.
    public var origin: (step: String, item: Int?)?

    public init(method: String, url: URL, headers: [String: String] = [:], body: HTTPBody = .empty, timeout: Double? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// What a request sends: nothing, bytes in memory, or a file streamed from disk (large media
/// uploads never sit in memory whole).
public enum HTTPBody: Sendable {
    case empty
    case data(Data)
    case file(path: String)

    public static func json(_ value: JSONValue) -> HTTPBody { .data(Data(value.canonicalJSON.utf8)) }

    /// The body's size in bytes.
    public var count: Int {
        switch self {
        case .empty: 0
        case .data(let data): data.count
        case .file(let path): ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
        }
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Names lower-cased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The body as JSON, nil when it is not JSON.
    public var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: body) }

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// Carries requests: the network (`HTTPClientTransport`, in AIVNetwork) or recorded fixtures (`ReplayTransport`).
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// Why a request got no HTTP answer at all.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The server took longer than the timeout to send anything.
        case timedOut
        /// The connection closed before the whole answer came (a dropped connection, a truncated body).
        case connectionLost
        /// Nothing listens at the address, or the name does not resolve: a setting to fix, not a blip.
        case cannotConnect
        /// A dry run found no recorded exchange for the request.
        case noRecording
        case other
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Worth trying again: the same request may well succeed in a moment.
    public var isTransient: Bool { kind == .timedOut || kind == .connectionLost }

    public var description: String { message }
}
