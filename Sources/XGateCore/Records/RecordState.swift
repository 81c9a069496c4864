import XGateJSON

/// What a node holds for one record: the winning content, every status decision it has seen and the one that
/// stands, and every concurrent loser.
public struct RecordState: Sendable, Equatable {
    public var key: RecordKey
    /// The current content; nil while only a status has arrived (a repair can overtake the record it repairs).
    public var content: ContentVersion?
    /// The status that stands: the head of the status chain (see ``Merge``).
    public var status: StatusChange
    /// Every status decision seen, one per identity, ordered by version then digest. A grow-only set: the standing
    /// status is a function of it, so nodes that saw the same decisions agree whatever the order.
    public var statusHistory: [StatusChange]
    /// Versions that lost: concurrent content at the same version, and status decisions off the chain (a concurrent
    /// loser, or a decision made from a status that did not stand). Kept for operators.
    public var conflicts: [Conflict]

    /// Creates a state.
    public init(key: RecordKey, content: ContentVersion?, status: StatusChange, conflicts: [Conflict] = []) {
        self.key = key
        self.content = content
        self.status = status
        self.statusHistory = [status]
        self.conflicts = conflicts
    }

    /// A digest of what must converge (content and the standing status): equal on every node that received the
    /// same changes, in any order, any number of times. Conflicts are not part of it: a content conflict is recorded
    /// where both versions meet, and a node that received the newer version first never sees the older pair meet.
    public var digest: Digest {
        var o = JSONObject()
        o["key"] = key.json
        o["content"] = content.map { ["version": .number(Double($0.version)), "digest": .string($0.digest.description)] } ?? .null
        o["status"] = status.json
        return Digest(canonical: .object(o))
    }
}

/// A concurrent version that lost: same version number, different content or status.
public struct Conflict: Sendable, Equatable, Comparable {
    /// Which part of the record the conflict is about.
    public enum Part: String, Sendable, Comparable {
        case content, status
        public static func < (lhs: Part, rhs: Part) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var part: Part
    public var version: Int
    /// The losing version's digest (content: of its record; status: of the status change).
    public var loser: Digest
    /// The losing version itself, so an operator can see both and override.
    public var loserValue: JSONValue

    /// The wire/report form.
    public var json: JSONValue {
        ["part": .string(part.rawValue), "version": .number(Double(version)), "loser": .string(loser.description), "value": loserValue]
    }

    public static func < (lhs: Conflict, rhs: Conflict) -> Bool {
        (lhs.part, lhs.version, lhs.loser) < (rhs.part, rhs.version, rhs.loser)
    }
}
