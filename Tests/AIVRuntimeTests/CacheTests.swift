@testable import AIVCore
import AIVTestSupport
import Foundation
import Testing

@Suite struct CacheTests {
    @Test func aSecondRunComesFromTheCacheAndSaysWhyTheFirstRan() async throws {
        var harness = Harness()
        let tag = unique("echo")
        let yaml = """
            name: c
            inputs:
              word: {type: string, default: hello}
            steps:
              - {id: a, uses: test.echo, with: {value: "${{ inputs.word }}", tag: \(tag)}}
              - {id: b, uses: test.echo, with: {value: "${{ steps.a.outputs.value }}!", tag: \(tag)}}
            """
        let first = try await harness.run(yaml)
        #expect(first.statuses == ["a": .succeeded, "b": .succeeded])
        #expect(first.step("a")?.reason == "no earlier result")
        let second = try await harness.run(yaml)
        #expect(second.statuses == ["a": .cached, "b": .cached])
        #expect(Calls.shared.count(tag) == 2)
        let changed = try await harness.run(yaml, inputs: ["word=bye"])
        #expect(changed.statuses == ["a": .succeeded, "b": .succeeded])
        #expect(changed.step("a")?.reason == "argument 'value' changed")
    }

    /// Another server may answer otherwise: a base URL from the environment is part of a service
    /// step's key as the workflow's own `base_url` is, and a dry run's key holds its step's
    /// recorded answers. Without either, keys stay as they were.
    @Test func aServiceStepsKeyHoldsTheBaseURLFromTheEnvironmentAndADryRunsRecordedAnswers() {
        let info = HTTPServiceInfo(defaultBaseURL: "https://generativelanguage.googleapis.com", baseURLVariable: "GEMINI_BASE_URL",
                                   credential: .init(variable: "GEMINI_API_KEY", header: "x-goog-api-key"), defaultLimits: ServiceLimits())
        let settings: [String: JSONValue] = ["gemini": ["model": "m"]]
        func key(_ facts: ServiceKeyFacts, step: String = "ask") -> JSONValue {
            CacheKeyComponents.services(settings, service: "gemini", step: step, facts: facts)["gemini"] ?? .null
        }
        let live = ServiceKeyFacts(services: ["gemini": info], environment: ["GEMINI_BASE_URL": ""], replaying: nil)
        #expect(key(live) == ["model": "m"])
        let one = key(ServiceKeyFacts(services: ["gemini": info], environment: ["GEMINI_BASE_URL": "http://127.0.0.1:1"], replaying: nil))
        let two = key(ServiceKeyFacts(services: ["gemini": info], environment: ["GEMINI_BASE_URL": "http://127.0.0.1:2"], replaying: nil))
        #expect(one == ["model": "m", "base_url": "http://127.0.0.1:1"])
        #expect(CacheKeyComponents.settingsChange(from: one, to: two) == "the service's base URL changed (now http://127.0.0.1:2)")
        // As the client uses it: a trailing slash, or the service's own address, changes nothing.
        #expect(key(ServiceKeyFacts(services: ["gemini": info], environment: ["GEMINI_BASE_URL": "http://127.0.0.1:1/"], replaying: nil)) == one)
        // A proxy's user:password is not kept in the cache, whether the environment or the workflow gives the address.
        #expect(CacheKeyComponents.services(["gemini": ["base_url": "https://me:hunter2@proxy.example/g"]], service: "gemini", step: "ask", facts: live)["gemini"]
                == ["base_url": "https://proxy.example/g"])
        #expect(key(ServiceKeyFacts(services: ["gemini": info], environment: ["GEMINI_BASE_URL": "https://me:hunter2@proxy.example/g"], replaying: nil))
                == ["model": "m", "base_url": "https://proxy.example/g"])
        #expect(key(ServiceKeyFacts(services: ["gemini": info], environment: ["GEMINI_BASE_URL": "https://generativelanguage.googleapis.com/"],
                                    replaying: nil)) == key(live))

        func exchange(_ text: String, step: String = "ask") -> RecordedExchange {
            RecordedExchange(step: step, item: nil, service: "gemini",
                             request: .init(method: "POST", url: "http://x/a", headers: [:], body: .json(["q": 1])),
                             response: .init(status: 200, headers: [:], body: .json(["text": .string(text)])))
        }
        let recorded = ServiceKeyFacts(services: ["gemini": info], environment: [:], replaying: [exchange("a"), exchange("b", step: "other")])
        let rerecorded = ServiceKeyFacts(services: ["gemini": info], environment: [:], replaying: [exchange("A"), exchange("b", step: "other")])
        #expect(key(recorded)["dry_run"] == true)
        // A replay answers whatever the host.
        #expect(key(ServiceKeyFacts(services: ["gemini": info], environment: ["GEMINI_BASE_URL": "http://127.0.0.1:1"],
                                    replaying: [exchange("a"), exchange("b", step: "other")])) == key(recorded))
        #expect(key(recorded) != key(rerecorded))
        #expect(key(recorded, step: "other") == key(rerecorded, step: "other"))
        #expect(key(recorded, step: "unrecorded")["fixtures"] == "none")
        #expect(CacheKeyComponents.settingsChange(from: key(recorded), to: key(rerecorded)) == "its recorded answers (fixtures) changed")
        #expect(CacheKeyComponents.settingsChange(from: key(live), to: key(recorded)) == "a dry run keeps its results apart from live ones")
        #expect(CacheKeyComponents.settingsChange(from: key(recorded), to: key(live)) == "the cached result came from a dry run; a live run calls the service")
    }

    /// Retries, timeouts and limits change how surely or how fast an answer comes, not what it
    /// is: raising a timeout keeps every cached answer. A setting that does change it is named.
    @Test func settingsThatKeepAnswersLeaveTheKeyAndAChangedOneIsNamed() {
        let kind = StepKindDescription(name: "test.ask", summary: "", arguments: [Property("q", .string, "")], outputs: .object([]),
                                       service: "gemini", example: "")
        func components(_ settings: JSONValue) -> CacheKeyComponents {
            CacheKeyComponents(kind: kind, arguments: StepArguments(["q": "x"]), scope: EvaluationScope(), services: ["gemini": settings],
                               workflowDirectory: "/", digests: FileDigestCache())
        }
        let plain = components(["model": "m"])
        #expect(components(["model": "m", "timeout": "100s", "retry": ["attempts": 3], "limits": ["requests_per_minute": 5]]).key == plain.key)
        let other = components(["model": "n", "version": "2"])
        #expect(other.key != plain.key)
        #expect(other.differences(from: plain) == ["service settings 'model' and 'version' changed"])
        #expect(components(["model": "n"]).differences(from: plain) == ["service setting 'model' changed"])
        // An entry cached while those were part of keys is made once more, and says why.
        #expect(CacheKeyComponents.settingsChange(from: ["model": "m", "timeout": "100s"], to: ["model": "m"])
                == "its result was cached when retry, timeout and limits settings were part of keys; made once more under the new key")
    }

    /// `services.gemini.model` is only a default: a step whose prompt (or `model` argument)
    /// names its model keeps its key when the default changes; one that uses the default does not.
    @Test func aModelThePromptNamesLeavesTheServicesDefaultOutOfTheKey() {
        let folder = TemporaryFolder()
        folder.write("named.prompt", "---\nmodel: gemini-2.5-flash\n---\nHello\n")
        folder.write("plain.prompt", "Hello\n")
        let kind = StepKindDescription(name: "test.ask", summary: "", arguments: [
            Property("prompt", .string, role: .template(variables: "values"), ""), Property("values", .map(.any), ""), Property("model", .string, ""),
        ], outputs: .object([]), service: "gemini", example: "", promptShapedOutput: .init(output: "result", promptArgument: "prompt"))
            .withServiceModelAsADefault()
        func key(_ arguments: [String: JSONValue], model: String) -> String {
            CacheKeyComponents(kind: kind, arguments: StepArguments(arguments), scope: EvaluationScope(), services: ["gemini": ["model": .string(model)]],
                               workflowDirectory: folder.path, digests: FileDigestCache()).key
        }
        #expect(key(["prompt": "named.prompt"], model: "a") == key(["prompt": "named.prompt"], model: "b"))
        #expect(key(["prompt": "plain.prompt", "model": "x"], model: "a") == key(["prompt": "plain.prompt", "model": "x"], model: "b"))
        #expect(key(["prompt": "plain.prompt"], model: "a") != key(["prompt": "plain.prompt"], model: "b"))
    }

    /// A reason names the first three changed arguments and counts the rest: one that names three
    /// of five reads as if those were all.
    @Test func aReasonCountsTheChangedArgumentsItDoesNotName() {
        let kind = StepKindDescription(name: "test.many", summary: "", arguments: [Property("values", .map(.any), "")], outputs: .object([]), example: "")
        func components(_ value: String) -> CacheKeyComponents {
            CacheKeyComponents(kind: kind, arguments: StepArguments(["values": .object(Dictionary(uniqueKeysWithValues: ["a", "b", "c", "d", "e"].map { ($0, .string(value)) }))]),
                               scope: EvaluationScope(), services: [:], workflowDirectory: "/", digests: FileDigestCache())
        }
        #expect(components("two").differences(from: components("one"))
                == ["argument 'values.a' changed", "argument 'values.b' changed", "argument 'values.c' changed", "2 more arguments changed"])
    }

    @Test func anUnchangedUpstreamOutputKeepsDownstreamCached() async throws {
        var harness = Harness()
        let tag = unique("down")
        let yaml = """
            name: c
            inputs:
              ms: {type: number, default: 1}
            steps:
              - {id: up, uses: test.sleep, with: {ms: "${{ inputs.ms }}", value: same}}
              - {id: down, uses: test.echo, with: {value: "${{ steps.up.outputs.value }}", tag: \(tag)}}
            """
        _ = try await harness.run(yaml)
        let second = try await harness.run(yaml, inputs: ["ms=2"])
        #expect(second.statuses == ["up": .succeeded, "down": .cached])
        #expect(Calls.shared.count(tag) == 1)
    }

    @Test func editingAnInputFileRerunsOnlyItsStepAndWhatDependsOnIt() async throws {
        var harness = Harness()
        harness.directory.write("notes.txt", "one")
        harness.directory.write("other.txt", "two")
        let tag = unique("read")
        let yaml = """
            name: c
            steps:
              - {id: notes, uses: test.read, with: {file: notes.txt, tag: \(tag)}}
              - {id: other, uses: test.read, with: {file: other.txt, tag: \(tag)}}
              - {id: both, uses: test.echo, with: {value: "${{ steps.notes.outputs.text }} ${{ steps.other.outputs.text }}"}}
            """
        _ = try await harness.run(yaml)
        harness.directory.write("notes.txt", "one, edited")
        let second = try await harness.run(yaml)
        #expect(second.statuses == ["notes": .succeeded, "other": .cached, "both": .succeeded])
        #expect(second.step("notes")?.reason == "file 'notes.txt' changed")
        #expect(second.step("both")?.reason == "argument 'value' changed")
    }

    @Test func aCacheHitRestoresTheFilesTheStepWrote() async throws {
        var harness = Harness()
        let tag = unique("write")
        let yaml = "name: c\nsteps:\n  - {id: w, uses: test.write, with: {path: out/report.md, text: \"# Report\", tag: \(tag)}}\n"
        _ = try await harness.run(yaml)
        let second = try await harness.run(yaml)
        #expect(second.statuses == ["w": .cached], "\(second.steps)")
        #expect(harness.directory.read("run-2/out/report.md") == "# Report")
        #expect(Calls.shared.count(tag) == 1)
    }

    @Test func noCacheRunsAgainAndCacheFalseNeverStores() async throws {
        var harness = Harness()
        let tag = unique("nc")
        let yaml = """
            name: c
            steps:
              - {id: a, uses: test.echo, with: {value: 1, tag: \(tag)}}
              - {id: b, uses: test.echo, cache: false, with: {value: 2, tag: \(tag)}}
            """
        _ = try await harness.run(yaml)
        let again = try await harness.run(yaml, readsCache: false)
        #expect(again.statuses == ["a": .succeeded, "b": .succeeded])
        #expect(again.step("a")?.reason == "--no-cache")
        #expect(again.step("b")?.reason == "cache off for this step")
        let third = try await harness.run(yaml)
        #expect(third.statuses == ["a": .cached, "b": .succeeded])
        #expect(Calls.shared.count(tag) == 5)
    }

    @Test func failuresAreNeverCached() async throws {
        var harness = Harness()
        let tag = unique("fail")
        let yaml = "name: c\nsteps:\n  - {id: f, uses: test.flaky, with: {failures: 1, tag: \(tag)}}\n"
        let first = try await harness.run(yaml)
        #expect(first.statuses == ["f": .failed])
        let second = try await harness.run(yaml)
        #expect(second.statuses == ["f": .succeeded])
        let third = try await harness.run(yaml)
        #expect(third.statuses == ["f": .cached])
    }

    @Test func eachForEachItemIsCachedOnItsOwn() async throws {
        var harness = Harness()
        let tag = unique("items")
        let yaml = """
            name: c
            inputs:
              words: {type: list, default: [a, b, c]}
            steps:
              - {id: each, uses: test.echo, for_each: "${{ inputs.words }}", with: {value: "${{ item }}", tag: \(tag)}}
            """
        _ = try await harness.run(yaml)
        let second = try await harness.run(yaml, inputs: ["words=a,B,c"])
        #expect(second.step("each")?.cachedInvocations == 2)
        #expect(second.step("each")?.status == .succeeded)
        // Why it ran names the item that changed, not the step as a whole.
        #expect(second.step("each")?.reason == "item 1: argument 'value' changed")
        #expect(Calls.shared.count(tag) == 4)
    }

    @Test func aForEachStepThatFailsStillCountsTheItemsTakenFromTheCache() async throws {
        var harness = Harness()
        let (a, b, c) = (unique("a"), unique("b"), unique("c"))
        let yaml = """
            name: c
            steps:
              - id: each
                uses: test.flaky
                for_each: [{f: 0, t: \(a)}, {f: 0, t: \(b)}, {f: 9, t: \(c)}]
                max_parallel: 1
                retry: {attempts: 1}
                with: {failures: "${{ item.f }}", tag: "${{ item.t }}"}
            """
        let first = try await harness.run(yaml)
        #expect(first.step("each")?.status == .failed && first.step("each")?.cachedInvocations == 0)
        let second = try await harness.run(yaml)
        #expect(second.step("each")?.status == .failed)
        #expect(second.step("each")?.cachedInvocations == 2)
    }

    @Test func aFilterRerunsWhenAValueItsConditionReadsChanges() async throws {
        var harness = Harness()
        let yaml = """
            name: c
            inputs:
              least: {type: number, default: 2}
            steps:
              - {id: keep, uses: list.filter, with: {items: [1, 2, 3, 4], where: "item >= inputs.least"}}
            """
        let first = try await harness.run(yaml)
        #expect(first.statuses == ["keep": .succeeded])
        let second = try await harness.run(yaml, inputs: ["least=4"])
        #expect(second.statuses == ["keep": .succeeded])
        #expect(second.step("keep")?.reason == "'inputs.least' changed")
        let outputs = harness.directory.stepOutputs(run: "run-2", step: "keep")?.prettyJSON ?? ""
        #expect(outputs.contains("\"count\": 1"))
    }

    @Test func aSmallFileIsKeptInItsCacheEntryAndNeedsNoBlob() async throws {
        var harness = Harness()
        let yaml = "name: c\nsteps:\n  - {id: w, uses: test.write, with: {path: notes/a.txt, text: hello}}\n"
        _ = try await harness.run(yaml)
        #expect(harness.directory.files().filter { $0.hasPrefix("blobs/") } == [])
        let second = try await harness.run(yaml)
        #expect(second.statuses == ["w": .cached])
        #expect(harness.directory.read("run-2/notes/a.txt") == "hello")
    }

    @Test func aRerunIntoTheSameFolderLeavesAnUnchangedFileAloneAndPutsBackAChangedOne() async throws {
        var harness = Harness()
        let yaml = "name: c\nsteps:\n  - {id: w, uses: test.write, with: {path: a.txt, text: hello}}\n"
        _ = try await harness.run(yaml, folder: "out")
        let file = harness.directory.path + "/out/a.txt"
        // An old modification time, so that any rewrite would show.
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, file, &times, 0) == 0)
        let again = try await harness.run(yaml, folder: "out")
        #expect(again.statuses == ["w": .cached])
        let modified = (try FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date)?.timeIntervalSince1970
        #expect(modified == 1_000_000_000, "the file was not rewritten")

        harness.directory.write("out/a.txt", "edited")
        let third = try await harness.run(yaml, folder: "out")
        #expect(third.statuses == ["w": .cached])
        #expect(harness.directory.read("out/a.txt") == "hello", "the cached step's file is put back as it made it")
    }

    /// A run into a folder an earlier run wrote removes the files that run made and this one does
    /// not (a Short fewer, a step now skipped), once it has succeeded; not a file edited since, nor
    /// one aiv never wrote, and a failed run removes nothing but remembers what to remove.
    @Test func aRerunIntoTheSameFolderRemovesWhatItNoLongerMakesOnceItSucceeds() async throws {
        var harness = Harness()
        let yaml = """
            name: c
            inputs:
              names: {type: list, default: [a, b, c]}
              extra: {type: bool, default: true}
              fail: {type: bool, default: false}
            steps:
              - {id: clips, uses: test.write, for_each: "${{ inputs.names }}", with: {path: "clips/${{ item }}.txt", text: "${{ item }}"}}
              - {id: extra, uses: test.write, if: "${{ inputs.extra }}", with: {path: extra/more.txt, text: more}}
              - {id: boom, uses: test.flaky, if: "${{ inputs.fail }}", with: {failures: 9, tag: \(unique("boom"))}}
            """
        let first = try await harness.run(yaml, folder: "out")
        #expect(first.status == .succeeded && first.removedFiles == nil)
        harness.directory.write("out/notes.txt", "mine")  // never written by aiv
        // Same size: only the file's times tell the edit apart.
        harness.directory.write("out/clips/b.txt", "B")

        // A failed run removes nothing...
        let failed = try await harness.run(yaml, folder: "out", inputs: ["names=a", "extra=false", "fail=true"])
        #expect(failed.status == .failed && failed.removedFiles == nil)
        #expect(harness.directory.read("out/clips/c.txt") == "c" && harness.directory.read("out/extra/more.txt") == "more")

        // ...and the next run that succeeds removes what neither made, but not the edited file.
        let second = try await harness.run(yaml, folder: "out", inputs: ["names=a", "extra=false"])
        #expect(second.status == .succeeded)
        #expect(second.removedFiles == ["clips/c.txt", "extra/more.txt"])
        #expect(harness.directory.read("out/clips/c.txt") == nil)
        #expect(!FileManager.default.fileExists(atPath: harness.directory.path + "/out/extra"), "the folder it emptied is gone")
        #expect(harness.directory.read("out/clips/b.txt") == "B")
        #expect(harness.directory.read("out/notes.txt") == "mine")
        #expect(harness.directory.read("out/clips/a.txt") == "a")

        // Nothing more to remove: the list now holds only what this run made.
        let third = try await harness.run(yaml, folder: "out", inputs: ["names=a", "extra=false"])
        #expect(third.removedFiles == nil)
        #expect(harness.directory.read("out/clips/b.txt") == "B")
    }

    /// A run whose continue_on_error step failed has not made everything it would: it removes
    /// nothing, so the last good outputs of that step and of the steps after it stay.
    @Test func aRunWithAFailedContinueOnErrorStepRemovesNothing() async throws {
        var harness = Harness()
        let yaml = """
            name: c
            inputs: {fail: {type: bool, default: false}}
            steps:
              - {id: a, uses: test.write, with: {path: a.txt, text: a}}
              - {id: b, uses: test.flaky, continue_on_error: true, if: "${{ inputs.fail }}", with: {failures: 9, tag: \(unique("b"))}}
              - {id: c, uses: test.write, optional_needs: [b], with: {path: c.txt, text: c}}
            """
        _ = try await harness.run(yaml, folder: "out")
        let failed = try await harness.run(yaml, folder: "out", inputs: ["fail=true"])
        #expect(failed.statuses["b"] == .failed && failed.statuses["c"] == .skipped)
        #expect(failed.removedFiles == nil)
        #expect(harness.directory.read("out/c.txt") == "c")
    }

    /// While a run goes on its list of written files is saved with its record, so a run killed
    /// after that leaves its files listed, and the next run that succeeds removes what it does not make.
    @Test func filesOfARunKilledPartWayAreListedForTheNextRunToRemove() throws {
        let directory = TemporaryFolder()
        final class Clock: @unchecked Sendable { var now = Date(timeIntervalSince1970: 1_000_000) }
        let clock = Clock()
        let killed = RunFolder(path: directory.path + "/out")
        let record = RunRecord(folder: killed, files: RunFolderManifest(folder: killed, workflow: "w.yaml"), now: { clock.now })
        _ = try killed.write(Data("1".utf8), to: "shorts/5.mp4")
        clock.now += 2
        record.stepFinished("shorts", outputs: nil, log: "")  // a second later: the record, and the list, are saved
        // The process dies here: no finish, no final list. The next run writes only one file.
        let next = RunFolder(path: directory.path + "/out")
        _ = try next.write(Data("1".utf8), to: "shorts/1.mp4")
        #expect(RunFolderManifest(folder: next, workflow: "w.yaml").finish(succeeded: true) == ["shorts/5.mp4"])
        #expect(directory.read("out/shorts/5.mp4") == nil && directory.read("out/shorts/1.mp4") == "1")
    }

    /// A step that writes its output under the name of the file it read (a template rendered over
    /// itself, a clip cut to its own name) read the one beside the workflow: its own output is no
    /// change to it, so the result is cached, with no warning.
    @Test func aStepWritingOverTheNameItReadIsCachedWithoutAWarning() async throws {
        var harness = Harness()
        harness.directory.write("t.mustache", "hello {{name}}")
        let yaml = "name: w\nsteps:\n  - {id: r, uses: template.render, with: {template: t.mustache, values: {name: x}, output: t.mustache}}\n"
        let events = EventLog()
        let first = try await harness.run(yaml, observer: events)
        #expect(first.step("r")?.status == .succeeded)
        #expect(events.warnings == [])
        #expect(try await harness.run(yaml).step("r")?.status == .cached)
    }

    /// A for_each of many items that is still going (a kill would come before it finishes): the
    /// files its finished items wrote are listed as they are written, not only when the step ends.
    @Test func theFilesOfAForEachStillGoingAreListedAsItsItemsFinish() async throws {
        let harness = Harness()
        // The last item takes 8 s; the list is due about a second after the run starts.
        let yaml = "name: w\nsteps:\n  - {id: f, uses: test.block, for_each: [0, 0, 0, 8], with: {seconds: \"${{ item }}\", path: \"f${{ index }}.txt\"}}\n"
        let started = Date()
        let running = Task {
            var copy = harness
            return try await copy.run(yaml)
        }
        var listed: [String: RunFolderManifest.Entry]?
        while Date().timeIntervalSince(started) < 7 {
            listed = RunFolderManifest.read(harness.directory.path + "/run-1/_aiv/files.json").values.first
            if listed?["f2.txt"] != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(listed?.keys.sorted() == ["f0.txt", "f1.txt", "f2.txt"], "while item 3 still runs")
        #expect(try await running.value.step("f")?.status == .succeeded)
    }

    /// Quick steps, then a long one: the record is written on a timer while the long step runs,
    /// so a kill during it leaves the quick steps' files listed (and their outputs on disk).
    @Test func aStepFinishedJustAfterAWriteIsWrittenOnATimerNotOnlyWhenTheNextStepEnds() async throws {
        let directory = TemporaryFolder()
        let folder = RunFolder(path: directory.path + "/out")
        let record = RunRecord(folder: folder, files: RunFolderManifest(folder: folder, workflow: "w.yaml"), now: Date.init)
        _ = try folder.write(Data("x".utf8), to: "out/x.txt")
        record.stepFinished("x", outputs: ["path": "out/x.txt"], log: "x: done\n")
        #expect(directory.read("out/_aiv/outputs.json") == nil, "less than a second since the run began: not yet")
        var waited = 0.0
        while directory.read("out/_aiv/outputs.json") == nil, waited < 5 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 0.05
        }
        #expect(directory.read("out/_aiv/outputs.json")?.contains("out/x.txt") == true)
        #expect(RunFolderManifest.read(RunFolderManifest.path(in: folder))["w.yaml"]?["out/x.txt"] != nil)
    }

    /// On Linux "café" with é and with e + U+0301 are two files, though Swift's strings count the
    /// names equal: a run that now writes the other form removes the file an earlier run wrote.
    @Test func aNameInAnotherUnicodeFormIsAnotherFile() throws {
        let directory = TemporaryFolder()
        let composed = "caf\u{E9}.txt", decomposed = "cafe\u{301}.txt"
        let first = RunFolder(path: directory.path + "/out")
        _ = try first.write(Data("1".utf8), to: composed)
        _ = RunFolderManifest(folder: first, workflow: "w.yaml").finish(succeeded: true)
        let next = RunFolder(path: directory.path + "/out")
        _ = try next.write(Data("2".utf8), to: decomposed)
        #expect(next.written.all.count == 1 && next.written.contains(decomposed) && !next.written.contains(composed))
        #expect(RunFolderManifest(folder: next, workflow: "w.yaml").finish(succeeded: true) == [composed])
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/out").filter { $0 != "_aiv" }
        #expect(left.map { Array($0.utf8) } == [Array(decomposed.utf8)])
    }

    /// A file reached by this run under another spelling (a case-insensitive disk) is this run's:
    /// the earlier entry naming it is not removed.
    @Test func aFileThisRunWroteIsNeverRemovedUnderAnotherName() throws {
        let directory = TemporaryFolder()
        let first = RunFolder(path: directory.path + "/out")
        _ = try first.write(Data("a".utf8), to: "a.txt")
        _ = RunFolderManifest(folder: first, workflow: "w.yaml").finish(succeeded: true)
        // The same file, written under another name (as a case-insensitive disk would name it;
        // on such a disk the name is taken already, and the case cannot be made this way).
        if FileManager.default.fileExists(atPath: directory.path + "/out/A.txt") { return }
        try FileManager.default.linkItem(atPath: directory.path + "/out/a.txt", toPath: directory.path + "/out/A.txt")
        // The link changed the file's status time: list it as it is now, as a run seeing it unchanged would have.
        var lists = RunFolderManifest.read(RunFolderManifest.path(in: first))
        lists["w.yaml"]?["a.txt"] = RunFolderManifest.stat(directory.path + "/out/a.txt")?.0
        let entries = lists["w.yaml"]!.mapValues { JSONValue.object(["size": .int(Int($0.size)), "modified": .int(Int($0.modified)), "changed": .int(Int($0.changed))]) }
        try Data(JSONValue.object(["workflows": ["w.yaml": .object(entries)]]).canonicalBytes).write(to: URL(fileURLWithPath: RunFolderManifest.path(in: first)))
        let second = RunFolder(path: directory.path + "/out")
        second.written.record("A.txt", digest: nil)
        #expect(RunFolderManifest(folder: second, workflow: "w.yaml").finish(succeeded: true) == [])
        #expect(directory.read("out/a.txt") == "a")
    }

    /// A file dated past 2262 (nanoseconds since 1970 past Int64) is listed, not a crash.
    @Test func aFileWithAFarFutureTimeIsListedWithoutOverflowing() throws {
        let directory = TemporaryFolder()
        let folder = RunFolder(path: directory.path + "/out")
        _ = try folder.write(Data("a".utf8), to: "a.txt")
        var times = [timespec(tv_sec: 10_413_792_000, tv_nsec: 5), timespec(tv_sec: 10_413_792_000, tv_nsec: 5)]
        #expect(utimensat(AT_FDCWD, directory.path + "/out/a.txt", &times, 0) == 0)
        #expect(RunFolderManifest(folder: folder, workflow: "w.yaml").finish(succeeded: true) == [])
        // Listed as it is, so a run that no longer makes it removes it.
        #expect(RunFolderManifest(folder: RunFolder(path: directory.path + "/out"), workflow: "w.yaml").finish(succeeded: true) == ["a.txt"])
    }

    /// Two workflows run by turns into one folder each remove only what their own earlier run made.
    @Test func anotherWorkflowIntoTheSameFolderLeavesTheFirstOnesFilesAlone() async throws {
        var harness = Harness()
        let first = """
            name: a
            inputs: {names: {type: list, default: [x, y]}}
            steps:
              - {id: w, uses: test.write, for_each: "${{ inputs.names }}", with: {path: "a/${{ item }}.txt", text: "${{ item }}"}}
            """
        let second = "name: b\nsteps:\n  - {id: w, uses: test.write, with: {path: b.txt, text: b}}\n"
        _ = try await harness.run(first, file: "a.yaml", folder: "out")
        let other = try await harness.run(second, file: "b.yaml", folder: "out")
        #expect(other.removedFiles == nil)
        #expect(harness.directory.read("out/a/x.txt") == "x" && harness.directory.read("out/a/y.txt") == "y")
        let again = try await harness.run(first, file: "a.yaml", folder: "out", inputs: ["names=x"])
        #expect(again.removedFiles == ["a/y.txt"])
        #expect(harness.directory.read("out/b.txt") == "b")
    }

    /// What lets a restore leave a file alone: a regular file with exactly these bytes.
    @Test func aFileHoldsTheBytesOnlyWhenEveryByteAndTheSizeMatch() throws {
        let folder = TemporaryFolder()
        let path = folder.path + "/a.txt"
        _ = folder.write("a.txt", "hello")
        #expect(Runner.holds(path, Data("hello".utf8)))
        #expect(!Runner.holds(path, Data("hellp".utf8)), "same size, one byte differs")
        #expect(!Runner.holds(path, Data("hell".utf8)))
        #expect(!Runner.holds(path, Data("hello!".utf8)))
        #expect(!Runner.holds(folder.path + "/missing.txt", Data()))
        _ = folder.write("empty.txt", "")
        #expect(Runner.holds(folder.path + "/empty.txt", Data()))
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/link.txt", withDestinationPath: path)
        #expect(!Runner.holds(folder.path + "/link.txt", Data("hello".utf8)), "a link is not followed")
        try FileManager.default.createDirectory(atPath: folder.path + "/dir", withIntermediateDirectories: true)
        #expect(!Runner.holds(folder.path + "/dir", Data()))
    }

    @Test func removedCacheFilesMakeTheStepRunAgainAndSaySo() async throws {
        var harness = Harness()
        // Larger than what a cache entry keeps inline, so the file is a blob of its own.
        let text = Array(repeating: "hello", count: CacheEntry.File.inlineLimit / 5).joined(separator: " ")
        let yaml = "name: c\nsteps:\n  - {id: w, uses: test.write, with: {path: a.txt, text: \(text)}}\n"
        _ = try await harness.run(yaml)
        try FileManager.default.removeItem(atPath: harness.directory.path + "/blobs")
        let second = try await harness.run(yaml)
        #expect(second.statuses == ["w": .succeeded])
        #expect(second.step("w")?.reason == "cached files were removed")
        #expect(harness.directory.read("run-2/a.txt") == text)
    }

    /// A stored file changed on disk is not handed out as a hit: it is removed, the step runs
    /// again, says why, and the run folder gets the step's real bytes.
    @Test func aDamagedCacheFileMakesTheStepRunAgainAndSaySo() async throws {
        var harness = Harness()
        let text = Array(repeating: "hello", count: CacheEntry.File.inlineLimit / 5).joined(separator: " ")
        let yaml = "name: c\nsteps:\n  - {id: w, uses: test.write, with: {path: a.txt, text: \(text)}}\n"
        _ = try await harness.run(yaml)
        let blobs = harness.directory.path + "/blobs"
        let stored = try #require(FileManager.default.subpaths(atPath: blobs)?.first { $0.contains("sha256-") })
        let handle = try #require(FileHandle(forUpdatingAtPath: blobs + "/" + stored))
        try handle.seek(toOffset: 10)
        try handle.write(contentsOf: Data("CORRUPT".utf8))
        try handle.close()
        let second = try await harness.run(yaml)
        #expect(second.statuses == ["w": .succeeded])
        #expect(second.step("w")?.reason.hasPrefix("a cached file was damaged") == true, "\(second.step("w")?.reason ?? "")")
        #expect(harness.directory.read("run-2/a.txt") == text)
        // The damaged copy went; the step's run stored a sound one under the same name.
        #expect(try Digest.file(blobs + "/" + stored) == "sha256:" + stored.split(separator: "-").last!)
    }

    /// A pipe or a device where a step reads a file would block it for ever (or never end): the
    /// invocation fails at once, naming the argument, and the step is never started.
    @Test func aPipeOrADeviceGivenAsAnInputFileFailsTheStepAtOnce() async throws {
        var harness = Harness()
        let fifo = harness.directory.path + "/fifo.txt"
        #expect(mkfifo(fifo, 0o600) == 0)
        for path in [fifo, "/dev/zero"] {
            let report = try await harness.run("name: c\nsteps:\n  - {id: r, uses: test.read, with: {file: \"${{ '\(path)' }}\"}}\n")
            #expect(report.statuses == ["r": .failed])
            #expect(report.step("r")?.error?.contains("argument 'file': '\(path)' is not a regular file (a pipe, a socket or a device)") == true,
                    "\(report.step("r")?.error ?? "")")
        }
    }

    /// Two items (or steps) writing one path would overwrite each other in whatever order they
    /// finish: the second to finish fails, naming the path and the first writer. From the cache
    /// too: a re-run is refused the same way, not quietly given one of the files.
    @Test func twoWritersOfOnePathFailTheRunNamingBoth() async throws {
        var harness = Harness()
        // The list is computed, so only the run can know its items collide (a literal list is refused by validation).
        let yaml = """
            name: c
            steps:
              - {id: w, uses: test.write, for_each: '${{ fromJSON(''["a", "b"]'') }}', max_parallel: 1, with: {path: same.txt, text: "${{ item }}"}}
            """
        for _ in 0..<2 {
            let report = try await harness.run(yaml)
            #expect(report.statuses == ["w": .failed])
            #expect(report.step("w")?.error?.contains("writes 'same.txt', which step 'w' item 0 also writes in this run") == true,
                    "\(report.step("w")?.error ?? "")")
        }
    }

    /// The second writer fails before it writes: a later step reads the first writer's file,
    /// even when the second one's failure is allowed (`continue_on_error`).
    @Test func aSecondWriterOfAPathFailsBeforeItReplacesTheFirstOnesFile() async throws {
        var harness = Harness()
        let yaml = """
            name: c
            steps:
              - {id: a, uses: test.write, with: {path: out/same.txt, text: from A}}
              - {id: b, uses: test.write, needs: [a], continue_on_error: true, with: {path: out/./same.txt, text: from B}}
              - {id: c, uses: test.read, needs: [a], with: {file: "${{ steps.a.outputs.path }}"}}
            """
        // One at a time, in order: b has tried to write before c reads.
        let report = try await harness.run(yaml, maxParallel: 1)
        #expect(report.statuses == ["a": .succeeded, "b": .failed, "c": .succeeded])
        #expect(report.step("b")?.error == "step 'b': writes 'out/same.txt', which step 'a' also writes in this run; give each its own output path")
        #expect(harness.directory.stepOutputs(run: "run-1", step: "c")?["text"] == "from A")
        #expect(harness.directory.read("run-1/out/same.txt") == "from A")
    }

    @Test func anExpiredEntryRunsAgain() async throws {
        let cache = MemoryCacheStore()
        var harness = Harness()
        harness.cache = cache
        let tag = unique("ttl")
        let yaml = "name: c\nsteps:\n  - {id: a, uses: test.echo, cache: 1ms, with: {value: 1, tag: \(tag)}}\n"
        _ = try await harness.run(yaml)
        try await Task.sleep(for: .milliseconds(20))
        let second = try await harness.run(yaml)
        #expect(second.step("a")?.status == .succeeded)
        #expect(second.step("a")?.reason == "cached result is older than 1ms")
    }
}

