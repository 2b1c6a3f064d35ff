import AIVCore
import Foundation
import Logging

/// Writes one page by its key: from the store's record, else a query, else a create that is
/// checked for before it is repeated.
struct NotionWriter: Sendable {
    let client: ServiceClient
    let database: NotionDatabase
    let records: any ExternalRecordIndex
    let mode: TransportMode
    let onExisting: String
    let keyProperty: String
    let keyType: String
    let logger: Logger

    /// Where keys live: the database, or its data source under 2025-09-03, and the key property.
    var namespace: String { "notion:\(database.queryPath.replacingOccurrences(of: "-", with: "")):\(keyProperty)" }
    var headers: [String: String] { NotionDatabase.headers(database.version) }

    /// The page's id, URL and what was done: created, updated, unchanged or skipped.
    func upsert(_ page: NotionUpsertStep.Page) async throws -> (String, String?, String) {
        // A recording (and so its replay) always asks Notion, so both send the same requests.
        if mode == .live, let known = try records.record(namespace: namespace, key: page.key) {
            if known.contentHash == page.digest { return (known.id, known.url, "unchanged") }
            if onExisting == "skip" { return (known.id, known.url, "skipped") }
            if let url = try await update(known.id, page) {
                return (known.id, url ?? known.url, "updated")
            }
            // The page is gone (deleted in Notion): forget it and look again.
            try records.remove(namespace: namespace, key: page.key)
        }
        if let existing = try await find(page) {
            let id = existing["id"]?.stringValue ?? ""
            let url = existing["url"]?.stringValue
            if onExisting == "skip" {
                try records.save(ExternalRecord(namespace: namespace, key: page.key, id: id, url: url, contentHash: nil))
                return (id, url, "skipped")
            }
            guard let updated = try await update(id, page) else {
                throw StepError("page \(id) for '\(page.key)' was found by a query and then not found for the update")
            }
            return (id, updated ?? url, "updated")
        }
        return try await create(page)
    }

    func find(_ page: NotionUpsertStep.Page) async throws -> JSONValue? {
        let found = try await database.find(key: keyProperty, type: keyType, operand: page.keyOperand, client: client)
        if found.count > 1 {
            logger.warning("\(found.count) pages have \(keyProperty) '\(page.key)' (\(found.compactMap { $0["id"]?.stringValue }.joined(separator: ", "))); aiv writes to the oldest")
        }
        return found.first
    }

    /// PATCHes the page; nil when it does not exist, else its URL (if the answer gives one).
    func update(_ id: String, _ page: NotionUpsertStep.Page) async throws -> String?? {
        let request = HTTPRequest(method: "PATCH", url: client.url("/v1/pages/\(id)"), headers: headers,
                                  body: .json(["properties": page.properties]))
        do {
            let answer = try await client.send(request).json
            let url = answer?["url"]?.stringValue
            try records.save(ExternalRecord(namespace: namespace, key: page.key, id: id, url: url, contentHash: page.digest))
            return .some(url)
        } catch let error as ServiceError where error.status == 404 || (error.status == 400 && error.message.lowercased().contains("archived")) {
            // Deleted, or in the trash: Notion will not edit it; the caller looks again or creates.
            return .none
        }
    }

    /// Creates the page. A create whose answer was lost may have happened: before trying again,
    /// a query looks for it, so there is never a twin.
    func create(_ page: NotionUpsertStep.Page) async throws -> (String, String?, String) {
        let request = HTTPRequest(method: "POST", url: client.url("/v1/pages"), headers: headers,
                                  body: .json(["parent": database.parent, "properties": page.properties]))
        var attempt = 0
        while true {
            attempt += 1
            do {
                let answer = try await client.send(request, retriesFailures: false).json ?? .null
                guard let id = answer["id"]?.stringValue else { throw StepError("Notion's answer to a page create has no id") }
                let url = answer["url"]?.stringValue
                try records.save(ExternalRecord(namespace: namespace, key: page.key, id: id, url: url, contentHash: page.digest))
                return (id, url, "created")
            } catch let error as ServiceError where error.isTransient {
                logger.notice("creating the page for '\(page.key)' may or may not have happened (\(error.message)); looking for it before trying again")
                // Notion may still be finishing the create, and a new page can take a moment to
                // show in queries: look a few times, further apart each time, before creating again.
                for look in 1...3 {
                    if let existing = try await find(page), let id = existing["id"]?.stringValue {
                        let url = existing["url"]?.stringValue
                        try records.save(ExternalRecord(namespace: namespace, key: page.key, id: id, url: url, contentHash: page.digest))
                        return (id, url, "created")
                    }
                    if look < 3 { try await client.wait(client.retry.delay(after: look, random: client.random())) }
                }
                guard attempt < client.retry.attempts else { throw error.withMessage(error.message + " (after \(attempt) attempts)") }
            }
        }
    }
}
