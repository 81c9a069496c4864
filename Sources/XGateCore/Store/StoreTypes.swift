import XGateJSON

/// A record as a node holds it: the merged state, the node-local sequence of its last change (its position in this
/// node's log), and where that change came from — what the one outbound rule needs to tell, for a channel at a
/// position, whether the record changed for that peer.
public struct StoredRecord: Sendable, Equatable {
    public var state: RecordState
    /// Node-local, strictly increasing with every change to any record: the position in this node's log.
    public var localSequence: Int64
    /// Where the last change came from: a peer's id, this node's id for a change made here, nil when unknown
    /// (records stored before the log kept it).
    public var source: String?
    /// The record's local sequence before its last change (0 for a new record).
    public var previousSequence: Int64
    /// The local sequence of the last change made at this node (a submission or decision), 0 if none.
    public var madeHereSequence: Int64

    /// Creates a stored record; by default its last change was made here.
    public init(state: RecordState, localSequence: Int64, source: String? = nil, previousSequence: Int64 = 0, madeHereSequence: Int64? = nil) {
        self.state = state
        self.localSequence = localSequence
        self.source = source
        self.previousSequence = previousSequence
        self.madeHereSequence = madeHereSequence ?? localSequence
    }
}

/// One state to store and where its change came from (``StoreTransaction/putRecords(_:)``).
public struct RecordPut: Sendable, Equatable {
    public var state: RecordState
    public var origin: RecordOrigin

    public init(_ state: RecordState, origin: RecordOrigin) {
        self.state = state
        self.origin = origin
    }
}

/// Where a change a node stores came from.
public struct RecordOrigin: Sendable, Equatable {
    /// The peer that sent it, or this node's id.
    public var source: String?
    /// Whether it was made at this node (a submission or a decision).
    public var madeHere: Bool
    /// When it was stored.
    public var at: Timestamp?

    public init(source: String?, madeHere: Bool, at: Timestamp?) {
        self.source = source
        self.madeHere = madeHere
        self.at = at
    }

    /// A change made here, at an unknown time (tests and tools).
    public static let local = RecordOrigin(source: nil, madeHere: true, at: nil)
}

/// Which records of the log an outbound channel looks at (the store's cheap part of the outbound rule; the engine
/// decides the rest record by record): those of a kind the channel may carry with content, and every record with a
/// status decision (a correction may be owed to a former holder); for a node that relays nothing, only records it
/// changed itself after the position.
public struct ChannelFilter: Sendable, Equatable {
    public var kinds: Set<String>
    public var madeHereOnly: Bool
    /// With ``madeHereOnly``: the records made here after this local sequence (nil: after the sequence the look starts
    /// from). A look that starts further on than the channel's position (it found nothing before) still asks about
    /// the records made here since the position.
    public var madeHereAfter: Int64?

    public init(kinds: Set<String>, madeHereOnly: Bool, madeHereAfter: Int64? = nil) {
        self.kinds = kinds
        self.madeHereOnly = madeHereOnly
        self.madeHereAfter = madeHereAfter
    }
}

/// One version of a record that a node accepted, kept as history.
public struct HistoryEntry: Sendable, Equatable {
    public var key: RecordKey
    /// `content` or `status`.
    public var part: Conflict.Part
    public var version: Int
    public var digest: Digest
    /// The content version or status change as it travelled.
    public var value: JSONValue
    /// Where it came from: this node's id for a local change, else the sending peer.
    public var source: String
    public var at: Timestamp

    /// Creates a history entry.
    public init(key: RecordKey, part: Conflict.Part, version: Int, digest: Digest, value: JSONValue, source: String, at: Timestamp) {
        self.key = key
        self.part = part
        self.version = version
        self.digest = digest
        self.value = value
        self.source = source
        self.at = at
    }
}

/// A signed batch to one peer, kept byte for byte so a retry resends exactly the same batch.
public struct OutboundBatch: Sendable, Equatable {
    /// Delivery state of a batch.
    public enum State: String, Sendable, CaseIterable {
        /// Waiting to be sent (again).
        case pending
        /// A receipt came back.
        case delivered
        /// Given up after too many attempts or too long: kept with its reason for an operator to requeue.
        case dead
    }

    public var peer: String
    public var sequence: Int
    public var batchId: String
    /// The JWS as sent.
    public var jws: [UInt8]
    /// The records it carries, in order (outcome `i` of the receipt is about `keys[i]`).
    public var keys: [RecordKey]
    public var createdAt: Timestamp
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var lastError: String?
    /// The peer's signed receipt, once delivered.
    public var receipt: [UInt8]?

    /// Creates a batch record.
    public init(
        peer: String, sequence: Int, batchId: String, jws: [UInt8], keys: [RecordKey], createdAt: Timestamp,
        state: State = .pending, attempts: Int = 0, nextAttemptAt: Timestamp, lastError: String? = nil, receipt: [UInt8]? = nil
    ) {
        self.peer = peer
        self.sequence = sequence
        self.batchId = batchId
        self.jws = jws
        self.keys = keys
        self.createdAt = createdAt
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.receipt = receipt
    }
}

/// A batch a node received and the receipt it answered with: the dedupe entry.
public struct InboxEntry: Sendable, Equatable {
    public var sender: String
    public var batchId: String
    public var sequence: Int
    public var payloadDigest: Digest
    /// The signed receipt returned, returned again byte for byte if the batch comes again.
    public var receipt: [UInt8]
    public var receivedAt: Timestamp

    /// Creates an entry.
    public init(sender: String, batchId: String, sequence: Int, payloadDigest: Digest, receipt: [UInt8], receivedAt: Timestamp) {
        self.sender = sender
        self.batchId = batchId
        self.sequence = sequence
        self.payloadDigest = payloadDigest
        self.receipt = receipt
        self.receivedAt = receivedAt
    }
}

