import Foundation

/// The keys, tokens and passwords of a run, from the environment and a `.env` file, and the one
/// place that removes them from text before anything is written: step logs, error messages (and
/// so run history), outputs and the cache. Steps read them from their context, never from the
/// process environment.
public struct Secrets: Sendable {
    /// Name → value, for names that look secret.
    private let values: [String: String]
    /// Values longest first, so a secret that contains another is replaced whole.
    private let ordered: [(name: String, value: String)]
    /// Short numbers (a PIN): replaced only where a whole text or number is the value. Searched
    /// for inside text, "2024" would become a marker in every date and id that holds it.
    private let wholeOnly: [(name: String, value: String)]
    /// Every form of every secret → its name: what a field name or a number is looked up in
    /// (a whole match, one hash lookup a key).
    private let byWholeValue: [String: String]

    /// Values are taken without the spaces and line breaks around them: no key, token or password
    /// has them, and a secret pasted into a CI setting or exported from `$(cat key.txt)` often
    /// ends in a newline. Sent as it was, that newline makes the HTTP client refuse the header and
    /// print the value in its own escaped form (`…abc\n`), which a search for the raw value misses.
    public init(_ values: [String: String] = [:]) {
        self.values = values.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.value.isEmpty }
        var forms: [(name: String, value: String)] = [], whole: [(name: String, value: String)] = []
        for (name, value) in self.values where Self.isRedacted(value) {
            if value.count < 8, value.allSatisfy(\.isASCII), value.allSatisfy(\.isNumber) {
                whole.append((name, value))
                continue
            }
            forms.append((name, value))
            // A value with a control character inside is also redacted as messages escape it,
            // and one with a quote or a backslash as JSON (an output, `toJSON`) writes it.
            for escaped in Set([Self.escaped(value), Self.jsonEscaped(value)]) where escaped != value {
                forms.append((name, escaped))
            }
        }
        ordered = forms.sorted { $0.value.count > $1.value.count }
        wholeOnly = whole.sorted { $0.name < $1.name }
        byWholeValue = Dictionary((forms + whole).map { ($0.value, $0.name) }, uniquingKeysWith: { first, _ in first })
    }

    /// `value` with its control characters written as Swift and JSON write them in text (`\n`,
    /// `\t`, `\r`, `\u{1B}`): the form an error message of a library quotes it in.
    static func escaped(_ value: String) -> String {
        var result = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where scalar.properties.generalCategory == .control: result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `value` as it stands inside a JSON string: quotes, backslashes and control characters escaped.
    static func jsonEscaped(_ value: String) -> String {
        let quoted = JSONValue.string(value).canonicalJSON
        return String(quoted.dropFirst().dropLast())
    }

    /// Whether the secret `name` holds a character no HTTP header may carry (a control character
    /// inside it, once the ends are trimmed).
    public func unsendable(_ name: String) -> Bool {
        values[name]?.unicodeScalars.contains { $0.properties.generalCategory == .control } ?? false
    }

    /// Names that hold keys, tokens or passwords (`GEMINI_API_KEY`, `NOTION_TOKEN`,
    /// `OBS_WEBSOCKET_PASSWORD`, `CLIENT_SECRET`, `AUTH`, `GH_PASSPHRASE`, `SESSION_COOKIE`,
    /// `SLACK_WEBHOOK_URL`, `GITHUB_PAT`…). Hiding a harmless variable from expressions costs
    /// little; letting a secret through to a file, the cache or a Notion page costs much.
    public static func looksSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        let parts = ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "AUTH", "PRIVATE", "COOKIE", "BEARER", "WEBHOOK"]
        if parts.contains(where: upper.contains) { return true }
        // Short ones only as a word of the name: `GITHUB_PAT`, `MY_PASS`, `STREAM_PIN` and
        // `streamPin` are secrets, `PATH`, `PASSES` and `PINNED` are not.
        return words(of: name).contains { ["PASS", "PAT", "JWT", "PIN"].contains($0) }
    }

    /// Whether a name has a word of a key, token or password (`stream_key`, `streamPin`,
    /// `obs_password`), as whole words: `max_tokens`, `keywords` and `author` do not. What an
    /// input without `secret:` is warned about.
    public static func looksSecretByWords(_ name: String) -> Bool {
        let secretWords: Set<String> = ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "CREDENTIALS",
                                        "PASS", "PAT", "JWT", "PIN", "COOKIE", "BEARER", "WEBHOOK", "APIKEY"]
        return words(of: name).contains(where: secretWords.contains)
    }

    /// The words of a name in upper case: split at what is not a letter or digit, and where a
    /// lower-case letter or digit meets an upper-case one (`githubPat` → GITHUB, PAT).
    static func words(of name: String) -> [String] {
        var words: [String] = [], current = ""
        var previous: Character?
        for character in name {
            guard character.isLetter || character.isNumber else {
                if !current.isEmpty { words.append(current) }
                current = ""
                previous = nil
                continue
            }
            if character.isUppercase, let previous, previous.isLowercase || previous.isNumber, !current.isEmpty {
                words.append(current)
                current = ""
            }
            current += character.uppercased()
            previous = character
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// These secrets and the values of the inputs declared `secret: true` (a stream key given
    /// with `--input`, for an `obs.request` that sets the stream service): every text and number
    /// in such a value, named by its place (`inputs.keys.0.token`: no brackets, so a fixture's
    /// `[redacted …]` marker ends at its first `]`). Expressions still read the value, as it is
    /// the only way a workflow passes it to a step; everything that keeps or shows values
    /// (history, logs, fixtures, messages, `plan`) has it replaced, as with the environment's.
    public func including(secretInputs names: [String], of inputs: [String: JSONValue]) -> Secrets {
        var added: [String: String] = [:]
        func collect(_ value: JSONValue, _ name: String) {
            switch value {
            case .string(let text): added[name] = text
            case .int, .double: added[name] = value.canonicalJSON
            case .array(let items): for (index, item) in items.enumerated() { collect(item, "\(name).\(index)") }
            case .object(let members): for (key, member) in members { collect(member, "\(name).\(key)") }
            default: break
            }
        }
        for name in names { if let value = inputs[name] { collect(value, "inputs.\(name)") } }
        return added.isEmpty ? self : Secrets(values.merging(added) { own, _ in own })
    }

    /// The environment as expressions see it: without the variables whose names look like secrets'.
    static func visibleEnvironment(_ environment: [String: String]) -> [String: JSONValue] {
        var visible: [String: JSONValue] = [:]
        for (name, value) in environment where !looksSecret(name) { visible[name] = .string(value) }
        return visible
    }

    /// The secrets of the environment, and of a `.env` file when one is given and exists; the
    /// environment wins over the file. A malformed line is an error naming the file and line.
    public static func load(environment: [String: String], dotEnv path: String? = nil) throws(Diagnostic) -> Secrets {
        try LoadedEnvironment.load(environment: environment, dotEnv: path).secrets
    }

    public subscript(name: String) -> String? { values[name] }

    public var names: [String] { values.keys.sorted() }

    /// Whether there is no secret at all (cheaper than `names.isEmpty`, which sorts).
    public var isEmpty: Bool { values.isEmpty }

    /// Whether a value is redacted wherever it appears: 4 characters or more (shorter ones would
    /// mangle ordinary words), and not a yes/no word. A setting under a secret-looking name
    /// (`TOKENIZERS_PARALLELISM=false`) would otherwise turn every "false" in a model's answer
    /// and a public Notion page into "[redacted …]"; no key, token or password is "false".
    static func isRedacted(_ value: String) -> Bool {
        value.count >= 4 && !["true", "false", "yes", "no", "on", "off", "null", "none"].contains(value.lowercased())
    }

    /// `text` with every secret value replaced by `[redacted NAME]` (see `isRedacted`).
    public func redact(_ text: String) -> String {
        if !wholeOnly.isEmpty, let whole = wholeOnly.first(where: { $0.value == text }) { return "[redacted \(whole.name)]" }
        var result = text
        for (name, value) in ordered where result.contains(value) {
            result = result.replacingOccurrences(of: value, with: "[redacted \(name)]")
        }
        return result
    }

    /// Bytes with every secret's UTF-8 form replaced: for a body that is not text (a fixture
    /// keeps it as base64, which no text search of the fixture would find a key in).
    public func redact(_ data: Data) -> Data {
        var result = data
        for (name, value) in ordered {
            let needle = Data(value.utf8)
            let replacement = Data("[redacted \(name)]".utf8)
            var searchFrom = result.startIndex
            while let found = result.range(of: needle, in: searchFrom..<result.endIndex) {
                result.replaceSubrange(found, with: replacement)
                searchFrom = found.lowerBound + replacement.count
            }
        }
        return result
    }

    /// The names of the secrets whose values appear in `value`'s strings (keys included), sorted.
    /// `shortNumbers: false` leaves out the short numbers (a PIN) that only whole values match:
    /// a `year: 2024` beside a PIN of 2024 is no sign the PIN is there.
    public func names(foundIn value: JSONValue, shortNumbers: Bool = true) -> [String] {
        guard !ordered.isEmpty || (shortNumbers && !wholeOnly.isEmpty) else { return [] }
        var found = Set<String>()
        func whole(_ text: String) -> String? {
            guard let name = byWholeValue[text] else { return nil }
            return shortNumbers || !wholeOnly.contains(where: { $0.value == text }) ? name : nil
        }
        func visit(_ value: JSONValue) {
            switch value {
            case .string(let text):
                for (name, secret) in ordered where text.contains(secret) { found.insert(name) }
                if shortNumbers { for (name, secret) in wholeOnly where text == secret { found.insert(name) } }
            case .int, .double:
                if let name = whole(value.canonicalJSON) { found.insert(name) }
            case .array(let items): items.forEach(visit)
            // A key only when it is a secret whole: a placeholder key `sample` is part of `sample_rate`.
            case .object(let members):
                for (key, member) in members {
                    if let name = whole(key) { found.insert(name) }
                    visit(member)
                }
            default: break
            }
        }
        visit(value)
        return found.sorted()
    }

    /// A value with every string in it redacted.
    public func redact(_ value: JSONValue) -> JSONValue {
        guard !ordered.isEmpty || !wholeOnly.isEmpty else { return value }
        switch value {
        case .string(let text): return .string(redact(text))
        // A number that is a secret (a PIN given as a number input) is replaced by the marker.
        case .int, .double:
            return byWholeValue[value.canonicalJSON].map { .string("[redacted \($0)]") } ?? value
        case .array(let items): return .array(items.map(redact))
        // A key is replaced only when it is a secret whole: `sample_rate` is a field's name, and
        // rewritten it breaks what reads the field (a placeholder key `sample` did so).
        case .object(let members):
            return .object(Dictionary(members.map { key, member in
                (byWholeValue[key].map { "[redacted \($0)]" } ?? key, redact(member))
            }, uniquingKeysWith: { first, _ in first }))
        default: return value
        }
    }
}

/// What a command works with from outside aiv: the process environment with the variables of a
/// `.env` file under it (the environment wins, as with every dotenv tool), and the secrets among
/// them. All of the file's variables count, not only its secrets: `NOTION_DATABASE_ID` or
/// `GEMINI_BASE_URL` written there are read as if they had been exported.
public struct LoadedEnvironment: Sendable {
    /// Every variable; expressions see those whose names do not look secret (`env.NAME`).
    public var variables: [String: String]
    public var secrets: Secrets
    /// What the file does that may not be meant: a name set twice (the later line wins, as when
    /// a shell reads the file).
    public var warnings: [Diagnostic] = []

    /// `required`: the file was named by the user, so its absence is an error; the default
    /// `.env` may be absent.
    public static func load(environment: [String: String], dotEnv path: String?, required: Bool = false) throws(Diagnostic) -> LoadedEnvironment {
        var variables = environment
        var warnings: [Diagnostic] = []
        if let path {
            if FileManager.default.fileExists(atPath: path) {
                var fromFile: [String: String] = [:], firstLine: [String: Int] = [:]
                for entry in try DotEnv.parse(try SourceFile.read(path, sizeLimit: 1 << 20, readsPipes: true)) {
                    if let first = firstLine[entry.name] {
                        // Never the values: either may be a key.
                        let used = environment[entry.name] == nil ? "this line's value is used" : "the environment's value is used over both"
                        warnings.append(.warning("\(entry.name) is set again (first on line \(first)); \(used)",
                                                 at: SourceLocation(file: path, line: entry.line, column: 1), length: entry.name.count))
                    } else {
                        firstLine[entry.name] = entry.line
                    }
                    fromFile[entry.name] = entry.value
                }
                for (name, value) in fromFile where variables[name] == nil { variables[name] = value }
            } else if required {
                throw .error("no such file: \(path) (given with --env-file)", at: nil)
            }
        }
        return LoadedEnvironment(variables: variables, secrets: Secrets(variables.filter { Secrets.looksSecret($0.key) }), warnings: warnings)
    }
}

/// `.env` files: `NAME=value` lines, `export NAME=value`, `#` comments (a line's, or after a
/// value and a space), values in single quotes (taken as they are) or double quotes (`\n`, `\t`,
/// `\"` and `\\` escapes), each followed by nothing but a comment. Written by hand: it is a
/// dozen lines, and the format has no standard a library would add.
enum DotEnv {
    static func parse(_ file: SourceFile) throws(Diagnostic) -> [(name: String, value: String, line: Int)] {
        var pairs: [(name: String, value: String, line: Int)] = []
        // LF or CRLF: Swift reads "\r\n" as one Character, which a split on "\n" alone never finds.
        for (index, raw) in file.text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                throw .error("expected NAME=value", at: SourceLocation(file: file.path, line: index + 1, column: 1))
            }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            let valueText = String(line[line.index(after: equals)...])
            // Where the value starts in the line as written, for an error about it.
            let afterEquals = raw.firstIndex(of: "=").map { raw[raw.index(after: $0)...] } ?? raw[raw.endIndex...]
            let column = raw.distance(from: raw.startIndex, to: afterEquals.drop(while: { $0 == " " || $0 == "\t" }).startIndex) + 1
            let value: String
            switch DotEnv.value(valueText) {
            case .success(let parsed): value = parsed
            case .failure(let problem):
                throw .error(problem.message, at: SourceLocation(file: file.path, line: index + 1, column: column))
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                // Not quoted: a pasted key may hold '=' (base64), and the part before it would be the secret.
                throw .error("what comes before '=' is not a variable name (letters, digits and '_')", at: SourceLocation(file: file.path, line: index + 1, column: 1))
            }
            pairs.append((name, value, index + 1))
        }
        return pairs
    }

    struct Problem: Error { var message: String }

    /// A value as written after `=`: quoted (single: as it is; double: with `\n`, `\t`, `\"` and
    /// `\\` escapes), then only a `#` comment may follow; or bare, up to a `#` after a space (so
    /// `KEY= # note` is empty and `KEY=#abc` is `#abc`). A quoted value that holds its own quote
    /// (`'it's'`) is, as before, everything between the outer quotes. Messages never quote the
    /// value: it may be a secret.
    static func value(_ written: String) -> Result<String, Problem> {
        let text = written.trimmingCharacters(in: .whitespaces)
        guard let quote = text.first, quote == "'" || quote == "\"" else {
            // A comment starts at a '#' that follows a space, the space after '=' included.
            var bare = Substring(written)
            if let comment = bare.indices.dropFirst().first(where: { bare[$0] == "#" && bare[bare.index(before: $0)].isWhitespace }) {
                bare = bare[..<comment]
            }
            return .success(bare.trimmingCharacters(in: .whitespaces))
        }
        func unescaped(_ inner: Substring) -> String {
            guard quote == "\"" else { return String(inner) }
            var result = ""
            var index = inner.startIndex
            while index < inner.endIndex {
                if inner[index] == "\\", inner.index(after: index) < inner.endIndex {
                    index = inner.index(after: index)
                    switch inner[index] {
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "\"", "\\": result.append(inner[index])
                    default: result.append("\\"); result.append(inner[index])
                    }
                } else {
                    result.append(inner[index])
                }
                index = inner.index(after: index)
            }
            return result
        }
        // The closing quote: the first one not escaped.
        var index = text.index(after: text.startIndex)
        while index < text.endIndex, text[index] != quote {
            if quote == "\"", text[index] == "\\", text.index(after: index) < text.endIndex { index = text.index(after: index) }
            index = text.index(after: index)
        }
        if index < text.endIndex {
            let rest = text[text.index(after: index)...].trimmingCharacters(in: .whitespaces)
            if rest.isEmpty || rest.hasPrefix("#") { return .success(unescaped(text[text.index(after: text.startIndex)..<index])) }
        }
        if text.count >= 2, text.last == quote {
            return .success(unescaped(text.dropFirst().dropLast()))
        }
        return .failure(Problem(message: index < text.endIndex
            ? "text follows the value's closing quote; only a '#' comment may follow it"
            : "the value opens a \(quote == "'" ? "single" : "double") quote it never closes (values are one line long)"))
    }
}
