import Foundation
import Testing
import XGateEngine

/// Group commit: what arrives while a write runs goes into the next one, together; every caller returns once its own
/// item is written, or with the error of the write that held it.
@Suite struct GroupWriterTests {
    actor Writes {
        var groups: [[Int]] = []
        func add(_ group: [Int]) { groups.append(group) }
    }

    @Test func itemsArrivingTogetherAreWrittenInFewWritesEachOnce() async throws {
        let writes = Writes()
        let writer = GroupWriter<Int> { items in
            await writes.add(items)
            try await Task.sleep(for: .milliseconds(30))  // a transaction on the writer
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 { group.addTask { try await writer.submit(i) } }
            try await group.waitForAll()
        }
        let groups = await writes.groups
        #expect(groups.flatMap { $0 }.sorted() == Array(0..<20), "each item written once")
        #expect(groups.count <= 4, "20 items at once in \(groups.count) writes")
    }

    @Test func aFailedWriteFailsExactlyTheCallersWhoseItemsItHeld() async throws {
        struct Refused: Error {}
        let writer = GroupWriter<Int> { items in
            if items.contains(13) { throw Refused() }
        }
        await #expect(throws: Refused.self) { try await writer.submit(13) }
        try await writer.submit(14)  // the next write is a new one
    }
}
