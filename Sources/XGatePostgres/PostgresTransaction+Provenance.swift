import PostgresNIO
import XGateCore
import XGateJSON

// MARK: - Lineage, corrections, rejections, log, feeds, leases, audit

extension PostgresTransaction {
    /// The list form, of one hop.
    func appendLineage(_ entry: LineageEntry) async throws { try await appendLineage([entry]) }

    /// One statement for all the hops, inserted in order (the ids they take keep it).
    func appendLineage(_ entries: [LineageEntry]) async throws {
        guard !entries.isEmpty else { return }
        let rows = JSONValue.recordset(entries) { entry in
            [
                ("owner", .string(entry.key.owner)), ("kind", .string(entry.key.kind)), ("source_id", .string(entry.key.sourceId)),
                ("peer", .string(entry.peer)), ("direction", .string(entry.direction.rawValue)), ("batch_id", .string(entry.batchId)),
                ("content_version", .integer(entry.contentVersion)), ("status_version", .integer(entry.statusVersion)),
                ("outcome", .text(entry.outcome)), ("at", .string(entry.at.text)),
            ]
        }
        try await execute(
            """
            INSERT INTO lineage (owner, kind, source_id, peer, direction, batch_id, content_version, status_version, outcome, at)
            SELECT owner, kind, source_id, peer, direction, batch_id, content_version, status_version, outcome, at
            FROM json_to_recordset(\(rows)::json) AS u (
                i bigint, owner text, kind text, source_id text, peer text, direction text, batch_id text,
                content_version bigint, status_version bigint, outcome text, at text)
            ORDER BY i
            """)
    }

    /// Sets nothing (and does not fail) when no such outbound hop exists.
    @discardableResult
    func setLineageOutcome(peer: String, batchId: String, key: RecordKey, outcome: String) async throws -> Int? {
        try await fetchAll(
            """
            UPDATE lineage SET outcome = \(outcome)
            WHERE owner = \(key.owner) AND kind = \(key.kind) AND source_id = \(key.sourceId) AND peer = \(peer)
                AND batch_id = \(batchId) AND direction = 'outbound'
            RETURNING id, status_version
            """,
            table: "lineage", keyColumns: [0]
        ) { try $0.int(1) }.max()
    }

    /// Tracking the same key, version and peer again keeps the first entry (and its `sentAt`).
    func trackCorrection(_ tracking: CorrectionTracking) async throws {
        try await execute(
            """
            INSERT INTO corrections (owner, kind, source_id, status_version, peer, status, sent_at, sent_at_s, acknowledged_at)
            VALUES (\(tracking.key.owner), \(tracking.key.kind), \(tracking.key.sourceId), \(tracking.statusVersion),
                \(tracking.peer), \(tracking.status.rawValue), \(tracking.sentAt.text), \(tracking.sentAt.seconds),
                \(tracking.acknowledgedAt?.text))
            ON CONFLICT (owner, kind, source_id, status_version, peer) DO NOTHING
            """)
    }

    /// Keeps the first acknowledgement time; acknowledging a correction that is not tracked does nothing.
    func acknowledgeCorrection(key: RecordKey, statusVersion: Int, peer: String, at: Timestamp) async throws {
        try await execute(
            """
            UPDATE corrections SET acknowledged_at = \(at.text)
            WHERE owner = \(key.owner) AND kind = \(key.kind) AND source_id = \(key.sourceId)
                AND status_version <= \(statusVersion) AND peer = \(peer) AND acknowledged_at IS NULL
            """)
    }

    func appendRejection(_ entry: RejectionEntry) async throws {
        try await execute(
            """
            INSERT INTO rejections (peer, batch_id, item_index, owner, kind, source_id, code, field, message, at)
            VALUES (\(entry.peer), \(entry.batchId), \(entry.index), \(entry.key?.owner), \(entry.key?.kind),
                \(entry.key?.sourceId), \(entry.code), \(entry.field), \(entry.message), \(entry.at.text))
            """)
    }

    /// Log ids come from an identity column: increasing in the order lines were written, not necessarily in the
    /// order their transactions committed (a tail of the log may see a line appear behind one it has passed).
    @discardableResult
    func appendLog(_ entry: SyncLogEntry) async throws -> Int64 {
        let id = try await fetchInt64(
            """
            INSERT INTO sync_log (at, peer, batch_id, event, detail)
            VALUES (\(entry.at.text), \(entry.peer), \(entry.batchId), \(entry.event), \(entry.detail))
            RETURNING id
            """, table: "sync_log")
        guard let id else { throw StoreError(.database, "appending to sync_log returned no id") }
        return id
    }

    /// The entry takes `seq = last + 1` and chains to the last hash. Two writers that read the same last entry cannot
    /// both commit under SERIALIZABLE (the second fails with 40001 and runs again), so the chain has no fork or gap.
    func appendAudit(at: Timestamp, actor: String, action: String, subject: String, detail: JSONValue) async throws -> AuditEntry {
        let last = try await fetchOne(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", table: "audit_log", keyColumns: [0]
        ) { row in (try row.int64(0), try row.string(1)) }
        let seq = (last?.0 ?? 0) + 1
        let previous = last?.1 ?? AuditEntry.origin
        let entry = AuditEntry(seq: seq, at: at, actor: actor, action: action, subject: subject, detail: detail, previous: previous)
        try await execute(
            """
            INSERT INTO audit_log (seq, at, actor, action, subject, detail, previous, hash)
            VALUES (\(seq), \(at.text), \(actor), \(action), \(subject), \(String(decoding: detail.canonicalBytes, as: UTF8.self)),
                \(previous), \(entry.hash))
            """)
        return entry
    }

