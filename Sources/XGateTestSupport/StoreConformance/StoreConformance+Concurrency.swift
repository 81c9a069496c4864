import Foundation
import Testing
import XGateCore
import XGateJSON

/// Properties of a store written by two instances at once — two connections to one database, as two xgate processes
/// of a city behind one address hold them. Each property runs two writers on two threads, each transaction through
/// the same retry the daemon uses (a retryable ``StoreError`` runs the transaction again), and checks what the store
/// holds afterwards: no update lost, no sequence given twice or skipped, the audit chain whole.
///
/// ```swift
/// @Test(arguments: StoreConformance.concurrencyProperties)
/// func concurrency(_ property: StoreConformance.ConcurrencyProperty) throws {
///     try property.check { let path = scratch.newFile(); return (try SQLiteStore(path: path), try SQLiteStore(path: path)) }
/// }
/// ```
extension StoreConformance {
    /// Makes two stores over one fresh, empty database.
    public typealias TwinFactory = () async throws -> (any SyncStore, any SyncStore)

    /// A property of two writers.
    public typealias ConcurrencyProperty = Check<TwinFactory>

    /// Every property of two writers.
    public static let concurrencyProperties: [ConcurrencyProperty] = [
        ConcurrencyProperty("two writers on one record: every update kept, every local sequence given once") {
            try await twoWritersOnOneRecord($0)
        },
        ConcurrencyProperty("two writers on one channel: sequences 1, 2, 3 … each given once") { try await twoWritersOnOneChannel($0) },
        ConcurrencyProperty("two writers taking one sender's batches: each sequence taken once, the other refused") {
            try await twoWritersOnOneSendersInbox($0)
        },
        ConcurrencyProperty("two writers on the audit log: one chain 1, 2, 3 … that verifies") { try await twoWritersOnTheAuditLog($0) },
        ConcurrencyProperty("two instances asking for the same lease at once: one holds it, both see the same holder") {
            try await twoInstancesOnOneLease($0)
        },
        ConcurrencyProperty("two instances taking over the same expired lease at once: one takes it, the epoch goes up once") {
            try await twoInstancesTakingOverOneExpiredLease($0)
        },
    ]

