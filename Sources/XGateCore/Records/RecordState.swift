import XGateJSON

/// What a node holds for one record: the winning content, the winning status, and every concurrent loser.
public struct RecordState: Sendable, Equatable {
    public var key: RecordKey
    /// The current content; nil while only a status has arrived (a repair can overtake the record it repairs).
    public var content: ContentVersion?
    public var status: StatusChange
    /// Concurrent versions that lost the deterministic tie-break, kept for operators.
    public var conflicts: [Conflict]

    /// Creates a state.
    public init(key: RecordKey, content: ContentVersion?, status: StatusChange, conflicts: [Conflict] = []) {
        self.key = key
        self.content = content
        self.status = status
        self.conflicts = conflicts
    }

    /// A digest of what must converge (content and status): equal on every node that received the same
    /// changes, in any order, any number of times. Conflicts are not part of it: a conflict is recorded where
    /// both versions meet, and a node that received the newer version first never sees the older pair meet.
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
