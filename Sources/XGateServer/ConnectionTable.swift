/// Which connections may stay open (`limits.anonymousConnections`, `limits.connectionsPerAddress`,
/// `limits.connectionsPerPeer`): a pure table of the open connections that decides, when one opens or is identified,
/// which may stay and which must go. `ConnectionBudget` holds it behind a lock and closes what it says.
///
/// A connection is *anonymous* until its TLS handshake shows a client certificate pinned for a node in the registry
/// (operators, the console, health checks and anyone probing the port stay anonymous). Anonymous connections share
/// a budget, and each source address may hold only part of it; a pinned peer has its own budget. When a budget is
/// full, the connection that has been idle the longest — no request in progress: still in its handshake, before
/// its first request, or between requests — gives way to the new one, so a flood of sockets that send nothing can
/// never take the place of a peer or an operator that does; only when every connection in the budget is busy with a
/// request is the new one refused. In a peer's own budget only a connection idle for a second or more gives way.
public struct ConnectionTable: Sendable {
    /// The budgets.
    public struct Limits: Sendable, Equatable {
        /// Connections not identified by a pinned certificate, from everyone together.
        public var anonymous: Int
        /// Anonymous connections from one source address.
        public var perAddress: Int
        /// Connections identified as one peer.
        public var perPeer: Int
        /// How long a peer's connection must have been idle before another of the same peer takes its place (a
        /// peer opening many at once is answered `peer.too-many-connections` instead of cutting its own fresh ones).
        /// Anonymous connections give way however briefly they have been idle: the newcomer is the one most likely
        /// to be a real client, the oldest idle one the most likely to be a held socket.
        public var minimumIdleNanoseconds: UInt64
        public init(anonymous: Int = 128, perAddress: Int = 32, perPeer: Int = 16, minimumIdleNanoseconds: UInt64 = 1_000_000_000) {
            self.anonymous = anonymous
            self.perAddress = perAddress
            self.perPeer = perPeer
            self.minimumIdleNanoseconds = minimumIdleNanoseconds
        }
    }

    /// What happens to a connection that opens or is identified.
    public enum Admission: Equatable, Sendable {
        /// It stays; the connections listed (idle the longest) are closed to make room.
        case admitted(evicting: [Int])
        /// It is closed: its budget is full of connections busy with requests.
        case refused(String)
    }

    struct Entry: Sendable {
        var address: String
        var peer: String?
        var busy = false
        /// When it opened or last became idle (monotonic nanoseconds): the oldest idle one gives way first.
        var idleSince: UInt64
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
            guard let victim = longestIdle(sameAddress, excluding: evicting, idleFor: 0, now: now) else {
                return .refused("\(address) holds \(limits.perAddress) connections, all busy with requests (limits.connectionsPerAddress)")
            }
            evicting.append(victim)
        }
        let anonymous = entries.filter { $0.value.peer == nil }
        if anonymous.count - evicting.count >= limits.anonymous {
            guard let victim = longestIdle(anonymous, excluding: evicting, idleFor: 0, now: now) else {
                return .refused("\(limits.anonymous) anonymous connections are open, all busy with requests (limits.anonymousConnections)")
            }
            evicting.append(victim)
        }
        for victim in evicting { entries[victim] = nil }
        entries[id] = Entry(address: address, idleSince: now)
        return .admitted(evicting: evicting)
    }

    /// The connection's handshake showed the certificate of `peer`: it leaves the anonymous budget for the peer's.
    public mutating func identify(_ id: Int, peer: String, now: UInt64) -> Admission {
        guard var entry = entries[id] else { return .refused("the connection is closed") }
        let same = entries.filter { $0.key != id && $0.value.peer == peer }
        var evicting: [Int] = []
        if same.count >= limits.perPeer {
            guard let victim = longestIdle(same, excluding: [], idleFor: limits.minimumIdleNanoseconds, now: now) else {
                entries[id] = nil
                return .refused("\(peer) holds \(limits.perPeer) connections, all busy or new (limits.connectionsPerPeer)")
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
        guard var entry = entries[id] else { return }
        entry.busy = busy
        if !busy { entry.idleSince = now }
        entries[id] = entry
    }

    /// The connection closed.
    public mutating func close(_ id: Int) { entries[id] = nil }

    /// Whether the table still holds the connection (an evicted one is gone before its channel closes).
    public func contains(_ id: Int) -> Bool { entries[id] != nil }

    func longestIdle(_ candidates: [Int: Entry], excluding: [Int], idleFor minimum: UInt64, now: UInt64) -> Int? {
        candidates.filter { !$0.value.busy && !excluding.contains($0.key) && now &- $0.value.idleSince >= minimum }
            .min { ($0.value.idleSince, $0.key) < ($1.value.idleSince, $1.key) }?.key
    }
}
