import AIVCore
import Foundation

/// `obs.scene`: switch the program scene (creating it first when asked).
public struct OBSSceneStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "obs.scene",
        summary: "Switch OBS's program scene, creating the scene first if asked.",
        arguments: [
            Property("scene", .string, required: true, "The scene's name, e.g. Educational-Main."),
            Property("create", .boolean, default: false, "Create the scene when OBS has none by that name."),
        ],
        outputs: .object([
            Property("scene", .string, required: true, "The program scene now."),
            Property("previous", .anyOf([.string, .null]), required: true, "The program scene before."),
            Property("created", .boolean, required: true, "Whether the scene was created."),
        ]),
        effect: .sideEffecting, service: "obs",
        example: """
            - id: educational
              uses: obs.scene
              with:
                scene: Educational-Main
                create: true
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let client = try OBSClient(context: context)
        let scene = try arguments.string("scene")
        let list = try await client.request("GetSceneList")
        let names = (list["scenes"]?.arrayValue ?? []).compactMap { $0["sceneName"]?.stringValue }
        var created = false
        if !names.contains(scene) {
            guard try arguments.bool("create", default: false) else {
                throw StepError("OBS has no scene '\(scene)'\(Suggestions.didYouMean(scene, in: names)); its scenes are \(names.joined(separator: ", ")) (or set create: true)")
            }
            _ = try await client.request("CreateScene", ["sceneName": .string(scene)])
            created = true
        }
        _ = try await client.request("SetCurrentProgramScene", ["sceneName": .string(scene)])
        return StepResult(outputs: ["scene": .string(scene), "previous": list["currentProgramSceneName"] ?? .null, "created": .bool(created)])
    }
}
