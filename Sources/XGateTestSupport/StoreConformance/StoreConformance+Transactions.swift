import Testing
import XGateCore
import XGateJSON

// MARK: - Transactions and durability

extension StoreConformance {
    /// Thrown by a transaction body on purpose.
    struct Abort: Error, Equatable {}

    /// Writes one of everything a transaction can write, for the atomicity and durability properties.
    @discardableResult
    static func writeOneOfEverything(_ tx: any StoreTransaction, tag: String) async throws -> (sequence: Int64, position: Int64, log: Int64) {
        let state = try state("E-\(tag)", conflicted: true)
        let sequence = try await tx.putRecord(state)
        let content = try #require(state.content)
        try await tx.appendHistory(
            HistoryEntry(key: state.key, part: .content, version: 1, digest: content.digest, value: content.json, source: owner, at: at(0)))
        try await tx.setPushPosition(peer: "sh-city", position: sequence)
        try await tx.saveOutboundBatch(
            batch("sh-pudong", sequence: try tx.nextOutboundSequence(peer: "sh-pudong"), keys: [state.key], id: "OB-\(tag)"))
        try await tx.saveInbox(inbox("sh-city", sequence: try tx.expectedInboundSequence(from: "sh-city"), id: "IB-\(tag)"))
        try await tx.appendLineage(hop("E-\(tag)", "sh-city", .inbound, batch: "IB-\(tag)", at: 0))
        try await tx.trackCorrection(CorrectionTracking(key: state.key, statusVersion: 1, status: .active, peer: "sh-pudong", sentAt: at(0)))
        try await tx.appendRejection(
            RejectionEntry(
                peer: "sh-city", batchId: "IB-\(tag)", index: 1, key: nil, code: "schema.type", field: nil, message: "m", at: at(0)))
        let log = try await tx.appendLog(SyncLogEntry(at: at(0), peer: "sh-city", batchId: "IB-\(tag)", event: "batch.received", detail: tag))
        try await tx.setFeedPosition(subscriber: "sh-city", feed: "records", cursor: tag)
        return (sequence, sequence, log)
    }

    /// A body holds its store's writer or connection: a call on the same store inside it is refused with
    /// `store.nested`, the outer write rolls back when the refusal propagates, and the store serves the next call as
    /// before.
    public static func nestedCallsAreRefused(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        func refusedAsNested(_ what: String, _ call: () async throws -> Void) async {
            do {
                try await call()
                Issue.record("\(what) was not refused")
            } catch let error as StoreError {
                #expect(error.code == .nested, "\(what): \(error)")
            } catch {
                Issue.record("\(what): \(error)")
            }
        }
        await refusedAsNested("a write inside a write") {
            _ = try await store.write { tx in
                try await writeOneOfEverything(tx, tag: "outer")
                return try await store.write { inner in try await inner.lastLocalSequence() }
            }
        }
        await refusedAsNested("a read inside a write") {
            _ = try await store.write { _ in try await store.read { try await $0.lastLocalSequence() } }
        }
        await refusedAsNested("a write inside a read") {
            _ = try await store.read { _ in try await store.write { try await $0.lastLocalSequence() } }
        }
        // Nothing of the refused writes was kept, and the store answers as before.
        try await store.read { (r) throws in
            await #expect(try r.record(key("E-outer")) == nil)
            await #expect(try r.lastLocalSequence() == 0)
        }
        let kept = try await store.write { tx in try await writeOneOfEverything(tx, tag: "after") }
        #expect(try await store.read { try await $0.lastLocalSequence() } == kept.sequence)
    }

