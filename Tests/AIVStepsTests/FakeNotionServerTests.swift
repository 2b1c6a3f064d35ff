import AIVCore
import AIVTestSupport
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Pins what the fake Notion server does on the wire, through URLSession directly: the Notion
/// step tests rely on these behaviours.
@Suite struct FakeNotionServerTests {
    // MARK: Helpers

    static let legacy = "2022-06-28"
    static let modern = "2025-09-03"

    struct Answer {
        let status: Int
        let headers: [String: String] // lower-cased names
        let body: Data
        var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: body) }
        var code: String? { json?["code"]?.stringValue }
        var message: String? { json?["message"]?.stringValue }
    }

    /// One client per test: a fresh URLSession (its own connection pool). Its calls run off the
    /// concurrency pool: on Linux they wait for URLSession's queue with `DispatchQueue.sync`.
    final class Client: @unchecked Sendable {
        let session: URLSession
        init() {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
            configuration.urlCache = nil
            session = URLSession(configuration: configuration)
        }
        deinit { session.invalidateAndCancel() }

        /// A call to the fake: the token and version headers unless told otherwise (nil leaves
        /// the header out).
        func call(_ fake: FakeNotion, _ method: String, _ path: String, version: String? = FakeNotionServerTests.legacy,
                  token: String? = nil, useToken: Bool = true, body: JSONValue? = nil, rawBody: Data? = nil,
                  timeout: TimeInterval = 30) async throws -> Answer {
            var request = URLRequest(url: URL(string: fake.baseURL + path)!, timeoutInterval: timeout)
            request.httpMethod = method
            if useToken { request.setValue("Bearer \(token ?? fake.token)", forHTTPHeaderField: "Authorization") }
            if let version { request.setValue(version, forHTTPHeaderField: "Notion-Version") }
            let (data, response): (Data, URLResponse)
            if let payload = rawBody ?? body.map({ Data($0.canonicalJSON.utf8) }) {
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                (data, response) = try await offThePool { try await session.upload(for: request, from: payload) }
            } else {
                (data, response) = try await offThePool { try await session.data(for: request) }
            }
            let http = try #require(response as? HTTPURLResponse)
            var lowered: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { lowered[name.lowercased()] = value }
            }
            return Answer(status: http.statusCode, headers: lowered, body: data)
        }

        func createPage(_ fake: FakeNotion, parent: JSONValue, properties: JSONValue, version: String = FakeNotionServerTests.legacy) async throws -> Answer {
            try await call(fake, "POST", "/v1/pages", version: version, body: ["parent": parent, "properties": properties])
        }

        func query(_ fake: FakeNotion, database: String, body: JSONValue = [:]) async throws -> Answer {
            try await call(fake, "POST", "/v1/databases/\(database)/query", body: body)
        }
    }

    /// A fake without the rate limit (tests that are not about it send several requests at once).
    static func makeFake() throws -> FakeNotion {
        let fake = try FakeNotion()
        fake.requestsPerSecond = nil
        return fake
    }

    static func addTasks(_ fake: FakeNotion) -> String {
        fake.addDatabase(title: "Tasks", properties: [
            "Name": "title", "Notes": "rich_text", "Status": "select", "Tags": "multi_select",
            "Score": "number", "Link": "url", "Due": "date", "Done": "checkbox",
        ])
    }

    static func title(_ text: String) -> JSONValue { ["title": [["type": "text", "text": ["content": .string(text)]]]] }
    static func richText(_ text: String) -> JSONValue { ["rich_text": [["text": ["content": .string(text)]]]] }

    static func titles(_ answer: Answer) -> [String] {
        (answer.json?["results"]?.arrayValue ?? []).compactMap { $0["properties"]?["Name"]?["title"]?.arrayValue?.first?["plain_text"]?.stringValue }
    }

    static func elapsed(since start: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    // MARK: Token and version

    @Test func aMissingOrWrongTokenIs401Unauthorized() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        for answer in [try await client.call(fake, "GET", "/v1/databases/\(database)", useToken: false),
                       try await client.call(fake, "GET", "/v1/databases/\(database)", token: "secret_wrong")] {
            #expect(answer.status == 401)
            #expect(answer.json?["object"] == "error")
            #expect(answer.json?["status"] == 401)
            #expect(answer.code == "unauthorized")
            #expect(answer.message == "API token is invalid.")
            #expect(answer.json?["request_id"]?.stringValue?.isEmpty == false)
        }
    }

    @Test func aMissingVersionIs400MissingVersionAndAnUnknownOneIs400ValidationError() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        let missing = try await client.call(fake, "GET", "/v1/databases/\(database)", version: nil)
        #expect(missing.status == 400)
        #expect(missing.code == "missing_version")
        #expect(missing.message?.hasPrefix("Notion-Version header failed validation") == true)
        let unknown = try await client.call(fake, "GET", "/v1/databases/\(database)", version: "2021-05-13")
        #expect(unknown.status == 400)
        #expect(unknown.code == "validation_error")
        #expect(unknown.message?.contains("2021-05-13") == true)
    }

    // MARK: Databases and data sources

    @Test func underVersion2022ADatabaseCarriesItsProperties() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        // Dashes or not, the same database.
        for id in [database, database.replacingOccurrences(of: "-", with: ""), database.uppercased()] {
            let answer = try await client.call(fake, "GET", "/v1/databases/\(id)")
            #expect(answer.status == 200)
            let json = try #require(answer.json)
            #expect(json["object"] == "database")
            #expect(json["id"] == .string(database))
            #expect(json["title"]?.arrayValue?.first?["plain_text"] == "Tasks")
            #expect(json["data_sources"] == nil)
            let properties = try #require(json["properties"]?.objectValue)
            #expect(Set(properties.keys) == ["Name", "Notes", "Status", "Tags", "Score", "Link", "Due", "Done"])
            #expect(properties["Name"]?["id"] == "title")
            #expect(properties["Name"]?["type"] == "title")
            #expect(properties["Name"]?["name"] == "Name")
            #expect(properties["Status"]?["type"] == "select")
            #expect(properties["Status"]?["select"]?["options"] == [])
            #expect(properties["Score"]?["number"]?["format"] == "number")
        }
    }

    @Test func underVersion2025ADatabaseListsItsDataSourceWhichCarriesTheProperties() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let source = try #require(fake.dataSourceID(of: database))
        #expect(source != database)
        let client = Client()

        let answer = try await client.call(fake, "GET", "/v1/databases/\(database)", version: Self.modern)
        #expect(answer.status == 200)
        #expect(answer.json?["object"] == "database")
        #expect(answer.json?["properties"] == nil)
        #expect(answer.json?["data_sources"] == [["id": .string(source), "name": "Tasks"]])

        let dataSource = try await client.call(fake, "GET", "/v1/data_sources/\(source)", version: Self.modern)
        #expect(dataSource.status == 200)
        #expect(dataSource.json?["object"] == "data_source")
        #expect(dataSource.json?["id"] == .string(source))
        #expect(dataSource.json?["parent"] == ["type": "database_id", "database_id": .string(database)])
        #expect(dataSource.json?["properties"]?["Name"]?["type"] == "title")
        #expect(dataSource.json?["properties"]?["Done"]?["type"] == "checkbox")

        // Each route belongs to its version.
        let oldDataSource = try await client.call(fake, "GET", "/v1/data_sources/\(source)", version: Self.legacy)
        #expect(oldDataSource.status == 400)
        #expect(oldDataSource.code == "invalid_request_url")
        let newDatabaseQuery = try await client.call(fake, "POST", "/v1/databases/\(database)/query", version: Self.modern, body: [:])
        #expect(newDatabaseQuery.status == 400)
        #expect(newDatabaseQuery.code == "invalid_request_url")
    }

    @Test func anUnknownDatabaseIs404AndABadIDIs400() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let client = Client()
        let unknown = try await client.call(fake, "GET", "/v1/databases/0123456789abcdef0123456789abcdef")
        #expect(unknown.status == 404)
        #expect(unknown.code == "object_not_found")
        #expect(unknown.message?.hasPrefix("Could not find database with ID: 01234567-89ab-cdef-0123-456789abcdef.") == true)
        let bad = try await client.call(fake, "GET", "/v1/databases/not-an-id")
        #expect(bad.status == 400)
        #expect(bad.code == "validation_error")
        let route = try await client.call(fake, "GET", "/v1/nowhere")
        #expect(route.status == 400)
        #expect(route.code == "invalid_request_url")
    }

    // MARK: Pages and queries

    @Test func aCreatedPageIsFoundByQueryingItsTitle() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        let created = try await client.createPage(fake, parent: ["database_id": .string(database)], properties: [
            "Name": Self.title("Write the report"),
            "Notes": Self.richText("Due Friday"),
            "Status": ["select": ["name": "Doing"]],
            "Tags": ["multi_select": [["name": "work"], ["name": "urgent"]]],
            "Score": ["number": 7],
            "Link": ["url": "https://example.com/report"],
            "Due": ["date": ["start": "2025-10-03"]],
            "Done": ["checkbox": false],
        ])
        #expect(created.status == 200)
        let page = try #require(created.json)
        let id = try #require(page["id"]?.stringValue)
        #expect(page["object"] == "page")
        #expect(page["url"] == .string("https://www.notion.so/\(id.replacingOccurrences(of: "-", with: ""))"))
        #expect(page["parent"] == ["type": "database_id", "database_id": .string(database)])
        #expect(page["archived"] == false)
        #expect(page["in_trash"] == false)
        #expect(page["created_time"]?.stringValue?.hasSuffix(":00.000Z") == true)
        let name = try #require(page["properties"]?["Name"])
        #expect(name["id"] == "title")
        #expect(name["type"] == "title")
        #expect(name["title"]?.arrayValue?.first?["plain_text"] == "Write the report")
        #expect(name["title"]?.arrayValue?.first?["annotations"]?["bold"] == false)
        let status = try #require(page["properties"]?["Status"]?["select"])
        #expect(status["name"] == "Doing")
        #expect(status["id"]?.stringValue?.isEmpty == false)
        #expect(status["color"]?.stringValue?.isEmpty == false)
        #expect(page["properties"]?["Due"]?["date"] == ["start": "2025-10-03", "end": nil, "time_zone": nil])

        _ = try await client.createPage(fake, parent: ["database_id": .string(database)], properties: ["Name": Self.title("Something else")])
        let found = try await client.query(fake, database: database, body: ["filter": ["property": "Name", "title": ["equals": "Write the report"]]])
        #expect(found.status == 200)
        #expect(found.json?["object"] == "list")
        #expect(found.json?["has_more"] == false)
        #expect(found.json?["next_cursor"] == .null)
        #expect(found.json?["results"]?.arrayValue?.map { $0["id"] } == [.string(id)])

        // The new option joined the schema; the hooks see both pages.
        let schema = try await client.call(fake, "GET", "/v1/databases/\(database)")
        #expect(schema.json?["properties"]?["Status"]?["select"]?["options"]?.arrayValue?.map { $0["name"] } == ["Doing"])
        #expect(fake.creates == 2)
        #expect(fake.queries == 1)
        #expect(fake.pages(in: database).count == 2)
        let stored = try #require(fake.page(id: id))
        #expect(fake.plainText(of: stored, property: "Name") == "Write the report")
        #expect(fake.plainText(of: stored, property: "Tags") == "work, urgent")
        #expect(fake.plainText(of: stored, property: "Score") == "7")
        #expect(fake.plainText(of: stored, property: "Done") == "false")
    }

    @Test func underVersion2025PagesGoToTheDataSourceAndAreQueriedThere() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let source = try #require(fake.dataSourceID(of: database))
        let client = Client()
        let parents: [JSONValue] = [
            ["type": "data_source_id", "data_source_id": .string(source)],
            ["data_source_id": .string(source.replacingOccurrences(of: "-", with: ""))],
            ["database_id": .string(database)], // accepted while the database has one data source
        ]
        for (index, parent) in parents.enumerated() {
            let answer = try await client.createPage(fake, parent: parent, properties: [
                "Name": Self.title("Item \(index)"), "Score": ["number": .int(index)], "Done": ["checkbox": .bool(index != 1)],
            ], version: Self.modern)
            #expect(answer.status == 200)
            #expect(answer.json?["parent"] == ["type": "data_source_id", "data_source_id": .string(source), "database_id": .string(database)])
        }
        let answer = try await client.call(fake, "POST", "/v1/data_sources/\(source)/query", version: Self.modern, body: [
            "filter": ["and": [["property": "Done", "checkbox": ["equals": true]], ["property": "Score", "number": ["greater_than": 0]]]],
        ])
        #expect(answer.status == 200)
        #expect(Self.titles(answer) == ["Item 2"])
        // A 2022 client is told data_source_id is not its parent.
        let old = try await client.createPage(fake, parent: ["data_source_id": .string(source)], properties: ["Name": Self.title("x")])
        #expect(old.status == 400)
        #expect(old.code == "validation_error")
    }

    @Test func paginationWithPageSize2Over5PagesFollowsNextCursor() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        for name in ["A", "B", "C", "D", "E"] {
            try fake.addPage(in: database, properties: ["Name": Self.title(name)])
        }
        let client = Client()
        var seen: [[String]] = []
        var hasMore: [Bool] = []
        var cursor: String?
        repeat {
            var body: [String: JSONValue] = ["page_size": 2]
            if let cursor { body["start_cursor"] = .string(cursor) }
            let answer = try await client.query(fake, database: database, body: .object(body))
            #expect(answer.status == 200)
            seen.append(Self.titles(answer))
            let more = answer.json?["has_more"] == true
            hasMore.append(more)
            cursor = answer.json?["next_cursor"]?.stringValue
            #expect((cursor != nil) == more)
        } while cursor != nil && seen.count < 10
        #expect(seen == [["A", "B"], ["C", "D"], ["E"]])
        #expect(hasMore == [true, true, false])

        let sorted = try await client.query(fake, database: database, body: ["sorts": [["property": "Name", "direction": "descending"]], "page_size": 3])
        #expect(Self.titles(sorted) == ["E", "D", "C"])
        let bogus = try await client.query(fake, database: database, body: ["start_cursor": "not-a-cursor"])
        #expect(bogus.status == 400)
    }

    @Test func aPageSizeAbove100Is400() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let answer = try await Client().query(fake, database: database, body: ["page_size": 101])
        #expect(answer.status == 400)
        #expect(answer.code == "validation_error")
        #expect(answer.message == "body failed validation: body.page_size should be ≤ `100`, instead was `101`.")
        #expect(fake.queries == 0)
    }

    @Test func anUnknownPropertyInAFilterIs400CouldNotFindProperty() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        let answer = try await client.query(fake, database: database, body: ["filter": ["property": "Nope", "rich_text": ["equals": "x"]]])
        #expect(answer.status == 400)
        #expect(answer.code == "validation_error")
        #expect(answer.message == "Could not find property with name or id: Nope.")
        let mismatch = try await client.query(fake, database: database, body: ["filter": ["property": "Status", "number": ["equals": 1]]])
        #expect(mismatch.status == 400)
        #expect(mismatch.code == "validation_error")
    }

    // MARK: Validation

    @Test func anUnknownPropertyInACreateIs400NotAPropertyThatExists() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let answer = try await Client().createPage(fake, parent: ["database_id": .string(database)], properties: [
            "Name": Self.title("x"), "Nope": Self.richText("y"),
        ])
        #expect(answer.status == 400)
        #expect(answer.code == "validation_error")
        #expect(answer.message == "Nope is not a property that exists.")
        #expect(fake.pages.isEmpty)
        #expect(fake.creates == 0)
    }

    @Test func textLongerThan2000CharactersIs400WithNotionsMessage() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        let parent: JSONValue = ["database_id": .string(database)]
        let long = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Notes": Self.richText(String(repeating: "a", count: 2001))])
        #expect(long.status == 400)
        #expect(long.code == "validation_error")
        #expect(long.message == "body failed validation: body.properties.Notes.rich_text[0].text.content.length should be ≤ `2000`, instead was `2001`.")

        let exact = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Notes": Self.richText(String(repeating: "a", count: 2000))])
        #expect(exact.status == 200)

        // Notion counts UTF-16 units: 1001 emoji are 2002.
        let emoji = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title(String(repeating: "😀", count: 1001))])
        #expect(emoji.message == "body failed validation: body.properties.Name.title[0].text.content.length should be ≤ `2000`, instead was `2002`.")

        let many: JSONValue = ["rich_text": .array(Array(repeating: ["text": ["content": "a"]], count: 101))]
        let tooMany = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Notes": many])
        #expect(tooMany.status == 400)
        #expect(tooMany.message == "body failed validation: body.properties.Notes.rich_text.length should be ≤ `100`, instead was `101`.")

        let url = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Link": ["url": .string("https://e.com/" + String(repeating: "a", count: 1990))]])
        #expect(url.status == 400)
        #expect(url.message == "body failed validation: body.properties.Link.url.length should be ≤ `2000`, instead was `2004`.")
        #expect(fake.pages.count == 1)
    }

    @Test func aCommaInASelectNameIs400() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        let parent: JSONValue = ["database_id": .string(database)]
        let select = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Status": ["select": ["name": "Doing, maybe"]]])
        #expect(select.status == 400)
        #expect(select.code == "validation_error")
        #expect(select.message?.contains("commas") == true)
        let multi = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Tags": ["multi_select": [["name": "a,b"]]]])
        #expect(multi.status == 400)
        #expect(fake.pages.isEmpty)
    }

    @Test func aValueOfTheWrongShapeIs400() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        let parent: JSONValue = ["database_id": .string(database)]
        let wrongType = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Status": Self.richText("Doing")])
        #expect(wrongType.message == "Status is expected to be select.")
        let wrongNumber = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Score": ["number": "7"]])
        #expect(wrongNumber.status == 400)
        #expect(wrongNumber.message == #"body failed validation: body.properties.Score.number should be a number or `null`, instead was `"7"`."#)
        let badDate = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Due": ["date": ["start": "next week"]]])
        #expect(badDate.status == 400)
        let badCheckbox = try await client.createPage(fake, parent: parent, properties: ["Name": Self.title("x"), "Done": ["checkbox": "yes"]])
        #expect(badCheckbox.status == 400)
        let noParent = try await client.call(fake, "POST", "/v1/pages", body: ["properties": ["Name": Self.title("x")]])
        #expect(noParent.message == "body failed validation: body.parent should be defined, instead was `undefined`.")
        let notJSON = try await client.call(fake, "POST", "/v1/pages", rawBody: Data("{oops".utf8))
        #expect(notJSON.status == 400)
        #expect(notJSON.code == "invalid_json")
        // Null clears a select or URL; a property may be named by its ID.
        let nulls = try await client.createPage(fake, parent: parent, properties: ["title": Self.title("by id"), "Status": ["select": nil], "Link": ["url": nil]])
        #expect(nulls.status == 200)
        #expect(nulls.json?["properties"]?["Name"]?["title"]?.arrayValue?.first?["plain_text"] == "by id")
        #expect(fake.pages.count == 1)
    }

    @Test func patchUpdatesPropertiesAndAnUnknownPageIs404() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        let created = try await client.createPage(fake, parent: ["database_id": .string(database)], properties: [
            "Name": Self.title("Draft"), "Status": ["select": ["name": "Todo"]], "Score": ["number": 1],
        ])
        let id = try #require(created.json?["id"]?.stringValue)
        let updated = try await client.call(fake, "PATCH", "/v1/pages/\(id.replacingOccurrences(of: "-", with: ""))", body: [
            "properties": ["Status": ["select": ["name": "Done"]], "Score": ["number": 2.5]],
        ])
        #expect(updated.status == 200)
        #expect(updated.json?["properties"]?["Status"]?["select"]?["name"] == "Done")
        #expect(updated.json?["properties"]?["Name"]?["title"]?.arrayValue?.first?["plain_text"] == "Draft", "untouched properties stay")
        let fetched = try await client.call(fake, "GET", "/v1/pages/\(id)")
        #expect(fetched.status == 200)
        #expect(fetched.json?["properties"]?["Score"]?["number"] == 2.5)
        #expect(fake.updates == 1)
        #expect(fake.plainText(of: try #require(fake.page(id: id)), property: "Score") == "2.5")

        let invalid = try await client.call(fake, "PATCH", "/v1/pages/\(id)", body: ["properties": ["Nope": Self.richText("x")]])
        #expect(invalid.status == 400)
        #expect(invalid.message == "Nope is not a property that exists.")
        let unknown = try await client.call(fake, "PATCH", "/v1/pages/\(UUID().uuidString)", body: ["properties": ["Score": ["number": 3]]])
        #expect(unknown.status == 404)
        #expect(unknown.code == "object_not_found")
        #expect(unknown.message?.hasPrefix("Could not find page with ID:") == true)
        #expect(fake.updates == 1)
    }

    @Test func archivedPagesAreLeftOutOfQueriesAndThePagesHook() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let keep = try fake.addPage(in: database, properties: ["Name": Self.title("keep")])
        let gone = try fake.addPage(in: database, properties: ["Name": Self.title("gone")])
        let client = Client()
        let archived = try await client.call(fake, "PATCH", "/v1/pages/\(gone)", body: ["archived": true])
        #expect(archived.status == 200)
        #expect(archived.json?["archived"] == true)
        #expect(archived.json?["in_trash"] == true)
        let answer = try await client.query(fake, database: database)
        #expect(answer.json?["results"]?.arrayValue?.map { $0["id"] } == [.string(keep)])
        #expect(fake.pages.map { $0["id"] } == [.string(keep)])
        #expect(fake.page(id: gone)?["archived"] == true)
        let edit = try await client.call(fake, "PATCH", "/v1/pages/\(gone)", body: ["properties": ["Name": Self.title("again")]])
        #expect(edit.status == 400)
    }

    // MARK: Rate limit

    @Test func tenRequestsAtOnceMeetTheRateLimitWith429AndRetryAfter() async throws {
        let fake = try FakeNotion()
        defer { fake.stop() }
        #expect(fake.requestsPerSecond == 3, "Notion's documented average")
        #expect(fake.rateLimitBurst == 3)
        // A slower rate than the default, so that a loaded machine still sends the ten within the burst.
        fake.requestsPerSecond = 1
        let database = Self.addTasks(fake)
        let client = Client()
        let answers = try await withThrowingTaskGroup(of: Answer.self) { group in
            for _ in 0..<10 {
                group.addTask { try await client.call(fake, "GET", "/v1/databases/\(database)") }
            }
            return try await group.reduce(into: [Answer]()) { $0.append($1) }
        }
        let limited = answers.filter { $0.status == 429 }
        #expect(limited.count >= 1)
        #expect(answers.allSatisfy { $0.status == 200 || $0.status == 429 })
        #expect(answers.filter { $0.status == 200 }.count >= 3)
        #expect(fake.rateLimitedCount == limited.count)
        var retryAfter = 1
        for answer in limited {
            #expect(answer.code == "rate_limited")
            #expect(answer.message == "You have been rate limited. Please try again in a few minutes.")
            let seconds = try #require(answer.headers["retry-after"].flatMap { Int($0) })
            #expect(seconds >= 1)
            retryAfter = max(retryAfter, seconds)
        }
        // Waiting as told is enough.
        try await Task.sleep(for: .seconds(retryAfter))
        let after = try await client.call(fake, "GET", "/v1/databases/\(database)")
        #expect(after.status == 200)
        // nil turns it off.
        fake.requestsPerSecond = nil
        for _ in 0..<6 {
            #expect(try await client.call(fake, "GET", "/v1/databases/\(database)").status == 200)
        }
    }

    // MARK: Faults

    @Test func applyThenFailCreatesThePageAndAnswers500() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        fake.enqueueFault(.applyThenFail(500))
        let read = try await client.call(fake, "GET", "/v1/databases/\(database)")
        #expect(read.status == 200, "reads pass an apply fault by")
        #expect(fake.pendingFaults == [.applyThenFail(500)])
        let invalid = try await client.createPage(fake, parent: ["database_id": .string(database)], properties: ["Nope": Self.title("x")])
        #expect(invalid.status == 400, "a write that fails its checks does not use the fault")
        let answer = try await client.createPage(fake, parent: ["database_id": .string(database)], properties: ["Name": Self.title("Ghost")])
        #expect(answer.status == 500)
        #expect(answer.code == "internal_server_error")
        #expect(answer.json?["object"] == "error")
        #expect(fake.pages.count == 1, "the page exists although the client saw an error")
        #expect(fake.plainText(of: fake.pages[0], property: "Name") == "Ghost")
        #expect(fake.creates == 1)
        #expect(fake.pendingFaults.isEmpty)
        #expect(fake.injectedFaultCount == 1)
        let next = try await client.createPage(fake, parent: ["database_id": .string(database)], properties: ["Name": Self.title("Second")])
        #expect(next.status == 200)
    }

    @Test func aStatusFaultAnswersNotionsErrorWithoutDoingAnything() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        fake.enqueueFault(.status(503))
        fake.enqueueFault(.status(504))
        let first = try await client.createPage(fake, parent: ["database_id": .string(database)], properties: ["Name": Self.title("x")])
        #expect(first.status == 503)
        #expect(first.code == "service_unavailable")
        let second = try await client.call(fake, "GET", "/v1/databases/\(database)")
        #expect(second.status == 504)
        #expect(second.code == "gateway_timeout")
        #expect(fake.pages.isEmpty)
        #expect(try await client.call(fake, "GET", "/v1/databases/\(database)").status == 200)
        fake.enqueueFault(.status(403))
        fake.enqueueFault(.status(409))
        fake.enqueueFault(.status(429))
        let forbidden = try await client.call(fake, "GET", "/v1/databases/\(database)")
        #expect(forbidden.status == 403)
        #expect(forbidden.code == "restricted_resource")
        #expect(try await client.call(fake, "GET", "/v1/databases/\(database)").code == "conflict_error")
        let limited = try await client.call(fake, "GET", "/v1/databases/\(database)")
        #expect(limited.code == "rate_limited")
        #expect(limited.headers["retry-after"] == "1")
        #expect(fake.rateLimitedCount == 0, "a fault is not the rate limit")
    }

    @Test func aQueuedDropOnAReusedConnectionMakesURLSessionThrowQuickly() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        #expect(try await client.call(fake, "GET", "/v1/databases/\(database)").status == 200) // a keep-alive connection now exists
        fake.enqueueFault(.drop)
        let start = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            _ = try await client.call(fake, "GET", "/v1/databases/\(database)", timeout: 60)
        }
        #expect(Self.elapsed(since: start) < 30, "libcurl's resend-and-hang would take the whole 60 s timeout")
        #expect(fake.pendingFaults.isEmpty)
        #expect(try await client.call(fake, "GET", "/v1/databases/\(database)").status == 200)
    }

    @Test func applyThenDropCreatesThePageAndURLSessionThrowsQuickly() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let client = Client()
        #expect(try await client.call(fake, "GET", "/v1/databases/\(database)").status == 200)
        fake.enqueueFault(.applyThenDrop)
        let start = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            _ = try await client.call(fake, "POST", "/v1/pages", body: ["parent": ["database_id": .string(database)], "properties": ["Name": Self.title("Ghost")]],
                                      timeout: 60)
        }
        #expect(Self.elapsed(since: start) < 30)
        #expect(fake.pages.count == 1)
        #expect(fake.creates == 1)
    }

    @Test func randomFaultsFollowTheSeedAndNeverHang() async throws {
        func run() async throws -> (outcomes: [String], pages: Int, creates: Int, injected: Int) {
            let fake = try Self.makeFake()
            defer { fake.stop() }
            let database = Self.addTasks(fake)
            fake.seedFaults(42)
            fake.randomFaultRate = 0.2
            let client = Client()
            var outcomes: [String] = []
            for i in 0..<40 {
                let start = ContinuousClock.now
                do {
                    let answer = i % 2 == 0
                        ? try await client.call(fake, "GET", "/v1/databases/\(database)", timeout: 60)
                        : try await client.createPage(fake, parent: ["database_id": .string(database)], properties: ["Name": Self.title("Item \(i)")])
                    outcomes.append(String(answer.status))
                } catch {
                    outcomes.append("dropped")
                }
                #expect(Self.elapsed(since: start) < 30)
            }
            return (outcomes, fake.pages.count, fake.creates, fake.injectedFaultCount)
        }
        let first = try await run()
        let second = try await run()
        #expect(first.outcomes == second.outcomes, "the same seed, the same faults")
        #expect(first.pages == second.pages)
        let failed = first.outcomes.filter { $0 != "200" }
        #expect(failed.count >= 2 && failed.count <= 20, "about 20% of 40: \(first.outcomes)")
        #expect(failed.count == first.injected)
        #expect(Set(failed).isSubset(of: ["500", "502", "503", "504", "dropped"]))
        #expect(first.pages == first.creates)
        #expect(first.pages >= first.outcomes.enumerated().filter { $0.offset % 2 == 1 && $0.element == "200" }.count)
    }

    @Test func latencyDelaysEveryAnswer() async throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        fake.latency = 0.3
        let start = ContinuousClock.now
        #expect(try await Client().call(fake, "GET", "/v1/databases/\(database)").status == 200)
        #expect(Self.elapsed(since: start) >= 0.3)
    }

    // MARK: Hooks

    @Test func plainTextReadsEachPropertyType() throws {
        let fake = try Self.makeFake()
        defer { fake.stop() }
        let database = Self.addTasks(fake)
        let id = try fake.addPage(in: database, properties: [
            "Name": ["title": [["text": ["content": "Two "]], ["text": ["content": "parts"]]]],
            "Notes": Self.richText("note"),
            "Status": ["select": ["name": "Doing"]],
            "Tags": ["multi_select": [["name": "a"], ["name": "b"]]],
            "Score": ["number": 3.0],
            "Link": ["url": "https://example.com"],
            "Due": ["date": ["start": "2025-09-03T10:00:00Z"]],
            "Done": ["checkbox": true],
        ])
        let page = try #require(fake.page(id: id))
        #expect(fake.plainText(of: page, property: "Name") == "Two parts")
        #expect(fake.plainText(of: page, property: "title") == "Two parts", "by property ID too")
        #expect(fake.plainText(of: page, property: "Notes") == "note")
        #expect(fake.plainText(of: page, property: "Status") == "Doing")
        #expect(fake.plainText(of: page, property: "Tags") == "a, b")
        #expect(fake.plainText(of: page, property: "Score") == "3")
        #expect(fake.plainText(of: page, property: "Link") == "https://example.com")
        #expect(fake.plainText(of: page, property: "Due") == "2025-09-03T10:00:00Z")
        #expect(fake.plainText(of: page, property: "Done") == "true")
        #expect(fake.plainText(of: page, property: "Missing") == nil)
        #expect(throws: FakeNotionHookError.self) { try fake.addPage(in: database, properties: ["Nope": Self.title("x")]) }
        #expect(fake.creates == 0, "hooks are not counted as requests")
    }
}
