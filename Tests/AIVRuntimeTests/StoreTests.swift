@testable import AIVCore
@testable import AIVStore
import AIVTestSupport
import Foundation
import GRDB
import Testing

@Suite struct StoreTests {
    func entry(_ key: String, step: String = "a", item: Int? = nil, at seconds: Double, files: [CacheEntry.File] = []) -> CacheEntry {
        CacheEntry(key: key, workflow: "w.yaml", step: step, item: item, outputs: ["value": .string(key)], files: files,
                   components: CacheKeyComponents(kind: "test.echo", kindVersion: 1, arguments: ["value": .string(key)], files: [:], settings: .null),
                   createdAt: Date(timeIntervalSince1970: seconds), runID: "r", duration: 0.5)
    }

    @Test func savesAndFindsEntriesByKeyAndByStep() async throws {
        let directory = TemporaryFolder()
        let cache = SQLiteCacheStore(store: try Store(path: directory.path + "/aiv.sqlite"))
        try await cache.save(entry("k1", at: 1))
        try await cache.save(entry("k2", at: 2))
        try await cache.save(entry("k3", item: 0, at: 3))
        var hit = entry("k1", at: 1)
        hit.components = nil
        #expect(try cache.entry(forKey: "k1") == hit, "a hit is read without the components of its key")
        #expect(try cache.entry(forKey: "nope") == nil)
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "a", item: nil) == entry("k2", at: 2), "what a miss is explained against has them")
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "a", item: 0)?.key == "k3")
    }

    /// A value of the wrong type in the database (a disk fault, a hand edit) is an error naming
    /// the column, not a trap in GRDB's non-throwing row subscript.
    @Test func aValueOfTheWrongTypeInTheDatabaseIsAnErrorNotACrash() async throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let cache = SQLiteCacheStore(store: store)
        try await cache.save(entry("a", at: 1))
        try await store.pool.write { db in try db.execute(sql: "UPDATE cache_entry SET created_at = 'zz'") }
        #expect {
            try cache.summary()
        } throws: { error in
            "\(error)".contains("could not decode Double") && "\(error)".contains("newest")
        }
        #expect(throws: (any Error).self) { try cache.entry(forKey: "a") }
        #expect(throws: (any Error).self) { try cache.latestEntry(workflow: "w.yaml", step: "a", item: nil) }
    }

    /// The stored stock keeps an entry's first wording and takes the fields it lacks, across processes.
    @Test func aStoredStockEntryTakesTheFieldsItLacks() throws {
        let directory = TemporaryFolder()
        let stock = SQLiteStockStore(store: try Store(path: directory.path + "/aiv.sqlite"))
        _ = try stock.merge(stock: "v", key: "草", entry: ["japanese": "草", "english": "lol"], source: "a")
        _ = try stock.merge(stock: "v", key: "草", entry: ["japanese": "草", "english": "grass", "meaning": "lol!"], source: "b")
        let reopened = SQLiteStockStore(store: try Store(path: directory.path + "/aiv.sqlite"))
        let merged = try reopened.merge(stock: "v", key: "草", entry: ["japanese": "草"], source: "b")
        #expect(merged.entry == ["japanese": "草", "english": "lol", "meaning": "lol!"])
        #expect(merged.sources == ["a", "b"])
    }

    /// A run reads the newest entry of each of its workflow's steps at once; older entries are
    /// still read one by one, and an entry saved afterwards replaces what was read ahead.
    @Test func prefetchedEntriesAreTheNewestOfEachStepAndASaveReplacesThem() async throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let cache = SQLiteCacheStore(store: store)
        try await cache.save(entry("a-old", at: 1))
        try await cache.save(entry("a-new", at: 2))
        try await cache.save(entry("b", step: "b", at: 3))
        try await cache.save(entry("b-item", step: "b", item: 0, at: 4))
        var elsewhere = entry("other-workflow", at: 5)
        elsewhere.workflow = "other.yaml"
        try await cache.save(elsewhere)
        try cache.prefetch(workflow: "w.yaml")
        // With the table emptied behind its back, what it answers is what it read ahead.
        try await store.pool.write { db in try db.execute(sql: "DELETE FROM cache_entry") }
        #expect(try cache.entry(forKey: "a-new")?.outputs == ["value": "a-new"])
        #expect(try cache.entry(forKey: "b")?.outputs == ["value": "b"])
        #expect(try cache.entry(forKey: "b-item")?.item == 0)
        #expect(try cache.entry(forKey: "a-old") == nil, "only the newest of a step is read ahead")
        #expect(try cache.entry(forKey: "other-workflow") == nil, "only the workflow being run")
        var again = entry("a-new", at: 9)
        again.outputs = ["value": "saved again"]
        try await cache.save(again)
        #expect(try cache.entry(forKey: "a-new")?.outputs == ["value": "saved again"])
        #expect(try cache.entry(forKey: "a-new")?.createdAt == Date(timeIntervalSince1970: 9))
    }

    /// "Newest" counts when a run last took an entry: after inputs went a → b → a, the entry of a
    /// is what the next run reads ahead, though b's was made later.
    @Test func theEntryARunLastTookIsReadAheadAsItsStepsNewest() async throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let cache = SQLiteCacheStore(store: store)
        try await cache.save(entry("first", at: 1))
        try await cache.save(entry("second", at: 2))
        try await cache.save(entry("other-step", step: "b", at: 3))
        try await store.pool.write { db in try db.execute(sql: "UPDATE cache_entry SET used_at = 5 WHERE key = 'first'") }
        try cache.prefetch(workflow: "w.yaml")
        try await store.pool.write { db in try db.execute(sql: "DELETE FROM cache_entry") }
        #expect(try cache.entry(forKey: "first")?.outputs == ["value": "first"])
        #expect(try cache.entry(forKey: "second") == nil)
        #expect(try cache.entry(forKey: "other-step") != nil)
    }

    /// Read ahead on an empty cache, every key is known absent (a first run asks SQLite nothing
    /// per step) until the run saves it; a step with no entry needs no query to be explained.
    /// Rows slipped into the table behind the store's back show what it answers from memory.
    @Test func aFirstRunKnowsItsMissesUntilItSavesAndSeesWhatItSaved() async throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let cache = SQLiteCacheStore(store: store)
        try cache.prefetch(workflow: "w.yaml")
        let behindItsBack = SQLiteCacheStore(store: store)
        try await behindItsBack.save(entry("sneaked", step: "x", at: 1))
        #expect(try cache.entry(forKey: "sneaked") == nil, "the cache was empty when the run began")
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "x", item: nil) == nil, "step x had no entry when the run began")
        var otherWorkflow = entry("sneaked-elsewhere", step: "x", at: 1)
        otherWorkflow.workflow = "other.yaml"
        try await behindItsBack.save(otherWorkflow)
        #expect(try cache.latestEntry(workflow: "other.yaml", step: "x", item: nil)?.key == "sneaked-elsewhere",
                "only the workflow read ahead is known; another is asked for")

        try await cache.save(entry("mine", step: "a", at: 2))
        #expect(try cache.entry(forKey: "mine")?.outputs == ["value": "mine"], "what the run saved is found")
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "a", item: nil)?.key == "mine")
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "a", item: 0) == nil, "an item is an invocation of its own")
        try await cache.save(entry("mine-item", step: "a", item: 0, at: 3))
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "a", item: 0)?.key == "mine-item")

        // The next run reads again and knows the cache is not empty: every key is asked for.
        try cache.prefetch(workflow: "w.yaml")
        #expect(try cache.entry(forKey: "sneaked")?.step == "x")
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "x", item: nil)?.key == "sneaked")
    }

    /// Clearing the cache through the store also drops what it read ahead.
    @Test func aClearedCacheAnswersNothingItHadReadAhead() async throws {
        let directory = TemporaryFolder()
        let cache = SQLiteCacheStore(store: try Store(path: directory.path + "/aiv.sqlite"))
        try await cache.save(entry("k", at: 1))
        try cache.prefetch(workflow: "w.yaml")
        #expect(try cache.entry(forKey: "k") != nil)
        try cache.clear()
        #expect(try cache.entry(forKey: "k") == nil)
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "a", item: nil) == nil)
    }

    /// A key is content: another workflow's entry under it is found by a run of a workflow that
    /// has no entries of its own, once the cache is not empty.
    @Test func aWorkflowWithoutEntriesStillFindsAnotherWorkflowsEntryUnderItsKey() async throws {
        let directory = TemporaryFolder()
        let cache = SQLiteCacheStore(store: try Store(path: directory.path + "/aiv.sqlite"))
        var elsewhere = entry("shared", at: 1)
        elsewhere.workflow = "other.yaml"
        try await cache.save(elsewhere)
        try cache.prefetch(workflow: "w.yaml")
        #expect(try cache.entry(forKey: "shared")?.workflow == "other.yaml")
        #expect(try cache.entry(forKey: "unknown") == nil)
    }

    /// Results are found by content, so one workflow's step takes another's. `cache gc` keeps
    /// what the taker stands on, `cache ls` lists the taker, `cache clear` of the taker removes it,
    /// and a miss is explained against what the taker last took.
    @Test func aResultAnotherStepTookIsKeptListedClearedAndExplainedForIt() async throws {
        var (harness, cache) = try Harness.withSQLiteCache()
        let one = "name: one\ninputs: {v: {type: string, default: hi}}\nsteps:\n  - {id: a, uses: test.echo, with: {value: '${{ inputs.v }}'}}\n"
        let two = "name: two\nsteps:\n  - {id: b, uses: test.echo, with: {value: hello}}\n"
        _ = try await harness.run(one, file: "one.yaml", inputs: ["v=hello"])
        #expect(try await harness.run(two, file: "two.yaml").statuses["b"] == .cached, "two's b takes one's a")
        _ = try await harness.run(one, file: "one.yaml")  // one's a now has a newer result of its own

        #expect(try cache.summary().contains { $0.workflow.hasSuffix("two.yaml") && $0.step == "b" })
        #expect(try cache.collectGarbage(blobs: BlobStore(path: harness.directory.path + "/blobs")).entries == 0)
        #expect(try await harness.run(two, file: "two.yaml").statuses["b"] == .cached, "gc kept what b stands on")

        let changed = two.replacingOccurrences(of: "value: hello", with: "value: bye")
        let plan = try harness.plan(changed, file: "two.yaml")
        let forecast = CacheForecast(plan: plan, registry: harness.registry, cache: cache, blobs: nil, environment: [:],
                                     workflowDirectory: harness.directory.path)
        let reason = CacheForecast.describe(forecast.verdicts["b"])
        #expect(reason.contains("argument 'value' changed"), "\(reason)")

        #expect(try cache.clear(workflow: CacheEntry.workflowIdentity(harness.directory.path + "/two.yaml")) == 1)
        #expect(try await harness.run(two, file: "two.yaml").statuses["b"] == .succeeded)
    }

    /// Another workflow's step that makes the same result again (`--no-cache`) replaces the
    /// entry under its key: the step that made it first keeps it as a result it took, so `cache
    /// ls` still lists it there, `cache clear` of its workflow removes it, and `cache gc` keeps it.
    @Test func aResultMadeAgainByAnotherWorkflowStaysTheFirstMakersToo() async throws {
        var (harness, cache) = try Harness.withSQLiteCache()
        let one = "name: one\nsteps:\n  - {id: a, uses: test.echo, with: {value: hello}}\n"
        let two = "name: two\nsteps:\n  - {id: a, uses: test.echo, with: {value: hello}}\n"
        let oneFile = CacheEntry.workflowIdentity(harness.directory.path + "/one.yaml")
        let twoFile = CacheEntry.workflowIdentity(harness.directory.path + "/two.yaml")
        _ = try await harness.run(one, file: "one.yaml")
        #expect(try await harness.run(two, file: "two.yaml").statuses["a"] == .cached, "two's a takes one's")
        #expect(try await harness.run(two, file: "two.yaml", readsCache: false).statuses["a"] == .succeeded, "--no-cache makes it again")

        let listed = try cache.summary().map { "\($0.workflow == oneFile ? "one" : $0.workflow == twoFile ? "two" : $0.workflow) \($0.step) \($0.entries)" }
        #expect(listed.sorted() == ["one a 1", "two a 1"], "each lists it once")
        #expect(try cache.collectGarbage(blobs: BlobStore(path: harness.directory.path + "/blobs")).entries == 0)
        #expect(try await harness.run(one, file: "one.yaml").statuses["a"] == .cached)
        #expect(try cache.clear(workflow: oneFile) == 1)
        #expect(try await harness.run(one, file: "one.yaml").statuses["a"] == .succeeded)
    }

    /// A dry run's results (answers from fixtures) are kept apart from live ones: `cache gc` keeps
    /// the newest of each, so trying a workflow dry never costs the last live run's paid results,
    /// and a live miss is explained against the live result.
    @Test func garbageCollectionKeepsTheNewestLiveAndTheNewestDryRunResult() async throws {
        let directory = TemporaryFolder()
        let cache = SQLiteCacheStore(store: try Store(path: directory.path + "/aiv.sqlite"))
        func result(_ key: String, at seconds: Double, dryRun: Bool) -> CacheEntry {
            var made = entry(key, at: seconds)
            made.components = CacheKeyComponents(kind: "gemini.generate", kindVersion: 1, arguments: ["value": .string(key)], files: [:],
                                                 settings: dryRun ? ["model": "m", "dry_run": true, "fixtures": "sha256:f"] : ["model": "m"])
            return made
        }
        try await cache.save(result("live-old", at: 1, dryRun: false))
        try await cache.save(result("live", at: 2, dryRun: false))
        try await cache.save(result("dry", at: 3, dryRun: true))
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "a", item: nil, dryRun: false)?.key == "live")
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "a", item: nil, dryRun: true)?.key == "dry")
        #expect(try cache.latestEntry(workflow: "w.yaml", step: "a", item: nil)?.key == "dry")
        #expect(try cache.collectGarbage(blobs: BlobStore(path: directory.path + "/blobs")).entries == 1)
        #expect(try cache.entry(forKey: "live") != nil && cache.entry(forKey: "dry") != nil && cache.entry(forKey: "live-old") == nil)
    }

    /// A step that goes back to its own result no longer stands on the other's: gc may drop it.
    @Test func takingItsOwnResultAgainEndsAStepsUseOfAnothers() async throws {
        var (harness, cache) = try Harness.withSQLiteCache()
        let one = "name: one\ninputs: {v: {type: string, default: hi}}\nsteps:\n  - {id: a, uses: test.echo, with: {value: '${{ inputs.v }}'}}\n"
        let two = "name: two\ninputs: {v: {type: string, default: x}}\nsteps:\n  - {id: b, uses: test.echo, with: {value: '${{ inputs.v }}'}}\n"
        _ = try await harness.run(two, file: "two.yaml")                                   // b makes its own 'x'
        _ = try await harness.run(one, file: "one.yaml", inputs: ["v=hello"])             // a makes 'hello'
        #expect(try await harness.run(two, file: "two.yaml", inputs: ["v=hello"]).statuses["b"] == .cached)  // b takes a's
        #expect(try await harness.run(two, file: "two.yaml").statuses["b"] == .cached)    // b back on its own 'x'
        _ = try await harness.run(one, file: "one.yaml")                                   // a moves on to 'hi'
        #expect(try cache.collectGarbage(blobs: BlobStore(path: harness.directory.path + "/blobs")).entries == 1, "a's 'hello' is no one's now")
    }

    @Test func aSmallFileKeptInsideAnEntryComesBackByteForByte() async throws {
        let directory = TemporaryFolder()
        let cache = SQLiteCacheStore(store: try Store(path: directory.path + "/aiv.sqlite"))
        let bytes = Data([0, 1, 2, 0xFF] + Array("語".utf8))
        let file = CacheEntry.File(path: "out/a.bin", digest: Digest.sha256File(bytes), content: bytes)
        try await cache.save(entry("k1", at: 1, files: [file]))
        #expect(try cache.entry(forKey: "k1")?.files == [file])
        #expect(try cache.entry(forKey: "k1")?.filesAvailable(in: nil) == true, "no blob store is needed for it")
    }

    /// Entries written before the store wrote its JSON by hand (with Foundation's encoder) still
    /// read back, and the hand-written form is the document the encoder would give.
    @Test func cachedFileListsReadTheSameWhicheverWayTheyWereWritten() throws {
        let files = [CacheEntry.File(path: "out/a.txt", digest: "sha256:ab", content: Data([0, 1, 2, 255])),
                     CacheEntry.File(path: "clips/b.mp4", digest: "large:cd")]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let byEncoder = String(decoding: try encoder.encode(files), as: UTF8.self)
        #expect(try SQLiteCacheStore.files(byEncoder) == files)
        let byHand = JSONValue.array(files.map(\.jsonValue)).canonicalJSON
        #expect(byHand == byEncoder)
        #expect(try SQLiteCacheStore.files(byHand) == files)
        #expect(throws: JSONParseError.self) { try SQLiteCacheStore.files(#"[{"path": "a"}]"#) }
        #expect(throws: JSONParseError.self) { try SQLiteCacheStore.files(#"[{"path": "a", "digest": "d", "content": "%%"}]"#) }

        let components = CacheKeyComponents(kind: "file.write", kindVersion: 2, arguments: ["path": "a/b.txt", "n": 3],
                                            files: ["t.mustache": "sha256:ef"], settings: ["model": "m"], expressionInputs: ["x": true])
        let componentsByHand = components.jsonValue.canonicalJSON
        #expect(try JSONDecoder().decode(CacheKeyComponents.self, from: Data(componentsByHand.utf8)) == components)
    }

    /// Finished steps are written in batches behind the run: every one is there, in plan order,
    /// once the run has finished, however fast and from however many threads they came.
    @Test func stepsFinishingFasterThanACommitAreAllRecorded() async throws {
        let directory = TemporaryFolder()
        let history = RunHistory(store: try Store(path: directory.path + "/aiv.sqlite"))
        let ids = (0..<500).map { "s\($0)" }
        history.handle(.runStarted(runID: "r1", workflow: "w", file: "w.yaml", folder: "f", steps: ids.map { ($0, "test.echo") },
                                   inputs: [:], startedAt: Date()))
        await withTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: ids.count, by: 50) {
                group.addTask {
                    for id in ids[chunk..<chunk + 50].reversed() {
                        history.handle(.stepFinished(StepReport(step: id, kind: "test.echo", status: .cached, reason: "cached")))
                    }
                }
            }
        }
        history.handle(.runFinished(RunReport(runID: "r1", workflow: "w", file: "w.yaml", folder: "f", startedAt: Date(), duration: 1,
                                              status: .succeeded, steps: [])))
        let shown = try #require(try history.run("r1"))
        #expect(shown.steps.map(\.step) == ids)
        #expect(shown.run.status == "succeeded" && shown.run.cached == 500)
    }

    /// Inputs a, then b, then a again: the third run took a's entry, so gc keeps it, not b's.
    @Test func garbageCollectionKeepsTheEntryARunTookLastNotTheLastMade() async throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        var harness = Harness()
        harness.cache = SQLiteCacheStore(store: store)
        let tag = unique("gc")
        let yaml = """
            name: g
            inputs:
              word: {type: string, default: a}
            steps:
              - {id: s, uses: test.echo, with: {value: "${{ inputs.word }}", tag: \(tag)}}
            """
        _ = try await harness.run(yaml, inputs: ["word=a"])
        _ = try await harness.run(yaml, inputs: ["word=b"])
        #expect(try await harness.run(yaml, inputs: ["word=a"]).step("s")?.status == .cached)
        let (removed, _, _) = try SQLiteCacheStore(store: store).collectGarbage(blobs: BlobStore(path: directory.path + "/blobs"), keep: 1)
        #expect(removed == 1)
        #expect(try await harness.run(yaml, inputs: ["word=a"]).step("s")?.status == .cached)
        #expect(try await harness.run(yaml, inputs: ["word=b"]).step("s")?.status == .succeeded)
    }

    @Test func garbageCollectionKeepsTheNewestAndItsFiles() async throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let cache = SQLiteCacheStore(store: store)
        let blobs = BlobStore(path: directory.path + "/blobs")
        let old = try blobs.store(directory.write("old.txt", "old"))
        let new = try blobs.store(directory.write("new.txt", "new"))
        try await cache.save(entry("k1", at: 1, files: [.init(path: "f", digest: old)]))
        try await cache.save(entry("k2", at: 2, files: [.init(path: "f", digest: new)]))
        let young = try cache.collectGarbage(blobs: blobs)
        #expect(young.files == 0, "young files are kept for running workflows")
        #expect(young.keptYoung == 1, "and counted, so gc can say why the space did not come back")
        let (entries, files, _) = try cache.collectGarbage(blobs: blobs, minimumAge: 0)
        #expect(entries == 0 && files == 1)
        #expect(blobs.contains(new) && !blobs.contains(old))
        #expect(try cache.entry(forKey: "k1") == nil)
        #expect(try store.integrityCheck() == "ok")
    }

    /// A copy a killed run left half-made among the stored files goes at the next collection,
    /// once it is old enough not to be a copy another run is still making.
    @Test func garbageCollectionRemovesOldUnfinishedCopies() throws {
        let directory = TemporaryFolder()
        let cache = SQLiteCacheStore(store: try Store(path: directory.path + "/aiv.sqlite"))
        let blobs = BlobStore(path: directory.path + "/blobs")
        let stale = directory.write("blobs/df/.large-6dff.k2gsym-1.partial", "half")
        let fresh = directory.write("blobs/df/.large-7aaa.x1-1.partial", "going")
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-2 * BlobStore.unfinishedCopyAge)], ofItemAtPath: stale)
        #expect(try cache.collectGarbage(blobs: blobs, minimumAge: 0).files == 1)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: fresh))

        // Ten minutes is their age, whatever the age asked of stored files (an hour by default).
        let eleven = directory.write("blobs/df/.large-8bbb.x2-1.partial", "half")
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-BlobStore.unfinishedCopyAge - 60)], ofItemAtPath: eleven)
        #expect(try cache.collectGarbage(blobs: blobs).files == 1)
        #expect(!FileManager.default.fileExists(atPath: eleven))
        #expect(FileManager.default.fileExists(atPath: fresh))
    }

    /// A store in a new folder, which lasts as long as the folder returned is kept.
    func storeInNewFolder() throws -> (TemporaryFolder, Store) {
        let directory = TemporaryFolder()
        return (directory, try Store(path: directory.path + "/aiv.sqlite"))
    }

    /// A step cancelled when the run stopped is counted as cancelled, not as skipped.
    @Test func aStepCancelledByAFailureIsCountedAsCancelledNotSkipped() async throws {
        let (directory, store) = try storeInNewFolder()
        var harness = Harness()
        harness.cache = SQLiteCacheStore(store: store)
        let history = RunHistory(store: store)
        defer { withExtendedLifetime(directory) {} }
        let yaml = """
            name: stopped
            steps:
              - {id: long, uses: test.hang, with: {tag: \(unique("c"))}}
              - {id: bad, uses: test.flaky, with: {failures: 9, tag: \(unique("f"))}}
              - {id: after, uses: test.echo, needs: bad, with: {value: 1}}
            """
        _ = try await harness.run(yaml, observer: history)
        let run = try #require(try history.runs().first)
        #expect(run.failed == 1 && run.cancelled == 1 && run.skipped == 1, "\(run)")
    }

    @Test func recordsRunsAndTheirSteps() async throws {
        let (directory, store) = try storeInNewFolder()
        var harness = Harness()
        harness.cache = SQLiteCacheStore(store: store)
        let history = RunHistory(store: store)
        defer { withExtendedLifetime(directory) {} }
        let yaml = """
            name: recorded
            steps:
              - {id: a, uses: test.echo, with: {value: 1}}
              - {id: b, uses: test.flaky, continue_on_error: true, with: {failures: 9, tag: \(unique("h"))}}
              - {id: c, uses: test.echo, needs: b, with: {value: 2}}
            """
        _ = try await harness.run(yaml, observer: history)
        _ = try await harness.run(yaml, observer: history)
        let runs = try history.runs()
        #expect(runs.map(\.id) == ["run-2", "run-1"])
        #expect(runs[0].cached == 1 && runs[0].failed == 1 && runs[0].skipped == 1)
        #expect(runs[1].ran == 1 && runs[1].status == "succeeded")
        let shown = try #require(try history.run("last"))
        #expect(shown.run.id == "run-2")
        #expect(shown.steps.map(\.step) == ["a", "b", "c"])
        #expect(shown.steps[1].error?.hasPrefix("step 'b': service unavailable") == true)
        #expect(shown.steps[2].reason == "skipped because 'b' failed")
        #expect(try history.run("run-") == nil)  // ambiguous prefix
    }

    /// A run killed half way shows the steps it never finished too, in plan order.
    @Test func aRunThatStoppedHalfWayListsTheStepsThatNeverFinished() throws {
        let directory = TemporaryFolder()
        let history = RunHistory(store: try Store(path: directory.path + "/aiv.sqlite"))
        history.handle(.runStarted(runID: "r1", workflow: "w", file: "w.yaml", folder: "f",
                                   steps: [("a", "file.write"), ("b", "list.sort"), ("c", "file.write")], inputs: [:], startedAt: Date()))
        history.handle(.stepFinished(StepReport(step: "b", kind: "list.sort", status: .succeeded, startedAt: Date(), duration: 0.1,
                                                invocations: 1, cachedInvocations: 0, attempts: 1, reason: "no earlier result", error: nil, log: "")))
        history.flush()
        let shown = try #require(try history.run("r1"))
        #expect(shown.steps.map(\.step) == ["b", "a", "c"])
        #expect(shown.steps.map(\.status) == [.succeeded, .notFinished, .notFinished])
        #expect(shown.steps[1].kind == "file.write" && shown.steps[1].reason == "not started yet")
    }

    /// The steps under way are recorded as the run goes, a `for_each` with its items done, so a
    /// run that was killed says which steps were under way, how far they got, and which never
    /// started; a finished step's row replaces its progress, and the end of a run clears it.
    @Test func aKilledRunShowsHowFarEachStepUnderWayGot() throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let history = RunHistory(store: store)
        history.handle(.runStarted(runID: "r1", workflow: "w", file: "w.yaml", folder: "f",
                                   steps: [("load", "transcript.load"), ("analyse", "gemini.generate"), ("cut", "clip.cut"), ("post", "file.write")],
                                   inputs: [:], startedAt: Date()))
        history.handle(.stepStarted(step: "load", invocations: 1))
        history.handle(.invocationFinished(step: "load", index: nil, cached: false, done: 1, of: 1))
        history.handle(.stepFinished(StepReport(step: "load", kind: "transcript.load", status: .succeeded, invocations: 1, reason: "no earlier result")))
        history.handle(.stepStarted(step: "analyse", invocations: 18, forEach: true))
        for (index, cached) in [(0, true), (2, false), (1, true), (4, false)] {
            history.handle(.invocationFinished(step: "analyse", index: index, cached: cached, done: index + 1, of: 18))
        }
        history.handle(.stepStarted(step: "cut", invocations: 1))
        history.flush()

        let going = try #require(try history.run("r1"))
        #expect(going.run.status == "running")
        #expect(going.steps.map { "\($0.step): \($0.reason)" } == [
            "load: no earlier result", "analyse: under way: 5 of 18 items done (2 from the cache)", "cut: under way", "post: not started yet",
        ])
        #expect(going.steps[1].invocations == 18 && going.steps[1].cachedInvocations == 2)

        // The process is gone: the run was killed.
        try store.pool.write { db in try db.execute(sql: "UPDATE run SET pid = 999999999 WHERE id = 'r1'") }
        let killed = try #require(try history.run("r1"))
        #expect(killed.run.status == "interrupted")
        #expect(killed.steps.map { "\($0.step): \($0.reason)" } == [
            "load: no earlier result", "analyse: under way when the run stopped, 5 of 18 items done (2 from the cache)",
            "cut: under way when the run stopped", "post: not started when the run stopped, as far as the history knows",
        ])
        #expect(killed.steps.dropFirst().allSatisfy { $0.status == .notFinished })

        history.handle(.runFinished(RunReport(runID: "r1", workflow: "w", file: "w.yaml", folder: "f", startedAt: Date(), duration: 1, status: .failed, steps: [])))
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run_step_progress") } == 0)
    }

    /// Progress noted while a batch of rows is on its way goes with it; progress that comes
    /// after, when nothing more finishes (a long `for_each` after a quick step), is still
    /// written on its own, without waiting for the end of the run.
    @Test func progressAfterABatchOfRowsIsWrittenWithoutAnotherStepFinishing() async throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let history = RunHistory(store: store)
        history.handle(.runStarted(runID: "r1", workflow: "w", file: "w.yaml", folder: "f", steps: [("a", "file.write"), ("each", "file.write")],
                                   inputs: [:], startedAt: Date()))
        // Held, so the row's write is certainly still on its way when the step starts.
        let gate = DispatchSemaphore(value: 0)
        history.writer.async { gate.wait() }
        history.handle(.stepFinished(StepReport(step: "a", kind: "file.write", status: .succeeded, invocations: 1)))
        history.handle(.stepStarted(step: "each", invocations: 100))
        gate.signal()
        history.flush()
        #expect(try history.run("r1")?.steps.last?.reason == "under way: 0 of 100 items done")
        history.handle(.invocationFinished(step: "each", index: 0, cached: false, done: 5, of: 100))
        var reason = ""
        for _ in 0..<100 where reason != "under way: 5 of 100 items done" {
            try await Task.sleep(for: .milliseconds(50))
            reason = try history.run("r1")?.steps.last?.reason ?? ""
        }
        #expect(reason == "under way: 5 of 100 items done")
    }

    /// Items finish on many threads at once, their counts arriving out of order: the progress
    /// written is the highest count, with every cached item counted.
    @Test func progressFromManyThreadsAtOnceKeepsTheHighestCount() throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let history = RunHistory(store: store)
        history.handle(.runStarted(runID: "r1", workflow: "w", file: "w.yaml", folder: "f", steps: [("each", "file.write")], inputs: [:], startedAt: Date()))
        history.handle(.stepStarted(step: "each", invocations: 1000))
        DispatchQueue.concurrentPerform(iterations: 1000) { index in
            history.handle(.invocationFinished(step: "each", index: index, cached: index % 4 == 0, done: index + 1, of: 1000))
        }
        history.flush()
        try store.pool.write { db in try db.execute(sql: "UPDATE run SET pid = 999999999 WHERE id = 'r1'") }
        let shown = try #require(try history.run("r1"))
        #expect(shown.steps.first?.reason == "under way when the run stopped, 1000 of 1000 items done (250 from the cache)")
    }

    /// A database an earlier aiv wrote, with a run it was killed in, is upgraded in place: that
    /// run's unfinished steps say only that they did not finish, and new runs track progress.
    @Test func aDatabaseFromBeforeProgressIsUpgradedAndItsRunsReadAsBefore() throws {
        let directory = TemporaryFolder()
        let path = directory.path + "/aiv.sqlite"
        let old = try DatabaseQueue(path: path)
        try Store.migrator.migrate(old, upTo: "v9 dry-run entries")
        try old.write { db in
            try db.execute(sql: """
                INSERT INTO run (id, workflow, file, folder, inputs, started_at, status, pid, steps)
                VALUES ('old', 'w', 'w.yaml', 'f', '{}', 0, 'running', 999999999, '[["a","file.write"],["b","file.write"]]')
                """)
        }
        try old.close()
        let history = RunHistory(store: try Store(path: path))
        let shown = try #require(try history.run("old"))
        #expect(shown.run.status == "interrupted")
        #expect(shown.steps.map(\.reason) == ["did not finish in this run", "did not finish in this run"])
    }

    /// A run recorded before aiv kept progress cannot tell a step under way from one that never
    /// started, and says only that it did not finish.
    @Test func aRunRecordedWithoutProgressSaysOnlyThatAStepDidNotFinish() {
        let planned = #"[["a","file.write"],["b","file.write"]]"#
        let finished = [StepReport(step: "a", kind: "file.write", status: .succeeded)]
        #expect(RunHistory.withUnfinished(finished, planned: planned, progress: nil, going: false).map(\.reason) == ["", "did not finish in this run"])
        #expect(RunHistory.withUnfinished(finished, planned: planned, progress: [:], going: false).map(\.reason) == ["", "not started when the run stopped, as far as the history knows"])
    }

    @Test func aRunWhoseProcessIsGoneShowsAsInterrupted() throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let history = RunHistory(store: store)
        history.handle(.runStarted(runID: "r1", workflow: "w", file: "w.yaml", folder: "f", steps: [], inputs: [:], startedAt: Date()))
        #expect(try history.runs().first?.status == "running")
        #expect(RunHistory.status("running", runID: "r1", pid: 999_999_999, folder: nil) == "interrupted")
    }

    /// A live process with the run's id is not proof (ids are reused; a container's first
    /// process is always 1): while the run folder has its lock file, the run is running only
    /// while that lock is held under its id.
    @Test func aRunIsRunningOnlyWhileItsFolderIsHeldUnderItsProcessId() throws {
        let directory = TemporaryFolder()
        let folder = directory.path + "/run"
        let claim = try RunFolder(path: folder).claim(runID: "run-b")
        let me = Int(getpid())
        #expect(RunHistory.status("running", runID: "run-b", pid: me, folder: folder) == "running")
        // A live process with the id run A had (PID 1 in another container, say), but the folder
        // held for run B: run A is gone.
        #expect(RunHistory.status("running", runID: "run-a", pid: me, folder: folder) == "interrupted")
        claim.release()
        #expect(RunHistory.status("running", runID: "run-b", pid: me, folder: folder) == "interrupted")
        #expect(RunHistory.status("running", runID: "run-b", pid: me, folder: directory.path + "/removed") == "running")
        #expect(RunHistory.status("succeeded", runID: "run-b", pid: me, folder: folder) == "succeeded")
        // A lock written without a run id names its process only.
        let old = try RunFolder(path: folder).claim()
        #expect(RunHistory.status("running", runID: "any", pid: me, folder: folder) == "running")
        old.release()
    }
}

