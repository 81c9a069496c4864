import Testing
import XGateCore
import XGateJSON

// MARK: - What the timeliness report and the console's charts read

extension StoreConformance {
    /// A held penalty decided on `decided` by `authority`, version 1.
    public static func decision(_ sourceId: String, decided: String, authority: Int = 0) throws -> RecordState {
        let content = ContentVersion(
            version: 1, author: owner, at: "2026-11-01T10:00:00+08:00",
            record: SampleRecords.penalty(sourceId: sourceId, authority: authority, decisionDate: decided))
        let change = Change(key: key(sourceId), content: content, status: status(1, .active, from: nil))
        return try #require(Merge.apply(change, to: nil, policy: policy).0)
    }

    /// `decisions(kinds:from:through:)` returns the held records of those kinds decided in the range (both ends in),
    /// each with its department and the time of its first content version, and nothing decided outside it.
    public static func decisionsOfAMonth(_ makeStore: Factory) throws {
        let store = try makeStore()
        let dated = [("D-1", "2026-10-31", 0), ("D-2", "2026-11-01", 1), ("D-3", "2026-11-30", 1), ("D-4", "2026-12-01", 2)]
        try store.write { tx in
            for (index, (sourceId, decided, authority)) in dated.enumerated() {
                let state = try decision(sourceId, decided: decided, authority: authority)
                try tx.putRecord(state)
                try tx.appendHistory(
                    HistoryEntry(
                        key: state.key, part: .content, version: 1, digest: try #require(state.content).digest,
                        value: try #require(state.content).json, source: owner, at: at(Int64(index) * 100)))
            }
            // A later version of D-2: its first arrival stays the first content version's.
            let later = try decision("D-2", decided: "2026-11-01", authority: 1)
            try tx.appendHistory(
                HistoryEntry(
                    key: later.key, part: .content, version: 2, digest: try #require(later.content).digest,
                    value: try #require(later.content).json, source: owner, at: at(900)))
            // A record known by its status alone has no decision date.
            try tx.putRecord(RecordState(key: key("D-5"), content: nil, status: status(1, .active, from: nil)))
        }
        let november = (try #require(CivilDate("2026-11-01")), try #require(CivilDate("2026-11-30")))
        try store.read { (r) throws in
            let found = try r.decisions(kinds: ["administrative-penalty"], from: november.0, through: november.1)
                .sorted { $0.decisionDate < $1.decisionDate }
            #expect(found.map(\.decisionDate.description) == ["2026-11-01", "2026-11-30"])
            #expect(found.map(\.firstArrival) == [at(100), at(200)])
            #expect(found.map(\.department) == [SampleRecords.authorities[1].name, SampleRecords.authorities[1].name])
            #expect(found.allSatisfy { $0.district == owner })
            #expect(try r.decisions(kinds: ["administrative-licence"], from: november.0, through: november.1).isEmpty)
        }
    }

    /// `refusalsOfRecordsNotHeld(kinds:)` gives each refused record of those kinds once, at its first refusal, and
    /// leaves out records held since and refusals without a key.
    public static func refusalsOfRecordsNotHeld(_ makeStore: Factory) throws {
        let store = try makeStore()
        func refusal(_ sourceId: String?, at offset: Int64) -> RejectionEntry {
            RejectionEntry(
                peer: owner, batchId: "B\(offset)", index: 0, key: sourceId.map(key), code: "uscc.check-character",
                field: "/content/record/subject/uscc", message: "统一社会信用代码校验位错误", at: at(offset))
        }
        try store.write { tx in
            for entry in [
                refusal("N-1", at: 0), refusal("N-1", at: 10), refusal("N-2", at: 20), refusal(nil, at: 30), refusal("N-3", at: 40),
            ] {
                try tx.appendRejection(entry)
            }
            try tx.putRecord(try decision("N-2", decided: "2026-11-02"))  // fixed and sent again: held now
        }
        try store.read { (r) throws in
            #expect(try r.refusalsOfRecordsNotHeld(kinds: ["administrative-penalty"]) == [key("N-1"): at(0), key("N-3"): at(40)])
            #expect(try r.refusalsOfRecordsNotHeld(kinds: ["administrative-licence"]).isEmpty)
        }
    }

    /// Activity samples read back in time order from `since`; a sample at the same second replaces the one there, and
    /// samples older than `keepingSince` are dropped.
    public static func activitySamplesAreKeptAndPruned(_ makeStore: Factory) throws {
        let store = try makeStore()
        func sample(_ offset: Int64, recordsIn: Int) -> ActivitySample {
            ActivitySample(
                since: at(offset - 60), at: at(offset), recordsIn: recordsIn, recordsOut: 2 * recordsIn, maxLagSeconds: offset,
                queueDepth: 7)
        }
        try store.write { tx in
            for offset: Int64 in [60, 120, 180] { try tx.appendActivitySample(sample(offset, recordsIn: Int(offset)), keepingSince: at(0)) }
            try tx.appendActivitySample(sample(180, recordsIn: 5), keepingSince: at(0))
        }
        try store.read { (r) throws in
            #expect(
                try r.activitySamples(since: at(0)) == [sample(60, recordsIn: 60), sample(120, recordsIn: 120), sample(180, recordsIn: 5)])
            #expect(try r.activitySamples(since: at(120)).map(\.at) == [at(120), at(180)])
        }
        try store.write { tx in try tx.appendActivitySample(sample(240, recordsIn: 1), keepingSince: at(150)) }
        try store.read { (r) throws in #expect(try r.activitySamples(since: at(0)).map(\.at) == [at(180), at(240)]) }
    }
}

// MARK: - Acknowledgements of pulled corrections

extension StoreConformance {
    /// Queued acknowledgements come back per publisher in queueing order, each once however often queued, within the
    /// limit; removing takes exactly the ones named.
    public static func pendingAcknowledgementsPerPublisher(_ makeStore: Factory) throws {
        let store = try makeStore()
        let (a, b, c) = (
            Acknowledgement(key: key("A-0001"), statusVersion: 2), Acknowledgement(key: key("A-0002"), statusVersion: 2),
            Acknowledgement(key: key("A-0001"), statusVersion: 3)
        )
        try store.write { tx in
            try tx.queueAcknowledgements([a, b], to: city)
            try tx.queueAcknowledgements([b, c], to: city)
            try tx.queueAcknowledgements([a], to: "sh-pudong")
        }
        try store.read { (r) throws in
            #expect(try r.pendingAcknowledgements(to: city, limit: 10) == [a, b, c])
            #expect(try r.pendingAcknowledgements(to: city, limit: 2) == [a, b])
            #expect(try r.pendingAcknowledgements(to: "sh-pudong", limit: 10) == [a])
            #expect(try r.pendingAcknowledgements(to: "zj-jiaxing", limit: 10).isEmpty)
            #expect(try [city, "sh-pudong", "zj-jiaxing"].map { try r.pendingAcknowledgementCount(to: $0) } == [3, 1, 0])
        }
        try store.write { tx in
            try tx.removeAcknowledgements([a, Acknowledgement(key: key("A-0009"), statusVersion: 2)], to: city)
        }
        try store.read { (r) throws in
            #expect(try r.pendingAcknowledgements(to: city, limit: 10) == [b, c])
            #expect(try r.pendingAcknowledgements(to: "sh-pudong", limit: 10) == [a], "another publisher's are untouched")
            #expect(try r.pendingAcknowledgementCount(to: city) == 2)
        }
    }
}
