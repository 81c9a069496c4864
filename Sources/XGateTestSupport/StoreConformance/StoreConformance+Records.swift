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
}
