import AIVCore
import Foundation

/// A Notion database as a step writes to it: its properties' types, where to query and what
/// parent new pages get. Under Notion-Version 2025-09-03 a database holds data sources, and pages
/// are written to the data source; under 2022-06-28, to the database.
struct NotionDatabase: Sendable {
    var id: String
    var version: String
    /// Property name → type (title, rich_text, …).
    var properties: [String: String]
    var queryPath: String
    var parent: JSONValue

    static let versions = ["2022-06-28", "2025-09-03"]
    static let defaultVersion = "2022-06-28"

    /// Reads the database's schema once per run (every step and item of the run shares it).
    static func load(id: String, dataSource: String?, client: ServiceClient, memo: RunMemo) async throws -> NotionDatabase {
        let version = client.settings["version"]?.stringValue ?? defaultVersion
        let cached = try await memo.value("notion-schema \(version) \(id) \(dataSource ?? "")") {
            try await fetch(id: id, dataSource: dataSource, version: version, client: client).json
        }
        return NotionDatabase(id: id, version: version,
                              properties: (cached["properties"]?.objectValue ?? [:]).compactMapValues(\.stringValue),
                              queryPath: cached["query"]?.stringValue ?? "", parent: cached["parent"] ?? .null)
    }

    var json: JSONValue {
        ["properties": .object(properties.mapValues { .string($0) }), "query": .string(queryPath), "parent": parent]
    }

    static func headers(_ version: String) -> [String: String] {
        ["Notion-Version": version, "Content-Type": "application/json"]
    }

    static func fetch(id: String, dataSource: String?, version: String, client: ServiceClient) async throws -> NotionDatabase {
        let database = try await client.send(HTTPRequest(method: "GET", url: client.url("/v1/databases/\(id)"), headers: headers(version)),
                                             expectsJSON: true).json ?? .null
        if version == "2022-06-28" {
            return NotionDatabase(id: id, version: version, properties: try types(database["properties"], of: "database \(id)"),
                                  queryPath: "/v1/databases/\(id)/query", parent: ["database_id": .string(id)])
        }
        guard let sources = database["data_sources"]?.arrayValue else {
            throw StepError("Notion's answer for database \(id) has no 'data_sources' list (is services.notion.version, \(version), the version the server speaks?)")
        }
        let chosen: String
        if let dataSource {
            chosen = dataSource
        } else if sources.count == 1, let only = sources[0]["id"]?.stringValue {
            chosen = only
        } else {
            let names = sources.compactMap { source in source["id"]?.stringValue.map { "\($0) (\(source["name"]?.stringValue ?? "unnamed"))" } }
            throw StepError("database \(id) has \(sources.count) data sources; name one with 'data_source': \(names.joined(separator: ", "))")
        }
        let source = try await client.send(HTTPRequest(method: "GET", url: client.url("/v1/data_sources/\(chosen)"), headers: headers(version)),
                                           expectsJSON: true).json ?? .null
        return NotionDatabase(id: id, version: version, properties: try types(source["properties"], of: "data source \(chosen)"),
                              queryPath: "/v1/data_sources/\(chosen)/query", parent: ["type": "data_source_id", "data_source_id": .string(chosen)])
    }

    /// Property name → type; an answer without properties is not a schema (read as none, every
    /// property of every page would be "not in the database").
    static func types(_ properties: JSONValue?, of what: String) throws(StepError) -> [String: String] {
        guard let members = properties?.objectValue else {
            throw StepError("Notion's answer for \(what) has no 'properties' mapping, so its schema is unknown")
        }
        return members.compactMapValues { $0["type"]?.stringValue }
    }

    /// Pages whose key property equals `value`, oldest first, following `has_more`/`next_cursor`.
    func find(key: String, type: String, operand: JSONValue, client: ServiceClient) async throws -> [JSONValue] {
        var pages: [JSONValue] = []
        var cursor: String?
        var seen = Set<String>()
        repeat {
            var body: [String: JSONValue] = [
                "filter": NotionProperties.keyFilter(property: key, type: type, operand: operand),
                "sorts": [["timestamp": "created_time", "direction": "ascending"]],
                "page_size": 100,
            ]
            if let cursor { body["start_cursor"] = .string(cursor) }
            let answer = try await client.send(HTTPRequest(method: "POST", url: client.url(queryPath), headers: Self.headers(version),
                                                           body: .json(.object(body))), expectsJSON: true).json ?? .null
            // Read as "no page has this key", an answer without results would make a twin.
            guard let results = answer["results"]?.arrayValue else {
                throw StepError("Notion's answer to the query for \(key) = '\(operand.stringValue ?? operand.interpolationText)' has no 'results' list")
            }
            pages += results
            cursor = answer["has_more"]?.isTruthy == true ? answer["next_cursor"]?.stringValue : nil
            // A cursor given twice would loop for ever.
            if let next = cursor, !seen.insert(next).inserted { cursor = nil }
        } while cursor != nil
        return pages.filter { $0["archived"]?.isTruthy != true && $0["in_trash"]?.isTruthy != true }
    }
}
