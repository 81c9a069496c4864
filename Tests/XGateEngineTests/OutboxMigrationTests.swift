import Foundation
import GRDB
import Testing
import XGateCore
import XGateEngine
import XGateJOSE
import XGateJSON
import XGateTestSupport

@testable import XGateSQLite

/// Migration v8 on a store as the landed main left it (schema v7, with an outbox): what was queued and not yet in a
/// batch goes out once, through the outbound rule; what was already sent is not sent again; batches keep their records.
@Suite struct OutboxMigrationTests {
    @Test func aStoreWithAPendingOutboxIsCarriedOverWithoutLosingOrResendingAnything() async throws {
        let directory = NSTemporaryDirectory() + "xgate-v7-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sh-city.sqlite"
        let (federation, contracts, keys) = FederationSimulationTests.registry
        let context = try NodeContext(id: "sh-city", signingKey: keys["sh-city"]!, federation: federation, contracts: contracts)
        let now = Timestamp("2026-11-20T09:00:00+08:00")!
        func state(_ sourceId: String) -> RecordState {
            let key = RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: sourceId)
            return RecordState(
                key: key, content: ContentVersion(version: 1, author: "sh-xuhui", at: now.text, record: SampleRecords.penalty(sourceId: sourceId)),
                status: StatusChange(version: 1, value: .active, from: nil, author: "sh-xuhui", at: now.text))
        }
        let sent = state("XH-V7-SENT")  // relayed to 嘉兴 in batch 1, delivered
        let queued = state("XH-V7-QUEUED")  // routed to 嘉兴, not yet in a batch
        let repaired = state("XH-V7-QUEUED-REPAIRED")  // routed with content, then repaired before the upgrade
        // The landed main's schema, v1…v7, and rows as its code wrote them.
        let queue = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        for migration in StoreMigrations.all.prefix(7) {
            let sql = migration.sql
            migrator.registerMigration(migration.identifier) { db in try db.execute(sql: sql) }
        }
        try migrator.migrate(queue)
        let decision = StatusChange(
            version: 2, value: .repaired, from: .active, author: "sh-city", at: now.text, reason: "已完成信用修复", basis: "《信用修复管理办法》")
        let repairedState = try #require(
            Merge.apply(
                Change(key: repaired.key, content: nil, status: decision), to: repaired,
                policy: federation.mergePolicy(catalogue: contracts.catalogue)
            ).0)
        try #require(repairedState.status.value == .repaired)
        try await queue.write { db in
            for (seq, s) in [(1, sent), (2, queued), (3, repairedState)] {
                try db.execute(
                    sql: """
                        INSERT INTO records (owner, kind, source_id, state_json, status, content_version, status_version, has_conflicts,
                            local_seq, decision_date) VALUES (?, ?, ?, ?, ?, 1, ?, 0, ?, '2026-10-12')
                        """,
                    arguments: [s.key.owner, s.key.kind, s.key.sourceId, s.storedJSON.serializedString(), s.status.value.rawValue, s.status.version, seq])
            }
            for (id, s) in [(1, sent), (2, queued), (3, repaired)] {
                let change = Change(key: s.key, content: s.content, status: s.status)
                try db.execute(sql: "INSERT INTO outbox_changes (id, change_json) VALUES (?, ?)", arguments: [id, change.json.serializedString()])
                try db.execute(
                    sql: """
                        INSERT INTO outbox (id, peer, owner, kind, source_id, change_id, is_correction, enqueued_at, batch_sequence)
                        VALUES (?, 'zj-jiaxing', ?, ?, ?, ?, 0, ?, ?)
                        """,
                    arguments: [id, s.key.owner, s.key.kind, s.key.sourceId, id, now.text, id == 1 ? 1 : nil])
            }
            try db.execute(
                sql: """
                    INSERT INTO outbound_batches (peer, sequence, batch_id, jws, item_ids, created_at, state, attempts, next_attempt_at,
                        next_attempt_at_s, last_error, receipt) VALUES ('zj-jiaxing', 1, '019ad3c1-0000-7000-8000-000000000001', X'00', '[1]', ?,
                        'delivered', 1, ?, ?, NULL, X'00')
                    """,
                arguments: [now.text, now.text, now.seconds])
            try db.execute(sql: "INSERT INTO channels (peer, direction, next_sequence) VALUES ('zj-jiaxing', 'outbound', 2)")
            try db.execute(
                sql: """
                    INSERT INTO lineage (owner, kind, source_id, peer, direction, batch_id, content_version, status_version, outcome, at)
                    VALUES (?, ?, ?, 'zj-jiaxing', 'outbound', '019ad3c1-0000-7000-8000-000000000001', 1, 1, 'applied', ?)
                    """,
                arguments: [sent.key.owner, sent.key.kind, sent.key.sourceId, now.text])
        }
        try queue.close()

        // Opened by this release: v8 runs.
        let store = try SQLiteStore(path: path)
        #expect(try store.appliedMigrations().last == StoreMigrations.all.last?.identifier)
        #expect(try store.appliedMigrations().contains("v8"))
        try await store.read { (r) throws in
            await #expect(try r.backlog(peer: "zj-jiaxing", limit: 10) == [queued.key, repaired.key], "the items not yet in a batch, in order")
            await #expect(try r.pushPositions() == ["zj-jiaxing": 3], "the channel continues from the end of the log")
            await #expect(try r.outboundBatch(peer: "zj-jiaxing", sequence: 1)?.keys == [sent.key], "the batch keeps its record")
            await #expect(try r.nextOutboundSequence(peer: "zj-jiaxing") == 2)
        }
        let clock = FixedClock(now)
        let engine = try SyncEngine(node: context, store: store, clock: clock, random: SeededRandom(seed: 5))
        let batch = try #require(try await engine.nextBatch(to: "zj-jiaxing"))
        #expect(batch.sequence == 2)
        let payload = try JSONParser().parse(JWS.parse(JSONParser().parse(batch.jws), expectedType: JWS.batchType).payload)
        let changes = try (payload["changes"]?.arrayValue ?? []).map { try Change(json: $0) }
        #expect(changes.map(\.key) == [queued.key], "the queued record goes once; the repaired one, never held by 嘉兴, not at all: \(changes.map(\.json))")
        #expect(changes.first?.content != nil)
        try await store.write { tx in
            var delivered = batch
            delivered.state = .delivered
            try await tx.updateOutboundBatch(delivered)
        }
        #expect(try await engine.nextBatch(to: "zj-jiaxing") == nil, "nothing is sent twice: not the delivered record, not the backlog")
        #expect(try await store.read { try await $0.backlog(peer: "zj-jiaxing", limit: 10) }.isEmpty)
        try await store.close()
    }
}

/// A clock that stands still.
struct FixedClock: EngineClock {
    let instant: Timestamp
    init(_ instant: Timestamp) { self.instant = instant }
    func now() -> Timestamp { instant }
}
