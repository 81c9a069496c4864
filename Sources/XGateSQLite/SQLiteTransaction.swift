import GRDB
import XGateCore
import XGateJSON

/// The transaction handed to `SQLiteStore.write`: the writer connection inside `BEGIN IMMEDIATE … COMMIT`.
///
/// Hot-path writes (`putRecord`, `appendHistory`, `appendLineage`, `enqueue`) run through cached prepared statements
/// with raw SQL. Each method either does all it says or throws having changed nothing: checks come before writes.
struct SQLiteTransaction: SQLiteReading, StoreTransaction {
    let db: Database

    /// Runs a cached statement with arguments already matching its parameters.
    private func execute(_ sql: String, _ arguments: StatementArguments) throws {
        let statement = try db.cachedStatement(sql: sql)
        statement.setUncheckedArguments(arguments)
        try statement.execute()
    }

    // MARK: Records

    @discardableResult
    func putRecord(_ state: RecordState) throws -> Int64 {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO records (
                    owner, kind, source_id, state_json, status, content_version, status_version, has_conflicts, decision_date, local_seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(local_seq), 0) + 1 FROM records))
                ON CONFLICT (owner, kind, source_id) DO UPDATE SET
                    state_json = excluded.state_json, status = excluded.status, content_version = excluded.content_version,
                    status_version = excluded.status_version, has_conflicts = excluded.has_conflicts,
                    decision_date = excluded.decision_date, local_seq = excluded.local_seq
                RETURNING local_seq
                """)
        statement.setUncheckedArguments([
            state.key.owner, state.key.kind, state.key.sourceId, state.storedJSON.columnText, state.status.value.rawValue,
            state.content?.version, state.status.version, state.conflicts.isEmpty ? 0 : 1,
            state.content?.record["data"]?["decisionDate"]?.stringValue,
        ])
        guard let sequence = try Int64.fetchOne(statement) else {
            throw StoreError(.database, "storing \(state.key) in records returned no local sequence")
        }
        return sequence
    }

    func appendHistory(_ entry: HistoryEntry) throws {
        try execute(
            """
            INSERT INTO record_history (owner, kind, source_id, part, version, digest, value_json, source, at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                entry.key.owner, entry.key.kind, entry.key.sourceId, entry.part.rawValue, entry.version, entry.digest.description,
                entry.value.columnText, entry.source, entry.at.text,
            ])
    }

    // MARK: Outbox and outbound batches

    @discardableResult
    func enqueue(_ item: OutboxItem) throws -> Int64 {
        try enqueue(item.change, key: item.key, to: [item.peer], isCorrection: item.isCorrection, at: item.enqueuedAt)[0]
    }

    /// The change text is written once; each peer gets a small row that refers to it, all of them inserted by one
    /// statement (the city relays one record to a dozen partners: one round trip instead of twelve).
    @discardableResult
    func enqueue(_ change: JSONValue, key: RecordKey, to peers: [String], isCorrection: Bool, at: Timestamp) throws -> [Int64] {
        guard !peers.isEmpty else { return [] }
        try execute("INSERT INTO outbox_changes (change_json) VALUES (?)", [change.columnText])
        let changeID = db.lastInsertedRowID
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO outbox (peer, owner, kind, source_id, change_id, is_correction, enqueued_at)
                SELECT value, ?, ?, ?, ?, ?, ? FROM json_each(?) ORDER BY key
                RETURNING id
                """)
        statement.setUncheckedArguments([
            key.owner, key.kind, key.sourceId, changeID, isCorrection ? 1 : 0, at.text,
            JSONValue.array(peers.map { .string($0) }).columnText,
        ])
        let ids = try Int64.fetchAll(statement).sorted()  // RETURNING order is unspecified; ids ascend in peer order
        guard ids.count == peers.count else {
            throw StoreError(.database, "queuing \(key) for \(peers.count) peers inserted \(ids.count) outbox rows")
        }
        return ids
    }

    func saveOutboundBatch(_ batch: OutboundBatch) throws {
        let expected = try nextOutboundSequence(peer: batch.peer)
        guard batch.sequence == expected else {
            throw StoreError(
                .sequence,
                "batch \(batch.batchId) to \(batch.peer) has sequence \(batch.sequence), but the channel's next sequence is \(expected)")
        }
        let ids = JSONValue.array(batch.itemIDs.map { .number(Double($0)) }).columnText
        // CROSS JOIN keeps json_each outside: otherwise SQLite scans every pending item of the peer once per id.
        let pending = try Int64.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT o.id FROM json_each(?) AS j CROSS JOIN outbox AS o ON o.id = j.value
                    WHERE o.peer = ? AND o.batch_sequence IS NULL
                    """),
            arguments: [ids, batch.peer])
        let notPending = Set(batch.itemIDs).subtracting(pending)
        guard notPending.isEmpty, Set(batch.itemIDs).count == batch.itemIDs.count else {
            let listed = notPending.sorted().prefix(10).map(String.init).joined(separator: ", ")
            throw StoreError(
                .outboxItem,
                notPending.isEmpty
                    ? "batch \(batch.batchId) to \(batch.peer) lists an outbox item twice"
                    : "batch \(batch.batchId) to \(batch.peer) carries outbox items that are unknown, for another peer, or already in a batch (ids \(listed))"
            )
        }
        if let held = try String.fetchOne(
            db.cachedStatement(sql: "SELECT peer FROM outbound_batches WHERE batch_id = ?"), arguments: [batch.batchId])
        {
            throw StoreError(.duplicate, "batch id \(batch.batchId) is already used by a batch to \(held)")
        }
        try execute(
            """
            INSERT INTO outbound_batches (peer, sequence, batch_id, jws, item_ids, created_at, state, attempts,
                next_attempt_at, next_attempt_at_s, last_error, receipt)
            VALUES (?, ?, ?, coalesce(?, X''), ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                batch.peer, batch.sequence, batch.batchId, batch.jws.blob, ids, batch.createdAt.text, batch.state.rawValue,
                batch.attempts, batch.nextAttemptAt.text, batch.nextAttemptAt.seconds, batch.lastError, batch.receipt?.blob,
            ])
        try execute(
            "UPDATE outbox SET batch_sequence = ? WHERE id IN (SELECT value FROM json_each(?))", [batch.sequence, ids])
        try setChannelSequence(peer: batch.peer, direction: "outbound", next: batch.sequence + 1)
    }

    func updateOutboundBatch(_ batch: OutboundBatch) throws {
        try execute(
            """
            UPDATE outbound_batches SET state = ?, attempts = ?, next_attempt_at = ?, next_attempt_at_s = ?, last_error = ?, receipt = ?
            WHERE peer = ? AND sequence = ? AND batch_id = ?
            """,
            [
                batch.state.rawValue, batch.attempts, batch.nextAttemptAt.text, batch.nextAttemptAt.seconds, batch.lastError,
                batch.receipt?.blob, batch.peer, batch.sequence, batch.batchId,
            ])
        guard db.changesCount == 1 else {
            throw StoreError(.missing, "there is no outbound batch \(batch.batchId) to \(batch.peer) with sequence \(batch.sequence)")
        }
    }

    func resignOutboundBatch(_ batch: OutboundBatch, replacing oldBatchId: String) throws {
        try execute(
            """
            UPDATE outbound_batches SET batch_id = ?, jws = ?, created_at = ?, state = ?, attempts = ?, next_attempt_at = ?,
                next_attempt_at_s = ?, last_error = ?, receipt = NULL
            WHERE peer = ? AND sequence = ? AND batch_id = ? AND state = 'pending'
            """,
            [
                batch.batchId, batch.jws.blob, batch.createdAt.text, batch.state.rawValue, batch.attempts, batch.nextAttemptAt.text,
                batch.nextAttemptAt.seconds, batch.lastError, batch.peer, batch.sequence, oldBatchId,
            ])
        guard db.changesCount == 1 else {
            throw StoreError(.missing, "there is no pending outbound batch \(oldBatchId) to \(batch.peer) with sequence \(batch.sequence)")
        }
        // The hops it carries now travel under the new id, so the receipt's outcomes land on them.
        try execute(
            "UPDATE lineage SET batch_id = ? WHERE batch_id = ? AND peer = ? AND direction = 'outbound'",
            [batch.batchId, oldBatchId, batch.peer])
    }

    /// Sets the next sequence of a channel.
    private func setChannelSequence(peer: String, direction: String, next: Int) throws {
        try execute(
            """
            INSERT INTO channels (peer, direction, next_sequence) VALUES (?, ?, ?)
            ON CONFLICT (peer, direction) DO UPDATE SET next_sequence = excluded.next_sequence
            """,
            [peer, direction, next])
    }

    // MARK: Inbox

    func saveInbox(_ entry: InboxEntry) throws {
        if try inboxEntry(sender: entry.sender, batchId: entry.batchId) != nil {
            throw StoreError(.duplicate, "the inbox already holds batch \(entry.batchId) from \(entry.sender)")
        }
        try execute(
            """
            INSERT INTO inbox (sender, batch_id, sequence, payload_digest, receipt, received_at)
            VALUES (?, ?, ?, ?, coalesce(?, X''), ?)
            """,
            [
                entry.sender, entry.batchId, entry.sequence, entry.payloadDigest.description, entry.receipt.blob,
                entry.receivedAt.text,
            ])
        try setChannelSequence(peer: entry.sender, direction: "inbound", next: entry.sequence + 1)
    }
}
