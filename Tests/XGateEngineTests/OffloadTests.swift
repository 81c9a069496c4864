import Synchronization
import Foundation
import Testing
import XGateCore
import XGateEngine
import XGateSQLite

/// The writer runs a transaction again when its store says trying again can help (a lock held too long, a race lost,
/// a connection lost), and never otherwise: a constraint violation is a bug and is reported on its first run.
@Suite struct OffloadTests {
    final class Runs: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        private(set) var retries: [(String, Int)] = []
        func next() -> Int { lock.withLock { count += 1; return count } }
        var total: Int { lock.withLock { count } }
        func retried(_ error: StoreError, _ attempt: Int) { lock.withLock { retries.append((error.code.rawValue, attempt)) } }
    }

    static let quick = StoreRetry(attempts: 4, backoff: RetryPolicy(baseSeconds: 0.002, capSeconds: 0.01))

    @Test func aRetryableFailureRunsTheTransactionAgainUntilItSucceeds() async throws {
        let runs = Runs()
        let offload = Offload(retry: Self.quick) { runs.retried($0, $1) }
        let value = try await offload.write { () throws -> String in
            let run = runs.next()
            if run == 1 { throw StoreError(.busy, "the store is locked by another connection", retryable: true) }
            if run == 2 { throw StoreError(.conflict, "could not serialize access", retryable: true) }
            return "committed on run \(run)"
        }
        #expect(value == "committed on run 3")
        #expect(runs.retries.map(\.0) == ["store.busy", "store.conflict"])
        #expect(runs.retries.map(\.1) == [1, 2])
    }

    @Test func aConstraintViolationOrAnotherErrorIsNeverRunAgain() async throws {
        let runs = Runs()
        let offload = Offload(retry: Self.quick) { runs.retried($0, $1) }
        let error = await #expect(throws: StoreError.self) {
            try await offload.write { () throws -> Int in
                _ = runs.next()
                throw StoreError(.constraint, "UNIQUE constraint failed: inbox.batch_id")
            }
        }
        #expect(error?.code == .constraint)
        #expect(runs.total == 1)
        await #expect(throws: EngineError.self) {
            try await offload.write { () throws -> Int in
                _ = runs.next()
                throw EngineError(code: "signature.invalid", message: "not retried by the store layer", retryable: true)
            }
        }
        #expect(runs.total == 2)
        #expect(runs.retries.isEmpty)
    }

    @Test func retriesEndAfterTheConfiguredRuns() async throws {
        let runs = Runs()
        let offload = Offload(retry: Self.quick) { runs.retried($0, $1) }
        let error = await #expect(throws: StoreError.self) {
            try await offload.write { () throws -> Int in
                _ = runs.next()
                throw StoreError(.unavailable, "connection refused", retryable: true)
            }
        }
        #expect(error?.code == .unavailable)
        #expect(runs.total == 4, "4 runs in all")
        #expect(StoreRetry().pauseMilliseconds(after: 1, jitter: 0) == 20, "half of the first 40 ms step")
        #expect(StoreRetry().pauseMilliseconds(after: 4, jitter: 1) == 320, "all of the fourth step")
        #expect(StoreRetry().pauseMilliseconds(after: 9, jitter: 1) == 1000, "capped")
    }

    /// The real thing: another connection holds SQLite's write lock past this store's busy timeout; the first run
    /// fails `store.busy`, and a later run, once the lock is released, commits.
    @Test func aRealSQLiteLockHeldPastTheBusyTimeoutIsWaitedOut() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xgate-offload-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/store.sqlite"
        var impatient = SQLiteStore.Configuration()
        impatient.busyTimeoutMilliseconds = 0
        let store = try SQLiteStore(path: path, configuration: impatient)
        let other = try SQLiteStore(path: path)
        let held = Atomic<Bool>(false)
        let holder = Task { @concurrent in
            _ = try? await other.write { tx -> Int in
                try await tx.setPushPosition(peer: "sh-city", position: 1)
                held.store(true, ordering: .releasing)
                usleep(300_000)  // holds the write lock on the other connection's queue
                return 0
            }
        }
        while !held.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(1)) }
        let runs = Runs()
        let offload = Offload(retry: StoreRetry(attempts: 8, backoff: RetryPolicy(baseSeconds: 0.08, capSeconds: 1))) { runs.retried($0, $1) }
        try await offload.write { try await store.write { tx in try await tx.setPushPosition(peer: "zj-jiaxing", position: 7) } }
        #expect(runs.retries.first?.0 == "store.busy", "the first run met the other connection's lock")
        #expect(try await store.read { try await $0.pushPositions() } == ["sh-city": 1, "zj-jiaxing": 7], "both transactions kept")
        await holder.value
        try await store.close()
        try await other.close()
    }
}
