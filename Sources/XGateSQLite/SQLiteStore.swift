import Foundation
import GRDB
import XGateCore

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded store of every node: one SQLite file in WAL mode, through a GRDB `DatabasePool` (one writer, several
/// readers that see consistent snapshots and never block the writer).
///
/// ```swift
/// let store = try SQLiteStore.open(path: "/var/lib/xgate/node.sqlite")
/// try await store.write { tx in try await tx.putRecord(state) }
/// let feed = try await store.read { try await $0.records(after: cursor, limit: 500) }
/// try await store.close()
/// ```
///
/// A transaction body runs on its connection's queue in one piece (``SQLiteWriter``, ``SQLiteRead``): it awaits only
/// the store's own calls, which never suspend here; transactions must not be nested. Errors from SQLite come out as ``StoreError``; an error thrown by the
/// body of `write` or `read` comes out unchanged, after the transaction is rolled back.
public final class SQLiteStore: SyncStore, Sendable {
    /// The database file.
    public let path: String
    /// The settings it was opened with.
    public let configuration: Configuration
    let pool: DatabasePool
    /// Runs write transactions on the writer connection's queue (``SQLiteWriter``).
    let writer: SQLiteWriter
    /// Files of the store that group or others could read when it was opened, now 0600 (the daemon warns of them).
    public let tightenedFiles: [String]

    /// The store holds personal data (full identity numbers): its file is created 0600 whatever the umask (SQLite
    /// gives its `-wal` and `-shm` files the same mode), and an existing store, WAL or shared-memory file readable by
    /// group or others is made 0600. Returns the files it tightened.
    static func keepPrivate(_ path: String) -> [String] {
        guard !path.isEmpty, path != ":memory:" else { return [] }
        #if canImport(Glibc)
            let fd = Glibc.open(path, O_RDWR | O_CREAT, 0o600)
            if fd >= 0 { Glibc.close(fd) }
        #else
            let fd = Darwin.open(path, O_RDWR | O_CREAT, 0o600)
            if fd >= 0 { Darwin.close(fd) }
        #endif
        var tightened: [String] = []
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard stat(file, &info) == 0, info.st_mode & 0o077 != 0 else { continue }
            if chmod(file, info.st_mode & 0o700) == 0 { tightened.append(file) }
        }
        return tightened
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        try configuration.validate()
        self.path = path
        self.configuration = configuration
        tightenedFiles = Self.keepPrivate(path)
        do {
            pool = try DatabasePool(path: path, configuration: configuration.grdb)
        } catch {
            throw StoreError(.open, "cannot open the store at \(path): \(Self.describe(error))")
        }
        do {
            // GRDB sets `synchronous = NORMAL` on the writer after `prepareDatabase` when it turns WAL on.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(configuration.synchronous.rawValue)")
            }
        } catch {
            throw StoreError(.open, "cannot configure the store at \(path): \(Self.describe(error))")
        }
        let migrator = StoreMigrations.migrator
        let superseded: Bool
        do {
            try migrator.migrate(pool)
            superseded = try pool.read { try migrator.hasBeenSuperseded($0) }
        } catch {
            throw StoreError(.open, "cannot bring the schema of \(path) up to date: \(Self.describe(error))")
        }
        if superseded {
            throw StoreError(.open, "\(path) was written by a newer xgate: it holds migrations this version does not know")
        }
        writer = SQLiteWriter(pool: pool)
    }

    /// Opens an existing store for reading only: no migration runs, nothing is created, a write throws. For tools
    /// that inspect a node's file beside its running daemon or a backup copy (`xgate audit verify`). The schema must be
    /// the one this version writes: an older file is refused (start its daemon once, or use its own xgate), and so is
    /// a newer one.
    public static func openForReading(path: String, configuration: Configuration = Configuration()) throws -> SQLiteStore {
        try configuration.validate()
        var grdb = configuration.grdb
        grdb.readonly = true
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: grdb)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY && FileManager.default.fileExists(atPath: path) {
            // A WAL file is read through its `-shm` index, which SQLite creates beside it on first use.
            throw StoreError(
                .open,
                "cannot read \(path): SQLite must create \(path)-shm beside it to read a WAL store (\(describe(error))); "
                    + "run as the user that owns the store, or copy the file to a directory you can write")
        } catch {
            throw StoreError(.open, "cannot open the store at \(path) for reading: \(describe(error))")
        }
        let migrator = StoreMigrations.migrator
        let (complete, superseded, applied): (Bool, Bool, Set<String>)
        do {
            (complete, superseded, applied) = try pool.read { db in
                (try migrator.hasCompletedMigrations(db), try migrator.hasBeenSuperseded(db), try migrator.appliedIdentifiers(db))
            }
        } catch {
            try? pool.close()
            throw StoreError(.open, "cannot read the schema of \(path): \(describe(error))")
        }
        if superseded {
            try? pool.close()
            throw StoreError(.open, "\(path) was written by a newer xgate: it holds migrations this version does not know")
        }
        guard complete else {
            try? pool.close()
            let missing = StoreMigrations.all.map(\.identifier).filter { !applied.contains($0) }
            throw StoreError(
                .open,
                "\(path) was written by an older xgate (migrations \(missing.joined(separator: ", ")) not applied): "
                    + "read it with that version's xgate, or start this version's daemon on it once")
        }
        return SQLiteStore(path: path, configuration: configuration, pool: pool)
    }

    private init(path: String, configuration: Configuration, pool: DatabasePool) {
        self.path = path
        self.configuration = configuration
        self.pool = pool
        self.writer = SQLiteWriter(pool: pool)
        self.tightenedFiles = []
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public static func open(path: String, configuration: Configuration = Configuration()) throws -> SQLiteStore {
        try SQLiteStore(path: path, configuration: configuration)
    }

    /// Checkpoints the WAL into the database file and closes every connection; any later call throws. The
    /// checkpoint is best effort: if another process is reading, the WAL stays and the next open replays it.
    public func close() async throws {
        if !pool.configuration.readonly {
            _ = try? await writer.withoutTransaction(Handed(value: { try $0.checkpoint(.truncate) }))
        }
        do {
            try pool.close()
        } catch {
            throw StoreError(.open, "cannot close the store at \(path): \(Self.describe(error))")
        }
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`); if it throws, nothing of it is kept.
    public func write<T: Sendable>(_ body: @escaping (any StoreTransaction) async throws -> T) async throws -> T {
        do {
            nonisolated(unsafe) let body = body
            return try await StoreBody.run(of: self, "write") { try await writer.transaction(Handed(value: body)) }
        } catch let error as DatabaseError {
            throw mapped(error)
        }
    }

    /// Runs `body` against a consistent snapshot, on a reader connection.
    public func read<T: Sendable>(_ body: @escaping (any StoreReader) async throws -> T) async throws -> T {
        do {
            nonisolated(unsafe) let body = body
            return try await StoreBody.run(of: self, "read") { try await SQLiteRead(pool: pool).run(Handed(value: body)) }
        } catch let error as DatabaseError {
            throw mapped(error)
        }
    }

    /// The pragmas in effect on the writer connection (`journal_mode`, `synchronous`, `cache_size`, `wal_autocheckpoint`,
    /// `journal_size_limit`, `busy_timeout`, `foreign_keys`, `temp_store`, `page_size`), for diagnostics and tests.
    public func pragmasInEffect() throws -> [String: String] {
        let names = [
            "journal_mode", "synchronous", "cache_size", "wal_autocheckpoint", "journal_size_limit", "busy_timeout",
            "foreign_keys", "temp_store", "page_size",
        ]
        do {
            return try pool.writeWithoutTransaction { db in
                var values: [String: String] = [:]
                for name in names {
                    let value = try DatabaseValue.fetchOne(db, sql: "PRAGMA \(name)")
                    values[name] = value.map { $0.storage.value.map { "\($0)" } ?? "NULL" } ?? "NULL"
                }
                return values
            }
        } catch let error as DatabaseError {
            throw mapped(error)
        }
    }

    /// The identifiers of the migrations applied to the file, oldest first.
    public func appliedMigrations() throws -> [String] {
        do {
            return try pool.read { db in
                let applied = try StoreMigrations.migrator.appliedIdentifiers(db)
                return StoreMigrations.all.map(\.identifier).filter(applied.contains)
                    + applied.subtracting(StoreMigrations.all.map(\.identifier)).sorted()
            }
        } catch let error as DatabaseError {
            throw mapped(error)
        }
    }

    /// A SQLite error as a ``StoreError`` naming the file; a busy or full database can be retried, a constraint is a bug.
    private func mapped(_ error: DatabaseError) -> StoreError {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(.busy, "the store at \(path) is locked by another connection: \(Self.describe(error))", retryable: true)
        case .SQLITE_FULL:
            return StoreError(.database, "the disk holding \(path) is full: \(Self.describe(error))", retryable: true)
        case .SQLITE_CONSTRAINT:
            return StoreError(.constraint, "a constraint of the store at \(path) refused a write: \(Self.describe(error))")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return StoreError(.corruptRow, "the store at \(path) is damaged: \(Self.describe(error))")
        default:
            return StoreError(.database, "\(Self.describe(error)) (store at \(path))")
        }
    }

    /// A database error's code and SQLite message, without the SQL or its arguments.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        return "SQLite error \(error.extendedResultCode.rawValue): \(error.message ?? "no message")"
    }
}
