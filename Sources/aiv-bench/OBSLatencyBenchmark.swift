import AIVCore
import AIVOBS
import Foundation
import Logging

/// Round trips to a real OBS Studio (OBS_WEBSOCKET_URL, OBS_WEBSOCKET_PASSWORD; ../shared/obs
/// starts one headless): a few hundred GetVersion requests one after another on one connection,
/// then the same number of SetInputSettings on a text source (what the overlay step sends).
enum OBSLatencyBenchmark {
    static func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let url = environment["OBS_WEBSOCKET_URL"] ?? "ws://127.0.0.1:4455"
        let password = environment["OBS_WEBSOCKET_PASSWORD"] ?? "secret123"
        let count = Int(environment["AIV_BENCH_REQUESTS"] ?? "") ?? 500
        let started = ContinuousClock.now
        let connection = try await OBSConnection.connect(url: url, password: password, timeout: 5, logger: Logger(label: "bench"))
        let connect = ContinuousClock.now - started

        let scene = "aiv-bench"
        if (try? await connection.request("CreateScene", data: ["sceneName": .string(scene)])) == nil { /* already there */ }
        let source = "aiv-bench-text"
        let kinds = try await connection.request("GetInputKindList")["inputKinds"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let kind = ["text_ft2_source_v2", "text_gdiplus_v2"].first(where: kinds.contains) ?? "text_ft2_source_v2"
        _ = try? await connection.request("CreateInput", data: ["sceneName": .string(scene), "inputName": .string(source),
                                                                "inputKind": .string(kind), "inputSettings": ["text": "0"]])
        print("OBS at \(url): connect and identify \(format(connect))\n")
        print("| request | n | median | p99 | max |\n|---|---:|---:|---:|---:|")
        for name in ["GetVersion", "SetInputSettings"] {
            var times: [Duration] = []
            for index in 0..<count {
                let payload: JSONValue = name == "GetVersion" ? .null
                    : ["inputName": .string(source), "inputSettings": ["text": .string("草 \(index)")]]
                let begin = ContinuousClock.now
                _ = try await connection.request(name, data: payload)
                times.append(ContinuousClock.now - begin)
            }
            times.sort()
            print("| \(name) | \(count) | \(format(times[count / 2])) | \(format(times[min(count - 1, count * 99 / 100)])) | \(format(times.last!)) |")
        }
        await connection.close()
    }

    static func format(_ duration: Duration) -> String {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String(format: "%.2f ms", ms)
    }
}
