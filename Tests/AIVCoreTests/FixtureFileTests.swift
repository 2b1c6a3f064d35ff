import AIVTestSupport
import Foundation
import Testing
@testable import AIVCore
import AIVText

@Suite struct FixtureFileTests {
    static let secrets = Secrets(["GEMINI_API_KEY": "AIzaSecretValue123"])

    func exchange(body: JSONValue, answer: JSONValue, item: Int? = nil) -> RecordedExchange {
        let request = HTTPRequest(method: "POST", url: URL(string: "http://127.0.0.1:8080/v1beta/models/m:generateContent?key=AIzaSecretValue123&alt=json")!,
                                  headers: ["x-goog-api-key": "AIzaSecretValue123", "Content-Type": "application/json", "User-Agent": "x"],
                                  body: .json(body))
        let response = HTTPResponse(status: 200, headers: ["Content-Type": "application/json", "Date": "Wed", "Retry-After": "3"],
                                    body: Data(answer.canonicalJSON.utf8))
        return FixtureFile.exchange(step: "analyse", item: item, service: "gemini", request: request, response: response, secrets: Self.secrets)
    }

    @Test func credentialsNeverReachARecordedExchange() throws {
        let recorded = exchange(body: ["note": "my key is AIzaSecretValue123"], answer: ["ok": true])
        #expect(recorded.request.headers["x-goog-api-key"] == Redaction.placeholder)
        #expect(!recorded.request.url.contains("AIzaSecretValue123"))
        #expect(recorded.request.url.contains("alt=json"))
        let text = try FixtureFile.yaml(step: "analyse", workflow: "w.yaml", exchanges: [recorded])
        #expect(!text.contains("AIzaSecretValue123"))
        #expect(text.contains("[redacted GEMINI_API_KEY]"))
    }

    @Test func onlyHeadersThatChangeBehaviourAreKept() {
        let recorded = exchange(body: [:], answer: [:])
        #expect(recorded.request.headers.keys.sorted() == ["content-type", "x-goog-api-key"])
        #expect(recorded.response.headers.keys.sorted() == ["content-type", "retry-after"])
    }

    @Test func aFixtureFileReadsBackAsTheSameExchanges() throws {
        let tricky: JSONValue = ["yes": "yes", "number-like": "1.0", "empty": "", "null-like": "null", "multi": "line one\nline two\n",
                                 "japanese": "草生える — 日本語", "colon": "a: b", "quote": "\"quoted\"", "lead": " space", "n": 0.25,
                                 "i": 42, "flag": false, "nothing": .null, "list": [1, "two", ["three": 3]], "emptyList": [], "emptyMap": [:]]
        let exchanges = [exchange(body: tricky, answer: ["candidates": [["text": "ok"]]], item: 1),
                         exchange(body: ["b": 2], answer: tricky, item: 0)]
        let folder = TemporaryFolder()
        let path = folder.write("analyse.yaml", try FixtureFile.yaml(step: "analyse", workflow: "w.yaml", exchanges: exchanges))
        let read = try FixtureFile.read(path: path)
        #expect(read == exchanges)
    }

    @Test func longStringsAreKeptAsTheirDigest() {
        let media = String(repeating: "QUJD", count: 40_000)
        let recorded = exchange(body: ["data": .string(media)], answer: [:])
        guard case .json(let body) = recorded.request.body, let data = body["data"]?.stringValue else {
            Issue.record("expected a JSON body")
            return
        }
        #expect(data.hasPrefix("<sha256:"))
        #expect(data.hasSuffix(" 160000 bytes>"))
    }

