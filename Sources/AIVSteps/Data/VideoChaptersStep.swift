import AIVCore
import Foundation

/// `video.chapters`: turns timed moments into chapter lines that YouTube accepts.
///
/// YouTube makes chapters from a video description only when the timestamps follow its rules, and
/// ignores the whole list when one is broken: the first starts at 0:00, there are at least three, in
/// ascending order, each at least 10 seconds long. A model asked for chapter lines breaks them
/// (expressions a few seconds apart, a first line at 0:08), so the times come from the data and
/// this step applies the rules.
public struct VideoChaptersStep: Step {
    public init() {}

    /// YouTube's shortest chapter, in seconds.
    static let youtubeMinimum = 10.0
    /// YouTube's fewest chapters; with fewer the timestamps are plain links, not chapters.
    static let youtubeFewest = 3
    /// Characters of a chapter title YouTube shows; a merged title stops adding names past it.
    static let titleLength = 70

    public static let kind = StepKindDescription(
        name: "video.chapters",
        version: 2,  // 2: a budget keeps the closest spacing that fits
        summary: "Make YouTube chapter lines (0:00 first, at least 3, each 10 s or longer) from timed moments.",
        discussion: """
            Each element of `items` is a moment: a time in seconds (the field `at` names) and a title (the field \
            `title` names, and optionally a shorter one `short_title` names). They become chapters in time order, at whole seconds. The first chapter starts at 0:00: the \
            first moment's, when it comes less than `min_length` seconds in, else one titled `opening`. A moment less \
            than `min_length` after the chapter before joins that chapter, whose title then lists both by their short \
            titles (up to 70 characters, then "+N"); so does a last moment less than `min_length` before `video_length`, and a moment \
            at or past the end is left out, with a log line. `text` is one "m:ss title" line per chapter (h:mm:ss past \
            an hour), ready for a description, or empty when there are fewer than 3 chapters, since YouTube ignores \
            such a list; `chapters` lists them either way. With `max_bytes` (what a description has room for: \
            YouTube's is 5000 bytes of UTF-8 in all) a longer text is made shorter, first by naming every chapter by \
            its short title, then by spacing chapters further apart, and a log line says how. `<` and `>`, which \
            YouTube refuses in a description, become ＜ and ＞. A moment without a number at `at`, a negative time, or \
            a title that is not text is an error naming the element.
            """,
        arguments: [
            Property("items", .array(.any), required: true, "The moments (mappings)."),
            Property("at", .string, default: "start", role: .fieldPath, "Field path of a moment's time in seconds."),
            Property("title", .string, default: "title", role: .fieldPath, "Field path of a moment's chapter title."),
            Property("short_title", .string, role: .fieldPath, "Field path of a shorter title, used when several moments share a chapter; else `title`."),
            Property("video_length", .anyOf([.number, .string, .null]),
                     "The video's length, in seconds or as a duration (\"1h05m\"); the last chapter must fit in it. null: not known (media.probe's duration for a file that does not say)."),
            Property("opening", .string, default: "Intro", "Title of the 0:00 chapter when the first moment comes later."),
            Property("min_length", .anyOf([.number, .string]), default: 10, "Shortest chapter, in seconds or as a duration (\"15s\"); YouTube's is 10, less is refused."),
            Property("max_bytes", .integer, "The most bytes (UTF-8) `text` may take; fewer, shorter chapters when it would take more."),
        ],
        outputs: .object([
            Property("chapters", .array(.object([
                Property("start", .integer, required: true, "Seconds from the start."),
                Property("time", .string, required: true, "The start as YouTube writes it: m:ss, or h:mm:ss past an hour."),
                Property("title", .string, required: true, "The chapter's title."),
            ])), required: true, "The chapters in time order."),
            Property("text", .string, required: true, "One \"time title\" line per chapter, or empty when there are fewer than 3."),
            Property("count", .integer, required: true, "How many chapters."),
        ]),
        example: """
            - id: chapters
              uses: video.chapters
              with:
                items: ${{ steps.linked.outputs.items }}
                at: start
                title: chapter
                video_length: ${{ steps.recording.outputs.duration }}
            """)

    struct Moment {
        var second: Int
        var title: String
        /// What a chapter shared with other moments lists.
        var shortTitle: String
    }

