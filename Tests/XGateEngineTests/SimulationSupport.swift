import Foundation
import XGateCore
import XGateEngine
import XGateFileSystem
import XGateJOSE
import XGateJSON
import XGateSQLite
import XGateTestSupport

/// A clock the test moves by hand.
final class ManualClock: EngineClock, @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Int64
    init(_ start: String = "2026-11-20T09:00:00+08:00") { seconds = Timestamp(start)!.seconds }
    func now() -> Timestamp { lock.withLock { Timestamp(seconds: seconds) } }
    func advance(_ delta: Int64) { lock.withLock { seconds += delta } }
}

/// Seeded randomness: a failing run is replayed from its seed.
final class SeededRandom: EngineRandom, @unchecked Sendable {
    private let lock = NSLock()
    private var generator: SeededGenerator
    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
    func unit() -> Double { lock.withLock { Double(generator.next() >> 11) / Double(1 << 53) } }
    func int(_ range: ClosedRange<Int>) -> Int { lock.withLock { Int.random(in: range, using: &generator) } }
    func chance(_ p: Double) -> Bool { unit() < p }
    func batchID(at time: Timestamp) -> String {
        let bits = lock.withLock { (generator.next(), generator.next()) }
        return UUIDv7.string(milliseconds: UInt64(max(0, time.seconds)) * 1000, a: bits.0, b: bits.1)
    }
}

/// A store that can "lose power" just before a transaction commits: the whole body ran, then nothing of it is kept.
final class CrashingStore: SyncStore, @unchecked Sendable {
    struct Crash: Error {}
    let inner: any SyncStore
    private let lock = NSLock()
    private var crashChance: Double = 0
    private let random: SeededRandom
    private(set) var crashes = 0

    init(_ inner: any SyncStore, random: SeededRandom) {
        self.inner = inner
        self.random = random
    }

    private var forced = false

    func setCrashChance(_ p: Double) { lock.withLock { crashChance = p } }

    /// The next write crashes whatever the chance (so that every faulty run has at least one crash).
    func crashNextWrite() { lock.withLock { forced = true } }

    func write<T: Sendable>(_ body: @escaping (any StoreTransaction) async throws -> T) async throws -> T {
        let (p, force) = lock.withLock { () -> (Double, Bool) in
            defer { forced = false }
            return (crashChance, forced)
        }
        return try await inner.write { tx in
            let result = try await body(tx)
            if force || (p > 0 && self.random.chance(p)) {
                self.lock.withLock { self.crashes += 1 }
                throw Crash()
            }
            return result
        }
    }

    func read<T: Sendable>(_ body: @escaping (any StoreReader) async throws -> T) async throws -> T { try await inner.read(body) }

    func close() async throws { try await inner.close() }
}

/// One node of the simulated federation: its SQLite file, its engine, its breakers.
final class SimulatedNode: @unchecked Sendable {
    let id: String
    let path: String
    let context: NodeContext
    let clock: ManualClock
    let random: SeededRandom
    var store: CrashingStore
    var engine: SyncEngine
    var breakers: [String: CircuitBreaker] = [:]
    private var earlierCrashes = 0
    /// Transactions lost to a crash before commit, over every restart.
    var crashes: Int { earlierCrashes + store.crashes }

    init(id: String, directory: String, context: NodeContext, clock: ManualClock, random: SeededRandom, configuration: EngineConfiguration)
        throws
    {
        self.id = id
        self.path = directory + "/\(id).sqlite"
        self.context = context
        self.clock = clock
        self.random = random
        self.store = CrashingStore(try SQLiteStore(path: path), random: random)
        self.engine = try SyncEngine(node: context, store: store, configuration: configuration, clock: clock, random: random)
    }

    /// Closes the SQLite file and opens it again, as a restarted process would.
    func restart() async throws {
        let chance = 0.0
        earlierCrashes += store.crashes
        try await store.close()
        store = CrashingStore(try SQLiteStore(path: path), random: random)
        store.setCrashChance(chance)
        engine = try SyncEngine(node: context, store: store, configuration: engine.configuration, clock: clock, random: random)
        breakers = [:]
    }
}

