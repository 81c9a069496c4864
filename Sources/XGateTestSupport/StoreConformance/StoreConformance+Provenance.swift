import Testing
import XGateCore
import XGateJSON

// MARK: - Lineage, corrections, rejections, log, feed positions

extension StoreConformance {
    /// `lineage(of:)` lists one record's hops oldest first; `holders(of:)` is every peer of those hops, inbound and
    /// outbound, and nothing else.
    public static func lineageAndHolders(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let hops = [
            hop("L-0001", "sh-xuhui", .inbound, batch: "B1", at: 0),
            hop("L-0001", "sh-city", .outbound, batch: "B2", at: 10),
            hop("L-0001", "sh-pudong", .outbound, batch: "B3", at: 20),
            hop("L-0001", "sh-city", .outbound, batch: "B4", at: 30),
        ]
        try await store.write { tx in
            try await tx.appendLineage(hops[0])
            try await tx.appendLineage(hop("L-0002", "sh-songjiang", .outbound, batch: "B2", at: 15))
            for h in hops.dropFirst() { try await tx.appendLineage(h) }
        }
        try await store.read { (r) throws in
            await #expect(try r.lineage(of: key("L-0001")) == hops)
            await #expect(try r.lineage(of: key("L-0001")).map(\.at.text) == hops.map(\.at.text))
            await #expect(try r.holders(of: key("L-0001")) == ["sh-xuhui", "sh-city", "sh-pudong"])
            await #expect(try r.holders(of: key("L-0002")) == ["sh-songjiang"])
            await #expect(try r.holders(of: key("L-0003")).isEmpty)
            await #expect(try r.lineage(batchId: "B2") == [hop("L-0002", "sh-songjiang", .outbound, batch: "B2", at: 15), hops[1]])
            await #expect(try r.lineage(batchId: "B9").isEmpty)
        }
    }

    /// The outcome lands on the outbound hop of that record, to that peer, in that batch, and nowhere else.
    public static func setLineageOutcomeIsTargeted(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let inbound = LineageEntry(
            key: key("L-0001"), peer: "sh-city", direction: .inbound, batchId: "B1", contentVersion: nil, statusVersion: 2,
            outcome: nil, at: at(0))
        try await store.write { tx in
            try await tx.appendLineage(inbound)
            try await tx.appendLineage(hop("L-0001", "sh-city", .outbound, batch: "B1", at: 1))
            try await tx.appendLineage(hop("L-0001", "sh-city", .outbound, batch: "B2", at: 2))
            try await tx.appendLineage(hop("L-0001", "sh-pudong", .outbound, batch: "B1", at: 3))
            try await tx.appendLineage(hop("L-0002", "sh-city", .outbound, batch: "B1", at: 4))
            await #expect(try tx.setLineageOutcome(peer: "sh-city", batchId: "B1", key: key("L-0001"), outcome: "conflict") == 1, "the version it carried")
            await #expect(try tx.setLineageOutcome(peer: "sh-city", batchId: "B9", key: key("L-0001"), outcome: "applied") == nil, "no such hop: no-op")
        }
        try await store.read { (r) throws in
            await #expect(try r.lineage(of: key("L-0001")).map(\.outcome) == [nil, "conflict", nil, nil])
            await #expect(try r.lineage(of: key("L-0001")).first?.contentVersion == nil)
            await #expect(try r.lineage(of: key("L-0002")).map(\.outcome) == [nil])
        }
    }

    /// Tracking the same key, version and peer twice keeps one entry and its first `sentAt`; acknowledging twice keeps
    /// the first acknowledgement; acknowledging something never tracked is not an error.
    public static func correctionsAreIdempotent(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let tracking = CorrectionTracking(key: key("K-0001"), statusVersion: 2, status: .repaired, peer: "sh-city", sentAt: at(0))
        var later = tracking
        later.sentAt = at(500)
        let otherPeer = CorrectionTracking(key: key("K-0001"), statusVersion: 2, status: .repaired, peer: "sh-pudong", sentAt: at(1))
        try await store.write { tx in
            try await tx.trackCorrection(tracking)
            try await tx.trackCorrection(later)
            try await tx.trackCorrection(otherPeer)
        }
        try await store.write { tx in try await tx.trackCorrection(tracking) }
        try await store.read { (r) throws in
            let held = try await r.corrections(of: key("K-0001"))
            #expect(held.count == 2)
            #expect(held.first { $0.peer == "sh-city" } == tracking, "the first sentAt is kept")
        }
        try await store.write { tx in
            try await tx.acknowledgeCorrection(key: key("K-0001"), statusVersion: 2, peer: "sh-city", at: at(100))
            try await tx.acknowledgeCorrection(key: key("K-0001"), statusVersion: 2, peer: "sh-city", at: at(200))
            try await tx.acknowledgeCorrection(key: key("K-0009"), statusVersion: 5, peer: "sh-city", at: at(200))
        }
        try await store.write { tx in try await tx.trackCorrection(tracking) }
        try await store.read { (r) throws in
            let held = try await r.corrections(of: key("K-0001"))
            #expect(held.count == 2)
            let city = try #require(held.first { $0.peer == "sh-city" })
            #expect(city.acknowledgedAt == at(100), "the first acknowledgement is kept; tracking again does not reset it")
            #expect(city.acknowledgedAt?.text == at(100).text)
            #expect(held.first { $0.peer == "sh-pudong" }?.acknowledgedAt == nil)
            await #expect(try r.corrections(of: key("K-0009")).isEmpty)
        }
        // A holder that has status version 4 has every decision before it: acknowledging 4 settles 2 and 3, not 5.
        let versions = [2, 3, 5].map {
            CorrectionTracking(key: key("K-0002"), statusVersion: $0, status: .disputed, peer: "sh-pudong", sentAt: at(Int64($0)))
        }
        try await store.write { tx in
            for t in versions { try await tx.trackCorrection(t) }
            try await tx.acknowledgeCorrection(key: key("K-0002"), statusVersion: 4, peer: "sh-pudong", at: at(300))
        }
        try await store.read { (r) throws in
            let held = try await r.corrections(of: key("K-0002")).sorted { $0.statusVersion < $1.statusVersion }
            #expect(held.map { $0.acknowledgedAt != nil } == [true, true, false])
        }
    }

