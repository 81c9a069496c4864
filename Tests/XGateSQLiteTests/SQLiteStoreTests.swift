import Foundation
import GRDB
import Testing
import XGateCore
import XGateJSON
import XGateTestSupport

@testable import XGateSQLite

/// A directory of scratch database files, removed when the test ends.
final class ScratchDirectory {
    let url: URL
    private var count = 0

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("xgate-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path for a new database file in the directory.
    func newFile() -> String {
        count += 1
        return url.appendingPathComponent("store-\(count).sqlite").path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

@Suite struct SQLiteStoreTests {
    // MARK: The shared conformance suite, each property on fresh database files

    @Test(arguments: StoreConformance.properties)
    func conformance(_ property: StoreConformance.Property) async throws {
        let scratch = try ScratchDirectory()
        try await property.check { try SQLiteStore(path: scratch.newFile()) }
    }

    /// Two writers at once: two stores (two connections, as two processes would open it) on one file.
    @Test(arguments: StoreConformance.concurrencyProperties)
    func concurrency(_ property: StoreConformance.ConcurrencyProperty) async throws {
        let scratch = try ScratchDirectory()
        try await property.check {
            let path = scratch.newFile()
            return (try SQLiteStore(path: path), try SQLiteStore(path: path))
        }
    }

    @Test func conformance_dataSurvivesCloseAndReopen() async throws {
        let scratch = try ScratchDirectory()
        try await StoreConformance.dataSurvivesReopen({ try SQLiteStore(path: scratch.newFile()) }) { store in
            let sqlite = try #require(store as? SQLiteStore)
            try await sqlite.close()
            return try SQLiteStore(path: sqlite.path)
        }
    }

    // MARK: SQLite specifics

    @Test func pragmasAreInEffect() throws {
        let scratch = try ScratchDirectory()
        let store = try SQLiteStore(path: scratch.newFile())
        let pragmas = try store.pragmasInEffect()
        #expect(pragmas["journal_mode"] == "wal")
        #expect(pragmas["synchronous"] == "1")  // NORMAL
        #expect(pragmas["cache_size"] == "-262144")
        #expect(pragmas["wal_autocheckpoint"] == "10000")
        #expect(pragmas["journal_size_limit"] == "\(64 << 20)")
        #expect(pragmas["busy_timeout"] == "5000")
        #expect(pragmas["foreign_keys"] == "1")
        #expect(pragmas["temp_store"] == "2")  // MEMORY
    }

    @Test func configuredPragmasAreInEffect() throws {
        let scratch = try ScratchDirectory()
        let configuration = SQLiteStore.Configuration(
            synchronous: .full, writerCacheKiB: 65_536, walAutocheckpointPages: 2_000, walSizeLimitBytes: 8 << 20,
            busyTimeoutMilliseconds: 250)
        let store = try SQLiteStore.open(path: scratch.newFile(), configuration: configuration)
        let pragmas = try store.pragmasInEffect()
        #expect(pragmas["synchronous"] == "2")  // FULL
        #expect(pragmas["cache_size"] == "-65536")
        #expect(pragmas["wal_autocheckpoint"] == "2000")
        #expect(pragmas["journal_size_limit"] == "\(8 << 20)")
        #expect(pragmas["busy_timeout"] == "250")
        #expect(store.configuration == configuration)
    }

    @Test func configurationOutOfBoundsIsRefusedNamingTheField() throws {
        let scratch = try ScratchDirectory()
        for (configuration, field) in [
            (SQLiteStore.Configuration(walAutocheckpointPages: 0), "walAutocheckpointPages"),
            (SQLiteStore.Configuration(writerCacheKiB: -262_144), "writerCacheKiB"),
            (SQLiteStore.Configuration(maximumReaders: 0), "maximumReaders"),
        ] {
            let error = try #require(throws: StoreError.self) { try SQLiteStore(path: scratch.newFile(), configuration: configuration) }
            #expect(error.code == .configuration)
            #expect(error.message.contains(field))
        }
    }

    /// A channel's look at the log reads the index, never the rows the filter passes over (v9): the plan SQLite
    /// chooses for both queries searches records_channel as a covering index.
    @Test func aChannelsFilterIsReadFromTheIndexAlone() async throws {
        let scratch = try ScratchDirectory()
        let store = try SQLiteStore(path: scratch.newFile())
        let filter = ChannelFilter(kinds: ["administrative-penalty"], madeHereOnly: true)
        let plans = try await store.pool.read { db -> [String] in
            let reader = SQLiteReader(db: db)
            let channel = "SELECT local_seq FROM records INDEXED BY records_channel WHERE \(SQLiteReader.channelCondition)"
            let rows = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + channel, arguments: reader.channelArguments(0, filter))
            return rows.map { $0["detail"] as String? ?? "" }
        }
        #expect(plans.contains { $0.contains("COVERING INDEX records_channel") }, "\(plans)")
        // And the queries themselves run and answer as before.
        try await store.read { (r) throws in
            await #expect(try r.records(after: 0, limit: 10, matching: filter).isEmpty)
            await #expect(try r.recordSummary(after: 0, matching: filter).count == 0)
        }
    }

    @Test func migrationsRunOnceAndReopeningKeepsData() async throws {
        let scratch = try ScratchDirectory()
        let path = scratch.newFile()
        let store = try SQLiteStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10"])
        try await store.write { tx in try await tx.setFeedPosition(subscriber: "sh-city", feed: "records", cursor: "42") }
        try await store.close()
        for _ in 0..<2 {
            let again = try SQLiteStore(path: path)
            #expect(try again.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10"])
            #expect(try await again.read { try await $0.feedPosition(subscriber: "sh-city", feed: "records") } == "42")
            try await again.close()
        }
    }

    @Test func migratingAStoreOfTheEarlierSchemaFillsTheDecisionDatesAndTheDeliveries() async throws {
        let scratch = try ScratchDirectory()
        let path = scratch.newFile()
        // A file as xgate wrote it before v5: migrations v1–v4, a record held.
        let old = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        for migration in StoreMigrations.all.prefix(4) {
            let sql = migration.sql
            migrator.registerMigration(migration.identifier) { db in try db.execute(sql: sql) }
        }
        try migrator.migrate(old)
        let state = try StoreConformance.decision("M-0001", decided: "2026-11-05")
        try await old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO records (owner, kind, source_id, state_json, status, content_version, status_version, has_conflicts, local_seq)
                    VALUES (?, ?, ?, ?, 'active', 1, 1, 0, 1)
                    """,
                arguments: [state.key.owner, state.key.kind, state.key.sourceId, state.storedJSON.serializedString()])
            // A batch delivered before v7: its signed bytes become prunable, counted from the migration.
            try db.execute(
                sql: """
                    INSERT INTO outbound_batches (peer, sequence, batch_id, jws, item_ids, created_at, state, attempts, next_attempt_at,
                                                  next_attempt_at_s, receipt)
                    VALUES ('sh-city', 1, 'B-OLD', X'0102', '[]', '2026-11-01T10:00:00+08:00', 'delivered', 0,
                            '2026-11-01T10:00:00+08:00', 0, X'03')
                    """)
        }
        try old.close()
        let store = try SQLiteStore(path: path)
        let november = (try #require(CivilDate("2026-11-01")), try #require(CivilDate("2026-11-30")))
        let found = try await store.read { try await $0.decisions(kinds: [state.key.kind], from: november.0, through: november.1) }
        #expect(found.map(\.decisionDate.description) == ["2026-11-05"])
        #expect(try await store.write { tx in try await tx.pruneDeliveredBatches(deliveredBefore: Timestamp(seconds: 1_000), limit: 10) } == 0)
        #expect(try await store.write { tx in try await tx.pruneDeliveredBatches(deliveredBefore: Timestamp(seconds: 1 << 40), limit: 10) } == 1)
        #expect(try await store.read { try await $0.outboundBatch(peer: "sh-city", sequence: 1) }?.jws.isEmpty == true)
        try await store.close()
    }

    @Test func aFileWrittenByOneInstanceIsReadByAnother() async throws {
        let scratch = try ScratchDirectory()
        let path = scratch.newFile()
        let writer = try SQLiteStore(path: path)
        let reader = try SQLiteStore(path: path)
        let state = try StoreConformance.state("X-0001", conflicted: true)
        let sequence = try await writer.write { tx in try await tx.putRecord(state) }
        #expect(try await reader.read { try await $0.record(state.key) } == StoredRecord(state: state, localSequence: sequence))
        let next = try await reader.write { tx in try await tx.putRecord(try StoreConformance.state("X-0002")) }
        #expect(next == sequence + 1)
        #expect(try await writer.read { try await $0.lastLocalSequence() } == next)
    }

    @Test func aStoreOpenedForReadingSeesTheWritersDataAndWritesNothing() async throws {
        let scratch = try ScratchDirectory()
        let path = scratch.newFile()
        let writer = try SQLiteStore(path: path)
        let state = try StoreConformance.state("R-0001")
        let sequence = try await writer.write { tx in try await tx.putRecord(state) }
        let reader = try SQLiteStore.openForReading(path: path)
        #expect(try await reader.read { try await $0.record(state.key) } == StoredRecord(state: state, localSequence: sequence))
        let refused = try await #require(throws: StoreError.self) {
            try await reader.write { tx in try await tx.putRecord(try await StoreConformance.state("R-0002")) }
        }
        #expect(refused.message.contains("readonly") || refused.message.contains("read-only") || refused.message.contains("read only"))
        // The writer goes on while the reader is open, and the reader's next snapshot sees it.
        let next = try await writer.write { tx in try await tx.putRecord(try StoreConformance.state("R-0003")) }
        #expect(try await reader.read { try await $0.lastLocalSequence() } == next)
        try await reader.close()
        try await writer.close()

        let missing = scratch.newFile()
        let notFound = try #require(throws: StoreError.self) { try SQLiteStore.openForReading(path: missing) }
        #expect(notFound.code == .open && notFound.message.contains(missing))
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func aStoreOfAnotherVersionIsNotOpenedForReading() async throws {
        let scratch = try ScratchDirectory()
        let path = scratch.newFile()
        try await SQLiteStore(path: path).close()
        let raw = try DatabaseQueue(path: path)
        try await raw.write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v4'") }
        let older = try #require(throws: StoreError.self) { try SQLiteStore.openForReading(path: path) }
        #expect(older.message.contains("older xgate") && older.message.contains("v4"))
        try await raw.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v4'), ('v99')") }
        try raw.close()
        let newer = try #require(throws: StoreError.self) { try SQLiteStore.openForReading(path: path) }
        #expect(newer.message.contains("newer xgate"))
    }

    @Test func closedStoreRefusesCalls() async throws {
        let scratch = try ScratchDirectory()
        let store = try SQLiteStore(path: scratch.newFile())
        try await store.close()
        await #expect(throws: StoreError.self) { try await store.read { try await $0.lastLocalSequence() } }
    }

    @Test func refusalsSayWhatAndWhere() async throws {
        let scratch = try ScratchDirectory()
        let store = try SQLiteStore(path: scratch.newFile())
        let keys = [StoreConformance.key("Y-0001"), StoreConformance.key("Y-0002")]
        let wrongSequence = try await #require(throws: StoreError.self) {
            try await store.write { tx in try await tx.saveOutboundBatch(StoreConformance.batch("sh-city", sequence: 2, keys: [keys[0]])) }
        }
        #expect(wrongSequence.code == .sequence)
        #expect(wrongSequence.message.contains("sh-city") && wrongSequence.message.contains("2") && wrongSequence.message.contains("1"))
        try await store.write { tx in try await tx.saveOutboundBatch(StoreConformance.batch("sh-city", sequence: 1, keys: [keys[0]], id: "B-1")) }
        let reused = try await #require(throws: StoreError.self) {
            try await store.write { tx in try await tx.saveOutboundBatch(StoreConformance.batch("sh-pudong", sequence: 1, keys: [keys[1]], id: "B-1")) }
        }
        #expect(reused.code == .duplicate)
        let missing = try await #require(throws: StoreError.self) {
            try await store.write { tx in try await tx.updateOutboundBatch(StoreConformance.batch("sh-city", sequence: 9, keys: [])) }
        }
        #expect(missing.code == .missing)
        let entry = StoreConformance.inbox("sh-city", sequence: 1)
        try await store.write { tx in try await tx.saveInbox(entry) }
        let duplicate = try await #require(throws: StoreError.self) { try await store.write { tx in try await tx.saveInbox(entry) } }
        #expect(duplicate.code == .duplicate)
    }

    @Test func emptyBlobsStayEmpty() async throws {
        let scratch = try ScratchDirectory()
        let store = try SQLiteStore(path: scratch.newFile())
        var entry = StoreConformance.inbox("sh-city", sequence: 1)
        entry.receipt = []
        var batch = StoreConformance.batch("sh-city", sequence: 1, keys: [])
        batch.jws = []
        try await store.write { tx in
            try await tx.saveInbox(entry)
            try await tx.saveOutboundBatch(batch)
        }
        #expect(try await store.read { try await $0.inboxEntry(sender: "sh-city", batchId: entry.batchId) }?.receipt == [])
        #expect(try await store.read { try await $0.outboundBatch(peer: "sh-city", sequence: 1) }?.jws == [])
    }
}
