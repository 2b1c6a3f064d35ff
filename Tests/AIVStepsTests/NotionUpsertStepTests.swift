import AIVCore
import AIVNetwork
import AIVSteps
import AIVTestSupport
import Foundation
import Testing

/// A fake Notion with a vocabulary database, and a step context whose services reach it.
final class NotionHarness: @unchecked Sendable {
    let notion: FakeNotion
    let steps = StepHarness()
    let database: String
    var token: String?
    var version = "2022-06-28"
    var records: any ExternalRecordIndex = MemoryRecordIndex()
    /// Set before the first use: what `--record` keeps, or (with `.replay`) what answers.
    var recorder: FixtureRecorder?
    var replay: ReplayTransport?
    /// One hub per run, as `aiv run` makes: what it fetched once (the schema) it keeps.
    private var hub: ServiceHub?

    init() throws {
        notion = try FakeNotion()
        notion.requestsPerSecond = nil
        token = notion.token
        database = notion.addDatabase(title: "Vocabulary", properties: [
            "Japanese": "title", "English": "rich_text", "Difficulty": "select", "Tags": "multi_select",
            "Timestamp": "url", "Seen": "number",
        ])
    }

    deinit { notion.stop() }

    var context: StepContext {
        var context = steps.context
        let secrets = Secrets(token.map { ["NOTION_TOKEN": $0] } ?? [:])
        context.secrets = secrets
        if hub == nil {
            hub = ServiceHub(mode: replay != nil ? .replay : recorder != nil ? .record : .live,
                             transport: replay ?? HTTPClientTransport(), services: BuiltinServices.http,
                             settings: ["notion": ["base_url": .string(notion.baseURL), "version": .string(version),
                                                   "retry": ["attempts": 4, "delay": 0.01], "limits": ["requests_per_second": 200]]],
                             secrets: secrets, recorder: recorder, records: records)
        }
        context.services = hub
        return context
    }

    func upsert(_ properties: [String: JSONValue], onExisting: String = "update") async throws -> JSONValue {
        let arguments: [String: JSONValue] = ["database": .string(database), "key": "Japanese", "properties": .object(properties),
                                              "on_existing": .string(onExisting)]
        return try await NotionUpsertStep().run(StepArguments(arguments), context: context).outputs
    }

    func failure(_ properties: [String: JSONValue]) async -> String? {
        do {
            _ = try await upsert(properties)
            return nil
        } catch {
            return "\(error)"
        }
    }

    var pages: [JSONValue] { notion.pages(in: database) }
}

let kusa: [String: JSONValue] = ["Japanese": "草", "English": "lol (literally 'grass')", "Difficulty": "N3", "Tags": ["slang", "internet"],
                                 "Timestamp": "https://youtu.be/abc?t=95s", "Seen": 1]

@Suite(.serialized) struct NotionUpsertStepTests {
    @Test func createsThenLeavesAnUnchangedPageAloneThenUpdatesAChangedOne() async throws {
        let harness = try NotionHarness()
        let created = try await harness.upsert(kusa)
        #expect(created["created"] == 1)
        #expect(created["pages", 0, "action"] == "created")
        let page = try #require(harness.pages.first)
        #expect(harness.notion.plainText(of: page, property: "English") == "lol (literally 'grass')")
        #expect(harness.notion.plainText(of: page, property: "Difficulty") == "N3")
        #expect(harness.notion.plainText(of: page, property: "Timestamp") == "https://youtu.be/abc?t=95s")

        let before = harness.notion.requestCount
        let again = try await harness.upsert(kusa)
        #expect(again["unchanged"] == 1)
        #expect(harness.notion.requestCount == before, "an unchanged page is not sent again")

        var changed = kusa
        changed["Seen"] = 2
        let updated = try await harness.upsert(changed)
        #expect(updated["updated"] == 1)
        #expect(harness.notion.updates == 1)
        #expect(harness.pages.count == 1)
        #expect(harness.notion.plainText(of: harness.pages[0], property: "Seen") == "2")
    }

    @Test func aPageThatExistsButIsNotInTheStoreIsFoundByQueryNotDuplicated() async throws {
        let harness = try NotionHarness()
        try harness.notion.addPage(in: harness.database, properties: ["Japanese": ["title": [["text": ["content": "草"]]]]])
        let outputs = try await harness.upsert(kusa)
        #expect(outputs["updated"] == 1)
        #expect(harness.pages.count == 1)
        #expect(harness.notion.creates == 0)

        let skipping = try NotionHarness()
        try skipping.notion.addPage(in: skipping.database, properties: ["Japanese": ["title": [["text": ["content": "草"]]]]])
        let skipped = try await skipping.upsert(kusa, onExisting: "skip")
        #expect(skipped["skipped"] == 1)
        #expect(skipping.notion.updates == 0)
    }

