import XGateCore
import XGateJSON

extension SyncEngine {
    /// An operator's resolution of a content conflict: the chosen copy (the standing one or a recorded loser, named by
    /// its digest) becomes a new content version with an `override` naming the conflicted version, and travels like any
    /// other change. Only the owner or the city may override.
    @discardableResult
    public func resolveConflict(_ key: RecordKey, choosing digest: Digest) async throws -> RecordState {
        let now = clock.now()
        return try await store.write { tx in
            guard let held = try await tx.record(key)?.state, let current = held.content else {
                throw EngineError(code: "record.unknown", message: "this node holds no content for \(key)")
            }
            let chosen: JSONValue
            let conflictedVersion: Int
            if current.digest == digest, let conflict = held.conflicts.last(where: { $0.part == .content && $0.version == current.version })
            {
                chosen = current.record
                conflictedVersion = conflict.version
            } else if let loser = held.conflicts.first(where: { $0.part == .content && $0.loser == digest }),
                let record = loser.loserValue["record"]
            {
                chosen = record
                conflictedVersion = loser.version
            } else {
                throw EngineError(code: "conflict.unknown", message: "\(key) has no content conflict with a copy \(digest)")
            }
            var content = ContentVersion(version: current.version + 1, author: node.id, at: now.text, record: chosen)
            content.override = .init(version: conflictedVersion, digest: digest)
            let status = statusToCarry(held) ?? held.status
            return try await applyOperatorChange(
                Change(key: key, content: content, status: status), held: held, event: "conflict.resolved",
                detail: "\(key): version \(conflictedVersion) resolved as \(digest), new version \(content.version)", at: now, in: tx)
        }
    }

    /// Logs every correction a holder has not acknowledged within the deadline (`correction.unacknowledged`) and returns them.
    @discardableResult
    public func flagOverdueCorrections() async throws -> [CorrectionTracking] {
        let overdue = try await overdueCorrections()
        guard !overdue.isEmpty else { return [] }
        let now = clock.now()
        try await store.write { tx in
            for tracking in overdue {
                try await tx.appendLog(
                    SyncLogEntry(
                        at: now, peer: tracking.peer, batchId: nil, event: "correction.unacknowledged",
                        detail:
                            "\(tracking.key) \(tracking.status.rawValue) (status version \(tracking.statusVersion)) sent \(tracking.sentAt), not acknowledged"
                    ))
            }
        }
        return overdue
    }
}
