import Testing
import XGateCore
import XGateJSON

// MARK: - Records and history

extension StoreConformance {
    /// A new store holds no record, no push position, no batch, no inbox entry, no log; every channel starts at 1.
    public static func emptyStoreHoldsNothing(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        try await store.read { (r) throws in
            await #expect(try r.record(key("NONE")) == nil)
            await #expect(try r.records(after: 0, limit: 10).isEmpty)
            await #expect(try r.lastLocalSequence() == 0)
            await #expect(try r.conflictedRecords(limit: 10).isEmpty)
            await #expect(try r.history(of: key("NONE")).isEmpty)
            await #expect(try r.pushPositions().isEmpty)
            await #expect(try r.backlog(peer: "sh-city", limit: 10).isEmpty)
            await #expect(try r.nextOutboundSequence(peer: "sh-city") == 1)
            await #expect(try r.outboundBatch(peer: "sh-city", sequence: 1) == nil)
            await #expect(try r.peersWithWork().isEmpty)
            await #expect(try r.inboxEntry(sender: "sh-city", batchId: "X") == nil)
            await #expect(try r.expectedInboundSequence(from: "sh-city") == 1)
            await #expect(try r.lineage(of: key("NONE")).isEmpty)
            await #expect(try r.holders(of: key("NONE")).isEmpty)
            await #expect(try r.unacknowledgedCorrections(sentBefore: at(1_000_000)).isEmpty)
            await #expect(try r.rejections(limit: 10).isEmpty)
            await #expect(try r.log(after: 0, peer: nil, limit: 10).isEmpty)
            await #expect(try r.feedPosition(subscriber: "sh-city", feed: "records") == nil)
        }
    }