    /// A replay gives an answer back: a long reply (a transcript, a big JSON document) is kept
    /// whole, where a request's long strings are only compared.
    @Test func aLongAnswerIsKeptWholeAndReadsBackTheSame() throws {
        let transcript = String(repeating: "草生える。 ", count: 12_000)
        let recorded = exchange(body: ["data": .string(String(repeating: "QUJD", count: 40_000))],
                                answer: ["candidates": [["content": ["parts": [["text": .string(transcript)]]]]]])
        guard case .json(let answer) = recorded.response.body else {
            Issue.record("expected a JSON answer")
            return
        }
        #expect(answer["candidates"]?.arrayValue?.first?["content"]?["parts"]?.arrayValue?.first?["text"]?.stringValue == transcript)
        let folder = TemporaryFolder()
        let path = folder.write("analyse.yaml", try FixtureFile.yaml(step: "analyse", workflow: "w.yaml", exchanges: [recorded]))
        #expect(try FixtureFile.read(path: path) == [recorded])

        let text = String(repeating: "x", count: (1 << 20) + 10)
        let plain = FixtureFile.exchange(step: "s", item: nil, service: "gemini",
                                         request: HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1/a")!),
                                         response: HTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: Data(text.utf8)),
                                         secrets: Self.secrets)
        #expect(plain.response.body == .text(text))
    }

    /// What a replay would otherwise read silently wrong is refused, at its place in the file.
    @Test(arguments: [
        ("format: 2\nstep: x\nexchanges: []\n", "1:9: fixture format 2; this aiv reads format 1: record it again"),
        ("format: 1\nstep: y\nexchanges: []\n", "2:7: the fixtures of step 'y' must be in y.yaml, not x.yaml"),
        ("format: 1\nstep: x\nrecorded: today\nexchanges: []\n", "3:1: unknown field 'recorded' in a fixture file; its fields are format, workflow, step and exchanges"),
        ("step: x\nexchanges:\n  - {service: gemini, item: two, request: {method: GET, url: /a}, response: {status: 200}}\n",
         "3:29: 'item' must be a for_each item's index (0 or more), not \"two\""),
        // Text that reads as a number is shown quoted, so the message does not seem to refuse 0.
        ("step: x\nexchanges:\n  - {service: gemini, item: \"0\", request: {method: GET, url: /a}, response: {status: 200}}\n",
         "3:29: 'item' must be a for_each item's index (0 or more), not \"0\""),
        ("step: x\nexchanges:\n  - {service: gemini, request: {method: GET, url: /a}, response: {status: 42}}\n",
         "3:75: 'status' must be an HTTP status from 100 to 599, or 0 for an answer that never came, not 42"),
        // Numbers too large for an integer are refused, not converted (the conversion traps).
        ("step: x\nexchanges:\n  - {service: gemini, request: {method: GET, url: /a}, response: {status: 1e30}}\n",
         "3:75: 'status' must be an HTTP status from 100 to 599, or 0 for an answer that never came, not 1e+30"),
        ("step: x\nexchanges:\n  - {service: gemini, item: 1e30, request: {method: GET, url: /a}, response: {status: 200}}\n",
         "3:29: 'item' must be a for_each item's index (0 or more), not 1e+30"),
        ("step: x\nexchanges:\n  - service: gemini\n    request: {method: GET, url: /a}\n    response: {status: 200, digest: {sha256: ab, bytes: .inf}}\n",
         "5:57: 'bytes' must be a size in bytes (0 or more), not inf"),
        ("step: x\nexchanges:\n  - service: gemini\n    request: {method: GET, url: /a}\n    response: {status: 200, text: hi, json: {a: 1}}\n",
         "5:29: a body is one of json, text, base64 or digest, not json and text"),
    ])
    func aFixtureAReplayWouldMisreadIsRefused(_ text: String, _ expected: String) throws {
        let folder = TemporaryFolder()
        let path = folder.write("x.yaml", text)
        do {
            _ = try FixtureFile.read(path: path)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error.location.map { "\($0.line):\($0.column)" } ?? "-"): \(error.message)" == expected)
        }
    }

    @Test func aMalformedFixtureIsAnErrorLocatedInIt() throws {
        let folder = TemporaryFolder()
        let path = folder.write("x.yaml", "format: 1\nstep: x\nexchanges:\n  - service: gemini\n    request: {method: GET}\n")
        #expect {
            try FixtureFile.read(path: path)
        } throws: { error in
            guard let diagnostic = error as? Diagnostic else { return false }
            return diagnostic.location?.line == 4 && diagnostic.message.contains("'request' (method, url)")
        }
    }
}

/// A recording replaces the one before it as a whole, and clears what a killed one left.
@Suite struct FixtureRecorderTests {
    func exchange(step: String, _ text: String) -> RecordedExchange {
        RecordedExchange(step: step, item: nil, service: "gemini",
                         request: .init(method: "POST", url: "http://127.0.0.1:1/x", headers: [:], body: .json(["q": .string(text)])),
                         response: .init(status: 200, headers: [:], body: .json(["a": .string(text)])))
    }

