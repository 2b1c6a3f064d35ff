import Foundation

/// Answers requests from recorded fixtures, with no network: what `aiv run --dry-run` plugs in.
///
/// A request matches a recording with the same method, the same path and query (credentials
/// removed; scheme, host and port ignored, so fixtures recorded against one base URL replay
/// under another) and the same body in canonical form (JSON with sorted keys); where a recording
/// says `[redacted NAME]` (a secret of the recording run), any text of a character or more
/// matches. Identical requests get their recordings in the order recorded, the last one repeating.
public final class ReplayTransport: HTTPTransport, @unchecked Sendable {
    struct Key: Hashable {
        var method: String
        var target: String
        var body: String
    }

    private let recordings: [RecordedExchange]
    private let folder: String
    private let secrets: Secrets
    private let lock = NSLock()
    /// Built once and only read after: looked up without the lock.
    private let queues: [Key: [Int]]
    private var served: [Key: Int] = [:]
    /// The recordings that hold a redacted secret (`[redacted NAME]`), in the order recorded, by
    /// method, each with its JSON body parsed once (a pattern).
    private let redacted: [String: [(key: Key, pattern: JSONValue?)]]

    public init(exchanges: [RecordedExchange], folder: String, secrets: Secrets = Secrets()) {
        recordings = exchanges
        self.folder = folder
        self.secrets = secrets
        var queues: [Key: [Int]] = [:], redacted: [String: [(key: Key, pattern: JSONValue?)]] = [:]
        for (index, exchange) in exchanges.enumerated() {
            let key = Key(method: exchange.request.method.uppercased(), target: Redaction.target(exchange.request.url),
                          body: exchange.request.body.matchingForm)
            if queues[key] == nil, RedactedText.holdsMarker(key.target + key.body) {
                let pattern: JSONValue? = if case .json(let value) = exchange.request.body { value } else { nil }
                redacted[key.method, default: []].append((key, pattern))
            }
            queues[key, default: []].append(index)
        }
        self.queues = queues
        self.redacted = redacted
    }

    /// Loads every fixture file of a folder.
    public convenience init(folder: String, secrets: Secrets = Secrets()) throws(Diagnostic) {
        self.init(exchanges: try FixtureFile.load(folder: folder), folder: folder, secrets: secrets)
    }

