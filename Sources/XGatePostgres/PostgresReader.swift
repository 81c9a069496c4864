import Logging
import PostgresNIO
import XGateCore
import XGateJSON

/// The reader handed to `PostgresStore.read`: a pooled connection inside `BEGIN ISOLATION LEVEL REPEATABLE READ READ
/// ONLY … COMMIT`, so that every call sees one snapshot.
struct PostgresReader: PostgresReading {
    let connection: PostgresConnection
    let logger: Logger
    let failure: StatementFailure
}

// MARK: - Records

extension PostgresReading {
    /// The columns ``decodeRecord(_:)`` reads.
    static var recordColumns: String { StoreColumns.record }

    func decodeRecord(_ row: PostgresRowDecoder) throws -> StoredRecord { try row.storedRecord() }

    func record(_ key: RecordKey) async throws -> StoredRecord? {
        try await fetchOne(
            "SELECT \(unescaped: Self.recordColumns) FROM records WHERE owner = \(key.owner) AND kind = \(key.kind) AND source_id = \(key.sourceId)",
            table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    /// One statement: the keys' columns unnested side by side, each key looked up through the primary key (a
    /// `LATERAL … LIMIT 1` the planner cannot turn into a scan of the table). A scan would be cheaper to plan for a
    /// small table, but under SERIALIZABLE it takes a predicate lock on all of `records`, which every concurrent
    /// writer of any record then conflicts with (40001, run again) — as one key read at a time never did.
    func records(_ keys: [RecordKey]) async throws -> [RecordKey: StoredRecord] {
        let distinct = Array(Set(keys))
        guard !distinct.isEmpty else { return [:] }
        let found = try await fetchAll(
            """
            SELECT r.* FROM unnest(\(distinct.map(\.owner)), \(distinct.map(\.kind)), \(distinct.map(\.sourceId))) AS k (owner, kind, source_id)
                CROSS JOIN LATERAL (
                    SELECT \(unescaped: Self.recordColumns) FROM records
                    WHERE records.owner = k.owner AND records.kind = k.kind AND records.source_id = k.source_id LIMIT 1) AS r
            """,
            table: "records", keyColumns: [0, 1, 2], decodeRecord)
        return Dictionary(found.map { ($0.state.key, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func statusVersion(of key: RecordKey) async throws -> Int? {
        try await fetchOne(
            "SELECT owner, kind, source_id, status_version FROM records WHERE owner = \(key.owner) AND kind = \(key.kind) AND source_id = \(key.sourceId)",
            table: "records", keyColumns: [0, 1, 2]
        ) { try $0.int(3) }
    }

    func records(after localSequence: Int64, limit: Int) async throws -> [StoredRecord] {
        try await fetchAll(
            "SELECT \(unescaped: Self.recordColumns) FROM records WHERE local_seq > \(localSequence) ORDER BY local_seq LIMIT \(limit)",
            table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    func lastLocalSequence() async throws -> Int64 {
        try await fetchInt64("SELECT coalesce(max(local_seq), 0) FROM records", table: "records") ?? 0
    }

    /// The channel's filter as a condition on `records`: a kind it may carry (`kind = ANY($2)`, a `text[]`), or a
    /// status decision; only records changed here after the position for a node that relays nothing. Every column it
    /// reads is in `records_channel`, so the planner can answer it from the index.
    static var channelCondition: String {
        "local_seq > $1 AND (kind = ANY($2) OR status_version >= 2) AND (NOT $3 OR made_here_seq > $4)"
    }

    /// `sql` (which uses ``channelCondition``) with the channel's parameters $1 … $4, then `extra` as $5.
    func channelQuery(_ sql: String, _ after: Int64, _ filter: ChannelFilter, extra: Int? = nil) -> PostgresQuery {
        var binds = PostgresBindings()
        binds.append(after)
        binds.append(filter.kinds.sorted())
        binds.append(filter.madeHereOnly)
        binds.append(filter.madeHereAfter ?? after)
        if let extra { binds.append(extra) }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    func records(after localSequence: Int64, limit: Int, matching filter: ChannelFilter) async throws -> [StoredRecord] {
        // The matching sequences from the index first, then only those rows: the rows the filter passes over are
        // never read.
        try await fetchAll(
            channelQuery(
                """
                SELECT \(Self.recordColumns) FROM records WHERE local_seq IN (
                    SELECT local_seq FROM records WHERE \(Self.channelCondition) ORDER BY local_seq LIMIT $5)
                ORDER BY local_seq
                """, localSequence, filter, extra: limit),
            table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    func recordSummary(after localSequence: Int64, matching filter: ChannelFilter) async throws -> (count: Int, oldest: Timestamp?) {
        let row = try await fetchOne(
            channelQuery(
                """
                SELECT m.n, r.changed_at_s FROM (
                    SELECT count(*) AS n, min(local_seq) AS first FROM records WHERE \(Self.channelCondition)) AS m
                LEFT JOIN records AS r ON r.local_seq = m.first
                """, localSequence, filter),
            table: "records", keyColumns: []
        ) { row in (try row.int(0), try row.optionalInt64(1)) }
        return (row?.0 ?? 0, row?.1.map { Timestamp(seconds: $0) })
    }

    func conflictedRecords(limit: Int) async throws -> [StoredRecord] {
        try await fetchAll(
            "SELECT \(unescaped: Self.recordColumns) FROM records WHERE has_conflicts ORDER BY local_seq DESC LIMIT \(limit)",
            table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    func history(of key: RecordKey) async throws -> [HistoryEntry] {
        try await fetchAll(
            """
            SELECT id, owner, kind, source_id, part, version, digest, value_json, source, at
            FROM record_history WHERE owner = \(key.owner) AND kind = \(key.kind) AND source_id = \(key.sourceId) ORDER BY id
            """,
            table: "record_history", keyColumns: [0]
        ) { row in
            HistoryEntry(
                key: try row.recordKey(1), part: try row.value(4, as: Conflict.Part.self), version: try row.int(5),
                digest: try row.digest(6), value: try row.json(7), source: try row.string(8), at: try row.timestamp(9))
        }
    }
}

// MARK: - Push positions, batches, inbox

extension PostgresReading {
    func pushPositions() async throws -> [String: Int64] {
        let rows = try await fetchAll("SELECT peer, position FROM push_positions", table: "push_positions", keyColumns: [0]) {
            (try $0.string(0), try $0.int64(1))
        }
        return Dictionary(rows, uniquingKeysWith: { first, _ in first })
    }

    func backlog(peer: String, limit: Int) async throws -> [RecordKey] {
        try await fetchAll(
            "SELECT id, owner, kind, source_id FROM push_backlog WHERE peer = \(peer) ORDER BY id LIMIT \(limit)",
            table: "push_backlog", keyColumns: [0]
        ) { try $0.recordKey(1) }
    }

    func backlogCount(peer: String) async throws -> Int {
        Int(try await fetchInt64("SELECT count(*) FROM push_backlog WHERE peer = \(peer)", table: "push_backlog") ?? 0)
    }

    func nextOutboundSequence(peer: String) async throws -> Int {
        try await channelSequence(peer: peer, direction: "outbound")
    }

    func expectedInboundSequence(from sender: String) async throws -> Int {
        try await channelSequence(peer: sender, direction: "inbound")
    }

    /// The next sequence of a channel; 1 for a channel never used.
    func channelSequence(peer: String, direction: String) async throws -> Int {
        try await fetchOne(
            "SELECT peer, direction, next_sequence FROM channels WHERE peer = \(peer) AND direction = \(direction)",
            table: "channels", keyColumns: [0, 1]
        ) { try $0.int(2) } ?? 1
    }

    static var batchColumns: String { StoreColumns.batch }

    func decodeBatch(_ row: PostgresRowDecoder) throws -> OutboundBatch { try row.outboundBatch() }

    func outboundBatches(peer: String, state: OutboundBatch.State) async throws -> [OutboundBatch] {
        try await fetchAll(
            "SELECT \(unescaped: Self.batchColumns) FROM outbound_batches WHERE peer = \(peer) AND state = \(state.rawValue) ORDER BY sequence",
            table: "outbound_batches", keyColumns: [0, 1], decodeBatch)
    }

    func outboundBatch(batchId: String) async throws -> OutboundBatch? {
        try await fetchOne(
            "SELECT \(unescaped: Self.batchColumns) FROM outbound_batches WHERE batch_id = \(batchId)",
            table: "outbound_batches", keyColumns: [0, 1], decodeBatch)
    }

    func outboundBatch(peer: String, sequence: Int) async throws -> OutboundBatch? {
        try await fetchOne(
            "SELECT \(unescaped: Self.batchColumns) FROM outbound_batches WHERE peer = \(peer) AND sequence = \(sequence)",
            table: "outbound_batches", keyColumns: [0, 1], decodeBatch)
    }

    /// Sorted by peer id.
    func peersWithWork() async throws -> [String] {
        try await fetchAll(
            """
            SELECT peer FROM outbound_batches WHERE state = 'pending'
            UNION SELECT peer FROM push_backlog
            ORDER BY peer
            """,
            table: "outbound_batches", keyColumns: [0]
        ) { try $0.string(0) }
    }

    func inboxEntry(sender: String, batchId: String) async throws -> InboxEntry? {
        try await fetchOne(
            """
            SELECT sender, batch_id, sequence, payload_digest, receipt, received_at FROM inbox
            WHERE sender = \(sender) AND batch_id = \(batchId)
            """,
            table: "inbox", keyColumns: [0, 1]
        ) { row in
            InboxEntry(
                sender: try row.string(0), batchId: try row.string(1), sequence: try row.int(2), payloadDigest: try row.digest(3),
                receipt: try row.bytes(4), receivedAt: try row.timestamp(5))
        }
    }
}
