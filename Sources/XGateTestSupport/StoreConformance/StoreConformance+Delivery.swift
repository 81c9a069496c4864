import Testing
import XGateCore
import XGateJSON

// MARK: - The log, push positions, outbound batches, inbox

extension StoreConformance {
    /// The log as channels read it: `records(after:limit:matching:)` returns, in local order after the position, the
    /// records of the filter's kinds and every record with a status decision (version 2 on); `madeHereOnly` keeps those
    /// whose last change made here is after the position. `recordSummary` counts the same set and names when the first
    /// was stored. `putRecord` keeps each record's source, previous sequence and made-here sequence.
    public static func channelsReadTheLog(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let licence = try state("L-0001")  // administrative-penalty sample
        let other = RecordState(
            key: RecordKey(owner: "sh-xuhui", kind: "administrative-licensing", sourceId: "L-0002"), content: licence.content,
            status: licence.status)
        var decided = try state("L-0003")
        decided.status = StatusChange(version: 2, value: .repaired, from: .active, author: "sh-city", at: at(7).text, reason: "信用修复", basis: "上海市公共信用信息修复管理办法")
        let sequences = try await store.write { tx in
            await [
                try tx.putRecord(licence, origin: RecordOrigin(source: "sh-xuhui", madeHere: false, at: at(10))),
                try tx.putRecord(other, origin: RecordOrigin(source: "sh-city", madeHere: true, at: at(20))),
                try tx.putRecord(decided, origin: RecordOrigin(source: "sh-pudong", madeHere: false, at: at(30))),
            ]
        }
        let again = try await store.write { tx in try await tx.putRecord(licence, origin: RecordOrigin(source: "sh-city", madeHere: true, at: at(40))) }
        let penalties = ChannelFilter(kinds: [licence.key.kind], madeHereOnly: false)
        try await store.read { (r) throws in
            let all = try await r.records(after: 0, limit: 10, matching: penalties)
            #expect(all.map(\.state.key.sourceId) == ["L-0003", "L-0001"], "the penalty kind, and the decided record, in local order")
            let moved = try #require(all.last)
            #expect(moved.localSequence == again && moved.previousSequence == sequences[0])
            #expect(moved.source == "sh-city" && moved.madeHereSequence == again)
            let first = try #require(all.first)
            #expect(first.source == "sh-pudong" && first.previousSequence == 0 && first.madeHereSequence == 0)
            await #expect(try r.records(after: sequences[2], limit: 10, matching: penalties).map(\.localSequence) == [again])
            await #expect(try r.records(after: 0, limit: 1, matching: penalties).count == 1)
            let licences = ChannelFilter(kinds: ["administrative-licensing"], madeHereOnly: true)
            await #expect(try r.records(after: 0, limit: 10, matching: licences).map(\.state.key.sourceId) == ["L-0002"])
            await #expect(try r.records(after: sequences[1], limit: 10, matching: licences).isEmpty)
            let ownPenalties = ChannelFilter(kinds: [licence.key.kind], madeHereOnly: true)
            await #expect(
                try r.records(after: 0, limit: 10, matching: ownPenalties).map(\.state.key.sourceId) == ["L-0001"],
                "the decided record was not changed here")
            let summary = try await r.recordSummary(after: 0, matching: penalties)
            #expect(summary.count == 2 && summary.oldest?.seconds == at(30).seconds)
            let none = try await r.recordSummary(after: again, matching: penalties)
            #expect(none.count == 0 && none.oldest == nil)
        }
    }

    /// Push positions are per peer and replaced; the backlog lists keys per peer oldest first and forgets those removed.
    public static func pushPositionsAndBacklog(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        try await store.write { tx in
            try await tx.setPushPosition(peer: "sh-city", position: 5)
            try await tx.setPushPosition(peer: "zj-jiaxing", position: 9)
            try await tx.setPushPosition(peer: "sh-city", position: 12)
        }
        try await store.read { (r) throws in
            await #expect(try r.pushPositions() == ["sh-city": 12, "zj-jiaxing": 9])
            #expect(try await r.backlog(peer: "sh-city", limit: 10).isEmpty)
            #expect(try await r.backlogCount(peer: "sh-city") == 0)
            await #expect(try r.peersWithWork().isEmpty, "a position is not work")
        }
        // The backlog is written only by the migration from the outbox; here through removeBacklog alone.
        try await store.write { tx in try await tx.removeBacklog(peer: "sh-city", keys: [key("B-0001")]) }
    }

    /// A batch must take exactly the channel's next sequence: not 0, not one ahead, not one already used.
    public static func saveOutboundBatchRefusesOtherSequences(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let id = key("S-0001")
        for wrong in [0, 2, -1] {
            await #expect(throws: (any Error).self, "sequence \(wrong) on a new channel") {
                try await store.write { tx in try await tx.saveOutboundBatch(batch("sh-city", sequence: wrong, keys: [id])) }
            }
        }
        try await store.write { tx in try await tx.saveOutboundBatch(batch("sh-city", sequence: 1, keys: [id])) }
        await #expect(throws: (any Error).self, "sequence 1 again") {
            try await store.write { tx in try await tx.saveOutboundBatch(batch("sh-city", sequence: 1, keys: [], id: "another")) }
        }
        await #expect(throws: (any Error).self, "sequence 3 after 1") {
            try await store.write { tx in try await tx.saveOutboundBatch(batch("sh-city", sequence: 3, keys: [])) }
        }
        try await store.read { (r) throws in
            await #expect(try r.nextOutboundSequence(peer: "sh-city") == 2)
            await #expect(try r.outboundBatch(peer: "sh-city", sequence: 3) == nil)
        }
    }

    /// Saving a batch stores it byte for byte with its records in order, and moves the channel to the next sequence;
    /// other channels do not move.
    public static func saveOutboundBatchKeepsItsRecords(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let first = batch("sh-city", sequence: 1, keys: [key("T-0002"), key("T-0001")])
        try await store.write { tx in
            await #expect(try tx.nextOutboundSequence(peer: "sh-city") == 1)
            try await tx.saveOutboundBatch(first)
            await #expect(try tx.nextOutboundSequence(peer: "sh-city") == 2, "the transaction sees its own advance")
        }
        try await store.read { (r) throws in
            await #expect(try r.nextOutboundSequence(peer: "sh-city") == 2)
            await #expect(try r.nextOutboundSequence(peer: "sh-pudong") == 1)
            let read = try await #require(try r.outboundBatch(peer: "sh-city", sequence: 1))
            #expect(read == first)
            #expect(read.jws == first.jws, "the JWS is kept byte for byte")
            #expect(read.keys.map(\.sourceId) == ["T-0002", "T-0001"], "record order is kept")
            #expect(read.createdAt.text == first.createdAt.text)
            await #expect(try r.outboundBatches(peer: "sh-city", state: .pending) == [first])
            await #expect(try r.outboundBatches(peer: "sh-city", state: .delivered).isEmpty)
        }
        let second = batch("sh-city", sequence: 2, keys: [key("T-0003")])
        try await store.write { tx in try await tx.saveOutboundBatch(second) }
        try await store.read { (r) throws in
            await #expect(try r.nextOutboundSequence(peer: "sh-city") == 3)
            await #expect(try r.outboundBatches(peer: "sh-city", state: .pending) == [first, second])
        }
    }

    /// `updateOutboundBatch` replaces state, attempts, next attempt, last error and receipt; the batch keeps its bytes.
    public static func updateOutboundBatchReplacesDeliveryState(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let original = batch("sh-city", sequence: 1, keys: [])
        try await store.write { tx in try await tx.saveOutboundBatch(original) }
        var failed = original
        failed.attempts = 3
        failed.nextAttemptAt = at(600)
        failed.lastError = "connection refused by sh-city (attempt 3)"
        try await store.write { tx in try await tx.updateOutboundBatch(failed) }
        try await store.read { (r) throws in
            await #expect(try r.outboundBatch(peer: "sh-city", sequence: 1) == failed)
            await #expect(try r.outboundBatch(peer: "sh-city", sequence: 1)?.nextAttemptAt.text == failed.nextAttemptAt.text)
        }
        var delivered = failed
        delivered.state = .delivered
        delivered.lastError = nil
        delivered.receipt = bytes(200, count: 180)
        try await store.write { tx in try await tx.updateOutboundBatch(delivered) }
        try await store.read { (r) throws in
            let read = try await #require(try r.outboundBatch(peer: "sh-city", sequence: 1))
            #expect(read == delivered)
            #expect(read.receipt == delivered.receipt)
            #expect(read.jws == original.jws)
            await #expect(try r.outboundBatches(peer: "sh-city", state: .pending).isEmpty)
            await #expect(try r.outboundBatches(peer: "sh-city", state: .delivered) == [delivered])
            await #expect(try r.nextOutboundSequence(peer: "sh-city") == 2, "an update does not move the channel")
            await #expect(try r.outboundBatch(batchId: original.batchId) == delivered)
            await #expect(try r.outboundBatch(batchId: "019ad3c1-0000-7000-8000-000000000000") == nil)
        }
    }

    /// `resignOutboundBatch` gives a pending batch new bytes, id, time and records under the same sequence; it refuses
    /// a batch id it does not hold pending, and a delivered batch.
    public static func resignOutboundBatchKeepsTheSequence(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let ids = [key("R-0001"), key("R-0002")]
        let original = batch("sh-city", sequence: 1, keys: ids)
        try await store.write { tx in
            try await tx.saveOutboundBatch(original)
            try await tx.appendLineage(hop("R-0001", "sh-city", .outbound, batch: original.batchId, at: 1))
            try await tx.appendLineage(hop("R-0001", "sh-pudong", .outbound, batch: original.batchId, at: 2))  // another peer's
        }
        var again = original
        again.batchId = "019ad3c1-7e42-7b10-9c3e-2f5a8d41b6e7"
        again.jws = bytes(77, count: 260)
        again.createdAt = at(90_000)
        again.nextAttemptAt = at(90_000)
        again.attempts = 0
        again.keys = [key("R-0002")]
        try await store.write { tx in try await tx.resignOutboundBatch(again, replacing: original.batchId) }
        try await store.read { (r) throws in
            let read = try await #require(try r.outboundBatch(peer: "sh-city", sequence: 1))
            #expect(read == again)
            #expect(read.jws == again.jws && read.keys == [key("R-0002")] && read.createdAt.text == again.createdAt.text)
            await #expect(try r.nextOutboundSequence(peer: "sh-city") == 2, "re-signing does not move the channel")
            await #expect(try r.lineage(batchId: again.batchId).map(\.peer) == ["sh-city"], "the hop moved to the new id")
            await #expect(try r.lineage(batchId: original.batchId).map(\.peer) == ["sh-pudong"])
        }
        await #expect(throws: (any Error).self) { try await store.write { tx in try await tx.resignOutboundBatch(again, replacing: original.batchId) } }
        var delivered = again
        delivered.state = .delivered
        try await store.write { tx in try await tx.updateOutboundBatch(delivered) }
        var late = again
        late.batchId = "019ad3c1-7e42-7b10-9c3e-2f5a8d41b6e8"
        await #expect(throws: (any Error).self) { try await store.write { tx in try await tx.resignOutboundBatch(late, replacing: again.batchId) } }
    }

    /// A peer has work in the store while it has a pending batch; delivered and dead batches are not work (the
    /// engine adds the channels whose position is behind the log).
    public static func peersWithWorkListsPendingWork(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        try await store.read { (r) throws in await #expect(try r.peersWithWork().isEmpty) }
        var cityBatch = batch("sh-city", sequence: 1, keys: [key("W-0001")])
        try await store.write { tx in try await tx.saveOutboundBatch(cityBatch) }
        try await store.read { (r) throws in await #expect(try r.peersWithWork() == ["sh-city"], "a pending batch is work") }
        cityBatch.state = .delivered
        try await store.write { tx in try await tx.updateOutboundBatch(cityBatch) }
        try await store.read { (r) throws in await #expect(try r.peersWithWork().isEmpty) }
        var pudongBatch = batch("sh-pudong", sequence: 1, keys: [key("W-0002"), key("W-0003")])
        try await store.write { tx in try await tx.saveOutboundBatch(pudongBatch) }
        try await store.read { (r) throws in await #expect(try r.peersWithWork() == ["sh-pudong"]) }
        pudongBatch.state = .dead
        try await store.write { tx in try await tx.updateOutboundBatch(pudongBatch) }
        try await store.read { (r) throws in await #expect(try r.peersWithWork().isEmpty) }
    }

    /// `saveInbox` keeps the entry (the receipt byte for byte) and expects `sequence + 1` next from that sender only.
    public static func saveInboxAdvancesAndKeepsReceipt(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let first = inbox("sh-city", sequence: 1)
        let second = inbox("sh-city", sequence: 2)
        try await store.write { tx in
            try await tx.saveInbox(first)
            await #expect(try tx.expectedInboundSequence(from: "sh-city") == 2, "the transaction sees its own advance")
        }
        try await store.read { (r) throws in
            await #expect(try r.expectedInboundSequence(from: "sh-city") == 2)
            await #expect(try r.expectedInboundSequence(from: "sh-pudong") == 1)
            let read = try await #require(try r.inboxEntry(sender: "sh-city", batchId: first.batchId))
            #expect(read == first)
            #expect(read.receipt == first.receipt, "the receipt is returned byte for byte")
            #expect(read.receivedAt.text == first.receivedAt.text)
            await #expect(try r.inboxEntry(sender: "sh-pudong", batchId: first.batchId) == nil, "entries are per sender")
        }
        try await store.write { tx in try await tx.saveInbox(second) }
        try await store.read { (r) throws in
            await #expect(try r.expectedInboundSequence(from: "sh-city") == 3)
            await #expect(try r.inboxEntry(sender: "sh-city", batchId: second.batchId) == second)
            await #expect(try r.inboxEntry(sender: "sh-city", batchId: first.batchId) == first)
        }
    }
}

// MARK: - Pruning delivered batches

extension StoreConformance {
    /// `pruneDeliveredBatches` empties the signed bytes of batches delivered before the time given, at most `limit`
    /// at a time and each once, and nothing else: a batch delivered later and a pending batch keep theirs, and every
    /// pruned batch keeps its receipt, state and records.
    public static func pruneDeliveredBatchesDropsOnlyOldSignedBytes(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        var batches: [OutboundBatch] = []
        for sequence in 1...4 {
            var made = batch("sh-city", sequence: sequence, keys: [], id: "019ad3c1-7e42-7b10-9c3e-2f5a8d41b6e\(sequence)")
            made.jws = bytes(UInt8(sequence), count: 2_000)
            batches.append(made)
        }
        try await store.write { tx in
            for made in batches { try await tx.saveOutboundBatch(made) }
            for index in 0..<3 {
                var delivered = batches[index]
                delivered.state = .delivered
                delivered.receipt = bytes(200, count: 180)
                try await tx.updateOutboundBatch(delivered)
                batches[index] = delivered
                try await tx.recordDelivery(peer: "sh-city", sequence: delivered.sequence, at: at(Int64(index) * 100))
            }
            try await tx.recordDelivery(peer: "sh-city", sequence: 1, at: at(999))  // noted twice: the first time counts
            var again = batches[1]  // pending again: a peer restored from a backup asked for it
            again.state = .pending
            try await tx.updateOutboundBatch(again)
        }
        #expect(try await store.write { tx in try await tx.pruneDeliveredBatches(deliveredBefore: at(150), limit: 1) } == 1)
        #expect(try await store.write { tx in try await tx.pruneDeliveredBatches(deliveredBefore: at(150), limit: 10) } == 1)
        #expect(try await store.write { tx in try await tx.pruneDeliveredBatches(deliveredBefore: at(150), limit: 10) } == 0)
        try await store.read { (r) throws in
            let read = try await (1...4).asyncMap { try #require(try await r.outboundBatch(peer: "sh-city", sequence: $0)) }
            #expect(read[0].jws.isEmpty, "delivered before the time: bytes dropped")
            #expect(read[1].jws == batches[1].jws, "pending again: kept")
            #expect(read[2].jws == batches[2].jws, "delivered at the time given: kept")
            #expect(read[3].jws == batches[3].jws, "pending: kept")
            #expect(read[0].receipt == batches[0].receipt && read[0].state == .delivered && read[0].batchId == batches[0].batchId)
        }
    }
}
