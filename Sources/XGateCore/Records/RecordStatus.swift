/// The life-cycle status of a record (DESIGN.md §3, DOMAIN.md §5).
public enum RecordStatus: String, Sendable, CaseIterable, Comparable {
    /// Published and shared.
    case active
    /// An objection (异议) is being decided; the record is annotated.
    case disputed
    /// Credit repair (信用修复) granted: publicity ends everywhere, sharing stops.
    case repaired
    /// A repair obtained by fraud was withdrawn (撤销修复): publicity resumes.
    case repairRevoked = "repair-revoked"
    /// The underlying decision was annulled (决定被撤销): the record is deleted everywhere. Terminal.
    case revoked
    /// The publicity period ended by itself (公示期满).
    case expired
    /// The subject left the list (移出名单). List kinds only.
    case exited

    /// Rank used to break ties between concurrent status changes of the same version: the more protective
    /// status for the subject wins (a revocation over an expiry over an exit over a repair over a dispute).
    public var precedence: Int {
        switch self {
        case .active: return 1
        case .disputed: return 2
        case .repairRevoked: return 3
        case .repaired: return 4
        case .exited: return 5
        case .expired: return 6
        case .revoked: return 7
        }
    }

    /// Whether the record is still published and shared in this status.
    public var isPublished: Bool { self == .active || self == .disputed || self == .repairRevoked }

    /// The statuses a change may move to from this one.
    public var allowedNext: Set<RecordStatus> {
        switch self {
        case .active: return [.disputed, .repaired, .revoked, .expired, .exited]
        case .disputed: return [.active, .repaired, .revoked, .expired, .exited]
        case .repaired: return [.repairRevoked, .revoked]
        case .repairRevoked: return [.disputed, .repaired, .revoked, .expired, .exited]
        case .expired: return [.revoked]
        case .exited: return [.revoked]
        case .revoked: return []
        }
    }

    public static func < (lhs: RecordStatus, rhs: RecordStatus) -> Bool { lhs.precedence < rhs.precedence }
}