    /// `unacknowledgedCorrections(sentBefore:)` returns corrections sent strictly before the instant and not yet
    /// acknowledged, oldest first.
    public static func unacknowledgedCorrectionsFilter(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let early = CorrectionTracking(key: key("U-0001"), statusVersion: 2, status: .repaired, peer: "sh-city", sentAt: at(0))
        let middle = CorrectionTracking(key: key("U-0002"), statusVersion: 3, status: .revoked, peer: "sh-city", sentAt: at(100))
        let late = CorrectionTracking(key: key("U-0001"), statusVersion: 2, status: .repaired, peer: "sh-pudong", sentAt: at(200))
        try await store.write { tx in
            for t in [late, early, middle] { try await tx.trackCorrection(t) }
        }
        try await store.read { (r) throws in
            await #expect(try r.unacknowledgedCorrections(sentBefore: at(0)).isEmpty, "strictly before")
            await #expect(try r.unacknowledgedCorrections(sentBefore: at(100)) == [early])
            await #expect(try r.unacknowledgedCorrections(sentBefore: at(1_000)) == [early, middle, late])
        }
        try await store.write { tx in try await tx.acknowledgeCorrection(key: key("U-0001"), statusVersion: 2, peer: "sh-city", at: at(300)) }
        try await store.read { (r) throws in
            await #expect(try r.unacknowledgedCorrections(sentBefore: at(1_000)) == [middle, late])
        }
    }

    /// Rejections come back newest first within the limit, with their optional fields as stored.
    public static func rejectionsNewestFirst(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let entries = [
            RejectionEntry(
                peer: "sh-pudong", batchId: "B1", index: 0, key: key("R-0001"), code: "uscc.check-character",
                field: "/content/record/subject/uscc", message: "统一社会信用代码校验位错误", at: at(0)),
            RejectionEntry(
                peer: "sh-xuhui", batchId: nil, index: nil, key: nil, code: "schema.required", field: nil, message: "no key", at: at(1)),
            RejectionEntry(
                peer: "sh-pudong", batchId: "B2", index: 7, key: key("R-0003"), code: "status.unauthorised", field: "/status",
                message: "sh-pudong may not change the status of sh-xuhui's record", at: at(2)),
        ]
        try await store.write { tx in
            for e in entries { try await tx.appendRejection(e) }
        }
        try await store.read { (r) throws in
            await #expect(try r.rejections(limit: 10) == entries.reversed())
            await #expect(try r.rejections(limit: 2) == [entries[2], entries[1]])
        }
    }

