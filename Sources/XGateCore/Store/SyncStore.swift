import XGateJSON

/// A node's durable state. Every call of `write` is one atomic transaction: a crash at any instant leaves either
/// all of it or none of it. Logic (merge, routing, retries) lives in the engine; the store keeps facts.
///
/// Implementations: the SQLite store (every node) and, later, the PostgreSQL store (the city). Both must pass the
/// same conformance suite (`StoreConformance` in XGateTestSupport).
public protocol SyncStore: Sendable {
    /// Runs `body` in one write transaction; if it throws, nothing of it is kept. `body` awaits nothing but the
    /// transaction's own calls (a store may run it on its connection's executor: SQLite does).
    func write<T: Sendable>(_ body: @escaping (any StoreTransaction) async throws -> T) async throws -> T
    /// Runs `body` against a consistent snapshot; `body` awaits nothing but the reader's own calls.
    func read<T: Sendable>(_ body: @escaping (any StoreReader) async throws -> T) async throws -> T
    /// Ends the store's use: what it has written is kept durably where the next open finds it (SQLite: the WAL
    /// checkpointed into the file; a server database: the pool's connections closed). Any later call fails.
    func close() async throws
}

/// What can be read from a store.
public protocol StoreReader {
    /// The record with this key, if held.
    func record(_ key: RecordKey) async throws -> StoredRecord?
    /// The held records among `keys`, by key (a key not held is absent): what a batch's merge reads, in one statement
    /// where the backend can (`record(_:)` for each by default).
    func records(_ keys: [RecordKey]) async throws -> [RecordKey: StoredRecord]
    /// The version of the record's standing status, if held — without reading its state.
    func statusVersion(of key: RecordKey) async throws -> Int?
    /// Records changed after `localSequence`, in local-sequence order, at most `limit`: the raw feed.
    func records(after localSequence: Int64, limit: Int) async throws -> [StoredRecord]
    /// The highest local sequence assigned so far (0 when none).
    func lastLocalSequence() async throws -> Int64
    /// Records holding at least one conflict, most recently changed first.
    func conflictedRecords(limit: Int) async throws -> [StoredRecord]
    /// The accepted versions of a record, oldest first.
    func history(of key: RecordKey) async throws -> [HistoryEntry]

    /// Records of the log after `localSequence` that a channel with `filter` looks at, in local-sequence order, at
    /// most `limit`.
    func records(after localSequence: Int64, limit: Int, matching filter: ChannelFilter) async throws -> [StoredRecord]
    /// How many records after `localSequence` match `filter`, and when the first of them was stored (for queue depth
    /// and lag; nil when none or unknown).
    func recordSummary(after localSequence: Int64, matching filter: ChannelFilter) async throws -> (count: Int, oldest: Timestamp?)
    /// The position of every push channel in the log (a channel never used has none).
    func pushPositions() async throws -> [String: Int64]
    /// Records queued for `peer` before the log took over (migration v8), oldest first: sent through the outbound rule
    /// before the channel's position.
    func backlog(peer: String, limit: Int) async throws -> [RecordKey]
    /// How many such records wait for `peer`.
    func backlogCount(peer: String) async throws -> Int
    /// The sequence the next batch to `peer` will take (1 for a new channel).
    func nextOutboundSequence(peer: String) async throws -> Int
    /// Outbound batches to `peer` in a given state, by sequence.
    func outboundBatches(peer: String, state: OutboundBatch.State) async throws -> [OutboundBatch]
    /// One outbound batch.
    func outboundBatch(peer: String, sequence: Int) async throws -> OutboundBatch?
    /// One outbound batch by its id.
    func outboundBatch(batchId: String) async throws -> OutboundBatch?
    /// Peers that have pending batches or a backlog.
    func peersWithWork() async throws -> [String]

    /// The dedupe entry for a batch already received.
    func inboxEntry(sender: String, batchId: String) async throws -> InboxEntry?
    /// The sequence expected next from `sender` (1 for a new channel).
    func expectedInboundSequence(from sender: String) async throws -> Int

    /// Every hop of a record, oldest first.
    func lineage(of key: RecordKey) async throws -> [LineageEntry]
    /// Every hop made by one batch or feed page (its records and their outcomes), oldest first.
    func lineage(batchId: String) async throws -> [LineageEntry]
    /// Every peer a record (any version) was delivered to or received from.
    func holders(of key: RecordKey) async throws -> Set<String>

