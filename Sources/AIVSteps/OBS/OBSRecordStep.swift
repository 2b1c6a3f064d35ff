import AIVCore
import Foundation

/// `obs.record`: start or stop the recording, or read its status.
public struct OBSRecordStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "obs.record",
        summary: "Start or stop OBS's recording, or read its status; stop waits until the file is written.",
        discussion: """
            stop returns once OBS reports the recording stopped (RecordStateChanged), with the path of the file, so \
            the next step can cut clips from it.
            """,
        arguments: [
            Property("action", .oneOfStrings(["start", "stop", "status"]), required: true, "What to do."),
            Property("timeout", .anyOf([.number, .string]), default: 30, role: .duration, "How long stop waits for the file."),
        ],
        outputs: .object([
            Property("active", .boolean, required: true, "Whether OBS is recording now."),
            Property("path", .anyOf([.string, .null]), required: true, "The recording's file (after stop)."),
            Property("duration", .anyOf([.number, .null]), required: true, "Seconds recorded (status)."),
        ]),
        effect: .sideEffecting, service: "obs",
        example: """
            - id: stop
              uses: obs.record
              with:
                action: stop
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let client = try OBSClient(context: context)
        switch try arguments.string("action") {
        case "start":
            let waiting = try await client.event("RecordStateChanged", timeout: try arguments.duration("timeout", default: 30),
                                                 match: { $0["outputState"]?.stringValue == "OBS_WEBSOCKET_OUTPUT_STARTED" }) {
                _ = try await client.request("StartRecord")
            }
            return StepResult(outputs: ["active": true, "path": waiting["outputPath"] ?? .null, "duration": .null])
        case "stop":
            let stopped = try await client.event("RecordStateChanged", timeout: try arguments.duration("timeout", default: 30),
                                                 match: { $0["outputState"]?.stringValue == "OBS_WEBSOCKET_OUTPUT_STOPPED" }) {
                _ = try await client.request("StopRecord")
            }
            return StepResult(outputs: ["active": false, "path": stopped["outputPath"] ?? .null, "duration": .null])
        default:
            let status = try await client.request("GetRecordStatus")
            let millis = status["outputDuration"]?.numberValue
            return StepResult(outputs: ["active": .bool(status["outputActive"]?.isTruthy == true), "path": .null,
                                        "duration": millis.map { .double($0 / 1000) } ?? .null])
        }
    }
}