    @Test func aFlushRemovesTheTemporaryFilesAKilledRecordingLeftBesideItsFixtures() throws {
        let folder = TemporaryFolder()
        let old = Date().addingTimeInterval(-120)
        for name in [".analyse.yaml.k3x9a-1.partial", ".other.yaml.k3x9a-2.partial", ".analyse.yaml.notes"] {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: folder.write(name, "left by a killed recording"))
        }
        // One being written this moment, by another recording into the same folder, is left alone.
        folder.write(".analyse.yaml.m2b7c-1.partial", "another recording's, being written")
        let recorder = FixtureRecorder(folder: folder.path, workflow: "w.yaml")
        recorder.record(exchange(step: "analyse", "今日"))
        #expect(try recorder.flush() == [folder.path + "/analyse.yaml"])
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == [".analyse.yaml.m2b7c-1.partial", ".analyse.yaml.notes", ".other.yaml.k3x9a-2.partial", "analyse.yaml"])
        #expect(try FixtureFile.read(path: folder.path + "/analyse.yaml").count == 1)
    }

    /// A step id long enough that its temporary file's name was cut to fit 255 bytes: what a
    /// killed recording left is still found as this fixture's.
    @Test func aFlushFindsTheCutTemporaryFilesOfALongStepId() throws {
        let folder = TemporaryFolder()
        let step = String(repeating: "字", count: 80)  // 240 bytes; with ".yaml", past what a temporary name keeps
        let cut = "." + FileNames.prefix(of: step + ".yaml", bytes: 255 - 1 - ".k3x9a-1.partial".utf8.count) + ".k3x9a-1.partial"
        #expect(cut.utf8.count <= 255)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-120)],
                                              ofItemAtPath: folder.write(cut, "left by a killed recording"))
        let recorder = FixtureRecorder(folder: folder.path, workflow: "w.yaml")
        recorder.record(exchange(step: step, "今日"))
        #expect(try recorder.flush() == [folder.path + "/\(step).yaml"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["\(step).yaml"])
    }

    /// A file that cannot be written, or a target that is a folder (where a rename would fail
    /// halfway through the set), is found before any file is renamed.
    @Test func filesWrittenTogetherChangeNoneWhenOneCannotBeWritten() throws {
        let folder = TemporaryFolder()
        folder.write("a.yaml", "old a")
        folder.write("blocked", "a file where a folder should be")
        try FileManager.default.createDirectory(atPath: folder.path + "/c.yaml", withIntermediateDirectories: false)
        for second in ["/blocked/b.yaml", "/c.yaml"] {
            #expect(throws: (any Error).self) {
                try AtomicFile.writeTogether([(folder.path + "/a.yaml", Data("new a".utf8)), (folder.path + second, Data("new b".utf8))])
            }
        }
        #expect(folder.read("a.yaml") == "old a")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["a.yaml", "blocked", "c.yaml"], "no temporary file is left")
        try AtomicFile.writeTogether([(folder.path + "/a.yaml", Data("new a".utf8)), (folder.path + "/c/b.yaml", Data("new b".utf8))])
        #expect(folder.read("a.yaml") == "new a" && folder.read("c/b.yaml") == "new b")
    }
}

@Suite struct ReplayTransportTests {
    func recorded(_ body: JSONValue, answer: JSONValue, status: Int = 200, item: Int? = nil) -> RecordedExchange {
        RecordedExchange(step: "analyse", item: item, service: "gemini",
                         request: .init(method: "POST", url: "http://127.0.0.1:1234/v1beta/models/m:generateContent", headers: [:], body: .json(body)),
                         response: .init(status: status, headers: ["content-type": "application/json"], body: .json(answer)))
    }

    func request(_ body: JSONValue, host: String = "https://generativelanguage.googleapis.com") -> HTTPRequest {
        HTTPRequest(method: "POST", url: URL(string: "\(host)/v1beta/models/m:generateContent?key=abc")!, body: .json(body))
    }

    @Test func matchingIgnoresHostCredentialsAndKeyOrder() async throws {
        let replay = ReplayTransport(exchanges: [recorded(["a": 1, "b": ["c": 2]], answer: ["ok": true])], folder: "f")
        let response = try await replay.send(request(["b": ["c": 2], "a": 1]))
        #expect(response.status == 200)
        #expect(response.json == ["ok": true])
    }