    public var isEmpty: Bool { recordings.isEmpty }
    /// Every exchange it answers from.
    public var recordedExchanges: [RecordedExchange] { recordings }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try Task.checkCancellation()
        let body = RecordedBody.recording(request.body, secrets: secrets)
        // Redacted as the recording's URL was, so a secret in a URL still matches.
        let key = Key(method: request.method.uppercased(), target: Redaction.target(secrets.redact(Redaction.displayURL(request.url))),
                      body: body.matchingForm)
        // The request as sent, unredacted: a secret of this run (a short one, "live") may stand in
        // the recorded text where it was no secret, and a recording made without the secret holds
        // its value as it is.
        let raw = { () -> (key: Key, body: RecordedBody) in
            let body = RecordedBody.recording(request.body, secrets: Secrets())
            return (Key(method: key.method, target: Redaction.target(Redaction.displayURL(request.url)), body: body.matchingForm), body)
        }
        // A recording that held a secret's value matches a request with any value there: a dry
        // run has no keys, or other ones, so it cannot redact its request the same way. Found
        // outside the lock: only the count of answers served is shared.
        var found: Key? = queues[key] != nil ? key : nil
        if found == nil, !secrets.isEmpty || !redacted.isEmpty {
            let sent = raw()
            found = queues[sent.key] != nil ? sent.key : redacted[key.method]?.first { recorded in
                Self.matches(recorded, sent: key, body: body) || Self.matches(recorded, sent: sent.key, body: sent.body)
            }?.key
        }
        let index: Int? = lock.withLock {
            guard let found, let queue = queues[found] else { return nil }
            let position = served[found, default: 0]
            served[found] = position + 1
            return queue[min(position, queue.count - 1)]
        }
        guard let index else {
            throw TransportError(.noRecording, mismatch(request, key: key, body: body))
        }
        let recording = recordings[index]
        if recording.response.status == 0 {
            throw TransportError(.connectionLost, "\(key.method) \(key.target): no answer came (the connection was lost when this was recorded, in \(FixtureFile.path(folder: folder, step: recording.step)))")
        }
        var headers = recording.response.headers
        headers[Self.recordedInHeader] = FixtureFile.path(folder: folder, step: recording.step)
        return HTTPResponse(status: recording.response.status, headers: headers, body: recording.response.body.data)
    }

    /// Whether a recording whose request held a redacted secret stands for `sent`: the same
    /// method, and a path and body equal to it but where the recording says `[redacted NAME]`.
    static func matches(_ recorded: (key: Key, pattern: JSONValue?), sent: Key, body: RecordedBody) -> Bool {
        guard recorded.key.method == sent.method, RedactedText.matches(recorded.key.target, sent.target) else { return false }
        if case .json(let value) = body, let pattern = recorded.pattern { return RedactedText.matches(pattern, value) }
        return RedactedText.matches(recorded.key.body, sent.body)
    }

    /// A header of aiv's own on a replayed answer, naming its fixture file, so an error answer
    /// says where it was recorded. Never recorded: a replay records nothing.
    public static let recordedInHeader = "x-aiv-recorded-in"

    /// Says which request had no recording, which recording comes closest and how they differ.
    func mismatch(_ request: HTTPRequest, key: Key, body: RecordedBody) -> String {
        var lines = ["no recorded answer for \(key.method) \(key.target) in \(folder)/"]
        if let origin = request.origin, !recordings.isEmpty, !recordings.contains(where: { $0.step == origin.step }) {
            let file = FixtureFile.path(folder: folder, step: origin.step)
            let state = FileManager.default.fileExists(atPath: file) ? "holds no exchanges" : "is missing"
            lines.append("  step '\(origin.step)' has no recordings: \(file) \(state); make it with `aiv run --record`")
            return lines.joined(separator: "\n")
        }
        // The sender's own recording first (a for_each item is compared with the same item's,
        // not with whichever item's text differs least), then the rest by how much differs.
        let scored = recordings.map { recording -> (RecordedExchange, Int) in
            var score = recording.request.method.uppercased() == key.method ? 0 : 1000
            score += Redaction.target(recording.request.url) == key.target ? 0 : 100
            if let origin = request.origin {
                score += recording.step == origin.step ? (recording.item == origin.item ? 0 : 50) : 10_000
            }
            score += Self.differences(recording.request.body, body, shownWith: Secrets()).count
            return (recording, score)
        }
        if let (closest, _) = scored.min(by: { $0.1 < $1.1 }) {
            let item = closest.item.map { " item \($0)" } ?? ""
            lines.append("  the closest recording (step '\(closest.step)'\(item), \(FixtureFile.path(folder: folder, step: closest.step))) differs in:")
            if closest.request.method.uppercased() != key.method {
                lines.append("    method: recorded \(closest.request.method), sent \(key.method)")
            }
            if Redaction.target(closest.request.url) != key.target {
                lines.append("    url: recorded \(secrets.redact(Redaction.target(closest.request.url))), sent \(key.target)")
            }
            lines += Self.differences(closest.request.body, body, shownWith: secrets).prefix(5).map { "    " + $0 }
        } else {
            lines.append("  the folder has no recordings: make them with `aiv run --record`")
        }
        // A second turn from the model's side is aiv asking again after a reply that broke the
        // output schema: the recording holds that reply, not a changed prompt.
        if case .json(let sent) = body, (sent["contents"]?.arrayValue ?? []).contains(where: { $0["role"] == "model" }) {
            lines.append("  this request asks again after a recorded reply that did not match the prompt's output schema; that second exchange was not recorded: record again with `aiv run --record`")
        } else {
            lines.append("  a changed prompt, input or setting sends a new request: record again with `aiv run --record`")
        }
        return lines.joined(separator: "\n")
    }

    /// Where `sent` differs from the recording: a recorded `[redacted …]` that the sent text fits
    /// is no difference. Both sides are shown with `secrets` redacted before either is cut: a
    /// recording may hold this run's secret as it is, and a cut one would escape the redaction
    /// of the message.
    static func differences(_ recorded: RecordedBody, _ sent: RecordedBody, shownWith secrets: Secrets) -> [String] {
        if recorded.matchingForm == sent.matchingForm { return [] }
        if case .json(let a) = recorded, case .json(let b) = sent {
            return JSONDifference.paths(a, b, limit: 50).filter { change in
                guard case .string(let old)? = change.old, case .string(let new)? = change.new else { return true }
                return !RedactedText.matches(old, new)
            }.prefix(5).map { change in
                let (old, new) = shortPair(change.old.map { secrets.redact($0).canonicalJSON }, change.new.map { secrets.redact($0).canonicalJSON })
                return "body \(change.path): recorded \(old), sent \(new)"
            }
        }
        let (old, new) = shortPair(secrets.redact(recorded.matchingForm), secrets.redact(sent.matchingForm))
        return ["body: recorded \(old), sent \(new)"]
    }

    /// Both sides cut to the same stretch of at most 80 characters, starting a little before the
    /// first character where they differ: two long texts that differ late (a line added at the
    /// end of a prompt) would otherwise both show only their shared beginning.
    static func shortPair(_ old: String?, _ new: String?) -> (String, String) {
        let a = old.map { Array($0.replacingOccurrences(of: "\n", with: "⏎")) }
        let b = new.map { Array($0.replacingOccurrences(of: "\n", with: "⏎")) }
        var first = 0
        if let a, let b {
            while first < a.count, first < b.count, a[first] == b[first] { first += 1 }
        }
        let start = first < 60 ? 0 : first - 20
        func cut(_ text: [Character]?) -> String {
            guard let text else { return "nothing" }
            guard text.count > 80 else { return String(text) }
            let from = min(start, text.count)
            let end = min(text.count, from + (from > 0 ? 76 : 77))
            return (from > 0 ? "…" : "") + String(text[from..<end]) + (end < text.count ? "…" : "")
        }
        return (cut(a), cut(b))
    }
}

