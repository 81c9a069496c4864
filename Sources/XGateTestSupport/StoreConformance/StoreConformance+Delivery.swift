import Testing
import XGateCore
import XGateJSON

// MARK: - Outbox, outbound batches, inbox

extension StoreConformance {
    /// `enqueue` returns increasing ids; `pendingOutbox` lists one peer's items oldest first within the limit, each
    /// as enqueued; `pendingOutboxSummary` counts them and names the oldest's time; `outboxItems(ids:)` returns items in
    /// the order asked, skipping unknown ids.
    public static func outboxIsPerPeerOldestFirst(_ makeStore: Factory) throws {
        let store = try makeStore()
        let items = [
            try item("sh-city", "O-0001"), try item("sh-pudong", "O-0002"), try item("sh-city", "O-0003", at: 5, correction: true),
            try item("sh-city", "O-0004", at: 9),
        ]
        let ids = try store.write { tx in try items.map { try tx.enqueue($0) } }
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "outbox ids \(ids) must increase")
        let expected = zip(items, ids).map { item, id in
            var stored = item
            stored.id = id
            return stored
        }
        try store.read { (r) throws in
            #expect(try r.pendingOutbox(peer: "sh-city", limit: 10) == [expected[0], expected[2], expected[3]])
            #expect(try r.pendingOutbox(peer: "sh-city", limit: 2) == [expected[0], expected[2]])
            #expect(try r.pendingOutbox(peer: "sh-pudong", limit: 10) == [expected[1]])
            #expect(try r.pendingOutbox(peer: "sh-songjiang", limit: 10).isEmpty)
            let summary = try r.pendingOutboxSummary(peer: "sh-city")
            #expect(summary.count == 3 && summary.oldest?.text == expected[0].enqueuedAt.text)
            let none = try r.pendingOutboxSummary(peer: "sh-songjiang")
            #expect(none.count == 0 && none.oldest == nil)
            #expect(try r.outboxItems(ids: [ids[3], ids[0], 999_999]) == [expected[3], expected[0]])
            let read = try r.pendingOutbox(peer: "sh-city", limit: 10)
            #expect(read.map(\.enqueuedAt.text) == [expected[0], expected[2], expected[3]].map(\.enqueuedAt.text))
            #expect(read.map(\.isCorrection) == [false, true, false])
        }
    }

    /// One change queued for several peers reads back as one item per peer, each in its peer's outbox, in peer order;
    /// taking one peer's item into a batch leaves the others pending.
    public static func enqueueForSeveralPeers(_ makeStore: Factory) throws {
        let store = try makeStore()
        let sample = try item("unused", "M-0001", at: 3, correction: true)
        let peers = ["zj-jiaxing", "js-suzhou", "ah-hefei"]
        let ids = try store.write { tx in
            try tx.enqueue(sample.change, key: sample.key, to: peers, isCorrection: true, at: sample.enqueuedAt)
        }
        #expect(ids.count == 3)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        try store.read { (r) throws in
            for (peer, id) in zip(peers, ids) {
                let pending = try r.pendingOutbox(peer: peer, limit: 10)
                #expect(pending.map(\.id) == [id])
                #expect(pending.first?.change == sample.change)
                #expect(pending.first?.isCorrection == true)
                #expect(pending.first?.key == sample.key)
            }
            #expect(try r.outboxItems(ids: ids).map(\.peer) == peers)
        }
        try store.write { tx in try tx.saveOutboundBatch(batch("zj-jiaxing", sequence: 1, items: [ids[0]])) }
        try store.read { (r) throws in
            #expect(try r.pendingOutbox(peer: "zj-jiaxing", limit: 10).isEmpty)
            #expect(try r.pendingOutbox(peer: "js-suzhou", limit: 10).map(\.id) == [ids[1]])
        }
        #expect(
            try store.write { tx in try tx.enqueue(sample.change, key: sample.key, to: [], isCorrection: false, at: sample.enqueuedAt) }
                .isEmpty)
    }

    /// A batch must take exactly the channel's next sequence: not 0, not one ahead, not one already used.
    public static func saveOutboundBatchRefusesOtherSequences(_ makeStore: Factory) throws {
        let store = try makeStore()
        let id = try store.write { tx in try tx.enqueue(try item("sh-city", "S-0001")) }
        for wrong in [0, 2, -1] {
            #expect(throws: (any Error).self, "sequence \(wrong) on a new channel") {
                try store.write { tx in try tx.saveOutboundBatch(batch("sh-city", sequence: wrong, items: [id])) }
            }
        }
        try store.write { tx in try tx.saveOutboundBatch(batch("sh-city", sequence: 1, items: [id])) }
        #expect(throws: (any Error).self, "sequence 1 again") {
            try store.write { tx in try tx.saveOutboundBatch(batch("sh-city", sequence: 1, items: [], id: "another")) }
        }
        #expect(throws: (any Error).self, "sequence 3 after 1") {
            try store.write { tx in try tx.saveOutboundBatch(batch("sh-city", sequence: 3, items: [])) }
        }
        try store.read { (r) throws in
            #expect(try r.nextOutboundSequence(peer: "sh-city") == 2)
            #expect(try r.outboundBatch(peer: "sh-city", sequence: 3) == nil)
        }
    }

    /// Saving a batch stores it byte for byte, takes its items out of the pending outbox (others stay), and moves the
    /// channel to the next sequence; other channels do not move.
    public static func saveOutboundBatchTakesItems(_ makeStore: Factory) throws {
        let store = try makeStore()
        let ids = try store.write { tx in
            try [item("sh-city", "T-0001"), item("sh-city", "T-0002"), item("sh-city", "T-0003"), item("sh-pudong", "T-0004")]
                .map { try tx.enqueue($0) }
        }
        let first = batch("sh-city", sequence: 1, items: [ids[1], ids[0]])
        try store.write { tx in
            #expect(try tx.nextOutboundSequence(peer: "sh-city") == 1)
            try tx.saveOutboundBatch(first)
            #expect(try tx.nextOutboundSequence(peer: "sh-city") == 2, "the transaction sees its own advance")
        }
        try store.read { (r) throws in
            #expect(try r.pendingOutbox(peer: "sh-city", limit: 10).map(\.id) == [ids[2]])
            #expect(try r.pendingOutbox(peer: "sh-pudong", limit: 10).map(\.id) == [ids[3]])
            #expect(try r.nextOutboundSequence(peer: "sh-city") == 2)
            #expect(try r.nextOutboundSequence(peer: "sh-pudong") == 1)
            let read = try #require(try r.outboundBatch(peer: "sh-city", sequence: 1))
            #expect(read == first)
            #expect(read.jws == first.jws, "the JWS is kept byte for byte")
            #expect(read.itemIDs == [ids[1], ids[0]], "item order is kept")
            #expect(read.createdAt.text == first.createdAt.text)
            #expect(try r.outboundBatches(peer: "sh-city", state: .pending) == [first])
            #expect(try r.outboundBatches(peer: "sh-city", state: .delivered).isEmpty)
            #expect(try r.outboxItems(ids: read.itemIDs).map(\.key.sourceId) == ["T-0002", "T-0001"])
        }
        let second = batch("sh-city", sequence: 2, items: [ids[2]])
        try store.write { tx in try tx.saveOutboundBatch(second) }
        try store.read { (r) throws in
            #expect(try r.pendingOutbox(peer: "sh-city", limit: 10).isEmpty)
            #expect(try r.nextOutboundSequence(peer: "sh-city") == 3)
            #expect(try r.outboundBatches(peer: "sh-city", state: .pending) == [first, second])
        }
    }

    /// `updateOutboundBatch` replaces state, attempts, next attempt, last error and receipt; the batch keeps its bytes.
    public static func updateOutboundBatchReplacesDeliveryState(_ makeStore: Factory) throws {
        let store = try makeStore()
        let original = batch("sh-city", sequence: 1, items: [])
        try store.write { tx in try tx.saveOutboundBatch(original) }
        var failed = original
        failed.attempts = 3
        failed.nextAttemptAt = at(600)
        failed.lastError = "connection refused by sh-city (attempt 3)"
        try store.write { tx in try tx.updateOutboundBatch(failed) }
        try store.read { (r) throws in
            #expect(try r.outboundBatch(peer: "sh-city", sequence: 1) == failed)
            #expect(try r.outboundBatch(peer: "sh-city", sequence: 1)?.nextAttemptAt.text == failed.nextAttemptAt.text)
        }
        var delivered = failed
        delivered.state = .delivered
        delivered.lastError = nil
        delivered.receipt = bytes(200, count: 180)
        try store.write { tx in try tx.updateOutboundBatch(delivered) }
        try store.read { (r) throws in
            let read = try #require(try r.outboundBatch(peer: "sh-city", sequence: 1))
            #expect(read == delivered)
            #expect(read.receipt == delivered.receipt)
            #expect(read.jws == original.jws)
            #expect(try r.outboundBatches(peer: "sh-city", state: .pending).isEmpty)
            #expect(try r.outboundBatches(peer: "sh-city", state: .delivered) == [delivered])
            #expect(try r.nextOutboundSequence(peer: "sh-city") == 2, "an update does not move the channel")
            #expect(try r.outboundBatch(batchId: original.batchId) == delivered)
            #expect(try r.outboundBatch(batchId: "019ad3c1-0000-7000-8000-000000000000") == nil)
        }
    }

    /// `resignOutboundBatch` gives a pending batch new bytes, id and time under the same sequence and items; it refuses
    /// a batch id it does not hold pending, and a delivered batch.
    public static func resignOutboundBatchKeepsTheSequence(_ makeStore: Factory) throws {
        let store = try makeStore()
        let ids = try store.write { tx in [try tx.enqueue(try item("sh-city", "R-0001")), try tx.enqueue(try item("sh-city", "R-0002"))] }
        let original = batch("sh-city", sequence: 1, items: ids)
        try store.write { tx in
            try tx.saveOutboundBatch(original)
            try tx.appendLineage(hop("R-0001", "sh-city", .outbound, batch: original.batchId, at: 1))
            try tx.appendLineage(hop("R-0001", "sh-pudong", .outbound, batch: original.batchId, at: 2))  // another peer's
        }
        var again = original
        again.batchId = "019ad3c1-7e42-7b10-9c3e-2f5a8d41b6e7"
        again.jws = bytes(77, count: 260)
        again.createdAt = at(90_000)
        again.nextAttemptAt = at(90_000)
        again.attempts = 0
        try store.write { tx in try tx.resignOutboundBatch(again, replacing: original.batchId) }
        try store.read { (r) throws in
            let read = try #require(try r.outboundBatch(peer: "sh-city", sequence: 1))
            #expect(read == again)
            #expect(read.jws == again.jws && read.itemIDs == ids && read.createdAt.text == again.createdAt.text)
            #expect(try r.nextOutboundSequence(peer: "sh-city") == 2, "re-signing does not move the channel")
            #expect(try r.lineage(batchId: again.batchId).map(\.peer) == ["sh-city"], "the hop moved to the new id")
            #expect(try r.lineage(batchId: original.batchId).map(\.peer) == ["sh-pudong"])
        }
        #expect(throws: (any Error).self) { try store.write { tx in try tx.resignOutboundBatch(again, replacing: original.batchId) } }
        var delivered = again
        delivered.state = .delivered
        try store.write { tx in try tx.updateOutboundBatch(delivered) }
        var late = again
        late.batchId = "019ad3c1-7e42-7b10-9c3e-2f5a8d41b6e8"
        #expect(throws: (any Error).self) { try store.write { tx in try tx.resignOutboundBatch(late, replacing: again.batchId) } }
    }

    /// A peer has work while it has items not yet in a batch, or a pending batch; delivered and dead batches are
    /// not work.
    public static func peersWithWorkListsPendingWork(_ makeStore: Factory) throws {
        let store = try makeStore()
        let ids = try store.write { tx in
            try [item("sh-city", "W-0001"), item("sh-pudong", "W-0002"), item("sh-pudong", "W-0003")].map { try tx.enqueue($0) }
        }
        try store.read { (r) throws in #expect(Set(try r.peersWithWork()) == ["sh-city", "sh-pudong"]) }
        var cityBatch = batch("sh-city", sequence: 1, items: [ids[0]])
        try store.write { tx in try tx.saveOutboundBatch(cityBatch) }
        try store.read { (r) throws in #expect(Set(try r.peersWithWork()) == ["sh-city", "sh-pudong"], "a pending batch is work") }
        cityBatch.state = .delivered
        try store.write { tx in try tx.updateOutboundBatch(cityBatch) }
        try store.read { (r) throws in #expect(try r.peersWithWork() == ["sh-pudong"]) }
        var pudongBatch = batch("sh-pudong", sequence: 1, items: [ids[1], ids[2]])
        try store.write { tx in try tx.saveOutboundBatch(pudongBatch) }
        try store.read { (r) throws in #expect(try r.peersWithWork() == ["sh-pudong"]) }
        pudongBatch.state = .dead
        try store.write { tx in try tx.updateOutboundBatch(pudongBatch) }
        try store.read { (r) throws in #expect(try r.peersWithWork().isEmpty) }
        _ = try store.write { tx in try tx.enqueue(try item("sh-city", "W-0004")) }
        try store.read { (r) throws in #expect(try r.peersWithWork() == ["sh-city"]) }
    }

    /// `saveInbox` keeps the entry (the receipt byte for byte) and expects `sequence + 1` next from that sender only.
    public static func saveInboxAdvancesAndKeepsReceipt(_ makeStore: Factory) throws {
        let store = try makeStore()
        let first = inbox("sh-city", sequence: 1)
        let second = inbox("sh-city", sequence: 2)
        try store.write { tx in
            try tx.saveInbox(first)
            #expect(try tx.expectedInboundSequence(from: "sh-city") == 2, "the transaction sees its own advance")
        }
        try store.read { (r) throws in
            #expect(try r.expectedInboundSequence(from: "sh-city") == 2)
            #expect(try r.expectedInboundSequence(from: "sh-pudong") == 1)
            let read = try #require(try r.inboxEntry(sender: "sh-city", batchId: first.batchId))
            #expect(read == first)
            #expect(read.receipt == first.receipt, "the receipt is returned byte for byte")
            #expect(read.receivedAt.text == first.receivedAt.text)
            #expect(try r.inboxEntry(sender: "sh-pudong", batchId: first.batchId) == nil, "entries are per sender")
        }
        try store.write { tx in try tx.saveInbox(second) }
        try store.read { (r) throws in
            #expect(try r.expectedInboundSequence(from: "sh-city") == 3)
            #expect(try r.inboxEntry(sender: "sh-city", batchId: second.batchId) == second)
            #expect(try r.inboxEntry(sender: "sh-city", batchId: first.batchId) == first)
        }
    }
}

// MARK: - Pruning delivered batches

extension StoreConformance {
    /// `pruneDeliveredBatches` empties the signed bytes of batches delivered before the time given, at most `limit`
    /// at a time and each once, and nothing else: a batch delivered later and a pending batch keep theirs, and every
    /// pruned batch keeps its receipt, state and items.
    public static func pruneDeliveredBatchesDropsOnlyOldSignedBytes(_ makeStore: Factory) throws {
        let store = try makeStore()
        var batches: [OutboundBatch] = []
        for sequence in 1...4 {
            var made = batch("sh-city", sequence: sequence, items: [], id: "019ad3c1-7e42-7b10-9c3e-2f5a8d41b6e\(sequence)")
            made.jws = bytes(UInt8(sequence), count: 2_000)
            batches.append(made)
        }
        try store.write { tx in
            for made in batches { try tx.saveOutboundBatch(made) }
            for index in 0..<3 {
                var delivered = batches[index]
                delivered.state = .delivered
                delivered.receipt = bytes(200, count: 180)
                try tx.updateOutboundBatch(delivered)
                batches[index] = delivered
                try tx.recordDelivery(peer: "sh-city", sequence: delivered.sequence, at: at(Int64(index) * 100))
            }
            try tx.recordDelivery(peer: "sh-city", sequence: 1, at: at(999))  // noted twice: the first time counts
            var again = batches[1]  // pending again: a peer restored from a backup asked for it
            again.state = .pending
            try tx.updateOutboundBatch(again)
        }
        #expect(try store.write { tx in try tx.pruneDeliveredBatches(deliveredBefore: at(150), limit: 1) } == 1)
        #expect(try store.write { tx in try tx.pruneDeliveredBatches(deliveredBefore: at(150), limit: 10) } == 1)
        #expect(try store.write { tx in try tx.pruneDeliveredBatches(deliveredBefore: at(150), limit: 10) } == 0)
        try store.read { (r) throws in
            let read = try (1...4).map { try #require(try r.outboundBatch(peer: "sh-city", sequence: $0)) }
            #expect(read[0].jws.isEmpty, "delivered before the time: bytes dropped")
            #expect(read[1].jws == batches[1].jws, "pending again: kept")
            #expect(read[2].jws == batches[2].jws, "delivered at the time given: kept")
            #expect(read[3].jws == batches[3].jws, "pending: kept")
            #expect(read[0].receipt == batches[0].receipt && read[0].state == .delivered && read[0].batchId == batches[0].batchId)
        }
    }
}