/// The network between simulated nodes: drops requests or responses, duplicates deliveries, and replays old batches late.
final class SimulatedNetwork: PeerTransport, @unchecked Sendable {
    struct Dropped: Error {}
    private let lock = NSLock()
    var nodes: [String: SimulatedNode] = [:]
    let random: SeededRandom
    var faults: Bool
    private var sent: [(peer: String, jws: [UInt8])] = []
    private(set) var counts: [String: Int] = [:]
    private var forcedDuplicate = false

    init(random: SeededRandom, faults: Bool) {
        self.random = random
        self.faults = faults
    }

    private func count(_ what: String) { lock.withLock { counts[what, default: 0] += 1 } }

    /// The next batch that reaches its receiver is delivered twice, whatever the dice say (so that every faulty run
    /// has at least one duplicate: how many pushes a run makes depends on how its tasks interleave).
    func duplicateNextDelivery() { lock.withLock { forcedDuplicate = true } }

    func push(_ jws: [UInt8], to peer: String) async throws -> [UInt8] {
        guard let receiver = nodes[peer] else { throw EngineError(code: "transport.unknown-peer", message: peer, retryable: true) }
        lock.withLock { sent.append((peer, jws)) }
        if faults && random.chance(0.15) {
            count("request dropped")
            throw Dropped()
        }
        // The old batch is picked by the seeded generator too, so a seed replays the same run every time.
        if faults && random.chance(0.1), let old = lock.withLock({ sent.isEmpty ? nil : sent[random.int(0...(sent.count - 1))] }),
            let late = nodes[old.peer]
        {
            count("old batch replayed")
            _ = try? await late.engine.receive(old.jws)
        }
        let receipt: [UInt8]
        do {
            receipt = try await receiver.engine.receive(jws)
        } catch is CrashingStore.Crash {
            count("receiver crashed")
            try await receiver.restart()
            throw Dropped()
        }
        let forced = lock.withLock { () -> Bool in
            defer { forcedDuplicate = false }
            return forcedDuplicate
        }
        if faults && (forced || random.chance(0.1)) {
            count("delivered twice")
            let again = try? await receiver.engine.receive(jws)
            if let again, again != receipt {
                throw EngineError(code: "test.receipt-differs", message: "a duplicate got a different receipt")
            }
        }
        if faults && random.chance(0.15) {
            count("response dropped")
            throw Dropped()
        }
        return receipt
    }

    /// A window arrives in an order the seed picks (with faults, a third of the time reversed or shuffled), one batch
    /// after another so that a seed replays the same run: a batch ahead of its predecessor is answered `sequence.gap`
    /// (the simulated receiver does not wait) and the sender sends it again in its next round.
    func push(window: [[UInt8]], to peer: String) async -> [Result<[UInt8], any Error>] {
        var order = Array(window.indices)
        if faults && window.count > 1 && random.chance(0.33) {
            count("window out of order")
            if random.chance(0.5) {
                order.reverse()
            } else {
                for index in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(index, random.int(0...index)) }
            }
        }
        var answers = [Result<[UInt8], any Error>?](repeating: nil, count: window.count)
        for index in order {
            do { answers[index] = .success(try await push(window[index], to: peer)) } catch { answers[index] = .failure(error) }
        }
        return answers.map { $0! }
    }
}

/// Builds the registry for a simulated federation: the simulated nodes of the real Peers/, with fresh keys, and the real agreements.
enum SimulatedRegistry {
    static func make(nodes: [String]) throws -> (Federation, ContractSet, [String: SigningKey]) {
        let contracts = try ContractsDirectory.load(RepositoryPaths.contracts)
        let full = try PeersDirectory.load(RepositoryPaths.peers, contracts: contracts)
        // Only the simulated nodes: the real agreements, a federation of six.
        var federation = Federation(peers: nodes.compactMap { full.peers[$0] }, agreements: full.agreements)
        var keys: [String: SigningKey] = [:]
        for node in nodes {
            let key = SigningKey.generate(node: node)
            keys[node] = key
            var peer = federation.peers[node]!
            peer.keys = [
                Peer.Key(
                    kid: key.kid, jwk: key.publicJWK, publicKey: key.publicKey,
                    notBefore: Timestamp("2026-01-01T00:00:00+08:00")!, notAfter: Timestamp("2027-12-31T23:59:59+08:00")!)
            ]
            federation.peers[node] = peer
        }
        return (federation, contracts, keys)
    }
}
