import XGateCore
import XGateJSON

extension SyncEngine {
    /// Takes a department's export (record documents) as this node's own records: each is checked against the
    /// contracts; a record whose content changed gets the next content version; the change is merged, kept, and
    /// sent from the log to every peer the outbound rule names. One transaction for the whole submission.
    public func submit(records: [JSONValue]) async throws -> [LocalResult] {
        let now = clock.now()
        return try await store.write { tx in
            // The records as the contracts see them, and every record they name read in one call.
            let prepared = records.enumerated().map { index, raw in
                let record = node.contracts.normalisingIdentifiers(raw)
                let kind = record["kind"]?.stringValue
                let sourceId = record["sourceId"]?.stringValue
                let key = kind.flatMap { k in sourceId.map { RecordKey(owner: node.id, kind: k, sourceId: $0) } }
                return (index: index, record: record, key: key, issues: node.contracts.issues(inRecord: record, today: now.chinaDate))
            }
            var held = try await tx.records(prepared.compactMap(\.key)).mapValues(\.state)
            var writes = MergeWrites()
            var results: [LocalResult] = []
            for (index, record, key, issues) in prepared {
                if let error = issues.first(where: { $0.severity == .error }) {
                    let rejection = error.rejection(under: .root)
                    try await tx.appendRejection(
                        RejectionEntry(
                            peer: node.id, batchId: nil, index: index, key: key, code: rejection.code, field: rejection.field?.description,
                            message: rejection.message, at: now))
                    results.append(LocalResult(index: index, key: key, outcome: .rejected(rejection), reviews: []))
                    continue
                }
                guard let key else { continue }
                let before = held[key]
                if let before, before.content?.digest == Digest(canonical: record) {
                    results.append(LocalResult(index: index, key: key, outcome: .duplicate, reviews: []))
                    continue
                }
                let content = ContentVersion(version: (before?.content?.version ?? 0) + 1, author: node.id, at: now.text, record: record)
                let status =
                    before.flatMap(statusToCarry)
                    ?? StatusChange(version: 1, value: .active, from: nil, author: node.id, at: now.text)
                let change = Change(key: key, content: content, status: status)
                let (outcome, after) = stage(change, held: before, source: node.id, at: now, into: &writes)
                held[key] = after
                results.append(LocalResult(index: index, key: key, outcome: outcome, reviews: issues.filter { $0.severity == .review }))
            }
            try await store(writes, in: tx)
            try await tx.appendLog(
                SyncLogEntry(
                    at: now, peer: nil, batchId: nil, event: "record.local",
                    detail: "\(records.count) records submitted: \(results.filter { $0.outcome == .applied }.count) applied, "
                        + "\(results.filter { if case .rejected = $0.outcome { return true } else { return false } }.count) rejected"))
            var counts: [String: Int] = [:]
            for result in results { counts[result.outcome.name, default: 0] += 1 }
            try await tx.appendAudit(
                at: now, actor: "operator", action: "records.submitted", subject: node.id,
                detail: ["records": .number(Double(records.count)), "outcomes": SyncEngine.summaryJSON(counts)])
            return results
        }
    }

    /// Makes a status decision on a record this node holds (a repair, an objection and its outcome, a revocation, a
    /// repair revocation, a list exit, an expiry). Only the owner or the city may; the decision is made from the status
    /// that stands, kept, and sent to every node that ever held the record. Returns the new state.
    @discardableResult
    public func decide(_ key: RecordKey, status value: RecordStatus, reason: String, basis: String, reasonCode: String? = nil) async throws
        -> RecordState
    {
        let now = clock.now()
        return try await store.write { tx in
            guard let held = try await tx.record(key)?.state else {
                throw EngineError(code: "record.unknown", message: "this node holds no record \(key)")
            }
            let decision = StatusChange(
                version: held.status.version + 1, value: value, from: held.status.value, author: node.id, at: now.text,
                reason: reason, basis: basis, reasonCode: reasonCode)
            return try await applyOperatorChange(
                Change(key: key, content: nil, status: decision), held: held, event: "record.status",
                detail: "\(key): \(held.status.value.rawValue) → \(value.rawValue)", at: now, in: tx)
        }
    }

    /// Applies a change an operator made at this node (a decision, a conflict resolution): refused changes become
    /// errors, the action is logged, and the merged state is returned.
    func applyOperatorChange(
        _ change: Change, held: RecordState, event: String, detail: String, at now: Timestamp, in tx: any StoreTransaction
    ) async throws -> RecordState {
        if case .rejected(let rejection) = try await apply(change, held: held, source: node.id, at: now, in: tx) {
            throw EngineError(code: rejection.code, message: rejection.message)
        }
        try await tx.appendLog(SyncLogEntry(at: now, peer: nil, batchId: nil, event: event, detail: detail))
        try await tx.appendAudit(
            at: now, actor: "operator", action: event == "record.status" ? "status.decided" : event, subject: change.key.description,
            detail: [
                "detail": .string(detail), "statusVersion": .number(Double(change.status.version)),
                "status": .string(change.status.value.rawValue),
            ])
        guard let state = try await tx.record(change.key)?.state else {
            throw EngineError(code: "store.inconsistent", message: "\(change.key) vanished")
        }
        return state
    }
}
