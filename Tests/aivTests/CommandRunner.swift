import AIVTestSupport
import Foundation

/// Runs the built `aiv` binary, as a user would, and captures what it prints.
struct CommandRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Written by one reader thread, read after `group.wait()`: the group orders the accesses.
    final class Box: @unchecked Sendable {
        var data = Data()
    }

    /// The package root, found from this file's path.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The `aiv` built beside the test bundle (swift test builds it: this target depends on it).
    static let binary: String = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [besideTests.appendingPathComponent("aiv").path,
                          besideTests.deletingLastPathComponent().appendingPathComponent("aiv").path,
                          packageRoot + "/.build/debug/aiv"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        fatalError("the aiv binary was not found near \(CommandLine.arguments[0])")
    }()

    /// Runs `aiv arguments…` (or another `executable`) in `directory`; a run over `timeout` seconds is killed (SIGKILL, since
    /// Foundation.Process started from a test task cannot deliver SIGTERM) and reported as status -9.
    /// With `killAfter`, the process is sent SIGKILL after that many seconds (to test crashes); with
    /// `killWhen`, as soon as what it has printed so far satisfies the predicate.
    ///
    /// Async, and waiting on a thread of its own (`childProcess`), never on a Swift concurrency one.
    static func run(_ arguments: [String], in directory: String = packageRoot, environment: [String: String] = [:], timeout: Double = 120,
                    killAfter: Double? = nil, killWhen: (@Sendable (String) -> Bool)? = nil, signal: Int32 = SIGKILL,
                    signalTimes: Int = 1, executable: String = binary) async throws -> Result {
        // A few at a time (`TestLoad`): twenty debug builds starting at once starve every test.
        try await childProcess {
            try runBlocking(arguments, in: directory, environment: environment, timeout: timeout, killAfter: killAfter,
                            killWhen: killWhen, signal: signal, signalTimes: signalTimes, executable: executable)
        }
    }

    /// `signal` is what `killWhen` sends (SIGINT to test an interruption; aiv unblocks it itself),
    /// `signalTimes` times back to back (as GNU `timeout` delivers it).
    static func runBlocking(_ arguments: [String], in directory: String, environment: [String: String], timeout: Double,
                            killAfter: Double?, killWhen: (@Sendable (String) -> Bool)? = nil, signal: Int32 = SIGKILL,
                            signalTimes: Int = 1, executable: String = binary) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue(label: "aiv-tests.watchdog").asyncAfter(deadline: .now() + (killAfter ?? timeout), execute: watchdog)
        // Read both pipes to the end before waiting, so a full pipe cannot block the child.
        let group = DispatchGroup()
        let stdoutData = Box(), stderrData = Box()
        DispatchQueue(label: "aiv-tests.stdout").async(group: group) {
            guard let killWhen else {
                stdoutData.data = out.fileHandleForReading.readDataToEndOfFile()
                return
            }
            // Read as it comes, and kill the process once what it printed satisfies `killWhen`.
            var killed = false
            while case let chunk = out.fileHandleForReading.availableData, !chunk.isEmpty {
                stdoutData.data.append(chunk)
                if !killed, killWhen(String(decoding: stdoutData.data, as: UTF8.self)) {
                    for _ in 0..<signalTimes { kill(pid, signal) }
                    killed = true
                }
            }
        }
        DispatchQueue(label: "aiv-tests.stderr").async(group: group) { stderrData.data = err.fileHandleForReading.readDataToEndOfFile() }
        group.wait()
        process.waitUntilExit()
        watchdog.cancel()
        let status = process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
        return Result(status: status, stdout: String(decoding: stdoutData.data, as: UTF8.self), stderr: String(decoding: stderrData.data, as: UTF8.self))
    }
}
