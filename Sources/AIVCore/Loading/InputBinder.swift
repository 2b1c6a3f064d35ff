import Foundation

/// Gives every declared input its value: from `--input name=value`, from an `--inputs` YAML file,
/// or from its default, converted to the declared type, with a diagnostic for each problem.
public struct InputBinder: Sendable {
    /// One `--input name=value` argument.
    public struct Assignment: Sendable {
        public var name: String
        public var text: String
        public init(name: String, text: String) {
            self.name = name
            self.text = text
        }

        /// Parses `name=value`; nil when there is no `=`.
        public init?(argument: String) {
            guard let equals = argument.firstIndex(of: "=") else { return nil }
            self.name = String(argument[..<equals]).trimmingCharacters(in: .whitespaces)
            self.text = String(argument[argument.index(after: equals)...])
        }
    }

    /// Where relative paths of `file` inputs are resolved from, and whether they must exist.
    public var currentDirectory: String
    public var checkFilesExist: Bool

    public init(currentDirectory: String = FileManager.default.currentDirectoryPath, checkFilesExist: Bool = true) {
        self.currentDirectory = currentDirectory
        self.checkFilesExist = checkFilesExist
    }

    /// The name under which `--input` values are shown in diagnostics, as compilers show flags.
    public static let commandLineName = "<command line>"

    /// The problems with a list input's items reported one by one; the rest are counted.
    static let itemProblemsShown = 20

    /// What stands for a secret input's value where the command line is shown.
    static let hiddenValue = "…"

