import GRDB
import XGateCore
import XGateJSON

// MARK: - Lineage, corrections, rejections, log, feeds

extension SQLiteReading {
    func lineage(of key: RecordKey) throws -> [LineageEntry] {
        try lineage(where: "owner = ? AND kind = ? AND source_id = ?", [key.owner, key.kind, key.sourceId])
    }

    func lineage(batchId: String) throws -> [LineageEntry] {
        try lineage(where: "batch_id = ?", [batchId])
    }

    private func lineage(where condition: String, _ arguments: StatementArguments) throws -> [LineageEntry] {
        try fetchAll(
            db,
            """
            SELECT id, owner, kind, source_id, peer, direction, batch_id, content_version, status_version, outcome, at
            FROM lineage WHERE \(condition) ORDER BY id
            """,
            arguments, table: "lineage", keyColumns: [0]
        ) { row in
            LineageEntry(
                key: try row.recordKey(1), peer: try row.string(4), direction: try row.value(5, as: LineageEntry.Direction.self),
                batchId: try row.string(6), contentVersion: try row.optionalInt(7), statusVersion: try row.int(8),
                outcome: try row.optionalString(9), at: try row.timestamp(10))
        }
    }

    func holders(of key: RecordKey) throws -> Set<String> {
        let peers = try fetchAll(
            db, "SELECT DISTINCT peer FROM lineage WHERE owner = ? AND kind = ? AND source_id = ?",
            [key.owner, key.kind, key.sourceId], table: "lineage", keyColumns: [0]
        ) { try $0.string(0) }
        return Set(peers)
    }

    static var correctionColumns: String { StoreColumns.correction }

    func decodeCorrection(_ row: RowDecoder) throws -> CorrectionTracking { try row.correctionTracking() }

    /// Oldest first.
    func unacknowledgedCorrections(sentBefore before: Timestamp) throws -> [CorrectionTracking] {
        try fetchAll(
            db,
            """
            SELECT \(Self.correctionColumns) FROM corrections
            WHERE acknowledged_at IS NULL AND sent_at_s < ?
            ORDER BY sent_at_s, owner, kind, source_id, status_version, peer
            """,
            [before.seconds], table: "corrections", keyColumns: [0, 1, 2, 3, 4], decodeCorrection)
    }

    /// Newest first.
    func recentCorrections(limit: Int) throws -> [CorrectionTracking] {
        try fetchAll(
            db,
            """
            SELECT \(Self.correctionColumns) FROM corrections
            ORDER BY sent_at_s DESC, owner, kind, source_id, status_version DESC, peer LIMIT ?
            """,
            [limit], table: "corrections", keyColumns: [0, 1, 2, 3, 4], decodeCorrection)
    }

    /// By status version, then peer.
    func corrections(of key: RecordKey) throws -> [CorrectionTracking] {
        try fetchAll(
            db,
            """
            SELECT \(Self.correctionColumns) FROM corrections
            WHERE owner = ? AND kind = ? AND source_id = ? ORDER BY status_version, peer
            """,
            [key.owner, key.kind, key.sourceId], table: "corrections", keyColumns: [0, 1, 2, 3, 4], decodeCorrection)
    }

    func rejections(limit: Int) throws -> [RejectionEntry] {
        try fetchAll(
            db,
            """
            SELECT id, peer, batch_id, item_index, owner, kind, source_id, code, field, message, at
            FROM rejections ORDER BY id DESC LIMIT ?
            """,
            [limit], table: "rejections", keyColumns: [0]
        ) { row in
            RejectionEntry(
                peer: try row.string(1), batchId: try row.optionalString(2), index: try row.optionalInt(3),
                key: try row.optionalRecordKey(4), code: try row.string(7), field: try row.optionalString(8),
                message: try row.string(9), at: try row.timestamp(10))
        }
    }

    func decisions(kinds: Set<String>, from: CivilDate, through: CivilDate) throws -> [TimelinessReport.Decision] {
        try fetchAll(
            db,
            """
            SELECT r.owner, r.kind, r.source_id, r.decision_date,
                coalesce(
                    CASE WHEN json_type(r.state_json, '$.content.record.data.dataSource.name') = 'text'
                         THEN json_extract(r.state_json, '$.content.record.data.dataSource.name') END,
                    CASE WHEN json_type(r.state_json, '$.content.record.data.authority.name') = 'text'
                         THEN json_extract(r.state_json, '$.content.record.data.authority.name') END,
                    '(unnamed)'),
                (SELECT h.at FROM record_history h
                 WHERE h.owner = r.owner AND h.kind = r.kind AND h.source_id = r.source_id AND h.part = 'content'
                 ORDER BY h.id LIMIT 1)
            FROM records r
            WHERE r.decision_date BETWEEN ? AND ?
              AND r.kind IN (SELECT value FROM json_each(?))
            """,
            [from.description, through.description, Self.jsonArray(kinds)], table: "records", keyColumns: [0, 1, 2]
        ) { row -> TimelinessReport.Decision? in
            guard let decided = CivilDate(try row.string(3)), decided >= from, decided <= through else { return nil }
            return TimelinessReport.Decision(
                district: try row.string(0), department: try row.string(4), decisionDate: decided,
                firstArrival: try row.optionalTimestamp(5) ?? Timestamp(seconds: Int64.max / 2))
        }.compactMap { $0 }
    }

