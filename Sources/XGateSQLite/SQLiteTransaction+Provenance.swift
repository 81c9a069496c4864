import GRDB
import XGateCore
import XGateJSON

// MARK: - Lineage, corrections, rejections, log, feeds

extension SQLiteTransaction {
    func appendLineage(_ entry: LineageEntry) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO lineage (owner, kind, source_id, peer, direction, batch_id, content_version, status_version, outcome, at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        statement.setUncheckedArguments([
            entry.key.owner, entry.key.kind, entry.key.sourceId, entry.peer, entry.direction.rawValue, entry.batchId,
            entry.contentVersion, entry.statusVersion, entry.outcome, entry.at.text,
        ])
        try statement.execute()
    }

    /// Sets nothing (and does not fail) when no such outbound hop exists.
    @discardableResult
    func setLineageOutcome(peer: String, batchId: String, key: RecordKey, outcome: String) throws -> Int? {
        let statement = try db.cachedStatement(
            sql: """
                UPDATE lineage SET outcome = ?
                WHERE owner = ? AND kind = ? AND source_id = ? AND peer = ? AND batch_id = ? AND direction = 'outbound'
                RETURNING status_version
                """)
        statement.setUncheckedArguments([outcome, key.owner, key.kind, key.sourceId, peer, batchId])
        return try Int.fetchAll(statement).max()
    }

