import XGateCore
import XGateJSON

extension SyncEngine {
    /// When a record's publicity ends under the versioned rules (Contracts/publicity-rules.json, chosen by decision
    /// date and severity), or nil if the rules do not apply to it or cannot say.
    func publicityEnd(of state: RecordState) -> CivilDate? {
        guard let content = state.content, let rules = node.contracts.publicity,
            node.contracts.catalogue.kinds[state.key.kind]?.publicity == true,
            let decided = content.record["data"]?["decisionDate"]?.stringValue.flatMap({ CivilDate($0) }),
            let severity = content.record["data"]?["severity"]?.stringValue
        else { return nil }
        let area = content.record["data"]?["area"]?.stringValue
        guard let period = try? rules.period(kind: state.key.kind, decisionDate: decided, severity: severity, area: area) else {
            return nil
        }
        return period.published ? period.endsOn : decided
    }

    /// Whether a record may still be served: its status is a published one and its publicity has not ended.
    /// Receivers apply the same rule as owners, so an expiry that has not yet arrived is enforced anyway.
    func isServable(_ state: RecordState, today: CivilDate) -> Bool {
        guard state.status.value.isPublished else { return false }
        if let end = publicityEnd(of: state), end <= today { return false }
        return true
    }

    /// The owner's expiry sweep: every record this node owns whose publicity period has ended and that is still
    /// published gets an `expired` decision, which travels to every holder like any correction. Returns the keys expired.
    @discardableResult
    public func expireDue(pageSize: Int = 1000) throws -> [RecordKey] {
        let today = clock.now().chinaDate
        var due: [(RecordKey, CivilDate)] = []
        var after: Int64 = 0
        while true {
            let page = try store.read { try $0.records(after: after, limit: pageSize) }
            guard let last = page.last else { break }
            after = last.localSequence
            for stored in page where stored.state.key.owner == node.id && stored.state.status.value.isPublished {
                if let end = publicityEnd(of: stored.state), end <= today { due.append((stored.state.key, end)) }
            }
        }
        var expired: [RecordKey] = []
        for (key, end) in due {
            let regime =
                (try? store.read { try $0.record(key) }).flatMap { $0 }.flatMap { stored -> String? in
                    guard let d = stored.state.content?.record["data"]?["decisionDate"]?.stringValue.flatMap({ CivilDate($0) }) else {
                        return nil
                    }
                    return node.contracts.publicity?.regime(for: d)?.id
                } ?? "?"
            try decide(
                key, status: .expired, reason: "公示期满（\(end)），终止公示", basis: "公示期规则 \(regime)（Contracts/publicity-rules.json）",
                reasonCode: "publicity-ended")
            expired.append(key)
        }
        return expired
    }

    /// Drops the signed bytes of batches delivered more than `sentBatchRetentionSeconds` ago, `pageSize` per
    /// transaction (the writer is never held long); returns how many. The receipt, the lineage of each record and the
    /// log stay: what was sent, to whom and with which outcome is still answered; only the byte-exact resend, which a
    /// delivered batch never needs, is gone.
    @discardableResult
    public func pruneSentBatches(pageSize: Int = 200) throws -> Int {
        guard configuration.sentBatchRetentionSeconds > 0 else { return 0 }
        let before = Timestamp(seconds: clock.now().seconds - configuration.sentBatchRetentionSeconds)
        var total = 0
        while true {
            let pruned = try store.write { tx in try tx.pruneDeliveredBatches(deliveredBefore: before, limit: pageSize) }
            total += pruned
            if pruned < pageSize { return total }
        }
    }

    /// Corrections sent more than the configured deadline ago that a holder has not acknowledged; each is logged once
    /// per call as `correction.unacknowledged`.
    public func overdueCorrections() throws -> [CorrectionTracking] {
        let now = clock.now()
        return try store.read {
            try $0.unacknowledgedCorrections(sentBefore: Timestamp(seconds: now.seconds - configuration.correctionDeadlineSeconds))
        }
    }
}