    func refusalsOfRecordsNotHeld(kinds: Set<String>) throws -> [RecordKey: Timestamp] {
        let rows = try fetchAll(
            db,
            """
            SELECT x.owner, x.kind, x.source_id, x.at FROM rejections x
            JOIN (SELECT min(id) AS id FROM rejections
                  WHERE kind IN (SELECT value FROM json_each(?)) AND owner IS NOT NULL AND source_id IS NOT NULL
                  GROUP BY owner, kind, source_id) f ON x.id = f.id
            WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.owner = x.owner AND r.kind = x.kind AND r.source_id = x.source_id)
            """,
            [Self.jsonArray(kinds)], table: "rejections", keyColumns: [0, 1, 2]
        ) { row in (try row.recordKey(0), try row.timestamp(3)) }
        return Dictionary(rows, uniquingKeysWith: { first, _ in first })
    }

    func activitySamples(since: Timestamp) throws -> [ActivitySample] {
        try fetchAll(
            db,
            "SELECT at_s, at, since, records_in, records_out, max_lag_seconds, queue_depth FROM activity_samples WHERE at_s >= ? ORDER BY at_s",
            [since.seconds], table: "activity_samples", keyColumns: [0]
        ) { row in
            ActivitySample(
                since: try row.timestamp(2), at: try row.timestamp(1), recordsIn: try row.int(3), recordsOut: try row.int(4),
                maxLagSeconds: try row.int64(5), queueDepth: try row.int(6))
        }
    }

    func pendingAcknowledgements(to publisher: String, limit: Int) throws -> [Acknowledgement] {
        try fetchAll(
            db,
            "SELECT id, owner, kind, source_id, status_version FROM pending_acknowledgements WHERE publisher = ? ORDER BY id LIMIT ?",
            [publisher, limit], table: "pending_acknowledgements", keyColumns: [0]
        ) { row in Acknowledgement(key: try row.recordKey(1), statusVersion: try row.int(4)) }
    }

    func pendingAcknowledgementCount(to publisher: String) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM pending_acknowledgements WHERE publisher = ?"), arguments: [publisher])
            ?? 0
    }

    /// A set of strings as a JSON array, for `IN (SELECT value FROM json_each(?))`.
    static func jsonArray(_ values: Set<String>) -> String {
        JSONValue.array(values.sorted().map(JSONValue.string)).serializedString()
    }

    func auditEntries(after seq: Int64, limit: Int) throws -> [AuditEntry] {
        try fetchAll(
            db, "SELECT \(StoreColumns.audit) FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
            [seq, limit], table: "audit_log", keyColumns: [0]
        ) { try $0.auditEntry() }
    }

    func log(after id: Int64, peer: String?, limit: Int) throws -> [SyncLogEntry] {
        let columns = "id, at, peer, batch_id, event, detail"
        let decode = { (row: RowDecoder) throws -> SyncLogEntry in
            SyncLogEntry(
                id: try row.int64(0), at: try row.timestamp(1), peer: try row.optionalString(2), batchId: try row.optionalString(3),
                event: try row.string(4), detail: try row.string(5))
        }
        if let peer {
            return try fetchAll(
                db, "SELECT \(columns) FROM sync_log WHERE peer = ? AND id > ? ORDER BY id LIMIT ?", [peer, id, limit],
                table: "sync_log", keyColumns: [0], decode)
        }
        return try fetchAll(
            db, "SELECT \(columns) FROM sync_log WHERE id > ? ORDER BY id LIMIT ?", [id, limit], table: "sync_log",
            keyColumns: [0], decode)
    }

    func leases() throws -> [Lease] {
        try fetchAll(
            db, "SELECT name, holder, expires_at_s, epoch FROM leases ORDER BY name", [], table: "leases", keyColumns: [0]
        ) { row in
            Lease(name: try row.string(0), holder: try row.string(1), expiresAt: Timestamp(seconds: try row.int64(2)), epoch: try row.int64(3))
        }
    }

    func feedPosition(subscriber: String, feed: String) throws -> String? {
        try fetchOne(
            db, "SELECT subscriber, feed, cursor FROM feed_positions WHERE subscriber = ? AND feed = ?", [subscriber, feed],
            table: "feed_positions", keyColumns: [0, 1]
        ) { try $0.string(2) }
    }
}
