import PostgresNIO
import XGateCore
import XGateJSON

// MARK: - Lineage, corrections, rejections, log, feeds

extension PostgresReading {
    static var lineageColumns: String {
        "id, owner, kind, source_id, peer, direction, batch_id, content_version, status_version, outcome, at"
    }

    func decodeLineage(_ row: PostgresRowDecoder) throws -> LineageEntry {
        LineageEntry(
            key: try row.recordKey(1), peer: try row.string(4), direction: try row.value(5, as: LineageEntry.Direction.self),
            batchId: try row.string(6), contentVersion: try row.optionalInt(7), statusVersion: try row.int(8),
            outcome: try row.optionalString(9), at: try row.timestamp(10))
    }

    func lineage(of key: RecordKey) async throws -> [LineageEntry] {
        try await fetchAll(
            """
            SELECT \(unescaped: Self.lineageColumns) FROM lineage
            WHERE owner = \(key.owner) AND kind = \(key.kind) AND source_id = \(key.sourceId) ORDER BY id
            """,
            table: "lineage", keyColumns: [0], decodeLineage)
    }

    func lineage(batchId: String) async throws -> [LineageEntry] {
        try await fetchAll(
            "SELECT \(unescaped: Self.lineageColumns) FROM lineage WHERE batch_id = \(batchId) ORDER BY id",
            table: "lineage", keyColumns: [0], decodeLineage)
    }

    func holders(of key: RecordKey) async throws -> Set<String> {
        let peers = try await fetchAll(
            "SELECT DISTINCT peer FROM lineage WHERE owner = \(key.owner) AND kind = \(key.kind) AND source_id = \(key.sourceId)",
            table: "lineage", keyColumns: [0]
        ) { try $0.string(0) }
        return Set(peers)
    }

    static var correctionColumns: String { StoreColumns.correction }

    func decodeCorrection(_ row: PostgresRowDecoder) throws -> CorrectionTracking { try row.correctionTracking() }

    /// Oldest first.
    func unacknowledgedCorrections(sentBefore before: Timestamp) async throws -> [CorrectionTracking] {
        try await fetchAll(
            """
            SELECT \(unescaped: Self.correctionColumns) FROM corrections
            WHERE acknowledged_at IS NULL AND sent_at_s < \(before.seconds)
            ORDER BY sent_at_s, owner, kind, source_id, status_version, peer
            """,
            table: "corrections", keyColumns: [0, 1, 2, 3, 4], decodeCorrection)
    }

    /// Newest first.
    func recentCorrections(limit: Int) async throws -> [CorrectionTracking] {
        try await fetchAll(
            """
            SELECT \(unescaped: Self.correctionColumns) FROM corrections
            ORDER BY sent_at_s DESC, owner, kind, source_id, status_version DESC, peer LIMIT \(limit)
            """,
            table: "corrections", keyColumns: [0, 1, 2, 3, 4], decodeCorrection)
    }

    /// By status version, then peer.
    func corrections(of key: RecordKey) async throws -> [CorrectionTracking] {
        try await fetchAll(
            """
            SELECT \(unescaped: Self.correctionColumns) FROM corrections
            WHERE owner = \(key.owner) AND kind = \(key.kind) AND source_id = \(key.sourceId) ORDER BY status_version, peer
            """,
            table: "corrections", keyColumns: [0, 1, 2, 3, 4], decodeCorrection)
    }

    func rejections(limit: Int) async throws -> [RejectionEntry] {
        try await fetchAll(
            """
            SELECT id, peer, batch_id, item_index, owner, kind, source_id, code, field, message, at
            FROM rejections ORDER BY id DESC LIMIT \(limit)
            """,
            table: "rejections", keyColumns: [0]
        ) { row in
            RejectionEntry(
                peer: try row.string(1), batchId: try row.optionalString(2), index: try row.optionalInt(3),
                key: try row.optionalRecordKey(4), code: try row.string(7), field: try row.optionalString(8),
                message: try row.string(9), at: try row.timestamp(10))
        }
    }

    /// The decision dates come from the `decision_date` column through its index; the department is read from the
    /// state of each decision found (by XGateJSON, as every state is: a server-side JSON cast would refuse states
    /// that XGateJSON keeps, such as a `\u0000` in a string).
    func decisions(kinds: Set<String>, from: CivilDate, through: CivilDate) async throws -> [TimelinessReport.Decision] {
        try await fetchAll(
            """
            SELECT r.owner, r.kind, r.source_id, r.decision_date, r.state_json,
                (SELECT h.at FROM record_history h
                 WHERE h.owner = r.owner AND h.kind = r.kind AND h.source_id = r.source_id AND h.part = 'content'
                 ORDER BY h.id LIMIT 1)
            FROM records r
            WHERE r.decision_date BETWEEN \(from.description) AND \(through.description) AND r.kind = ANY(\(kinds.sorted()))
            """,
            table: "records", keyColumns: [0, 1, 2]
        ) { row -> TimelinessReport.Decision? in
            guard let decided = CivilDate(try row.string(3)), decided >= from, decided <= through else { return nil }
            let data = try row.json(4)["content"]?["record"]?["data"]
            let department =
                data?["dataSource"]?["name"]?.stringValue ?? data?["authority"]?["name"]?.stringValue ?? "(unnamed)"
            return TimelinessReport.Decision(
                district: try row.string(0), department: department, decisionDate: decided,
                firstArrival: try row.optionalTimestamp(5) ?? Timestamp(seconds: Int64.max / 2))
        }.compactMap { $0 }
    }

