import Foundation
import Testing
#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// The OBS Studio these tests drive: the one `.ci/run` starts headless (../shared/obs), at
/// OBS_WEBSOCKET_URL with OBS_WEBSOCKET_PASSWORD (defaults: ws://127.0.0.1:4455, secret123).
public enum RealOBS {
    static let environment = ProcessInfo.processInfo.environment
    public static let url = environment["OBS_WEBSOCKET_URL"] ?? "ws://127.0.0.1:4455"
    public static let password = environment["OBS_WEBSOCKET_PASSWORD"] ?? "secret123"

    /// Whether something listens at the URL's port; with AIV_REQUIRE_OBS=1 (CI) a missing OBS fails the tests instead of skipping them.
    public static let available: Bool = {
        let port = URLComponents(string: url)?.port ?? 4455
        let descriptor = socket(AF_INET, streamSocket, 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected == 0
    }()

    public static var enabled: Bool { available || environment["AIV_REQUIRE_OBS"] == "1" }
}


/// One test at a time drives the real OBS: tests in different suites (and targets) run in
/// parallel in one process, and two recordings or program-scene switches at once would trip each
/// other. Apply `.realOBS` to a suite (the whole suite holds OBS) or to a test.
public struct RealOBSAccess: TestTrait, SuiteTrait, TestScoping {
    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await RealOBS.gate.run(function)
    }
}

extension Trait where Self == RealOBSAccess {
    public static var realOBS: RealOBSAccess { RealOBSAccess() }
}

extension RealOBS {
    static let gate = AsyncGate()
}

/// A lock that waits without blocking a thread, taken in arrival order.
actor AsyncGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run(_ body: @Sendable () async throws -> Void) async throws {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        try await body()
    }
}