@Suite struct RunFolderTests {
    @Test(arguments: [
        ("../escape.txt", "output path must stay inside the run folder, but '../escape.txt' leaves it through '..'"),
        ("/etc/passwd", "output path must be a path inside the run folder, not an absolute path ('/etc/passwd')"),
        ("a/../../b", "output path must stay inside the run folder, but 'a/../../b' leaves it through '..'"),
        ("_aiv/steps/x", "output path '_aiv/steps/x' is inside '_aiv/', which aiv keeps for itself"),
    ])
    func refusesPathsThatLeaveTheFolder(_ path: String, _ message: String) {
        let directory = TemporaryFolder()
        #expect(throws: StepError(message)) { try RunFolder(path: directory.path).resolve(path) }
    }

    /// `--run-dir .` puts aiv's own state folder inside the run folder: steps cannot write there.
    @Test func refusesPathsIntoTheStateFolderWhenTheRunFolderHoldsIt() throws {
        let directory = TemporaryFolder()
        let folder = RunFolder(path: directory.path, stateFolder: directory.path + "/.aiv")
        #expect(throws: StepError("output path '.aiv/aiv.sqlite' is inside aiv's state folder '.aiv/' (its database and cache)")) {
            try folder.resolve(".aiv/aiv.sqlite")
        }
        #expect(throws: StepError("output path './.AIV/cache/x' is inside aiv's state folder '.aiv/' (its database and cache)")) {
            try folder.resolve("./.AIV/cache/x")
        }
        #expect(try folder.resolve(".aivx/a.txt") == directory.path + "/.aivx/a.txt")
        // The default layout, runs inside the state folder, reserves nothing in the run folder.
        #expect(try RunFolder(path: directory.path + "/.aiv/runs/1", stateFolder: directory.path + "/.aiv").resolve("a.txt")
                == directory.path + "/.aiv/runs/1/a.txt")
    }

    @Test func refusesASymbolicLinkThatLeadsOut() throws {
        let directory = TemporaryFolder()
        let outside = TemporaryFolder()
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/link", withDestinationPath: outside.path)
        #expect(throws: StepError("output path 'link/x.txt' leads out of the run folder through a symbolic link")) {
            try RunFolder(path: directory.path).write(Data("x".utf8), to: "link/x.txt")
        }
        #expect(!FileManager.default.fileExists(atPath: outside.path + "/x.txt"))
    }

    @Test func aFolderSwappedForALinkAfterAWriteIsRefused() throws {
        let directory = TemporaryFolder()
        let outside = TemporaryFolder()
        outside.write("victim.txt", "keep")
        let folder = RunFolder(path: directory.path)
        try folder.write(Data("x".utf8), to: "out/a.txt")
        try FileManager.default.removeItem(atPath: directory.path + "/out")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/out", withDestinationPath: outside.path)
        #expect(throws: StepError("output path 'out/victim.txt' leads out of the run folder through a symbolic link")) {
            try folder.write(Data("overwritten".utf8), to: "out/victim.txt")
        }
        #expect(outside.read("victim.txt") == "keep")
    }

    @Test func aLinkThatStaysInsideIsNotFollowedEither() throws {
        let directory = TemporaryFolder()
        let folder = RunFolder(path: directory.path)
        try folder.write(Data("x".utf8), to: "real/a.txt")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/alias", withDestinationPath: directory.path + "/real")
        #expect(throws: StepError("output path 'alias/a.txt' goes through the symbolic link 'alias'; aiv does not follow links inside a run folder")) {
            try folder.resolve("alias/a.txt")
        }
    }

    @Test func writesAtomicallyAndLeavesNoTemporaryFile() throws {
        let directory = TemporaryFolder()
        let folder = RunFolder(path: directory.path)
        try folder.write(Data("first".utf8), to: "a/b.txt")
        try folder.write(Data("second".utf8), to: "a/b.txt")
        #expect(directory.read("a/b.txt") == "second")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/a") == ["b.txt"])
    }
}

