import Foundation
import Yams

/// One request and the answer it got, as a fixture file keeps it.
///
/// Fixture files are YAML, one per step (`fixtures/<workflow>/<step>.yaml`), written so a diff of
/// two recordings reads well: JSON bodies are kept as YAML structure, not as an escaped string;
/// only headers that change behaviour are kept (content type, retry and upload headers, the API
/// version); credentials never appear (headers and `key=` show `<redacted>`, secret values
/// anywhere are replaced); strings over 64 KiB (inline media as base64) and file uploads are
/// kept as their SHA-256 and size. The format is documented in docs/fixtures.md.
public struct RecordedExchange: Sendable, Equatable {
    public var step: String
    /// The `for_each` item that made the call.
    public var item: Int?
    public var service: String
    public var request: Request
    public var response: Response

    public struct Request: Sendable, Equatable {
        public var method: String
        /// Without credentials.
        public var url: String
        public var headers: [String: String]
        public var body: RecordedBody
    }

    public struct Response: Sendable, Equatable {
        public var status: Int
        public var headers: [String: String]
        public var body: RecordedBody
    }

    public init(step: String, item: Int?, service: String, request: Request, response: Response) {
        self.step = step
        self.item = item
        self.service = service
        self.request = request
        self.response = response
    }
}

/// A body as recorded: JSON as structure, text as text, anything else as base64, and files (or
/// bytes too large to keep) as a digest.
public enum RecordedBody: Sendable, Equatable {
    case none
    case json(JSONValue)
    case text(String)
    case base64(Data)
    case digest(sha256: String, bytes: Int)

    /// Strings longer than this are recorded (and matched) as their digest.
    public static let longStringLimit = 64 << 10
    /// Non-JSON bodies larger than this are recorded as their digest.
    static let largeBodyLimit = 1 << 20

    /// The recorded form of a body, with secrets replaced. A request's long strings (inline
    /// media) and large bodies are kept as digests: a replay only compares them. An answer is
    /// kept whole, since a replay gives it back (a long transcript is one long string).
    public static func recording(_ data: Data, secrets: Secrets, isAnswer: Bool = false) -> RecordedBody {
        if data.isEmpty { return .none }
        if let json = try? JSONDecoder().decode(JSONValue.self, from: data), looksJSON(data) {
            return .json(secrets.redact(isAnswer ? json : shortened(json)))
        }
        if data.count > largeBodyLimit, !isAnswer { return .digest(sha256: Digest.sha256(data), bytes: data.count) }
        if let text = String(data: data, encoding: .utf8) { return .text(secrets.redact(text)) }
        return .base64(secrets.redact(data))
    }

    public static func recording(_ body: HTTPBody, secrets: Secrets, isAnswer: Bool = false) -> RecordedBody {
        switch body {
        case .empty: return .none
        case .data(let data): return recording(data, secrets: secrets, isAnswer: isAnswer)
        case .file(let path):
            return .digest(sha256: (try? Digest.file(path)) ?? "unreadable", bytes: body.count)
        }
    }

    private static func looksJSON(_ data: Data) -> Bool {
        guard let first = data.first(where: { !$0.isWhitespace }) else { return false }
        return first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
    }

    /// Replaces long strings (inline media) by their digest, so a fixture stays readable and small.
    static func shortened(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text) where text.utf8.count > longStringLimit:
            return .string("<sha256:\(Digest.sha256(Data(text.utf8))) \(text.utf8.count) bytes>")
        case .array(let items): return .array(items.map(shortened))
        case .object(let members): return .object(members.mapValues(shortened))
        default: return value
        }
    }

    /// The text two bodies are compared by.
    var matchingForm: String {
        switch self {
        case .none: ""
        case .json(let value): value.canonicalJSON
        case .text(let text): text
        case .base64(let data): "sha256:" + Digest.sha256(data)
        case .digest(let sha, _): "sha256:" + sha
        }
    }

    /// The bytes to answer with when replaying.
    var data: Data {
        switch self {
        case .none, .digest: Data()
        case .json(let value): Data(value.canonicalJSON.utf8)
        case .text(let text): Data(text.utf8)
        case .base64(let data): data
        }
    }
}

private extension UInt8 {
    var isWhitespace: Bool { self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09 }
}

/// Reads and writes fixture files.
public enum FixtureFile {
    public static let formatVersion = 1

    /// Request headers worth keeping: they change what the server does.
    static let keptRequestHeaders: Set<String> = ["content-type", "notion-version", "x-goog-upload-protocol", "x-goog-upload-command",
                                                  "x-goog-upload-offset", "x-goog-upload-header-content-length",
                                                  "x-goog-upload-header-content-type"]
    /// Response headers worth keeping: the ones a client acts on.
    static let keptResponseHeaders: Set<String> = ["content-type", "retry-after", "location", "x-goog-upload-url", "x-goog-upload-status"]

    /// The folder's file for a step.
    public static func path(folder: String, step: String) -> String { "\(folder)/\(step).yaml" }

