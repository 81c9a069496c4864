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
    public static func decisionsOfAMonth(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let dated = [("D-1", "2026-10-31", 0), ("D-2", "2026-11-01", 1), ("D-3", "2026-11-30", 1), ("D-4", "2026-12-01", 2)]
        try await store.write { tx in
            for (index, (sourceId, decided, authority)) in dated.enumerated() {
                let state = try decision(sourceId, decided: decided, authority: authority)
                try await tx.putRecord(state)
                try await tx.appendHistory(
                    HistoryEntry(
                        key: state.key, part: .content, version: 1, digest: try #require(state.content).digest,
                        value: try #require(state.content).json, source: owner, at: at(Int64(index) * 100)))
            }
            // A later version of D-2: its first arrival stays the first content version's.
            let later = try decision("D-2", decided: "2026-11-01", authority: 1)
            try await tx.appendHistory(
                HistoryEntry(
                    key: later.key, part: .content, version: 2, digest: try #require(later.content).digest,
                    value: try #require(later.content).json, source: owner, at: at(900)))
            // A record known by its status alone has no decision date.
            try await tx.putRecord(RecordState(key: key("D-5"), content: nil, status: status(1, .active, from: nil)))
        }
        let november = (try #require(CivilDate("2026-11-01")), try #require(CivilDate("2026-11-30")))
        try await store.read { (r) throws in
            let found = try await r.decisions(kinds: ["administrative-penalty"], from: november.0, through: november.1)
                .sorted { $0.decisionDate < $1.decisionDate }
            #expect(found.map(\.decisionDate.description) == ["2026-11-01", "2026-11-30"])
            #expect(found.map(\.firstArrival) == [at(100), at(200)])
            #expect(found.map(\.department) == [SampleRecords.authorities[1].name, SampleRecords.authorities[1].name])
            #expect(found.allSatisfy { $0.district == owner })
            await #expect(try r.decisions(kinds: ["administrative-licence"], from: november.0, through: november.1).isEmpty)
        }
    }

    /// `refusalsOfRecordsNotHeld(kinds:)` gives each refused record of those kinds once, at its first refusal, and
    /// leaves out records held since and refusals without a key.
    public static func refusalsOfRecordsNotHeld(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        func refusal(_ sourceId: String?, at offset: Int64) -> RejectionEntry {
            RejectionEntry(
                peer: owner, batchId: "B\(offset)", index: 0, key: sourceId.map(key), code: "uscc.check-character",
                field: "/content/record/subject/uscc", message: "统一社会信用代码校验位错误", at: at(offset))
        }
        try await store.write { tx in
            for entry in [
                refusal("N-1", at: 0), refusal("N-1", at: 10), refusal("N-2", at: 20), refusal(nil, at: 30), refusal("N-3", at: 40),
            ] {
                try await tx.appendRejection(entry)
            }
            try await tx.putRecord(try decision("N-2", decided: "2026-11-02"))  // fixed and sent again: held now
        }
        try await store.read { (r) throws in
            await #expect(try r.refusalsOfRecordsNotHeld(kinds: ["administrative-penalty"]) == [key("N-1"): at(0), key("N-3"): at(40)])
            await #expect(try r.refusalsOfRecordsNotHeld(kinds: ["administrative-licence"]).isEmpty)
        }
    }

    /// Activity samples read back in time order from `since`; a sample at the same second replaces the one there, and
    /// samples older than `keepingSince` are dropped.
    public static func activitySamplesAreKeptAndPruned(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        func sample(_ offset: Int64, recordsIn: Int) -> ActivitySample {
            ActivitySample(
                since: at(offset - 60), at: at(offset), recordsIn: recordsIn, recordsOut: 2 * recordsIn, maxLagSeconds: offset,
                queueDepth: 7)
        }
        try await store.write { tx in
            for offset: Int64 in [60, 120, 180] { try await tx.appendActivitySample(sample(offset, recordsIn: Int(offset)), keepingSince: at(0)) }
            try await tx.appendActivitySample(sample(180, recordsIn: 5), keepingSince: at(0))
        }
        try await store.read { (r) throws in
            await #expect(
                try r.activitySamples(since: at(0)) == [sample(60, recordsIn: 60), sample(120, recordsIn: 120), sample(180, recordsIn: 5)])
            await #expect(try r.activitySamples(since: at(120)).map(\.at) == [at(120), at(180)])
        }
        try await store.write { tx in try await tx.appendActivitySample(sample(240, recordsIn: 1), keepingSince: at(150)) }
        try await store.read { (r) throws in await #expect(try r.activitySamples(since: at(0)).map(\.at) == [at(180), at(240)]) }
    }
}

// MARK: - Acknowledgements of pulled corrections

extension StoreConformance {
    /// Queued acknowledgements come back per publisher in queueing order, each once however often queued, within the
    /// limit; removing takes exactly the ones named.
    public static func pendingAcknowledgementsPerPublisher(_ makeStore: Factory) async throws {
        let store = try await makeStore()
        let (a, b, c) = (
            Acknowledgement(key: key("A-0001"), statusVersion: 2), Acknowledgement(key: key("A-0002"), statusVersion: 2),
            Acknowledgement(key: key("A-0001"), statusVersion: 3)
        )
        try await store.write { tx in
            try await tx.queueAcknowledgements([a, b], to: city)
            try await tx.queueAcknowledgements([b, c], to: city)
            try await tx.queueAcknowledgements([a], to: "sh-pudong")
        }
        try await store.read { (r) throws in
            await #expect(try r.pendingAcknowledgements(to: city, limit: 10) == [a, b, c])
            await #expect(try r.pendingAcknowledgements(to: city, limit: 2) == [a, b])
            await #expect(try r.pendingAcknowledgements(to: "sh-pudong", limit: 10) == [a])
            await #expect(try r.pendingAcknowledgements(to: "zj-jiaxing", limit: 10).isEmpty)
            #expect(try await [city, "sh-pudong", "zj-jiaxing"].asyncMap { try await r.pendingAcknowledgementCount(to: $0) } == [3, 1, 0])
        }
        try await store.write { tx in
            try await tx.removeAcknowledgements([a, Acknowledgement(key: key("A-0009"), statusVersion: 2)], to: city)
        }
        try await store.read { (r) throws in
            await #expect(try r.pendingAcknowledgements(to: city, limit: 10) == [b, c])
            await #expect(try r.pendingAcknowledgements(to: "sh-pudong", limit: 10) == [a], "another publisher's are untouched")
            await #expect(try r.pendingAcknowledgementCount(to: city) == 2)
        }
    }
}