@Suite struct CacheForecastTests {
    @Test func forecastsCachedStepsAndExplainsTheRest() async throws {
        var harness = Harness()
        harness.directory.write("notes.txt", "one")
        let yaml = """
            name: f
            inputs:
              words: {type: list, default: [a, b]}
            steps:
              - {id: notes, uses: test.read, with: {file: notes.txt}}
              - {id: each, uses: test.echo, for_each: "${{ inputs.words }}", with: {value: "${{ item }}"}}
              - {id: both, uses: test.echo, with: {value: "${{ steps.notes.outputs.text }}"}}
              - {id: never, uses: test.echo, cache: false, with: {value: 1}}
            """
        let before = CacheForecast(plan: try harness.plan(yaml), registry: harness.registry, cache: harness.cache, blobs: nil, environment: [:],
                                   workflowDirectory: harness.directory.path)
        #expect(before.verdicts["notes"] == .willRun(reason: "no earlier result"))
        #expect(before.verdicts["both"] == .unknown(reason: "known once 'notes' has run"))
        _ = try await harness.run(yaml)
        let after = CacheForecast(plan: try harness.plan(yaml), registry: harness.registry, cache: harness.cache, blobs: nil, environment: [:],
                                  workflowDirectory: harness.directory.path)
        #expect(after.verdicts["notes"] == .cached)
        #expect(after.verdicts["both"] == .cached)
        #expect(after.verdicts["never"] == .willRun(reason: "cache off for this step"))
        harness.directory.write("notes.txt", "two")
        let edited = CacheForecast(plan: try harness.plan(yaml, inputs: ["words=a,c"]), registry: harness.registry, cache: harness.cache,
                                   blobs: nil, environment: [:], workflowDirectory: harness.directory.path)
        #expect(edited.verdicts["notes"] == .willRun(reason: "file 'notes.txt' changed"))
        #expect(edited.verdicts["each"] == .partlyCached(cached: 1, of: 2, reason: "item 1: argument 'value' changed"))
        #expect(CacheForecast.describe(edited.verdicts["both"]) == "? known once 'notes' has run")
    }

