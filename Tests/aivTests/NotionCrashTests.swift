import AIVCore
import AIVTestSupport
import Foundation
import Testing

/// `aiv run` upserting 200 pages while Notion fails 20% of requests and the run is killed at
/// several points: re-running always ends with exactly one page per key.
@Suite(.serialized) struct NotionCrashTests {
    static func workflow(count: Int) -> String {
        """
        name: publish
        services:
          notion:
            retry: {attempts: 10, delay: 0.02, max_delay: 0.2}
            limits: {requests_per_second: 1000}
        steps:
          - id: publish
            uses: notion.upsert
            for_each: [\((0..<count).map(String.init).joined(separator: ", "))]
            with:
              key: Japanese
              properties:
                Japanese: ${{ format('表現{0}', item) }}
                English: ${{ format('expression {0}', item) }}
                Index: ${{ item }}
        """
    }

    /// Two runs at once (two streams sharing expressions) write the same keys: a lock per key
    /// under the state folder makes the second find the first's page, never create its own.
    @Test func twoRunsAtOnceWritingTheSameKeysMakeOnePagePerKey() async throws {
        let notion = try FakeNotion()
        defer { notion.stop() }
        notion.requestsPerSecond = nil
        // Slow answers: both runs are looking for the same pages at the same time.
        notion.latency = 0.05
        let database = notion.addDatabase(title: "Vocabulary", properties: ["Japanese": "title", "English": "rich_text", "Index": "number"])
        let folder = TemporaryFolder()
        folder.write("publish.yaml", Self.workflow(count: 12))
        let environment = ["NOTION_TOKEN": notion.token, "NOTION_BASE_URL": notion.baseURL, "NOTION_DATABASE_ID": database]
        let results = try await withThrowingTaskGroup(of: CommandRunner.Result.self) { group in
            for name in ["one", "two"] {
                group.addTask {
                    try await CommandRunner.run(["run", "publish.yaml", "--state-dir", "state", "--run-dir", name, "--max-parallel", "4"],
                                                in: folder.path, environment: environment)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for result in results { #expect(result.status == 0, "\(result.stderr.suffix(1000))") }
        let keys = notion.pages(in: database).compactMap { notion.plainText(of: $0, property: "Japanese") }
        #expect(keys.count == 12, "\(keys.count - Set(keys).count) duplicate pages")
        #expect(Set(keys) == Set((0..<12).map { "表現\($0)" }))
    }

    @Test func killedRunsWithInjectedFaultsEndWithExactlyOnePagePerKey() async throws {
        let notion = try FakeNotion()
        defer { notion.stop() }
        notion.requestsPerSecond = nil
        notion.seedFaults(20261125)
        notion.randomFaultRate = 0.2
        // 10 ms an answer: a run takes a second or two, long enough to be killed in the middle.
        notion.latency = 0.01
        let database = notion.addDatabase(title: "Vocabulary", properties: ["Japanese": "title", "English": "rich_text", "Index": "number"])
        let folder = TemporaryFolder()
        folder.write("publish.yaml", Self.workflow(count: 200))
        let environment = ["NOTION_TOKEN": notion.token, "NOTION_BASE_URL": notion.baseURL, "NOTION_DATABASE_ID": database]
        func run(killAfter: Double?, name: String) async throws -> CommandRunner.Result {
            try await CommandRunner.run(["run", "publish.yaml", "--state-dir", "state", "--run-dir", name, "--max-parallel", "4"],
                                        in: folder.path, environment: environment, killAfter: killAfter)
        }

        var killed = 0
        var partial = 0
        for (attempt, delay) in [0.5, 0.7, 0.9, 1.1].enumerated() {
            let outcome = try await run(killAfter: delay, name: "killed-\(attempt)")
            let written = notion.pages(in: database).count
            if outcome.status == -9 { killed += 1 }
            if outcome.status == -9, written > 0, written < 200 { partial += 1 }
            // Whatever happened, no key has two pages.
            let keys = notion.pages(in: database).compactMap { notion.plainText(of: $0, property: "Japanese") }
            #expect(Set(keys).count == keys.count, "duplicates after kill \(attempt): \(keys.count - Set(keys).count)")
        }
        #expect(killed >= 2, "runs were killed")
        #expect(partial >= 1, "a run was killed with part of the pages written")

        var final = try await run(killAfter: nil, name: "final")
        if final.status != 0 {
            // A step can still fail after ten tries at a 20% fault rate; running again finishes it.
            final = try await run(killAfter: nil, name: "final-again")
        }
        #expect(final.status == 0, "\(final.stdout.suffix(2000))\n\(final.stderr.suffix(2000))")
        let keys = notion.pages(in: database).compactMap { notion.plainText(of: $0, property: "Japanese") }
        #expect(keys.count == 200)
        #expect(Set(keys) == Set((0..<200).map { "表現\($0)" }))
        #expect(notion.injectedFaultCount > 20)
    }
}
