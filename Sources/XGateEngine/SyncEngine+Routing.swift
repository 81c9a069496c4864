import XGateCore
import XGateJSON

extension SyncEngine {
    /// Statuses whose arrival must be acknowledged by every holder.
    static let corrections: Set<RecordStatus> = [.disputed, .repaired, .repairRevoked, .revoked, .expired, .exited, .active]

    /// Queues a record's current state to every peer that should have it, after it changed at this node.
    ///
    /// - Content goes, masked per agreement, to every peer an agreement lets this node send the kind and subject to.
    /// - A status decision after the first (a correction) also goes, status-only, to every node that ever held any
    ///   version of the record (lineage), whatever today's agreements route — and its acknowledgement is tracked.
    /// - Only the city relays what others wrote; any other node sends only its own changes, carrying the newest
    ///   status decision it made itself (PROTOCOL.md §5.4).
    /// - Nothing goes back to the peer the change came from.
    func route(
        _ state: RecordState, contentChanged: Bool, statusChanged: Bool, cameFrom: String?, at: Timestamp, in tx: any StoreTransaction
    ) throws {
        let me = node.id
        guard contentChanged || statusChanged else { return }
        let authoredHere = (contentChanged && state.content?.author == me) || (statusChanged && state.status.author == me)
        guard node.isRelay || authoredHere else { return }
        guard let status = statusToCarry(state) else { return }
        let isCorrection = statusChanged && state.status.from != nil && SyncEngine.corrections.contains(state.status.value)
        let date = at.chinaDate
        var sent = Set<String>()
        if let content = state.content, contentChanged || isCorrection {
            let subjectType = content.record["subject"]?["type"]?.stringValue ?? ""
            if node.isRelay || content.author == me {
                // Peers with the same permission see the same redacted record: redact and queue it once for all of them.
                var groups: [(permission: Federation.Permission, peers: [String])] = []
                for (peer, permission) in node.destinations(kind: state.key.kind, subjectType: subjectType, on: date) where peer != cameFrom
                {
                    if let i = groups.firstIndex(where: {
                        $0.permission.mask == permission.mask && $0.permission.withhold == permission.withhold
                    }) {
                        groups[i].peers.append(peer)
                    } else {
                        groups.append((permission, [peer]))
                    }
                }
                for group in groups {
                    let (record, masked) = Federation.redact(content.record, permission: group.permission)
                    var travelling = content
                    travelling.record = record
                    let change = Change(key: state.key, content: travelling, status: status, masked: masked)
                    try tx.enqueue(change.json, key: state.key, to: group.peers, isCorrection: isCorrection, at: at)
                    sent.formUnion(group.peers)
                }
            }
        }
        if isCorrection {
            let holders = try tx.holders(of: state.key).sorted().filter { $0 != me && $0 != cameFrom && !sent.contains($0) }
            try tx.enqueue(
                Change(key: state.key, content: nil, status: status).json, key: state.key, to: holders, isCorrection: true, at: at)
            sent.formUnion(holders)
            for peer in sent.sorted() {
                try tx.trackCorrection(
                    CorrectionTracking(key: state.key, statusVersion: status.version, status: status.value, peer: peer, sentAt: at))
            }
        }
    }

    /// The status a change from this node carries (PROTOCOL.md §5.4): the city, which relays, carries the status that
    /// stands; any other node the newest decision it made itself (nil if it made none).
    func statusToCarry(_ state: RecordState) -> StatusChange? {
        if node.isRelay { return state.status }
        return state.statusHistory.filter { $0.author == node.id }.max { $0.version < $1.version }
    }
}
