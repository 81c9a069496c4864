import Foundation
import XGateCore
import XGateJOSE
import XGateJSON

/// Who this node is: its id, its signing key, the registry and the contracts it checks against.
public struct NodeContext: Sendable {
    public let id: String
    public let signingKey: SigningKey
    public let federation: Federation
    public let contracts: ContractSet
    let policy: MergePolicy
    let verifier: SignatureVerifier
    let routes = RouteCache()

    /// Creates a context; the key must belong to the node.
    public init(id: String, signingKey: SigningKey, federation: Federation, contracts: ContractSet) throws(EngineError) {
        guard signingKey.node == id else {
            throw EngineError(code: "config.invalid", message: "the signing key belongs to \(signingKey.node), not \(id)")
        }
        guard federation.peers[id] != nil else {
            throw EngineError(code: "config.invalid", message: "node \(id) is not in the registry")
        }
        self.id = id
        self.signingKey = signingKey
        self.federation = federation
        self.contracts = contracts
        self.policy = federation.mergePolicy(catalogue: contracts.catalogue)
        self.verifier = SignatureVerifier(federation: federation)
    }

    /// Whether this node relays others' changes (the city).
    public var isRelay: Bool { policy.cityNodes.contains(id) }

    /// The peers this node may send a record of `kind` about a `subjectType` subject to on `date`, with what each may
    /// see, in peer order. Computed once per (kind, subject type, date): the agreements do not change while running.
    func destinations(kind: String, subjectType: String, on date: CivilDate) -> [(peer: String, permission: Federation.Permission)] {
        routes.value(for: "\(kind)|\(subjectType)|\(date)") {
            federation.peers.keys.sorted().compactMap { peer in
                guard peer != id, let permission = federation.permission(from: id, to: peer, kind: kind, subjectType: subjectType, on: date)
                else {
                    return nil
                }
                return (peer, permission)
            }
        }
    }
}

/// A small lock-protected memo of routing decisions (pure functions of the registry), shared by engine copies.
final class RouteCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: [(peer: String, permission: Federation.Permission)]] = [:]

    func value(for key: String, _ make: () -> [(peer: String, permission: Federation.Permission)]) -> [(
        peer: String, permission: Federation.Permission
    )] {
        if let hit = lock.withLock({ entries[key] }) { return hit }
        let made = make()
        lock.withLock { entries[key] = made }
        return made
    }
}

/// Where a push channel's last look at the log found nothing to send (the filter it looked with, and the last local
/// sequence of the snapshot it read), so that the next look starts there instead of at the channel's position. A peer
/// that an agreement gives nothing (or nothing lately) would otherwise have the whole log after its position read on
/// every wake-up — one per record stored. Safe because every write of a record gives it a new, higher local sequence
/// (one writer: sequences follow commits), so nothing at or before a sequence looked through starts matching later
/// without moving past it; the made-here bound of a district's filter stays the channel's position
/// (`ChannelFilter.madeHereAfter`); a different filter (the agreements of another day) looks from the position again.
/// (A store whose sequences do not follow commits — PostgreSQL's — needs its own guarantee: issue 13.)
final class ChannelLooks: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: (filter: ChannelFilter, through: Int64)] = [:]

    /// Where `peer`'s next look with `filter` starts: its position, or further when an earlier look saw nothing.
    func start(_ peer: String, filter: ChannelFilter, position: Int64) -> Int64 {
        lock.withLock {
            guard let entry = entries[peer], entry.filter == filter else { return position }
            return max(position, entry.through)
        }
    }

    /// Notes that `peer`'s look with `filter` found nothing through `sequence`.
    func sawNothing(_ peer: String, filter: ChannelFilter, through sequence: Int64) {
        lock.withLock { entries[peer] = (filter, sequence) }
    }
}

/// The sync engine of one node: local changes in, batches out per peer, batches in with receipts, retries,
/// corrections to every holder, expiry and feeds. Every state change is one store transaction, so a node killed
/// at any instant resumes from its store without losing or repeating anything.
public struct SyncEngine: Sendable {
    public let node: NodeContext
    public let store: any SyncStore
    public let configuration: EngineConfiguration
    public let clock: any EngineClock
    public let random: any EngineRandom
    /// How far each push channel's look found nothing (``peersWithWork(among:)``): this engine's, over its store.
    let looks = ChannelLooks()

    /// Creates an engine over a store.
    public init(
        node: NodeContext, store: any SyncStore, configuration: EngineConfiguration = .init(), clock: any EngineClock,
        random: any EngineRandom
    ) throws(EngineError) {
        try configuration.validate()
        self.node = node
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.random = random
    }
}

extension SyncEngine {
    /// What happened to one record of a local submission.
    public struct LocalResult: Sendable, Equatable {
        public var index: Int
        public var key: RecordKey?
        public var outcome: ChangeOutcome
        /// Problems that keep the record but ask a person to look (a possible trial USCC).
        public var reviews: [RecordIssue]
    }
}
