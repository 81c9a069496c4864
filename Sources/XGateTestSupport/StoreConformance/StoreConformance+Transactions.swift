import Testing
import XGateCore
import XGateJSON

// MARK: - Transactions and durability

extension StoreConformance {
    /// Thrown by a transaction body on purpose.
    struct Abort: Error, Equatable {}

    /// Writes one of everything a transaction can write, for the atomicity and durability properties.
    @discardableResult
    static func writeOneOfEverything(_ tx: any StoreTransaction, tag: String) throws -> (sequence: Int64, position: Int64, log: Int64) {
        let state = try state("E-\(tag)", conflicted: true)
        let sequence = try tx.putRecord(state)
        let content = try #require(state.content)
        try tx.appendHistory(
            HistoryEntry(key: state.key, part: .content, version: 1, digest: content.digest, value: content.json, source: owner, at: at(0)))
        try tx.setPushPosition(peer: "sh-city", position: sequence)
        try tx.saveOutboundBatch(
            batch("sh-pudong", sequence: try tx.nextOutboundSequence(peer: "sh-pudong"), keys: [state.key], id: "OB-\(tag)"))
        try tx.saveInbox(inbox("sh-city", sequence: try tx.expectedInboundSequence(from: "sh-city"), id: "IB-\(tag)"))
        try tx.appendLineage(hop("E-\(tag)", "sh-city", .inbound, batch: "IB-\(tag)", at: 0))
        try tx.trackCorrection(CorrectionTracking(key: state.key, statusVersion: 1, status: .active, peer: "sh-pudong", sentAt: at(0)))
        try tx.appendRejection(
            RejectionEntry(
                peer: "sh-city", batchId: "IB-\(tag)", index: 1, key: nil, code: "schema.type", field: nil, message: "m", at: at(0)))
        let log = try tx.appendLog(SyncLogEntry(at: at(0), peer: "sh-city", batchId: "IB-\(tag)", event: "batch.received", detail: tag))
        try tx.setFeedPosition(subscriber: "sh-city", feed: "records", cursor: tag)
        return (sequence, sequence, log)
    }

