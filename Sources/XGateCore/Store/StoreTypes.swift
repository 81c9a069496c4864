import XGateJSON

/// A record as a node holds it: the merged state and the node-local sequence of its last change (the feed order).
public struct StoredRecord: Sendable, Equatable {
    public var state: RecordState
    /// Node-local, strictly increasing with every change to any record: the position in this node's feeds.
    public var localSequence: Int64

    /// Creates a stored record.
    public init(state: RecordState, localSequence: Int64) {
        self.state = state
        self.localSequence = localSequence
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

/// A change waiting to go to one peer.
public struct OutboxItem: Sendable, Equatable {
    /// Assigned by the store when enqueued.
    public var id: Int64
    public var peer: String
    public var key: RecordKey
    /// The change as it will travel to this peer (already masked per agreement).
    public var change: JSONValue
    /// A correction (repair, objection outcome, revocation, repair revocation, exit, expiry) whose acknowledgement is tracked.
    public var isCorrection: Bool
    public var enqueuedAt: Timestamp

    /// Creates an item; `id` is ignored by `enqueue`.
    public init(id: Int64 = 0, peer: String, key: RecordKey, change: JSONValue, isCorrection: Bool, enqueuedAt: Timestamp) {
        self.id = id
        self.peer = peer
        self.key = key
        self.change = change
        self.isCorrection = isCorrection
        self.enqueuedAt = enqueuedAt
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
    /// The outbox items it carries, in order.
    public var itemIDs: [Int64]
    public var createdAt: Timestamp
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var lastError: String?
    /// The peer's signed receipt, once delivered.
    public var receipt: [UInt8]?

    /// Creates a batch record.
    public init(
        peer: String, sequence: Int, batchId: String, jws: [UInt8], itemIDs: [Int64], createdAt: Timestamp,
        state: State = .pending, attempts: Int = 0, nextAttemptAt: Timestamp, lastError: String? = nil, receipt: [UInt8]? = nil
    ) {
        self.peer = peer
        self.sequence = sequence
        self.batchId = batchId
        self.jws = jws
        self.itemIDs = itemIDs
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