/// Cache entries saved at the same time share commits, and each save still answers for its own row.
@Suite struct CommitQueueTests {
    /// Holds the queue's first commit until `release()`, as a slow disk would.
    final class FirstCommitHold: @unchecked Sendable {
        private let lock = NSLock()
        private let gate = DispatchSemaphore(value: 0)
        private var reached = false

        var isHolding: Bool { lock.withLock { reached } }

        func wait(rows: Int) {
            let isFirst = lock.withLock { defer { reached = true }; return !reached }
            if isFirst { gate.wait() }
        }

        func release() { gate.signal() }
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<2_000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(condition())
    }

    func row(_ key: String) -> StatementArguments {
        SQLiteCacheStore.row(CacheEntry(key: key, workflow: "w.yaml", step: key, item: nil, outputs: ["value": .string(key)], files: [],
                                        components: nil, createdAt: Date(), runID: "r", duration: 0))
    }

    @Test func savesQueuedDuringACommitShareTheNextOne() async throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        let hold = FirstCommitHold()
        let queue = CommitQueue(store: store, insert: SQLiteCacheStore.insert, beforeCommit: hold.wait(rows:))
        let first = Task(executorPreference: ThreadPerJobExecutor.shared) { try await queue.commit(row("first")) }
        try await waitUntil { hold.isHolding }
        let keys = (0..<40).map { "k\($0)" }
        let saves = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for key in keys {
                    group.addTask {
                        try await queue.commit(row(key))
                        // Returned: the row is committed, so another connection sees it.
                        let seen = try await store.pool.read { db in
                            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cache_entry WHERE key = ?", arguments: [key])
                        }
                        #expect(seen == 1, "save of \(key) returned before its row was committed")
                    }
                }
                try await group.waitForAll()
            }
        }
        try await waitUntil { queue.queued == keys.count }
        #expect(queue.transactions == 0)
        hold.release()
        try await first.value
        try await saves.value
        // The held commit, then one for everything queued behind it.
        #expect(queue.transactions == 2)
        let stored = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cache_entry") }
        #expect(stored == keys.count + 1)
    }

    @Test func aRowThatCannotBeWrittenFailsOnlyItsOwnSave() async throws {
        let directory = TemporaryFolder()
        let store = try Store(path: directory.path + "/aiv.sqlite")
        try await store.pool.write { db in try db.execute(sql: "CREATE TABLE word (text TEXT NOT NULL CHECK (text != 'bad'))") }
        let hold = FirstCommitHold()
        let queue = CommitQueue(store: store, insert: "INSERT INTO word (text) VALUES (?)", beforeCommit: hold.wait(rows:))
        let first = Task(executorPreference: ThreadPerJobExecutor.shared) { try await queue.commit(["first"]) }
        try await waitUntil { hold.isHolding }
        // These three queue behind the held commit and go together: the one bad row fails that transaction.
        let words = ["good", "bad", "better"]
        let results = Task {
            await withTaskGroup(of: (String, Bool).self) { group in
                for word in words {
                    group.addTask { (word, (try? await queue.commit([word])) != nil) }
                }
                return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
            }
        }
        try await waitUntil { queue.queued == words.count }
        hold.release()
        try await first.value
        #expect(await results.value == ["good": true, "bad": false, "better": true])
        let stored = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT text FROM word ORDER BY text") }
        #expect(stored == ["better", "first", "good"])
    }
}

