import AIVCore
import Foundation

/// `obs.replay_save`: save the replay buffer (a good moment) and give its file.
public struct OBSReplaySaveStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "obs.replay_save",
        summary: "Save OBS's replay buffer (starting it first if asked) and output the saved file's path.",
        arguments: [
            Property("start_buffer", .boolean, default: false, "Start the replay buffer when it is not running."),
            Property("timeout", .anyOf([.number, .string]), default: 30, role: .duration, "How long to wait for the file."),
        ],
        outputs: .object([Property("path", .anyOf([.string, .null]), required: true, "The saved replay.")]),
        effect: .sideEffecting, service: "obs",
        example: """
            - id: moment
              uses: obs.replay_save
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let client = try OBSClient(context: context)
        if try arguments.bool("start_buffer", default: false),
           try await client.request("GetReplayBufferStatus")["outputActive"]?.isTruthy != true {
            _ = try await client.event("ReplayBufferStateChanged", timeout: 15,
                                       match: { $0["outputState"]?.stringValue == "OBS_WEBSOCKET_OUTPUT_STARTED" }) {
                _ = try await client.request("StartReplayBuffer")
            }
        }
        let saved = try await client.event("ReplayBufferSaved", timeout: try arguments.duration("timeout", default: 30), match: { _ in true }) {
            _ = try await client.request("SaveReplayBuffer")
        }
        return StepResult(outputs: ["path": saved["savedReplayPath"] ?? .null])
    }
}