    /// A body that throws after writing to every table leaves nothing of it: no record, no sequence taken, no push
    /// position, no batch, no channel advance, no inbox entry, no lineage, correction, rejection, log line or position.
    /// The body's own error comes out unchanged.
    public static func writeIsAtomic(_ makeStore: Factory) throws {
        let store = try makeStore()
        let kept = try store.write { tx in try writeOneOfEverything(tx, tag: "kept") }
        #expect(throws: Abort.self) {
            try store.write { tx in
                try writeOneOfEverything(tx, tag: "lost")
                #expect(try tx.record(key("E-lost")) != nil, "the transaction sees its own write before it fails")
                throw Abort()
            }
        }
        try store.read { (r) throws in
            #expect(try r.record(key("E-lost")) == nil)
            #expect(try r.history(of: key("E-lost")).isEmpty)
            #expect(try r.lastLocalSequence() == kept.sequence)
            #expect(try r.records(after: 0, limit: 10).map(\.state.key) == [key("E-kept")])
            #expect(try r.pushPositions() == ["sh-city": kept.position])
            #expect(try r.nextOutboundSequence(peer: "sh-pudong") == 2)
            #expect(try r.outboundBatch(peer: "sh-pudong", sequence: 2) == nil)
            #expect(try r.expectedInboundSequence(from: "sh-city") == 2)
            #expect(try r.inboxEntry(sender: "sh-city", batchId: "IB-lost") == nil)
            #expect(try r.lineage(of: key("E-lost")).isEmpty)
            #expect(try r.corrections(of: key("E-lost")).isEmpty)
            #expect(try r.rejections(limit: 10).count == 1)
            #expect(try r.log(after: 0, peer: nil, limit: 10).map(\.id) == [kept.log])
            #expect(try r.feedPosition(subscriber: "sh-city", feed: "records") == "kept")
            #expect(try r.conflictedRecords(limit: 10).map(\.state.key) == [key("E-kept")])
        }
        // The store is still usable, and the next sequence is still above every earlier one.
        let next = try store.write { tx in try tx.putRecord(try state("E-after")) }
        #expect(next > kept.sequence)
    }

    /// When a store call refuses (a batch with the wrong sequence) and the body lets the error propagate, the
    /// writes made before it in the same transaction are gone too.
    public static func refusedCallRollsBack(_ makeStore: Factory) throws {
        let store = try makeStore()
        #expect(throws: (any Error).self) {
            try store.write { tx in
                try tx.putRecord(try state("F-0001"))
                try tx.setPushPosition(peer: "sh-city", position: 1)
                try tx.appendLog(SyncLogEntry(at: at(0), peer: "sh-city", batchId: nil, event: "batch.created", detail: "about to fail"))
                try tx.saveOutboundBatch(batch("sh-city", sequence: 5, keys: [key("F-0001")]))
            }
        }
        try store.read { (r) throws in
            #expect(try r.record(key("F-0001")) == nil)
            #expect(try r.lastLocalSequence() == 0)
            #expect(try r.pushPositions().isEmpty)
            #expect(try r.log(after: 0, peer: nil, limit: 10).isEmpty)
            #expect(try r.nextOutboundSequence(peer: "sh-city") == 1)
        }
    }

    /// Inside a transaction every read sees the transaction's writes; after commit `read` sees them; a value
    /// returned by the body comes out of `write`.
    public static func readsSeeWrites(_ makeStore: Factory) throws {
        let store = try makeStore()
        let a = try state("G-0001")
        let returned: String = try store.write { tx in
            let sequence = try tx.putRecord(a)
            #expect(try tx.record(a.key) == StoredRecord(state: a, localSequence: sequence))
            #expect(try tx.lastLocalSequence() == sequence)
            try tx.saveOutboundBatch(batch("sh-city", sequence: 1, keys: [a.key]))
            #expect(try tx.peersWithWork() == ["sh-city"])
            try tx.appendLineage(hop("G-0001", "sh-pudong", .outbound, batch: "B1", at: 0))
            #expect(try tx.holders(of: a.key) == ["sh-pudong"])
            try tx.setFeedPosition(subscriber: "s", feed: "f", cursor: "c")
            #expect(try tx.feedPosition(subscriber: "s", feed: "f") == "c")
            return "done"
        }
        #expect(returned == "done")
        try store.read { (r) throws in
            #expect(try r.record(a.key)?.state == a)
            #expect(try r.peersWithWork() == ["sh-city"])
            #expect(try r.feedPosition(subscriber: "s", feed: "f") == "c")
        }
        let count = try store.read { try $0.records(after: 0, limit: 10).count }
        #expect(count == 1)
    }

    /// What was committed survives closing and reopening the database: `reopen` closes the given store and opens the
    /// same database again (a crash simulation), then writes continue from where they stopped.
    public static func dataSurvivesReopen(_ makeStore: Factory, reopen: (any SyncStore) throws -> any SyncStore) throws {
        let store = try makeStore()
        let first = try store.write { tx in try writeOneOfEverything(tx, tag: "one") }
        let before = try snapshot(store, tag: "one")
        let reopened = try reopen(store)
        let after = try snapshot(reopened, tag: "one")
        #expect(after == before)
        let second = try reopened.write { tx in try writeOneOfEverything(tx, tag: "two") }
        #expect(second.sequence > first.sequence)
        #expect(second.position > first.position)
        #expect(second.log > first.log)
        try reopened.read { (r) throws in
            #expect(try r.nextOutboundSequence(peer: "sh-pudong") == 3)
            #expect(try r.expectedInboundSequence(from: "sh-city") == 3)
            #expect(try r.records(after: 0, limit: 10).map(\.state.key) == [key("E-one"), key("E-two")])
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

    static func snapshot(_ store: any SyncStore, tag: String) throws -> Snapshot {
        try store.read { (r) throws in
            let k = key("E-\(tag)")
            let log = try r.log(after: 0, peer: nil, limit: 100)
            let history = try r.history(of: k)
            return Snapshot(
                records: try r.records(after: 0, limit: 100), history: history,
                positions: try r.pushPositions(),
                batches: try r.outboundBatches(peer: "sh-pudong", state: .pending),
                inbox: try r.inboxEntry(sender: "sh-city", batchId: "IB-\(tag)"),
                channels: [try r.nextOutboundSequence(peer: "sh-pudong"), try r.expectedInboundSequence(from: "sh-city")],
                lineage: try r.lineage(of: k), corrections: try r.corrections(of: k), rejections: try r.rejections(limit: 100), log: log,
                feed: try r.feedPosition(subscriber: "sh-city", feed: "records"),
                texts: log.map(\.at.text) + history.map(\.at.text))
        }
    }
}
