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
    func putRecord(_ state: RecordState, origin: RecordOrigin) throws -> Int64 {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO records (
                    owner, kind, source_id, state_json, status, content_version, status_version, has_conflicts, decision_date,
                    source, changed_at_s, local_seq, previous_seq, made_here_seq)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, (SELECT coalesce(max(local_seq), 0) + 1 FROM records), 0,
                    CASE WHEN ?12 THEN (SELECT coalesce(max(local_seq), 0) + 1 FROM records) ELSE 0 END)
                ON CONFLICT (owner, kind, source_id) DO UPDATE SET
                    state_json = excluded.state_json, status = excluded.status, content_version = excluded.content_version,
                    status_version = excluded.status_version, has_conflicts = excluded.has_conflicts,
                    decision_date = excluded.decision_date, source = excluded.source, changed_at_s = excluded.changed_at_s,
                    previous_seq = records.local_seq, local_seq = excluded.local_seq,
                    made_here_seq = CASE WHEN ?12 THEN excluded.local_seq ELSE records.made_here_seq END
                RETURNING local_seq
                """)
        statement.setUncheckedArguments([
            state.key.owner, state.key.kind, state.key.sourceId, state.storageJSON.columnText, state.status.value.rawValue,
            state.content?.version, state.status.version, state.conflicts.isEmpty ? 0 : 1,
            state.content?.record["data"]?["decisionDate"]?.stringValue, origin.source, origin.at?.seconds, origin.madeHere ? 1 : 0,
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

    // MARK: Push positions and outbound batches

    /// A batch's record keys as stored: a JSON array of `[owner, kind, sourceId]`.
    static func keysText(_ keys: [RecordKey]) -> String {
        JSONValue.array(keys.map { .array([.string($0.owner), .string($0.kind), .string($0.sourceId)]) }).columnText
    }

    func setPushPosition(peer: String, position: Int64) throws {
        try execute(
            """
            INSERT INTO push_positions (peer, position) VALUES (?, ?)
            ON CONFLICT (peer) DO UPDATE SET position = excluded.position
            """,
            [peer, position])
    }

    func removeBacklog(peer: String, keys: [RecordKey]) throws {
        for key in keys {
            try execute(
                "DELETE FROM push_backlog WHERE peer = ? AND owner = ? AND kind = ? AND source_id = ?",
                [peer, key.owner, key.kind, key.sourceId])
        }
    }

    func saveOutboundBatch(_ batch: OutboundBatch) throws {
        let expected = try nextOutboundSequence(peer: batch.peer)
        guard batch.sequence == expected else {
            throw StoreError(
                .sequence,
                "batch \(batch.batchId) to \(batch.peer) has sequence \(batch.sequence), but the channel's next sequence is \(expected)")
        }
        let keys = Self.keysText(batch.keys)
        if let held = try String.fetchOne(
            db.cachedStatement(sql: "SELECT peer FROM outbound_batches WHERE batch_id = ?"), arguments: [batch.batchId])
        {
            throw StoreError(.duplicate, "batch id \(batch.batchId) is already used by a batch to \(held)")
        }
        try execute(
            """
            INSERT INTO outbound_batches (peer, sequence, batch_id, jws, record_keys, created_at, state, attempts,
                next_attempt_at, next_attempt_at_s, last_error, receipt)
            VALUES (?, ?, ?, coalesce(?, X''), ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                batch.peer, batch.sequence, batch.batchId, batch.jws.blob, keys, batch.createdAt.text, batch.state.rawValue,
                batch.attempts, batch.nextAttemptAt.text, batch.nextAttemptAt.seconds, batch.lastError, batch.receipt?.blob,
            ])
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
            UPDATE outbound_batches SET batch_id = ?, jws = ?, record_keys = ?, created_at = ?, state = ?, attempts = ?,
                next_attempt_at = ?, next_attempt_at_s = ?, last_error = ?, receipt = NULL
            WHERE peer = ? AND sequence = ? AND batch_id = ? AND state = 'pending'
            """,
            [
                batch.batchId, batch.jws.blob, Self.keysText(batch.keys), batch.createdAt.text, batch.state.rawValue, batch.attempts, batch.nextAttemptAt.text,
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
