import AIVCore
import Foundation
import Mustache

/// `template.render`: renders a Mustache template file (plain text, never HTML-escaped) with
/// values, and optionally writes the result to a file in the run folder.
///
/// ```yaml
/// - id: worksheet
///   uses: template.render
///   with:
///     template: ../templates/worksheet.md.mustache
///     values: { items: "${{ steps.vocab.outputs.items }}" }
///     output: worksheet.md
/// ```
public struct TemplateRenderStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "template.render",
        version: 2,  // 2: X counts links without a scheme as 23
        summary: "Render a Mustache template with values, to text or to a file in the run folder.",
        discussion: """
            The template file may start with front matter declaring its variables (input.schema), as prompt files do. \
            The text is plain, never HTML-escaped; values render as expressions interpolate them (3, not 3.0; null as \
            nothing). A variable the template uses but `values` does not give is an error, unless declared optional \
            (`name?: string`); a value given as null counts as given. \
            With `max_length`, a text longer than that fails the step, counted as `count` says: `characters` (as Bluesky, Threads, \
            Instagram and YouTube count), `x` (X's weighted count: a link is 23, Japanese and emoji 2 each; X's limit is 280) or `bytes` \
            (UTF-8, as YouTube counts a video description: at most 5000, a Japanese character 3).
            """,
        arguments: [
            Property("template", .string, required: true, role: .template(variables: "values"), "The template file, relative to the workflow."),
            Property("values", .map(.any), default: [:], "The values the template reads."),
            Property("output", .string, role: .outputPath, "A file in the run folder to write the text to."),
            Property("max_length", .integer, "The longest text allowed (a platform's post limit), counted as `count` says."),
            Property("count", .oneOfStrings(PostLength.allCases.map(\.rawValue)), default: "characters", "How `max_length` counts: characters, x (X's weighted count) or bytes (UTF-8)."),
        ],
        outputs: .object([
            Property("text", .string, required: true, "The rendered text."),
            Property("path", .anyOf([.string, .null]), required: true, "The file written, when `output` was given."),
            Property("bytes", .integer, required: true, "Size of the text in UTF-8 bytes."),
            Property("length", .integer, required: true, "Length of the text, counted as `count` says."),
        ]),
        example: """
            - id: worksheet
              uses: template.render
              with:
                template: ../templates/worksheet.md.mustache
                values:
                  title: ${{ inputs.stream_title }}
                  link: ${{ inputs.stream_url }}
                  items: ${{ steps.linked.outputs.items }}
                  meanings: ${{ steps.meanings.outputs.items }}
                output: worksheet.md
            """)

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let path = try arguments.string("template")
        let values = try arguments.object("values")
        let output = try arguments.optionalString("output")

        let template = try Self.load(path, resolved: context.inputPath(path))
        try Self.checkValues(template, path: path, noun: "template", values: values)

        // Rendering is synchronous, and with sections it may be long (a section over thousands of
        // items, nested): then it runs off the few threads async work shares, so it does not hold
        // up the run's timers and other steps, and a timeout or a stop is not kept waiting behind
        // it. Without sections it takes time in proportion to the text, and the hop to another
        // thread (about 20 µs) would be most of a short render.
        let text: String
        if template.body.contains("{{#") || template.body.contains("{{^") {
            // A queue of its own gets a thread of its own (on Linux the global queues share the
            // threads async work runs on, so a few long renders there would still starve it).
            text = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, any Error>) in
                DispatchQueue(label: "aiv.render").async { continuation.resume(with: Result { try Self.render(template, values: values) }) }
            }
            try Task.checkCancellation()
        } else {
            text = try Self.render(template, values: values)
        }
        guard let counting = PostLength(rawValue: try arguments.optionalString("count") ?? "characters") else {
            throw StepError.argument("count", "must be characters, x or bytes")
        }
        let length = counting.count(text)
        if let limit = try arguments.optionalInt("max_length"), length > limit {
            throw StepError("the text is \(length) \(counting.explanation), \(length - limit) over max_length \(limit): shorten the template or its values")
        }
        var written: String?
        if let output {
            written = try context.runFolder.write(Data(text.utf8), to: output)
        }
        return StepResult(
            outputs: [
                "text": .string(text),
                "path": written.map(JSONValue.string) ?? .null,
                "bytes": .int(text.utf8.count),
                "length": .int(length),
            ],
            files: written.map { [$0] } ?? [])
    }

    /// Every variable the text uses must be given, unless declared optional (`name?: string`);
    /// a value given as null counts as given. Shared by templates and Gemini prompts.
    static func checkValues(_ template: PromptFile, path: String, noun: String, values: [String: JSONValue]) throws(StepError) {
        let optional = Set(template.declaredVariables?.filter(\.isOptional).map(\.name) ?? [])
        // A value of another type than the front matter declares (null counts as given, as below):
        // what `aiv validate` reports for literals, found here for computed values.
        for variable in template.declaredVariables ?? [] {
            guard let value = values[variable.name], value != .null, let problem = variable.schema.mismatch(value) else { continue }
            throw StepError("\(noun) '\(path)' declares '\(variable.name)' as \(variable.type): \(problem)")
        }
        let missing = template.usedVariables.filter { !optional.contains($0.name) && values[$0.name] == nil }
        guard !missing.isEmpty else { return }
        let names = missing.map { "'\($0.name)' (line \($0.location.line))" }
        let list = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " and " + names.last!
        let hint = missing.count == 1 ? Suggestions.didYouMean(missing[0].name, in: values.keys.sorted()) : ""
        throw StepError("\(noun) '\(path)' uses \(list), which 'values' does not give\(hint)")
    }

    /// Reads and checks the template file; its problems become one error, a line each.
    static func load(_ path: String, resolved: String) throws(StepError) -> PromptFile {
        guard FileManager.default.fileExists(atPath: resolved) else {
            throw StepError("template file not found: '\(path)' (looked for \(resolved))")
        }
        let (template, diagnostics) = PromptFile.load(path: resolved)
        guard let template, !diagnostics.hasErrors else {
            throw StepError(diagnostics.sorted.filter { $0.severity == .error }.map(\.description).joined(separator: "\n"))
        }
        return template
    }

    /// The body rendered as plain text: the `CONTENT_TYPE: TEXT` pragma turns off swift-mustache's
    /// HTML escaping. Alone on its line, the pragma line disappears from the output.
    static func render(_ template: PromptFile, values: [String: JSONValue]) throws(StepError) -> String {
        try render(template.body, path: template.path, values: values)
    }

    static func render(_ body: String, path: String, values: [String: JSONValue]) throws(StepError) -> String {
        let mustache: MustacheTemplate
        do {
            mustache = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}\n" + body)
        } catch {
            // PromptFile.load has parsed the same text, so this is not expected.
            throw StepError("\(path): template syntax: \(error)")
        }
        return mustache.render(values.mapValues(MustacheValue.make))
    }
}