    /// Tracking the same key, version and peer again keeps the first entry (and its `sentAt`).
    func trackCorrection(_ tracking: CorrectionTracking) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO corrections (owner, kind, source_id, status_version, peer, status, sent_at, sent_at_s, acknowledged_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (owner, kind, source_id, status_version, peer) DO NOTHING
                """
        ).execute(arguments: [
            tracking.key.owner, tracking.key.kind, tracking.key.sourceId, tracking.statusVersion, tracking.peer,
            tracking.status.rawValue, tracking.sentAt.text, tracking.sentAt.seconds, tracking.acknowledgedAt?.text,
        ])
    }

    /// Keeps the first acknowledgement time; acknowledging a correction that is not tracked does nothing.
    func acknowledgeCorrection(key: RecordKey, statusVersion: Int, peer: String, at: Timestamp) throws {
        try db.cachedStatement(
            sql: """
                UPDATE corrections SET acknowledged_at = ?
                WHERE owner = ? AND kind = ? AND source_id = ? AND status_version <= ? AND peer = ? AND acknowledged_at IS NULL
                """
        ).execute(arguments: [at.text, key.owner, key.kind, key.sourceId, statusVersion, peer])
    }

    func appendRejection(_ entry: RejectionEntry) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO rejections (peer, batch_id, item_index, owner, kind, source_id, code, field, message, at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            entry.peer, entry.batchId, entry.index, entry.key?.owner, entry.key?.kind, entry.key?.sourceId, entry.code, entry.field,
            entry.message, entry.at.text,
        ])
    }

    @discardableResult
    func appendLog(_ entry: SyncLogEntry) throws -> Int64 {
        try db.cachedStatement(
            sql: "INSERT INTO sync_log (at, peer, batch_id, event, detail) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [entry.at.text, entry.peer, entry.batchId, entry.event, entry.detail])
        return db.lastInsertedRowID
    }

    func appendAudit(at: Timestamp, actor: String, action: String, subject: String, detail: JSONValue) throws -> AuditEntry {
        let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"))
        let seq: Int64 = (last?[0] as Int64? ?? 0) + 1
        let previous: String = last?[1] ?? AuditEntry.origin
        let entry = AuditEntry(seq: seq, at: at, actor: actor, action: action, subject: subject, detail: detail, previous: previous)
        try db.cachedStatement(
            sql: "INSERT INTO audit_log (seq, at, actor, action, subject, detail, previous, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [
            seq, at.text, actor, action, subject, String(decoding: detail.canonicalBytes, as: UTF8.self), previous, entry.hash,
        ])
        return entry
    }

    func appendActivitySample(_ sample: ActivitySample, keepingSince: Timestamp) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO activity_samples (at_s, at, since, records_in, records_out, max_lag_seconds, queue_depth)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            sample.at.seconds, sample.at.text, sample.since.text, sample.recordsIn, sample.recordsOut, sample.maxLagSeconds,
            sample.queueDepth,
        ])
        try db.cachedStatement(sql: "DELETE FROM activity_samples WHERE at_s < ?").execute(arguments: [keepingSince.seconds])
    }

    func queueAcknowledgements(_ items: [Acknowledgement], to publisher: String) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO pending_acknowledgements (publisher, owner, kind, source_id, status_version)
                VALUES (?, ?, ?, ?, ?)
                """)
        for item in items {
            try statement.execute(arguments: [publisher, item.key.owner, item.key.kind, item.key.sourceId, item.statusVersion])
        }
    }

    func removeAcknowledgements(_ items: [Acknowledgement], to publisher: String) throws {
        let statement = try db.cachedStatement(
            sql: """
                DELETE FROM pending_acknowledgements
                WHERE publisher = ? AND owner = ? AND kind = ? AND source_id = ? AND status_version = ?
                """)
        for item in items {
            try statement.execute(arguments: [publisher, item.key.owner, item.key.kind, item.key.sourceId, item.statusVersion])
        }
    }

    func recordDelivery(peer: String, sequence: Int, at: Timestamp) throws {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO delivered_batches (peer, sequence, delivered_at_s) VALUES (?, ?, ?)"
        ).execute(arguments: [peer, sequence, at.seconds])
    }

    func pruneDeliveredBatches(deliveredBefore before: Timestamp, limit: Int) throws -> Int {
        let due = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT peer, sequence FROM delivered_batches WHERE delivered_at_s < ? ORDER BY delivered_at_s LIMIT ?"),
            arguments: [before.seconds, limit])
        let prune = try db.cachedStatement(
            sql: "UPDATE outbound_batches SET jws = zeroblob(0) WHERE peer = ? AND sequence = ? AND state = 'delivered'")
        let forget = try db.cachedStatement(sql: "DELETE FROM delivered_batches WHERE peer = ? AND sequence = ?")
        for row in due {
            let (peer, sequence): (String, Int64) = (row[0], row[1])
            try prune.execute(arguments: [peer, sequence])
            try forget.execute(arguments: [peer, sequence])
        }
        return due.count
    }

    func acquireLease(_ name: String, holder: String, now: Timestamp, until: Timestamp) throws -> Lease {
        // One statement: taken when free, renewed by its holder, taken over once expired (the epoch counts holders).
        try db.cachedStatement(
            sql: """
                INSERT INTO leases (name, holder, expires_at_s, epoch) VALUES (?1, ?2, ?3, 1)
                ON CONFLICT (name) DO UPDATE SET
                    holder = excluded.holder, expires_at_s = excluded.expires_at_s,
                    epoch = leases.epoch + (leases.holder <> excluded.holder)
                WHERE leases.holder = excluded.holder OR leases.expires_at_s <= ?4
                """
        ).execute(arguments: [name, holder, until.seconds, now.seconds])
        guard let lease = try leases().first(where: { $0.name == name }) else {
            throw StoreError(.database, "the lease \(name) was not stored")
        }
        return lease
    }

    func releaseLease(_ name: String, holder: String) throws {
        // Expired rather than deleted: the epoch goes on counting holders.
        try db.cachedStatement(sql: "UPDATE leases SET expires_at_s = 0 WHERE name = ? AND holder = ?").execute(arguments: [name, holder])
    }

    func setFeedPosition(subscriber: String, feed: String, cursor: String) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO feed_positions (subscriber, feed, cursor) VALUES (?, ?, ?)
                ON CONFLICT (subscriber, feed) DO UPDATE SET cursor = excluded.cursor
                """
        ).execute(arguments: [subscriber, feed, cursor])
    }
}
