// The engine itself: `SyncEngine.receive` on a fresh SQLite store file, batch after batch, timed end to end.
import Foundation
import XGateCore
import XGateEngine
import XGateJOSE
import XGateJSON
import XGateSQLite

enum EngineRun {
    struct Result {
        var seconds: Double
        var records: Int
        var receiptBytes: Int
        var databaseBytes: Int
        var database: String
    }

    static func engine(receiver: String, store: SQLiteStore, workload: Workload, seed: UInt64) throws -> SyncEngine {
        let context = try NodeContext(
            id: receiver, signingKey: workload.keys[receiver]!, federation: workload.federation, contracts: workload.contracts)
        return try SyncEngine(
            node: context, store: store, clock: FixedClock(time: workload.receivedAt), random: SeededRandom(seed: seed))
    }

    /// Opens a fresh store (its migrations run before the clock starts), then times every `receive` and the closing
    /// checkpoint (the sqlite3 ceiling's time includes its closing checkpoint too). Every receipt is checked afterwards:
    /// each of the 1,000 changes of each batch must have been applied.
    /// `pipelined`: instead of `receive` batch after batch, `prepare` runs on a second thread (at most two batches
    /// ahead) while this thread `commit`s, as a server taking several requests at once would overlap them.
    static func run(
        receiver: String, batches: [[UInt8]], workload: Workload, directory: String, name: String, pipelined: Bool = false
    ) async throws -> Result {
        let database = directory + "/\(name).sqlite"
        Ceiling.removeDatabase(database)
        let store = try SQLiteStore(path: database)
        let engine = try engine(receiver: receiver, store: store, workload: workload, seed: 42)
        var receipts: [[UInt8]] = []
        receipts.reserveCapacity(batches.count)
        let start = now()
        if pipelined {
            let ahead = Pipeline(count: batches.count)
            let thread = Thread {
                for (i, batch) in batches.enumerated() {
                    ahead.room.wait()
                    ahead.put(i, Swift.Result<PreparedBatch, any Error> { try engine.prepare(batch) })
                }
            }
            thread.start()
            for i in 0..<batches.count {
                await receipts.append(try engine.commit(ahead.take(i).get()))
                ahead.room.signal()
            }
        } else {
            for batch in batches { await receipts.append(try engine.receive(batch)) }
        }
        try await store.close()
        let seconds = now() - start
        let applied = try receipts.reduce(0) { $0 + (try appliedCount(receipt: $1, workload: workload)) }
        guard applied == batches.count * 1000 else {
            fail("\(receiver) applied \(applied) of \(batches.count * 1000) changes: the benchmark's batches must all apply")
        }
        return Result(
            seconds: seconds, records: applied, receiptBytes: receipts.reduce(0) { $0 + $1.count } / max(1, receipts.count),
            databaseBytes: fileBytes(directory, prefix: "\(name).sqlite"), database: database)
    }

    /// Prepared batches handed from the preparing thread to the committing one, in order, at most two ahead.
    final class Pipeline: @unchecked Sendable {
        let room = DispatchSemaphore(value: 2)
        private let lock = NSLock()
        private var slots: [Int: Swift.Result<PreparedBatch, any Error>] = [:]
        private let ready: [DispatchSemaphore]

        init(count: Int) { ready = (0..<count).map { _ in DispatchSemaphore(value: 0) } }

        func put(_ i: Int, _ value: Swift.Result<PreparedBatch, any Error>) {
            lock.withLock { slots[i] = value }
            ready[i].signal()
        }

        func take(_ i: Int) -> Swift.Result<PreparedBatch, any Error> {
            ready[i].wait()
            return lock.withLock { slots.removeValue(forKey: i)! }
        }
    }

    /// How many changes a signed receipt says were applied.
    static func appliedCount(receipt: [UInt8], workload: Workload) throws -> Int {
        let verified = try SignatureVerifier(federation: workload.federation).verifyReceipt(JSONParser().parse(receipt), now: nil)
        return try Receipt(json: verified.payload).summary["applied"] ?? 0
    }

    /// Row counts of what the engine wrote (read afterwards through the sqlite3 CLI).
    static func rowCounts(database: String) -> String {
        let sql = ["records", "record_history", "lineage", "push_positions", "inbox", "sync_log"]
            .map { "SELECT '\($0)', count(*) FROM \($0);" }.joined(separator: " ")
        let text = (try? Ceiling.sqlite3Query(database: database, sql)) ?? ""
        return text.split(separator: "\n").map { $0.replacingOccurrences(of: "|", with: " ") }.joined(separator: ", ")
    }

    /// A digest of every stored state in feed order, to show the ceiling wrote the very same JSON.
    static func statesDigest(database: String) -> String {
        let text = try? Ceiling.sqlite3Query(
            database: database,
            "SELECT sum(length(CAST(state_json AS BLOB))), hex(sha3_query('SELECT state_json FROM records ORDER BY local_seq')) FROM records"
        )
        return text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    }
}
