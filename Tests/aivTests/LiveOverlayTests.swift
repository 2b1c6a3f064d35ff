import AIVCore
import AIVOBS
import AIVTestSupport
import Foundation
import Logging
import Testing

/// workflows/live-overlay.yaml with the built `aiv`: replayed from its shipped fixtures with no
/// OBS, and run against the real OBS Studio that `.ci/run` starts.
@Suite(.serialized) struct LiveOverlayTests {
    typealias Workspace = PostStreamTests.Workspace

    @Test func aDryRunReplaysTheShippedFixturesWithoutOBSOrWaiting() async throws {
        let workspace = try Workspace()
        // Nothing listens on port 1: a dry run must not try.
        let result = try await workspace.aiv(["run", "workflows/live-overlay.yaml", "--dry-run", "--json", "--run-dir", "out/dry"],
                                             environment: ["OBS_WEBSOCKET_URL": "ws://127.0.0.1:1", "OBS_WEBSOCKET_PASSWORD": ""])
        #expect(result.status == 0, "\(result.stdout.suffix(2000))\n\(result.stderr.suffix(2000))")
        #expect(workspace.statuses(result) == ["texts": "succeeded", "scene": "succeeded", "overlay": "succeeded", "start": "succeeded",
                                               "show": "succeeded", "stop": "succeeded", "handoff": "succeeded"])
        let shown = try workspace.outputs("out/dry", "show").arrayValue ?? []
        #expect(shown.count == 3)
        // Three expressions at 20 s each are a minute live; replayed, they are not waited for.
        let show = result.stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
            .first { $0["event"] == "step_finished" && $0["step"] == "show" }
        #expect((show?["duration"]?.numberValue ?? 60) < 10)
        let handoff = workspace.folder.read("out/dry/post-stream.inputs.yaml") ?? ""
        #expect(handoff.contains("recording: /tmp/aiv-obs/rec/"))
        #expect(handoff.contains("transcript: null"))
        // A stream's window (not the 3-minute sample's 1m) goes with the recording: 10m, which
        // expressions see as seconds.
        #expect(handoff.contains("window: 600"))

        // Expressions without their fields are refused before anything runs (the input's `items`
        // schema), not after the recording has started. Before that schema, the first step failed.
        for (given, problem) in [("expressions=草,てぇてぇ", "input 'expressions' item 0: \"草\" is a string, not an object"),
                                 ("expressions=[{japanese: 草, english: lol, difficulty: N3}]", "input 'expressions' item 0: missing required property 'reading'")] {
            let bad = try await workspace.aiv(["run", "workflows/live-overlay.yaml", "--dry-run", "--run-dir", "out/bad", "--input", given],
                                              environment: ["OBS_WEBSOCKET_URL": "ws://127.0.0.1:1", "OBS_WEBSOCKET_PASSWORD": ""])
            #expect(bad.status == 2)
            #expect(bad.stderr.contains(problem), "\(bad.stderr)")
            #expect(!FileManager.default.fileExists(atPath: workspace.folder.path + "/out/bad"))
        }
    }

    @Test(.enabled(if: RealOBS.enabled, "needs OBS Studio's WebSocket server (.ci/run starts one)"), .realOBS)
    func aLiveRunShowsEachExpressionInTurnRecordsAndHandsTheFileToPostStream() async throws {
        let workspace = try Workspace()
        let tag = UUID().uuidString.prefix(6)
        workspace.folder.write("today.yaml", """
            scene: aiv-live-\(tag)
            overlay: aiv-expression-\(tag)
            show_for: 1s
            expressions:
              - {japanese: 草, reading: くさ, english: lol, difficulty: N3}
              - {japanese: てぇてぇ, reading: てぇてぇ, english: precious, difficulty: N2}
            """)
        let result = try await workspace.aiv(["run", "workflows/live-overlay.yaml", "--inputs", "today.yaml", "--json", "--run-dir", "out/live"],
                                             environment: ["OBS_WEBSOCKET_URL": RealOBS.url, "OBS_WEBSOCKET_PASSWORD": RealOBS.password])
        #expect(result.status == 0, "\(result.stdout.suffix(2000))\n\(result.stderr.suffix(2000))")
        #expect(!result.stdout.contains(RealOBS.password) && !result.stderr.contains(RealOBS.password))
        // One after the other, each held for a second.
        let events = result.stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        let show = events.first { $0["event"] == "step_finished" && $0["step"] == "show" }
        #expect((show?["duration"]?.numberValue ?? 0) >= 2)

        // The overlay shows the last expression, in the scene now on program.
        // A generous timeout: a CI run once saw OBS take over 5 s to greet with the suite running.
        let connection = try await OBSConnection.connect(url: RealOBS.url, password: RealOBS.password, timeout: 30, logger: Logger(label: "test"))
        defer { Task { await connection.close() } }
        let settings = try await connection.request("GetInputSettings", data: ["inputName": .string("aiv-expression-\(tag)")])
        #expect(settings["inputSettings"]?["text"] == "てぇてぇ（てぇてぇ）\nprecious · N2")
        let program = try await connection.request("GetCurrentProgramScene")
        #expect(program["currentProgramSceneName"]?.stringValue == "aiv-live-\(tag)")

        // The recording is on disk, and post-stream takes the hand-off as its inputs.
        let stop = try workspace.outputs("out/live", "stop")
        let recording = try #require(stop["path"]?.stringValue)
        let size = (try? FileManager.default.attributesOfItem(atPath: recording)[.size] as? Int) ?? 0
        #expect(size > 0)
        let plan = try await workspace.aiv(["plan", "workflows/post-stream.yaml", "--inputs", "out/live/post-stream.inputs.yaml"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("recording = \(recording)"))
        #expect(plan.stdout.contains("transcript = (none)"))
    }
}
