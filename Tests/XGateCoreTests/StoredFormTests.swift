import Testing
import XGateJSON
import XGateTestSupport

@testable import XGateCore

/// The two shortcuts the batch maker and the store take must give exactly what the long way gives.
@Suite struct StoredFormTests {
    static func state(override: Bool = false) -> RecordState {
        let key = RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "XH-SCJG-2026-0107")
        var content = ContentVersion(
            version: 2, author: "sh-xuhui", at: "2026-11-20T10:00:00+08:00",
            record: SampleRecords.penalty(sourceId: key.sourceId, fine: "3.0"))
        if override { content.override = .init(version: 2, digest: content.digest) }
        var state = RecordState(
            key: key, content: content,
            status: StatusChange(version: 1, value: .active, from: nil, author: "sh-xuhui", at: "2026-11-20T10:00:00+08:00"),
            conflicts: [])
        state.statusHistory.append(
            StatusChange(
                version: 2, value: .repaired, from: .active, author: "sh-city", at: "2026-11-28T09:30:00+08:00",
                reason: "当事人已履行行政处罚决定并作出信用承诺", basis: "《上海市社会信用条例》第四十条"))
        return state
    }

    @Test(arguments: [false, true]) func theStorageFormReadsBackAsTheStoredFormWithTheSameDigest(override: Bool) throws {
        let state = Self.state(override: override)
        let stored = try RecordState(storedJSON: state.storedJSON)  // the digest computed again
        let kept = try RecordState(storedJSON: state.storageJSON)  // the digest taken as written
        #expect(kept.content?.digest == stored.content?.digest)
        #expect(kept.content?.digest == Digest(canonical: state.content!.record))
        #expect(kept.storedJSON == stored.storedJSON)
        #expect(kept.status == stored.status)
        #expect(state.storageJSON["content"]?["digest"]?.stringValue == state.content?.digest.description)
        #expect(state.storedJSON["content"]?["digest"] == nil, "the operator API's form is unchanged")
    }

    @Test func aDocumentSerialisedFromItsEncodedChangesIsByteForByteTheSame() throws {
        let changes = (1...5).map { i -> JSONValue in
            Change(
                key: RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "XH-SCJG-2026-01\(i)"),
                content: ContentVersion(
                    version: 1, author: "sh-xuhui", at: "2026-11-20T10:00:00+08:00",
                    record: SampleRecords.penalty(sourceId: "XH-SCJG-2026-01\(i)", fine: "\(i).5")),
                status: StatusChange(version: 1, value: .active, from: nil, author: "sh-xuhui", at: "2026-11-20T10:00:00+08:00")
            ).json
        }
        for count in [0, 1, 5] {
            let document = BatchDocument(
                batchId: "01a23b4d-75b6-7971-b0ca-c75a72d90c65", from: "sh-xuhui", to: "sh-city", sequence: 7,
                createdAt: Timestamp("2026-12-03T10:00:00+08:00")!, changes: Array(changes.prefix(count)))
            let spliced = document.serialized(changes: document.changes.map { $0.serialized() })
            #expect(spliced == document.json.serialized(), "\(count) changes")
            #expect(try BatchDocument(json: JSONParser().parse(spliced)).changes.count == count)
        }
    }
}
