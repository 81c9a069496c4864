import XGateCore
import XGateJSON

extension SyncEngine {
    /// Statuses whose arrival must be acknowledged by every holder.
    static let corrections: Set<RecordStatus> = [.disputed, .repaired, .repairRevoked, .revoked, .expired, .exited, .active]

    /// Nothing is queued when a record changes: the record's new position in the log is what every outbound channel
    /// reads (``outboundChange(_:to:at:today:reader:)``). What is written here is what this node now owes: a status
    /// decision after the first (a correction) that this node forwards — the city, or the node that made it — is owed
    /// to every former holder of the record (lineage), each until it acknowledges (a receipt, or an acknowledgement of
    /// a pulled page). The peer the change came from has it already. Called for each state whose status a merge
    /// changed (``store(_:in:)``).
    func trackCorrections(_ state: RecordState, cameFrom: String?, at: Timestamp, in tx: any StoreTransaction) async throws {
        guard let status = owedCorrection(state) else { return }
        for peer in try await tx.holders(of: state.key).sorted() where peer != node.id && peer != cameFrom {
            try await tx.trackCorrection(
                CorrectionTracking(key: state.key, statusVersion: status.version, status: status.value, peer: peer, sentAt: at))
        }
    }

    /// The record's standing status when it is a correction this node owes its holders (see above), else nil.
    func owedCorrection(_ state: RecordState) -> StatusChange? {
        guard state.status.from != nil, SyncEngine.corrections.contains(state.status.value) else { return nil }
        guard node.isRelay || state.status.author == node.id, let status = statusToCarry(state), status.version == state.status.version
        else { return nil }
        return status
    }

    /// The status a change from this node carries (PROTOCOL.md §5.4): the city, which relays, carries the status that
    /// stands; any other node the newest decision it made itself (nil if it made none).
    func statusToCarry(_ state: RecordState) -> StatusChange? {
        if node.isRelay { return state.status }
        return state.statusHistory.filter { $0.author == node.id }.max { $0.version < $1.version }
    }
}