    /// The plan says what the run will: an empty for_each succeeds over no items (it is not
    /// "cached"), and arguments that fail once their inputs are known say why, not "not yet".
    @Test func theForecastOfAnEmptyForEachAndOfFailingArgumentsIsWhatTheRunDoes() async throws {
        var harness = Harness()
        let yaml = """
            name: f
            inputs:
              words: {type: list, default: []}
              total: {type: number, default: 100}
            steps:
              - {id: each, uses: test.echo, for_each: "${{ inputs.words }}", with: {value: "${{ item }}"}}
              - {id: after, uses: test.echo, with: {value: "${{ length(steps.each.outputs) }}"}}
              - {id: split, uses: test.echo, with: {value: "${{ windows(inputs.total, 0.001) }}"}}
            """
        let forecast = CacheForecast(plan: try harness.plan(yaml), registry: harness.registry, cache: harness.cache, blobs: nil, environment: [:],
                                     workflowDirectory: harness.directory.path)
        #expect(forecast.verdicts["each"] == .willRun(reason: "for_each list is empty"))
        #expect(forecast.verdicts["after"] == .willRun(reason: "no earlier result"), "judged with the empty list's outputs")
        #expect(forecast.verdicts["split"] == .willRun(reason: "its arguments fail: in argument 'value': 'windows' would make 100000 windows; at most 10000 (choose a larger size)"))
        let run = try await harness.run(yaml)
        #expect(run.step("each")?.status == .succeeded && run.step("each")?.reason == "for_each list is empty")
        #expect(run.step("split")?.error?.contains("'windows' would make 100000 windows") == true, "\(run.steps)")
    }

