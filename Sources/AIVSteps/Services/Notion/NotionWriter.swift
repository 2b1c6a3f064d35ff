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

    /// Where keys live: the server (when not Notion's own: a record of a page written to a
    /// stand-in must not pass for a page in Notion), the database, or its data source under
    /// 2025-09-03, and the key property.
    var namespace: String {
        let server = client.nonDefaultBaseURL.isEmpty ? "" : "\(client.nonDefaultBaseURL) "
        return "notion:\(server)\(database.queryPath.replacingOccurrences(of: "-", with: "")):\(keyProperty)"
    }
    var headers: [String: String] { NotionDatabase.headers(database.version) }

    /// The page's id, URL and what was done: created, updated, unchanged or skipped.
    func upsert(_ page: NotionUpsertStep.Page) async throws -> (String, String?, String) {
        // A recording (and so its replay) always asks Notion, so both send the same requests.
        var createWasCutOff = false
        if mode == .live, let known = try records.record(namespace: namespace, key: page.key), known.contentHash == Self.createUnderWay {
            createWasCutOff = true
        } else if mode == .live, let known = try records.record(namespace: namespace, key: page.key) {
            if known.contentHash == page.digest { return (known.id, known.url, "unchanged") }
            if onExisting == "skip" { return (known.id, known.url, "skipped") }
            if let url = try await update(known.id, page) {
                return (known.id, url ?? known.url, "updated")
            }
            // The page is gone (deleted in Notion): forget it and look again.
            try records.remove(namespace: namespace, key: page.key)
        }
        // A create cut off by a stop, a step's timeout or a kill may have made the page, which can
        // take a while to show in queries: it is looked for as after a create whose answer was lost.
        if createWasCutOff { logger.notice("an earlier create of the page for '\(page.key)' was cut off; looking for the page before creating it") }
        if let existing = try await (createWasCutOff ? lookForCreatedPage(page) : find(page)) {
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
            let answer = try await client.send(request, expectsJSON: true).json
            let url = answer?["url"]?.stringValue
            try records.save(ExternalRecord(namespace: namespace, key: page.key, id: id, url: url, contentHash: page.digest))
            return .some(url)
        } catch let error as ServiceError where error.status == 404 || (error.status == 400 && error.message.lowercased().contains("archived")) {
            // Deleted, or in the trash: Notion will not edit it; the caller looks again or creates.
            return .none
        }
    }

    /// Creates the page. A create whose answer was lost (a 5xx, a timeout, a dropped connection,
    /// an answer cut short) may have happened, and Notion takes no idempotency key: before it is
    /// sent again, the page is looked for over about 15 s (1 + 2 + 4 + 8 s with the default
    /// backoff), since a new page can take a while to show in queries. Only a page that takes
    /// longer than that to show could still be made twice; a later run then says so (`find`).
    ///
    /// A create cut off from outside (the run stopped, the step timed out, the process killed) is
    /// as uncertain, and the next attempt may be in another run: the store notes each create
    /// before it is sent (`createUnderWay`), and the next upsert of that key looks for the page
    /// first. A create Notion refused leaves no note.
    func create(_ page: NotionUpsertStep.Page) async throws -> (String, String?, String) {
        let request = HTTPRequest(method: "POST", url: client.url("/v1/pages"), headers: headers,
                                  body: .json(["parent": database.parent, "properties": page.properties]))
        let noteCreate = { [records, namespace, mode] () throws in
            if mode == .live {
                try records.save(ExternalRecord(namespace: namespace, key: page.key, id: "", url: nil, contentHash: Self.createUnderWay))
            }
        }
        var attempt = 0
        var mayHaveHappened = false
        while true {
            attempt += 1
            do {
                let answer = try await client.send(request, retriesFailures: false, expectsJSON: true, willSend: noteCreate).json ?? .null
                guard let id = answer["id"]?.stringValue else { throw StepError("Notion's answer to a page create has no id") }
                let url = answer["url"]?.stringValue
                try records.save(ExternalRecord(namespace: namespace, key: page.key, id: id, url: url, contentHash: page.digest))
                return (id, url, "created")
            } catch let error as ServiceError where error.isTransient {
                mayHaveHappened = true
                logger.notice("creating the page for '\(page.key)' may or may not have happened (\(error.message)); looking for it before trying again")
                if let existing = try await lookForCreatedPage(page), let id = existing["id"]?.stringValue {
                    let url = existing["url"]?.stringValue
                    try records.save(ExternalRecord(namespace: namespace, key: page.key, id: id, url: url, contentHash: page.digest))
                    return (id, url, "created")
                }
                guard attempt < client.retry.attempts else { throw error.withMessage(error.message + " (after \(attempt) attempts)") }
            } catch let error as ServiceError {
                // Refused (a 400, a 403): nothing was made by this attempt, and unless an earlier
                // one may have made the page, the next run need not look for it.
                if mode == .live, !mayHaveHappened { try? records.remove(namespace: namespace, key: page.key) }
                throw error
            }
        }
    }

    /// The page a create that may have happened made: queried for at once, then again after
    /// each wait of the client's backoff, since a new page can take a while to show.
    func lookForCreatedPage(_ page: NotionUpsertStep.Page) async throws -> JSONValue? {
        for look in 0...Self.looksAfterAnUncertainCreate {
            if look > 0 { try await client.wait(client.retry.delay(after: look, random: client.random())) }
            if let existing = try await find(page), existing["id"]?.stringValue != nil { return existing }
        }
        return nil
    }

    /// What the store holds for a key while its page's create is under way (no page id yet).
    static let createUnderWay = "create under way"

    /// Queries after the first one that follows an uncertain create, spaced by the client's backoff.
    static let looksAfterAnUncertainCreate = 4
}