    /// `appendLog` returns increasing ids; `log(after:peer:limit:)` returns lines after the id, oldest first, for one
    /// peer or all, within the limit.
    public static func logFiltersAndOrders(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let lines = [
            SyncLogEntry(at: at(0), peer: "sh-city", batchId: "B1", event: "batch.sent", detail: "sequence 1, 1000 changes"),
            SyncLogEntry(at: at(1), peer: nil, batchId: nil, event: "record.local", detail: "12 records"),
            SyncLogEntry(at: at(2), peer: "sh-pudong", batchId: "B7", event: "batch.received", detail: "sequence 7"),
            SyncLogEntry(at: at(3), peer: "sh-city", batchId: "B1", event: "batch.delivered", detail: "applied 1000"),
        ]
        let ids = try await store.write { tx in try await lines.asyncMap { try await tx.appendLog($0) } }
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "log ids \(ids) must increase")
        let stored = zip(lines, ids).map { line, id in
            var l = line
            l.id = id
            return l
        }
        try await store.read { (r) throws in
            await #expect(try r.log(after: 0, peer: nil, limit: 10) == stored)
            await #expect(try r.log(after: 0, peer: nil, limit: 10).map(\.at.text) == lines.map(\.at.text))
            await #expect(try r.log(after: ids[0], peer: nil, limit: 2) == [stored[1], stored[2]])
            await #expect(try r.log(after: 0, peer: "sh-city", limit: 10) == [stored[0], stored[3]])
            await #expect(try r.log(after: ids[0], peer: "sh-city", limit: 10) == [stored[3]])
            await #expect(try r.log(after: 0, peer: "sh-songjiang", limit: 10).isEmpty)
            await #expect(try r.log(after: ids[3], peer: nil, limit: 10).isEmpty)
        }
    }

    /// A pull position reads back, is overwritten by the next save, and is kept per subscriber and feed.
    /// `appendAudit` numbers entries 1, 2, 3 …, chains each to the previous hash and returns it as stored;
    /// `auditEntries(after:limit:)` reads them back in order; the chain verifies; an entry appended in a write that
    /// throws is gone with the rest of that write, and the next entry continues the chain.
    public static func auditLogChains(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let first = try await store.write { tx in
            try await tx.appendAudit(
                at: at(0), actor: "sh-xuhui", action: "batch.received", subject: "0f8c2a9e-5b1d-4c37-9a64-2e7d1b3f5c80",
                detail: ["sequence": 1, "outcomes": ["applied": 1000]])
        }
        #expect(first.seq == 1 && first.previous == AuditEntry.origin && first.hash == first.computedHash)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await store.write { tx in
                try await tx.appendAudit(at: at(1), actor: "operator", action: "status.decided", subject: "lost", detail: [:])
                throw Refused()
            }
        }
        let second = try await store.write { tx in
            try await tx.appendAudit(
                at: at(2), actor: "operator", action: "status.decided", subject: "sh-xuhui/administrative-penalty/XH-AMR-CF-2026-00871",
                detail: ["status": "repaired", "reason": "已履行行政处罚决定并作出信用承诺"])
        }
        #expect(second.seq == 2 && second.previous == first.hash)
        try await store.read { (r) throws in
            let entries = try await r.auditEntries(after: 0, limit: 10)
            #expect(entries == [first, second])
            await #expect(try r.auditEntries(after: 1, limit: 10) == [second])
            await #expect(try r.auditEntries(after: 0, limit: 1) == [first])
            let verification = AuditVerification.verify(entries)
            #expect(verification.problem == nil && verification.entries == 2 && verification.head == second.hash)
        }
    }

    public static func feedPositionsRoundTrip(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        try await store.write { tx in
            try await tx.setFeedPosition(subscriber: "sh-city", feed: "records", cursor: "seq:1042")
            try await tx.setFeedPosition(subscriber: "sh-city", feed: "corrections", cursor: "seq:7")
            try await tx.setFeedPosition(subscriber: "sh-pudong", feed: "records", cursor: "seq:3")
        }
        try await store.write { tx in try await tx.setFeedPosition(subscriber: "sh-city", feed: "records", cursor: "seq:2048") }
        try await store.read { (r) throws in
            await #expect(try r.feedPosition(subscriber: "sh-city", feed: "records") == "seq:2048")
            await #expect(try r.feedPosition(subscriber: "sh-city", feed: "corrections") == "seq:7")
            await #expect(try r.feedPosition(subscriber: "sh-pudong", feed: "records") == "seq:3")
            await #expect(try r.feedPosition(subscriber: "sh-pudong", feed: "corrections") == nil)
        }
    }

    /// One lease through its life: taken, refused to another while it lasts, renewed, taken over once expired (the
    /// epoch counts holders), released by its holder only (and then taken at once, the epoch going on).
    public static func leasesAreHeldRenewedAndTakenOver(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        func ask(_ holder: String, now: Int64, until: Int64) async throws -> Lease {
            try await store.write { try await $0.acquireLease("push:zj-jiaxing", holder: holder, now: at(now), until: at(until)) }
        }
        #expect(try await store.read { try await $0.leases() }.isEmpty)
        await #expect(try ask("city-1", now: 0, until: 15) == Lease(name: "push:zj-jiaxing", holder: "city-1", expiresAt: at(15), epoch: 1))
        await #expect(try ask("city-2", now: 5, until: 20).holder == "city-1", "refused while it lasts")
        await #expect(try ask("city-1", now: 10, until: 25) == Lease(name: "push:zj-jiaxing", holder: "city-1", expiresAt: at(25), epoch: 1))
        await #expect(try ask("city-2", now: 24, until: 39).holder == "city-1", "renewed: still held")
        await #expect(try ask("city-2", now: 25, until: 40) == Lease(name: "push:zj-jiaxing", holder: "city-2", expiresAt: at(40), epoch: 2))
        try await store.write { try await $0.releaseLease("push:zj-jiaxing", holder: "city-1") }  // not its holder: nothing happens
        await #expect(try ask("city-1", now: 26, until: 41).holder == "city-2")
        try await store.write { try await $0.releaseLease("push:zj-jiaxing", holder: "city-2") }
        await #expect(try ask("city-1", now: 27, until: 42) == Lease(name: "push:zj-jiaxing", holder: "city-1", expiresAt: at(42), epoch: 3))
        _ = try await store.write { try await $0.acquireLease("expiry", holder: "city-2", now: at(27), until: at(42)) }
        #expect(try await store.read { try await $0.leases() }.map(\.name) == ["expiry", "push:zj-jiaxing"])
    }
}