    func refusalsOfRecordsNotHeld(kinds: Set<String>) async throws -> [RecordKey: Timestamp] {
        let rows = try await fetchAll(
            """
            SELECT x.owner, x.kind, x.source_id, x.at FROM rejections x
            JOIN (SELECT min(id) AS id FROM rejections
                  WHERE kind = ANY(\(kinds.sorted())) AND owner IS NOT NULL AND source_id IS NOT NULL
                  GROUP BY owner, kind, source_id) f ON x.id = f.id
            WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.owner = x.owner AND r.kind = x.kind AND r.source_id = x.source_id)
            """,
            table: "rejections", keyColumns: [0, 1, 2]
        ) { row in (try row.recordKey(0), try row.timestamp(3)) }
        return Dictionary(rows, uniquingKeysWith: { first, _ in first })
    }

    func activitySamples(since: Timestamp) async throws -> [ActivitySample] {
        try await fetchAll(
            """
            SELECT at_s, at, since, records_in, records_out, max_lag_seconds, queue_depth FROM activity_samples
            WHERE at_s >= \(since.seconds) ORDER BY at_s
            """,
            table: "activity_samples", keyColumns: [0]
        ) { row in
            ActivitySample(
                since: try row.timestamp(2), at: try row.timestamp(1), recordsIn: try row.int(3), recordsOut: try row.int(4),
                maxLagSeconds: try row.int64(5), queueDepth: try row.int(6))
        }
    }

    func pendingAcknowledgements(to publisher: String, limit: Int) async throws -> [Acknowledgement] {
        try await fetchAll(
            """
            SELECT id, owner, kind, source_id, status_version FROM pending_acknowledgements
            WHERE publisher = \(publisher) ORDER BY id LIMIT \(limit)
            """,
            table: "pending_acknowledgements", keyColumns: [0]
        ) { row in Acknowledgement(key: try row.recordKey(1), statusVersion: try row.int(4)) }
    }

    func pendingAcknowledgementCount(to publisher: String) async throws -> Int {
        Int(
            try await fetchInt64(
                "SELECT count(*) FROM pending_acknowledgements WHERE publisher = \(publisher)", table: "pending_acknowledgements")
                ?? 0)
    }

    func auditEntries(after seq: Int64, limit: Int) async throws -> [AuditEntry] {
        try await fetchAll(
            "SELECT \(unescaped: StoreColumns.audit) FROM audit_log WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)",
            table: "audit_log", keyColumns: [0]
        ) { try $0.auditEntry() }
    }

    func log(after id: Int64, peer: String?, limit: Int) async throws -> [SyncLogEntry] {
        let decode = { (row: PostgresRowDecoder) throws -> SyncLogEntry in
            SyncLogEntry(
                id: try row.int64(0), at: try row.timestamp(1), peer: try row.optionalString(2), batchId: try row.optionalString(3),
                event: try row.string(4), detail: try row.string(5))
        }
        if let peer {
            return try await fetchAll(
                "SELECT id, at, peer, batch_id, event, detail FROM sync_log WHERE peer = \(peer) AND id > \(id) ORDER BY id LIMIT \(limit)",
                table: "sync_log", keyColumns: [0], decode)
        }
        return try await fetchAll(
            "SELECT id, at, peer, batch_id, event, detail FROM sync_log WHERE id > \(id) ORDER BY id LIMIT \(limit)",
            table: "sync_log", keyColumns: [0], decode)
    }

    func decodeLease(_ row: PostgresRowDecoder) throws -> Lease {
        Lease(name: try row.string(0), holder: try row.string(1), expiresAt: Timestamp(seconds: try row.int64(2)), epoch: try row.int64(3))
    }

    func leases() async throws -> [Lease] {
        try await fetchAll(
            "SELECT name, holder, expires_at_s, epoch FROM leases ORDER BY name", table: "leases", keyColumns: [0], decodeLease)
    }

    func feedPosition(subscriber: String, feed: String) async throws -> String? {
        try await fetchOne(
            "SELECT subscriber, feed, cursor FROM feed_positions WHERE subscriber = \(subscriber) AND feed = \(feed)",
            table: "feed_positions", keyColumns: [0, 1]
        ) { try $0.string(2) }
    }
}