/// `JSONValue`s as swift-mustache renders them: mappings as parents (whose keys sections and
/// dotted names read), lists as sequences (which sections iterate), booleans as `Bool` (which
/// sections test), null as `NSNull` (renders nothing, false in sections), numbers as `Int` when
/// whole, so `3` is never written `3.0`. A list or mapping written out as a variable (`{{items}}`)
/// is its canonical JSON, as in an expression's interpolation: swift-mustache would otherwise print
/// Swift's debug text, with a dictionary's keys in a different order in every process, and the
/// same values would render a different text each run.
enum MustacheValue {
    static func make(_ value: JSONValue) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let b): b
        case .int(let i): i
        case .double(let d) where d.isFinite && d == d.rounded() && abs(d) < 1e15: Int(d)
        case .double(let d): d
        case .string(let s): s
        case .array(let items): List(items: items.map(make), json: value)
        case .object(let members): Mapping(members: members.mapValues(make), json: value)
        }
    }

    /// Sections, and swift-mustache's transforms (`{{count(items)}}`, `{{first(items)}}`…), see the items.
    struct List: MustacheSequence, MustacheCustomRenderable, MustacheTransformable {
        var items: [Any]
        var json: JSONValue
        func makeIterator() -> IndexingIterator<[Any]> { items.makeIterator() }
        func transform(_ name: String) -> Any? { items.transform(name) }
        var renderText: String { json.canonicalJSON }
        var isNull: Bool { false }
    }

    /// Names and transforms see the members.
    struct Mapping: MustacheParent, MustacheCustomRenderable, MustacheTransformable {
        var members: [String: Any]
        var json: JSONValue
        func child(named name: String) -> Any? { members[name] }
        func transform(_ name: String) -> Any? { members.transform(name) }
        var renderText: String { json.canonicalJSON }
        var isNull: Bool { false }
    }
}
