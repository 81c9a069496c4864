import Dispatch
import GRDB
import XGateCore

// The store port is async (PostgreSQL answers over the network), but GRDB checks that a connection is used only on
// its own dispatch queue. So a transaction body runs as an actor's code whose serial executor runs each job inside a
// GRDB access of that connection: the body, and every store call it awaits (nonisolated async, which runs on its
// caller's executor — SE-0461, on in Package.swift), run on the connection's queue, synchronously, in one job. SQLite
// calls never suspend, so a transaction costs one hop onto the queue and one back, as a blocking `pool.write` did.

/// A value handed across an isolation boundary that is used by one side at a time: a transaction body runs only while
/// its caller awaits it, and nothing else holds it.
struct Handed<Value>: @unchecked Sendable {
    let value: Value
}

/// Runs the writer connection's transactions, one at a time, on its queue.
actor SQLiteWriter {
    private let executor: WriterExecutor
    /// The pool's writer connection; used only on its queue (the jobs of this actor).
    private nonisolated(unsafe) let db: Database
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(pool: DatabasePool) {
        executor = WriterExecutor(pool: pool)
        db = pool.writeWithoutTransaction { $0 }
    }

    /// Runs `body` in `BEGIN IMMEDIATE … COMMIT` on the writer connection; rolls back if it throws.
    func transaction<T: Sendable>(_ body: Handed<(any StoreTransaction) async throws -> T>) async throws -> T {
        // An actor is reentrant: were a body to suspend, a second transaction must not begin on the same connection.
        if busy { await withCheckedContinuation { waiting.append($0) } }
        busy = true
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        try db.beginTransaction(.immediate)
        do {
            let value = try await body.value(SQLiteTransaction(db: db))
            try db.commit()
            return value
        } catch {
            if db.isInsideTransaction { try? db.rollback() }
            throw error
        }
    }

    /// Runs `body` on the writer connection outside a transaction (checkpoints, pragmas).
    func withoutTransaction<T: Sendable>(_ body: Handed<(Database) throws -> T>) throws -> T {
        try body.value(db)
    }
}

/// Each job of ``SQLiteWriter`` runs inside a GRDB access of the writer connection.
private final class WriterExecutor: SerialExecutor, @unchecked Sendable {
    let pool: DatabasePool
    init(pool: DatabasePool) { self.pool = pool }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pool.asyncWriteWithoutTransaction { _ in job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}

/// One read: its jobs run inside a GRDB read of a reader connection (a snapshot). A body that awaited something other
/// than the reader would resume in a second read, on a later snapshot — which the store port forbids (a body awaits
/// only the store's calls, and SQLite's never suspend); `jobs` lets a debug build catch it.
actor SQLiteRead {
    private let executor: ReadExecutor

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(pool: DatabasePool) {
        executor = ReadExecutor(pool: pool)
    }

    func run<T: Sendable>(_ body: Handed<(any StoreReader) async throws -> T>) async throws -> T {
        let db = try executor.connection()
        let value = try await body.value(SQLiteReader(db: db))
        assert(executor.jobs == 1, "a read body awaited something other than the store; it ran on two snapshots")
        return value
    }
}

private final class ReadExecutor: SerialExecutor, @unchecked Sendable {
    let pool: DatabasePool
    /// The connection of the job running now (set before it runs, on that connection's queue).
    private var current: Result<Database, any Error>?
    private(set) var jobs = 0

    init(pool: DatabasePool) { self.pool = pool }

    func connection() throws -> Database {
        guard let current else { throw StoreError(.database, "a read ran outside a reader connection") }
        return try current.get()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pool.asyncRead { result in
            self.current = result
            self.jobs += 1
            job.runSynchronously(on: self.asUnownedSerialExecutor())
            self.current = nil
        }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}