    /// An exchange as it will be recorded: credentials out, bodies in their recorded form.
    public static func exchange(step: String, item: Int?, service: String, request: HTTPRequest, response: HTTPResponse,
                                secrets: Secrets) -> RecordedExchange {
        var requestHeaders: [String: String] = [:]
        for (name, value) in request.headers {
            let lower = name.lowercased()
            if Redaction.isCredentialHeader(lower) { requestHeaders[lower] = Redaction.placeholder }
            else if keptRequestHeaders.contains(lower) { requestHeaders[lower] = secrets.redact(value) }
        }
        var responseHeaders: [String: String] = [:]
        for (name, value) in response.headers where keptResponseHeaders.contains(name) {
            responseHeaders[name] = secrets.redact(value)
        }
        if let upload = responseHeaders["x-goog-upload-url"], let url = URL(string: upload) {
            responseHeaders["x-goog-upload-url"] = Redaction.displayURL(url)
        }
        return RecordedExchange(
            step: step, item: item, service: service,
            request: .init(method: request.method, url: secrets.redact(Redaction.displayURL(request.url)), headers: requestHeaders,
                           body: RecordedBody.recording(request.body, secrets: secrets)),
            response: .init(status: response.status, headers: responseHeaders,
                            body: RecordedBody.recording(response.body, secrets: secrets, isAnswer: true)))
    }

    // MARK: Writing

    /// The YAML text of a step's fixture file.
    public static func yaml(step: String, workflow: String, exchanges: [RecordedExchange]) throws -> String {
        var entries: [(Node, Node)] = [
            (key("format"), .scalar(.init(String(formatVersion), Tag(.int)))),
            (key("workflow"), string(workflow)),
            (key("step"), string(step)),
        ]
        entries.append((key("exchanges"), .sequence(.init(exchanges.map(node)))))
        let header = "# aiv fixtures: what step '\(step)' sent and received, recorded by `aiv run --record`.\n"
            + "# `aiv run --dry-run` answers from these; the format is described in docs/fixtures.md.\n"
        return header + (try Yams.serialize(node: .mapping(.init(entries)), width: -1, allowUnicode: true, sortKeys: false))
    }

    static func node(_ exchange: RecordedExchange) -> Node {
        var entries: [(Node, Node)] = []
        if let item = exchange.item { entries.append((key("item"), .scalar(.init(String(item), Tag(.int))))) }
        entries.append((key("service"), string(exchange.service)))
        var request: [(Node, Node)] = [(key("method"), string(exchange.request.method)), (key("url"), string(exchange.request.url))]
        if !exchange.request.headers.isEmpty { request.append((key("headers"), headers(exchange.request.headers))) }
        request += body(exchange.request.body)
        var response: [(Node, Node)] = [(key("status"), .scalar(.init(String(exchange.response.status), Tag(.int))))]
        if !exchange.response.headers.isEmpty { response.append((key("headers"), headers(exchange.response.headers))) }
        response += body(exchange.response.body)
        entries.append((key("request"), .mapping(.init(request))))
        entries.append((key("response"), .mapping(.init(response))))
        return .mapping(.init(entries))
    }

    static func headers(_ headers: [String: String]) -> Node {
        .mapping(.init(headers.keys.sorted().map { (key($0), string(headers[$0]!)) }))
    }

    static func body(_ body: RecordedBody) -> [(Node, Node)] {
        switch body {
        case .none: []
        case .json(let value): [(key("json"), node(value))]
        case .text(let text): [(key("text"), string(text))]
        case .base64(let data): [(key("base64"), string(data.base64EncodedString()))]
        case .digest(let sha, let bytes): [(key("digest"), .mapping(.init([(key("sha256"), string(sha)), (key("bytes"), .scalar(.init(String(bytes), Tag(.int))))])))]
        }
    }

