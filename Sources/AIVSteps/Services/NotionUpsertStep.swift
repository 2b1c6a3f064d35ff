import AIVCore
import Foundation

/// `notion.upsert`: writes pages into a Notion database, one per key, never twice.
///
/// ```yaml
/// - id: publish
///   uses: notion.upsert
///   for_each: ${{ steps.vocabulary.outputs.items }}
///   with:
///     key: Japanese
///     properties: {Japanese: "${{ item.japanese }}", English: "${{ item.english }}"}
/// ```
public struct NotionUpsertStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "notion.upsert",
        summary: "Create or update pages in a Notion database by a key property, never creating a twin.",
        discussion: """
            Values are plain (text, numbers, lists, true/false, dates as YYYY-MM-DD) and become property values by the \
            database property's type: title, rich_text, select, multi_select, number, url, date, checkbox, email, \
            phone_number. The database's schema is read once per run; a property the database lacks or a value that \
            cannot take its type fails the step before any page is written. Text over 2,000 characters is split into \
            several text objects; more than 100 options, an option name over 100 characters, a URL over 2,000 characters \
            (counted in UTF-16 units, as Notion counts), or a page over Notion's 500 KB request limit is an error. \
            The key property finds the page: first in aiv's store (key → page id, with a digest of what was written, \
            so an unchanged page is not written again), else by a database query with an equals filter. Found: it is \
            updated (or left alone with on_existing: skip); not found: it is created. A create that fails with a 5xx or \
            a lost connection is looked for before it is tried again, so a retry never makes a twin.
            """,
        arguments: [
            Property("key", .string, required: true, "The property that identifies a page (title, rich_text, select, number, url)."),
            Property("properties", .map(.any), "One page: property name → value."),
            Property("pages", .array(.map(.any)), "Several pages: a list of property name → value mappings."),
            Property("database", .string, "The database id (else NOTION_DATABASE_ID, else services.notion.database_id)."),
            Property("data_source", .string, "With Notion-Version 2025-09-03: the data source to write to, when the database has several."),
            Property("on_existing", .oneOfStrings(["update", "skip"]), default: "update", "What to do with a page that already exists."),
        ],
        outputs: .object([
            Property("pages", .array(.object([
                Property("key", .string, required: true, "The key's value, as text."),
                Property("id", .string, required: true, "The page id."),
                Property("url", .anyOf([.string, .null]), required: true, "The page's URL in Notion."),
                Property("action", .oneOfStrings(["created", "updated", "unchanged", "skipped"]), required: true, "What was done."),
            ])), required: true, "Each page written, in order."),
            Property("id", .anyOf([.string, .null]), required: true, "The first page's id."),
            Property("url", .anyOf([.string, .null]), required: true, "The first page's URL."),
            Property("created", .integer, required: true, "Pages created."),
            Property("updated", .integer, required: true, "Pages updated."),
            Property("unchanged", .integer, required: true, "Pages already as written (not sent again)."),
            Property("skipped", .integer, required: true, "Existing pages left alone (on_existing: skip)."),
        ]),
        effect: .sideEffecting,
        service: "notion",
        example: """
            - id: publish
              uses: notion.upsert
              for_each: ${{ steps.vocabulary.outputs.items }}
              with:
                key: Japanese
                properties:
                  Japanese: ${{ item.japanese }}
                  English: ${{ item.english }}
                  Difficulty: ${{ item.difficulty }}
                  Tags: ${{ item.tags }}
            """,
        checkLiterals: checkLiterals)

    /// The key must be a property the pages set: a misspelt one is known before any page is
    /// looked for (the database, read when running, says which properties exist at all).
    @Sendable static func checkLiterals(_ arguments: WrittenArguments) -> [LiteralProblem] {
        guard let key = arguments["key"]?.stringValue else { return [] }
        var problems: [LiteralProblem] = []
        if case .object(let properties)? = arguments.asWritten["properties"], properties[key] == nil {
            problems.append(LiteralProblem("key", "names '\(key)', which 'properties' does not set\(Suggestions.didYouMean(key, in: properties.keys.sorted())); the key must be one of the page's properties"))
        }
        if case .array(let pages)? = arguments.asWritten["pages"] {
            for (index, page) in pages.enumerated() {
                guard case .object(let properties) = page, properties[key] == nil else { continue }
                problems.append(LiteralProblem("pages", at: [.index(index)], "sets no '\(key)', the key property\(Suggestions.didYouMean(key, in: properties.keys.sorted()))"))
            }
        }
        return problems
    }

    struct Page {
        /// The key as text: what the store keeps and the outputs show.
        var key: String
        /// What the key filter compares (text or a number).
        var keyOperand: JSONValue
        var properties: JSONValue
        var digest: String
    }

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let client = try context.service("notion")
        guard let services = context.services else { throw StepError("this run has no way to reach services") }
        let keyProperty = try arguments.string("key")
        let onExisting = try arguments.optionalString("on_existing") ?? "update"
        let given: [[String: JSONValue]]
        switch (arguments["properties"], arguments["pages"]) {
        case (.object(let one)?, nil): given = [one]
        case (nil, .array(let many)?): given = try many.enumerated().map { index, page throws(StepError) in
            guard case .object(let members) = page else { throw StepError.argument("pages", "item \(index) must be a mapping of property names to values") }
            return members
        }
        case (nil, nil): throw StepError("give 'properties' (one page) or 'pages' (a list of them)")
        default: throw StepError("give either 'properties' or 'pages', not both")
        }
        let databaseID = try arguments.optionalString("database") ?? context.scope.env["NOTION_DATABASE_ID"].flatMap { $0.isEmpty ? nil : $0 }
            ?? client.settings["database_id"]?.stringValue
        guard let databaseID, !databaseID.isEmpty else {
            throw StepError("no database: give 'database', set NOTION_DATABASE_ID, or set services.notion.database_id")
        }
        let version = client.settings["version"]?.stringValue ?? NotionDatabase.defaultVersion
        guard NotionDatabase.versions.contains(version) else {
            throw StepError("services.notion.version must be one of \(NotionDatabase.versions.joined(separator: ", ")), not '\(version)'")
        }

        let database = try await NotionDatabase.load(id: databaseID, dataSource: try arguments.optionalString("data_source"),
                                                     client: client, memo: services.memo)
        let pages = try Self.prepare(given, key: keyProperty, database: database)
        let writer = NotionWriter(client: client, database: database, records: services.records, mode: client.mode,
                                  onExisting: onExisting, keyProperty: keyProperty, keyType: database.properties[keyProperty]!,
                                  logger: context.logger)
        var results: [JSONValue] = []
        var counts: [String: Int] = ["created": 0, "updated": 0, "unchanged": 0, "skipped": 0]
        for page in pages {
            try Task.checkCancellation()
            // Items of a for_each that share a key take turns: the second finds the first's page.
            let (id, url, action): (String, String?, String)
            do {
                (id, url, action) = try await services.keyLocks.withLock("\(writer.namespace)\u{0}\(page.key)") {
                    try await writer.upsert(page)
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw PageWriteFailure(key: page.key, underlying: error)
            }
            counts[action, default: 0] += 1
            results.append(["key": .string(page.key), "id": .string(id), "url": url.map(JSONValue.string) ?? .null, "action": .string(action)])
        }
        return StepResult(outputs: [
            "pages": .array(results),
            "id": results.first?["id"] ?? .null,
            "url": results.first?["url"] ?? .null,
            "created": .int(counts["created"]!), "updated": .int(counts["updated"]!),
            "unchanged": .int(counts["unchanged"]!), "skipped": .int(counts["skipped"]!),
        ])
    }

    /// Every page checked and converted before any is written: a bad name or value stops the step
    /// with nothing written.
    static func prepare(_ given: [[String: JSONValue]], key: String, database: NotionDatabase) throws(StepError) -> [Page] {
        let names = database.properties.keys.sorted()
        guard let keyType = database.properties[key] else {
            throw StepError("'key' names '\(key)', which database \(database.id) does not have\(Suggestions.didYouMean(key, in: names)); its properties are \(names.joined(separator: ", "))")
        }
        guard NotionProperties.keyTypes.contains(keyType) else {
            throw StepError("'key' names '\(key)', a \(keyType) property; a key must be one of \(NotionProperties.keyTypes.joined(separator: ", "))")
        }
        var problems: [String] = []
        var pages: [Page] = []
        for (index, values) in given.enumerated() {
            let label = given.count > 1 ? "page \(index): " : ""
            var converted: [String: JSONValue] = [:]
            for name in values.keys.sorted() {
                guard let type = database.properties[name] else {
                    problems.append("\(label)property '\(name)' is not in database \(database.id)\(Suggestions.didYouMean(name, in: names))")
                    continue
                }
                do {
                    converted[name] = .object([type: try NotionProperties.convert(values[name]!, type: type)])
                } catch {
                    problems.append("\(label)property '\(name)' \(error.message)")
                }
            }
            let operand = converted[key]?[keyType].flatMap { NotionProperties.keyOperand($0, type: keyType) }
            guard let operand else {
                if converted[key] != nil || values[key] == nil { problems.append("\(label)the key property '\(key)' has no value") }
                continue
            }
            let keyText = operand.stringValue ?? operand.interpolationText
            if let earlier = pages.firstIndex(where: { $0.key == keyText }) {
                problems.append("\(label)has the key '\(keyText)', as page \(earlier) does: one page per key")
            }
            let properties = JSONValue.object(converted)
            let bytes = properties.canonicalBytes
            if bytes.count > NotionProperties.requestLimit {
                let largest = converted.max { $0.value.canonicalBytes.count < $1.value.canonicalBytes.count }?.key ?? key
                problems.append("\(label)is \(bytes.count / 1000) KB as JSON; Notion takes at most \(NotionProperties.requestLimit / 1000) KB in one request (the largest property is '\(largest)')")
            }
            pages.append(Page(key: keyText, keyOperand: operand, properties: properties, digest: Digest.sha256(bytes)))
        }
        if !problems.isEmpty {
            throw StepError((problems.count == 1 ? problems[0] : "\(problems.count) problems, nothing written:\n  " + problems.joined(separator: "\n  ")))
        }
        return pages
    }
}

/// A failure to write one page, said with the page's key: "item 7" of a for_each over the stock
/// does not tell a user which expression Notion refused. Whether retrying may help is the
/// underlying failure's.
struct PageWriteFailure: Error, TransienceReporting, CustomStringConvertible {
    let key: String
    let underlying: any Error

    var isTransient: Bool { (underlying as? any TransienceReporting)?.isTransient ?? true }
    var retriesAsAStep: Bool { (underlying as? any TransienceReporting)?.retriesAsAStep ?? true }
    var description: String {
        let shown = key.count > 60 ? String(key.prefix(60)) + "…" : key
        return "page '\(shown)': \(underlying)"
    }
}