/// One hop of one record: which version went to or came from which peer, in which batch, with which outcome.
public struct LineageEntry: Sendable, Equatable {
    /// The direction of a hop.
    public enum Direction: String, Sendable { case inbound, outbound }

    public var key: RecordKey
    public var peer: String
    public var direction: Direction
    public var batchId: String
    public var contentVersion: Int?
    public var statusVersion: Int
    /// The receipt outcome (`applied`, `duplicate`, `stale`, `conflict`, `rejected`); nil for an outbound hop not yet acknowledged.
    public var outcome: String?
    public var at: Timestamp

    /// Creates an entry.
    public init(
        key: RecordKey, peer: String, direction: Direction, batchId: String, contentVersion: Int?, statusVersion: Int,
        outcome: String?, at: Timestamp
    ) {
        self.key = key
        self.peer = peer
        self.direction = direction
        self.batchId = batchId
        self.contentVersion = contentVersion
        self.statusVersion = statusVersion
        self.outcome = outcome
        self.at = at
    }
}

/// A correction sent to one holder, and whether that holder acknowledged it.
public struct CorrectionTracking: Sendable, Equatable {
    public var key: RecordKey
    public var statusVersion: Int
    public var status: RecordStatus
    public var peer: String
    public var sentAt: Timestamp
    public var acknowledgedAt: Timestamp?

    /// Creates a tracking entry.
    public init(key: RecordKey, statusVersion: Int, status: RecordStatus, peer: String, sentAt: Timestamp, acknowledgedAt: Timestamp? = nil)
    {
        self.key = key
        self.statusVersion = statusVersion
        self.status = status
        self.peer = peer
        self.sentAt = sentAt
        self.acknowledgedAt = acknowledgedAt
    }
}

/// A change a node refused, with the reason, kept so the department can fix and resend it.
public struct RejectionEntry: Sendable, Equatable {
    /// Where the change came from (a peer, or this node for a local change refused before sending).
    public var peer: String
    public var batchId: String?
    public var index: Int?
    public var key: RecordKey?
    public var code: String
    public var field: String?
    public var message: String
    public var at: Timestamp

    /// Creates an entry.
    public init(peer: String, batchId: String?, index: Int?, key: RecordKey?, code: String, field: String?, message: String, at: Timestamp)
    {
        self.peer = peer
        self.batchId = batchId
        self.index = index
        self.key = key
        self.code = code
        self.field = field
        self.message = message
        self.at = at
    }
}

/// One line of the sync log: every batch in and out, each state change, attempts and errors.
public struct SyncLogEntry: Sendable, Equatable {
    /// Assigned by the store.
    public var id: Int64
    public var at: Timestamp
    public var peer: String?
    public var batchId: String?
    /// A stable event name: `batch.received`, `batch.sent`, `batch.delivered`, `batch.failed`, `batch.dead`, `batch.requeued`,
    /// `sequence.gap`, `record.local`, `record.expired`, `correction.unacknowledged` …
    public var event: String
    public var detail: String

    /// Creates an entry; `id` is ignored by `appendLog`.
    public init(id: Int64 = 0, at: Timestamp, peer: String?, batchId: String?, event: String, detail: String) {
        self.id = id
        self.at = at
        self.peer = peer
        self.batchId = batchId
        self.event = event
        self.detail = detail
    }
}

/// What a node did over one interval, for the console's throughput and lag charts: records received and sent in
/// (`since`, `at`], and at `at` the worst lag of any peer and the changes queued for all of them. Kept in the store, so
/// the charts survive a restart; the interval of the first sample after a start begins at the start.
public struct ActivitySample: Sendable, Equatable {
    /// The start of the interval.
    public var since: Timestamp
    /// When the sample was taken: the end of the interval.
    public var at: Timestamp
    /// Records received (pushed to this node or pulled by it) in the interval.
    public var recordsIn: Int
    /// Records sent (pushed by this node or served in feed pages) in the interval.
    public var recordsOut: Int
    /// The age of the oldest change or batch waiting for any peer, in seconds.
    public var maxLagSeconds: Int64
    /// Changes waiting for all peers together.
    public var queueDepth: Int

    public init(since: Timestamp, at: Timestamp, recordsIn: Int, recordsOut: Int, maxLagSeconds: Int64, queueDepth: Int) {
        self.since = since
        self.at = at
        self.recordsIn = recordsIn
        self.recordsOut = recordsOut
        self.maxLagSeconds = maxLagSeconds
        self.queueDepth = queueDepth
    }
}

/// One correction acknowledged: the record and the status version that reached the holder.
public struct Acknowledgement: Sendable, Equatable, Hashable {
    public var key: RecordKey
    public var statusVersion: Int
    public init(key: RecordKey, statusVersion: Int) {
        self.key = key
        self.statusVersion = statusVersion
    }
}

/// Work that exactly one instance of a node may do at a time (a peer's push channel, a pull subscription, the expiry
/// sweep), held through the database: the holder renews it while it lives; when it stops renewing (killed), another
/// instance takes it once it has expired.
public struct Lease: Sendable, Equatable {
    /// What the lease is for: `push:zj-jiaxing`, `pull:sh-city`, `expiry`, …
    public var name: String
    /// The instance holding it.
    public var holder: String
    /// Until when it is held unless renewed.
    public var expiresAt: Timestamp
    /// 1 for the first holder, one more each time it passes to another instance (a fencing token: work stamped with
    /// an older epoch was done by a holder that has lost the lease).
    public var epoch: Int64

    public init(name: String, holder: String, expiresAt: Timestamp, epoch: Int64) {
        self.name = name
        self.holder = holder
        self.expiresAt = expiresAt
        self.epoch = epoch
    }
}