    struct Chapter: Equatable {
        var start: Int
        /// The titles of its moments: one title, or their short titles when there are several.
        var titles: [String]
    }

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let items = try arguments.list("items")
        let at = try FieldPath(try arguments.optionalString("at") ?? "start", argument: "at")
        let titlePath = try FieldPath(try arguments.optionalString("title") ?? "title", argument: "title")
        let shortTitlePath = try arguments.optionalString("short_title").map { text throws(StepError) in try FieldPath(text, argument: "short_title") }
        let opening = try Self.cleaned(try arguments.optionalString("opening") ?? "Intro")
        guard !opening.isEmpty else { throw StepError.argument("opening", "must be a title, not empty") }
        let minimum = try arguments.duration("min_length", default: Self.youtubeMinimum)
        guard minimum >= Self.youtubeMinimum, minimum <= 86_400 else {
            throw StepError.argument("min_length", "must be from \(Int(Self.youtubeMinimum)) (YouTube's shortest chapter) to 86400 seconds, not \(minimum)")
        }
        let length = try Self.videoLength(arguments)
        if let length, !(length > 0) { throw StepError.argument("video_length", "must be more than 0 seconds, not \(length)") }

        var moments: [Moment] = []
        for (index, item) in items.enumerated() {
            guard let seconds = at.value(in: item)?.numberValue, seconds.isFinite else {
                let found = at.value(in: item).map { " (it has \($0.describedKind)\($0.stringValue.map { " \"\($0)\"" } ?? ""))" } ?? ""
                throw StepError.argument("items", "item \(index) has no time in seconds at '\(at)'\(found)")
            }
            guard seconds >= 0, seconds < 1e9 else {
                throw StepError.argument("items", "item \(index) has a time of \(seconds) s at '\(at)', not one within a video")
            }
            let title = try Self.text(at: titlePath, of: item, index: index)
            let shortTitle = try shortTitlePath.map { path throws(StepError) in try Self.text(at: path, of: item, index: index) } ?? title
            if let length, seconds >= length {
                context.logger.notice("left out item \(index) ('\(title)'): its time \(Durations.format(seconds)) is not within the video (\(Durations.format(length)))")
                continue
            }
            moments.append(Moment(second: Int(seconds), title: title, shortTitle: shortTitle))
        }
        let maxBytes = try arguments.optionalInt("max_bytes")
        if let maxBytes, maxBytes < 0 { throw StepError.argument("max_bytes", "must be 0 or more, not \(maxBytes)") }

        var gap = Int(minimum.rounded(.up))
        var shortTitles = false
        var chapters = Self.chapters(of: moments, opening: opening, minimum: gap, length: length, shortTitles: shortTitles)
        var text = Self.text(of: chapters)
        let fullBytes = text.utf8.count
        // Shorter titles first, then fewer chapters: each round shortens the text or spaces the
        // chapters wider, and once they are spaced wider than the video there are too few for any text.
        var tooClose: Int?  // the widest spacing tried that did not fit
        while let maxBytes, text.utf8.count > maxBytes {
            if !shortTitles, shortTitlePath != nil {
                shortTitles = true
            } else {
                tooClose = gap
                gap = max(gap + 1, gap * 3 / 2)
            }
            chapters = Self.chapters(of: moments, opening: opening, minimum: gap, length: length, shortTitles: shortTitles)
            text = Self.text(of: chapters)
        }
        // Growing by half overshoots (4 chapters where 6 fit): the closest spacing between the
        // last that did not fit and the one that did, found by halving, gives back what fits.
        if let maxBytes, var low = tooClose {
            while gap - low > 1 {
                let middle = (low + gap) / 2
                let tried = Self.chapters(of: moments, opening: opening, minimum: middle, length: length, shortTitles: shortTitles)
                let triedText = Self.text(of: tried)
                // Empty text (too few chapters for YouTube) fits any budget, but is no better.
                if triedText.utf8.count <= maxBytes, !triedText.isEmpty || text.isEmpty {
                    (gap, chapters, text) = (middle, tried, triedText)
                } else {
                    low = middle
                }
            }
        }
        if text.utf8.count < fullBytes, let maxBytes {
            let how = (shortTitles ? " named by their short titles" : "") + (gap > Int(minimum.rounded(.up)) ? ", at least \(gap) s apart" : "")
            context.logger.notice("the chapters took \(fullBytes) bytes, more than max_bytes \(maxBytes): \(chapters.count) chapters\(how), \(text.utf8.count) bytes")
        }
        if chapters.count < Self.youtubeFewest {
            context.logger.notice("\(chapters.count) chapter\(chapters.count == 1 ? "" : "s") from \(moments.count) moment\(moments.count == 1 ? "" : "s"): YouTube needs at least \(Self.youtubeFewest), so 'text' is empty")
        }
        let listed: [JSONValue] = chapters.map { chapter in
            .object(["start": .int(chapter.start), "time": .string(Self.timestamp(chapter.start)), "title": .string(Self.title(chapter.titles))])
        }
        return StepResult(outputs: ["chapters": .array(listed), "text": .string(text), "count": .int(chapters.count)])
    }

    /// The chapters YouTube accepts for `moments`: sorted, the first at 0, each at least `minimum`
    /// seconds after the one before and (given `length`) before the end.
    static func chapters(of moments: [Moment], opening: String, minimum: Int, length: Double?, shortTitles: Bool = false) -> [Chapter] {
        // Stable: moments at one second keep their order.
        let sorted = moments.enumerated().sorted { ($0.element.second, $0.offset) < ($1.element.second, $1.offset) }.map(\.element)
        // Each chapter's moments (none for an opening chapter) first; titles once they are final.
        var groups: [(start: Int, moments: [Moment])] = []
        for moment in sorted {
            if groups.isEmpty, moment.second >= minimum { groups.append((0, [])) }
            if let last = groups.last, moment.second - last.start < minimum {
                groups[groups.count - 1].moments.append(moment)
            } else {
                groups.append((groups.isEmpty ? 0 : moment.second, [moment]))
            }
        }
        // The last chapter runs to the end of the video: too short, it joins the one before.
        if let length {
            while groups.count > 1, length - Double(groups[groups.count - 1].start) < Double(minimum) {
                let last = groups.removeLast()
                groups[groups.count - 1].moments += last.moments
            }
        }
        return groups.map { group in
            if group.moments.isEmpty { return Chapter(start: group.start, titles: [opening]) }
            if group.moments.count == 1 { return Chapter(start: group.start, titles: [shortTitles ? group.moments[0].shortTitle : group.moments[0].title]) }
            // Repeated expressions are named once.
            var seen: Set<String> = []
            return Chapter(start: group.start, titles: group.moments.map(\.shortTitle).filter { seen.insert($0).inserted })
        }
    }

    /// One line per chapter, or nothing when YouTube would not take them as chapters.
    static func text(of chapters: [Chapter]) -> String {
        guard chapters.count >= youtubeFewest else { return "" }
        return chapters.map { "\(timestamp($0.start)) \(title($0.titles))" }.joined(separator: "\n")
    }

    /// The text at `path` of a moment, on one line (a line break would end the chapter's line in
    /// the description), with the full-width forms of `<` and `>`, which YouTube refuses there.
    static func text(at path: FieldPath, of item: JSONValue, index: Int) throws(StepError) -> String {
        guard let text = path.value(in: item)?.stringValue.map(cleaned), !text.isEmpty else {
            throw StepError.argument("items", "item \(index) has no title (text) at '\(path)'")
        }
        return text
    }

    /// A title on one line, trimmed, with the full-width forms of `<` and `>`.
    static func cleaned(_ title: String) -> String {
        title.trimmingCharacters(in: .whitespacesAndNewlines).split(whereSeparator: \.isNewline).joined(separator: " ")
            .replacingOccurrences(of: "<", with: "＜").replacingOccurrences(of: ">", with: "＞")
    }

    /// A chapter's title: its moments' titles joined while they fit in YouTube's 70 characters,
    /// then how many more there were.
    static func title(_ titles: [String]) -> String {
        var shown = titles[0]
        var count = 1
        for title in titles.dropFirst() {
            let longer = shown + " · " + title
            if longer.count > titleLength { break }
            shown = longer
            count += 1
        }
        return count < titles.count ? "\(shown) +\(titles.count - count)" : shown
    }

    /// `seconds` as YouTube writes a chapter's start (m:ss, h:mm:ss), as the `timestamp` function does.
    static func timestamp(_ seconds: Int) -> String { ExpressionFunctions.timestamp(seconds: seconds) }

    /// Seconds, from a number or a duration; nil when not given or null.
    static func videoLength(_ arguments: StepArguments) throws(StepError) -> Double? {
        guard let value = arguments["video_length"], value != .null else { return nil }
        if let number = value.numberValue {
            guard number.isFinite else { throw StepError.argument("video_length", "must be a number of seconds, not \(number)") }
            return number
        }
        guard let seconds = Durations.seconds(value) else {
            throw StepError.argument("video_length", "must be seconds or a duration such as \"1h05m\", not \(value.describedKind)\(value.stringValue.map { " '\($0)'" } ?? "")")
        }
        return seconds
    }
}
