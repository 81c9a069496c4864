import Testing
import XGateCore
import XGateJSON

// MARK: - Records and history

extension StoreConformance {
    /// A new store holds no record, no push position, no batch, no inbox entry, no log; every channel starts at 1.
    public static func emptyStoreHoldsNothing(_ makeStore: Factory) throws {
        let store = try makeStore()
        try store.read { (r) throws in
            #expect(try r.record(key("NONE")) == nil)
            #expect(try r.records(after: 0, limit: 10).isEmpty)
            #expect(try r.lastLocalSequence() == 0)
            #expect(try r.conflictedRecords(limit: 10).isEmpty)
            #expect(try r.history(of: key("NONE")).isEmpty)
            #expect(try r.pushPositions().isEmpty)
            #expect(try r.backlog(peer: "sh-city", limit: 10).isEmpty)
            #expect(try r.nextOutboundSequence(peer: "sh-city") == 1)
            #expect(try r.outboundBatch(peer: "sh-city", sequence: 1) == nil)
            #expect(try r.peersWithWork().isEmpty)
            #expect(try r.inboxEntry(sender: "sh-city", batchId: "X") == nil)
            #expect(try r.expectedInboundSequence(from: "sh-city") == 1)
            #expect(try r.lineage(of: key("NONE")).isEmpty)
            #expect(try r.holders(of: key("NONE")).isEmpty)
            #expect(try r.unacknowledgedCorrections(sentBefore: at(1_000_000)).isEmpty)
            #expect(try r.rejections(limit: 10).isEmpty)
            #expect(try r.log(after: 0, peer: nil, limit: 10).isEmpty)
            #expect(try r.feedPosition(subscriber: "sh-city", feed: "records") == nil)
        }
    }

    /// Every `putRecord` gives the record a local sequence above every earlier one; the feed lists each record once,
    /// at its latest sequence, in sequence order, and pages cleanly.
    public static func putRecordAssignsIncreasingSequences(_ makeStore: Factory) throws {
        let store = try makeStore()
        let a = try state("A-0001")
        let b = try state("B-0002")
        let c = try state("C-0003")
        let updatedA = try state("A-0001", fine: "9.5")
        var sequences: [Int64] = []
        try store.write { tx in
            sequences.append(try tx.putRecord(a))
            sequences.append(try tx.putRecord(b))
        }
        try store.write { tx in
            sequences.append(try tx.putRecord(c))
            sequences.append(try tx.putRecord(updatedA))
        }
        #expect(sequences.count == 4)
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 }, "sequences \(sequences) must strictly increase")
        #expect(sequences.allSatisfy { $0 > 0 })
        try store.read { (r) throws in
            #expect(try r.lastLocalSequence() == sequences[3])
            let feed = try r.records(after: 0, limit: 10)
            #expect(feed.map(\.state.key) == [b.key, c.key, a.key], "A moved to the end when it changed")
            #expect(feed.map(\.localSequence) == [sequences[1], sequences[2], sequences[3]])
            #expect(feed.last?.state == updatedA)
            #expect(try r.records(after: sequences[1], limit: 1).map(\.state.key) == [c.key])
            #expect(try r.records(after: sequences[3], limit: 10).isEmpty)
            // Paging by the last sequence seen visits every record once.
            var seen: [RecordKey] = []
            var cursor: Int64 = 0
            while true {
                let page = try r.records(after: cursor, limit: 2)
                guard let last = page.last else { break }
                seen += page.map(\.state.key)
                cursor = last.localSequence
            }
            #expect(seen == [b.key, c.key, a.key])
            #expect(try r.record(a.key)?.localSequence == sequences[3])
        }
    }

    /// The merged state (content with Chinese text, every status decision, conflicts) reads back equal, and so does
    /// a state holding only a status (a repair that overtook its record).
    public static func recordStateRoundTrips(_ makeStore: Factory) throws {
        let store = try makeStore()
        let full = try state("XH-SCJG-2026-0001", conflicted: true, repaired: true)
        try #require(full.statusHistory.count == 2)
        let statusOnly = try #require(
            Merge.apply(
                Change(key: key("XH-SCJG-2026-0002"), content: nil, status: status(2, .repaired, from: .active, by: city)), to: nil,
                policy: policy
            ).0)
        try #require(statusOnly.content == nil)
        try store.write { tx in
            try tx.putRecord(full)
            try tx.putRecord(statusOnly)
        }
        try store.read { (r) throws in
            let readFull = try #require(try r.record(full.key))
            #expect(readFull.state == full)
            #expect(readFull.state.digest == full.digest)
            #expect(readFull.state.status.value == .repaired)
            #expect(readFull.state.content?.record["subject"]?["name"] == full.content?.record["subject"]?["name"])
            #expect(try r.record(statusOnly.key)?.state == statusOnly)
            #expect(try r.statusVersion(of: full.key) == 2)
            #expect(try r.statusVersion(of: statusOnly.key) == 2)
            #expect(try r.statusVersion(of: key("XH-NOT-HELD")) == nil)
            #expect(try r.record(key("XH-SCJG-2026-0003")) == nil)
        }
    }

    /// Records whose state has conflicts are listed, most recently changed first; a record that loses its conflicts
    /// (an override) leaves the list.
    public static func conflictedRecordsListsConflicts(_ makeStore: Factory) throws {
        let store = try makeStore()
        let first = try state("C-0001", conflicted: true)
        let clean = try state("C-0002")
        let second = try state("C-0003", conflicted: true)
        try store.write { tx in
            for s in [first, clean, second] { try tx.putRecord(s) }
        }
        try store.read { (r) throws in
            #expect(try r.conflictedRecords(limit: 10).map(\.state.key) == [second.key, first.key])
            #expect(try r.conflictedRecords(limit: 1).map(\.state.key) == [second.key])
        }
        var resolved = first
        resolved.conflicts = []
        _ = try store.write { tx in try tx.putRecord(resolved) }
        try store.read { (r) throws in
            #expect(try r.conflictedRecords(limit: 10).map(\.state.key) == [second.key])
        }
    }

    /// History entries come back for their record only, oldest first, with their timestamps' text as written.
    public static func historyKeepsVersionsInOrder(_ makeStore: Factory) throws {
        let store = try makeStore()
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
        try store.write { tx in
            try tx.appendHistory(entries[0])
            try tx.appendHistory(
                HistoryEntry(
                    key: other.key, part: .content, version: 1, digest: Digest(canonical: "x"), value: "x", source: owner, at: at(1)))
            try tx.appendHistory(entries[1])
        }
        try store.read { (r) throws in
            let read = try r.history(of: one.key)
            #expect(read == entries)
            #expect(read.map(\.at.text) == entries.map(\.at.text))
            #expect(try r.history(of: other.key).count == 1)
        }
    }
}
