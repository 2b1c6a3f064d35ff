import AIVCore
import AIVStore
import AIVTestSupport
import Foundation
import Testing

@Suite struct SecretsTests {
    static let key = "AIzaSyFAKE-0123456789abcdefghijkl"

    @Test func aSecretNeverReachesLogsOutputsErrorsHistoryOrTheCache() async throws {
        var harness = Harness()
        let store = try Store(path: harness.directory.path + "/state/aiv.sqlite")
        harness.cache = SQLiteCacheStore(store: store)
        let secrets = Secrets(["GEMINI_API_KEY": Self.key])
        let yaml = """
            name: s
            steps:
              - {id: ok, uses: test.leak, with: {name: GEMINI_API_KEY}}
              - {id: bad, uses: test.leak, retry: {attempts: 2, backoff: 1ms}, continue_on_error: true, with: {name: GEMINI_API_KEY, fail: true}}
            """
        let report = try await harness.run(yaml, observer: RunHistory(store: store), secrets: secrets)
        #expect(report.step("bad")?.error == "step 'bad': server said: bad key [redacted GEMINI_API_KEY]")
        let outputs = harness.directory.stepOutputs(run: "run-1", step: "ok")?.prettyJSON ?? ""
        #expect(outputs.contains("the key is [redacted GEMINI_API_KEY]"))
        // Every byte written anywhere: run folder, database, its write-ahead log.
        var written = 0
        for file in FileManager.default.subpaths(atPath: harness.directory.path) ?? [] {
            guard let data = FileManager.default.contents(atPath: harness.directory.path + "/" + file) else { continue }
            written += data.count
            #expect(data.range(of: Data(Self.key.utf8)) == nil, "\(file) holds the secret")
        }
        #expect(written > 0)
    }

    @Test func redactsLongestValuesFirstAndLeavesShortOnesAlone() {
        let secrets = Secrets(["A_TOKEN": "abcd1234", "B_TOKEN": "abcd1234wxyz", "PIN_KEY": "12"])
        #expect(secrets.redact("x abcd1234wxyz y abcd1234 z 12") == "x [redacted B_TOKEN] y [redacted A_TOKEN] z 12")
        #expect(secrets.redact(["k": ["v abcd1234"]]) == ["k": ["v [redacted A_TOKEN]"]])
    }

    @Test func loadsSecretNamesFromTheEnvironmentAndADotEnvFileTheEnvironmentWinning() throws {
        let folder = TemporaryFolder()
        let path = folder.write(".env", """
            # keys for aiv
            export NOTION_TOKEN=ntn_from_file
            GEMINI_API_KEY="with \\"quotes\\" and \\\\ slash"
            OBS_WEBSOCKET_PASSWORD='single # not a comment'
            PLAIN=value # a comment
            HOME_DIR=/home/x
            """)
        let secrets = try Secrets.load(environment: ["NOTION_TOKEN": "ntn_from_env", "PATH": "/bin"], dotEnv: path)
        #expect(secrets.names == ["GEMINI_API_KEY", "NOTION_TOKEN", "OBS_WEBSOCKET_PASSWORD"])
        #expect(secrets["NOTION_TOKEN"] == "ntn_from_env")
        #expect(secrets["GEMINI_API_KEY"] == "with \"quotes\" and \\ slash")
        #expect(secrets["OBS_WEBSOCKET_PASSWORD"] == "single # not a comment")
    }

    @Test func aMalformedDotEnvLineIsAnErrorWithItsLine() {
        let folder = TemporaryFolder()
        let path = folder.write(".env", "A_KEY=1\nthis is not an assignment\n")
        #expect(throws: Diagnostic.error("expected NAME=value", at: SourceLocation(file: path, line: 2, column: 1))) {
            try Secrets.load(environment: [:], dotEnv: path)
        }
    }
}
