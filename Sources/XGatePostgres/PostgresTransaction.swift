import Logging
import PostgresNIO
import XGateCore
import XGateJSON

/// The transaction handed to `PostgresStore.write`: one pooled connection inside `BEGIN ISOLATION LEVEL SERIALIZABLE
/// … COMMIT`.
///
/// Every statement is parameterised (PostgresQuery interpolation binds each value; nothing is spliced into the SQL).
/// Each method either does all it says or throws having changed nothing: checks come before writes, so that a
/// refusal of the store's own (``StoreError/Code/sequence``, ``StoreError/Code/duplicate``,
/// ``StoreError/Code/missing``) leaves the transaction usable, as in the SQLite store. A statement the server refuses
/// aborts the whole transaction, which `write` then rolls back.
struct PostgresTransaction: PostgresReading, StoreTransaction {
    let connection: PostgresConnection
    let logger: Logger
    let failure: StatementFailure

    // MARK: Records

    /// ``putRecords(_:)`` of one.
    @discardableResult
    func putRecord(_ state: RecordState, origin: RecordOrigin) async throws -> Int64 {
        try await putRecords([RecordPut(state, origin: origin)])[0]
    }

    /// One statement for each run of puts without a repeated key (an upsert cannot change one row twice in one
    /// statement): a batch's records are one run unless it changes a record twice. A run's rows travel as one JSON
    /// argument (``XGateJSON/JSONValue/recordset(_:_:)``), numbered 1, 2, 3 … in order, and row i takes the local
    /// sequence `max(local_seq) + i`, read and written in the same statement: the sequences, and each record's
    /// previous sequence, are those that storing the puts one by one gives. Under SERIALIZABLE, two writers that read
    /// the same maximum cannot both commit: the second fails with 40001 (a conflict the caller runs again), so
    /// sequences are given once each, in commit order.
    @discardableResult
    func putRecords(_ puts: [RecordPut]) async throws -> [Int64] {
        var sequences: [Int64] = []
        var start = puts.startIndex
        while start < puts.endIndex {
            var keys: Set<RecordKey> = []
            var end = start
            while end < puts.endIndex, keys.insert(puts[end].state.key).inserted { end += 1 }
            sequences += try await putRun(puts[start..<end])
            start = end
        }
        return sequences
    }

    /// One upsert of puts with distinct keys; their local sequences, in order.
    private func putRun(_ run: ArraySlice<RecordPut>) async throws -> [Int64] {
        let rows = JSONValue.recordset(run) { put in
            let state = put.state
            return [
                ("owner", .string(state.key.owner)), ("kind", .string(state.key.kind)), ("source_id", .string(state.key.sourceId)),
                ("state_json", .string(state.storageJSON.columnText)), ("status", .string(state.status.value.rawValue)),
                ("content_version", .integer(state.content?.version)), ("status_version", .integer(state.status.version)),
                ("has_conflicts", .bool(!state.conflicts.isEmpty)),
                ("decision_date", .text(state.content?.record["data"]?["decisionDate"]?.stringValue)),
                ("source", .text(put.origin.source)), ("changed_at_s", .integer(put.origin.at?.seconds)),
                ("made_here", .bool(put.origin.madeHere)),
            ]
        }
        let stored = try await fetchAll(
            """
            INSERT INTO records (
                owner, kind, source_id, state_json, status, content_version, status_version, has_conflicts, decision_date,
                source, changed_at_s, local_seq, previous_seq, made_here_seq)
            SELECT u.owner, u.kind, u.source_id, u.state_json, u.status, u.content_version, u.status_version, u.has_conflicts,
                u.decision_date, u.source, u.changed_at_s, n.seq + u.i, 0, CASE WHEN u.made_here THEN n.seq + u.i ELSE 0 END
            FROM json_to_recordset(\(rows)::json) AS u (
                    i bigint, owner text, kind text, source_id text, state_json text, status text, content_version bigint,
                    status_version bigint, has_conflicts boolean, decision_date text, source text, changed_at_s bigint,
                    made_here boolean)
                CROSS JOIN (SELECT coalesce(max(local_seq), 0) AS seq FROM records) AS n
            ON CONFLICT (owner, kind, source_id) DO UPDATE SET
                state_json = excluded.state_json, status = excluded.status, content_version = excluded.content_version,
                status_version = excluded.status_version, has_conflicts = excluded.has_conflicts,
                decision_date = excluded.decision_date, source = excluded.source, changed_at_s = excluded.changed_at_s,
                previous_seq = records.local_seq, local_seq = excluded.local_seq,
                made_here_seq = CASE WHEN excluded.made_here_seq > 0 THEN excluded.local_seq ELSE records.made_here_seq END
            RETURNING owner, kind, source_id, local_seq
            """,
            table: "records", keyColumns: [0, 1, 2]
        ) { row in (RecordKey(owner: try row.string(0), kind: try row.string(1), sourceId: try row.string(2)), try row.int64(3)) }
        let sequences = Dictionary(stored, uniquingKeysWith: max)
        return try run.map { put in
            guard let sequence = sequences[put.state.key] else {
                throw StoreError(.database, "storing \(put.state.key) in records returned no local sequence")
            }
            return sequence
        }
    }

