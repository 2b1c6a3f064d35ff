import AIVCore
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// An obs-websocket v5 server in the test process, for what a real OBS will not do on demand: drop
/// the connection in the middle of a request, answer with something that is not the protocol,
/// never answer. WebSocket framing and the upgrade are SwiftNIO's; only the protocol's messages
/// (Hello, Identify, Identified, requests and their answers) are spoken here, as the obs-websocket
/// 5.x protocol document defines them.
public final class FakeOBS: @unchecked Sendable {
    /// How the server answers one request.
    public indirect enum Reply: Sendable {
        /// `requestStatus.result` true (code 100), with this `responseData`.
        case ok(JSONValue)
        /// `requestStatus.result` false with OBS's code and comment.
        case failed(code: Int, comment: String)
        /// This text as it is, in place of an answer.
        case raw(String)
        /// The TCP connection closed at once, with no WebSocket close frame.
        case drop
        /// An answer (op 7) with its request id but no `requestStatus`.
        case withoutStatus
        /// No answer at all.
        case silence
        /// This text first, then the reply.
        case preceded(String, Reply)
    }

    /// One request the server read, and the connection (1, 2, …) it came on.
    public struct Request: Sendable {
        public var connection: Int
        public var type: String
        public var data: JSONValue
    }

    public let password: String?
    /// Whether a new connection is greeted with Hello (a server that never does lets a client's
    /// connect timeout be tested).
    public let greets: Bool
    /// The RPC version the server speaks: any other in Identify is closed with 4010.
    public let rpcVersion: Int
    public private(set) var url = ""
    private let respond: @Sendable (Request) -> Reply
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?
    private let lock = NSLock()
    private var requestLog: [Request] = []
    private var identifyLog: [JSONValue] = []
    private var connectionCount = 0

    public init(password: String? = nil, greets: Bool = true, rpcVersion: Int = 1,
                respond: @escaping @Sendable (Request) -> Reply = { _ in .ok([:]) }) async throws {
        self.password = password
        self.greets = greets
        self.rpcVersion = rpcVersion
        self.respond = respond
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20,
            shouldUpgrade: { channel, head in
                var headers = HTTPHeaders()
                if head.headers["Sec-WebSocket-Protocol"].joined(separator: ",").contains("obswebsocket.json") {
                    headers.add(name: "Sec-WebSocket-Protocol", value: "obswebsocket.json")
                }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { [self] channel, _ in
                let number = lock.withLock {
                    connectionCount += 1
                    return connectionCount
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: 1 << 24),
                        FakeOBSSession(server: self, number: number),
                    ])
                }
            })
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        url = "ws://127.0.0.1:\(channel!.localAddress!.port!)"
    }

    public func stop() async {
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    /// Every request read so far, in order.
    public var requests: [Request] { lock.withLock { requestLog } }
    /// Every Identify message's data, in order.
    public var identifies: [JSONValue] { lock.withLock { identifyLog } }
    /// How many WebSocket connections were opened.
    public var connections: Int { lock.withLock { connectionCount } }

    fileprivate func received(_ request: Request) -> Reply {
        lock.withLock { requestLog.append(request) }
        return respond(request)
    }

    fileprivate func identified(_ data: JSONValue) {
        lock.withLock { identifyLog.append(data) }
    }

    /// The protocol's authentication string, computed here on its own so that the client's is
    /// checked against an independent implementation.
    static func expectedAuthentication(password: String, salt: String, challenge: String) -> String {
        let secret = Data(SHA256.hash(data: Data((password + salt).utf8))).base64EncodedString()
        return Data(SHA256.hash(data: Data((secret + challenge).utf8))).base64EncodedString()
    }
}

/// One client's connection: greets, checks Identify, answers requests as the server's script says.
private final class FakeOBSSession: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let server: FakeOBS
    let number: Int
    let salt = "salt-\(UUID().uuidString.prefix(8))"
    let challenge = "challenge-\(UUID().uuidString.prefix(8))"
    var identified = false

    init(server: FakeOBS, number: Int) {
        self.server = server
        self.number = number
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard server.greets else { return }
        var hello: [String: JSONValue] = ["obsWebSocketVersion": "5.1.0", "rpcVersion": .int(server.rpcVersion)]
        if server.password != nil { hello["authentication"] = ["salt": .string(salt), "challenge": .string(challenge)] }
        send(["op": 0, "d": .object(hello)], context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            let text = String(buffer: frame.unmaskedData)
            guard let message = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                return close(code: 4002, context: context)
            }
            handle(message, context: context)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: frame.unmaskedData)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
        default:
            break
        }
    }

    private func handle(_ message: JSONValue, context: ChannelHandlerContext) {
        let data = message["d"] ?? .null
        switch Int(message["op"]?.numberValue ?? -1) {
        case 1:
            guard Int(data["rpcVersion"]?.numberValue ?? 0) == server.rpcVersion else { return close(code: 4010, context: context) }
            if let password = server.password {
                let expected = FakeOBS.expectedAuthentication(password: password, salt: salt, challenge: challenge)
                guard data["authentication"]?.stringValue == expected else { return close(code: 4009, context: context) }
            }
            server.identified(data)
            identified = true
            send(["op": 2, "d": ["negotiatedRpcVersion": .int(server.rpcVersion)]], context: context)
        case 6:
            guard identified else { return close(code: 4007, context: context) }
            let type = data["requestType"]?.stringValue ?? ""
            let id = data["requestId"] ?? .null
            let reply = server.received(.init(connection: number, type: type, data: data["requestData"] ?? .null))
            answer(reply, type: type, id: id, context: context)
        default:
            close(code: 4004, context: context)
        }
    }

    private func answer(_ reply: FakeOBS.Reply, type: String, id: JSONValue, context: ChannelHandlerContext) {
        var answer: [String: JSONValue] = ["requestType": .string(type), "requestId": id]
        switch reply {
        case .ok(let data):
            answer["requestStatus"] = ["result": true, "code": 100]
            answer["responseData"] = data
        case .failed(let code, let comment):
            answer["requestStatus"] = ["result": false, "code": .int(code), "comment": .string(comment)]
        case .raw(let text):
            let frame = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: text))
            return context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        case .drop:
            return context.close(promise: nil)
        case .withoutStatus:
            break
        case .preceded(let text, let reply):
            let frame = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: text))
            context.write(wrapOutboundOut(frame), promise: nil)
            return self.answer(reply, type: type, id: id, context: context)
        case .silence:
            return
        }
        send(["op": 7, "d": .object(answer)], context: context)
    }

    private func send(_ message: JSONValue, context: ChannelHandlerContext) {
        let frame = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: message.canonicalJSON))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    /// A close frame with one of the protocol's close codes, then the connection closed.
    private func close(code: Int, context: ChannelHandlerContext) {
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: .init(codeNumber: code))
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
    }
}
