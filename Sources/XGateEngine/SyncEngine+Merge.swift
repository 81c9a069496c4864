import XGateCore
import XGateJSON

/// What merging a set of changes writes, gathered so that the store writes each table once: the records in one
/// ``XGateCore/StoreTransaction/putRecords(_:)``, their history and their lineage in one call each (one statement
/// per table on PostgreSQL, not a round trip per record).
struct MergeWrites {
    var puts: [RecordPut] = []
    var history: [HistoryEntry] = []
    var lineage: [LineageEntry] = []
    /// States whose status changed, in order: each may make corrections owed
    /// (``SyncEngine/trackCorrections(_:cameFrom:at:in:)``).
    var statusChanges: [(state: RecordState, cameFrom: String?, at: Timestamp)] = []
}

extension SyncEngine {
    /// Merges one change into the store (a new position in the log) and notes the corrections it makes owed: a
    /// decision or a conflict resolution made here (``stage(_:held:source:at:into:)`` then ``store(_:in:)``, as for
    /// a batch).
    @discardableResult
    func apply(_ change: Change, held: RecordState?, source: String, at: Timestamp, in tx: any StoreTransaction) async throws
        -> ChangeOutcome
    {
        var writes = MergeWrites()
        let (outcome, _) = stage(change, held: held, source: source, at: at, into: &writes)
        try await store(writes, in: tx)
        return outcome
    }

    /// Merges one change with the state held (nil: none) and adds what that writes to `writes`, without touching the
    /// store. Returns the change's outcome and the state now held, which the next change of the same record in the
    /// same set is merged with. Shared by local submissions, decisions and received batches.
    func stage(_ change: Change, held: RecordState?, source: String, at: Timestamp, into writes: inout MergeWrites)
        -> (ChangeOutcome, RecordState?)
    {
        let (next, outcome) = Merge.apply(change, to: held, policy: node.policy)
        guard let state = next, state != held else { return (outcome, held) }
        writes.puts.append(RecordPut(state, origin: RecordOrigin(source: source, madeHere: source == node.id, at: at)))
        writes.history += historyEntries(of: change, before: held, after: state, source: source, at: at)
        if state.status.digest != held?.status.digest {
            writes.statusChanges.append((state, source == node.id ? nil : source, at))
        }
        return (outcome, state)
    }

    /// Writes what ``stage(_:held:source:at:into:)`` gathered: the records in order (a record staged twice is stored
    /// twice, its second position the later), their history, the corrections their status changes make owed, then
    /// the lineage. The holders that corrections are owed to come from the lineage written before this set: the
    /// hops this set adds are from the peer the changes came from, which has them already.
    func store(_ writes: MergeWrites, in tx: any StoreTransaction) async throws {
        if !writes.puts.isEmpty { try await tx.putRecords(writes.puts) }
        if !writes.history.isEmpty { try await tx.appendHistory(writes.history) }
        for change in writes.statusChanges {
            try await trackCorrections(change.state, cameFrom: change.cameFrom, at: change.at, in: tx)
        }
        if !writes.lineage.isEmpty { try await tx.appendLineage(writes.lineage) }
    }

    /// The history entries for the parts of a change that were taken, and a content version that lost a conflict:
    /// the state forgets a conflict once a higher version settles it, the history keeps both rivals.
    func historyEntries(of change: Change, before: RecordState?, after: RecordState, source: String, at: Timestamp) -> [HistoryEntry] {
        // A content digest covers the record alone: a version is its number and its digest.
        func holds(_ state: RecordState?, _ content: ContentVersion) -> Bool {
            state?.content.map { $0.version == content.version && $0.digest == content.digest } ?? false
        }
        func isRival(_ state: RecordState?, _ content: ContentVersion) -> Bool {
            state?.conflicts.contains { $0.part == .content && $0.version == content.version && $0.loser == content.digest } ?? false
        }
        var entries: [HistoryEntry] = []
        if let content = change.content, !holds(before, content), !isRival(before, content),
            holds(after, content) || isRival(after, content)
        {
            entries.append(
                HistoryEntry(
                    key: change.key, part: .content, version: content.version, digest: content.digest, value: content.json, source: source,
                    at: at))
        }
        let statusDigest = change.status.digest
        if !(before?.statusHistory.contains { $0.digest == statusDigest } ?? false) {
            entries.append(
                HistoryEntry(
                    key: change.key, part: .status, version: change.status.version, digest: statusDigest, value: change.status.json,
                    source: source, at: at))
        }
        return entries
    }
}