    /// A request recorded with a placeholder key (`GEMINI_API_KEY=sample`) whose value was also
    /// in its text holds `[redacted GEMINI_API_KEY]` there. A dry run without that key, or with
    /// another, sends the word itself: it still finds the recording. Before, it found none and
    /// said so with two texts that read alike.
    @Test func aRecordingThatHeldASecretMatchesWhateverStandsWhereItWas() async throws {
        let exchange = recorded(["contents": [["text": "A [redacted GEMINI_API_KEY] of the stream, [redacted NOTION_TOKEN]!"]], "n": 1],
                                answer: ["ok": true])
        for secrets in [Secrets(), Secrets(["GEMINI_API_KEY": "other-key-0000"])] {
            let replay = ReplayTransport(exchanges: [exchange], folder: "f", secrets: secrets)
            let sent = try await replay.send(request(["n": 1, "contents": [["text": "A sample of the stream, ntn-1234!"]]]))
            #expect(sent.json == ["ok": true])
        }
        let replay = ReplayTransport(exchanges: [exchange], folder: "f")
        for text in ["A  of the stream, ntn-1234!", "A sample of the stream, ntn-1234?", "B sample of the stream, ntn-1234!", "A sample of the stream!"] {
            await #expect(throws: TransportError.self, "\(text)") {
                try await replay.send(self.request(["n": 1, "contents": [["text": .string(text)]]]))
            }
        }
        await #expect(throws: TransportError.self) {
            try await replay.send(self.request(["n": 2, "contents": [["text": "A sample of the stream, ntn-1234!"]]]))
        }
        #expect(RedactedText.matches("[redacted A][redacted B]", "xy"))
        #expect(!RedactedText.matches("[redacted A][redacted B]", "x"))
        #expect(RedactedText.matches("k=[redacted A]&v=[redacted A]", "k=abcd&v=abcd"))
        #expect(!RedactedText.matches("plain", "plain2"))
    }

    /// A secret of this run may stand in a recording where it was no secret ("live" in a URL
    /// recorded while the key was another), and a secret input's list elements are markers of
    /// their own: the request as sent is matched too. A recorded marker the sent text fits is
    /// no difference in the message, and a recording that holds this run's secret is redacted
    /// before the message cuts it.
    @Test func aReplayMatchesTheRequestAsSentAndItsMessageNeverCutsASecret() async throws {
        let secrets = Secrets().including(secretInputs: ["api_keys", "stream_key"], of: ["stream_key": "live", "api_keys": ["AB", "CD"]])
        let exchange = recorded(["url": "rtmp://live.example/[redacted inputs.stream_key]/app", "pair": "[redacted inputs.api_keys.0]-[redacted inputs.api_keys.1]"],
                                answer: ["ok": true])
        let replay = ReplayTransport(exchanges: [exchange], folder: "f", secrets: secrets)
        #expect(try await replay.send(request(["url": "rtmp://live.example/live/app", "pair": "AB-CD"])).json == ["ok": true])

        let long = String(repeating: "p", count: 150) + "ahovcjqxelszgnubipwd"
        let other = ReplayTransport(exchanges: [recorded(["a": "x[redacted K]", "b": .string(long)], answer: [:])], folder: "f",
                                    secrets: Secrets(["OTHER_KEY": "ahovcjqxelszgnubipwd"]))
        do {
            _ = try await other.send(request(["a": "xx", "b": "changed"]))
            Issue.record("expected no recording")
        } catch let error as TransportError {
            #expect(!error.message.contains("body a:"), "\(error.message)")
            #expect(error.message.contains("body b:"), "\(error.message)")
            #expect(!error.message.contains("ahovcjq"), "\(error.message)")
        }
        // A word of the recording that is this run's secret (`GEMINI_API_KEY=hello`) is shown
        // redacted, not taken for a marker that fits anything.
        let plain = ReplayTransport(exchanges: [recorded(["t": "hello key and hello"], answer: [:])], folder: "f",
                                    secrets: Secrets(["GEMINI_API_KEY": "hello"]))
        do {
            _ = try await plain.send(request(["t": "byebye key and byebye"]))
            Issue.record("expected no recording")
        } catch let error as TransportError {
            #expect(error.message.contains("body t: recorded \"[redacted GEMINI_API_KEY] key and [redacted GEMINI_API_KEY]\", sent \"byebye key and byebye\""),
                    "\(error.message)")
        }
    }

    @Test func identicalRequestsGetTheirRecordingsInOrderThenTheLastRepeats() async throws {
        let replay = ReplayTransport(exchanges: [recorded(["q": 1], answer: ["state": "PROCESSING"]), recorded(["q": 1], answer: ["state": "ACTIVE"])], folder: "f")
        var states: [String?] = []
        for _ in 0..<3 { states.append(try await replay.send(request(["q": 1])).json?["state"]?.stringValue) }
        #expect(states == ["PROCESSING", "ACTIVE", "ACTIVE"])
    }

    @Test func anUnrecordedRequestSaysWhatDiffersFromTheClosestRecording() async throws {
        let replay = ReplayTransport(exchanges: [recorded(["contents": [["text": "old prompt"]], "model": "m"], answer: [:]),
                                                 recorded(["other": true], answer: [:])], folder: "fixtures/w")
        do {
            _ = try await replay.send(request(["contents": [["text": "new prompt"]], "model": "m"]))
            Issue.record("expected no recording")
        } catch let error as TransportError {
            #expect(error.kind == .noRecording)
            #expect(error.message.contains("no recorded answer for POST /v1beta/models/m:generateContent in fixtures/w/"))
            #expect(error.message.contains("body contents[0].text: recorded \"old prompt\", sent \"new prompt\""))
            #expect(error.message.contains("aiv run --record"))
            #expect(!error.isTransient)
        }
    }

    /// An item with no recording is compared with the same item's recording (where the user's
    /// edit shows), not with another item's that happens to differ as little.
    @Test func anItemIsComparedWithItsOwnRecording() async throws {
        let replay = ReplayTransport(exchanges: [recorded(["text": "Chunk: 0, at most eight"], answer: [:], item: 0),
                                                 recorded(["text": "Chunk: 1, at most eight"], answer: [:], item: 1)], folder: "f")
        var sent = request(["text": "Chunk: 1, at most seven"])
        sent.origin = ("analyse", 1)
        do {
            _ = try await replay.send(sent)
            Issue.record("expected no recording")
        } catch let error as TransportError {
            #expect(error.message.contains("the closest recording (step 'analyse' item 1,"), "\(error.message)")
            #expect(error.message.contains("recorded \"Chunk: 1, at most eight\", sent \"Chunk: 1, at most seven\""), "\(error.message)")
        }
    }

    /// A request that asks again after a recorded reply that broke the schema is said to be that,
    /// not blamed on a changed prompt; a fixture file without exchanges is not called missing.
    @Test func aRepairRequestAndAnEmptyFixtureFileAreSaidForWhatTheyAre() async throws {
        let prompt: JSONValue = ["contents": [["role": "user", "parts": [["text": "List"]]]]]
        let replay = ReplayTransport(exchanges: [recorded(prompt, answer: [:])], folder: "fixtures/w")
        var repair = request(["contents": [["role": "user", "parts": [["text": "List"]]], ["role": "model", "parts": [["text": "Sorry"]]],
                                          ["role": "user", "parts": [["text": "Reply again"]]]]])
        repair.origin = ("analyse", nil)
        do {
            _ = try await replay.send(repair)
            Issue.record("expected no recording")
        } catch let error as TransportError {
            #expect(error.message.contains("asks again after a recorded reply that did not match the prompt's output schema"), "\(error.message)")
            #expect(!error.message.contains("a changed prompt"))
        }
        let folder = TemporaryFolder()
        folder.write("metadata.yaml", "step: metadata\nexchanges: []\n")
        let empty = ReplayTransport(exchanges: [recorded(prompt, answer: [:])], folder: folder.path)
        var asked = request(["text": "y"])
        asked.origin = ("metadata", nil)
        do {
            _ = try await empty.send(asked)
            Issue.record("expected no recording")
        } catch let error as TransportError {
            #expect(error.message.contains("metadata.yaml holds no exchanges"), "\(error.message)")
        }
    }

    /// A step with no recordings at all is said to be that, with the fixture file it lacks.
    @Test func aStepWithNoRecordingsNamesItsMissingFixtureFile() async throws {
        let replay = ReplayTransport(exchanges: [recorded(["text": "x"], answer: [:])], folder: "fixtures/w")
        var sent = request(["text": "y"])
        sent.origin = ("metadata", nil)
        do {
            _ = try await replay.send(sent)
            Issue.record("expected no recording")
        } catch let error as TransportError {
            #expect(error.message.contains("step 'metadata' has no recordings: fixtures/w/metadata.yaml is missing; make it with `aiv run --record`"),
                    "\(error.message)")
            #expect(!error.message.contains("closest"))
        }
    }

    /// Two long texts that differ near their end are shown from a little before the difference,
    /// not both cut at their shared beginning.
    @Test func aLateDifferenceInALongTextIsShownWhereItIs() async throws {
        let shared = "Task: moments\n" + String(repeating: "ホラーゲーム初見プレイ ", count: 12)
        let replay = ReplayTransport(exchanges: [recorded(["text": .string(shared + "end")], answer: [:])], folder: "f")
        do {
            _ = try await replay.send(request(["text": .string(shared + "end <!-- x -->")]))
            Issue.record("expected no recording")
        } catch let error as TransportError {
            let line = try #require(error.message.split(separator: "\n").first { $0.contains("body text:") })
            #expect(line.contains("recorded …") && line.contains("end\""), "\(line)")
            #expect(line.contains("sent …") && line.contains("end <!-- x -->\""), "\(line)")
        }
    }
}
