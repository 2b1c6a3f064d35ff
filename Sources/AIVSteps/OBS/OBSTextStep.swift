import AIVCore
import Foundation

/// `obs.text`: set a text source's text (the overlay with the current expression).
public struct OBSTextStep: Step {
    public init() {}

    /// Text source kinds by platform: FreeType 2 on Linux, GDI+ on Windows, and the older names.
    static let textKinds = ["text_ft2_source_v2", "text_gdiplus_v2", "text_ft2_source", "text_gdiplus"]

    public static let kind = StepKindDescription(
        name: "obs.text",
        summary: "Set the text of an OBS text source, creating it in a scene if asked.",
        discussion: """
            The text source kind is discovered from OBS (text_ft2_source_v2 on Linux, text_gdiplus_v2 on Windows). With `hold`, the step \
            keeps the text on screen that long before it finishes, so a for_each with max_parallel: 1 shows a list one item at a time \
            (a dry run does not wait). A source it creates is given a second before the step ends: OBS's window \
            writes back the text of a new source's toolbar, which undid an update sent at once.
            """,
        arguments: [
            Property("source", .string, required: true, "The text source's name."),
            Property("text", .string, required: true, "The text to show."),
            Property("scene", .string, "The scene to create the source in (with create: true)."),
            Property("create", .boolean, default: false, "Create the source when OBS has none by that name."),
            Property("hold", .anyOf([.number, .string]), default: 0, role: .duration, "How long the text stays before the step finishes."),
        ],
        outputs: .object([
            Property("source", .string, required: true, "The source."),
            Property("kind", .string, required: true, "Its input kind."),
            Property("created", .boolean, required: true, "Whether it was created."),
        ]),
        effect: .sideEffecting, service: "obs",
        example: """
            - id: overlay
              uses: obs.text
              for_each: ${{ steps.vocabulary.outputs.items }}
              max_parallel: 1
              with:
                source: Expression
                hold: 8s
                text: ${{ format('{0} — {1} ({2})', item.japanese, item.english, item.difficulty) }}
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let hold = try arguments.duration("hold", default: 0)
        guard hold >= 0 else { throw StepError.argument("hold", "must be 0 seconds or more") }
        let result = try await show(arguments, context: context)
        if hold > 0, context.services?.mode != .replay {
            try await context.clock.sleep(for: .milliseconds(Int64(hold * 1000)))
        }
        return result
    }

    /// Reads the text back and sets it again while OBS shows another: a source created just
    /// before was seen (rarely, in CI) to show its first text for seconds after OBS had accepted
    /// the new one, which for an overlay means the stream shows the wrong expression. Not in a dry
    /// run, whose fixtures hold no read-back.
    func confirm(_ text: String, source: String, client: OBSClient, context: StepContext) async throws {
        guard client.hub.mode != .replay else { return }
        for attempt in 1...Self.confirmAttempts {
            let settings = try await client.request("GetInputSettings", ["inputName": .string(source)])
            let shown = settings["inputSettings"]?["text"]?.stringValue
            if shown == text { return }
            guard attempt < Self.confirmAttempts else { break }
            context.logger.notice("OBS shows '\(shown ?? "")' in '\(source)' after the update; setting the text again (\(attempt))")
            try await context.clock.sleep(for: .milliseconds(100))
            _ = try await client.request("SetInputSettings", ["inputName": .string(source), "inputSettings": ["text": .string(text)]])
        }
        throw StepError("OBS kept showing another text in '\(source)' after the text was set \(Self.confirmAttempts) times")
    }

    static let confirmAttempts = 5
    /// Seconds a new source is given before the step ends (see `show`).
    static let settleAfterCreate = 1.0

    func show(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let client = try OBSClient(context: context)
        let source = try arguments.string("source")
        let text = try arguments.string("text")
        let inputs = (try await client.request("GetInputList")["inputs"]?.arrayValue ?? [])
        if let existing = inputs.first(where: { $0["inputName"]?.stringValue == source }) {
            let kind = existing["inputKind"]?.stringValue ?? ""
            guard kind.hasPrefix("text_") else { throw StepError("OBS source '\(source)' is a \(kind), not a text source") }
            _ = try await client.request("SetInputSettings", ["inputName": .string(source), "inputSettings": ["text": .string(text)]])
            try await confirm(text, source: source, client: client, context: context)
            return StepResult(outputs: ["source": .string(source), "kind": .string(kind), "created": false])
        }
        guard try arguments.bool("create", default: false), let scene = try arguments.optionalString("scene") else {
            let names = inputs.compactMap { $0["inputName"]?.stringValue }
            throw StepError("OBS has no source '\(source)'\(Suggestions.didYouMean(source, in: names)) (set create: true and a scene to make it)")
        }
        let kinds = (try await client.request("GetInputKindList")["inputKinds"]?.arrayValue ?? []).compactMap(\.stringValue)
        guard let kind = Self.textKinds.first(where: kinds.contains) else {
            throw StepError("OBS offers no text source kind (looked for \(Self.textKinds.joined(separator: ", ")))")
        }
        _ = try await client.request("CreateInput", ["sceneName": .string(scene), "inputName": .string(source), "inputKind": .string(kind),
                                                     "inputSettings": ["text": .string(text)], "sceneItemEnabled": true])
        // OBS's window builds a toolbar for a new text source on its own thread, and its text box
        // writes the text it holds back into the source: an update sent right after the creation
        // was seen undone for good. The step lets that happen now, then checks its own text.
        if client.hub.mode != .replay {
            try await context.clock.sleep(for: .milliseconds(Int64(Self.settleAfterCreate * 1000)))
            try await confirm(text, source: source, client: client, context: context)
        }
        return StepResult(outputs: ["source": .string(source), "kind": .string(kind), "created": true])
    }
}