    /// The list form, of one entry.
    func appendHistory(_ entry: HistoryEntry) async throws { try await appendHistory([entry]) }

    /// One statement for all the entries, inserted in order (the ids they take keep it).
    func appendHistory(_ entries: [HistoryEntry]) async throws {
        guard !entries.isEmpty else { return }
        let rows = JSONValue.recordset(entries) { entry in
            [
                ("owner", .string(entry.key.owner)), ("kind", .string(entry.key.kind)), ("source_id", .string(entry.key.sourceId)),
                ("part", .string(entry.part.rawValue)), ("version", .integer(entry.version)), ("digest", .string(entry.digest.description)),
                ("value_json", .string(entry.value.columnText)), ("source", .string(entry.source)), ("at", .string(entry.at.text)),
            ]
        }
        try await execute(
            """
            INSERT INTO record_history (owner, kind, source_id, part, version, digest, value_json, source, at)
            SELECT owner, kind, source_id, part, version, digest, value_json, source, at
            FROM json_to_recordset(\(rows)::json) AS u (
                i bigint, owner text, kind text, source_id text, part text, version bigint, digest text, value_json text,
                source text, at text)
            ORDER BY i
            """)
    }

    // MARK: Push positions and outbound batches

    /// A batch's record keys as stored: a JSON array of `[owner, kind, sourceId]`.
    static func keysText(_ keys: [RecordKey]) -> String {
        JSONValue.array(keys.map { .array([.string($0.owner), .string($0.kind), .string($0.sourceId)]) }).columnText
    }

    func setPushPosition(peer: String, position: Int64) async throws {
        try await execute(
            """
            INSERT INTO push_positions (peer, position) VALUES (\(peer), \(position))
            ON CONFLICT (peer) DO UPDATE SET position = excluded.position
            """)
    }

    /// One statement for all the keys (the arrays are unnested side by side).
    func removeBacklog(peer: String, keys: [RecordKey]) async throws {
        guard !keys.isEmpty else { return }
        try await execute(
            """
            DELETE FROM push_backlog b USING unnest(\(keys.map(\.owner)), \(keys.map(\.kind)), \(keys.map(\.sourceId)))
                AS k (owner, kind, source_id)
            WHERE b.peer = \(peer) AND b.owner = k.owner AND b.kind = k.kind AND b.source_id = k.source_id
            """)
    }

