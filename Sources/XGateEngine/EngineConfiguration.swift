import XGateCore

/// How a node's engine behaves. Built once at the entry point, validated, passed down.
public struct EngineConfiguration: Sendable {
    /// The most changes in one batch (the protocol's limit is 1000).
    public var maximumChangesPerBatch: Int
    /// The most payload bytes in one batch; a batch closes before the change that would pass it.
    public var maximumBatchBytes: Int
    /// Retry timing for a batch that failed.
    public var retry: RetryPolicy
    /// When a peer is considered down and left alone for a while.
    public var circuitBreaker: CircuitBreaker.Configuration
    /// A batch still undelivered after this many attempts becomes dead (kept with its reason for an operator).
    public var deadLetterAttempts: Int
    /// A batch still undelivered this many seconds after it was made becomes dead.
    public var deadLetterAgeSeconds: Int64
    /// A correction not acknowledged by a holder this many seconds after it was sent is flagged.
    public var correctionDeadlineSeconds: Int64
    /// The signed bytes of a batch delivered this many seconds ago are dropped (its receipt, lineage and log stay);
    /// 0 keeps them for ever.
    public var sentBatchRetentionSeconds: Int64
    /// The peers that get this node's records by pulling its feed (`sync.pulledBy`): they are not pushed to, and only
    /// they may read the feed, so each record reaches each peer by one path (PROTOCOL.md §4.7).
    public var pulledBy: Set<String>
    /// How many batches a push channel may have in flight at once (sent, not yet answered by a receipt).
    public var window: Int

    /// Creates a configuration; every default is the production one.
    public init(
        maximumChangesPerBatch: Int = 1000,
        maximumBatchBytes: Int = 4 * 1024 * 1024,
        retry: RetryPolicy = RetryPolicy(),
        circuitBreaker: CircuitBreaker.Configuration = .init(),
        deadLetterAttempts: Int = 50,
        deadLetterAgeSeconds: Int64 = 7 * 86_400,
        correctionDeadlineSeconds: Int64 = 3 * 86_400,
        sentBatchRetentionSeconds: Int64 = 30 * 86_400,
        pulledBy: Set<String> = [],
        window: Int = 4
    ) {
        self.maximumChangesPerBatch = maximumChangesPerBatch
        self.maximumBatchBytes = maximumBatchBytes
        self.retry = retry
        self.circuitBreaker = circuitBreaker
        self.deadLetterAttempts = deadLetterAttempts
        self.deadLetterAgeSeconds = deadLetterAgeSeconds
        self.correctionDeadlineSeconds = correctionDeadlineSeconds
        self.sentBatchRetentionSeconds = sentBatchRetentionSeconds
        self.pulledBy = pulledBy
        self.window = window
    }

    /// Refuses values that cannot work, naming the key.
    public func validate() throws(EngineError) {
        guard (1...BatchDocument.maximumChanges).contains(maximumChangesPerBatch) else {
            throw EngineError(code: "config.invalid", message: "maximumChangesPerBatch must be 1…\(BatchDocument.maximumChanges)")
        }
        guard maximumBatchBytes >= 64 * 1024 else {
            throw EngineError(code: "config.invalid", message: "maximumBatchBytes must be at least 65536")
        }
        guard (1...64).contains(window) else { throw EngineError(code: "config.invalid", message: "window must be 1…64") }
        guard deadLetterAttempts >= 1 else { throw EngineError(code: "config.invalid", message: "deadLetterAttempts must be at least 1") }
        try retry.validate()
    }
}

/// An engine operation that failed: a stable code, a sentence, and whether trying again can help.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// Whether the same request may succeed later (a peer down, a gap being filled) or never (forged, unauthorised).
    public var retryable: Bool
    /// For `sequence.gap`: the sequence the receiver expects.
    public var expectedSequence: Int?

    /// Creates an error.
    public init(code: String, message: String, retryable: Bool = false, expectedSequence: Int? = nil) {
        self.code = code
        self.message = message
        self.retryable = retryable
        self.expectedSequence = expectedSequence
    }

    public var description: String { "\(code): \(message)" }
}