    /// Every `putRecord` gives the record a local sequence above every earlier one; the feed lists each record once,
    /// at its latest sequence, in sequence order, and pages cleanly.
    public static func putRecordAssignsIncreasingSequences(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let a = try state("A-0001")
        let b = try state("B-0002")
        let c = try state("C-0003")
        let updatedA = try state("A-0001", fine: "9.5")
        var sequences: [Int64] = []
        try await store.write { tx in
            await sequences.append(try tx.putRecord(a))
            await sequences.append(try tx.putRecord(b))
        }
        try await store.write { tx in
            await sequences.append(try tx.putRecord(c))
            await sequences.append(try tx.putRecord(updatedA))
        }
        #expect(sequences.count == 4)
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 }, "sequences \(sequences) must strictly increase")
        #expect(sequences.allSatisfy { $0 > 0 })
        try await store.read { (r) throws in
            await #expect(try r.lastLocalSequence() == sequences[3])
            let feed = try await r.records(after: 0, limit: 10)
            #expect(feed.map(\.state.key) == [b.key, c.key, a.key], "A moved to the end when it changed")
            #expect(feed.map(\.localSequence) == [sequences[1], sequences[2], sequences[3]])
            #expect(feed.last?.state == updatedA)
            await #expect(try r.records(after: sequences[1], limit: 1).map(\.state.key) == [c.key])
            await #expect(try r.records(after: sequences[3], limit: 10).isEmpty)
            // Paging by the last sequence seen visits every record once.
            var seen: [RecordKey] = []
            var cursor: Int64 = 0
            while true {
                let page = try await r.records(after: cursor, limit: 2)
                guard let last = page.last else { break }
                seen += page.map(\.state.key)
                cursor = last.localSequence
            }
            #expect(seen == [b.key, c.key, a.key])
            await #expect(try r.record(a.key)?.localSequence == sequences[3])
        }
    }

    /// The merged state (content with Chinese text, every status decision, conflicts) reads back equal, and so does
    /// a state holding only a status (a repair that overtook its record).
    public static func recordStateRoundTrips(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let full = try state("XH-SCJG-2026-0001", conflicted: true, repaired: true)
        try #require(full.statusHistory.count == 2)
        let statusOnly = try #require(
            Merge.apply(
                Change(key: key("XH-SCJG-2026-0002"), content: nil, status: status(2, .repaired, from: .active, by: city)), to: nil,
                policy: policy
            ).0)
        try #require(statusOnly.content == nil)
        try await store.write { tx in
            try await tx.putRecord(full)
            try await tx.putRecord(statusOnly)
        }
        try await store.read { (r) throws in
            let readFull = try await #require(try r.record(full.key))
            #expect(readFull.state == full)
            #expect(readFull.state.digest == full.digest)
            #expect(readFull.state.status.value == .repaired)
            #expect(readFull.state.content?.record["subject"]?["name"] == full.content?.record["subject"]?["name"])
            await #expect(try r.record(statusOnly.key)?.state == statusOnly)
            await #expect(try r.statusVersion(of: full.key) == 2)
            await #expect(try r.statusVersion(of: statusOnly.key) == 2)
            await #expect(try r.statusVersion(of: key("XH-NOT-HELD")) == nil)
            await #expect(try r.record(key("XH-SCJG-2026-0003")) == nil)
        }
    }

    /// Records whose state has conflicts are listed, most recently changed first; a record that loses its conflicts
    /// (an override) leaves the list.
    public static func conflictedRecordsListsConflicts(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let first = try state("C-0001", conflicted: true)
        let clean = try state("C-0002")
        let second = try state("C-0003", conflicted: true)
        try await store.write { tx in
            for s in [first, clean, second] { try await tx.putRecord(s) }
        }
        try await store.read { (r) throws in
            await #expect(try r.conflictedRecords(limit: 10).map(\.state.key) == [second.key, first.key])
            await #expect(try r.conflictedRecords(limit: 1).map(\.state.key) == [second.key])
        }
        var resolved = first
        resolved.conflicts = []
        _ = try await store.write { tx in try await tx.putRecord(resolved) }
        try await store.read { (r) throws in
            await #expect(try r.conflictedRecords(limit: 10).map(\.state.key) == [second.key])
        }
    }

    /// History entries come back for their record only, oldest first, with their timestamps' text as written.
    public static func historyKeepsVersionsInOrder(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let one = try state("H-0001", repaired: true)
        let other = try state("H-0002")
        let content = try #require(one.content)
        let utc = try #require(Timestamp("2026-11-20T01:00:00Z"))
        let entries = [
            HistoryEntry(
                key: one.key, part: .content, version: 1, digest: content.digest, value: content.json, source: owner, at: utc),
            HistoryEntry(
                key: one.key, part: .status, version: 2, digest: one.status.digest, value: one.status.json, source: city, at: at(60)),
        ]
        try await store.write { tx in
            try await tx.appendHistory(entries[0])
            try await tx.appendHistory(
                HistoryEntry(
                    key: other.key, part: .content, version: 1, digest: Digest(canonical: "x"), value: "x", source: owner, at: at(1)))
            try await tx.appendHistory(entries[1])
        }
        try await store.read { (r) throws in
            let read = try await r.history(of: one.key)
            #expect(read == entries)
            #expect(read.map(\.at.text) == entries.map(\.at.text))
            await #expect(try r.history(of: other.key).count == 1)
        }
    }

    /// `putRecords` stores as `putRecord` for each in order would: a record given twice is stored twice (its later
    /// state stands, its previous sequence is its first's), sequences strictly increase; `records(_:)` reads the held
    /// records among keys; history and lineage appended as lists keep their order.
    public static func listWritesAreOneByOneInOrder(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let prior = try state("P-0003", fine: "1.0")
        let a = try state("P-0001")
        let b = try state("P-0002")
        let changedA = try state("P-0001", fine: "9.5")
        let c = try state("P-0003", fine: "3.0")
        let fromCity = RecordOrigin(source: city, madeHere: false, at: at(10))
        let madeHere = RecordOrigin(source: owner, madeHere: true, at: at(20))
        let priorSequence = try await store.write { tx in try await tx.putRecord(prior) }
        let sequences = try await store.write { tx in
            try await tx.putRecords([
                RecordPut(a, origin: fromCity), RecordPut(b, origin: .local), RecordPut(changedA, origin: madeHere),
                RecordPut(c, origin: fromCity),
            ])
        }
        #expect(sequences.count == 4)
        let all = [priorSequence] + sequences
        #expect(zip(all, all.dropFirst()).allSatisfy { $0 < $1 }, "sequences \(all) must strictly increase")
        let history = [
            HistoryEntry(key: a.key, part: .content, version: 1, digest: Digest(canonical: "a1"), value: "a1", source: city, at: at(10)),
            HistoryEntry(key: b.key, part: .content, version: 1, digest: Digest(canonical: "b1"), value: "b1", source: owner, at: at(11)),
            HistoryEntry(key: a.key, part: .content, version: 2, digest: Digest(canonical: "a2"), value: "a2", source: owner, at: at(20)),
        ]
        let hops = [
            hop("P-0001", city, .inbound, batch: "B1", at: 10), hop("P-0002", city, .inbound, batch: "B1", at: 10),
            LineageEntry(
                key: a.key, peer: "sh-pudong", direction: .outbound, batchId: "B2", contentVersion: nil, statusVersion: 2, outcome: nil,
                at: at(30)),
        ]
        try await store.write { tx in
            try await tx.appendHistory(history)
            try await tx.appendLineage(hops)
            try await tx.appendHistory([])
            try await tx.appendLineage([])
            await #expect(try tx.putRecords([]).isEmpty)
        }
        try await store.read { (r) throws in
            let feed = try await r.records(after: 0, limit: 10)
            #expect(feed.map(\.state.key) == [b.key, changedA.key, c.key])
            #expect(feed.map(\.localSequence) == [sequences[1], sequences[2], sequences[3]])
            let readA = try await #require(try r.record(a.key))
            #expect(readA.state == changedA)
            #expect(readA.previousSequence == sequences[0], "the first put of the same batch came before")
            #expect(readA.madeHereSequence == sequences[2])
            #expect(readA.source == owner)
            let readB = try await #require(try r.record(b.key))
            #expect(readB.previousSequence == 0)
            #expect(readB.madeHereSequence == sequences[1])
            let readC = try await #require(try r.record(c.key))
            #expect(readC.state == c)
            #expect(readC.previousSequence == priorSequence)
            #expect(readC.madeHereSequence == priorSequence, "a change from a peer keeps the last made-here sequence")
            #expect(readC.source == city)
            let held = try await r.records([a.key, key("P-NOT-HELD"), c.key, a.key])
            #expect(held == [a.key: readA, c.key: readC])
            await #expect(try r.records([]).isEmpty)
            await #expect(try r.history(of: a.key) == [history[0], history[2]])
            await #expect(try r.history(of: b.key) == [history[1]])
            await #expect(try r.lineage(of: a.key) == [hops[0], hops[2]])
            await #expect(try r.lineage(batchId: "B1") == [hops[0], hops[1]])
        }
    }

}
