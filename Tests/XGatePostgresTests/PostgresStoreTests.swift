import Foundation
import Logging
import PostgresNIO
import Testing
import XGateCore
import XGateTestSupport

@testable import XGatePostgres

/// The PostgreSQL cluster the tests make their scratch databases on, named by `XGATE_TEST_POSTGRES` (a URL such as
/// `postgresql://postgres@127.0.0.1:55432/postgres`, a role that may create databases). Without it every test fails,
/// saying how to start one: a store suite that skips silently would pass without testing anything.
enum TestCluster {
    static let variable = "XGATE_TEST_POSTGRES"

    /// Why the tests cannot run.
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            """
            \(TestCluster.variable) is not set: the PostgreSQL store tests need a cluster. Start one with \
            `python3 deploy/postgres/pgcluster.py init DIR --port 55432 && python3 deploy/postgres/pgcluster.py start DIR`, \
            then run `\(TestCluster.variable)=postgresql://postgres@127.0.0.1:55432/postgres swift test --filter XGatePostgresTests` \
            (and `python3 deploy/postgres/pgcluster.py stop DIR` afterwards)
            """
        }
    }

    /// The cluster's administrative connection, from the environment.
    static func administration() throws -> PostgresStore.Configuration {
        guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else { throw Missing() }
        var configuration = try PostgresStore.Configuration(url: url)
        configuration.maximumConnections = 1
        return configuration
    }

    static let logger: Logger = {
        var logger = Logger(label: "xgate.postgres.tests")
        logger.logLevel = ProcessInfo.processInfo.environment["XGATE_TEST_PGLOG"] == nil ? .warning : .trace
        return logger
    }()
}

/// Fresh databases (`xgate_test_<random>`) on the cluster and the stores opened on them; ``finish()`` closes the
/// stores and drops the databases.
final class ScratchDatabases: @unchecked Sendable {
    let administration: PostgresStore.Configuration
    private let lock = NSLock()
    private var databases: [String] = []
    private var stores: [PostgresStore] = []

    init() throws {
        administration = try TestCluster.administration()
    }

    /// Runs `body` with scratch databases, dropping them afterwards whether it throws or not.
    static func with(_ body: (ScratchDatabases) async throws -> Void) async throws {
        let scratch = try ScratchDatabases()
        do {
            try await body(scratch)
        } catch {
            try? await scratch.finish()
            throw error
        }
        try await scratch.finish()
    }

    /// Creates an empty database and returns the configuration of a store on it.
    func newDatabase() async throws -> PostgresStore.Configuration {
        let name = "xgate_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        // CREATE DATABASE takes no parameters; the name is made here of [a-z0-9_].
        try await administer("CREATE DATABASE \(name)")
        lock.withLock { databases.append(name) }
        var configuration = administration
        configuration.database = name
        configuration.maximumConnections = 4
        // Far above what any transaction of the suite takes, far below a watchdog: a transaction left without an
        // answer (TransactionDeadline) fails the test that ran it, by name, rather than hanging the run.
        configuration.transactionTimeout = .seconds(30)
        return configuration
    }

    /// Opens a store on a database made by ``newDatabase()``; it is closed by ``finish()`` if not before.
    func open(_ configuration: PostgresStore.Configuration) async throws -> PostgresStore {
        let store = try await PostgresStore.open(configuration, logger: TestCluster.logger)
        lock.withLock { stores.append(store) }
        return store
    }

    /// A store on a fresh database.
    func freshStore() async throws -> PostgresStore {
        try await open(try await newDatabase())
    }

