import XGateCore
import XGateJSON

/// The one outbound rule (PROTOCOL.md §4.7, §6.6, §9.3). Whatever a node sends a peer — a pushed batch, a feed page, a
/// snapshot, a correction, a resend — is decided here, record by record, for this peer at this moment: the content
/// (masked per agreement), the status alone, or nothing. Push and pull call the same function, so a partner holds the
/// same set whichever path reached it.
extension SyncEngine {
    /// The change `peer` gets for `stored`, or nil.
    ///
    /// - `position`: where the channel stands in this node's log (nil for a snapshot or a resend, which look at the
    ///   record as it is): a record whose last change came from `peer` itself, over a state the channel had already
    ///   looked at, is not sent back; a node that relays nothing (not the city) sends only records it changed itself
    ///   after the position, carrying its own content and its newest own status decision (§5.4).
    /// - Content goes when an agreement lets this node send the record's kind and subject type to `peer` today, and
    ///   the record is shared: its status is published (active, disputed, repair-revoked) and its publicity has not
    ///   ended (`ContractSet.publicityEnd`: its own `publicityEndDate` first, else the regime of its decision date, a
    ///   severity a regime does not publish never, a decision older than every regime five years). A record no longer
    ///   shared keeps flowing only up its own region's reporting chain, to a city node of the same region (the platform
    ///   whose copy prevails), and not once revoked. So a repaired, expired, exited or unpublished record never reaches
    ///   another region, or another district, with content.
    /// - Otherwise the status alone goes when it is a decision (version 2 on) and `peer` held the record (corrections
    ///   reach every former holder, whatever today's agreements say). A peer that never held the record learns nothing
    ///   of it, not even that it exists.
    func outboundChange(
        _ stored: StoredRecord, to peer: String, at position: Int64?, today: CivilDate, reader: any StoreReader
    ) async throws -> Change? {
        let state = stored.state
        guard peer != node.id else { return nil }
        if node.isRelay {
            if let position, stored.source == peer, stored.previousSequence <= position { return nil }
        } else if stored.madeHereSequence <= (position ?? 0) {
            return nil
        }
        guard let status = statusToCarry(state) else { return nil }
        let content = state.content.flatMap { node.isRelay || $0.author == node.id ? $0 : nil }
        let subjectType = state.content?.record["subject"]?["type"]?.stringValue ?? ""
        let permission = node.federation.permission(from: node.id, to: peer, kind: state.key.kind, subjectType: subjectType, on: today)
        if let content, let permission, sharesContent(state, with: peer, today: today) {
            let (record, masked) = Federation.redact(content.record, permission: permission)
            var travelling = content
            if !masked.isEmpty { travelling.record = record }  // (the setter hashes the record again: only when it changed)
            return Change(key: state.key, content: travelling, status: status, masked: masked)
        }
        guard status.from != nil, try await reader.holders(of: state.key).contains(peer) else { return nil }
        return Change(key: state.key, content: nil, status: status)
    }

    /// Whether the record's content may go to `peer`: it is shared (``isServable(_:today:)``), or it goes up its own
    /// region's reporting chain to a city node, unless revoked.
    func sharesContent(_ state: RecordState, with peer: String, today: CivilDate) -> Bool {
        if isServable(state, today: today) { return true }
        guard state.status.value != .revoked, let receiver = node.federation.peers[peer], receiver.roles.contains(.city) else {
            return false
        }
        return NodeId.region(of: peer) == NodeId.region(of: node.id)
    }

    /// Whether a record is shared: its status is a published one and its publicity has not ended. Receivers apply the
    /// same rule as owners, so an expiry that has not yet arrived is enforced anyway.
    func isServable(_ state: RecordState, today: CivilDate) -> Bool {
        guard state.status.value.isPublished else { return false }
        if let end = publicityEnd(of: state), end.date <= today { return false }
        return true
    }

    /// When the record's publicity ends, and why (nil when nothing ends it).
    func publicityEnd(of state: RecordState) -> PublicityEnd? {
        guard let record = state.content?.record else { return nil }
        return node.contracts.publicityEnd(of: record, kind: state.key.kind)
    }

