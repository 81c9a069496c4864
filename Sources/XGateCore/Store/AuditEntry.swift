import XGateJSON

/// One entry of a node's audit log (审计日志): every batch in and out, every feed page, every operator action, each
/// chained to the one before by its hash, so that an altered, inserted or removed entry breaks the chain
/// (`xgate audit verify`).
///
/// `hash` = SHA-256 (lowercase hex) of the canonical JSON (keys sorted, no white space: the form records are digested in) of
/// `{"seq", "at", "actor", "action", "subject", "detail", "previous"}`, where `previous` is the hash of entry
/// `seq - 1` (64 zeros for entry 1). The log can only be verified, not protected, by the node that writes it:
/// operators keep the head hash elsewhere (it is in the output of `xgate audit verify`) to detect a cut tail.
public struct AuditEntry: Sendable, Equatable {
    /// 1, 2, 3 … with no gaps.
    public var seq: Int64
    public var at: Timestamp
    /// Who acted: a peer's node id, `operator`, or this node.
    public var actor: String
    /// `batch.received`, `batch.delivered`, `feed.served`, `feed.pulled`, `acknowledgement.received`,
    /// `records.submitted`, `status.decided`, `conflict.resolved`, `batch.requeued`.
    public var action: String
    /// What the action concerned: a batch id, a record key, a peer.
    public var subject: String
    /// Particulars, as JSON.
    public var detail: JSONValue
    public var previous: String
    public var hash: String

    /// The hash before entry 1.
    public static let origin = String(repeating: "0", count: 64)

    /// Creates an entry and computes its hash.
    public init(seq: Int64, at: Timestamp, actor: String, action: String, subject: String, detail: JSONValue, previous: String) {
        self.init(stored: seq, at: at, actor: actor, action: action, subject: subject, detail: detail, previous: previous, hash: "")
        self.hash = computedHash
    }

    /// Reads an entry as stored, keeping its stored hash (which `computedHash` may contradict).
    public init(
        stored seq: Int64, at: Timestamp, actor: String, action: String, subject: String, detail: JSONValue, previous: String,
        hash: String
    ) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
        self.previous = previous
        self.hash = hash
    }

    /// The hash the entry's content calls for.
    public var computedHash: String {
        Digest(canonical: [
            "seq": .number(Double(seq)), "at": .string(at.text), "actor": .string(actor), "action": .string(action),
            "subject": .string(subject), "detail": detail, "previous": .string(previous),
        ]).hex
    }
}

/// What `xgate audit verify` found.
public struct AuditVerification: Sendable, Equatable {
    /// Entries read.
    public var entries: Int64
    /// The hash of the last entry (record it elsewhere to detect a cut tail).
    public var head: String
    /// The first break, if any: which entry and how.
    public var problem: String?

    /// Walks the chain in order; stops at the first break.
    public static func verify(_ entries: some Sequence<AuditEntry>) -> AuditVerification {
        var walk = Walk()
        for entry in entries where walk.add(entry) {}
        return walk.result
    }

    /// The chain walked an entry at a time (a log read a page at a time): ``add(_:)`` each entry in order while it
    /// returns true; ``result`` is what was found so far.
    public struct Walk: Sendable {
        private var expectedSeq: Int64 = 1
        private var previous = AuditEntry.origin
        private var count: Int64 = 0
        private var problem: String?

        public init() {}

        /// What the walk found: the entries that verified, the head, the first break.
        public var result: AuditVerification { AuditVerification(entries: count, head: previous, problem: problem) }

        /// Checks the next entry; false once the chain broke (here or before), when reading on is pointless.
        public mutating func add(_ entry: AuditEntry) -> Bool {
            guard problem == nil else { return false }
            if entry.seq != expectedSeq {
                problem =
                    entry.seq > expectedSeq
                    ? "entries \(expectedSeq)…\(entry.seq - 1) are missing (removed)" : "entry \(entry.seq) appears out of order"
            } else if entry.previous != previous {
                problem =
                    "entry \(entry.seq) does not follow entry \(entry.seq - 1): its previous hash is \(entry.previous), expected \(previous)"
            } else if entry.computedHash != entry.hash {
                problem = "entry \(entry.seq) (\(entry.action) \(entry.subject)) was altered: its content does not give its stored hash"
            } else {
                previous = entry.hash
                expectedSeq += 1
                count += 1
                return true
            }
            return false
        }
    }
}