    /// Runs `body(writer, i)` for i in 0..<count in each of two tasks (writer 0 and 1) at once; every error is kept.
    static func race(count: Int, _ body: @escaping @Sendable (Int, Int) async throws -> Void) async {
        let errors = await withTaskGroup(of: [String].self) { group in
            for writer in 0..<2 {
                group.addTask { @concurrent in
                    var errors: [String] = []
                    for i in 0..<count {
                        do {
                            try await body(writer, i)
                        } catch {
                            errors.append("writer \(writer), step \(i): \(error)")
                        }
                    }
                    return errors
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(errors.isEmpty, "\(errors.prefix(3))")
    }

    /// Widens the window between a transaction's read and its write (a short sleep of the connection's thread).
    static func pause() { usleep(500) }

    /// `store.write(body)`, run again while it fails retryably (as the daemon's writer does), at most 50 times.
    public static func writeRetrying<T: Sendable>(_ store: any SyncStore, _ body: @escaping @Sendable (any StoreTransaction) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await store.write(body)
            } catch let error as StoreError where error.isRetryable && attempt < 50 {
                attempt += 1
                try await Task.sleep(for: .microseconds(Int.random(in: 1000...5000)))
            }
        }
    }

    /// Both writers read one record's fine, add one and write it back, 40 times each: the fine ends at 80 (no update
    /// lost: each read-modify-write is one serialisable transaction), and the 80 local sequences returned are 80
    /// different ones, the last the record's.
    public static func twoWritersOnOneRecord(_ makeStores: TwinFactory) async throws {
        let (a, b) = try await makeStores()
        let stores = [a, b]
        try await a.write { tx in try await tx.putRecord(try state("RACE-0001", fine: "0")) }
        let lock = NSLock()
        nonisolated(unsafe) var sequences: [Int64] = []
        await race(count: 40) { writer, _ in
            let sequence = try await writeRetrying(stores[writer]) { tx -> Int64 in
                let held = try await #require(try tx.record(key("RACE-0001")))
                let fine = Int(held.state.content?.record["data"]?["fineAmount"]?.stringValue ?? "") ?? -1000
                pause()
                return try await tx.putRecord(try state("RACE-0001", fine: String(fine + 1)))
            }
            lock.withLock { sequences.append(sequence) }
        }
        let final = try await b.read { try await $0.record(key("RACE-0001")) }
        #expect(final?.state.content?.record["data"]?["fineAmount"]?.stringValue == "80", "no update lost")
        #expect(Set(sequences).count == 80, "each write its own local sequence")
        #expect(final?.localSequence == sequences.max(), "the record stands at the last one")
        #expect(try await a.read { try await $0.lastLocalSequence() } == sequences.max())
    }

    /// Both writers take the channel's next sequence and save a batch under it, 25 times each: the channel holds
    /// batches 1 … 50, each once, and expects 51.
    public static func twoWritersOnOneChannel(_ makeStores: TwinFactory) async throws {
        let (a, b) = try await makeStores()
        let stores = [a, b]
        await race(count: 25) { writer, i in
            try await writeRetrying(stores[writer]) { tx in
                let sequence = try await tx.nextOutboundSequence(peer: "zj-jiaxing")
                pause()
                try await tx.saveOutboundBatch(batch("zj-jiaxing", sequence: sequence, keys: [key("CH-\(writer)-\(i)")], id: "01JDw\(writer)-\(i)"))
            }
        }
        let held = try await a.read { try await $0.outboundBatches(peer: "zj-jiaxing", state: .pending) }
        #expect(held.map(\.sequence) == Array(1...50))
        #expect(Set(held.map(\.batchId)).count == 50)
        #expect(try await b.read { try await $0.nextOutboundSequence(peer: "zj-jiaxing") } == 51)
    }

    /// Both writers try to take batch k of one sender (under their own batch id), for k = 1 … 30, as two instances
    /// answering the same sender's resend would: exactly one of each pair is kept, the other refused, and the inbox
    /// expects 31.
    public static func twoWritersOnOneSendersInbox(_ makeStores: TwinFactory) async throws {
        let (a, b) = try await makeStores()
        let stores = [a, b]
        let lock = NSLock()
        nonisolated(unsafe) var kept: [Int: [Int]] = [:]
        nonisolated(unsafe) var refused = 0
        // The writers take the sequences in step: each waits until the inbox expects k before trying it, so that both
        // try every k (else one writer could run ahead and find nothing to race for).
        await race(count: 30) { writer, i in
            let k = i + 1
            let deadline = Date().addingTimeInterval(30)
            while try await stores[writer].read({ try await $0.expectedInboundSequence(from: "sh-xuhui") }) < k {
                guard Date() < deadline else { throw StoreError(.sequence, "batch \(k - 1) was kept by neither writer") }
                pause()
            }
            do {
                try await writeRetrying(stores[writer]) { tx in
                    guard try await tx.expectedInboundSequence(from: "sh-xuhui") == k else {
                        throw StoreError(.sequence, "batch \(k) was taken by the other writer")
                    }
                    try await tx.saveInbox(inbox("sh-xuhui", sequence: k, id: "01JEw\(writer)-\(k)"))
                }
                lock.withLock { kept[k, default: []].append(writer) }
            } catch is StoreError {
                lock.withLock { refused += 1 }
            }
        }
        #expect(kept.count == 30 && kept.values.allSatisfy { $0.count == 1 }, "each sequence kept once: \(kept.filter { $0.value.count != 1 })")
        #expect(refused == 30, "the other writer's try of each sequence refused")
        #expect(try await a.read { try await $0.expectedInboundSequence(from: "sh-xuhui") } == 31)
    }

    /// Both writers append 50 audit entries: the log is entries 1 … 100, each chained to the one before, and verifies.
    public static func twoWritersOnTheAuditLog(_ makeStores: TwinFactory) async throws {
        let (a, b) = try await makeStores()
        let stores = [a, b]
        await race(count: 50) { writer, i in
            _ = try await writeRetrying(stores[writer]) { tx in
                try await tx.appendAudit(
                    at: at(Int64(i)), actor: "instance-\(writer)", action: "batch.received", subject: "01JA\(writer)-\(i)",
                    detail: ["changes": .number(Double(i))])
            }
        }
        let entries = try await a.read { try await $0.auditEntries(after: 0, limit: 1_000) }
        #expect(entries.map(\.seq) == Array(1...100))
        #expect(Set(entries.map(\.subject)).count == 100)
        let verification = AuditVerification.verify(entries)
        #expect(verification.problem == nil && verification.entries == 100, "\(verification)")
    }

    /// For 40 leases, both instances ask at the same moment: each lease has one holder, and what each asker got back
    /// names that holder (the loser learns who holds it, and until when).
    public static func twoInstancesOnOneLease(_ makeStores: TwinFactory) async throws {
        let (a, b) = try await makeStores()
        let stores = [a, b]
        let answers = await askAtOnce(stores, for: "push:peer-", count: 40, now: at(100), until: at(115))
        let held = try await a.read { try await $0.leases() }
        #expect(held.count == 40)
        for lease in held {
            let i = Int(lease.name.dropFirst("push:peer-".count)) ?? -1
            #expect(answers[i] == [lease.holder, lease.holder], "\(lease.name): both askers were told its one holder")
            #expect(lease.epoch == 1 && lease.expiresAt == at(115))
        }
    }

    /// 40 leases held by a third instance that died (expired at 100): both survivors ask at 105 at the same moment;
    /// each lease passes to one of them, both are told which, and its epoch goes from 1 to 2, not 3.
    public static func twoInstancesTakingOverOneExpiredLease(_ makeStores: TwinFactory) async throws {
        let (a, b) = try await makeStores()
        let stores = [a, b]
        try await a.write { tx in
            for i in 0..<40 { _ = try await tx.acquireLease("pull:peer-\(i)", holder: "instance-dead", now: at(85), until: at(100)) }
        }
        let answers = await askAtOnce(stores, for: "pull:peer-", count: 40, now: at(105), until: at(120))
        for lease in try await a.read({ try await $0.leases() }) {
            let i = Int(lease.name.dropFirst("pull:peer-".count)) ?? -1
            #expect(lease.holder != "instance-dead" && lease.epoch == 2, "\(lease)")
            #expect(answers[i] == [lease.holder, lease.holder], "\(lease.name): both were told its one new holder")
        }
    }

    /// Both instances (`instance-0`, `instance-1`) ask for leases `<prefix>0` … at the same moment: the holder each was
    /// told, by lease number.
    static func askAtOnce(_ stores: [any SyncStore], for prefix: String, count: Int, now: Timestamp, until: Timestamp) async
        -> [Int: [String]]
    {
        let lock = NSLock()
        nonisolated(unsafe) var answers: [Int: [String]] = [:]
        await race(count: count) { writer, i in
            let lease = try await writeRetrying(stores[writer]) { tx in
                try await tx.acquireLease("\(prefix)\(i)", holder: "instance-\(writer)", now: now, until: until)
            }
            lock.withLock { answers[i, default: []].append(lease.holder) }
        }
        return answers
    }
}
