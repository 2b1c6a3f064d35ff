import AIVCore
import AIVStore
import AIVTestSupport
import Foundation
import Logging
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

    /// A placeholder key ("sample") that happens to be a word of a step's outputs: the outputs go
    /// on redacted, as any secret's would, but they are not the step's result, so they are not
    /// cached (a mangled result would otherwise be served for good, with the key gone), and the
    /// run says so once for the step, naming the variable and never its value.
    @Test func outputsThatHeldASecretArePassedOnRedactedButNotCachedAndTheRunSaysSoOnce() async throws {
        var harness = Harness()
        let yaml = """
            name: s
            steps:
              - {id: leak, uses: test.leak, for_each: [1, 2, 3], with: {name: GEMINI_API_KEY}}
              - {id: plain, uses: test.echo, with: {value: sample}}
            """
        let events = EventLog()
        let first = try await harness.run(yaml, observer: events, secrets: Secrets(["GEMINI_API_KEY": "sample"]))
        #expect(first.step("leak")?.status == .succeeded)
        #expect(harness.directory.stepOutputs(run: "run-1", step: "leak") == [["said": "the key is [redacted GEMINI_API_KEY]"],
                                                                             ["said": "the key is [redacted GEMINI_API_KEY]"],
                                                                             ["said": "the key is [redacted GEMINI_API_KEY]"]])
        // Once for the three items of 'leak', once for 'plain'.
        let warnings = events.warnings.sorted()
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.first?.hasPrefix("step 'leak' item ") == true && warnings.last?.hasPrefix("step 'plain': ") == true, "\(warnings)")
        #expect(warnings.allSatisfy { $0.contains("hold the value of GEMINI_API_KEY") && $0.contains("not cached") && !$0.contains("sample") }, "\(warnings)")
        #expect(first.step("leak")?.log?.contains("not cached: its outputs hold the value of GEMINI_API_KEY") == true)

        // Without the placeholder: the step runs again (nothing of it was cached) and its outputs
        // are whole; the step whose outputs held no secret came from the cache.
        let second = try await harness.run(yaml, secrets: Secrets(["GEMINI_API_KEY": "AIza-real-key-0123456789"]))
        #expect(second.step("leak")?.status == .succeeded && second.step("leak")?.reason == "no earlier result", "\(second.steps)")
        #expect(second.step("plain")?.status == .succeeded, "the echo of 'sample' held the secret too: not cached")
        let third = try await harness.run(yaml, secrets: Secrets(["GEMINI_API_KEY": "AIza-real-key-0123456789"]))
        #expect(third.step("plain")?.status == .cached)
        #expect(third.step("leak")?.status == .succeeded, "its outputs hold the real key: never cached")
    }

    /// A secret's value given to a step some other way than a secret input (an input not
    /// declared secret, a literal): the cache would keep it in the step's arguments, so the
    /// result is not cached, `plan` and the run say why, and no byte of it reaches the state.
    @Test func argumentsThatHoldASecretsValueAreNotCachedAndTheRunSaysWhyNamingTheVariable() async throws {
        var harness = Harness()
        let store = try Store(path: harness.directory.path + "/state/aiv.sqlite")
        harness.cache = SQLiteCacheStore(store: store)
        let secrets = Secrets(["MY_TOKEN": Self.key])
        let yaml = """
            name: s
            inputs: {note: string}
            steps:
              - {id: note, uses: test.write, for_each: [1, 2], with: {path: "n${{ item }}.txt", text: "remember ${{ inputs.note }}"}}
              - {id: other, uses: test.echo, with: {value: plain}}
            """
        let events = EventLog()
        let first = try await harness.run(yaml, inputs: ["note=\(Self.key)"], observer: events, secrets: secrets)
        #expect(first.step("note")?.status == .succeeded)
        #expect(events.warnings.count == 1, "\(events.warnings)")
        #expect(events.warnings.first?.hasPrefix("step 'note': its arguments hold the value of MY_TOKEN, so its results are not cached") == true, "\(events.warnings)")
        let second = try await harness.run(yaml, inputs: ["note=\(Self.key)"], observer: RunHistory(store: store), secrets: secrets)
        #expect(second.step("note")?.status == .succeeded)
        #expect(second.step("note")?.reason == "its arguments hold the value of MY_TOKEN: not cached")
        #expect(second.step("other")?.status == .cached)
        let forecast = CacheForecast(plan: try harness.plan(yaml, inputs: ["note=\(Self.key)"]), registry: harness.registry, cache: harness.cache,
                                     blobs: nil, environment: [:], secrets: secrets, workflowDirectory: harness.directory.path)
        #expect(forecast.verdicts["note"] == .willRun(reason: "its arguments hold the value of MY_TOKEN: not cached"))
        for file in ["aiv.sqlite", "aiv.sqlite-wal"] {
            let data = FileManager.default.contents(atPath: harness.directory.path + "/state/" + file) ?? Data()
            #expect(data.range(of: Data(Self.key.utf8)) == nil, "\(file) holds the secret")
        }
    }

    /// A condition written with a secret's value in it: the reason a step was skipped, as the
    /// history and the summary keep it, shows the marker.
    @Test func aSkipReasonQuotingASecretIsRedacted() async throws {
        var harness = Harness()
        let yaml = "name: s\ninputs: {label: {type: string, default: x}}\nsteps:\n  - {id: g, uses: test.echo, if: \"inputs.label == '\(Self.key)'\", with: {value: 1}}\n"
        let report = try await harness.run(yaml, secrets: Secrets(["MY_TOKEN": Self.key]))
        #expect(report.step("g")?.reason == "if: inputs.label == '[redacted MY_TOKEN]' was false")
    }

    /// A step that reads a secret input and returns it: not cached (known beforehand), and the
    /// run still says its outputs go on redacted. An argument that happens to equal a short PIN
    /// (a year, 2024) keeps its step cached: a whole-value match says nothing of arguments.
    @Test func aSecretInputsEchoIsSaidAndANumberEqualToAPINStaysCached() async throws {
        var harness = Harness()
        let yaml = """
            name: s
            inputs: {key: {type: string, secret: true}, pin: {type: number, secret: true}}
            steps:
              - {id: echo, uses: test.echo, with: {value: "${{ inputs.key }}"}}
              - {id: year, uses: test.write, with: {path: year.txt, text: "2024"}}
            """
        let events = EventLog()
        let inputs = ["key=\(Self.key)", "pin=2024"]
        // As `aiv run` gives them: the environment's secrets and the secret inputs' values.
        let secrets = try harness.plan(yaml, inputs: inputs).secrets(adding: Secrets())
        let first = try await harness.run(yaml, inputs: inputs, observer: events, secrets: secrets)
        #expect(first.step("echo")?.reason == "reads secret input 'key': not cached")
        #expect(events.warnings.count == 1 && events.warnings[0].hasPrefix("step 'echo': its outputs hold the value of inputs.key; it is passed on redacted"),
                "\(events.warnings)")
        let second = try await harness.run(yaml, inputs: inputs, secrets: secrets)
        #expect(second.step("year")?.status == .cached)
    }

    @Test(arguments: ["GEMINI_API_KEY", "NOTION_TOKEN", "OBS_WEBSOCKET_PASSWORD", "DB_PASSWD", "GH_PASSPHRASE", "MY_PASS", "CLIENT_SECRET",
                      "AWS_CREDENTIALS", "BASIC_AUTH", "PRIVATE_PEM", "SESSION_COOKIE", "BEARER", "SLACK_WEBHOOK_URL", "GITHUB_PAT", "JWT",
                      "jwt", "Notion-Token", "stream_key", "stream_pin", "streamPin", "obsPass", "githubPat", "myJwt"])
    func aNameThatHoldsAKeyTokenOrPasswordLooksSecret(name: String) {
        #expect(Secrets.looksSecret(name))
    }

    @Test(arguments: ["PATH", "HOME", "PATTERN", "NOTION_DATABASE_ID", "GEMINI_BASE_URL", "LANG", "PASSES", "STREAM_TITLE", "PINNED_COMMENT", "pinnedComment", "patternMatch", "passesLeft"])
    func anOrdinaryNameDoesNotLookSecret(name: String) {
        #expect(!Secrets.looksSecret(name))
    }

    @Test func redactsLongestValuesFirstAndLeavesShortOnesAlone() {
        let secrets = Secrets(["A_TOKEN": "abcd1234", "B_TOKEN": "abcd1234wxyz", "PIN_KEY": "12"])
        #expect(secrets.redact("x abcd1234wxyz y abcd1234 z 12") == "x [redacted B_TOKEN] y [redacted A_TOKEN] z 12")
        #expect(secrets.redact(["k": ["v abcd1234"]]) == ["k": ["v [redacted A_TOKEN]"]])
    }

    /// A value is kept without the spaces and line breaks around it, and a break inside it is
    /// also redacted in the escaped form a library's message writes it in.
    @Test func valuesAreTrimmedAndRedactedAlsoInTheirEscapedForm() {
        let secrets = Secrets(["NOTION_TOKEN": " secret_abc123\n", "OTHER_KEY": "ab\ncd1234"])
        #expect(secrets["NOTION_TOKEN"] == "secret_abc123")
        #expect(secrets.redact("got secret_abc123") == "got [redacted NOTION_TOKEN]")
        #expect(secrets.redact(#"invalidHeaderFieldValues(["ab\ncd1234"])"#) == #"invalidHeaderFieldValues(["[redacted OTHER_KEY]"])"#)
        #expect(secrets.unsendable("OTHER_KEY") && !secrets.unsendable("NOTION_TOKEN"))
    }

    /// A body that is not text is kept as base64, where no search of the fixture would find a key.
    @Test func aKeyInABodyThatIsNotTextIsRedactedBeforeItIsKeptAsBase64() {
        let secrets = Secrets(["GEMINI_API_KEY": Self.key])
        var body = Data([0xFF, 0xFE, 0x00])
        body.append(Data("bad key \(Self.key) and again \(Self.key)".utf8))
        body.append(0xC3)
        guard case .base64(let kept) = RecordedBody.recording(body, secrets: secrets, isAnswer: true) else {
            Issue.record("a body that is not UTF-8 is kept as base64")
            return
        }
        #expect(kept.range(of: Data(Self.key.utf8)) == nil)
        #expect(kept.range(of: Data("bad key [redacted GEMINI_API_KEY] and again [redacted GEMINI_API_KEY]".utf8)) != nil)
        #expect(kept.prefix(3) == Data([0xFF, 0xFE, 0x00]))
    }

    /// A name that looks secret holding a yes/no word (`TOKENIZERS_PARALLELISM=false`) must not
    /// rewrite that word in a model's answer or a public page; short secrets still count.
    @Test func aYesNoWordUnderASecretLookingNameIsNotRedacted() {
        let secrets = Secrets(["TOKENIZERS_PARALLELISM": "false", "WEBHOOK_SECRET": "s3cr3t", "OBS_WEBSOCKET_PASSWORD": "hunter",
                               "HF_TOKEN": "hf_abcdefgh", "API_KEY_ENABLED": "YES"])
        #expect(secrets.redact("false friend, s3cr3t hunter, hf_abcdefgh, YES")
                == "false friend, [redacted WEBHOOK_SECRET] [redacted OBS_WEBSOCKET_PASSWORD], [redacted HF_TOKEN], YES")
        // Still secrets: a step reads them; they are only not searched for in text.
        #expect(secrets["TOKENIZERS_PARALLELISM"] == "false")
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

    /// A quoted value followed by a comment is the text inside the quotes: sent with its quotes,
    /// a key would be refused, and a server's echo of the bare key would escape redaction.
    @Test func aQuotedValueFollowedByACommentLosesItsQuotesAndTheComment() throws {
        let folder = TemporaryFolder()
        let path = folder.write(".env", """
            GEMINI_API_KEY="sk-SECRET-1234" # the key
            NOTION_TOKEN='ntn-5678'   # the token
            OBS_WEBSOCKET_PASSWORD=#starts-with-hash
            A_KEY="tab\there"
            """)
        let secrets = try Secrets.load(environment: [:], dotEnv: path)
        #expect(secrets["GEMINI_API_KEY"] == "sk-SECRET-1234")
        #expect(secrets["NOTION_TOKEN"] == "ntn-5678")
        #expect(secrets["OBS_WEBSOCKET_PASSWORD"] == "#starts-with-hash")
        #expect(secrets["A_KEY"] == "tab\there")
        #expect(secrets.redact("API key not valid. sk-SECRET-1234") == "API key not valid. [redacted GEMINI_API_KEY]")
    }

    @Test func aQuoteThatIsNeverClosedOrTextAfterItIsAnErrorAtTheValue() {
        let folder = TemporaryFolder()
        let open = folder.write("open.env", "  GEMINI_API_KEY=\"sk-1234\n")
        #expect(throws: Diagnostic.error("the value opens a double quote it never closes (values are one line long)",
                                         at: SourceLocation(file: open, line: 1, column: 18))) {
            try Secrets.load(environment: [:], dotEnv: open)
        }
        let trailing = folder.write("trailing.env", "NOTION_TOKEN=\"ntn_abc\"def456secret\n")
        #expect(throws: Diagnostic.error("text follows the value's closing quote; only a '#' comment may follow it",
                                         at: SourceLocation(file: trailing, line: 1, column: 14))) {
            try Secrets.load(environment: [:], dotEnv: trailing)
        }
        let pasted = folder.write("pasted.env", "c2Vj+cmV0/IGtleQ==\n")
        #expect(throws: Diagnostic.error("what comes before '=' is not a variable name (letters, digits and '_')",
                                         at: SourceLocation(file: pasted, line: 1, column: 1))) {
            try Secrets.load(environment: [:], dotEnv: pasted)
        }
    }

    /// A value that holds its own quote is everything between the outer quotes, as it always
    /// was; a file saved with CRLF line ends is read line by line; `KEY= # note` is empty.
    @Test func quotesInsideAValueCRLFLinesAndACommentAfterEquals() throws {
        let folder = TemporaryFolder()
        let path = folder.write(".env", "OBS_WEBSOCKET_PASSWORD='it's-my-pw'\r\nGEMINI_API_KEY=\"say \\\"hi\\\"\" # note\r\nNOTION_DATABASE_ID= # fill in\r\nB=two\r\n")
        let loaded = try LoadedEnvironment.load(environment: [:], dotEnv: path)
        #expect(loaded.secrets["OBS_WEBSOCKET_PASSWORD"] == "it's-my-pw")
        #expect(loaded.secrets["GEMINI_API_KEY"] == "say \"hi\"")
        #expect(loaded.variables["NOTION_DATABASE_ID"] == "")
        #expect(loaded.variables["B"] == "two")
    }

    /// A secret input is secret whatever its shape: every text and number in it, named by its
    /// place; a number is redacted as a number is written, and a value with a quote or a
    /// backslash also as JSON writes it. A short number (a PIN) is replaced only where it is a
    /// whole value, not inside a date. History and `plan` show such an input by name only,
    /// however short its value.
    @Test func aSecretInputIsSecretInEveryShapeAndForm() {
        let inputs: [String: JSONValue] = ["stream_pin": 86420975, "api_keys": [["token": "NESTEDSECRET1"], 77775555],
                                           "stream_key": "ab\"cd\\SECRET9", "title": "Tonight", "pin": 2024]
        let secrets = Secrets().including(secretInputs: ["api_keys", "pin", "stream_key", "stream_pin"], of: inputs)
        #expect(secrets.names == ["inputs.api_keys.0.token", "inputs.api_keys.1", "inputs.pin", "inputs.stream_key", "inputs.stream_pin"])
        #expect(secrets.names(foundIn: ["n": 86420975, "list": [1, 77775555]]) == ["inputs.api_keys.1", "inputs.stream_pin"])
        #expect(secrets.redact(["n": 86420975, "m": 5]) == ["n": "[redacted inputs.stream_pin]", "m": 5])
        let written = JSONValue.object(["key": "ab\"cd\\SECRET9"]).canonicalJSON
        #expect(secrets.redact(written) == "{\"key\":\"[redacted inputs.stream_key]\"}")
        #expect(secrets.names(foundIn: .string(written)) == ["inputs.stream_key"])
        #expect(secrets.redact("streamed 2024-11-29") == "streamed 2024-11-29")
        #expect(secrets.redact(["pin": 2024, "text": "2024"]) == ["pin": "[redacted inputs.pin]", "text": "[redacted inputs.pin]"])
    }

    @Test func historyAndPlanShowASecretInputByItsNameAlone() throws {
        let yaml = """
            name: w
            inputs:
              stream_pin: {type: number, secret: true}
              obs_password: {type: string, secret: true, required: false}
              title: {type: string, default: Tonight}
            steps:
              - {id: a, uses: test.echo, with: {value: "${{ inputs.title }}"}}
              - {id: b, uses: test.echo, with: {value: "${{ inputs.stream_pin }}"}}
            """
        let plan = try Harness().plan(yaml, inputs: ["stream_pin=482"])
        #expect(plan.secretInputs == ["obs_password", "stream_pin"])
        #expect(plan.shownInputs(redactedBy: Secrets()) == ["stream_pin": "[redacted inputs.stream_pin]", "title": "Tonight", "obs_password": .null])
        #expect(plan.step("a")?.secretInputs == [] && plan.step("b")?.secretInputs == ["stream_pin"])
        // Every way an expression reads it, and nothing that only looks alike.
        let reads = """
            name: w
            inputs:
              pin: {type: string, secret: true}
              keys: {type: list, secret: true, default: [a]}
              pinned: {type: string, default: x}
            steps:
              - {id: index, uses: test.echo, with: {value: "${{ inputs['pin'] }}"}}
              - {id: whole, uses: test.echo, with: {value: "${{ toJSON(inputs) }}"}}
              - {id: loop, uses: test.echo, for_each: "${{ inputs.keys }}", with: {value: x}}
              - {id: cond, uses: test.echo, if: "inputs.pin == 'x'", with: {value: x}}
              - {id: alike, uses: test.echo, with: {value: "${{ inputs.pinned }} my_inputs.pin"}}
            """
        let more = try Harness().plan(reads, inputs: ["pin=1234"])
        #expect(["index", "cond"].allSatisfy { more.step($0)?.secretInputs == ["pin"] })
        #expect(more.step("whole")?.secretInputs == ["keys", "pin"] && more.step("loop")?.secretInputs == ["keys"])
        #expect(more.step("alike")?.secretInputs == [])
    }

    /// A field's name is not text to search: a placeholder key `sample` left `sample_rate` alone
    /// (rewritten, it broke media.probe's outputs); a key that is a secret whole is replaced.
    @Test func fieldNamesAreReplacedOnlyWhenTheyAreASecretWhole() {
        let secrets = Secrets(["GEMINI_API_KEY": "sample"])
        #expect(secrets.redact(["sample_rate": 48000, "note": "a sample"]) == ["sample_rate": 48000, "note": "a [redacted GEMINI_API_KEY]"])
        #expect(secrets.names(foundIn: ["sample_rate": 1]) == [])
        #expect(secrets.redact(["sample": 1]) == ["[redacted GEMINI_API_KEY]": 1])
    }

    /// An input is secret when it says so: names that hold KEY or TOKEN inside a word
    /// (`max_tokens`, `keywords`) are ordinary, and one that looks secret without saying is warned about.
    @Test func anInputIsSecretWhenDeclaredAndALikelyOneIsWarnedAbout() {
        #expect(!Secrets.looksSecretByWords("max_tokens") && !Secrets.looksSecretByWords("keywords") && !Secrets.looksSecretByWords("author"))
        #expect(Secrets.looksSecretByWords("stream_key") && Secrets.looksSecretByWords("streamPin") && Secrets.looksSecretByWords("obs_password"))
        let harness = Harness()
        let yaml = "name: w\ninputs:\n  stream_key: string\n  max_tokens: {type: number, default: 5}\n  pin: {type: number, secret: false, default: 1}\nsteps:\n  - {id: a, uses: test.echo, with: {value: x}}\n"
        let path = harness.directory.write("w.yaml", yaml)
        let output = Frontend(registry: harness.registry, environment: [:]).check(path: path)
        #expect(output.diagnostics.warnings.map(\.message) == ["input 'stream_key' looks like a key, token or password: write it {type: string, secret: true} so its value stays out of the history, the cache and logs (or secret: false)"])
    }

    /// A name set twice: the later line wins, as when a shell reads the file, and a warning says
    /// where both are without quoting either value. Before, the first won in silence.
    @Test func aNameSetTwiceTakesTheLaterValueAndIsWarnedAbout() throws {
        let folder = TemporaryFolder()
        let path = folder.write(".env", "GEMINI_API_KEY=old-key-1111\nPLAIN=a\n\nGEMINI_API_KEY=new-key-2222\nGEMINI_API_KEY=newest-3333\n")
        let loaded = try LoadedEnvironment.load(environment: [:], dotEnv: path)
        #expect(loaded.secrets["GEMINI_API_KEY"] == "newest-3333")
        #expect(loaded.warnings.map(\.description) == ["\(path):4:1: warning: GEMINI_API_KEY is set again (first on line 1); this line's value is used",
                                                       "\(path):5:1: warning: GEMINI_API_KEY is set again (first on line 1); this line's value is used"])
        let fromEnvironment = try LoadedEnvironment.load(environment: ["GEMINI_API_KEY": "env"], dotEnv: path)
        #expect(fromEnvironment.secrets["GEMINI_API_KEY"] == "env")
        #expect(fromEnvironment.warnings.first?.message == "GEMINI_API_KEY is set again (first on line 1); the environment's value is used over both")
    }

    /// Every variable of the file is read, not only secrets (`NOTION_DATABASE_ID`, a base URL);
    /// the environment still wins, and expressions still never see a secret.
    @Test func aDotEnvFilesOtherVariablesJoinTheEnvironmentUnderIt() throws {
        let folder = TemporaryFolder()
        let path = folder.write(".env", "NOTION_DATABASE_ID=db-from-file\nGEMINI_BASE_URL=http://127.0.0.1:9\nNOTION_TOKEN=ntn-1234\n")
        let loaded = try LoadedEnvironment.load(environment: ["GEMINI_BASE_URL": "http://from-env"], dotEnv: path)
        #expect(loaded.variables["NOTION_DATABASE_ID"] == "db-from-file")
        #expect(loaded.variables["GEMINI_BASE_URL"] == "http://from-env")
        #expect(loaded.secrets.names == ["NOTION_TOKEN"])
        #expect(try LoadedEnvironment.load(environment: [:], dotEnv: folder.path + "/absent.env").variables.isEmpty)
        #expect(throws: Diagnostic.error("no such file: \(folder.path)/absent.env (given with --env-file)", at: nil)) {
            try LoadedEnvironment.load(environment: [:], dotEnv: folder.path + "/absent.env", required: true)
        }
    }

    /// A page link a service echoes the token in is stored redacted; the key and id that later
    /// runs look the page up by are kept as they are.
    @Test func aRecordsLinkIsStoredWithoutSecrets() throws {
        let base = MemoryRecordIndex()
        let hub = ServiceHub(mode: .live, transport: ReplayTransport(exchanges: [], folder: "f"), services: [:], settings: [:], environment: [:],
                             secrets: Secrets(["NOTION_TOKEN": "secret_NOTION-5678"]), records: base)
        try hub.records.save(ExternalRecord(namespace: "notion:db", key: "草", id: "page-1", url: "https://notion.so/p?token=Bearer secret_NOTION-5678",
                                            contentHash: "h"))
        let stored = try #require(try base.record(namespace: "notion:db", key: "草"))
        #expect(stored.url == "https://notion.so/p?token=Bearer [redacted NOTION_TOKEN]")
        #expect(stored.id == "page-1")
    }

    /// A workflow may come from someone else, and its `base_url` decides where a key goes.
    @Test func aKeyIsNeverSentOverPlainHTTPBeyondLoopbackAndAWorkflowsForeignHostIsAnnounced() throws {
        let info = HTTPServiceInfo(defaultBaseURL: "https://generativelanguage.googleapis.com", baseURLVariable: "GEMINI_BASE_URL",
                                   credential: .init(variable: "GEMINI_API_KEY", header: "x-goog-api-key"), defaultLimits: ServiceLimits())
        let secrets = Secrets(["GEMINI_API_KEY": Self.key])
        func hub(_ base: String?, environment: [String: String] = [:], mode: TransportMode = .live, warnings: WarningBox = WarningBox()) -> ServiceHub {
            ServiceHub(mode: mode, transport: ReplayTransport(exchanges: [], folder: "f"), services: ["gemini": info],
                       settings: base.map { ["gemini": ["base_url": .string($0)]] } ?? [:], environment: environment, secrets: secrets,
                       warn: { warnings.add($0) })
        }
        let logger = Logger(label: "test")
        #expect(throws: StepError("gemini: will not send GEMINI_API_KEY over plain http to proxy.example.com; give gemini's base URL as https://, or a loopback address (127.0.0.1) for a local stand-in")) {
            try hub("http://proxy.example.com").client("gemini", step: "s", item: nil, logger: logger)
        }
        #expect(throws: Never.self) { try hub("http://127.0.0.1:8080").client("gemini", step: "s", item: nil, logger: logger) }
        #expect(throws: Never.self) { try hub("http://127.3.4.5:8080").client("gemini", step: "s", item: nil, logger: logger) }
        #expect(throws: Never.self) { try hub("http://localhost:8080").client("gemini", step: "s", item: nil, logger: logger) }
        // A name that starts like a loopback address is a host like any other.
        #expect(throws: StepError.self) { try hub("http://127.evil.example").client("gemini", step: "s", item: nil, logger: logger) }
        #expect(throws: Never.self) { try hub("http://[::1]:8080").client("gemini", step: "s", item: nil, logger: logger) }
        // A dry run sends no key, so any address may be replayed.
        #expect(throws: Never.self) { try hub("http://proxy.example.com", mode: .replay).client("gemini", step: "s", item: nil, logger: logger) }

        let warnings = WarningBox()
        _ = hub("https://proxy.example.com/v1", warnings: warnings)
        _ = hub("https://generativelanguage.googleapis.com", warnings: warnings)
        _ = hub("http://127.0.0.1:9", warnings: warnings)
        _ = hub("https://proxy.example.com", environment: ["GEMINI_BASE_URL": "https://mine.example.com"], warnings: warnings)
        _ = hub("https://proxy.example.com", mode: .replay, warnings: warnings)
        _ = hub("https://127.evil.example", warnings: warnings)
        #expect(warnings.all == ["gemini: services.gemini.base_url sends GEMINI_API_KEY to proxy.example.com, not to generativelanguage.googleapis.com",
                                 "gemini: services.gemini.base_url sends GEMINI_API_KEY to 127.evil.example, not to generativelanguage.googleapis.com"])
    }

    @Test func aMalformedDotEnvLineIsAnErrorWithItsLine() {
        let folder = TemporaryFolder()
        let path = folder.write(".env", "A_KEY=1\nthis is not an assignment\n")
        #expect(throws: Diagnostic.error("expected NAME=value", at: SourceLocation(file: path, line: 2, column: 1))) {
            try Secrets.load(environment: [:], dotEnv: path)
        }
    }
}

/// Collects warnings a hub gives from any thread.
final class WarningBox: @unchecked Sendable {
    private let lock = NSLock()
    private var warnings: [String] = []
    func add(_ warning: String) { lock.withLock { warnings.append(warning) } }
    var all: [String] { lock.withLock { warnings } }
}