    func saveOutboundBatch(_ batch: OutboundBatch) async throws {
        let expected = try await nextOutboundSequence(peer: batch.peer)
        guard batch.sequence == expected else {
            throw StoreError(
                .sequence,
                "batch \(batch.batchId) to \(batch.peer) has sequence \(batch.sequence), but the channel's next sequence is \(expected)")
        }
        if let held = try await fetchOne(
            "SELECT peer FROM outbound_batches WHERE batch_id = \(batch.batchId)", table: "outbound_batches", keyColumns: [0],
            { try $0.string(0) })
        {
            throw StoreError(.duplicate, "batch id \(batch.batchId) is already used by a batch to \(held)")
        }
        // The channel first: a concurrent writer that took the same sequence has written (or created) the same
        // channel row, and the upsert of a row a concurrent transaction wrote fails with 40001 under SERIALIZABLE (a
        // conflict, run again) — where the batch's insert would fail as a duplicate (peer, sequence), a constraint.
        try await setChannelSequence(peer: batch.peer, direction: "outbound", next: batch.sequence + 1)
        try await execute(
            """
            INSERT INTO outbound_batches (peer, sequence, batch_id, jws, record_keys, created_at, state, attempts,
                next_attempt_at, next_attempt_at_s, last_error, receipt)
            VALUES (\(batch.peer), \(batch.sequence), \(batch.batchId), \(batch.jws.bytea), \(Self.keysText(batch.keys)),
                \(batch.createdAt.text), \(batch.state.rawValue), \(batch.attempts), \(batch.nextAttemptAt.text),
                \(batch.nextAttemptAt.seconds), \(batch.lastError), \(batch.receipt?.bytea))
            """)
    }

    func updateOutboundBatch(_ batch: OutboundBatch) async throws {
        let changed = try await count(
            """
            UPDATE outbound_batches SET state = \(batch.state.rawValue), attempts = \(batch.attempts),
                next_attempt_at = \(batch.nextAttemptAt.text), next_attempt_at_s = \(batch.nextAttemptAt.seconds),
                last_error = \(batch.lastError), receipt = \(batch.receipt?.bytea)
            WHERE peer = \(batch.peer) AND sequence = \(batch.sequence) AND batch_id = \(batch.batchId)
            RETURNING 1
            """)
        guard changed == 1 else {
            throw StoreError(.missing, "there is no outbound batch \(batch.batchId) to \(batch.peer) with sequence \(batch.sequence)")
        }
    }

    func resignOutboundBatch(_ batch: OutboundBatch, replacing oldBatchId: String) async throws {
        let changed = try await count(
            """
            UPDATE outbound_batches SET batch_id = \(batch.batchId), jws = \(batch.jws.bytea), record_keys = \(Self.keysText(batch.keys)),
                created_at = \(batch.createdAt.text), state = \(batch.state.rawValue), attempts = \(batch.attempts),
                next_attempt_at = \(batch.nextAttemptAt.text), next_attempt_at_s = \(batch.nextAttemptAt.seconds),
                last_error = \(batch.lastError), receipt = NULL
            WHERE peer = \(batch.peer) AND sequence = \(batch.sequence) AND batch_id = \(oldBatchId) AND state = 'pending'
            RETURNING 1
            """)
        guard changed == 1 else {
            throw StoreError(.missing, "there is no pending outbound batch \(oldBatchId) to \(batch.peer) with sequence \(batch.sequence)")
        }
        // The hops it carries now travel under the new id, so the receipt's outcomes land on them.
        try await execute(
            """
            UPDATE lineage SET batch_id = \(batch.batchId)
            WHERE batch_id = \(oldBatchId) AND peer = \(batch.peer) AND direction = 'outbound'
            """)
    }

    /// Sets the next sequence of a channel.
    private func setChannelSequence(peer: String, direction: String, next: Int) async throws {
        try await execute(
            """
            INSERT INTO channels (peer, direction, next_sequence) VALUES (\(peer), \(direction), \(next))
            ON CONFLICT (peer, direction) DO UPDATE SET next_sequence = excluded.next_sequence
            """)
    }

    // MARK: Inbox

    func saveInbox(_ entry: InboxEntry) async throws {
        if try await inboxEntry(sender: entry.sender, batchId: entry.batchId) != nil {
            throw StoreError(.duplicate, "the inbox already holds batch \(entry.batchId) from \(entry.sender)")
        }
        // The channel first, as in saveOutboundBatch: two writers taking the same sequence conflict on its row.
        try await setChannelSequence(peer: entry.sender, direction: "inbound", next: entry.sequence + 1)
        try await execute(
            """
            INSERT INTO inbox (sender, batch_id, sequence, payload_digest, receipt, received_at)
            VALUES (\(entry.sender), \(entry.batchId), \(entry.sequence), \(entry.payloadDigest.description),
                \(entry.receipt.bytea), \(entry.receivedAt.text))
            """)
    }
}