    @Test func theKeyQueryFollowsNextCursorAndWritesToTheOldestOfSeveralMatches() async throws {
        let harness = try NotionHarness()
        var ids: [String] = []
        for _ in 0..<102 {
            ids.append(try harness.notion.addPage(in: harness.database, properties: ["Japanese": ["title": [["text": ["content": "草"]]]]]))
        }
        let outputs = try await harness.upsert(kusa)
        #expect(outputs["updated"] == 1)
        #expect(outputs["id"]?.stringValue?.replacingOccurrences(of: "-", with: "") == ids[0].replacingOccurrences(of: "-", with: ""))
        let queries = harness.notion.requests.filter { $0.path.hasSuffix("/query") }
        #expect(queries.count == 2)
        #expect(queries.last?.json?["start_cursor"]?.stringValue != nil)
        #expect(harness.notion.creates == 0)
    }

    @Test func itemsThatShareAKeyTakeTurnsAndMakeOnePage() async throws {
        let harness = try NotionHarness()
        harness.notion.latency = 0.02
        let context = harness.context
        try await withThrowingTaskGroup(of: JSONValue.self) { group in
            for english in ["lol", "grass", "laughing", "www"] {
                group.addTask {
                    var page = kusa
                    page["English"] = .string(english)
                    let arguments: [String: JSONValue] = ["database": .string(harness.database), "key": "Japanese",
                                                          "properties": .object(page), "on_existing": "update"]
                    return try await NotionUpsertStep().run(StepArguments(arguments), context: context).outputs
                }
            }
            for try await _ in group {}
        }
        #expect(harness.pages.count == 1)
        #expect(harness.notion.creates == 1)
    }

    @Test func aPagesListWithAKeyTwiceIsRefused() async throws {
        let harness = try NotionHarness()
        let arguments: [String: JSONValue] = ["database": .string(harness.database), "key": "Japanese",
                                              "pages": [["Japanese": "草"], ["Japanese": "草", "English": "lol"]]]
        do {
            _ = try await NotionUpsertStep().run(StepArguments(arguments), context: harness.context)
            Issue.record("expected a failure")
        } catch {
            #expect("\(error)".contains("page 1: has the key '草', as page 0 does"))
        }
        #expect(harness.notion.creates == 0)
    }

    @Test func aNumberKeyGivenAsTextIsLookedUpAsANumber() async throws {
        let harness = try NotionHarness()
        let numbered = harness.notion.addDatabase(title: "Episodes", properties: ["Name": "title", "Episode": "number"])
        for _ in 0..<2 {
            let arguments: [String: JSONValue] = ["database": .string(numbered), "key": "Episode", "properties": ["Name": "first", "Episode": "42"]]
            _ = try await NotionUpsertStep().run(StepArguments(arguments), context: harness.context)
        }
        #expect(harness.notion.pages(in: numbered).count == 1)
    }

    @Test func aCreateWhoseAnswerIsLostIsFoundInsteadOfRepeated() async throws {
        let harness = try NotionHarness()
        harness.notion.enqueueFault(.applyThenFail(502))
        let outputs = try await harness.upsert(kusa)
        #expect(outputs["created"] == 1)
        #expect(harness.pages.count == 1)

        let dropped = try NotionHarness()
        dropped.notion.enqueueFault(.applyThenDrop)
        _ = try await dropped.upsert(kusa)
        #expect(dropped.pages.count == 1)
    }

