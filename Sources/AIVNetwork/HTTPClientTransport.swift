import AIVCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The network: AsyncHTTPClient on SwiftNIO, which aiv already carries for OBS's WebSocket.
///
/// Not URLSession: on Linux its libcurl event loop spins while a request waits for its answer
/// (`strace` of one request to a server taking 4 s: 3.2 s of system time and about 40,000 futex,
/// epoll and poll calls, a whole core busy for nothing), and a Gemini generation can take
/// minutes. Linking FoundationNetworking also made every aiv command load libcurl and the 30
/// libraries behind it at start (6 ms, whatever the command).
///
/// One client for the process, made on the first request (a run of local steps never starts it)
/// and never shut down, so connections to a service are reused across steps and runs in one
/// process, and nothing has to be closed before exit.
public struct HTTPClientTransport: HTTPTransport {
    /// Bodies larger than this are refused rather than held in memory: the services answer with
    /// JSON of kilobytes, so this only stops a runaway answer.
    static let largestBody = 64 << 20
    /// Seconds to open a connection.
    static let connectTimeout: Int64 = 10

    public init() {}

    static let client: HTTPClient = {
        // No redirects: a service that answers 3xx gets that answer reported, and a key header
        // (`x-goog-api-key`, which AsyncHTTPClient does not strip) never follows one elsewhere.
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(Self.connectTimeout)))
        // HTTP/1.1, whose failures (a dropped connection, a truncated body) map to what the
        // service client retries; HTTP/2's stream errors would not.
        configuration.httpVersion = .http1Only
        // A refused connection (a wrong base_url, a server that is down) fails at once: the
        // service client decides what to try again, and how soon.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 16
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }()

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url.absoluteString)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        switch request.body {
        case .empty: break
        case .data(let data): outgoing.body = .bytes(ByteBuffer(bytes: data))
        case .file(let path): outgoing.body = try Self.streaming(path)
        }
        let timeout = TimeAmount.milliseconds(Int64((request.timeout ?? 300) * 1000))
        do {
            let response = try await Self.client.execute(outgoing, timeout: timeout)
            let body = try await response.body.collect(upTo: Self.largestBody)
            var headers: [String: String] = [:]
            for header in response.headers {
                let name = header.name.lowercased()
                headers[name] = headers[name].map { "\($0), \(header.value)" } ?? header.value
            }
            return HTTPResponse(status: Int(response.status.code), headers: headers, body: Data(body.readableBytesView))
        } catch {
            if Task.isCancelled || (error as? HTTPClientError) == .cancelled || error is CancellationError { throw CancellationError() }
            throw Self.describe(error, request: request)
        }
    }

    /// A file's bytes, read a megabyte at a time as the request goes out: an upload of a
    /// recording never sits in memory whole.
    static func streaming(_ path: String) throws -> HTTPClientRequest.Body {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } catch {
            throw TransportError(.other, "cannot read \(path) to send it: \(error.localizedDescription)")
        }
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 0)
        let chunks = AsyncThrowingStream<ByteBuffer, any Error> {
            guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else {
                try? handle.close()
                return nil
            }
            return ByteBuffer(bytes: data)
        }
        return .stream(chunks, length: .known(Int64(size)))
    }

    /// The error in the terms the service client acts on: worth trying again or not.
    static func describe(_ error: any Error, request: HTTPRequest) -> TransportError {
        let target = "\(request.method) \(Redaction.displayURL(request.url))"
        let noAnswer = TransportError(.timedOut, "\(target): no answer within \(Durations.format(request.timeout ?? 300))")
        let noConnection = TransportError(.timedOut, "\(target): could not open a connection within \(connectTimeout)s")
        func lost(_ why: Any) -> TransportError {
            TransportError(.connectionLost, "\(target): the connection was lost before the whole answer came (\(why))")
        }
        func cannotConnect(_ why: String) -> TransportError {
            TransportError(.cannotConnect, "\(target): cannot connect (\(why)); is the service's base_url right?")
        }
        switch error {
        case let error as HTTPClientError where [.connectTimeout, .tlsHandshakeTimeout].contains(error):
            return noConnection
        case let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .writeTimeout].contains(error):
            return noAnswer
        case let error as HTTPClientError where [.remoteConnectionClosed, .bodyLengthMismatch, .uncleanShutdown].contains(error):
            return lost(error)
        case let error as NIOConnectionError:
            return cannotConnect(error.connectionErrors.first.map { reason(of: $0.error) } ?? "the name does not resolve")
        case let error as IOError where [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode):
            return cannotConnect(reason(of: error))
        case let error as IOError where [ECONNRESET, EPIPE].contains(error.errnoCode):
            return lost(reason(of: error))
        case is NIOTooManyBytesError:
            return TransportError(.other, "\(target): the answer is larger than \(largestBody >> 20) MB; aiv does not read it")
        case let error as ChannelError:
            if case .connectTimeout = error { return noConnection }
            return lost(error)
        case is HTTPParserError:
            return lost(error)
        default:
            return TransportError(.other, "\(target): \(error)")
        }
    }

    /// The system's words for a socket error ("Connection refused"), not NIO's debug text.
    static func reason(of error: any Error) -> String {
        guard let error = error as? IOError else { return "\(error)" }
        return String(cString: strerror(error.errnoCode))
    }
}
