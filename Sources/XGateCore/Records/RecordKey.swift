import XGateJSON

/// The identity of a record everywhere in the federation: the node that owns it, its kind, and the owner's own id.
public struct RecordKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The node that originated the record and owns its content.
    public var owner: String
    /// The record kind, e.g. `administrative-penalty`.
    public var kind: String
    /// The owner's stable id for the record.
    public var sourceId: String

    /// Creates a key.
    public init(owner: String, kind: String, sourceId: String) {
        self.owner = owner
        self.kind = kind
        self.sourceId = sourceId
    }

    /// Parses the text form `owner/kind/sourceId`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        self.init(owner: String(parts[0]), kind: String(parts[1]), sourceId: String(parts[2]))
    }

    /// `owner/kind/sourceId`.
    public var description: String { "\(owner)/\(kind)/\(sourceId)" }

    /// The wire form `{"owner": …, "kind": …, "sourceId": …}`.
    public var json: JSONValue { ["owner": .string(owner), "kind": .string(kind), "sourceId": .string(sourceId)] }

    public static func < (lhs: RecordKey, rhs: RecordKey) -> Bool {
        (lhs.owner, lhs.kind, lhs.sourceId) < (rhs.owner, rhs.kind, rhs.sourceId)
    }
}