    /// Corrections not acknowledged, sent before `before`.
    func unacknowledgedCorrections(sentBefore before: Timestamp) async throws -> [CorrectionTracking]
    /// Every tracked correction of a record.
    func corrections(of key: RecordKey) async throws -> [CorrectionTracking]
    /// The most recently sent corrections, acknowledged or not, newest first.
    func recentCorrections(limit: Int) async throws -> [CorrectionTracking]

    /// Refused changes, newest first.
    func rejections(limit: Int) async throws -> [RejectionEntry]
    /// Sync log lines after `id`, oldest first, optionally for one peer.
    func log(after id: Int64, peer: String?, limit: Int) async throws -> [SyncLogEntry]

    /// A pull position (an opaque cursor the engine wrote), by subscriber and feed.
    func feedPosition(subscriber: String, feed: String) async throws -> String?
    /// Every lease, by name.
    func leases() async throws -> [Lease]

    /// Audit log entries after `seq`, in order, as stored (their hashes are not checked here).
    func auditEntries(after seq: Int64, limit: Int) async throws -> [AuditEntry]

    /// Held records of `kinds` whose content's `data.decisionDate` falls in [`from`, `through`], each with its reporting
    /// department (`data.dataSource.name`, else `data.authority.name`, else "(unnamed)") and when its first content
    /// version was stored here: what the timeliness report counts, read without visiting the other records.
    func decisions(kinds: Set<String>, from: CivilDate, through: CivilDate) async throws -> [TimelinessReport.Decision]
    /// The first refusal of each record of `kinds` this node refused and does not hold, by key.
    func refusalsOfRecordsNotHeld(kinds: Set<String>) async throws -> [RecordKey: Timestamp]
    /// Activity samples taken at or after `since`, oldest first.
    func activitySamples(since: Timestamp) async throws -> [ActivitySample]

    /// Corrections pulled from `publisher` not yet acknowledged to it, in the order they were queued.
    func pendingAcknowledgements(to publisher: String, limit: Int) async throws -> [Acknowledgement]
    /// How many acknowledgements this node owes `publisher`.
    func pendingAcknowledgementCount(to publisher: String) async throws -> Int
}

extension StoreReader {
    public func records(_ keys: [RecordKey]) async throws -> [RecordKey: StoredRecord] {
        var found: [RecordKey: StoredRecord] = [:]
        for key in keys where found[key] == nil {
            if let stored = try await record(key) { found[key] = stored }
        }
        return found
    }
}

extension StoreTransaction {
    /// Stores a state changed here at an unknown time (tests and tools).
    @discardableResult
    public func putRecord(_ state: RecordState) async throws -> Int64 { try await putRecord(state, origin: .local) }

    @discardableResult
    public func putRecords(_ puts: [RecordPut]) async throws -> [Int64] {
        var sequences: [Int64] = []
        for put in puts { sequences.append(try await putRecord(put.state, origin: put.origin)) }
        return sequences
    }

    public func appendHistory(_ entries: [HistoryEntry]) async throws {
        for entry in entries { try await appendHistory(entry) }
    }

    public func appendLineage(_ entries: [LineageEntry]) async throws {
        for entry in entries { try await appendLineage(entry) }
    }
}

/// What can be written inside one transaction (reads see the transaction's own writes).
public protocol StoreTransaction: StoreReader {
    /// Stores the merged state and gives the record the next local sequence, which is returned; `origin` says where
    /// the change came from (kept with the record for the outbound rule).
    @discardableResult
    func putRecord(_ state: RecordState, origin: RecordOrigin) async throws -> Int64
    /// Appends a version taken to a record's history (an accepted version, or the copy that lost a content conflict).
    func appendHistory(_ entry: HistoryEntry) async throws
    /// `putRecord` for each, in order (a key may come more than once), returning their local sequences in order: what
    /// a batch's merge writes, in one statement where the backend can (`putRecord` for each by default).
    @discardableResult
    func putRecords(_ puts: [RecordPut]) async throws -> [Int64]
    /// `appendHistory` for each, in order (one statement where the backend can).
    func appendHistory(_ entries: [HistoryEntry]) async throws