    func appendActivitySample(_ sample: ActivitySample, keepingSince: Timestamp) async throws {
        try await execute(
            """
            INSERT INTO activity_samples (at_s, at, since, records_in, records_out, max_lag_seconds, queue_depth)
            VALUES (\(sample.at.seconds), \(sample.at.text), \(sample.since.text), \(sample.recordsIn), \(sample.recordsOut),
                \(sample.maxLagSeconds), \(sample.queueDepth))
            ON CONFLICT (at_s) DO UPDATE SET
                at = excluded.at, since = excluded.since, records_in = excluded.records_in, records_out = excluded.records_out,
                max_lag_seconds = excluded.max_lag_seconds, queue_depth = excluded.queue_depth
            """)
        try await execute("DELETE FROM activity_samples WHERE at_s < \(keepingSince.seconds)")
    }

    /// One statement for all the items, inserted in their order (so ids follow it); one already queued, or named
    /// twice, is kept once.
    func queueAcknowledgements(_ items: [Acknowledgement], to publisher: String) async throws {
        guard !items.isEmpty else { return }
        try await execute(
            """
            INSERT INTO pending_acknowledgements (publisher, owner, kind, source_id, status_version)
            SELECT \(publisher), a.owner, a.kind, a.source_id, a.status_version
            FROM unnest(\(items.map(\.key.owner)), \(items.map(\.key.kind)), \(items.map(\.key.sourceId)), \(items.map(\.statusVersion)))
                WITH ORDINALITY AS a (owner, kind, source_id, status_version, n)
            ORDER BY a.n
            ON CONFLICT (publisher, owner, kind, source_id, status_version) DO NOTHING
            """)
    }

    /// One statement for all the items; unknown ones are ignored.
    func removeAcknowledgements(_ items: [Acknowledgement], to publisher: String) async throws {
        guard !items.isEmpty else { return }
        try await execute(
            """
            DELETE FROM pending_acknowledgements p
            USING unnest(\(items.map(\.key.owner)), \(items.map(\.key.kind)), \(items.map(\.key.sourceId)), \(items.map(\.statusVersion)))
                AS a (owner, kind, source_id, status_version)
            WHERE p.publisher = \(publisher) AND p.owner = a.owner AND p.kind = a.kind AND p.source_id = a.source_id
                AND p.status_version = a.status_version
            """)
    }

    func recordDelivery(peer: String, sequence: Int, at: Timestamp) async throws {
        try await execute(
            """
            INSERT INTO delivered_batches (peer, sequence, delivered_at_s) VALUES (\(peer), \(sequence), \(at.seconds))
            ON CONFLICT (peer, sequence) DO NOTHING
            """)
    }

    /// One statement: the deliveries due, the bytes of those batches still delivered dropped, the deliveries forgotten.
    func pruneDeliveredBatches(deliveredBefore before: Timestamp, limit: Int) async throws -> Int {
        Int(
            try await fetchInt64(
                """
                WITH due AS (
                    SELECT peer, sequence FROM delivered_batches WHERE delivered_at_s < \(before.seconds)
                    ORDER BY delivered_at_s LIMIT \(limit)
                ), pruned AS (
                    UPDATE outbound_batches b SET jws = ''::bytea FROM due
                    WHERE b.peer = due.peer AND b.sequence = due.sequence AND b.state = 'delivered'
                ), forgotten AS (
                    DELETE FROM delivered_batches d USING due WHERE d.peer = due.peer AND d.sequence = due.sequence
                    RETURNING 1
                )
                SELECT count(*) FROM forgotten
                """, table: "delivered_batches") ?? 0)
    }

    /// One statement: taken when free, renewed by its holder, taken over once expired (the epoch counts holders).
    /// Two instances asking at once: the second waits for the first's row and, under SERIALIZABLE, fails with 40001
    /// once it commits, then runs again and sees the lease held.
    func acquireLease(_ name: String, holder: String, now: Timestamp, until: Timestamp) async throws -> Lease {
        try await execute(
            """
            INSERT INTO leases (name, holder, expires_at_s, epoch) VALUES (\(name), \(holder), \(until.seconds), 1)
            ON CONFLICT (name) DO UPDATE SET
                holder = excluded.holder, expires_at_s = excluded.expires_at_s,
                epoch = leases.epoch + CASE WHEN leases.holder <> excluded.holder THEN 1 ELSE 0 END
            WHERE leases.holder = excluded.holder OR leases.expires_at_s <= \(now.seconds)
            """)
        guard
            let lease = try await fetchOne(
                "SELECT name, holder, expires_at_s, epoch FROM leases WHERE name = \(name)", table: "leases", keyColumns: [0],
                decodeLease)
        else {
            throw StoreError(.database, "the lease \(name) was not stored")
        }
        return lease
    }

    func releaseLease(_ name: String, holder: String) async throws {
        // Expired rather than deleted: the epoch goes on counting holders.
        try await execute("UPDATE leases SET expires_at_s = 0 WHERE name = \(name) AND holder = \(holder)")
    }

    func setFeedPosition(subscriber: String, feed: String, cursor: String) async throws {
        try await execute(
            """
            INSERT INTO feed_positions (subscriber, feed, cursor) VALUES (\(subscriber), \(feed), \(cursor))
            ON CONFLICT (subscriber, feed) DO UPDATE SET cursor = excluded.cursor
            """)
    }
}