    @Test func aFileAnEarlierStepWroteIsReadFromTheRunFolderAndThePlanForeseesItsCacheHit() async throws {
        var harness = Harness()
        let yaml = """
            name: f
            steps:
              - {id: a, uses: file.write, with: {path: sub/t.srt, content: "1\\n00:00:01,000 --> 00:00:02,000\\nhi\\n"}}
              - {id: b, uses: transcript.load, with: {path: "${{ steps.a.outputs.path }}"}}
            """
        let first = try await harness.run(yaml)
        #expect(first.statuses == ["a": .succeeded, "b": .succeeded])
        #expect(harness.stepOutputs(run: 1, step: "b")?["segments"]?.arrayValue?.first?["text"] == "hi")
        let blobs = BlobStore(path: harness.directory.path + "/blobs")
        let forecast = CacheForecast(plan: try harness.plan(yaml), registry: harness.registry, cache: harness.cache, blobs: blobs,
                                     environment: [:], workflowDirectory: harness.directory.path)
        #expect(forecast.verdicts["a"] == .cached)
        #expect(forecast.verdicts["b"] == .cached)
        let second = try await harness.run(yaml)
        #expect(second.statuses == ["a": .cached, "b": .cached])
    }

    @Test func aFileLeftInAReusedRunFolderNeverStandsInForAnInput() async throws {
        var harness = Harness()
        harness.directory.write("t.srt", "1\n00:00:01,000 --> 00:00:02,000\nthe corrected line\n")
        // What an earlier run left where the next run writes (run-1/): not this run's file.
        harness.directory.write("run-1/t.srt", "1\n00:00:01,000 --> 00:00:02,000\nstale\n\n2\n00:00:03,000 --> 00:00:04,000\nstale\n")
        let yaml = """
            name: f
            inputs:
              t: {type: file, default: t.srt}
            steps:
              - {id: b, uses: transcript.load, with: {path: "${{ inputs.t }}"}}
            """
        let report = try await harness.run(yaml)
        #expect(report.statuses == ["b": .succeeded])
        let outputs = harness.directory.stepOutputs(run: "run-1", step: "b")?.prettyJSON ?? ""
        #expect(outputs.contains("the corrected line"))
        #expect(!outputs.contains("stale"))
    }