    /// The `--input` flags written out as one line of a source named `<command line>`, with where
    /// each flag's name and value are on it (and how many columns each takes there), so a bad
    /// value gets a caret under it like a bad value in a file. A flag is quoted as the shell
    /// would need it, and a control or line-breaking character in one (a line break pasted in)
    /// is shown as one visible character, so the columns stay right and the line stays one line.
    public typealias Span = (at: SourceLocation, length: Int)
    /// `hiding`: the secret inputs, whose values are shown as `…`.
    public static func commandLine(_ assignments: [Assignment], hiding: Set<String> = []) -> (source: SourceFile, names: [Span], values: [Span]) {
        var line = "", names: [Span] = [], values: [Span] = []
        func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
        }
        func shown(_ text: String, quoted: Bool) -> String {
            let visible = String(String.UnicodeScalarView(text.unicodeScalars.map { isInvisible($0) ? "\u{FFFD}" : $0 }))
            // Inside single quotes a quote is written '\''.
            return quoted ? visible.replacingOccurrences(of: "'", with: "'\\''") : visible
        }
        func span(_ text: String) -> Span {
            (SourceLocation(file: commandLineName, line: 1, column: line.unicodeScalars.count + 1), max(1, text.unicodeScalars.count))
        }
        for assignment in assignments {
            if !line.isEmpty { line += " " }
            line += "--input "
            // A secret input's value is not shown.
            let text = hiding.contains(assignment.name) ? Self.hiddenValue : assignment.text
            let argument = assignment.name + "=" + text
            let quoted = argument.unicodeScalars.contains { isInvisible($0) || " \t'\"$`\\;&|<>(){}*?[]#~!".unicodeScalars.contains($0) }
            if quoted { line += "'" }
            let name = shown(assignment.name, quoted: quoted), value = shown(text, quoted: quoted)
            names.append(span(name))
            line += name + "="
            values.append(span(value))
            line += value
            if quoted { line += "'" }
        }
        return (SourceFile(path: commandLineName, text: line), names, values)
    }

    /// Binds values; `file` is the values of an `--inputs` file, `assignments` the `--input` flags
    /// (which win). Without `requiresGiven` (`aiv validate`, which is given no values), a required
    /// input that has none is left out, not an error.
    public func bind(_ workflow: Workflow, file: SourceValue? = nil, assignments: [Assignment] = [],
                     requiresGiven: Bool = true) -> (values: [String: JSONValue], diagnostics: Diagnostics) {
        var diagnostics = Diagnostics()
        var values: [String: JSONValue] = [:]
        // Inputs given a value, good or not: one given a bad value has its own error, and is
        // neither "required" nor quietly given its default.
        var given: Set<String> = []
        let names = workflow.inputs.map(\.name)

        if let file {
            if let entries = file.entries {
                for entry in entries {
                    guard let declaration = workflow.input(entry.key) else {
                        diagnostics.error("workflow '\(workflow.name)' has no input '\(entry.key)'\(Suggestions.didYouMean(entry.key, in: names))",
                                          at: entry.keyLocation, length: entry.key.count)
                        continue
                    }
                    let base = (entry.keyLocation.file as NSString).deletingLastPathComponent
                    given.insert(entry.key)
                    if let value = convert(entry.value, to: declaration, relativeTo: base, workflow: workflow, diagnostics: &diagnostics) {
                        values[entry.key] = value
                    }
                }
            } else {
                diagnostics.error("an inputs file must be a mapping of input names to values, not \(file.kindPhrase)", at: file.location)
            }
        }

        let flags = Self.commandLine(assignments, hiding: workflow.secretInputs)
        var onCommandLine: Set<String> = []
        for (number, assignment) in assignments.enumerated() {
            guard let declaration = workflow.input(assignment.name) else {
                // "…; did you mean 'title'? Its inputs are …", or "…; its inputs are …" without a near name.
                let hint = Suggestions.didYouMean(assignment.name, in: names)
                let list = names.isEmpty ? "" : (hint.isEmpty ? "; its" : " Its") + " inputs are \(names.joined(separator: ", "))"
                diagnostics.error("workflow '\(workflow.name)' has no input '\(assignment.name)'\(hint)\(list)",
                                  at: flags.names[number].at, length: flags.names[number].length)
                continue
            }
            given.insert(assignment.name)
            if !onCommandLine.insert(assignment.name).inserted {
                diagnostics.warning("input '\(assignment.name)' is given more than once; the last value is used", at: flags.names[number].at,
                                    length: flags.names[number].length)
            }
            if let value = convert(text: assignment.text, to: declaration, workflow: workflow, at: flags.values[number].at,
                                   length: flags.values[number].length, diagnostics: &diagnostics) {
                values[assignment.name] = value
            }
        }

        for declaration in workflow.inputs where !given.contains(declaration.name) {
            if let defaultValue = declaration.defaultValue {
                // A default of the wrong type is the loader's error already.
                if WorkflowLoader.mismatch(defaultValue, declaration.type) != nil { continue }
                if let value = convert(defaultValue, to: declaration, relativeTo: workflow.baseDirectory, workflow: workflow, diagnostics: &diagnostics) {
                    values[declaration.name] = value
                }
            } else if declaration.isRequired {
                guard requiresGiven else { continue }
                diagnostics.error("input '\(declaration.name)' is required; give it with --input \(declaration.name)=… or in an --inputs file",
                                  at: declaration.location, length: declaration.name.count)
            } else {
                values[declaration.name] = .null
            }
        }
        return (values, diagnostics)
    }

    /// A duration input's value as expressions see it: seconds, a whole number when it is one,
    /// so `10m`, `600` and `"600s"` compare, add and format alike.
    static func secondsValue(_ seconds: Double) -> JSONValue {
        seconds == seconds.rounded() && seconds < 1e15 ? .int(Int(seconds)) : .double(seconds)
    }

    /// A value from a YAML file (or a default) of the declared type.
    func convert(_ value: SourceValue, to declaration: InputDeclaration, relativeTo base: String, workflow: Workflow,
                 diagnostics: inout Diagnostics) -> JSONValue? {
        if case .null = value.content {
            // Null is "none": for an input that may be left without a value.
            guard declaration.isRequired else { return .null }
            diagnostics.error("input '\(declaration.name)' is required and cannot be null", at: value.location, length: value.length)
            return nil
        }
        if let problem = WorkflowLoader.mismatch(value, declaration.type) {
            diagnostics.error("input '\(declaration.name)' \(problem)", at: value.location, length: value.length)
            return nil
        }
        // `transcript: ""` says "none", as `--input transcript=` does.
        if declaration.type == .file, value.string == "" {
            if declaration.isRequired { diagnostics.error("input '\(declaration.name)' is required and cannot be empty", at: value.location) }
            return declaration.isRequired ? nil : .null
        }
        if declaration.type == .file, let path = value.string {
            return checkFile(Paths.resolve(path, relativeTo: base), writtenAbsolute: path.hasPrefix("/"), shownAs: path, declaration: declaration,
                             workflow: workflow, at: value.location, diagnostics: &diagnostics)
        }
        // Seconds, however it is written (checked above to be a duration).
        if declaration.type == .duration, let seconds = Durations.seconds(value.json) { return Self.secondsValue(seconds) }
        // Each element where it is written: the one without its `reading` is pointed at.
        if let items = value.items, !fitsItemSchema(items.map { ($0.json, $0) }, of: declaration, diagnostics: &diagnostics) { return nil }
        return value.json
    }

    /// Whether every element of a list input fits the input's `items` schema. What breaks it (a
    /// few lines an element) is reported at the element, or at its member when the file has one.
    func fitsItemSchema(_ items: [(value: JSONValue, source: SourceValue?)], of declaration: InputDeclaration, at location: Span? = nil,
                        diagnostics: inout Diagnostics) -> Bool {
        guard let schema = declaration.itemSchema else { return true }
        var fits = true, reported = 0
        for (index, item) in items.enumerated() {
            let violations = JSONSchemaValidator.violations(of: item.value, against: schema, limit: 3)
            if !violations.isEmpty { fits = false }
            for violation in violations {
                // A list of thousands that all break the schema: the first few tell what to fix.
                reported += 1
                guard reported <= Self.itemProblemsShown else { continue }
                // `$.reading` → the member `reading`, written `reading: …` in the file.
                let member = violation.path.hasPrefix("$.") ? String(violation.path.dropFirst(2)) : nil
                let place = member.flatMap { item.source?[$0] } ?? item.source
                let subject = violation.path == "$" ? "" : "\(member ?? String(violation.path.dropFirst())): "
                // The message quotes the value: not an input named like a secret's.
                let message = declaration.isSecret ? "does not fit the input's items schema" : violation.message
                diagnostics.error("input '\(declaration.name)' item \(index): \(subject)\(message)",
                                  at: place?.location ?? location?.at, length: place?.length ?? location?.length ?? 1)
            }
        }
        if reported > Self.itemProblemsShown {
            diagnostics.error("input '\(declaration.name)': \(reported - Self.itemProblemsShown) more problems with its items",
                              at: items.first?.source?.location ?? location?.at ?? declaration.location)
        }
        return fits
    }

    /// A value typed on the command line.
    func convert(text: String, to declaration: InputDeclaration, workflow: Workflow, at location: SourceLocation,
                 length: Int, diagnostics: inout Diagnostics) -> JSONValue? {
        let name = declaration.name
        // The value as a message quotes it: not at all for a secret input.
        let given = declaration.isSecret ? "" : ", not '\(text)'"
        switch declaration.type {
        case .string:
            return .string(text)
        case .file:
            // `--input transcript=` says "none": the workflow then takes its other route.
            if text.isEmpty {
                if declaration.isRequired { diagnostics.error("input '\(name)' is required and cannot be empty", at: location) }
                return declaration.isRequired ? nil : .null
            }
            return checkFile(Paths.normalize(text), writtenAbsolute: text.hasPrefix("/"), declaration: declaration, workflow: workflow,
                             at: location, length: length, diagnostics: &diagnostics)
        case .number:
            if let i = Int(text) { return .int(i) }
            if let d = Double(decimal: text) { return .double(d) }
            diagnostics.error("input '\(name)' must be a number\(given)", at: location, length: length)
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "1": return .bool(true)
            case "false", "no", "0": return .bool(false)
            default: diagnostics.error("input '\(name)' must be true or false\(given)", at: location, length: length)
            }
        case .duration:
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let seconds = Durations.parse(trimmed), seconds >= 0 { return Self.secondsValue(seconds) }
            let problem = declaration.isSecret ? "must be a duration such as 30, 90s or 1h30m" : WorkflowLoader.durationMessage(.string(text))
            diagnostics.error("input '\(name)' \(problem)", at: location, length: length)
        case .list:
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("[") {
                let (value, problems) = YAMLReader().read(SourceFile(path: "<--input \(name)>", text: trimmed))
                if let items = value?.items, !problems.hasErrors {
                    let list = items.map(\.json)
                    guard fitsItemSchema(list.map { ($0, nil) }, of: declaration, at: (location, length), diagnostics: &diagnostics) else { return nil }
                    return .array(list)
                }
                diagnostics.error("input '\(name)' must be a list such as [a, b] or a,b\(given)", at: location, length: length)
                return nil
            }
            let list: [JSONValue] = trimmed.isEmpty ? [] : trimmed.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }
            guard fitsItemSchema(list.map { ($0, nil) }, of: declaration, at: (location, length), diagnostics: &diagnostics) else { return nil }
            return .array(list)
        }
        return nil
    }

    /// Checks a file input exists and binds it relative to the workflow's folder, the folder every
    /// other path in the workflow is relative to. `path` is relative to the current folder. A path
    /// written relative stays relative however the workflow's own path was given (`wf.yaml` or its
    /// full path), so the steps' arguments, and their cache keys, are the same; one written
    /// absolute stays absolute.
    func checkFile(_ path: String, writtenAbsolute: Bool, shownAs written: String? = nil, declaration: InputDeclaration, workflow: Workflow,
                   at location: SourceLocation, length: Int = 1, diagnostics: inout Diagnostics) -> JSONValue? {
        // The path of a secret input (a key file) is not shown.
        let shown = declaration.isSecret ? "(the path given)" : written ?? path
        let absolute = path.hasPrefix("/") ? path : Paths.resolve(path, relativeTo: currentDirectory)
        if checkFilesExist {
            guard FileManager.default.fileExists(atPath: absolute) else {
                let hint = declaration.isSecret ? "" : Suggestions.nearbyFile(shown, resolved: absolute)
                diagnostics.error("input '\(declaration.name)': file not found: \(shown)\(hint)",
                                  at: location, length: length)
                return nil
            }
            // A folder, a pipe or a device.
            if let problem = Paths.notAFile(absolute) {
                diagnostics.error("input '\(declaration.name)': '\(shown)' \(problem)", at: location, length: length)
                return nil
            }
        }
        if writtenAbsolute { return .string(path) }
        let workflowFolder = Paths.resolve(workflow.baseDirectory, relativeTo: currentDirectory)
        return .string(Paths.relative(from: workflowFolder, to: absolute))
    }
}
