/// An error of the SQLite store: what happened, to which table, row or file, and whether trying again can help.
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
        /// Any other SQLite failure (disk full, I/O error, constraint, misuse).
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