    /// A file edited after an item's key was made and before the item read it (a template edited
    /// while a long for_each runs): what the item made from the new contents is not kept under
    /// the old contents' key, where a later run with the old contents would take it. The run
    /// says so once for the step.
    @Test func aFileEditedWhileTheStepRanLeavesItsResultUncached() async throws {
        var harness = Harness()
        harness.directory.write("t.txt", "V1")
        let yaml = "name: t\nsteps:\n  - {id: r, uses: test.read, for_each: [1, 2], with: {file: t.txt, rewrite: V2}}\n"
        let events = EventLog()
        let first = try await harness.run(yaml, observer: events)
        #expect(first.step("r")?.status == .succeeded)
        #expect(events.warnings.count == 1 && events.warnings.first?.contains("'t.txt' changed while the step ran") == true, "\(events.warnings)")
        #expect(first.step("r")?.log?.contains("not cached: 't.txt' changed while the step ran") == true)
        // The old contents again: nothing was kept under their key, so the step runs.
        harness.directory.write("t.txt", "V1")
        let second = try await harness.run(yaml)
        #expect(second.step("r")?.cachedInvocations == 0, "\(second.steps)")
    }

    /// An edit that puts the size and the modification time back (`cp -p`, `touch -r`) still
    /// changes the file's status-change time: its digest is taken again.
    @Test func aFileEditedBackToItsSizeAndTimeIsDigestedAgain() throws {
        let folder = TemporaryFolder()
        let path = folder.write("t.mustache", "VERSION A")
        let digests = FileDigestCache()
        let first = try digests.digest(path)
        var before = stat()
        #expect(stat(path, &before) == 0)
        try "VERSION B".write(toFile: path, atomically: false, encoding: .utf8)
        var times = [before.st_atim, before.st_mtim]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        #expect(try digests.digest(path) != first)
    }

