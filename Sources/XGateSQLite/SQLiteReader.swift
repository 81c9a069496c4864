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
    /// `owner, kind, source_id, state_json, local_seq`, the columns ``decodeRecord(_:)`` reads.
    static var recordColumns: String { "owner, kind, source_id, state_json, local_seq" }

    func decodeRecord(_ row: RowDecoder) throws -> StoredRecord {
        let key = try row.recordKey(0)
        let json = try row.json(3)
        let state: RecordState
        do {
            state = try RecordState(storedJSON: json)
        } catch {
            throw row.corrupt(3, "is not a stored record state (\(error))")
        }
        guard state.key == key else { throw row.corrupt(3, "holds the state of another record") }
        return StoredRecord(state: state, localSequence: try row.int64(4))
    }

    func record(_ key: RecordKey) throws -> StoredRecord? {
        try fetchOne(
            db, "SELECT \(Self.recordColumns) FROM records WHERE owner = ? AND kind = ? AND source_id = ?",
            [key.owner, key.kind, key.sourceId], table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    func records(after localSequence: Int64, limit: Int) throws -> [StoredRecord] {
        try fetchAll(
            db, "SELECT \(Self.recordColumns) FROM records WHERE local_seq > ? ORDER BY local_seq LIMIT ?",
            [localSequence, limit], table: "records", keyColumns: [0, 1, 2], decodeRecord)
    }

    func lastLocalSequence() throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(local_seq), 0) FROM records")) ?? 0
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
    static var outboxColumns: String {
        "o.id, o.peer, o.owner, o.kind, o.source_id, c.change_json, o.is_correction, o.enqueued_at"
    }

    func decodeOutboxItem(_ row: RowDecoder) throws -> OutboxItem {
        OutboxItem(
            id: try row.int64(0), peer: try row.string(1), key: try row.recordKey(2), change: try row.json(5),
            isCorrection: try row.bool(6), enqueuedAt: try row.timestamp(7))
    }

    func pendingOutbox(peer: String, limit: Int) throws -> [OutboxItem] {
        try fetchAll(
            db,
            """
            SELECT \(Self.outboxColumns) FROM outbox AS o JOIN outbox_changes AS c ON c.id = o.change_id
            WHERE o.peer = ? AND o.batch_sequence IS NULL ORDER BY o.id LIMIT ?
            """,
            [peer, limit], table: "outbox", keyColumns: [0], decodeOutboxItem)
    }

    func pendingOutboxSummary(peer: String) throws -> (count: Int, oldest: Timestamp?) {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT count(*), (SELECT enqueued_at FROM outbox WHERE peer = ? AND batch_sequence IS NULL ORDER BY id LIMIT 1)
                    FROM outbox WHERE peer = ? AND batch_sequence IS NULL
                    """),
            arguments: [peer, peer])
        let count: Int = row?[0] ?? 0
        let oldest: String? = row?[1]
        return (count, oldest.flatMap { Timestamp($0) })
    }

    /// In the order of `ids`; unknown ids are skipped.
    func outboxItems(ids: [Int64]) throws -> [OutboxItem] {
        guard !ids.isEmpty else { return [] }
        return try fetchAll(
            db,
            """
            SELECT \(Self.outboxColumns)
            FROM json_each(?) AS j JOIN outbox AS o ON o.id = j.value JOIN outbox_changes AS c ON c.id = o.change_id ORDER BY j.key
            """,
            [JSONValue.array(ids.map { .number(Double($0)) }).columnText], table: "outbox", keyColumns: [0], decodeOutboxItem)
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

    static var batchColumns: String {
        "peer, sequence, batch_id, jws, item_ids, created_at, state, attempts, next_attempt_at, last_error, receipt"
    }

    func decodeBatch(_ row: RowDecoder) throws -> OutboundBatch {
        guard let ids = try row.json(4).arrayValue else { throw row.corrupt(4, "is not a JSON array") }
        let itemIDs = try ids.map { value -> Int64 in
            guard let number = value.numberValue, let id = Int64(exactly: number) else { throw row.corrupt(4, "holds a non-integer id") }
            return id
        }
        return OutboundBatch(
            peer: try row.string(0), sequence: try row.int(1), batchId: try row.string(2), jws: try row.bytes(3), itemIDs: itemIDs,
            createdAt: try row.timestamp(5), state: try row.value(6, as: OutboundBatch.State.self), attempts: try row.int(7),
            nextAttemptAt: try row.timestamp(8), lastError: try row.optionalString(9), receipt: try row.optionalBytes(10))
    }

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
            // Hops from one pending peer to the next through the partial index, instead of scanning every pending item.
            """
            WITH RECURSIVE pending(peer) AS (
                SELECT (SELECT peer FROM outbox WHERE batch_sequence IS NULL ORDER BY peer LIMIT 1)
                UNION ALL
                SELECT (SELECT o.peer FROM outbox AS o WHERE o.batch_sequence IS NULL AND o.peer > pending.peer ORDER BY o.peer LIMIT 1)
                FROM pending WHERE pending.peer IS NOT NULL
            )
            SELECT peer FROM pending WHERE peer IS NOT NULL
            UNION SELECT peer FROM outbound_batches WHERE state = 'pending'
            ORDER BY peer
            """,
            [], table: "outbox", keyColumns: [0]
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