    /// Closes every store, then drops every database.
    func finish() async throws {
        let (stores, databases) = lock.withLock { (self.stores, self.databases) }
        for store in stores { try? await store.close() }
        for name in databases { try await administer("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }

    /// Runs one statement on the administrative database, through a client of its own.
    private func administer(_ sql: String) async throws {
        let client = PostgresClient(configuration: administration.client, backgroundLogger: TestCluster.logger)
        let running = Task { await client.run() }
        let outcome: Result<Void, any Error>
        do {
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestCluster.logger)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        running.cancel()
        await running.value
        try outcome.get()
    }
}

@Suite(.serialized) struct PostgresStoreTests {
    // MARK: The shared conformance suite, each property on fresh databases

    @Test(arguments: StoreConformance.properties)
    func conformance(_ property: StoreConformance.Property) async throws {
        try await ScratchDatabases.with { scratch in
            try await property.check { try await scratch.freshStore() }
        }
    }

    /// Two writers at once: two stores (two pools, as two instances of the city hold them) on one database.
    @Test(arguments: StoreConformance.concurrencyProperties)
    func concurrency(_ property: StoreConformance.ConcurrencyProperty) async throws {
        try await ScratchDatabases.with { scratch in
            try await property.check {
                let configuration = try await scratch.newDatabase()
                return (try await scratch.open(configuration), try await scratch.open(configuration))
            }
        }
    }

    @Test func conformance_dataSurvivesCloseAndReopen() async throws {
        try await ScratchDatabases.with { scratch in
            try await StoreConformance.dataSurvivesReopen({ try await scratch.freshStore() }) { store in
                let postgres = try #require(store as? PostgresStore)
                try await postgres.close()
                return try await scratch.open(postgres.configuration)
            }
        }
    }

    // MARK: PostgreSQL specifics

    /// Two instances storing different records at once both read the same `max(local_seq)`: the one that commits
    /// second fails retryably (40001, not a duplicate local_seq), and after the retries the sequences are 1 … 60,
    /// each given once, in the order the feed reads them.
    @Test func twoWritersOnDifferentRecordsTakeEachSequenceOnce() async throws {
        try await ScratchDatabases.with { scratch in
            let configuration = try await scratch.newDatabase()
            let stores = [try await scratch.open(configuration), try await scratch.open(configuration)]
            let sequences = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for writer in 0..<2 {
                    group.addTask { @concurrent in
                        var taken: [Int64] = []
                        for i in 0..<30 {
                            let state = try StoreConformance.state("DIFF-\(writer)-\(i)")
                            taken.append(try await StoreConformance.writeRetrying(stores[writer]) { tx in try await tx.putRecord(state) })
                        }
                        return taken
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(sequences.sorted() == Array(1...60))
            let feed = try await stores[0].read { try await $0.records(after: 0, limit: 100) }
            #expect(feed.map(\.localSequence) == Array(1...60))
        }
    }

    /// Two instances appending to one peer's channel at once, where the channel already exists and where it does
    /// not: a lost race is a retryable conflict, never a constraint.
    @Test func aLostRaceIsAConflictNotAConstraint() async throws {
        try await ScratchDatabases.with { scratch in
            let configuration = try await scratch.newDatabase()
            let stores = [try await scratch.open(configuration), try await scratch.open(configuration)]
            let codes = try await withThrowingTaskGroup(of: [StoreError.Code].self) { group in
                for writer in 0..<2 {
                    group.addTask { @concurrent in
                        var codes: [StoreError.Code] = []
                        for i in 0..<20 {
                            do {
                                try await stores[writer].write { tx in
                                    let sequence = try await tx.nextOutboundSequence(peer: "zj-huzhou")
                                    usleep(500)
                                    try await tx.saveOutboundBatch(
                                        StoreConformance.batch("zj-huzhou", sequence: sequence, keys: [], id: "01JDx\(writer)-\(i)"))
                                }
                            } catch let error as StoreError {
                                codes.append(error.code)
                            }
                        }
                        return codes
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(codes.allSatisfy { $0 == .conflict }, "\(codes)")
        }
    }

    /// Two instances opening one new database at once apply the schema once (the advisory lock), and a second open
    /// finds nothing to apply.
    @Test func migrationsRunOnceWhenInstancesStartTogether() async throws {
        try await ScratchDatabases.with { scratch in
            let configuration = try await scratch.newDatabase()
            async let first = scratch.open(configuration)
            async let second = scratch.open(configuration)
            let (a, b) = try await (first, second)
            #expect((a.appliedByOpen + b.appliedByOpen).sorted() == ["v1"])
            #expect(try await a.appliedMigrations() == ["v1"])
            let third = try await scratch.open(configuration)
            #expect(third.appliedByOpen.isEmpty)
        }
    }

    /// A database holding a migration this version does not know was written by a newer xgate: opening it is refused.
    @Test func aDatabaseFromANewerVersionIsRefused() async throws {
        try await ScratchDatabases.with { scratch in
            let configuration = try await scratch.newDatabase()
            let store = try await scratch.open(configuration)
            try await store.client.query("INSERT INTO xgate_migrations (identifier) VALUES ('v999')", logger: TestCluster.logger)
            let error = try await #require(throws: StoreError.self) { try await scratch.open(configuration) }
            #expect(error.code == .open)
            #expect(error.message.contains("v999"))
        }
    }

    /// Server errors come out as the store's codes: a constraint is a bug, not retried.
    @Test func aConstraintViolationIsNotRetryable() async throws {
        try await ScratchDatabases.with { scratch in
            let store = try await scratch.freshStore()
            let error = try await #require(throws: StoreError.self) {
                try await store.write { tx in
                    let tx = try #require(tx as? PostgresTransaction)
                    try await tx.execute("INSERT INTO leases (name, holder, expires_at_s, epoch) VALUES ('a', 'x', 1, 1)")
                    try await tx.execute("INSERT INTO leases (name, holder, expires_at_s, epoch) VALUES ('a', 'y', 1, 1)")
                }
            }
            #expect(error.code == .constraint && !error.isRetryable, "\(error)")
            #expect(try await store.read { try await $0.leases() }.isEmpty, "the write was rolled back")
        }
    }

    /// A body that catches a statement's failure and returns does not commit: PostgreSQL has discarded the
    /// transaction, so `write` throws that failure instead of seeming to succeed with nothing kept.
    @Test func aSwallowedStatementFailureFailsTheWrite() async throws {
        try await ScratchDatabases.with { scratch in
            let store = try await scratch.freshStore()
            let error = try await #require(throws: StoreError.self) {
                try await store.write { tx in
                    try await tx.putRecord(try StoreConformance.state("SWALLOWED-1"))
                    let tx = try #require(tx as? PostgresTransaction)
                    try await tx.execute("INSERT INTO leases (name, holder, expires_at_s, epoch) VALUES ('a', 'x', 1, 1)")
                    try? await tx.execute("INSERT INTO leases (name, holder, expires_at_s, epoch) VALUES ('a', 'y', 1, 1)")
                }
            }
            #expect(error.code == .constraint, "\(error)")
            #expect(try await store.read { try await $0.lastLocalSequence() } == 0, "nothing was kept")
        }
    }

    /// A connection the server ends inside a transaction (a restart, a failover) is a retryable unavailability, and
    /// the pool replaces it: the write, run again, succeeds.
    @Test func aLostConnectionIsRetryableAndReplaced() async throws {
        try await ScratchDatabases.with { scratch in
            let store = try await scratch.freshStore()
            let error = try await #require(throws: StoreError.self) {
                try await store.write { tx in
                    try await tx.putRecord(try StoreConformance.state("LOST-1"))
                    let tx = try #require(tx as? PostgresTransaction)
                    try await tx.execute("SELECT pg_terminate_backend(pg_backend_pid())")
                }
            }
            #expect(error.code == .unavailable && error.isRetryable, "\(error)")
            // Run again as the daemon would: the pool may hand out the dead connection once more before it has
            // seen it close (another retryable unavailability), then a new one.
            _ = try await StoreConformance.writeRetrying(store) { tx in try await tx.putRecord(try StoreConformance.state("LOST-2")) }
            let keys = try await store.read { try await $0.records(after: 0, limit: 10) }.map(\.state.key.sourceId)
            #expect(keys == ["LOST-2"], "nothing of the lost transaction was kept")
        }
    }

    /// A transaction with no answer within the transaction timeout (here a statement that sleeps past it) is given
    /// up: a retryable unavailability soon after the deadline, not after the statement; its connection is closed,
    /// so nothing of it is kept, and the store goes on with a new one.
    @Test func aTransactionPastItsDeadlineIsGivenUp() async throws {
        try await ScratchDatabases.with { scratch in
            var configuration = try await scratch.newDatabase()
            configuration.transactionTimeout = .seconds(1)
            let store = try await scratch.open(configuration)
            let started = ContinuousClock.now
            let error = try await #require(throws: StoreError.self) {
                try await store.write { tx in
                    try await tx.putRecord(try StoreConformance.state("SLOW-1"))
                    let tx = try #require(tx as? PostgresTransaction)
                    try await tx.execute("SELECT pg_sleep(20)")
                }
            }
            let waited = ContinuousClock.now - started
            #expect(error.code == .unavailable && error.isRetryable, "\(error)")
            #expect("\(error)".contains("1.0 seconds"), "the error names the deadline: \(error)")
            #expect(waited >= .seconds(1) && waited < .seconds(10), "given up at the deadline, not after the statement: \(waited)")
            _ = try await StoreConformance.writeRetrying(store) { tx in try await tx.putRecord(try StoreConformance.state("SLOW-2")) }
            let keys = try await store.read { try await $0.records(after: 0, limit: 10) }.map(\.state.key.sourceId)
            #expect(keys == ["SLOW-2"], "nothing of the abandoned transaction was kept")
        }
    }

    /// A server that refuses connections: opening fails, retryably, within the connect timeout's order of magnitude.
    @Test func anUnreachableServerFailsTheOpenRetryably() async throws {
        var configuration = try TestCluster.administration()
        configuration.port = 1
        configuration.connectTimeout = .seconds(2)
        let started = ContinuousClock.now
        let error = try await #require(throws: StoreError.self) {
            try await PostgresStore.open(configuration, logger: TestCluster.logger)
        }
        #expect(error.code == .open && error.isRetryable, "\(error)")
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    /// A closed store refuses every later call.
    @Test func aClosedStoreRefusesCalls() async throws {
        try await ScratchDatabases.with { scratch in
            let store = try await scratch.freshStore()
            try await store.close()
            await #expect(throws: StoreError.self) { try await store.read { try await $0.lastLocalSequence() } }
        }
    }

    /// URLs are read into configurations; a password never shows in one, nor in a URL.
    @Test func urlsAreReadAndPasswordsKeptOut() throws {
        let configuration = try PostgresStore.Configuration(
            url: "postgresql://city@db.internal:6543/xgate_city?sslmode=require", password: "s3cret")
        #expect(configuration.user == "city" && configuration.host == "db.internal" && configuration.port == 6543)
        #expect(configuration.database == "xgate_city" && configuration.tls == .require && configuration.password == "s3cret")
        #expect(!configuration.description.contains("s3cret"))
        #expect(!"\(configuration)".contains("s3cret"))
        let error = try #require(throws: StoreError.self) {
            try PostgresStore.Configuration(url: "postgresql://city:s3cret@db.internal/xgate")
        }
        #expect(error.code == .configuration && !error.message.contains("s3cret"))
        #expect(throws: StoreError.self) { try PostgresStore.Configuration(url: "mysql://city@db/xgate") }
        let socket = try PostgresStore.Configuration(url: "postgresql://city@localhost/xgate?host=/var/run/postgresql")
        #expect(socket.unixSocketPath == "/var/run/postgresql/.s.PGSQL.5432")
    }
}
