import Logging
import PostgresNIO
import XGateCore
import _ConnectionPoolModule

/// The shared store of a node run as several instances (the city): one PostgreSQL database, reached through
/// PostgresNIO's connection pool, which the store runs in a task of its own (``close()`` ends it).
///
/// ```swift
/// let configuration = try PostgresStore.Configuration(url: "postgresql://xgate@db.internal:5432/xgate", password: secret)
/// let store = try await PostgresStore.open(configuration, logger: logger)
/// try await store.write { tx in try await tx.putRecord(state) }
/// let feed = try await store.read { try await $0.records(after: cursor, limit: 500) }
/// try await store.close()
/// ```
///
/// A write is one transaction on one pooled connection at SERIALIZABLE; a read is one REPEATABLE READ READ ONLY
/// transaction, so every call of its body sees one snapshot. Transactions must not be nested. Errors from the server
/// or the connection come out as ``StoreError``; an error thrown by the body of `write` or `read` comes out unchanged,
/// after the transaction is rolled back.
///
/// Sequences and commit order. Every sequence the store gives out — a record's local sequence (`max(local_seq) + 1`),
/// an audit entry's `seq` (last + 1), a channel's next batch, the inbox's expected sequence — is read and written in
/// one SERIALIZABLE transaction. Two transactions that read the same maximum cannot both commit: the one that would
/// commit second fails with SQLSTATE 40001 — or, when both insert a new row under the same number, with a unique
/// violation of the sequence's constraint (``sequenceConstraints``) — which comes out as a retryable
/// ``StoreError/Code/conflict`` and runs again on top of the first. So a transaction can take n + 1 only if its
/// snapshot holds n, that is, only after the transaction that took n committed: since every writer of records
/// serialises on `max(local_seq)`, local sequences follow commit order. That is how a cursor never skips a record
/// whose transaction commits after a later-numbered one: a reader whose snapshot holds n + 1 holds n too. An identity
/// column would not give this — its values are taken at insert time and commit in any order — so only the ids that
/// order their own table's rows (`record_history`, `lineage`, `rejections`, `sync_log`, `push_backlog`,
/// `pending_acknowledgements`) are identities; a tail of `sync_log` by id may see a line appear behind one it passed.
///
/// The password is never logged: ``Configuration/description`` leaves it out and errors never carry it.
public final class PostgresStore: SyncStore, Sendable {
    /// The settings it was opened with.
    public let configuration: Configuration
    /// The migrations this open applied (empty when the database was up to date).
    public let appliedByOpen: [String]
    let client: PostgresClient
    let logger: Logger
    /// Runs the client's pool (`client.run()`); cancelled by ``close()``.
    private let running: Task<Void, Never>

