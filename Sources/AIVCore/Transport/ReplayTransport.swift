import Foundation

/// Answers requests from recorded fixtures, with no network: what `aiv run --dry-run` plugs in.
///
/// A request matches a recording with the same method, the same path and query (credentials
/// removed; scheme, host and port ignored, so fixtures recorded against one base URL replay
/// under another) and the same body in canonical form (JSON with sorted keys). Identical requests
/// get their recordings in the order recorded, the last one repeating.
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
    private var queues: [Key: [Int]] = [:]
    private var served: [Key: Int] = [:]

    public init(exchanges: [RecordedExchange], folder: String, secrets: Secrets = Secrets()) {
        recordings = exchanges
        self.folder = folder
        self.secrets = secrets
        for (index, exchange) in exchanges.enumerated() {
            let key = Key(method: exchange.request.method.uppercased(), target: Redaction.target(exchange.request.url),
                          body: exchange.request.body.matchingForm)
            queues[key, default: []].append(index)
        }
    }

    /// Loads every fixture file of a folder.
    public convenience init(folder: String, secrets: Secrets = Secrets()) throws(Diagnostic) {
        self.init(exchanges: try FixtureFile.load(folder: folder), folder: folder, secrets: secrets)
    }

    public var isEmpty: Bool { recordings.isEmpty }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try Task.checkCancellation()
        let body = RecordedBody.recording(request.body, secrets: secrets)
        // Redacted as the recording's URL was, so a secret in a URL still matches.
        let key = Key(method: request.method.uppercased(), target: Redaction.target(secrets.redact(Redaction.displayURL(request.url))),
                      body: body.matchingForm)
        let index: Int? = lock.withLock {
            guard let queue = queues[key] else { return nil }
            let position = served[key, default: 0]
            served[key] = position + 1
            return queue[min(position, queue.count - 1)]
        }
        guard let index else {
            throw TransportError(.noRecording, mismatch(request, key: key, body: body))
        }
        let response = recordings[index].response
        return HTTPResponse(status: response.status, headers: response.headers, body: response.body.data)
    }

    /// Says which request had no recording, which recording comes closest and how they differ.
    func mismatch(_ request: HTTPRequest, key: Key, body: RecordedBody) -> String {
        var lines = ["no recorded answer for \(key.method) \(key.target) in \(folder)/"]
        let scored = recordings.map { recording -> (RecordedExchange, Int) in
            var score = recording.request.method.uppercased() == key.method ? 0 : 1000
            score += Redaction.target(recording.request.url) == key.target ? 0 : 100
            score += Self.differences(recording.request.body, body).count
            return (recording, score)
        }
        if let (closest, _) = scored.min(by: { $0.1 < $1.1 }) {
            let item = closest.item.map { " item \($0)" } ?? ""
            lines.append("  the closest recording (step '\(closest.step)'\(item), \(FixtureFile.path(folder: folder, step: closest.step))) differs in:")
            if closest.request.method.uppercased() != key.method {
                lines.append("    method: recorded \(closest.request.method), sent \(key.method)")
            }
            if Redaction.target(closest.request.url) != key.target {
                lines.append("    url: recorded \(Redaction.target(closest.request.url)), sent \(key.target)")
            }
            lines += Self.differences(closest.request.body, body).prefix(5).map { "    " + $0 }
        } else {
            lines.append("  the folder has no recordings: make them with `aiv run --record`")
        }
        lines.append("  a changed prompt, input or setting sends a new request: record again with `aiv run --record`")
        return lines.joined(separator: "\n")
    }

    static func differences(_ recorded: RecordedBody, _ sent: RecordedBody) -> [String] {
        if recorded.matchingForm == sent.matchingForm { return [] }
        if case .json(let a) = recorded, case .json(let b) = sent {
            return JSONDifference.paths(a, b, limit: 5).map { "body \($0.path): recorded \(shortText($0.old)), sent \(shortText($0.new))" }
        }
        return ["body: recorded \(shortText(recorded.matchingForm)), sent \(shortText(sent.matchingForm))"]
    }

    static func shortText(_ value: JSONValue?) -> String {
        guard let value else { return "nothing" }
        return shortText(value.canonicalJSON)
    }

    static func shortText(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎")
        return flat.count > 80 ? String(flat.prefix(77)) + "…" : flat
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
