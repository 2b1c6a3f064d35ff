import Foundation
import Mustache

/// A prompt or template file: optional YAML front matter between `---` lines, then a Mustache body.
///
/// Shaped like Google's Dotprompt: the front matter may give `model`, `config` (generation
/// settings), `system` (the system instruction, itself a template), `input.schema` (the variables,
/// `name: type`, a trailing `?` on the name marks it optional) and `output` (`format: json` and a
/// JSON Schema under `schema`). The body is rendered as plain text, never HTML-escaped.
public struct PromptFile: Sendable {
    public struct Variable: Sendable, Hashable {
        public var name: String
        public var type: String
        public var isOptional: Bool
        public var location: SourceLocation

        /// The declared type as a shape values are checked against (`string[]`: a list of strings).
        public var schema: Schema {
            func shape(_ type: Substring) -> Schema {
                if type.hasSuffix("[]") { return .array(shape(type.dropLast(2))) }
                switch type {
                case "string": return .string
                case "number": return .number
                case "integer": return .integer
                case "boolean": return .boolean
                case "array": return .array(.any)
                case "object": return .map(.any)
                default: return .any
                }
            }
            return shape(Substring(type))
        }
    }

    public var path: String
    public var model: String?
    public var config: [String: JSONValue]
    public var system: String?
    /// Variables declared in `input.schema`, nil when the file declares none.
    public var declaredVariables: [Variable]?
    /// Top-level names the body and system instruction read, with where each is first used.
    public var usedVariables: [(name: String, location: SourceLocation)]
    /// Names read only inside sections: fields of the section's items or, through Mustache's
    /// lookup in enclosing contexts, variables passed in. A value passed under such a name is used.
    public var namesReadInSections: Set<String> = []
    /// False for a prompt whose text could not be read (a Mustache syntax error): what it uses is
    /// unknown, so no value passed to it can be called missing or unused; its declared input
    /// schema still checks the values passed.
    public var usesAreKnown = true
    /// Each name read inside sections, with the sections around it (outermost first, an
    /// inverted one as `^name`) and where: what the checker looks up as Mustache would.
    public var sectionReads: [SectionRead] = []
    public var outputFormat: String?
    public var outputSchema: JSONValue?
    /// The order the schema's keys are written in (by JSON Pointer into it): Gemini 2.5 answers
    /// with the properties in the order its schema lists them, so they are sent in that order.
    public var outputSchemaKeyOrder: [String: [String]] = [:]
    public var body: String
    /// The full text of the file: what a cache key hashes.
    public var text: String

    public struct SectionRead: Sendable {
        public var name: String
        public var sections: [String]
        public var location: SourceLocation
    }

    public static let frontMatterFields = ["model", "config", "system", "input", "output", "description"]

    /// All variables the prompt can take (declared ones, or else the ones the body uses).
    public var variableNames: [String] {
        declaredVariables?.map(\.name) ?? usedVariables.map(\.name)
    }

    /// Reads and checks a prompt file. Any problem is a diagnostic located in the prompt file.
    public static func load(path: String) -> (prompt: PromptFile?, diagnostics: Diagnostics) {
        let loaded = loadForChecking(path: path)
        return (loaded.prompt, loaded.diagnostics)
    }

    /// As `load`, and for validation also `partial`: the prompt when it has problems that leave
    /// its variables known (an invalid output schema, a bad generation setting), so the values a
    /// step passes are still checked against it in the same report. Never run a partial prompt.
    public static func loadForChecking(path: String) -> (prompt: PromptFile?, partial: PromptFile?, diagnostics: Diagnostics) {
        do {
            return parseForChecking(try SourceFile.read(path, sizeLimit: 1 << 20))
        } catch {
            return (nil, nil, Diagnostics([error]))
        }
    }

    public static func parse(_ file: SourceFile) -> (prompt: PromptFile?, diagnostics: Diagnostics) {
        let parsed = parseForChecking(file)
        return (parsed.prompt, parsed.diagnostics)
    }

