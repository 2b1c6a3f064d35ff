import AIVCore
import Foundation
import Testing
@testable import AIVSteps

@Suite struct NotionPropertiesTests {
    func database(_ properties: [String: String]) -> NotionDatabase {
        NotionDatabase(id: "db1", version: "2022-06-28", properties: properties, queryPath: "/v1/databases/db1/query", parent: ["database_id": "db1"])
    }

    func problem(_ value: JSONValue, _ type: String) -> String? {
        do {
            _ = try NotionProperties.convert(value, type: type)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func plainValuesBecomePropertyValuesByType() throws {
        #expect(try NotionProperties.convert("草", type: "title") == [["type": "text", "text": ["content": "草"]]])
        #expect(try NotionProperties.convert("N3", type: "select") == ["name": "N3"])
        #expect(try NotionProperties.convert(["slang", "gaming", "slang"], type: "multi_select") == [["name": "slang"], ["name": "gaming"]])
        #expect(try NotionProperties.convert("42", type: "number") == 42)
        #expect(try NotionProperties.convert(3.5, type: "number") == 3.5)
        #expect(try NotionProperties.convert("https://youtu.be/x?t=90s", type: "url") == "https://youtu.be/x?t=90s")
        #expect(try NotionProperties.convert("2026-11-25", type: "date") == ["start": "2026-11-25"])
        #expect(try NotionProperties.convert("true", type: "checkbox") == true)
        #expect(try NotionProperties.convert(.null, type: "select") == .null)
    }

    @Test func textOver2000CharactersIsSplitWithoutBreakingACharacter() throws {
        let text = String(repeating: "あ", count: 1999) + "😀" + String(repeating: "b", count: 10)
        let parts = try NotionProperties.richText(.string(text))
        #expect(parts.count == 2)
        let first = parts[0]["text"]?["content"]?.stringValue ?? ""
        #expect(first.utf16.count == 1999)
        #expect(parts.compactMap { $0["text"]?["content"]?.stringValue }.joined() == text)
        #expect(parts.allSatisfy { ($0["text"]?["content"]?.stringValue?.utf16.count ?? 0) <= 2000 })
    }

    @Test func notionsLimitsAreCheckedBeforeSending() {
        #expect(problem(.string(String(repeating: "x", count: 200_001)), "rich_text")?.contains("at most 200000") == true)
        #expect(problem(.array((0..<101).map { .string("t\($0)") }), "multi_select")?.contains("at most 100") == true)
        #expect(problem(.string("https://x.y/" + String(repeating: "a", count: 2000)), "url")?.contains("at most 2000") == true)
        #expect(problem("a, b", "select")?.contains("cannot contain commas") == true)
        #expect(problem("many", "number")?.contains("'many' is not a number") == true)
        #expect(problem("next week", "date")?.contains("not a date") == true)
        #expect(problem("maybe", "checkbox")?.contains("true or false") == true)
        #expect(problem("x", "people")?.contains("cannot write") == true)
        // 99 letters and an emoji: 100 characters to Swift, 101 UTF-16 units to Notion.
        #expect(problem(.string(String(repeating: "a", count: 99) + "👍"), "select")?.contains("longer than 100") == true)
        #expect(problem(.string(String(repeating: "a", count: 98) + "👍"), "select") == nil)
        #expect(problem(.string(String(repeating: "a", count: 190) + "@example.jp"), "email")?.contains("an email address of 201 characters; Notion takes at most 200") == true)
        #expect(problem(.string(String(repeating: "0", count: 201)), "phone_number")?.contains("a phone number of 201 characters") == true)
        #expect(problem("nemu@example.jp", "email") == nil)
    }

    /// Notion takes ISO 8601: the forms people write are sent as such, and what is already ISO
    /// is sent as it is.
    @Test func datesAreSentAsISO8601() throws {
        #expect(try NotionProperties.convert("2026-11-25 21:00", type: "date") == ["start": "2026-11-25T21:00:00"])
        #expect(try NotionProperties.convert("2026-11-25 21:00+0900", type: "date") == ["start": "2026-11-25T21:00:00+09:00"])
        #expect(try NotionProperties.convert("2026-11-25T21:00:05.5Z", type: "date") == ["start": "2026-11-25T21:00:05.5Z"])
        #expect(try NotionProperties.convert(["start": "2026-11-25", "end": "2026-11-26 01:30-05:00"], type: "date")
                == ["start": "2026-11-25", "end": "2026-11-26T01:30:00-05:00"])
        #expect(problem("2026-11-25 21", "date")?.contains("not a date") == true)
    }

    /// 200,000 Japanese characters fit the text objects' limits and are 600 KB of JSON: refused
    /// before sending, naming the property, rather than by Notion after the pages before it.
    @Test func aPageOverNotionsRequestSizeIsRefusedBeforeAnyIsWritten() {
        let db = database(["Japanese": "title", "Context": "rich_text"])
        do {
            _ = try NotionUpsertStep.prepare([["Japanese": "草", "Context": .string(String(repeating: "草", count: 200_000))]], key: "Japanese", database: db)
            Issue.record("expected a failure")
        } catch {
            #expect(error.message.contains("Notion takes at most 500 KB in one request (the largest property is 'Context')"), "\(error.message)")
        }
    }

    @Test func everyPageIsCheckedBeforeAnyIsWrittenWithDidYouMean() {
        let db = database(["Japanese": "title", "English": "rich_text", "Difficulty": "select", "Count": "number"])
        do {
            _ = try NotionUpsertStep.prepare([["Japanese": "草", "Englsh": "lol"], ["Japanese": "てぇてぇ", "Count": "lots"]], key: "Japanese", database: db)
            Issue.record("expected a failure")
        } catch {
            #expect(error.message.contains("2 problems, nothing written"))
            #expect(error.message.contains("page 0: property 'Englsh' is not in database db1; did you mean 'English'?"))
            #expect(error.message.contains("page 1: property 'Count' is a number property, and 'lots' is not a number"))
        }
    }

    @Test func theKeyMustBeAPropertyAQueryCanMatch() {
        let db = database(["Japanese": "title", "Tags": "multi_select"])
        #expect(throws: StepError.self) { try NotionUpsertStep.prepare([["Japanese": "草"]], key: "Japanse", database: db) }
        do {
            _ = try NotionUpsertStep.prepare([["Tags": ["a"]]], key: "Tags", database: db)
        } catch {
            #expect(error.message.contains("a multi_select property; a key must be one of"))
        }
    }

    @Test func theSameValuesGiveTheSameDigestSoUnchangedPagesAreNotSentAgain() throws {
        let db = database(["Japanese": "title", "English": "rich_text"])
        let a = try NotionUpsertStep.prepare([["Japanese": "草", "English": "lol"]], key: "Japanese", database: db)
        let b = try NotionUpsertStep.prepare([["English": "lol", "Japanese": "草"]], key: "Japanese", database: db)
        let c = try NotionUpsertStep.prepare([["Japanese": "草", "English": "lmao"]], key: "Japanese", database: db)
        #expect(a[0].digest == b[0].digest)
        #expect(a[0].digest != c[0].digest)
        #expect(a[0].key == "草")
    }
}
