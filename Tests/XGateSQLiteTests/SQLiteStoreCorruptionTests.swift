import Foundation
import Testing
import XGateCore
import XGateJSON
import XGateSQLite
import XGateTestSupport

/// A damaged row is an error naming the table, the row and the column, never a crash.
@Suite struct SQLiteStoreCorruptionTests {
    static let marker = "MARKER-5f1c2a9e7d"

    /// Overwrites the first occurrence of `from` in the file with `to` (same length), as a bad sector or a stray
    /// writer would.
    func overwrite(_ path: String, _ from: String, with to: String) throws {
        try #require(from.utf8.count == to.utf8.count)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let needle = Array(from.utf8)
        let start = try #require(
            (0...(bytes.count - needle.count)).first { i in bytes[i] == needle[0] && Array(bytes[i..<i + needle.count]) == needle },
            "the marker is in the file")
        bytes.replaceSubrange(start..<start + needle.count, with: Array(to.utf8))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func aRecordWhoseStateIsNotJSONIsAnErrorNamingIt() async throws {
        let scratch = try ScratchDirectory()
        let path = scratch.newFile()
        let key = RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "Z-0001")
        let state = RecordState(
            key: key,
            content: ContentVersion(
                version: 1, author: key.owner, at: "2026-11-01T10:00:00+08:00",
                record: SampleRecords.penalty(sourceId: key.sourceId, facts: Self.marker)),
            status: StatusChange(version: 1, value: .active, from: nil, author: key.owner, at: "2026-11-01T10:00:00+08:00"))
        let store = try SQLiteStore(path: path)
        try await store.write { tx in
            try await tx.putRecord(state)
            try await tx.putRecord(
                RecordState(
                    key: RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "Z-0002"), content: nil,
                    status: state.status))
        }
        try await store.close()  // the last connection checkpoints the WAL into the file

        try overwrite(path, "\"\(Self.marker)\"", with: String(repeating: "[", count: Self.marker.utf8.count + 2))

        let reopened = try SQLiteStore(path: path)
        let error = try await #require(throws: StoreError.self) { try await reopened.read { try await $0.record(key) } }
        #expect(error.code == .corruptRow)
        #expect(error.message.contains("records"))
        #expect(error.message.contains("Z-0001"))
        #expect(error.message.contains("state_json"))
        #expect(!error.message.contains("上海"), "no record content in the message")
        let feed = try await #require(throws: StoreError.self) { try await reopened.read { try await $0.records(after: 0, limit: 10) } }
        #expect(feed.code == .corruptRow)
        // The undamaged row still reads.
        #expect(
            try await reopened.read { try await $0.record(RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "Z-0002")) } != nil)
    }
}