    static func parseForChecking(_ file: SourceFile) -> (prompt: PromptFile?, partial: PromptFile?, diagnostics: Diagnostics) {
        var diagnostics = Diagnostics()
        var declarationsKnown = true
        // Lines end with LF or CRLF (a file saved on Windows): Swift reads "\r\n" as one
        // Character, which a split on "\n" alone would never find, and the front matter's '---'
        // lines would go unseen.
        let lines = file.text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var bodyStartLine = 1
        var front: SourceValue?
        var frontSource: SourceFile?
        if lines.first?.trimmingCharacters(in: .whitespaces) == "---" {
            guard let closing = lines.dropFirst().firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "---" }) else {
                diagnostics.error("front matter starts with '---' but has no closing '---' line", at: SourceLocation(file: file.path, line: 1, column: 1))
                return (nil, nil, diagnostics)
            }
            // Keep line numbers: the opening '---' becomes an empty line of the YAML text.
            let yaml = "\n" + lines[1..<closing].joined(separator: "\n")
            frontSource = SourceFile(path: file.path, text: yaml)
            let (value, yamlDiagnostics) = YAMLReader().read(frontSource!)
            diagnostics.append(contentsOf: yamlDiagnostics)
            if yamlDiagnostics.hasErrors { declarationsKnown = false }
            front = value
            bodyStartLine = closing + 2
        }
        let body = lines.dropFirst(bodyStartLine - 1).joined(separator: "\n")
        var prompt = PromptFile(path: file.path, model: nil, config: [:], system: nil, declaredVariables: nil,
                                usedVariables: [], outputFormat: nil, outputSchema: nil, body: body, text: file.text)
        if let front, !prompt.readFrontMatter(front, diagnostics: &diagnostics) { declarationsKnown = false }
        var templateProblems = Diagnostics()
        var scans = [checkTemplate(body, diagnostics: &templateProblems) { line, column in
            SourceLocation(file: file.path, line: bodyStartLine + line - 1, column: column)
        }]
        if let system = prompt.system, let systemValue = front?["system"], let frontSource {
            scans.append(checkTemplate(system, diagnostics: &templateProblems, locate: systemLocator(system, value: systemValue, source: frontSource)))
        }
        if templateProblems.hasErrors { prompt.usesAreKnown = false }
        diagnostics.append(contentsOf: templateProblems)
        for scan in scans {
            for used in scan.topLevel where !prompt.usedVariables.contains(where: { $0.name == used.name }) {
                prompt.usedVariables.append(used)
            }
            prompt.namesReadInSections.formUnion(scan.inSections.map(\.name))
            prompt.sectionReads += scan.inSections
        }
        prompt.namesReadInSections.subtract(prompt.usedVariables.map(\.name))
        if let declared = prompt.declaredVariables {
            for used in prompt.usedVariables where !declared.contains(where: { $0.name == used.name }) {
                diagnostics.error("prompt uses '\(used.name)', which its input schema does not declare\(Suggestions.didYouMean(used.name, in: declared.map(\.name)))",
                                  at: used.location, length: used.name.count)
            }
        }
        guard diagnostics.hasErrors else { return (prompt, nil, diagnostics) }
        return (nil, declarationsKnown ? prompt : nil, diagnostics)
    }

    /// Lists the variables the text reads, and checks its Mustache syntax: first with aiv's own
    /// scan, whose messages name the tag and point at where it opens (an unclosed `{{` or
    /// section where it starts, not at the end of the text), then with swift-mustache itself,
    /// which has the last word on what it can render. `locate` turns a line and column of `text`
    /// (1-based, columns in Unicode scalars) into a place in the file.
    static func checkTemplate(_ text: String, diagnostics: inout Diagnostics, locate: (_ line: Int, _ column: Int) -> SourceLocation)
        -> (topLevel: [(name: String, location: SourceLocation)], inSections: [SectionRead]) {
        let variables: [MustacheScanner.Variable]
        switch MustacheScanner.variables(in: text) {
        case .success(let found): variables = found
        case .failure(let problem):
            var message = problem.message
            if let opening = problem.opening {
                let place = locate(opening.line, opening.column)
                message += " \(place.line):\(place.column)"
            }
            diagnostics.error("template syntax: \(message)", at: locate(problem.line, problem.column))
            return ([], [])
        }
        do {
            _ = try MustacheTemplate(string: text)
        } catch let error as MustacheTemplate.ParserError {
            diagnostics.error("template syntax: \(describe(error.error))", at: locate(error.context.lineNumber, error.context.columnNumber))
            return ([], [])
        } catch {
            diagnostics.error("template syntax: \(error)", at: locate(1, 1))
            return ([], [])
        }
        return (variables.filter { !$0.insideSection }.map { ($0.name, locate($0.line, $0.column)) },
                variables.filter(\.insideSection).map { SectionRead(name: $0.name, sections: $0.sections, location: locate($0.line, $0.column)) })
    }

    /// Places a line and column of the `system` text where they are written in the front matter:
    /// the text is a YAML value, whose quotes, escapes and folded lines move its characters
    /// away from where a plain count from the value's start would put them.
    static func systemLocator(_ system: String, value: SourceValue, source: SourceFile) -> (Int, Int) -> SourceLocation {
        { line, column in
            // The character offset of (line, column), columns counting Unicode scalars.
            var (l, c) = (1, 1)
            var index = system.unicodeScalars.startIndex
            while index < system.unicodeScalars.endIndex, l < line || (l == line && c < column) {
                if system.unicodeScalars[index] == "\n" { l += 1; c = 1 } else { c += 1 }
                index = system.unicodeScalars.index(after: index)
            }
            var budget = Int.max / 2
            if l == line, c == column,
               let found = ScalarSourceMap.location(ofCharacter: system.distance(from: system.startIndex, to: index), in: system,
                                                    scalarAt: value.location, source: source, budget: &budget) {
                return found
            }
            // Not mapped (a rule the walk does not model): the value's own place.
            return value.location
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? MustacheTemplate.Error else { return "\(error)" }
        return switch error {
        case .sectionCloseNameIncorrect: "a section is closed with the wrong name"
        case .unfinishedName: "a tag is not finished"
        case .expectedSectionEnd: "a section is never closed"
        case .invalidSetDelimiter: "bad set-delimiter tag"
        case .invalidConfigVariableSyntax, .unrecognisedConfigVariable: "bad pragma tag"
        default: "\(error)"
        }
    }

    /// Reads the front matter; false when a problem leaves the prompt's variables unknown (the
    /// front matter is not a mapping, `system` or `input` could not be read).
    @discardableResult
    mutating func readFrontMatter(_ front: SourceValue, diagnostics: inout Diagnostics) -> Bool {
        guard let fields = MappingReader(front, owner: "front matter", diagnostics: &diagnostics) else { return false }
        fields.rejectUnknown(Self.frontMatterFields, diagnostics: &diagnostics)
        model = fields.string("model", diagnostics: &diagnostics)?.0
        var variablesKnown = true
        var variableProblems = Diagnostics()
        system = fields.string("system", diagnostics: &variableProblems)?.0
        if let config = fields["config"] {
            if let entries = config.entries {
                self.config = Dictionary(entries.map { ($0.key, $0.value.json) }, uniquingKeysWith: { $1 })
                for entry in entries { Self.checkGenerationSetting(entry, diagnostics: &diagnostics) }
            } else {
                diagnostics.error("'config' must be a mapping of generation settings (temperature, maxOutputTokens, …)", at: config.location)
            }
        }
        if let input = fields["input"], let inputFields = MappingReader(input, owner: "'input'", diagnostics: &variableProblems) {
            inputFields.rejectUnknown(["schema", "default"], diagnostics: &variableProblems)
            if let schema = inputFields["schema"] {
                declaredVariables = Self.readVariables(schema, diagnostics: &variableProblems)
            }
        }
        if variableProblems.hasErrors { variablesKnown = false }
        diagnostics.append(contentsOf: variableProblems)
        if let output = fields["output"], let outputFields = MappingReader(output, owner: "'output'", diagnostics: &diagnostics) {
            outputFields.rejectUnknown(["format", "schema"], diagnostics: &diagnostics)
            if let (format, location) = outputFields.string("format", diagnostics: &diagnostics) {
                if format == "json" || format == "text" { outputFormat = format } else {
                    diagnostics.error("output format must be 'json' or 'text', not '\(format)'", at: location, length: format.count)
                }
            }
            if let schema = outputFields["schema"] {
                diagnostics.append(contentsOf: OutputSchemaChecker.check(schema))
                outputSchema = schema.json
                outputSchemaKeyOrder = schema.keyOrder
                if outputFormat == nil { outputFormat = "json" }
            }
        }
        if let entries = fields["config"]?.entries { Self.checkSchemaSettings(entries, outputSchema: outputSchema != nil, diagnostics: &diagnostics) }
        return variablesKnown
    }

    /// Gemini refuses a request that sets both `responseSchema` and `responseJsonSchema`, and aiv
    /// sends the prompt's `output.schema` as the latter: a schema in `config` as well is an error
    /// here rather than a 400 after the run has started.
    static func checkSchemaSettings(_ entries: [SourceValue.Entry], outputSchema: Bool, diagnostics: inout Diagnostics) {
        let schemaSettings = entries.filter { ["responseSchema", "responseJsonSchema"].contains(GenerationSettingName.camelCase($0.key)) }
        if outputSchema, let first = schemaSettings.first {
            diagnostics.error("'\(first.key)' in config and 'output.schema' both give the answer's schema (aiv sends output.schema as responseJsonSchema, and Gemini refuses two); keep output.schema",
                              at: first.keyLocation, length: first.key.count)
        } else if schemaSettings.count > 1 {
            diagnostics.error("'\(schemaSettings[0].key)' and '\(schemaSettings[1].key)' both give the answer's schema, and Gemini refuses a request with both; keep one (or use output.schema)",
                              at: schemaSettings[1].keyLocation, length: schemaSettings[1].key.count)
        }
    }

    /// Gemini's generation settings (`generationConfig` in its API reference) and the shape of
    /// each, by the name the API uses; `config` may spell them in snake_case too.
    static let generationSettings: [String: Schema] = [
        "temperature": .number, "topP": .number, "topK": .number, "candidateCount": .integer, "maxOutputTokens": .integer,
        "seed": .integer, "logprobs": .integer, "presencePenalty": .number, "frequencyPenalty": .number,
        "stopSequences": .array(.string), "responseMimeType": .string, "responseModalities": .array(.string),
        "responseLogprobs": .boolean, "mediaResolution": .string, "enableEnhancedCivicAnswers": .boolean,
        "thinkingConfig": .map(.any), "speechConfig": .map(.any), "imageConfig": .map(.any), "routingConfig": .map(.any),
        "modelSelectionConfig": .map(.any), "responseSchema": .map(.any), "responseJsonSchema": .map(.any),
    ]

    /// A setting of the wrong type is an error (Gemini would refuse the request); a name aiv does
    /// not know is a warning with the nearest one, since the API may have gained settings since.
    static func checkGenerationSetting(_ entry: SourceValue.Entry, diagnostics: inout Diagnostics) {
        let name = GenerationSettingName.camelCase(entry.key)
        guard let shape = generationSettings[name] else {
            let nearest = Suggestions.closest(to: name, in: generationSettings.keys.sorted()).map { " (did you mean '\($0)'?)" } ?? ""
            diagnostics.warning("'\(entry.key)' is not a generation setting aiv knows\(nearest); Gemini refuses names it does not know",
                                at: entry.keyLocation, length: entry.key.count)
            return
        }
        // Numbers may come quoted: the API's JSON reading takes "0.7" for 0.7.
        if shape == .number || shape == .integer, let text = entry.value.string, let number = Double(text),
           shape == .number || number == number.rounded() {
            return
        }
        if let problem = shape.mismatch(entry.value.json) {
            diagnostics.error("generation setting '\(entry.key)' \(problem)", at: entry.value.location, length: entry.value.length)
        }
    }

    /// `input.schema`: `name: type` or `name?: type`, a type being string, number, integer, boolean, array, object or any
    /// (a trailing description after a comma is allowed: `chunk: string, the transcript text`).
    static func readVariables(_ schema: SourceValue, diagnostics: inout Diagnostics) -> [Variable] {
        guard let entries = schema.entries else {
            diagnostics.error("'input.schema' must be a mapping of variable names to types", at: schema.location)
            return []
        }
        let types = ["string", "number", "integer", "boolean", "array", "object", "any"]
        return entries.compactMap { entry in
            let optional = entry.key.hasSuffix("?")
            let name = optional ? String(entry.key.dropLast()) : entry.key
            var type = "any"
            if let text = entry.value.string {
                type = String(text.split(separator: ",").first ?? "").trimmingCharacters(in: .whitespaces)
                let base = type.hasSuffix("[]") ? String(type.dropLast(2)) : type
                if !types.contains(base) {
                    diagnostics.error("unknown type '\(type)' for variable '\(name)'\(Suggestions.didYouMean(base, in: types))",
                                      at: entry.value.location, length: entry.value.length)
                }
            } else if entry.value.entries == nil {
                diagnostics.error("variable '\(name)' needs a type such as 'string'", at: entry.value.location)
            } else {
                type = "object"
            }
            return Variable(name: name, type: type, isOptional: optional, location: entry.keyLocation)
        }
    }
}

/// Generation settings may be written in snake_case (`max_output_tokens`); the API's name is camelCase.
public enum GenerationSettingName {
    public static func camelCase(_ name: String) -> String {
        let parts = name.split(separator: "_")
        guard parts.count > 1 else { return name }
        return String(parts[0]) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
