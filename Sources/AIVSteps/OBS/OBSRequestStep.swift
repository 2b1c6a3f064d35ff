import AIVCore
import Foundation

/// `obs.request`: any obs-websocket request, for what the named OBS steps do not cover.
public struct OBSRequestStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "obs.request",
        summary: "Send any obs-websocket v5 request (GetVersion, SetInputSettings, …) and get its response data.",
        discussion: "A failed request fails the step with OBS's status code and comment (600: no source by that name, …).",
        arguments: [
            Property("request", .string, required: true, "The request type, as obs-websocket names it."),
            Property("data", .map(.any), "Its requestData."),
        ],
        outputs: .object([Property("response", .any, required: true, "The responseData.")]),
        effect: .sideEffecting, service: "obs",
        example: """
            - id: version
              uses: obs.request
              with:
                request: GetVersion
            """,
        checkLiterals: { arguments in
            arguments["request"]?.stringValue.flatMap { OBSRequestTypes.problem($0, argument: "request") }.map { [$0] } ?? []
        })

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let client = try OBSClient(context: context)
        let response = try await client.request(try arguments.string("request"), arguments["data"])
        return StepResult(outputs: ["response": response])
    }
}
