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
            the next step can cut clips from it. start when OBS is already recording (a run that failed before its stop, \
            run again) leaves that recording going (resuming it if paused) and says so (`already`), so a re-run carries on instead of failing.
            """,
        arguments: [
            Property("action", .oneOfStrings(["start", "stop", "status"]), required: true, "What to do."),
            Property("timeout", .anyOf([.number, .string]), default: 30, role: .duration, "How long stop waits for the file."),
        ],
        outputs: .object([
            Property("active", .boolean, required: true, "Whether OBS is recording now."),
            Property("path", .anyOf([.string, .null]), required: true, "The recording's file (after stop)."),
            Property("duration", .anyOf([.number, .null]), required: true, "Seconds recorded (status, and start of a recording already going)."),
            Property("already", .boolean, required: true, "start: whether OBS was recording already."),
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
            let status = try await client.request("GetRecordStatus")
            if status["outputActive"]?.isTruthy == true {
                if status["outputPaused"]?.isTruthy == true {
                    context.logger.notice("OBS's recording was paused; resuming it")
                    _ = try await client.request("ResumeRecord")
                } else {
                    context.logger.notice("OBS is already recording; leaving that recording going")
                }
                return StepResult(outputs: ["active": true, "path": .null, "duration": Self.seconds(status), "already": true])
            }
            let waiting = try await client.event("RecordStateChanged", timeout: try arguments.duration("timeout", default: 30),
                                                 match: { $0["outputState"]?.stringValue == "OBS_WEBSOCKET_OUTPUT_STARTED" }) {
                _ = try await client.request("StartRecord")
            }
            return StepResult(outputs: ["active": true, "path": waiting["outputPath"] ?? .null, "duration": .null, "already": false])
        case "stop":
            let stopped = try await client.event("RecordStateChanged", timeout: try arguments.duration("timeout", default: 30),
                                                 match: { $0["outputState"]?.stringValue == "OBS_WEBSOCKET_OUTPUT_STOPPED" }) {
                _ = try await client.request("StopRecord")
            }
            return StepResult(outputs: ["active": false, "path": stopped["outputPath"] ?? .null, "duration": .null, "already": false])
        default:
            let status = try await client.request("GetRecordStatus")
            return StepResult(outputs: ["active": .bool(status["outputActive"]?.isTruthy == true), "path": .null,
                                        "duration": Self.seconds(status), "already": false])
        }
    }

    /// GetRecordStatus's `outputDuration` (milliseconds) in seconds.
    static func seconds(_ status: JSONValue) -> JSONValue {
        status["outputDuration"]?.numberValue.map { .double($0 / 1000) } ?? .null
    }
}
