import XGateCore
import XGateJSON

extension SyncEngine {
    /// The owner's expiry sweep: every record this node owns whose publicity period has ended and that is still
    /// published gets an `expired` decision, which travels to every holder like any correction. Returns the keys expired.
    @discardableResult
    public func expireDue(pageSize: Int = 1000) async throws -> [RecordKey] {
        let today = clock.now().chinaDate
        var due: [(RecordKey, PublicityEnd)] = []
        var after: Int64 = 0
        while true {
            let page = try await store.read { try await $0.records(after: after, limit: pageSize) }
            guard let last = page.last else { break }
            after = last.localSequence
            for stored in page where stored.state.key.owner == node.id && stored.state.status.value.isPublished {
                if let end = publicityEnd(of: stored.state), end.date <= today { due.append((stored.state.key, end)) }
            }
        }
        var expired: [RecordKey] = []
        for (key, end) in due {
            try await decide(key, status: .expired, reason: "公示期满（\(end.date)），终止公示", basis: end.text, reasonCode: "publicity-ended")
            expired.append(key)
        }
        return expired
    }

    /// Drops the signed bytes of batches delivered more than `sentBatchRetentionSeconds` ago, `pageSize` per
    /// transaction (the writer is never held long); returns how many. The receipt, the lineage of each record and the
    /// log stay: what was sent, to whom and with which outcome is still answered; only the byte-exact resend, which a
    /// delivered batch never needs, is gone.
    @discardableResult
    public func pruneSentBatches(pageSize: Int = 200) async throws -> Int {
        guard configuration.sentBatchRetentionSeconds > 0 else { return 0 }
        let before = Timestamp(seconds: clock.now().seconds - configuration.sentBatchRetentionSeconds)
        var total = 0
        while true {
            let pruned = try await store.write { tx in try await tx.pruneDeliveredBatches(deliveredBefore: before, limit: pageSize) }
            total += pruned
            if pruned < pageSize { return total }
        }
    }

    /// Corrections sent more than the configured deadline ago that a holder has not acknowledged; each is logged once
    /// per call as `correction.unacknowledged`.
    public func overdueCorrections() async throws -> [CorrectionTracking] {
        let now = clock.now()
        return try await store.read {
            try await $0.unacknowledgedCorrections(sentBefore: Timestamp(seconds: now.seconds - configuration.correctionDeadlineSeconds))
        }
    }
}