    private init(configuration: Configuration, client: PostgresClient, logger: Logger, running: Task<Void, Never>, applied: [String]) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
        self.running = running
        self.appliedByOpen = applied
    }

    /// Connects to the database and brings its schema up to date (``PostgresMigrations``), once even when several
    /// instances start at once. A database written by a newer xgate is refused (``StoreError/Code/open``).
    public static func open(_ configuration: Configuration, logger: Logger) async throws -> PostgresStore {
        try configuration.validate()
        let client = PostgresClient(configuration: configuration.client, backgroundLogger: logger)
        let running = Task { await client.run() }
        let applied: [String]
        do {
            try await firstConnection(client, within: configuration.connectTimeout, configuration)
            applied = try await client.withConnection { connection in
                try await PostgresMigrations.migrate(connection, logger: logger)
            }
        } catch {
            running.cancel()
            await running.value
            if let error = error as? StoreError, error.code == .open { throw error }
            let cause = mapped(error, configuration)
            throw StoreError(
                .open, "cannot open the store on \(configuration) and bring its schema up to date: \(cause)",
                retryable: (cause as? StoreError)?.isRetryable ?? false)
        }
        if !applied.isEmpty {
            logger.info("applied migrations \(applied.joined(separator: ", ")) to \(configuration)")
        }
        return PostgresStore(configuration: configuration, client: client, logger: logger, running: running, applied: applied)
    }

    /// Waits for the pool's first connection at most `limit`. The pool itself goes on trying a server that refuses
    /// connections for a minute before it fails a request; a daemon starting against a database that is down should
    /// say so sooner (retryably: its supervisor starts it again).
    private static func firstConnection(_ client: PostgresClient, within limit: Duration, _ configuration: Configuration) async throws {
        let connected = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await client.withConnection { _ in true } }
            group.addTask {
                try await Task.sleep(for: limit)
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        if !connected {
            throw StoreError(.unavailable, "no connection to \(configuration) within \(limit)", retryable: true)
        }
    }

    /// Closes the pool's connections (the client's run task is cancelled and awaited); any later call throws.
    /// Everything committed is in the database already: nothing is left to flush.
    public func close() async throws {
        running.cancel()
        await running.value
    }

    /// How a write begins: SERIALIZABLE, and without sequential scans where an index answers. PostgreSQL's
    /// serializable isolation tracks what a transaction read as predicate locks; a sequential scan — which the planner
    /// picks for any table of a page or two, such as `leases` or a new store's `records` — locks the whole table, so
    /// every concurrent writer of any of its rows then conflicts with it (40001, run again), where an index scan
    /// locks only the rows and gaps it read. (PostgreSQL's documentation of serializable isolation advises
    /// encouraging index scans for this reason.) A query no index answers still scans.
    static let beginWrite: [PostgresQuery] = ["BEGIN ISOLATION LEVEL SERIALIZABLE", "SET LOCAL enable_seqscan = off"]

    /// Runs `body` in one SERIALIZABLE transaction on one pooled connection; if it throws, nothing of it is kept.
    public func write<T: Sendable>(_ body: @escaping (any StoreTransaction) async throws -> T) async throws -> T {
        let logger = logger
        do {
            return try await StoreBody.run(of: self, "write") { [client] in
                try await client.withConnection { [configuration] connection in
                    try await Self.transaction(
                        connection, begin: Self.beginWrite, configuration, logger: logger
                    ) { failure in try await body(PostgresTransaction(connection: connection, logger: logger, failure: failure)) }
                }
            }
        } catch {
            throw Self.mapped(error, configuration)
        }
    }

    /// Runs `body` against one snapshot (REPEATABLE READ, READ ONLY) on one pooled connection.
    public func read<T: Sendable>(_ body: @escaping (any StoreReader) async throws -> T) async throws -> T {
        let logger = logger
        do {
            return try await StoreBody.run(of: self, "read") { [client] in
                try await client.withConnection { [configuration] connection in
                    try await Self.transaction(
                        connection, begin: ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"], configuration, logger: logger
                    ) { failure in try await body(PostgresReader(connection: connection, logger: logger, failure: failure)) }
                }
            }
        } catch {
            throw Self.mapped(error, configuration)
        }
    }

    /// The statements of `begin`, `body`, `COMMIT`; `ROLLBACK` when either throws, or when `body` returns after a
    /// statement of it failed (``StatementFailure``: the server has discarded the transaction, and that failure is thrown). A connection
    /// that is lost, or whose rollback fails, is closed, so that the pool never hands out a connection left inside a
    /// transaction and nothing is sent on one that is gone. The whole runs within the configured
    /// ``Configuration/transactionTimeout`` (``TransactionDeadline``).
    private static func transaction<T: Sendable>(
        _ connection: PostgresConnection, begin: [PostgresQuery], _ configuration: Configuration, logger: Logger,
        _ body: @escaping (StatementFailure) async throws -> T
    ) async throws -> T {
        let limit = configuration.transactionTimeout
        return try await TransactionDeadline.run(
            within: limit,
            expired: {
                logger.error("a transaction on \(configuration) had no answer within \(limit); closing its connection")
                let _: EventLoopFuture<Void> = connection.close()
                return StoreError(
                    .unavailable, "no answer from the database \(configuration.database) within \(limit) (the connection is closed)",
                    retryable: true)
            }
        ) {
            let failure = StatementFailure()
            let result: T
            do {
                for statement in begin { try await connection.perform(statement, logger: logger) }
                result = try await body(failure)
                if let error = failure.error { throw error }
            } catch {
                if connection.isClosed || Self.endsConnection(error) {
                    try? await connection.close()
                } else {
                    do {
                        try await connection.perform("ROLLBACK", logger: logger)
                    } catch {
                        try? await connection.close()
                    }
                }
                throw error
            }
            try await connection.perform("COMMIT", logger: logger)
            return result
        }
    }

    /// Whether `error` means the connection is gone or about to be (the server's FATAL or PANIC, a closed channel):
    /// nothing more is sent on it.
    static func endsConnection(_ error: any Error) -> Bool {
        if error is ConnectionClosed || error is IOError || error is ChannelError { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .serverClosedConnection, .connectionError, .uncleanShutdown: return true
        case .server: return ["FATAL", "PANIC"].contains(error.serverInfo?[.severity] ?? "")
        default: return false
        }
    }

    /// The identifiers of the migrations applied to the database, oldest first (those this version does not know last).
    public func appliedMigrations() async throws -> [String] {
        let logger = logger
        let applied: Set<String>
        do {
            applied = try await client.withConnection { connection in try await PostgresMigrations.applied(on: connection, logger: logger) }
        } catch {
            throw Self.mapped(error, configuration)
        }
        let known = PostgresMigrations.all.map(\.identifier)
        return known.filter(applied.contains) + applied.subtracting(known).sorted()
    }

    /// A database or connection error as a ``StoreError`` naming the database (never the password): a conflict, a
    /// lost connection or a full disk can be retried, a constraint is a bug. A ``StoreError`` (the store's own, or a
    /// body's) and any error not from the database come out unchanged.
    static func mapped(_ error: any Error, _ configuration: Configuration) -> any Error {
        if error is StoreError || error is CancellationError { return error }
        let place = "database \(configuration.database) on \(configuration.unixSocketPath ?? "\(configuration.host):\(configuration.port)")"
        if let error = error as? ConnectionPoolError {
            if error == .poolShutdown { return StoreError(.open, "the store on \(place) is closed") }
            return StoreError(.unavailable, "cannot reach the \(place): \(error)", retryable: true)
        }
        if error is IOError || error is ChannelError {
            return StoreError(.unavailable, "lost the connection to the \(place): \(error)", retryable: true)
        }
        if error is ConnectionClosed {
            return StoreError(.unavailable, "lost the connection to the \(place): it was closed", retryable: true)
        }
        guard let error = error as? PSQLError else { return error }
        let described = describe(error)
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            switch state {
            case "40001", "40P01":
                return StoreError(.conflict, "a concurrent transaction won on the \(place): \(described)", retryable: true)
            case "23505" where sequenceConstraints.contains(error.serverInfo?[.constraintName] ?? ""):
                return StoreError(
                    .conflict, "a concurrent transaction took the same sequence on the \(place): \(described)", retryable: true)
            case _ where state.hasPrefix("23"):
                return StoreError(.constraint, "a constraint of the \(place) refused a write: \(described)")
            case "53100":
                return StoreError(.database, "the disk holding the \(place) is full: \(described)", retryable: true)
            case _ where state.hasPrefix("08"), "57P01", "57P02", "57P03":
                return StoreError(.unavailable, "the \(place) is not answering: \(described)", retryable: true)
            case "57014", "25P03":
                // The server's own end of a transaction past store.transactionTimeout (statement_timeout,
                // idle_in_transaction_session_timeout, set to it), or an operator's pg_cancel_backend.
                return StoreError(
                    .unavailable,
                    "the \(place) ended a transaction past the transaction timeout (\(configuration.transactionTimeout)): \(described)",
                    retryable: true)
            default:
                return StoreError(.database, "\(described) (\(place))")
            }
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            return StoreError(.unavailable, "lost the connection to the \(place): \(described)", retryable: true)
        case .poolClosed:
            return StoreError(.open, "the store on \(place) is closed")
        default:
            return StoreError(.database, "\(described) (\(place))")
        }
    }

    /// The unique constraints of the sequences the store hands out as `max + 1` (a record's local sequence, an audit
    /// entry's, a batch's on its channel). The store writes only numbers it has just read as the next one, so a
    /// duplicate there means a concurrent transaction took the same number and committed first: a lost race, run
    /// again like a 40001. (PostgreSQL reports some of these races as 40001 itself; two inserts of different records
    /// that read the same `max(local_seq)` come out as 23505 on `records_local_seq_key`.)
    static let sequenceConstraints: Set<String> = ["records_local_seq_key", "audit_log_pkey", "outbound_batches_pkey"]

    /// An error's SQLSTATE and server message, or its client-side code and cause — without the SQL or its arguments.
    static func describe(_ error: PSQLError) -> String {
        if let info = error.serverInfo {
            return "PostgreSQL error \(info[.sqlState] ?? "?"): \(info[.message] ?? "no message")"
                + (info[.constraintName].map { " (constraint \($0))" } ?? "")
        }
        return "PostgreSQL client error \(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
    }
}
