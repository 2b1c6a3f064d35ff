import AIVCore
import AIVOBS
import Foundation

/// `obs.batch`: several requests in one RequestBatch.
public struct OBSBatchStep: Step {
    public init() {}

    static let executions = ["serial": 0, "frame": 1, "parallel": 2]

    public static let kind = StepKindDescription(
        name: "obs.batch",
        summary: "Send several obs-websocket requests as one batch (serially, one per frame, or in parallel).",
        discussion: """
            With halt_on_failure, OBS stops at the first failed request and the step fails naming it; without, every \
            result (with its status) is an output and the step fails only when asked to by fail_on_error.
            """,
        arguments: [
            Property("requests", .array(.object([
                Property("request", .string, required: true, "The request type, as obs-websocket names it."),
                Property("data", .map(.any), "Its requestData."),
            ])), required: true, "A list of {request: Type, data: {…}}."),
            Property("halt_on_failure", .boolean, default: false, "Stop at the first failed request."),
            Property("execution", .oneOfStrings(["serial", "frame", "parallel"]), default: "serial", "How OBS runs them."),
            Property("fail_on_error", .boolean, default: true, "Fail the step when any request failed."),
        ],
        outputs: .object([
            Property("results", .array(.object([
                Property("request", .string, required: true, "The request type."),
                Property("ok", .boolean, required: true, "Whether it succeeded."),
                Property("code", .integer, required: true, "OBS's status code (100 is success)."),
                Property("comment", .anyOf([.string, .null]), required: true, "OBS's comment on a failure."),
                Property("response", .any, required: true, "The responseData."),
            ])), required: true, "One result per request that ran, in order."),
        ]),
        effect: .sideEffecting, service: "obs",
        example: """
            - id: setup
              uses: obs.batch
              with:
                halt_on_failure: true
                requests:
                  - {request: SetCurrentProgramScene, data: {sceneName: Educational-Main}}
                  - {request: SetInputSettings, data: {inputName: Expression, inputSettings: {text: 草}}}
            """,
        checkLiterals: { arguments in
            // Request names are checked even when the requests' data is computed by `${{ }}`.
            (arguments.asWritten["requests"]?.arrayValue ?? []).enumerated().compactMap { index, item in
                guard let name = item["request"]?.stringValue, !name.hasExpressionMarker else { return nil }
                return OBSRequestTypes.problem(name, argument: "requests", at: [.index(index), "request"])
            }
        })

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let client = try OBSClient(context: context)
        let requests = try arguments.list("requests").enumerated().map { index, item throws(StepError) -> (type: String, data: JSONValue?) in
            guard let type = item["request"]?.stringValue else { throw StepError.argument("requests", "item \(index) needs 'request': the request type") }
            return (type, item["data"])
        }
        let halt = try arguments.bool("halt_on_failure", default: false)
        let execution = Self.executions[try arguments.optionalString("execution") ?? "serial"] ?? 0
        let results: [JSONValue]
        let fixture = client.fixtureRequest("OBS-BATCH", "batch", data: .array(requests.map { ["request": .string($0.type), "data": $0.data ?? .null] }))
        if client.hub.mode == .replay {
            let answer = try await client.hub.replay(fixture).json
            results = answer?["results"]?.arrayValue ?? []
        } else {
            let batch: [OBSBatchResult]
            do {
                batch = try await client.withConnection { try await $0.batch(requests, haltOnFailure: halt, executionType: execution) }
            } catch let error as OBSConnectionError {
                throw StepError(error.message)
            }
            results = batch.map { result in
                ["request": .string(result.requestType), "ok": .bool(result.succeeded), "code": .int(result.code),
                 "comment": result.comment.map(JSONValue.string) ?? .null, "response": result.responseData]
            }
            if client.hub.mode == .record {
                client.hub.record(step: context.stepID, item: context.index, service: "obs", request: fixture,
                                  response: HTTPResponse(status: 200, body: Data(JSONValue.object(["results": .array(results)]).canonicalJSON.utf8)))
            }
        }
        if try arguments.bool("fail_on_error", default: true), let failed = results.first(where: { $0["ok"]?.isTruthy != true }) {
            throw StepError("OBS refused \(failed["request"]?.stringValue ?? "a request") in the batch: status \(failed["code"]?.interpolationText ?? "?")"
                            + (failed["comment"]?.stringValue.map { " (\($0))" } ?? ""))
        }
        return StepResult(outputs: ["results": .array(results)])
    }
}
