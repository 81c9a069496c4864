/// An error of a store (either backend): what happened, to which table, row or file, and whether trying again can help.
///
/// Whoever runs a transaction acts on ``isRetryable``: a retryable failure (a lock held too long, a concurrent
/// transaction that won, a lost connection, a full disk) runs the whole transaction again after a pause
/// (``StoreRetry``); any other is reported at once — ``Code/constraint`` is a bug of this program, never retried.
///
/// Messages name tables, keys, peers, batch ids and sequences; they never carry record content or payload bytes.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, backend-neutral code (`store.*`), for logs, metrics and tests.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        /// Creates a code.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A batch's sequence is not the channel's next one (sequences never have gaps).
        public static let sequence = Code(rawValue: "store.sequence")
        /// A batch id or an inbox entry is already stored.
        public static let duplicate = Code(rawValue: "store.duplicate")
        /// The row to update does not exist.
        public static let missing = Code(rawValue: "store.missing")
        /// A row read from disk cannot be decoded: the database was damaged or written by something else.
        public static let corruptRow = Code(rawValue: "store.corrupt-row")
        /// The configuration is out of bounds.
        public static let configuration = Code(rawValue: "store.configuration")
        /// The database file could not be opened, migrated or closed.
        public static let open = Code(rawValue: "store.open")
        /// Another process holds the database lock longer than the busy timeout.
        public static let busy = Code(rawValue: "store.busy")
        /// Another transaction won a race for the same rows (PostgreSQL's serialization failure or deadlock): the
        /// transaction did nothing and can run again.
        public static let conflict = Code(rawValue: "store.conflict")
        /// The connection to the database was lost or refused (a server restarting, a failover): nothing of the
        /// transaction is known to have been kept, and it can run again once the database answers.
        public static let unavailable = Code(rawValue: "store.unavailable")
        /// A uniqueness, foreign-key or check constraint refused a write: the program wrote something it must not —
        /// a bug, reported loudly, never retried.
        public static let constraint = Code(rawValue: "store.constraint")
        /// A store call was made inside a transaction body of the same store (``StoreBody``): a bug, never retried.
        public static let nested = Code(rawValue: "store.nested")
        /// Any other database failure (disk full, I/O error, misuse).
        public static let database = Code(rawValue: "store.database")

        public var description: String { rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A sentence naming the table, key or file at fault.
    public var message: String
    /// Whether the same call can succeed later without anyone changing anything (a busy lock, a full disk).
    public var isRetryable: Bool

    /// Creates an error.
    public init(_ code: Code, _ message: String, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.isRetryable = retryable
    }

    public var description: String { "\(code): \(message)" }
}

/// How a transaction that failed with a retryable ``StoreError`` is run again: at most `attempts` runs in all, the
/// pauses between them by `backoff` (doubling, between half and all of each step at random, so that racing writers part).
public struct StoreRetry: Sendable, Equatable {
    public var attempts: Int
    public var backoff: RetryPolicy

    /// The default: 5 runs, pauses of up to 40, 80, 160 and 320 ms (at least half of each) — a failover of a few
    /// seconds is not covered here but by the caller's own retry (a push round, a peer's resend).
    public init(attempts: Int = 5, backoff: RetryPolicy = RetryPolicy(baseSeconds: 0.04, capSeconds: 1)) {
        self.attempts = attempts
        self.backoff = backoff
    }

    /// The pause before run `attempt + 1` (attempt counts from 1), in milliseconds, with `jitter` in 0…1.
    public func pauseMilliseconds(after attempt: Int, jitter: Double) -> Int {
        Int((backoff.delay(afterAttempt: attempt, unit: jitter) * 1000).rounded())
    }

    /// Whether `error` after run `attempt` asks for another run.
    public func retries(_ error: any Error, after attempt: Int) -> Bool {
        guard attempt < attempts, let error = error as? StoreError else { return false }
        return error.isRetryable
    }
}