    /// The records of the log a channel to `peer` looks at today (the store's cheap part of the rule above).
    func channelFilter(for peer: String, today: CivilDate) -> ChannelFilter {
        ChannelFilter(kinds: node.federation.kinds(from: node.id, to: peer, on: today), madeHereOnly: !node.isRelay)
    }

    /// The peers this node pushes to: every other node of the registry but those that pull its feed.
    public var pushPeers: [String] {
        node.federation.peers.keys.filter { $0 != node.id && !configuration.pulledBy.contains($0) }.sorted()
    }

    /// The peers with something to push now: a pending batch, a backlog, or a record after their channel's position that
    /// their filter matches (the rule may still find nothing to send in it: the next batch then only moves the position).
    public func peersWithWork() async throws -> [String] {
        try await peersWithWork(among: nil)
    }

    /// Whether `peer` has something to push now (``peersWithWork()`` for one peer: what its push loop asks on each
    /// wake-up, so that a wake-up costs one channel's look, not every channel's).
    public func hasWork(for peer: String) async throws -> Bool {
        try await !peersWithWork(among: [peer]).isEmpty
    }

    /// The peers among `candidates` (every peer when nil) with a pending batch or a backlog, or with a record to look
    /// at after their push position.
    public func peersWithWork(among candidates: [String]?) async throws -> [String] {
        let today = clock.now().chinaDate
        let scanned = candidates.map { Set($0).intersection(pushPeers).sorted() } ?? pushPeers
        return try await store.read { reader in
            let queued = try await reader.peersWithWork()
            var peers = Set(candidates.map { wanted in queued.filter(wanted.contains) } ?? queued)
            let positions = try await reader.pushPositions()
            let last = try await reader.lastLocalSequence()  // this snapshot's: what commits later comes after it
            for peer in scanned where !peers.contains(peer) {
                let filter = channelFilter(for: peer, today: today)
                let position = positions[peer] ?? 0
                let start = looks.start(peer, filter: filter, position: position)
                var look = filter
                look.madeHereAfter = position  // the look starts later, the made-here bound stays the channel's
                if try await !reader.records(after: start, limit: 1, matching: look).isEmpty {
                    peers.insert(peer)
                } else {
                    looks.sawNothing(peer, filter: filter, through: last)
                }
            }
            return peers.sorted()
        }
    }

    /// Where `peer`'s channel stands in this node's log: its push position, or for a peer that pulls, the cursor it
    /// last asked a page after (what it has applied).
    public func channelPosition(of peer: String, reader: any StoreReader) async throws -> Int64 {
        if configuration.pulledBy.contains(peer) {
            return await (try? FeedCursor.position(reader.feedPosition(subscriber: peer, feed: node.id))) ?? 0
        }
        return try await reader.pushPositions()[peer] ?? 0
    }

    /// A channel's queue, read from its position: the records after it that its filter matches (what the rule may
    /// still send; it sends each at most once), its backlog, and when the oldest of them was stored.
    public func channelQueue(of peer: String, reader: any StoreReader) async throws -> (count: Int, oldest: Timestamp?) {
        let filter = channelFilter(for: peer, today: clock.now().chinaDate)
        let log = try await reader.recordSummary(after: try channelPosition(of: peer, reader: reader), matching: filter)
        return await (log.count + (try reader.backlogCount(peer: peer)), log.oldest)
    }

    /// What `peer`'s channel would carry now, read in one snapshot without moving its position: its backlog, then the
    /// log after its position, through the outbound rule (at most `limit` changes). For operators and tests.
    public func preview(to peer: String, limit: Int = 1000) async throws -> [Change] {
        let today = clock.now().chinaDate
        return try await store.read { reader in
            var changes: [Change] = []
            for key in try await reader.backlog(peer: peer, limit: limit) {
                if let stored = try await reader.record(key), let change = try await outboundChange(stored, to: peer, at: nil, today: today, reader: reader) {
                    changes.append(change)
                }
            }
            var position = try await channelPosition(of: peer, reader: reader)
            let filter = channelFilter(for: peer, today: today)
            while changes.count < limit {
                let page = try await reader.records(after: position, limit: 500, matching: filter)
                for stored in page where changes.count < limit {
                    if let change = try await outboundChange(stored, to: peer, at: position, today: today, reader: reader) { changes.append(change) }
                    position = stored.localSequence
                }
                if page.count < 500 { break }
            }
            return changes
        }
    }
}
