import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The network: URLSession (libcurl on Linux). One session per run, so connections to a service
/// are reused across steps; file bodies are streamed from disk.
///
/// The session is made on the first request: making one starts libcurl and reads OpenSSL's
/// configuration (a few per cent of a one-step run in `perf`), which a run of local steps, or a
/// cached run, never needs.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    private let maxConnectionsPerHost: Int
    private let lock = NSLock()
    private var madeSession: URLSession?

    public init(maxConnectionsPerHost: Int = 16) {
        self.maxConnectionsPerHost = maxConnectionsPerHost
    }

    deinit { madeSession?.finishTasksAndInvalidate() }

    private var session: URLSession {
        lock.lock()
        defer { lock.unlock() }
        if let madeSession { return madeSession }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = maxConnectionsPerHost
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        // The service client keeps each request's time limit itself (a long generation may send
        // nothing for minutes); URLSession's own 60-second default must not cut it first.
        configuration.timeoutIntervalForRequest = 3600
        let session = URLSession(configuration: configuration)
        madeSession = session
        return session
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var urlRequest = URLRequest(url: request.url, timeoutInterval: request.timeout ?? 300)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        let result: (Data, URLResponse)
        do {
            switch request.body {
            case .empty:
                result = try await session.data(for: urlRequest)
            case .data(let data):
                result = try await session.upload(for: urlRequest, from: data)
            case .file(let path):
                result = try await session.upload(for: urlRequest, fromFile: URL(fileURLWithPath: path))
            }
        } catch let error as URLError {
            // A request cancelled with its step (a timeout, a failed sibling) is a cancellation, not a failure.
            if error.code == .cancelled || Task.isCancelled { throw CancellationError() }
            throw Self.describe(error, request: request)
        }
        guard let http = result.1 as? HTTPURLResponse else {
            throw TransportError(.other, "\(request.method) \(Redaction.displayURL(request.url)): the answer is not HTTP")
        }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return HTTPResponse(status: http.statusCode, headers: headers, body: result.0)
    }

    static func describe(_ error: URLError, request: HTTPRequest) -> TransportError {
        let target = "\(request.method) \(Redaction.displayURL(request.url))"
        switch error.code {
        case .timedOut:
            return TransportError(.timedOut, "\(target): no answer within \(Durations.format(request.timeout ?? 300))")
        // libcurl's "transfer closed with N bytes remaining" (a body shorter than its Content-Length)
        // reaches URLSession on Linux as an unknown error.
        case .networkConnectionLost, .cannotParseResponse, .badServerResponse, .zeroByteResource, .cannotDecodeContentData, .unknown:
            return TransportError(.connectionLost, "\(target): the connection was lost before the whole answer came (\(error.localizedDescription))")
        case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet:
            return TransportError(.cannotConnect, "\(target): cannot connect (\(error.localizedDescription)); is the service's base_url right?")
        default:
            return TransportError(.other, "\(target): \(error.localizedDescription)")
        }
    }
}