    /// A create whose connection dropped after the page was made is recorded as an answer that
    /// never came (`status: 0`), so a dry run replays the same loss and finds the page as the
    /// live run did, instead of stopping at a create with no recording.
    @Test func aCreateWhoseAnswerWasLostIsRecordedAndReplayedAsLost() async throws {
        let live = try NotionHarness()
        let folder = TemporaryFolder()
        live.recorder = FixtureRecorder(folder: folder.path, workflow: "w")
        live.notion.enqueueFault(.applyThenDrop)
        let recorded = try await live.upsert(kusa)
        #expect(live.pages.count == 1)
        let paths = try live.recorder!.flush()
        #expect(paths.count == 1)
        let file = try String(contentsOfFile: try #require(paths.first), encoding: .utf8)
        #expect(file.contains("status: 0"), "\(file)")

        let dry = try NotionHarness()
        dry.replay = try ReplayTransport(folder: folder.path)
        let arguments: [String: JSONValue] = ["database": .string(live.database), "key": "Japanese", "properties": .object(kusa),
                                              "on_existing": "update"]
        let replayed = try await NotionUpsertStep().run(StepArguments(arguments), context: dry.context).outputs
        #expect(replayed == recorded)
        #expect(dry.notion.requests.isEmpty, "a replay sends nothing")
    }

    @Test func aCreateThatFailedBeforeWritingIsTriedAgain() async throws {
        let harness = try NotionHarness()
        harness.notion.enqueueFault(.refuseWrite(503))
        let outputs = try await harness.upsert(kusa)
        #expect(outputs["created"] == 1)
        #expect(harness.pages.count == 1)
        #expect(harness.notion.requests.filter { $0.method == "POST" && $0.path == "/v1/pages" }.count == 2)
    }

    /// A new page can take a while to show in queries: one made by a create whose answer was
    /// lost is looked for over the whole backoff (0.01 + 0.02 + 0.04 + 0.08 s here, 15 s by
    /// default) before the create is sent again.
    @Test func aCreateThatHappenedButShowsLateInQueriesIsFoundNotMadeTwice() async throws {
        let harness = try NotionHarness()
        harness.notion.queryLag = 0.1
        harness.notion.enqueueFault(.applyThenFail(500))
        let outputs = try await harness.upsert(kusa)
        #expect(outputs["created"] == 1)
        #expect(harness.pages.count == 1)
        #expect(harness.notion.requests.filter { $0.method == "POST" && $0.path == "/v1/pages" }.count == 1)
    }

    /// A create cut off from outside (a step's timeout, Ctrl-C, a kill) may have made the page;
    /// the next upsert of the key, which may be in the next run, looks for it over the backoff
    /// rather than trusting one query that a new page does not show in yet.
    @Test func aCreateCutOffFromOutsideIsLookedForByTheNextUpsertNotMadeTwice() async throws {
        let harness = try NotionHarness()
        harness.notion.queryLag = 0.1
        harness.notion.enqueueFault(.applyThenStall(5))
        let first = Task { try await harness.upsert(kusa) }
        while harness.notion.creates == 0 { try await Task.sleep(for: .milliseconds(5)) }
        first.cancel()
        _ = await first.result
        let outputs = try await harness.upsert(kusa)
        #expect(harness.pages.count == 1)
        #expect(outputs["created"] == 0)
        #expect(harness.notion.requests.filter { $0.method == "POST" && $0.path == "/v1/pages" }.count == 1)

        // A create Notion refused leaves no note: the next upsert queries once and creates.
        let refused = try NotionHarness()
        refused.notion.enqueueFault(.refuseWrite(400))
        _ = await refused.failure(kusa)
        _ = try await refused.upsert(kusa)
        #expect(refused.notion.queries == 2)
        #expect(refused.pages.count == 1)
    }

    /// Read as an empty result, a cut-short answer to the key query made a twin of the page.
    @Test func aQueryAnswerCutShortIsAskedAgainNotReadAsNoPage() async throws {
        let harness = try NotionHarness()
        var other = kusa
        other["Japanese"] = "てぇてぇ"
        _ = try await harness.upsert(other)  // the schema is read now, so the fault meets the query
        try harness.notion.addPage(in: harness.database, properties: ["Japanese": ["title": [["text": ["content": "草"]]]]])
        harness.notion.enqueueFault(.cutShortAnswer)
        let outputs = try await harness.upsert(kusa)
        #expect(outputs["updated"] == 1)
        #expect(harness.pages.count == 2)
        #expect(harness.notion.creates == 1)
    }

    @Test func aSchemaAnswerCutShortIsAskedAgain() async throws {
        let harness = try NotionHarness()
        harness.notion.enqueueFault(.cutShortAnswer)
        let outputs = try await harness.upsert(kusa)
        #expect(outputs["created"] == 1)
        #expect(harness.notion.requests.filter { $0.method == "GET" && $0.path.hasPrefix("/v1/databases/") }.count == 2)
    }

    /// Notion's conflict_error: the write did not happen, and may be sent again (a create too).
    @Test func aConflictIsTriedAgain() async throws {
        let harness = try NotionHarness()
        harness.notion.enqueueFault(.refuseWrite(409))
        let created = try await harness.upsert(kusa)
        #expect(created["created"] == 1)
        var changed = kusa
        changed["Seen"] = 2
        harness.notion.enqueueFault(.refuseWrite(409))
        let updated = try await harness.upsert(changed)
        #expect(updated["updated"] == 1)
        #expect(harness.pages.count == 1)
    }

    /// A record of a page written to a stand-in (a local server, a recording) must not pass for a
    /// page in the real Notion: the store keeps records per server.
    @Test func pagesWrittenToOneServerAreNotTakenAsWrittenToAnother() async throws {
        let records = MemoryRecordIndex()
        let first = try NotionHarness()
        first.records = records
        _ = try await first.upsert(kusa)
        let second = try NotionHarness()
        second.records = records
        second.notion.addDatabase(id: first.database, title: "Vocabulary", properties: [
            "Japanese": "title", "English": "rich_text", "Difficulty": "select", "Tags": "multi_select",
            "Timestamp": "url", "Seen": "number",
        ])
        let arguments: [String: JSONValue] = ["database": .string(first.database), "key": "Japanese", "properties": .object(kusa)]
        let outputs = try await NotionUpsertStep().run(StepArguments(arguments), context: second.context).outputs
        #expect(outputs["created"] == 1)
        #expect(second.notion.pages(in: first.database).count == 1)
    }

    @Test func anUnknownPropertyOrABadValueFailsBeforeAnythingIsWritten() async throws {
        let harness = try NotionHarness()
        var bad = kusa
        bad["Difficulty "] = "N3"
        bad["Seen"] = "often"
        let message = await harness.failure(bad)
        #expect(message?.contains("property 'Difficulty ' is not in database") == true)
        #expect(message?.contains("did you mean 'Difficulty'?") == true)
        #expect(message?.contains("property 'Seen' is a number property, and 'often' is not a number") == true)
        #expect(harness.notion.creates == 0)
        #expect(harness.notion.queries == 0)
    }

    @Test func longTextIsSplitAndAcceptedByNotion() async throws {
        let harness = try NotionHarness()
        var long = kusa
        long["English"] = .string(String(repeating: "grass ", count: 800))
        _ = try await harness.upsert(long)
        #expect(harness.notion.plainText(of: harness.pages[0], property: "English") == String(repeating: "grass ", count: 800))
    }

    @Test func version20250903WritesToTheDatabasesDataSource() async throws {
        let harness = try NotionHarness()
        harness.version = "2025-09-03"
        _ = try await harness.upsert(kusa)
        let create = try #require(harness.notion.requests.first { $0.method == "POST" && $0.path == "/v1/pages" })
        #expect(create.header("Notion-Version") == "2025-09-03")
        #expect(create.json?["parent"]?["data_source_id"]?.stringValue == harness.notion.dataSourceID(of: harness.database))
        #expect(harness.pages.count == 1)
    }

    @Test func theSchemaIsReadOncePerRun() async throws {
        let harness = try NotionHarness()
        _ = try await harness.upsert(kusa)
        var other = kusa
        other["Japanese"] = "てぇてぇ"
        _ = try await harness.upsert(other)
        #expect(harness.notion.requests.filter { $0.method == "GET" && $0.path.hasPrefix("/v1/databases/") }.count == 1)
    }

    @Test func rateLimitedWaitsForRetryAfter() async throws {
        let harness = try NotionHarness()
        harness.notion.enqueueFault(.status(429))
        let started = Date()
        let outputs = try await harness.upsert(kusa)
        #expect(outputs["created"] == 1)
        #expect(Date().timeIntervalSince(started) >= 1)
    }

    /// In a for_each over the stock, "item 7" alone does not say which expression Notion refused.
    @Test func aPageNotionRefusesIsNamedByItsKey() async throws {
        let harness = try NotionHarness()
        _ = try await harness.upsert(kusa)
        harness.notion.enqueueFault(.status(400))
        var yabai = kusa
        yabai["Japanese"] = "やばい"
        let message = await harness.failure(yabai)
        #expect(message?.hasPrefix("page 'やばい': ") == true, "\(message ?? "succeeded")")
        #expect(message?.contains("400") == true, "\(message ?? "succeeded")")
    }

    @Test func notionsOwnErrorReachesTheUserWithItsCode() async throws {
        let harness = try NotionHarness()
        harness.token = "secret_wrong-token"
        // (the hub is made on first use, so it takes the wrong token)
        let message = await harness.failure(kusa)
        #expect(message?.contains("notion answered 401 unauthorized") == true)
        #expect(message?.contains("secret_wrong-token") == false)
    }
}
