/// Which connections may stay open (`limits.anonymousConnections`, `limits.connectionsPerAddress`,
/// `limits.connectionsPerPeer`): a pure table of the open connections that decides, when one opens or is identified,
/// which may stay and which must go. `ConnectionBudget` holds it behind a lock and closes what it says.
///
/// A connection is *anonymous* until its TLS handshake shows a client certificate pinned for a node in the registry
/// (operators, the console, health checks and anyone probing the port stay anonymous). Anonymous connections share
/// a budget, and each source address may hold only part of it; a pinned peer has its own budget. When a budget is
/// full, a connection gives way to the newcomer:
/// - the one idle the longest (no request in progress: still in its handshake, before its first request, or between
///   requests) — in the shared anonymous budget, of the address that holds the most connections, so sockets churned
///   from a few addresses push out their own before anybody else's;
/// - when none is idle, the anonymous one busy the longest, if it has been busy for a second or more (an operator's
///   request takes milliseconds; one held open by a trickle does not);
/// - in a peer's own budget, only one idle for a second or more (a peer opening many at once is answered 503
///   `peer.too-many-connections` rather than cutting its own fresh ones).
/// Only when none qualifies is the newcomer refused. So a flood of sockets that send nothing, or send slowly, can
/// never take the place of a peer or an operator that does.
public struct ConnectionTable: Sendable {
    /// The budgets.
    public struct Limits: Sendable, Equatable {
        /// Connections not identified by a pinned certificate, from everyone together.
        public var anonymous: Int
        /// Anonymous connections from one source address.
        public var perAddress: Int
        /// Connections identified as one peer.
        public var perPeer: Int
        /// How long a connection is safe from giving way: a peer's while idle, an anonymous one while busy.
        public var graceNanoseconds: UInt64
        public init(anonymous: Int = 128, perAddress: Int = 32, perPeer: Int = 16, graceNanoseconds: UInt64 = 1_000_000_000) {
            self.anonymous = anonymous
            self.perAddress = perAddress
            self.perPeer = perPeer
            self.graceNanoseconds = graceNanoseconds
        }
    }

    /// What happens to a connection that opens or is identified.
    public enum Admission: Equatable, Sendable {
        /// It stays; the connections listed are closed to make room.
        case admitted(evicting: [Int])
        /// It is closed (or, a peer's, answered 503): its budget holds nothing that may give way.
        case refused(String)
    }

    struct Entry: Sendable {
        var address: String
        var peer: String?
        var busy = false
        /// When it opened or last changed between idle and busy (monotonic nanoseconds).
        var since: UInt64
    }

    public let limits: Limits
    private(set) var entries: [Int: Entry] = [:]

    public init(limits: Limits) { self.limits = limits }

    /// Open connections: anonymous, and identified per peer.
    public var counts: (anonymous: Int, peers: [String: Int]) {
        var anonymous = 0
        var peers: [String: Int] = [:]
        for entry in entries.values {
            if let peer = entry.peer { peers[peer, default: 0] += 1 } else { anonymous += 1 }
        }
        return (anonymous, peers)
    }

    /// A connection opened from `address` (anonymous until `identify`).
    public mutating func open(_ id: Int, address: String, now: UInt64) -> Admission {
        var evicting: [Int] = []
        let sameAddress = entries.filter { $0.value.peer == nil && $0.value.address == address }
        if sameAddress.count >= limits.perAddress {
            guard let victim = anonymousVictim(sameAddress, now: now) else {
                return .refused("\(address) holds \(limits.perAddress) connections, all busy with requests (limits.connectionsPerAddress)")
            }
            evicting.append(victim)
        }
        let anonymous = entries.filter { $0.value.peer == nil && !evicting.contains($0.key) }
        if anonymous.count >= limits.anonymous {
            // The address holding the most connections gives way first.
            var perAddress: [String: Int] = [:]
            for entry in anonymous.values { perAddress[entry.address, default: 0] += 1 }
            let crowded = anonymous.filter { perAddress[$0.value.address] == perAddress.values.max() }
            guard let victim = anonymousVictim(crowded, now: now) ?? anonymousVictim(anonymous, now: now) else {
                return .refused("\(limits.anonymous) anonymous connections are open, all busy with requests (limits.anonymousConnections)")
            }
            evicting.append(victim)
        }
        for victim in evicting { entries[victim] = nil }
        entries[id] = Entry(address: address, since: now)
        return .admitted(evicting: evicting)
    }

    /// The connection's handshake showed the certificate of `peer`: it leaves the anonymous budget for the peer's.
    /// Refused, it stays anonymous (counted against its address) until it closes.
    public mutating func identify(_ id: Int, peer: String, now: UInt64) -> Admission {
        guard var entry = entries[id] else { return .refused("the connection is closed") }
        let same = entries.filter { $0.key != id && $0.value.peer == peer }
        var evicting: [Int] = []
        if same.count >= limits.perPeer {
            guard let victim = Self.longest(same, busy: false, for: limits.graceNanoseconds, now: now) else {
                return .refused("\(peer) holds \(limits.perPeer) connections, each busy or idle under 1 s (limits.connectionsPerPeer)")
            }
            evicting.append(victim)
            entries[victim] = nil
        }
        entry.peer = peer
        entries[id] = entry
        return .admitted(evicting: evicting)
    }

    /// A request started (`true`) or its response ended (`false`).
    public mutating func setBusy(_ id: Int, _ busy: Bool, now: UInt64) {
        guard var entry = entries[id], entry.busy != busy else { return }
        entry.busy = busy
        entry.since = now
        entries[id] = entry
    }

    /// The connection closed.
    public mutating func close(_ id: Int) { entries[id] = nil }

    /// Whether the table still holds the connection (an evicted one is gone before its channel closes).
    public func contains(_ id: Int) -> Bool { entries[id] != nil }

    /// The anonymous connection that gives way among `candidates`: idle the longest, else busy the longest (past the
    /// grace).
    func anonymousVictim(_ candidates: [Int: Entry], now: UInt64) -> Int? {
        Self.longest(candidates, busy: false, for: 0, now: now)
            ?? Self.longest(candidates, busy: true, for: limits.graceNanoseconds, now: now)
    }

    /// The candidate idle (or busy) the longest, if for at least `minimum` nanoseconds.
    static func longest(_ candidates: [Int: Entry], busy: Bool, for minimum: UInt64, now: UInt64) -> Int? {
        candidates.filter { $0.value.busy == busy && now &- $0.value.since >= minimum }
            .min { ($0.value.since, $0.key) < ($1.value.since, $1.key) }?.key
    }
}
