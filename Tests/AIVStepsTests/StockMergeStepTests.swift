import AIVCore
import AIVNetwork
import AIVTestSupport
import Foundation
import Testing
@testable import AIVSteps

@Suite struct StockMergeStepTests {
    let harness = StepHarness()
    let hub = ServiceHub(mode: .live, transport: HTTPClientTransport(), services: [:], settings: [:])

    func merge(_ items: [JSONValue], source: JSONValue) async throws -> JSONValue {
        var context = harness.context
        context.services = hub
        let arguments: [String: JSONValue] = ["items": .array(items), "key": "japanese", "source": source, "stock": "vocabulary"]
        return try await StockMergeStep().run(StepArguments(arguments), context: context).outputs
    }

    @Test func anExpressionSeenInTwoStreamsIsOneEntryWithTwoSources() async throws {
        let first = try await merge([["japanese": "ヤバい", "english": "crazy"], ["japanese": "草", "english": "lol"]], source: "https://youtu.be/a")
        #expect(first["new_count"] == 2)
        let second = try await merge([["japanese": "やばい", "english": "insane"], ["japanese": "尊い", "english": "precious"]], source: "https://youtu.be/b")
        #expect(second["new_count"] == 1)
        #expect(second["seen_count"] == 1)
        let yabai = second["entries"]?.arrayValue?.first { $0["key"] == "やばい" }
        #expect(yabai?["english"] == "crazy", "a known entry keeps its first wording")
        #expect(yabai?["sources"] == ["https://youtu.be/a", "https://youtu.be/b"])
        #expect(yabai?["times_seen"] == 2)
        #expect(second["new"]?.arrayValue?.compactMap { $0["japanese"]?.stringValue } == ["尊い"])
    }

    /// Net slang is often written in half-width katakana: ﾊﾞｶ, バカ and ばか are one entry, its
    /// key stored composed (SQLite compares bytes, not canonical equivalence as Swift's == does).
    @Test func halfWidthVoicedKatakanaJoinsTheSameEntry() async throws {
        _ = try await merge([["japanese": "ばか"], ["japanese": "パン"]], source: "https://youtu.be/a")
        let again = try await merge([["japanese": "ﾊﾞｶ"], ["japanese": "ﾊﾟﾝ"], ["japanese": "バカ"]], source: "https://youtu.be/b")
        #expect(again["new_count"] == 0)
        let keys = again["entries"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []
        #expect(Set(keys.map { $0.unicodeScalars.map(\.value) }) == Set(["ばか", "ぱん"].map { $0.unicodeScalars.map(\.value) }))
        #expect(DedupeKey.normalized("ﾔﾊﾞｲ").unicodeScalars.elementsEqual("やばい".unicodeScalars))
    }

    /// A field the analysis gained (or was renamed to) reaches entries the stock already had;
    /// the fields they had keep their first wording.
    @Test func aKnownEntryTakesTheFieldsItLacksFromTheNewItem() async throws {
        _ = try await merge([["japanese": "草", "english": "lol", "reading": .null]], source: "https://youtu.be/a")
        let again = try await merge([["japanese": "草", "english": "grass", "meaning": "lol!", "reading": "くさ"]], source: "https://youtu.be/b")
        let kusa = again["entries"]?.arrayValue?.first
        #expect(kusa?["english"] == "lol")
        #expect(kusa?["meaning"] == "lol!")
        #expect(kusa?["reading"] == "くさ", "a field held as null is filled too")
    }

    @Test func theSameStreamTwiceAddsItsSourceOnce() async throws {
        _ = try await merge([["japanese": "草"]], source: "https://youtu.be/a")
        let again = try await merge([["japanese": "草"]], source: "https://youtu.be/a")
        #expect(again["entries"]?.arrayValue?.first?["times_seen"] == 1)
    }

    @Test func anItemWithoutTheKeyIsAnError() async throws {
        do {
            _ = try await merge([["english": "no key"]], source: "x")
            Issue.record("expected a failure")
        } catch {
            #expect("\(error)".contains("item 0 has no 'japanese'"))
        }
    }
}