    /// Sets a push channel's position in the log (the last local sequence its batches have looked at).
    func setPushPosition(peer: String, position: Int64) async throws
    /// Takes records off `peer`'s backlog (unknown ones are ignored).
    func removeBacklog(peer: String, keys: [RecordKey]) async throws
    /// Stores a signed batch and advances the channel: `batch.sequence`
    /// must equal `nextOutboundSequence(peer:)`, else the store throws (sequences never have gaps).
    func saveOutboundBatch(_ batch: OutboundBatch) async throws
    /// Replaces a batch's delivery state (state, attempts, next attempt, last error, receipt).
    func updateOutboundBatch(_ batch: OutboundBatch) async throws
    /// Replaces a pending batch the receiver refused as too old (`batch.outside-window`) by the same changes signed
    /// again: same peer and sequence, the records given; new batch id, bytes and creation time, and the delivery state given. The
    /// outbound hops the old batch carried move to the new id.
    func resignOutboundBatch(_ batch: OutboundBatch, replacing oldBatchId: String) async throws

    /// Records a received batch and its receipt, and expects `entry.sequence + 1` next from the sender.
    func saveInbox(_ entry: InboxEntry) async throws

    /// Appends a hop.
    func appendLineage(_ entry: LineageEntry) async throws
    /// `appendLineage` for each, in order (one statement where the backend can).
    func appendLineage(_ entries: [LineageEntry]) async throws
    /// Sets the outcome of the outbound hops of one batch to one peer for one record; returns the status version that
    /// hop carried (nil: no such hop), so that a receipt is matched to what was sent without reading the batch again.
    @discardableResult
    func setLineageOutcome(peer: String, batchId: String, key: RecordKey, outcome: String) async throws -> Int?

    /// Starts tracking a correction sent to a holder (idempotent for the same key, version and peer).
    func trackCorrection(_ tracking: CorrectionTracking) async throws
    /// Marks a correction acknowledged by a holder, with every earlier tracked version of the record for that holder:
    /// a holder of status version n holds every decision before it (idempotent).
    func acknowledgeCorrection(key: RecordKey, statusVersion: Int, peer: String, at: Timestamp) async throws

    /// Keeps a refused change with its reason.
    func appendRejection(_ entry: RejectionEntry) async throws
    /// Appends a sync log line; returns its id.
    @discardableResult
    func appendLog(_ entry: SyncLogEntry) async throws -> Int64

    /// Saves a pull position.
    func setFeedPosition(subscriber: String, feed: String, cursor: String) async throws
    /// Takes the lease `name` for `holder` until `until`, or renews it: granted when nobody holds it, when `holder`
    /// does, or when it expired at or before `now`. Returns the lease as it stands afterwards — held by `holder` if
    /// granted, else by whoever holds it.
    func acquireLease(_ name: String, holder: String, now: Timestamp, until: Timestamp) async throws -> Lease
    /// Gives the lease up at once (a graceful stop), if `holder` holds it, so that another instance need not wait out
    /// its expiry: it stays, expired, and its epoch goes on counting holders.
    func releaseLease(_ name: String, holder: String) async throws

    /// Appends an entry to the audit log, chained to the last one (its `seq` and `hash` are computed here).
    @discardableResult
    func appendAudit(at: Timestamp, actor: String, action: String, subject: String, detail: JSONValue) async throws -> AuditEntry

    /// Keeps an activity sample (replacing one taken at the same second) and drops the samples taken before
    /// `keepingSince`.
    func appendActivitySample(_ sample: ActivitySample, keepingSince: Timestamp) async throws

    /// Queues acknowledgements of corrections pulled from `publisher` (one already queued is kept once).
    func queueAcknowledgements(_ items: [Acknowledgement], to publisher: String) async throws
    /// Removes acknowledgements `publisher` has taken (unknown ones are ignored).
    func removeAcknowledgements(_ items: [Acknowledgement], to publisher: String) async throws

    /// Notes when a batch was delivered (its receipt taken), for ``pruneDeliveredBatches(deliveredBefore:limit:)``.
    func recordDelivery(peer: String, sequence: Int, at: Timestamp) async throws
    /// Drops the signed bytes of up to `limit` batches delivered before `before` (their row, receipt and record keys stay;
    /// `jws` becomes empty) and forgets those deliveries; returns how many deliveries it took. A batch that is pending
    /// again (being sent again to a peer restored from a backup) keeps its bytes.
    func pruneDeliveredBatches(deliveredBefore before: Timestamp, limit: Int) async throws -> Int
}
