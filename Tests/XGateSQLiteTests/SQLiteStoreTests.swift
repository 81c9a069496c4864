import Foundation
import Testing
import XGateCore
import XGateJSON
import XGateSQLite
import XGateTestSupport

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
    func conformance(_ property: StoreConformance.Property) throws {
        let scratch = try ScratchDirectory()
        try property.check { try SQLiteStore(path: scratch.newFile()) }
    }

    @Test func conformance_dataSurvivesCloseAndReopen() throws {
        let scratch = try ScratchDirectory()
        try StoreConformance.dataSurvivesReopen({ try SQLiteStore(path: scratch.newFile()) }) { store in
            let sqlite = try #require(store as? SQLiteStore)
            try sqlite.close()
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

    @Test func migrationsRunOnceAndReopeningKeepsData() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.newFile()
        let store = try SQLiteStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4"])
        try store.write { tx in try tx.setFeedPosition(subscriber: "sh-city", feed: "records", cursor: "42") }
        try store.close()
        for _ in 0..<2 {
            let again = try SQLiteStore(path: path)
            #expect(try again.appliedMigrations() == ["v1", "v2", "v3", "v4"])
            #expect(try again.read { try $0.feedPosition(subscriber: "sh-city", feed: "records") } == "42")
            try again.close()
        }
    }

    @Test func aFileWrittenByOneInstanceIsReadByAnother() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.newFile()
        let writer = try SQLiteStore(path: path)
        let reader = try SQLiteStore(path: path)
        let state = try StoreConformance.state("X-0001", conflicted: true)
        let sequence = try writer.write { tx in try tx.putRecord(state) }
        #expect(try reader.read { try $0.record(state.key) } == StoredRecord(state: state, localSequence: sequence))
        let next = try reader.write { tx in try tx.putRecord(try StoreConformance.state("X-0002")) }
        #expect(next == sequence + 1)
        #expect(try writer.read { try $0.lastLocalSequence() } == next)
    }

    @Test func closedStoreRefusesCalls() throws {
        let scratch = try ScratchDirectory()
        let store = try SQLiteStore(path: scratch.newFile())
        try store.close()
        #expect(throws: StoreError.self) { try store.read { try $0.lastLocalSequence() } }
    }

    @Test func refusalsSayWhatAndWhere() throws {
        let scratch = try ScratchDirectory()
        let store = try SQLiteStore(path: scratch.newFile())
        let ids = try store.write { tx in
            [
                try tx.enqueue(try StoreConformance.item("sh-city", "Y-0001")),
                try tx.enqueue(try StoreConformance.item("sh-pudong", "Y-0002")),
            ]
        }
        let wrongSequence = try #require(throws: StoreError.self) {
            try store.write { tx in try tx.saveOutboundBatch(StoreConformance.batch("sh-city", sequence: 2, items: [ids[0]])) }
        }
        #expect(wrongSequence.code == .sequence)
        #expect(wrongSequence.message.contains("sh-city") && wrongSequence.message.contains("2") && wrongSequence.message.contains("1"))
        let foreignItem = try #require(throws: StoreError.self) {
            try store.write { tx in try tx.saveOutboundBatch(StoreConformance.batch("sh-city", sequence: 1, items: [ids[0], ids[1]])) }
        }
        #expect(foreignItem.code == .outboxItem)
        #expect(foreignItem.message.contains("\(ids[1])"))
        try store.write { tx in try tx.saveOutboundBatch(StoreConformance.batch("sh-city", sequence: 1, items: [ids[0]], id: "B-1")) }
        let reused = try #require(throws: StoreError.self) {
            try store.write { tx in try tx.saveOutboundBatch(StoreConformance.batch("sh-pudong", sequence: 1, items: [ids[1]], id: "B-1")) }
        }
        #expect(reused.code == .duplicate)
        let again = try #require(throws: StoreError.self) {
            try store.write { tx in try tx.saveOutboundBatch(StoreConformance.batch("sh-pudong", sequence: 1, items: [ids[0]])) }
        }
        #expect(again.code == .outboxItem, "an item already in a batch cannot go in another")
        let missing = try #require(throws: StoreError.self) {
            try store.write { tx in try tx.updateOutboundBatch(StoreConformance.batch("sh-city", sequence: 9, items: [])) }
        }
        #expect(missing.code == .missing)
        let entry = StoreConformance.inbox("sh-city", sequence: 1)
        try store.write { tx in try tx.saveInbox(entry) }
        let duplicate = try #require(throws: StoreError.self) { try store.write { tx in try tx.saveInbox(entry) } }
        #expect(duplicate.code == .duplicate)
    }

    @Test func emptyBlobsStayEmpty() throws {
        let scratch = try ScratchDirectory()
        let store = try SQLiteStore(path: scratch.newFile())
        var entry = StoreConformance.inbox("sh-city", sequence: 1)
        entry.receipt = []
        var batch = StoreConformance.batch("sh-city", sequence: 1, items: [])
        batch.jws = []
        try store.write { tx in
            try tx.saveInbox(entry)
            try tx.saveOutboundBatch(batch)
        }
        #expect(try store.read { try $0.inboxEntry(sender: "sh-city", batchId: entry.batchId) }?.receipt == [])
        #expect(try store.read { try $0.outboundBatch(peer: "sh-city", sequence: 1) }?.jws == [])
    }
}
