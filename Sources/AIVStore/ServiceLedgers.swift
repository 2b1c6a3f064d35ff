import Foundation
import AIVCore
import GRDB

/// The daily request and token counts in the store, so quotas hold across runs and processes:
/// each addition is one transaction that reads back the new totals.
public final class SQLiteQuotaLedger: QuotaLedger, Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    public func usage(service: String, day: String) throws -> QuotaUsage {
        try store.pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT requests, tokens FROM quota_usage WHERE service = ? AND day = ?", arguments: [service, day])
            return QuotaUsage(requests: row?["requests"] ?? 0, tokens: row?["tokens"] ?? 0)
        }
    }

    public func take(service: String, day: String, limit: Int) throws -> QuotaUsage? {
        try store.pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO quota_usage (service, day, requests, tokens) VALUES (?, ?, 0, 0)", arguments: [service, day])
            try db.execute(sql: "UPDATE quota_usage SET requests = requests + 1 WHERE service = ? AND day = ? AND requests < ?",
                           arguments: [service, day, limit])
            guard db.changesCount > 0 else { return nil }
            let row = try Row.fetchOne(db, sql: "SELECT requests, tokens FROM quota_usage WHERE service = ? AND day = ?", arguments: [service, day])
            return QuotaUsage(requests: row?["requests"] ?? 0, tokens: row?["tokens"] ?? 0)
        }
    }

    public func names(day: String) throws -> [String] {
        try store.pool.read { db in try String.fetchAll(db, sql: "SELECT service FROM quota_usage WHERE day = ? ORDER BY service", arguments: [day]) }
    }

    @discardableResult
    public func add(service: String, day: String, requests: Int, tokens: Int) throws -> QuotaUsage {
        try store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO quota_usage (service, day, requests, tokens) VALUES (?, ?, ?, ?)
                ON CONFLICT (service, day) DO UPDATE SET requests = requests + excluded.requests, tokens = tokens + excluded.tokens
                """, arguments: [service, day, requests, tokens])
            let row = try Row.fetchOne(db, sql: "SELECT requests, tokens FROM quota_usage WHERE service = ? AND day = ?", arguments: [service, day])
            return QuotaUsage(requests: row?["requests"] ?? 0, tokens: row?["tokens"] ?? 0)
        }
    }

}

/// External objects by key (`notion_page`-like records), so re-runs update instead of duplicating.
public final class SQLiteRecordIndex: ExternalRecordIndex, Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    public func record(namespace: String, key: String) throws -> ExternalRecord? {
        try store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, url, content_hash FROM external_record WHERE namespace = ? AND key = ?",
                             arguments: [namespace, key]).map { row in
                ExternalRecord(namespace: namespace, key: key, id: (try row.decode(forColumn: "id")), url: (try row.decode(forColumn: "url")), contentHash: (try row.decode(forColumn: "content_hash")))
            }
        }
    }

    public func save(_ record: ExternalRecord) throws {
        try store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO external_record (namespace, key, id, url, content_hash, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (namespace, key) DO UPDATE SET id = excluded.id, url = excluded.url,
                  content_hash = excluded.content_hash, updated_at = excluded.updated_at
                """, arguments: [record.namespace, record.key, record.id, record.url, record.contentHash, Date().timeIntervalSince1970])
        }
    }

    public func remove(namespace: String, key: String) throws {
        try store.pool.write { db in
            try db.execute(sql: "DELETE FROM external_record WHERE namespace = ? AND key = ?", arguments: [namespace, key])
        }
    }

}

/// The vocabulary stock in SQLite: each merge is one transaction.
public final class SQLiteStockStore: StockStore, Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    public func merge(stock: String, key: String, entry: JSONValue, source: JSONValue) throws -> StockMerge {
        try store.pool.write { db in
            let now = Date().timeIntervalSince1970
            if let row = try Row.fetchOne(db, sql: "SELECT entry, sources FROM stock_entry WHERE stock = ? AND key = ?", arguments: [stock, key]) {
                let known = StockMerge.combined(known: try JSONValue(json: (try row.decode(forColumn: "entry"))), with: entry)
                var sources = try JSONValue(json: (try row.decode(forColumn: "sources"))).arrayValue ?? []
                if !sources.contains(source) { sources.append(source) }
                try db.execute(sql: "UPDATE stock_entry SET entry = ?, sources = ?, updated_at = ? WHERE stock = ? AND key = ?",
                               arguments: [known.canonicalJSON, JSONValue.array(sources).canonicalJSON, now, stock, key])
                return StockMerge(entry: known, sources: sources, isNew: false)
            }
            try db.execute(sql: "INSERT INTO stock_entry (stock, key, entry, sources, first_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [stock, key, entry.canonicalJSON, JSONValue.array([source]).canonicalJSON, now, now])
            return StockMerge(entry: entry, sources: [source], isNew: true)
        }
    }
}
