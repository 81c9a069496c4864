import GRDB
import XGateCore
import XGateJSON

/// A connection the store reads through: a reader's snapshot, or the writer inside a transaction.
/// Every `StoreReader` requirement is implemented once, in extensions of this protocol.
protocol SQLiteReading: StoreReader {
    var db: Database { get }
}

/// The reader handed to `SQLiteStore.read`.
struct SQLiteReader: SQLiteReading {
    let db: Database
}

// MARK: - Records

extension SQLiteReading {
    /// The columns ``decodeRecord(_:)`` reads.
    static var recordColumns: String { StoreColumns.record }

    func decodeRecord(_ row: RowDecoder) throws -> StoredRecord { try row.storedRecord() }

    func record(_ key: RecordKey) throws -> StoredRecord? {
        try fetchOne(
            db, "SELECT \(Self.recordColumns) FROM records WHERE owner = ? AND kind = ? AND source_id = ?",
            [key.owner, key.kind, key.sourceId], table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    func statusVersion(of key: RecordKey) throws -> Int? {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT status_version FROM records WHERE owner = ? AND kind = ? AND source_id = ?"),
            arguments: [key.owner, key.kind, key.sourceId])
    }

    func records(after localSequence: Int64, limit: Int) throws -> [StoredRecord] {
        try fetchAll(
            db, "SELECT \(Self.recordColumns) FROM records WHERE local_seq > ? ORDER BY local_seq LIMIT ?",
            [localSequence, limit], table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    func lastLocalSequence() throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(local_seq), 0) FROM records")) ?? 0
    }

    /// The channel's filter as SQL: a kind it may carry, or a status decision; only records changed here after the
    /// position for a node that relays nothing.
    static var channelCondition: String {
        """
        local_seq > ?1 AND (kind IN (SELECT value FROM json_each(?2)) OR status_version >= 2) AND (?3 = 0 OR made_here_seq > ?4)
        """
    }

    func channelArguments(_ after: Int64, _ filter: ChannelFilter) -> StatementArguments {
        [after, JSONValue.array(filter.kinds.sorted().map { .string($0) }).columnText, filter.madeHereOnly ? 1 : 0, filter.madeHereAfter ?? after]
    }

    func records(after localSequence: Int64, limit: Int, matching filter: ChannelFilter) throws -> [StoredRecord] {
        var arguments = channelArguments(localSequence, filter)
        arguments += [limit]
        // The matching sequences from the index first (records_channel holds every column the filter reads), then only
        // those rows: the rows the filter passes over are never read.
        return try fetchAll(
            db,
            """
            SELECT \(Self.recordColumns) FROM records WHERE local_seq IN (
                SELECT local_seq FROM records INDEXED BY records_channel WHERE \(Self.channelCondition) ORDER BY local_seq LIMIT ?5)
            ORDER BY local_seq
            """,
            arguments, table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    func recordSummary(after localSequence: Int64, matching filter: ChannelFilter) throws -> (count: Int, oldest: Timestamp?) {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT m.n, r.changed_at_s FROM (
                        SELECT count(*) AS n, min(local_seq) AS first FROM records INDEXED BY records_channel
                        WHERE \(Self.channelCondition)) AS m
                    LEFT JOIN records AS r ON r.local_seq = m.first
                    """),
            arguments: channelArguments(localSequence, filter))
        let count: Int = row?[0] ?? 0
        let oldest: Int64? = row?[1]
        return (count, oldest.map { Timestamp(seconds: $0) })
    }

    func conflictedRecords(limit: Int) throws -> [StoredRecord] {
        try fetchAll(
            db, "SELECT \(Self.recordColumns) FROM records WHERE has_conflicts = 1 ORDER BY local_seq DESC LIMIT ?",
            [limit], table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    func history(of key: RecordKey) throws -> [HistoryEntry] {
        try fetchAll(
            db,
            """
            SELECT id, owner, kind, source_id, part, version, digest, value_json, source, at
            FROM record_history WHERE owner = ? AND kind = ? AND source_id = ? ORDER BY id
            """,
            [key.owner, key.kind, key.sourceId], table: "record_history", keyColumns: [0]
        ) { row in
            HistoryEntry(
                key: try row.recordKey(1), part: try row.value(4, as: Conflict.Part.self), version: try row.int(5),
                digest: try row.digest(6), value: try row.json(7), source: try row.string(8), at: try row.timestamp(9))
        }
    }
}

// MARK: - Outbox, batches, inbox

extension SQLiteReading {
    func pushPositions() throws -> [String: Int64] {
        let rows = try fetchAll(db, "SELECT peer, position FROM push_positions", [], table: "push_positions", keyColumns: [0]) {
            (try $0.string(0), try $0.int64(1))
        }
        return Dictionary(rows, uniquingKeysWith: { first, _ in first })
    }

    func backlog(peer: String, limit: Int) throws -> [RecordKey] {
        try fetchAll(
            db, "SELECT id, owner, kind, source_id FROM push_backlog WHERE peer = ? ORDER BY id LIMIT ?", [peer, limit],
            table: "push_backlog", keyColumns: [0]
        ) { try $0.recordKey(1) }
    }

    func backlogCount(peer: String) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM push_backlog WHERE peer = ?"), arguments: [peer]) ?? 0
    }

    func nextOutboundSequence(peer: String) throws -> Int {
        try channelSequence(peer: peer, direction: "outbound")
    }

    func expectedInboundSequence(from sender: String) throws -> Int {
        try channelSequence(peer: sender, direction: "inbound")
    }

    /// The next sequence of a channel; 1 for a channel never used.
    func channelSequence(peer: String, direction: String) throws -> Int {
        try fetchOne(
            db, "SELECT peer, direction, next_sequence FROM channels WHERE peer = ? AND direction = ?", [peer, direction],
            table: "channels", keyColumns: [0, 1]
        ) { try $0.int(2) } ?? 1
    }

    static var batchColumns: String { StoreColumns.batch }

    func decodeBatch(_ row: RowDecoder) throws -> OutboundBatch { try row.outboundBatch() }

    func outboundBatches(peer: String, state: OutboundBatch.State) throws -> [OutboundBatch] {
        try fetchAll(
            db, "SELECT \(Self.batchColumns) FROM outbound_batches WHERE peer = ? AND state = ? ORDER BY sequence",
            [peer, state.rawValue], table: "outbound_batches", keyColumns: [0, 1], decodeBatch)
    }

    func outboundBatch(batchId: String) throws -> OutboundBatch? {
        try fetchOne(
            db, "SELECT \(Self.batchColumns) FROM outbound_batches WHERE batch_id = ?", [batchId], table: "outbound_batches",
            keyColumns: [0, 1], decodeBatch)
    }

    func outboundBatch(peer: String, sequence: Int) throws -> OutboundBatch? {
        try fetchOne(
            db, "SELECT \(Self.batchColumns) FROM outbound_batches WHERE peer = ? AND sequence = ?", [peer, sequence],
            table: "outbound_batches", keyColumns: [0, 1], decodeBatch)
    }

    /// Sorted by peer id.
    func peersWithWork() throws -> [String] {
        try fetchAll(
            db,
            """
            SELECT peer FROM outbound_batches WHERE state = 'pending'
            UNION SELECT DISTINCT peer FROM push_backlog
            ORDER BY peer
            """,
            [], table: "outbound_batches", keyColumns: [0]
        ) { try $0.string(0) }
    }

    func inboxEntry(sender: String, batchId: String) throws -> InboxEntry? {
        try fetchOne(
            db,
            "SELECT sender, batch_id, sequence, payload_digest, receipt, received_at FROM inbox WHERE sender = ? AND batch_id = ?",
            [sender, batchId], table: "inbox", keyColumns: [0, 1]
        ) { row in
            InboxEntry(
                sender: try row.string(0), batchId: try row.string(1), sequence: try row.int(2), payloadDigest: try row.digest(3),
                receipt: try row.bytes(4), receivedAt: try row.timestamp(5))
        }
    }
}
