import AIVCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A request as the test server received it.
public struct ReceivedRequest: Sendable {
    public let method: String
    /// The request target as sent: the path with its query, e.g. `/v1beta/files?upload_id=1`.
    public let path: String
    /// Headers in the order received, names as sent.
    public let headers: [(String, String)]
    /// The body, already de-chunked when it came with `Transfer-Encoding: chunked`.
    public let body: Data

    public init(method: String, path: String, headers: [(String, String)], body: Data) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// The first header of that name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.0.lowercased() == wanted }?.1
    }

    /// The path without its query.
    public var pathWithoutQuery: String {
        String(path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// The query's parameters, percent-decoded (`+` is not treated as a space).
    public var queryItems: [String: String] {
        guard let mark = path.firstIndex(of: "?") else { return [:] }
        var items: [String: String] = [:]
        for pair in path[path.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            if items[name] == nil { items[name] = value }
        }
        return items
    }

    /// The body decoded as JSON, or nil when it is not JSON.
    public var json: JSONValue? {
        guard !body.isEmpty else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: body)
    }

    /// The body as UTF-8 text (invalid bytes repaired).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What the test server does with a request.
public enum ServerAction: Sendable {
    /// Answer with this status, these headers and this body. `Content-Length` is always added.
    case respond(status: Int, headers: [(String, String)] = [], body: Data)
    /// Answer with this JSON value as the body and `Content-Type: application/json`.
    case json(status: Int, JSONValue, headers: [(String, String)] = [])
    /// Close the connection without answering. (With URLSession on Linux, do this on a connection
    /// the client has not used before: see `LocalHTTPServer.closeIdleConnections()`.)
    case drop
    /// Announce the full body's `Content-Length`, send only its first `sendBytes` bytes, then close.
    case truncate(status: Int, body: Data, sendBytes: Int)
    /// Send no `Content-Length` (a body that ends where the connection closes), only the first
    /// `sendBytes` bytes of the body, then close: to the client, a whole answer that is cut short.
    case cutShortWithoutLength(status: Int, body: Data, sendBytes: Int)
    /// Wait, then do the other action. The wait ends early (and the connection closes) when the
    /// server stops.
    indirect case delayed(TimeInterval, ServerAction)

    /// A plain-text answer.
    public static func text(_ status: Int, _ text: String, headers: [(String, String)] = []) -> ServerAction {
        .respond(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + headers, body: Data(text.utf8))
    }
}

/// A small HTTP/1.1 server on POSIX sockets, bound to 127.0.0.1 on a port the kernel picks, for
/// tests only.
///
/// Why hand-written rather than a library server: test fakes must misbehave at the byte level
/// (drop a connection mid-answer, send a body shorter than its `Content-Length`, stall before
/// answering), and library servers do not let a handler do that.
///
/// It runs on plain threads, not on Swift concurrency, so it answers whatever the cooperative
/// pool is doing (a test that blocks every pool thread still gets its answers): one thread
/// accepts, and one thread per connection reads requests in turn (keep-alive) until the client
/// closes or asks for `Connection: close`. Request bodies come by `Content-Length` or
/// `Transfer-Encoding: chunked`; `Expect: 100-continue` is answered at once. Every response
/// carries `Content-Length`.
///
/// The handler runs on the connection's thread; it must be thread-safe, and it should not block
/// for long (use `.delayed` to answer late: a delayed answer is cut short by `stop()`).
public final class LocalHTTPServer: @unchecked Sendable {
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let state: ServerState
    private let listenFD: Int32

    public init(handler: @escaping @Sendable (ReceivedRequest) -> ServerAction) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket", errno) }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { let e = errno; close(fd); throw ServerError("bind", e) }
        guard listen(fd, 128) == 0 else { let e = errno; close(fd); throw ServerError("listen", e) }

        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { let e = errno; close(fd); throw ServerError("getsockname", e) }

        port = Int(UInt16(bigEndian: actual.sin_port))
        listenFD = fd
        let state = ServerState(handler: handler)
        self.state = state
        let thread = Thread { LocalHTTPServer.acceptLoop(listenFD: fd, state: state) }
        thread.name = "LocalHTTPServer.accept:\(port)"
        thread.start()
    }

    deinit { stop() }

    /// Everything received so far, in order.
    public var requests: [ReceivedRequest] { state.withLock { $0.requests } }
    public var requestCount: Int { state.withLock { $0.requests.count } }
    /// Connections accepted so far.
    public var connectionCount: Int { state.withLock { $0.connectionsAccepted } }

    /// Stops accepting, closes every open connection (ending delayed answers early) and waits
    /// (at most 5 seconds) until the accept thread has ended. Calling it again does nothing.
    public func stop() {
        let first = state.withLock { s -> Bool in
            if s.stopped { return false }
            s.stopped = true
            return true
        }
        guard first else { return }
        state.wake()
        // shutdown(2) wakes a thread blocked in accept(2) on Linux; close(2) alone does not.
        _ = shutdown(listenFD, Int32(SHUT_RDWR))
        _ = state.acceptEnded.wait(timeout: .now() + 5)
        close(listenFD)
        // Connection threads own their descriptors and close them; waking their recv(2) with
        // shutdown(2) under the lock cannot hit a reused descriptor because a thread removes its
        // descriptor from the set (under the same lock) before closing it.
        state.withLock { s in
            for fd in s.openConnections { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Closes every keep-alive connection that is waiting for its next request (the client sees
    /// the close before it would reuse one), so that the next request opens a new connection.
    ///
    /// Why it matters: when a server closes a *reused* connection without answering, libcurl
    /// resends the request on a new connection, and FoundationNetworking's URLSession (Linux) then
    /// hangs until its timeout instead of reporting an error. On a new connection the same close is
    /// a prompt `URLError(.badServerResponse)` ("Empty reply from server").
    public func closeIdleConnections() {
        state.withLock { s in
            for fd in s.idleConnections { _ = shutdown(fd, Int32(SHUT_RDWR)) }
            s.idleConnections.removeAll()
        }
    }

    // MARK: - Threads

    private static func acceptLoop(listenFD: Int32, state: ServerState) {
        defer { state.acceptEnded.signal() }
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                let e = errno
                if state.withLock({ $0.stopped }) { return }
                if e == EINTR || e == ECONNABORTED || e == EAGAIN { continue }
                if e == EMFILE || e == ENFILE { usleep(10_000); continue }
                return
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let accepted = state.withLock { s -> Bool in
                if s.stopped { return false }
                s.openConnections.insert(fd)
                s.connectionsAccepted += 1
                return true
            }
            guard accepted else { close(fd); return }
            let thread = Thread { Connection(fd: fd, state: state).run() }
            thread.name = "LocalHTTPServer.connection:\(fd)"
            thread.start()
        }
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ call: String, _ code: Int32) { description = "\(call) failed: \(String(cString: strerror(code)))" }
}

// MARK: - Shared state

private struct ServerShared {
    var stopped = false
    var requests: [ReceivedRequest] = []
    var openConnections: Set<Int32> = []
    /// Connections waiting for the first byte of their next request.
    var idleConnections: Set<Int32> = []
    var connectionsAccepted = 0
}

private final class ServerState: @unchecked Sendable {
    let handler: @Sendable (ReceivedRequest) -> ServerAction
    let acceptEnded = DispatchSemaphore(value: 0)
    private let condition = NSCondition()
    private var shared = ServerShared()

    init(handler: @escaping @Sendable (ReceivedRequest) -> ServerAction) { self.handler = handler }

    func withLock<T>(_ body: (inout ServerShared) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(&shared)
    }

    func wake() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Sleeps for the interval; false when the server stopped meanwhile.
    func sleep(_ interval: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: max(0, interval))
        condition.lock()
        defer { condition.unlock() }
        while !shared.stopped {
            if !condition.wait(until: deadline) { return !shared.stopped }
        }
        return false
    }
}

// MARK: - One connection

private final class Connection {
    let fd: Int32
    let state: ServerState
    private var buffer: [UInt8] = []
    private var start = 0 // bytes of `buffer` before this index are consumed

    init(fd: Int32, state: ServerState) {
        self.fd = fd
        self.state = state
    }

    func run() {
        defer {
            state.withLock {
                $0.openConnections.remove(fd)
                $0.idleConnections.remove(fd)
            }
            close(fd)
        }
        while !state.withLock({ $0.stopped }) {
            let request: ReceivedRequest
            let wantsClose: Bool
            if start == buffer.count { state.withLock { _ = $0.idleConnections.insert(fd) } }
            switch readRequest() {
            case .closed:
                return
            case .malformed(let reason):
                _ = write(status: 400, headers: [("Content-Type", "text/plain")], body: Data(reason.utf8), close: true)
                return
            case .request(let r, let close):
                request = r
                wantsClose = close
            }
            state.withLock { $0.requests.append(request) }
            let action = state.handler(request)
            guard perform(action, close: wantsClose), !wantsClose else { return }
        }
    }

    /// Does the action; false when the connection must close.
    private func perform(_ action: ServerAction, close: Bool) -> Bool {
        switch action {
        case .respond(let status, let headers, let body):
            return write(status: status, headers: headers, body: body, close: close)
        case .json(let status, let value, let headers):
            var all = headers
            if !all.contains(where: { $0.0.lowercased() == "content-type" }) {
                all.insert(("Content-Type", "application/json; charset=UTF-8"), at: 0)
            }
            return write(status: status, headers: all, body: Data(value.canonicalJSON.utf8), close: close)
        case .drop:
            return false
        case .truncate(let status, let body, let sendBytes):
            let head = responseHead(status: status, headers: [], contentLength: body.count, close: false)
            _ = sendAll(Array(head.utf8) + Array(body.prefix(max(0, min(sendBytes, body.count)))))
            return false
        case .cutShortWithoutLength(let status, let body, let sendBytes):
            let head = responseHead(status: status, headers: [("Content-Type", "application/json")], contentLength: nil, close: true)
            _ = sendAll(Array(head.utf8) + Array(body.prefix(max(0, min(sendBytes, body.count)))))
            return false
        case .delayed(let interval, let next):
            guard state.sleep(interval) else { return false }
            return perform(next, close: close)
        }
    }

    private func write(status: Int, headers: [(String, String)], body: Data, close: Bool) -> Bool {
        let closing = close || headers.contains { $0.0.lowercased() == "connection" && $0.1.lowercased() == "close" }
        let head = responseHead(status: status, headers: headers, contentLength: body.count, close: closing)
        return sendAll(Array(head.utf8) + Array(body)) && !closing
    }

    private func responseHead(status: Int, headers: [(String, String)], contentLength: Int?, close: Bool) -> String {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for (name, value) in headers where !["content-length", "connection", "transfer-encoding"].contains(name.lowercased()) {
            head += "\(name): \(value)\r\n"
        }
        if let contentLength { head += "Content-Length: \(contentLength)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return head
    }

    private func sendAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 413: "Payload Too Large"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: status < 400 ? "OK" : "Error"
        }
    }

    // MARK: Reading

    private enum ReadResult {
        case request(ReceivedRequest, close: Bool)
        case closed
        case malformed(String)
    }

    private static let maxHeaderBytes = 64 * 1024

    private func readRequest() -> ReadResult {
        // Request line and headers, up to the blank line.
        var lines: [String] = []
        while true {
            guard let line = readLine(limit: Self.maxHeaderBytes) else {
                return lines.isEmpty ? .closed : .malformed("incomplete request head")
            }
            if line.isEmpty {
                if lines.isEmpty { continue } // tolerate blank lines between requests (RFC 9112 §2.2)
                break
            }
            lines.append(line)
            if lines.count > 200 { return .malformed("too many header lines") }
        }
        let requestLine = lines[0].split(separator: " ", omittingEmptySubsequences: true)
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else {
            return .malformed("bad request line: \(lines[0])")
        }
        let method = String(requestLine[0])
        let target = String(requestLine[1])
        let version = String(requestLine[2])
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .malformed("bad header line: \(line)") }
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }

        let connection = header("connection")?.lowercased() ?? ""
        let close = connection.contains("close") || (version == "HTTP/1.0" && !connection.contains("keep-alive"))

        if header("expect")?.lowercased() == "100-continue" {
            guard sendAll(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return .closed }
        }

        var body: [UInt8] = []
        if let coding = header("transfer-encoding")?.lowercased(), coding.contains("chunked") {
            while true {
                guard let sizeLine = readLine(limit: 1024) else { return .malformed("incomplete chunked body") }
                let hex = sizeLine.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard let size = Int(hex, radix: 16), size >= 0 else { return .malformed("bad chunk size: \(sizeLine)") }
                if size == 0 {
                    // Trailers, up to the blank line.
                    while true {
                        guard let trailer = readLine(limit: Self.maxHeaderBytes) else { return .malformed("incomplete trailers") }
                        if trailer.isEmpty { break }
                    }
                    break
                }
                guard let chunk = readExactly(size) else { return .malformed("incomplete chunk") }
                body += chunk
                guard readLine(limit: 2) == "" else { return .malformed("chunk not followed by CRLF") }
            }
        } else if let lengthText = header("content-length") {
            guard let length = Int(lengthText), length >= 0 else { return .malformed("bad Content-Length: \(lengthText)") }
            guard let bytes = readExactly(length) else { return .malformed("body shorter than its Content-Length") }
            body = bytes
        }
        return .request(ReceivedRequest(method: method, path: target, headers: headers, body: Data(body)), close: close)
    }

    /// Reads more bytes into the buffer; false at end of stream or on error.
    private func fill() -> Bool {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65_536 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                buffer += chunk[0..<n]
                state.withLock { _ = $0.idleConnections.remove(fd) }
                return true
            }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// A line without its CRLF (a bare LF is accepted too), or nil at end of stream.
    private func readLine(limit: Int) -> String? {
        var scanned = 0 // bytes after `start` known to hold no LF (fill() may move `start`)
        while true {
            if let lf = buffer[(start + scanned)...].firstIndex(of: 10) {
                var end = lf
                if end > start && buffer[end - 1] == 13 { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = lf + 1
                return line
            }
            scanned = buffer.count - start
            if scanned > limit { return nil }
            guard fill() else { return nil }
        }
    }

    private func readExactly(_ count: Int) -> [UInt8]? {
        while buffer.count - start < count {
            guard fill() else { return nil }
        }
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        return bytes
    }
}