    /// JSON as YAML: objects keep sorted keys so two recordings diff line by line.
    static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: .scalar(.init("null", Tag(.null)))
        case .bool(let b): .scalar(.init(b ? "true" : "false", Tag(.bool)))
        case .int(let i): .scalar(.init(String(i), Tag(.int)))
        case .double(let d): .scalar(.init(d.isFinite ? JSONValue.format(d) : "null", Tag(d.isFinite ? .float : .null)))
        case .string(let s): string(s)
        case .array(let items): .sequence(.init(items.map(node)))
        case .object(let members): .mapping(.init(members.keys.sorted().map { (string($0), node(members[$0]!)) }))
        }
    }

    static func key(_ text: String) -> Node { .scalar(.init(text, Tag(.str), .plain)) }

    /// A string scalar that reads back as the same string under YAML 1.1 and 1.2 alike: anything
    /// that could pass for a number, boolean or null is quoted; multi-line text is a literal block.
    static func string(_ text: String) -> Node {
        if text.contains("\n"), !text.contains("\r"), !text.hasPrefix(" "), text.unicodeScalars.allSatisfy({ $0.value >= 0x20 || $0 == "\n" || $0 == "\t" }) {
            return .scalar(.init(text, Tag(.str), .literal))
        }
        return .scalar(.init(text, Tag(.str), needsQuotes(text) ? .doubleQuoted : .any))
    }

    static func needsQuotes(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first else { return true }
        if "0123456789+-.~".unicodeScalars.contains(first) { return true }
        let lower = text.lowercased()
        // `<<` would read back as a merge key.
        return ["null", "true", "false", "yes", "no", "on", "off", "y", "n", "<<"].contains(lower)
    }

    // MARK: Reading

    /// Every exchange in a folder of fixture files; a malformed file is an error located in it.
    public static func load(folder: String) throws(Diagnostic) -> [RecordedExchange] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        var exchanges: [RecordedExchange] = []
        for name in names { exchanges += try read(path: "\(folder)/\(name)") }
        return exchanges
    }

    public static func read(path: String) throws(Diagnostic) -> [RecordedExchange] {
        let file = try SourceFile.read(path, sizeLimit: 512 << 20)
        let (value, diagnostics) = YAMLReader().read(file)
        if let first = diagnostics.errors.first { throw first }
        guard let value, let step = value["step"]?.string, let list = value["exchanges"]?.items else {
            throw Diagnostic.error("not an aiv fixture file: it needs 'step' and 'exchanges'", at: value?.location ?? SourceLocation(file: path, line: 1, column: 1))
        }
        // What a replay would otherwise read silently wrong: a future format, a field it does not
        // know, answers filed under another step's name.
        for entry in value.entries ?? [] where !["format", "workflow", "step", "exchanges"].contains(entry.key) {
            throw Diagnostic.error("unknown field '\(entry.key)' in a fixture file; its fields are format, workflow, step and exchanges", at: entry.keyLocation)
        }
        if let format = value["format"], format.json != .int(formatVersion) {
            throw Diagnostic.error("fixture format \(format.json.interpolationText); this aiv reads format \(formatVersion): record it again", at: format.location)
        }
        if (path as NSString).lastPathComponent != "\(step).yaml" {
            throw Diagnostic.error("the fixtures of step '\(step)' must be in \(step).yaml, not \((path as NSString).lastPathComponent)", at: value["step"]!.location)
        }
        return try list.map { entry throws(Diagnostic) in
            guard let service = entry["service"]?.string, let request = entry["request"], let response = entry["response"],
                  let method = request["method"]?.string, let url = request["url"]?.string,
                  let status = response["status"]?.json.numberValue else {
                throw Diagnostic.error("an exchange needs 'service', 'request' (method, url) and 'response' (status)", at: entry.location)
            }
            // 0: no answer came (a write whose connection was lost, replayed as lost).
            guard let code = Int(exactly: status), code == 0 || (100...599).contains(code) else {
                throw Diagnostic.error("'status' must be an HTTP status from 100 to 599, or 0 for an answer that never came, not \(response["status"]!.json.canonicalJSON)", at: response["status"]!.location)
            }
            var item: Int?
            if let given = entry["item"] {
                guard let number = given.json.numberValue.flatMap({ Int(exactly: $0) }), number >= 0 else {
                    // As JSON: the text "0" is shown quoted, so it does not read as the number.
                    throw Diagnostic.error("'item' must be a for_each item's index (0 or more), not \(given.json.canonicalJSON)", at: given.location)
                }
                item = number
            }
            return RecordedExchange(
                step: step, item: item, service: service,
                request: .init(method: method, url: url, headers: headers(request["headers"]), body: try body(request)),
                response: .init(status: code, headers: headers(response["headers"]), body: try body(response)))
        }
    }

    static func headers(_ value: SourceValue?) -> [String: String] {
        Dictionary((value?.entries ?? []).map { ($0.key.lowercased(), $0.value.string ?? $0.value.json.interpolationText) }, uniquingKeysWith: { first, _ in first })
    }

    static func body(_ message: SourceValue) throws(Diagnostic) -> RecordedBody {
        let forms = ["json", "text", "base64", "digest"].filter { message[$0] != nil }
        if forms.count > 1 {
            // At the second form's key: the mapping's own place is its first key (`method:`).
            let second = message.entries?.first { $0.key == forms[1] }
            throw Diagnostic.error("a body is one of json, text, base64 or digest, not \(forms.joined(separator: " and "))",
                                   at: second?.keyLocation ?? message.location, length: forms[1].count)
        }
        if let json = message["json"] { return .json(json.json) }
        if let text = message["text"] { return .text(text.string ?? text.json.interpolationText) }
        if let base64 = message["base64"] {
            guard let data = base64.string.flatMap({ Data(base64Encoded: $0) }) else {
                throw Diagnostic.error("'base64' is not valid base64", at: base64.location)
            }
            return .base64(data)
        }
        if let digest = message["digest"] {
            guard let sha = digest["sha256"]?.string, let size = digest["bytes"] else {
                throw Diagnostic.error("'digest' needs 'sha256' and 'bytes'", at: digest.location)
            }
            guard let bytes = size.json.numberValue.flatMap({ Int(exactly: $0) }), bytes >= 0 else {
                throw Diagnostic.error("'bytes' must be a size in bytes (0 or more), not \(size.json.interpolationText)", at: size.location)
            }
            return .digest(sha256: sha, bytes: bytes)
        }
        return .none
    }
}