/// A database opened read-only (its folder being read-only to the user) is read as it is and
/// refuses writes; one an earlier aiv wrote, which would need upgrading, is refused with why.
@Suite struct ReadOnlyStoreTests {
    @Test func aDatabaseOpenedReadOnlyIsReadAndRefusesWrites() throws {
        let directory = TemporaryFolder()
        let path = directory.path + "/aiv.sqlite"
        let history = RunHistory(store: try Store(path: path))
        history.handle(.runStarted(runID: "r1", workflow: "w", file: "w.yaml", folder: "f", steps: [("a", "file.write")], inputs: [:], startedAt: Date()))
        history.handle(.stepFinished(StepReport(step: "a", kind: "file.write", status: .succeeded, invocations: 1, reason: "no earlier result")))
        history.flush()

        let readOnly = try Store(path: path, access: .readOnly)
        #expect(readOnly.isReadOnly)
        let shown = try #require(try RunHistory(store: readOnly).run("r1"))
        #expect(shown.steps.map(\.step) == ["a"])
        #expect(throws: (any Error).self) {
            try readOnly.pool.write { db in try db.execute(sql: "DELETE FROM run") }
        }
        #expect(try Store(path: path).pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run") } == 1)
    }

    @Test func aDatabaseThatNeedsUpgradingCannotBeOpenedReadOnly() throws {
        let directory = TemporaryFolder()
        let path = directory.path + "/aiv.sqlite"
        _ = try Store(path: path)
        try Store(path: path).pool.write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v10 step progress'") }
        #expect {
            try Store(path: path, access: .readOnly)
        } throws: { error in
            "\(error)".contains("it was written by an earlier aiv and must be upgraded")
        }
    }
}