    /// A body that throws after writing to every table leaves nothing of it: no record, no sequence taken, no push
    /// position, no batch, no channel advance, no inbox entry, no lineage, correction, rejection, log line or position.
    /// The body's own error comes out unchanged.
    public static func writeIsAtomic(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let kept = try await store.write { tx in try await writeOneOfEverything(tx, tag: "kept") }
        await #expect(throws: Abort.self) {
            try await store.write { tx in
                try await writeOneOfEverything(tx, tag: "lost")
                #expect(try await tx.record(key("E-lost")) != nil, "the transaction sees its own write before it fails")
                throw Abort()
            }
        }
        try await store.read { (r) throws in
            await #expect(try r.record(key("E-lost")) == nil)
            await #expect(try r.history(of: key("E-lost")).isEmpty)
            await #expect(try r.lastLocalSequence() == kept.sequence)
            await #expect(try r.records(after: 0, limit: 10).map(\.state.key) == [key("E-kept")])
            await #expect(try r.pushPositions() == ["sh-city": kept.position])
            await #expect(try r.nextOutboundSequence(peer: "sh-pudong") == 2)
            await #expect(try r.outboundBatch(peer: "sh-pudong", sequence: 2) == nil)
            await #expect(try r.expectedInboundSequence(from: "sh-city") == 2)
            await #expect(try r.inboxEntry(sender: "sh-city", batchId: "IB-lost") == nil)
            await #expect(try r.lineage(of: key("E-lost")).isEmpty)
            await #expect(try r.corrections(of: key("E-lost")).isEmpty)
            await #expect(try r.rejections(limit: 10).count == 1)
            await #expect(try r.log(after: 0, peer: nil, limit: 10).map(\.id) == [kept.log])
            await #expect(try r.feedPosition(subscriber: "sh-city", feed: "records") == "kept")
            await #expect(try r.conflictedRecords(limit: 10).map(\.state.key) == [key("E-kept")])
        }
        // The store is still usable, and the next sequence is still above every earlier one.
        let next = try await store.write { tx in try await tx.putRecord(try state("E-after")) }
        #expect(next > kept.sequence)
    }

    /// When a store call refuses (a batch with the wrong sequence) and the body lets the error propagate, the
    /// writes made before it in the same transaction are gone too.
    public static func refusedCallRollsBack(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        await #expect(throws: (any Error).self) {
            try await store.write { tx in
                try await tx.putRecord(try await state("F-0001"))
                try await tx.setPushPosition(peer: "sh-city", position: 1)
                try await tx.appendLog(SyncLogEntry(at: at(0), peer: "sh-city", batchId: nil, event: "batch.created", detail: "about to fail"))
                try await tx.saveOutboundBatch(batch("sh-city", sequence: 5, keys: [key("F-0001")]))
            }
        }
        try await store.read { (r) throws in
            await #expect(try r.record(key("F-0001")) == nil)
            await #expect(try r.lastLocalSequence() == 0)
            await #expect(try r.pushPositions().isEmpty)
            await #expect(try r.log(after: 0, peer: nil, limit: 10).isEmpty)
            await #expect(try r.nextOutboundSequence(peer: "sh-city") == 1)
        }
    }

    /// Inside a transaction every read sees the transaction's writes; after commit `read` sees them; a value
    /// returned by the body comes out of `write`.
    public static func readsSeeWrites(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let a = try state("G-0001")
        let returned: String = try await store.write { tx in
            let sequence = try await tx.putRecord(a)
            await #expect(try tx.record(a.key) == StoredRecord(state: a, localSequence: sequence))
            await #expect(try tx.lastLocalSequence() == sequence)
            try await tx.saveOutboundBatch(batch("sh-city", sequence: 1, keys: [a.key]))
            await #expect(try tx.peersWithWork() == ["sh-city"])
            try await tx.appendLineage(hop("G-0001", "sh-pudong", .outbound, batch: "B1", at: 0))
            await #expect(try tx.holders(of: a.key) == ["sh-pudong"])
            try await tx.setFeedPosition(subscriber: "s", feed: "f", cursor: "c")
            await #expect(try tx.feedPosition(subscriber: "s", feed: "f") == "c")
            return "done"
        }
        #expect(returned == "done")
        try await store.read { (r) throws in
            await #expect(try r.record(a.key)?.state == a)
            await #expect(try r.peersWithWork() == ["sh-city"])
            await #expect(try r.feedPosition(subscriber: "s", feed: "f") == "c")
        }
        let count = try await store.read { try await $0.records(after: 0, limit: 10).count }
        #expect(count == 1)
    }

    /// What was committed survives closing and reopening the database: `reopen` closes the given store and opens the
    /// same database again (a crash simulation), then writes continue from where they stopped.
    public static func dataSurvivesReopen(_ makeStore: Factory, reopen: (any SyncStore) async throws -> any SyncStore) async throws {
        let store = try await makeStore()
        let first = try await store.write { tx in try await writeOneOfEverything(tx, tag: "one") }
        let before = try await snapshot(store, tag: "one")
        let reopened = try await reopen(store)
        let after = try await snapshot(reopened, tag: "one")
        #expect(after == before)
        let second = try await reopened.write { tx in try await writeOneOfEverything(tx, tag: "two") }
        #expect(second.sequence > first.sequence)
        #expect(second.position > first.position)
        #expect(second.log > first.log)
        try await reopened.read { (r) throws in
            await #expect(try r.nextOutboundSequence(peer: "sh-pudong") == 3)
            await #expect(try r.expectedInboundSequence(from: "sh-city") == 3)
            await #expect(try r.records(after: 0, limit: 10).map(\.state.key) == [key("E-one"), key("E-two")])
        }
    }

    /// Everything `writeOneOfEverything` wrote, as read back.
    struct Snapshot: Equatable {
        var records: [StoredRecord]
        var history: [HistoryEntry]
        var positions: [String: Int64]
        var batches: [OutboundBatch]
        var inbox: InboxEntry?
        var channels: [Int]
        var lineage: [LineageEntry]
        var corrections: [CorrectionTracking]
        var rejections: [RejectionEntry]
        var log: [SyncLogEntry]
        var feed: String?
        var texts: [String]
    }

    static func snapshot(_ store: any SyncStore, tag: String) async throws -> Snapshot {
        try await store.read { (r) throws in
            let k = key("E-\(tag)")
            let log = try await r.log(after: 0, peer: nil, limit: 100)
            let history = try await r.history(of: k)
            return await Snapshot(
                records: try r.records(after: 0, limit: 100), history: history,
                positions: try r.pushPositions(),
                batches: try r.outboundBatches(peer: "sh-pudong", state: .pending),
                inbox: try r.inboxEntry(sender: "sh-city", batchId: "IB-\(tag)"),
                channels: await [try r.nextOutboundSequence(peer: "sh-pudong"), try r.expectedInboundSequence(from: "sh-city")],
                lineage: try await r.lineage(of: k), corrections: try await r.corrections(of: k), rejections: try await r.rejections(limit: 100), log: log,
                feed: try await r.feedPosition(subscriber: "sh-city", feed: "records"),
                texts: log.map(\.at.text) + history.map(\.at.text))
        }
    }
}
