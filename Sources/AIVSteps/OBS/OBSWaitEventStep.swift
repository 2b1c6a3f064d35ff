import AIVCore
import Foundation

/// `obs.wait_event`: wait for an OBS event, optionally with some fields equal to given values.
public struct OBSWaitEventStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "obs.wait_event",
        summary: "Wait for the next OBS event of a type (e.g. RecordStateChanged with outputState stopped).",
        arguments: [
            Property("event", .string, required: true, "The event type."),
            Property("fields", .map(.any), default: [:], "Event data fields that must equal these values."),
            Property("timeout", .anyOf([.number, .string]), default: 60, role: .duration, "How long to wait."),
        ],
        outputs: .object([Property("data", .any, required: true, "The event's data.")]),
        effect: .sideEffecting, service: "obs",
        example: """
            - id: stopped
              uses: obs.wait_event
              with:
                event: RecordStateChanged
                fields: {outputState: OBS_WEBSOCKET_OUTPUT_STOPPED}
                timeout: 10m
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let client = try OBSClient(context: context)
        let fields = try arguments.object("fields")
        let data = try await client.event(try arguments.string("event"), timeout: try arguments.duration("timeout", default: 60),
                                          match: { data in fields.allSatisfy { data[$0.key] == $0.value } })
        return StepResult(outputs: ["data": data])
    }
}
