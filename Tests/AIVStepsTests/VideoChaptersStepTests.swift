import AIVCore
@testable import AIVSteps
import AIVTestSupport
import Testing

@Suite struct VideoChaptersStepTests {
    func moments(_ pairs: [(Double, String)]) -> JSONValue {
        .array(pairs.map { .object(["start": .double($0.0), "title": .string($0.1)]) })
    }

    func chapters(_ pairs: [(Double, String)], length: Double? = nil, extra: [String: JSONValue] = [:]) async throws -> (text: String, listed: JSONValue) {
        var arguments: [String: JSONValue] = ["items": moments(pairs)]
        if let length { arguments["video_length"] = .double(length) }
        arguments.merge(extra) { $1 }
        let outputs = try await StepHarness().outputs(VideoChaptersStep.self, arguments)
        return (outputs["text"]?.stringValue ?? "?", outputs["chapters"] ?? nil)
    }

    @Test func aFirstMomentUnderTenSecondsInStartsAt0AndCloseMomentsShareAChapter() async throws {
        let result = try await chapters([(24, "〜ながら"), (8.6, "初見さん"), (12, "草"), (28, "ぽんこつ"), (40, "スパチャ")], length: 60)
        #expect(result.text == """
            0:00 初見さん
            0:12 草
            0:24 〜ながら · ぽんこつ
            0:40 スパチャ
            """)
        #expect(result.listed[2] == ["start": 24, "time": "0:24", "title": "〜ながら · ぽんこつ"])
    }

    @Test func aFirstMomentTenSecondsInOrLaterGetsAnOpeningChapterBeforeIt() async throws {
        let result = try await chapters([(10, "草"), (30, "ガチ")], extra: ["opening": "オープニング"])
        #expect(result.text == "0:00 オープニング\n0:10 草\n0:30 ガチ")
    }

    @Test func aLastChapterShorterThanTenSecondsJoinsTheOneBeforeAndAMomentPastTheEndIsLeftOut() async throws {
        let result = try await chapters([(0, "挨拶"), (20, "草"), (40, "神回"), (45, "乙"), (90, "幻")], length: 48)
        // 45 is within 10 s of 40, and 40 within 10 s of the end (48): both join 0:20, which leaves too few.
        #expect(result.text == "")
        #expect(result.listed == [["start": 0, "time": "0:00", "title": "挨拶"], ["start": 20, "time": "0:20", "title": "草 · 神回 · 乙"]])
    }

    /// The length as a duration reads as its seconds; null (a recording that does not say how
    /// long it is) is no length at all, so nothing is left out for being past the end.
    @Test func videoLengthIsSecondsADurationOrNullForUnknown() async throws {
        let pairs: [(Double, String)] = [(0, "挨拶"), (20, "草"), (40, "神回"), (90, "幻")]
        let seconds = try await chapters(pairs, extra: ["video_length": 60])
        let duration = try await chapters(pairs, extra: ["video_length": "1m"])
        #expect(duration.text == seconds.text && !seconds.text.contains("幻"))
        let unknown = try await chapters(pairs, extra: ["video_length": .null])
        #expect(unknown.text.contains("1:30 幻"), "\(unknown.text)")
        let bad = try await StepHarness().failure(VideoChaptersStep.self, ["items": moments(pairs), "video_length": "soon"])
        #expect(bad == "argument 'video_length' must be seconds or a duration such as \"1h05m\", not a string 'soon'")
    }

    @Test func aChapterOfSeveralMomentsListsTheirShortTitles() async throws {
        let items: JSONValue = [
            ["start": 12, "japanese": "草", "chapter": "草 — lol"],
            ["start": 24, "japanese": "〜ながら", "chapter": "〜ながら — while doing"],
            ["start": 28, "japanese": "ぽんこつ", "chapter": "ぽんこつ — a klutz"],
            ["start": 31, "japanese": "草", "chapter": "草 — lol"],
        ]
        let outputs = try await StepHarness().outputs(VideoChaptersStep.self, ["items": items, "title": "chapter", "short_title": "japanese"])
        #expect(outputs["text"] == "0:00 Intro\n0:12 草 — lol\n0:24 〜ながら · ぽんこつ · 草")
        #expect(outputs["count"] == 3)
    }

    /// A long stream's chapters must leave the description within YouTube's 5,000 bytes.
    @Test func aTextOverMaxBytesNamesChaptersByShortTitlesThenSpacesThemWider() async throws {
        let items = JSONValue.array((0..<120).map { i in
            ["start": .int(i * 45 + 5), "title": .string("表現\(i) — meaning number \(i) of a slang word"), "short": .string("表現\(i)")]
        })
        func run(_ extra: [String: JSONValue]) async throws -> (text: String, count: Int) {
            let outputs = try await StepHarness().outputs(VideoChaptersStep.self, ["items": items, "video_length": 5500].merging(extra) { $1 })
            return (outputs["text"]?.stringValue ?? "?", outputs["count"]?.numberValue.map(Int.init) ?? -1)
        }
        func starts(_ text: String) -> [Int] {
            text.split(separator: "\n").map { $0.prefix { $0 != " " }.split(separator: ":").reduce(0) { $0 * 60 + Int($1)! } }
        }
        let whole = try await run([:])
        #expect(whole.text.utf8.count > 5000 && whole.count == 120)

        // Short titles are enough for 2,500 bytes; 1,000 needs fewer chapters as well.
        let named = try await run(["short_title": "short", "max_bytes": 2500])
        #expect(named.text.utf8.count <= 2500 && named.count == 120, "\(named.text.utf8.count)")
        #expect(!named.text.contains("meaning"), "every chapter is named by its short title")
        let short = try await run(["short_title": "short", "max_bytes": 1000])
        #expect(short.text.utf8.count <= 1000 && short.text.utf8.count > 500, "\(short.text.utf8.count)")
        #expect(short.count >= 3 && short.count < 120)

        let wider = try await run(["max_bytes": 2000])
        #expect(wider.text.utf8.count <= 2000 && wider.count >= 3)
        for text in [short.text, wider.text] {
            let times = starts(text)
            #expect(times.first == 0 && zip(times, times.dropFirst()).allSatisfy { $1 - $0 >= 10 })
            #expect(5500 - (times.last ?? 0) >= 10)
        }
        #expect(try await run(["max_bytes": 0]).text == "")
    }

    /// Spacing grows by half until the text fits, which overshoots: the closest spacing that
    /// fits is then found by halving, so a long stream keeps the chapters its budget has room for.
    @Test func aBudgetKeepsAsManyChaptersAsItHasRoomFor() async throws {
        let items = JSONValue.array((0..<300).map { i in ["start": .int(i * 30), "title": .string("場面\(i)")] })
        func run(_ extra: [String: JSONValue]) async throws -> (bytes: Int, count: Int) {
            let outputs = try await StepHarness().outputs(VideoChaptersStep.self, ["items": items, "video_length": 9100].merging(extra) { $1 })
            return (outputs["text"]?.stringValue?.utf8.count ?? -1, outputs["count"]?.numberValue.map(Int.init) ?? -1)
        }
        let budgeted = try await run(["max_bytes": 750])
        #expect(budgeted.bytes <= 750)
        // No wider spacing, as a fixed min_length, fits more chapters in the same budget.
        for spacing in stride(from: 600, through: 3000, by: 60) {
            let fixed = try await run(["min_length": .int(spacing)])
            if fixed.bytes <= 750 { #expect(fixed.count <= budgeted.count, "min_length \(spacing): \(fixed.count) chapters in \(fixed.bytes) bytes") }
        }
    }

    @Test func angleBracketsWhichYouTubeRefusesInADescriptionBecomeFullWidth() async throws {
        let result = try await chapters([(0, "<b>草</b>"), (15, "a > b"), (30, "c")])
        #expect(result.text == "0:00 ＜b＞草＜/b＞\n0:15 a ＞ b\n0:30 c")
    }

    @Test func theOpeningTitleIsCleanedLikeTheOthers() async throws {
        let result = try await chapters([(20, "a"), (40, "b")], extra: ["opening": "Intro <1>\n2:00 fake"])
        #expect(result.text == "0:00 Intro ＜1＞ 2:00 fake\n0:20 a\n0:40 b")
        let empty = try await StepHarness().failure(VideoChaptersStep.self, ["items": [], "opening": " \n"])
        #expect(empty?.contains("argument 'opening' must be a title, not empty") == true)
    }

    @Test func fewerThanThreeChaptersGiveNoText() async throws {
        #expect(try await chapters([(3, "草"), (8, "ガチ")]).text == "")
        #expect(try await chapters([]).text == "")
        #expect(try await chapters([(3, "草"), (15, "ガチ"), (30, "乙")]).text == "0:00 草\n0:15 ガチ\n0:30 乙")
    }

    @Test func pastAnHourTheTimeHasHours() async throws {
        let result = try await chapters([(0, "a"), (599, "b"), (3599.9, "c"), (3610, "d"), (36_061, "e")])
        #expect(result.text == "0:00 a\n9:59 b\n59:59 c\n1:00:10 d\n10:01:01 e")
    }

    @Test func aMergedTitleStopsAtSeventyCharactersAndCountsTheRest() {
        let long = String(repeating: "あ", count: 30)
        #expect(VideoChaptersStep.title([long, long, long, "x"]) == "\(long) · \(long) +2")
        #expect(VideoChaptersStep.title([String(repeating: "x", count: 80)]).count == 80)
    }

    @Test func aTitleOnSeveralLinesBecomesOneLine() async throws {
        let result = try await chapters([(0, "草\nlol"), (15, "b"), (30, "c")])
        #expect(result.text == "0:00 草 lol\n0:15 b\n0:30 c")
    }

    /// Whatever the moments, the chapters keep YouTube's rules: first at 0, ascending, each at
    /// least 10 s long (the last up to the end), every moment within the video in one of them.
    @Test func randomMomentsAlwaysGiveChaptersYouTubeAccepts() {
        var generator = SplitMix64(seed: 7)
        for round in 0..<2_000 {
            let length = Double(generator.next(upTo: 4_000) + 1)
            let count = generator.next(upTo: 30)
            let moments = (0..<count).map { i in VideoChaptersStep.Moment(second: generator.next(upTo: Int(length) + 20), title: "m\(i)", shortTitle: "m\(i)") }
            let within = moments.filter { Double($0.second) < length }
            let made = VideoChaptersStep.chapters(of: within, opening: "Intro", minimum: 10, length: length)
            if within.isEmpty { #expect(made.isEmpty); continue }
            #expect(made.first?.start == 0, "round \(round)")
            for (before, after) in zip(made, made.dropFirst()) {
                #expect(after.start - before.start >= 10, "round \(round): \(made)")
            }
            if made.count > 1 { #expect(length - Double(made.last!.start) >= 10, "round \(round): \(made) in \(length) s") }
            let titles = made.flatMap(\.titles)
            #expect(Set(titles).isSuperset(of: within.map(\.title)), "round \(round)")
            #expect(titles.allSatisfy { $0 == "Intro" || within.map(\.title).contains($0) }, "round \(round)")
        }
    }

    @Test(arguments: [
        (["items": [["start": 1]]], "item 0 has no title (text) at 'title'"),
        (["items": [["title": "草", "start": "1:00"]]], "item 0 has no time in seconds at 'start' (it has a string \"1:00\")"),
        (["items": [["title": "草"]]], "item 0 has no time in seconds at 'start'"),
        (["items": [], "max_bytes": -1], "must be 0 or more, not -1"),
        (["items": [["title": "草", "start": 1], ["title": "草", "start": -2]]], "item 1 has a time of -2.0 s at 'start', not one within a video"),
        (["items": [], "min_length": 5], "must be from 10 (YouTube's shortest chapter) to 86400 seconds, not 5.0"),
        (["items": [], "video_length": 0], "must be more than 0 seconds, not 0.0"),
        (["items": [], "at": "a..b"], "must be a field path such as 'name' or 'source.start', not 'a..b'"),
    ] as [([String: JSONValue], String)])
    func badMomentsAndArgumentsAreErrorsNamingTheElement(_ arguments: [String: JSONValue], _ message: String) async throws {
        let failure = try await StepHarness().failure(VideoChaptersStep.self, arguments)
        #expect(failure?.contains(message) == true, "\(failure ?? "succeeded")")
    }
}