/// Where two JSON values differ, as paths (`contents[0].parts[0].text`) with both sides.
public enum JSONDifference {
    public struct Change: Sendable {
        public var path: String
        public var old: JSONValue?
        public var new: JSONValue?
    }

    public static func paths(_ old: JSONValue, _ new: JSONValue, limit: Int = 10) -> [Change] {
        var changes: [Change] = []
        visit(old, new, path: "", changes: &changes, limit: limit)
        return changes
    }

    private static func visit(_ old: JSONValue?, _ new: JSONValue?, path: String, changes: inout [Change], limit: Int) {
        guard changes.count < limit, old != new else { return }
        switch (old, new) {
        case (.object(let a)?, .object(let b)?):
            for key in Set(a.keys).union(b.keys).sorted() {
                visit(a[key], b[key], path: path.isEmpty ? key : "\(path).\(key)", changes: &changes, limit: limit)
            }
        case (.array(let a)?, .array(let b)?) where a.count == b.count:
            for index in a.indices { visit(a[index], b[index], path: "\(path)[\(index)]", changes: &changes, limit: limit) }
        default:
            changes.append(Change(path: path.isEmpty ? "(whole body)" : path, old: old, new: new))
        }
    }
}

/// Text recorded with secrets replaced by `[redacted NAME]`, compared with text that holds some
/// value there. Written by hand: it is a split and an ordered search.
enum RedactedText {
    static let marker = "[redacted "

    static func holdsMarker(_ text: String) -> Bool { text.contains(marker) }

    /// The parts of `pattern` between its markers, or nil when it has none.
    static func literalParts(_ pattern: String) -> [Substring]? {
        guard pattern.contains(marker) else { return nil }
        var parts: [Substring] = []
        var rest = pattern[...]
        while let start = rest.range(of: marker) {
            guard let end = rest[start.upperBound...].firstIndex(of: "]") else { break }
            parts.append(rest[..<start.lowerBound])
            rest = rest[rest.index(after: end)...]
        }
        parts.append(rest)
        return parts
    }

    /// Whether `text` is `pattern` with each marker standing for some text, at least one character.
    static func matches(_ pattern: String, _ text: String) -> Bool {
        if pattern == text { return true }
        guard let parts = literalParts(pattern), parts.count > 1 else { return false }
        guard text.hasPrefix(parts[0]), text.hasSuffix(parts[parts.count - 1]),
              text.count >= parts.reduce(0) { $0 + $1.count } + parts.count - 1 else { return false }
        var rest = text.dropFirst(parts[0].count).dropLast(parts[parts.count - 1].count)
        for part in parts.dropFirst().dropLast() {
            // At least one character for the marker before it.
            guard !rest.isEmpty else { return false }
            if part.isEmpty {
                rest = rest.dropFirst()
                continue
            }
            guard let found = rest.dropFirst().range(of: part) else { return false }
            rest = rest[found.upperBound...]
        }
        return !rest.isEmpty
    }

    /// The same for JSON: equal, but a recorded string with markers matches a sent string they fit.
    static func matches(_ pattern: JSONValue, _ value: JSONValue) -> Bool {
        switch (pattern, value) {
        case (.string(let recorded), .string(let sent)): return matches(recorded, sent)
        case (.array(let recorded), .array(let sent)):
            return recorded.count == sent.count && zip(recorded, sent).allSatisfy { matches($0, $1) }
        case (.object(let recorded), .object(let sent)):
            return recorded.count == sent.count && recorded.allSatisfy { key, member in sent[key].map { matches(member, $0) } ?? false }
        default: return pattern == value
        }
    }
}