    @Test func aFileTakenBackFromTheCacheIsKnownByTheDigestItWasStoredUnder() throws {
        // A restored copy has a new modification time, which a very large file's digest takes in:
        // the key of a step that reads it must use the digest the cache stored.
        let directory = TemporaryFolder()
        directory.write("run/part.bin", "restored bytes")
        let folder = RunFolder(path: directory.path + "/run")
        folder.written.record("part.bin", digest: "sha256:stored")
        let kind = StepKindDescription(name: "test.reads", summary: "", arguments: [Property("file", .string, role: .inputFile, "")],
                                       outputs: .object([]), example: "")
        let components = CacheKeyComponents(kind: kind, arguments: StepArguments(["file": "part.bin"]), scope: EvaluationScope(), services: [:],
                                            workflowDirectory: directory.path, runFolder: folder, digests: FileDigestCache())
        #expect(components.files == ["part.bin": "sha256:stored"])
        // Written again by a step of this run: its digest is taken afresh.
        folder.written.record("part.bin", digest: nil)
        let again = CacheKeyComponents(kind: kind, arguments: StepArguments(["file": "part.bin"]), scope: EvaluationScope(), services: [:],
                                       workflowDirectory: directory.path, runFolder: folder, digests: FileDigestCache())
        #expect(again.files["part.bin"] != "sha256:stored")
        #expect(again.files["part.bin"] != "missing")
    }
}

