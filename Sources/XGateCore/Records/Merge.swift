import XGateJSON

/// Who may make which change, as the merge needs to know it.
public struct MergePolicy: Sendable {
    /// Nodes with the city role: they may change any record's status (the city's repair and objection process)
    /// and may write a content override that resolves a conflict.
    public var cityNodes: Set<String>
    /// Kinds that are lists (records may be `exited`).
    public var listKinds: Set<String>

    /// Creates a policy.
    public init(cityNodes: Set<String>, listKinds: Set<String>) {
        self.cityNodes = cityNodes
        self.listKinds = listKinds
    }
}

/// What happened to one change.
public enum ChangeOutcome: Sendable, Equatable {
    /// Something new was taken.
    case applied
    /// Exactly this was already held.
    case duplicate
    /// Something newer was already held; nothing changed.
    case stale
    /// A different version with the same number was held; the deterministic winner is kept and the loser recorded.
    case conflict
    /// Refused; nothing of the change was taken.
    case rejected(Rejection)

    /// The wire name (`applied`, `duplicate`, `stale`, `conflict`, `rejected`).
    public var name: String {
        switch self {
        case .applied: return "applied"
        case .duplicate: return "duplicate"
        case .stale: return "stale"
        case .conflict: return "conflict"
        case .rejected: return "rejected"
        }
    }
}

/// Why a change or record was refused: a stable code, the field at fault, and a sentence.
public struct Rejection: Sendable, Equatable, CustomStringConvertible {
    /// A stable code from Contracts/PROTOCOL.md, e.g. `status.unauthorised`, `schema.required`, `uscc.check-character`.
    public var code: String
    /// The field at fault (a JSON pointer into the change), when there is one.
    public var field: JSONPointer?
    public var message: String

    /// Creates a rejection.
    public init(code: String, field: JSONPointer? = nil, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String {
        if let field { return "\(code) at \(field.description.isEmpty ? "/" : field.description): \(message)" }
        return "\(code): \(message)"
    }
}

/// The merge: a pure function from (held state, incoming change) to (new state, outcome).
///
/// Content and status are two registers merged independently, so the result does not depend on the order or
/// number of deliveries (DESIGN.md §3):
/// 1. content: higher version wins; equal version and equal digest is a duplicate; equal version and different
///    digest is a conflict won by the greater digest, the loser recorded until a higher version settles it;
/// 2. status: every decision seen is kept (a grow-only set), and the standing status is the head of the *status
///    chain* computed from it: walk the versions upwards; at each version the candidates are the decisions made
///    *from* the status that stood at the version before (when that version is known), and the greatest by
///    (precedence, author, digest) stands. A decision made from a status that did not stand — an objection outcome
///    issued without knowing of a concurrent repair — is off the chain: it is recorded as a conflict and changes
///    nothing. So a repair, revocation or expiry is only ever replaced by a newer decision made from it, and a content
///    change never touches the status at all;
/// 3. a change not authorised for its author is rejected whole before it touches anything.
public enum Merge {
    /// Checks what can be checked from the change alone: authorship and the status transition.
    public static func authorise(_ change: Change, policy: MergePolicy) -> Rejection? {
        let key = change.key
        if let content = change.content {
            if content.version < 1 {
                return Rejection(code: "content.version", field: JSONPointer("/content/version"), message: "content versions start at 1")
            }
            let isOwner = content.author == key.owner
            let isCityOverride = content.override != nil && policy.cityNodes.contains(content.author)
            if !isOwner && !isCityOverride {
                return Rejection(
                    code: "content.unauthorised", field: JSONPointer("/content/author"),
                    message: "only the owner \(key.owner) writes the content of \(key); \(content.author) is not the owner"
                        + (policy.cityNodes.contains(content.author)
                            ? " (the city may only write a content override that resolves a conflict)" : ""))
            }
            if let record = content.record.objectValue {
                if record["kind"]?.stringValue != key.kind || record["sourceId"]?.stringValue != key.sourceId {
                    return Rejection(
                        code: "key.mismatch", field: JSONPointer("/content/record"),
                        message: "the record's kind and sourceId must equal the key's (\(key.kind), \(key.sourceId))")
                }
            }
        }
        let status = change.status
        let statusField = JSONPointer("/status")
        if status.from == nil {
            if status.version != 1 || status.value != .active {
                return Rejection(code: "status.transition", field: statusField, message: "a record's first status is 'active' at version 1")
            }
        } else if let from = status.from {
            if status.version < 2 {
                return Rejection(
                    code: "status.transition", field: statusField, message: "a status change from '\(from.rawValue)' has version 2 or more")
            }
            if !from.allowedNext.contains(status.value) {
                return Rejection(
                    code: "status.transition", field: statusField,
                    message: "'\(from.rawValue)' cannot become '\(status.value.rawValue)'")
            }
            if status.reason == nil || status.basis == nil {
                return Rejection(
                    code: "status.reason-required", field: statusField, message: "a status change needs a reason and a legal basis")
            }
        }
        if status.value == .exited && !policy.listKinds.contains(key.kind) {
            return Rejection(
                code: "status.transition", field: statusField, message: "only list entries can be 'exited'; \(key.kind) is not a list")
        }
        if status.author != key.owner && !policy.cityNodes.contains(status.author) {
            return Rejection(
                code: "status.unauthorised", field: JSONPointer("/status/author"),
                message: "\(status.author) may not change the status of \(key): only the owner \(key.owner) or the city platform may")
        }
        return nil
    }

    /// Merges a change into the held state.
    public static func apply(_ change: Change, to held: RecordState?, policy: MergePolicy) -> (RecordState?, ChangeOutcome) {
        if let rejection = authorise(change, policy: policy) { return (held, .rejected(rejection)) }
        guard var state = held else {
            return (RecordState(key: change.key, content: change.content, status: change.status), .applied)
        }
        var outcomes: [ChangeOutcome] = []
        if let incoming = change.content { outcomes.append(mergeContent(incoming, into: &state)) }
        outcomes.append(mergeStatus(change.status, into: &state))
        state.conflicts.sort()
        if outcomes.contains(.conflict) { return (state, .conflict) }
        if outcomes.contains(.applied) { return (state, .applied) }
        if outcomes.contains(.stale) { return (state, .stale) }
        return (state, .duplicate)
    }

    static func mergeContent(_ incoming: ContentVersion, into state: inout RecordState) -> ChangeOutcome {
        guard let held = state.content else {
            state.content = incoming
            return .applied
        }
        if incoming.version > held.version {
            // A conflict is about the standing version: once content moves past it (an operator's override, or the
            // owner's next edit) it is settled. Dropping it here keeps states equal whatever the order: a node that
            // gets the newer version first never sees the older rival at all (it is stale).
            state.content = incoming
            state.conflicts.removeAll { $0.part == .content && $0.version < incoming.version }
            return .applied
        }
        if incoming.version < held.version { return .stale }
        if incoming.digest == held.digest { return .duplicate }
        if state.conflicts.contains(where: { $0.part == .content && $0.version == incoming.version && $0.loser == incoming.digest }) {
            return .duplicate
        }
        let (winner, loser) = incoming.digest > held.digest ? (incoming, held) : (held, incoming)
        state.content = winner
        state.conflicts.append(Conflict(part: .content, version: loser.version, loser: loser.digest, loserValue: loser.json))
        return .conflict
    }

    static func mergeStatus(_ incoming: StatusChange, into state: inout RecordState) -> ChangeOutcome {
        let digest = incoming.digest
        if let index = state.statusHistory.firstIndex(where: { $0.digest == digest }) {
            // The same decision again. Keep its earliest time so every node holds the same bytes.
            if Self.isEarlier(incoming.at, than: state.statusHistory[index].at) {
                state.statusHistory[index] = incoming
                resolveStatus(&state)
            }
            return .duplicate
        }
        state.statusHistory.append(incoming)
        state.statusHistory.sort { ($0.version, $0.digest) < ($1.version, $1.digest) }
        let chain = resolveStatus(&state)
        guard chain.contains(digest) else { return .conflict }
        return state.status.digest == digest ? .applied : .stale
    }

    /// Recomputes the standing status and the status conflicts from the history; returns the chain's digests.
    @discardableResult
    static func resolveStatus(_ state: inout RecordState) -> Set<Digest> {
        let (head, chain) = statusChain(state.statusHistory)
        state.status = head
        state.conflicts.removeAll { $0.part == .status }
        for change in state.statusHistory where !chain.contains(change.digest) {
            state.conflicts.append(Conflict(part: .status, version: change.version, loser: change.digest, loserValue: change.json))
        }
        state.conflicts.sort()
        return chain
    }

    /// The status chain of a set of decisions: its head (the status that stands) and its members.
    public static func statusChain(_ history: [StatusChange]) -> (head: StatusChange, chain: Set<Digest>) {
        let byVersion = Dictionary(grouping: history, by: \.version)
        var head: StatusChange?
        var chain = Set<Digest>()
        for version in byVersion.keys.sorted() {
            var candidates = byVersion[version] ?? []
            if let standing = head, standing.version == version - 1 {
                candidates = candidates.filter { $0.from == standing.value }
            }
            guard let winner = candidates.max(by: { precedes($0, $1) }) else { break }
            head = winner
            chain.insert(winner.digest)
        }
        return (head ?? history[0], chain)
    }

    /// The tie-break between decisions of the same version: the more protective status for the subject, then the
    /// author's id, then the digest.
    static func precedes(_ a: StatusChange, _ b: StatusChange) -> Bool {
        (a.value.precedence, a.author, a.digest) < (b.value.precedence, b.author, b.digest)
    }

    static func isEarlier(_ a: String, than b: String) -> Bool {
        guard let ta = Timestamp(a), let tb = Timestamp(b) else { return a < b }
        return ta == tb ? a < b : ta < tb
    }
}