/// A cache that cannot keep or give back results (a full disk, a state folder another user
/// owns, a damaged database): the run still succeeds, and says so once rather than leaving
/// every later run to redo everything in silence.
@Suite struct UnusableCacheTests {
    struct Broken: Error, CustomStringConvertible { var description: String { "database or disk is full" } }

    final class FailingCache: CacheStore, @unchecked Sendable {
        let reads: Bool
        init(reads: Bool) { self.reads = reads }
        func entry(forKey key: String) throws -> CacheEntry? { if reads { return nil }; throw Broken() }
        func latestEntry(workflow: String, step: String, item: Int?) throws -> CacheEntry? { nil }
        func save(_ entry: CacheEntry) async throws { throw Broken() }
    }

    @Test(arguments: [true, false])
    func aCacheThatCannotSaveOrReadIsSaidOnceAndTheRunStillSucceeds(reads: Bool) async throws {
        var harness = Harness()
        harness.cache = FailingCache(reads: reads)
        let events = EventLog()
        let report = try await harness.run("name: w\nsteps:\n  - {id: a, uses: test.echo, for_each: [1, 2, 3], with: {value: \"${{ item }}\"}}\n  - {id: b, uses: test.echo, with: {value: x}}\n",
                                           observer: events)
        #expect(report.status == .succeeded)
        let said = events.warnings.filter { $0.contains("database or disk is full") }
        #expect(said.count == (reads ? 1 : 2), "\(events.warnings)")
        #expect(said.contains { $0.hasPrefix("could not save results to the cache (database or disk is full)") })
        if !reads {
            #expect(said.contains { $0.hasPrefix("could not read results from the cache (database or disk is full)") })
            #expect(report.step("b")?.reason == "its cached result could not be read")
        }
    }
}
