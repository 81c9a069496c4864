import Foundation
import Hummingbird
import NIOCore
import XGateCore
import XGateEngine
import XGateJSON

/// When an operator must look: a peer stuck too long, a correction unacknowledged past its deadline, a key or
/// certificate close to expiry. Shown by `GET /v1/operator/alerts`, as `xgate_alerts` in /metrics, and in the console.
public struct Alert: Sendable {
    /// `peer.stuck`, `correction.overdue`, `key.expiring`, `certificate.expiring`.
    public var kind: String
    /// The peer, record key or key id concerned.
    public var subject: String
    public var detail: String
}

/// The thresholds of the alerts (configuration `alerts.*`).
public struct AlertThresholds: Sendable {
    /// A peer whose oldest waiting change or batch is older than this is stuck.
    public var stuckPeerSeconds: Int64
    /// A key or certificate that expires within this is flagged.
    public var expiryWarningSeconds: Int64
    /// When this node's TLS certificate expires (nil in development plain HTTP).
    public var certificateNotAfter: Timestamp?

    public init(stuckPeerSeconds: Int64 = 3_600, expiryWarningSeconds: Int64 = 30 * 86_400, certificateNotAfter: Timestamp? = nil) {
        self.stuckPeerSeconds = stuckPeerSeconds
        self.expiryWarningSeconds = expiryWarningSeconds
        self.certificateNotAfter = certificateNotAfter
    }
}

/// What /metrics and the alerts read from the store in one snapshot.
struct NodeHealth: Sendable {
    struct PeerHealth: Sendable {
        var queueDepth = 0
        var lagSeconds: Int64 = 0
        var pendingBatches = 0
        var deadBatches = 0
        var unacknowledged = 0
        var overdue = 0
        /// Acknowledgements of pulled corrections this node owes the peer (it publishes a feed this node pulls).
        var acknowledgementsOwed = 0
        /// The last error kept with the oldest pending batch (a failure from before this process started).
        var pendingBatchError: String?

        /// A peer's queue, read from its channel's position in the log: records waiting, batches pending and dead, and
        /// the lag.
        static func read(_ peer: String, _ reader: any StoreReader, engine: SyncEngine, now: Timestamp) async throws -> PeerHealth {
            let pending = try await engine.channelQueue(of: peer, reader: reader)
            let batches = try await reader.outboundBatches(peer: peer, state: .pending)
            let oldest = ([pending.oldest].compactMap { $0 } + batches.map(\.createdAt)).min()
            return PeerHealth(
                queueDepth: pending.count, lagSeconds: oldest.map { max(0, now.seconds - $0.seconds) } ?? 0, pendingBatches: batches.count,
                deadBatches: try await reader.outboundBatches(peer: peer, state: .dead).count,
                acknowledgementsOwed: try await reader.pendingAcknowledgementCount(to: peer), pendingBatchError: batches.first?.lastError)
        }
    }

    /// The peers this node exchanges with: those with work waiting, those a channel has been used with, and the
    /// publishers it pulls from.
    static func peers(_ reader: any StoreReader, engine: SyncEngine, pullFrom: [String]) async throws -> [String] {
        var peers = await Set(try reader.peersWithWork())
        await peers.formUnion(try reader.pushPositions().keys)
        peers.formUnion(engine.configuration.pulledBy)
        for (id, _) in engine.node.federation.peers where id != engine.node.id {
            if try await reader.expectedInboundSequence(from: id) > 1 { peers.insert(id) }
            if try await reader.nextOutboundSequence(peer: id) > 1 { peers.insert(id) }
        }
        peers.formUnion(pullFrom)
        return peers.sorted()
    }
    var peers: [String: PeerHealth] = [:]
    var overdueCorrections: [CorrectionTracking] = []
}

extension GatewayAPI {
    /// The help text of every counter family the node keeps (`DeliveryBoard.count`).
    static let counterHelp: [String: String] = [
        "xgate_batches_in_total": "Batches received from peers and accepted (a signed receipt returned).",
        "xgate_batches_refused_total": "Batches refused as a whole, by the stable problem code.",
        "xgate_records_in_total": "Changes received in accepted batches, by sending peer.",
        "xgate_batches_out_total":
            "Pushes of batches to peers, by outcome: delivered, or failed (each failure is retried or dead-lettered).",
        "xgate_records_out_total": "Changes delivered to peers in batches answered by a receipt.",
        "xgate_feed_pages_served_total": "Feed pages served to subscribers.",
        "xgate_feed_pages_pulled_total": "Feed pages pulled from publishers and applied.",
        "xgate_http_requests_total": "HTTP requests answered, by route family and status.",
        "xgate_connections_closed_total":
            "Connections closed early, by reason: handshake-timeout, head-timeout, idle-timeout, slow-body, pipelined, evicted (gave way to a newer one), refused (its budget busy).",
        "xgate_bodies_refused_total": "Request bodies answered 503 request.busy because limits.bodyMemoryBytes was held, by caller.",
    ]

    /// Reads queue depth, lag, batches and corrections per peer in one read snapshot.
    func health() async throws -> NodeHealth {
        let engine = self.engine
        let now = engine.clock.now()
        let pullFrom = self.pullFrom
        let deadline = engine.configuration.correctionDeadlineSeconds
        return try await offload.read {
            try await engine.store.read { reader -> NodeHealth in
                var health = NodeHealth()
                for peer in try await NodeHealth.peers(reader, engine: engine, pullFrom: pullFrom) {
                    health.peers[peer] = try await NodeHealth.PeerHealth.read(peer, reader, engine: engine, now: now)
                }
                for correction in try await reader.unacknowledgedCorrections(sentBefore: Timestamp(seconds: now.seconds + 1)) {
                    health.peers[correction.peer, default: NodeHealth.PeerHealth()].unacknowledged += 1
                    if now.seconds - correction.sentAt.seconds > deadline {
                        health.peers[correction.peer, default: NodeHealth.PeerHealth()].overdue += 1
                        health.overdueCorrections.append(correction)
                    }
                }
                return health
            }
        }
    }

    /// The alerts standing now.
    func alerts(from health: NodeHealth) -> [Alert] {
        let now = engine.clock.now()
        var alerts: [Alert] = []
        for (peer, state) in health.peers.sorted(by: { $0.key < $1.key }) where state.lagSeconds > thresholds.stuckPeerSeconds {
            alerts.append(
                Alert(
                    kind: "peer.stuck", subject: peer,
                    detail:
                        "the oldest change or batch for \(peer) has waited \(state.lagSeconds / 60) min (threshold \(thresholds.stuckPeerSeconds / 60) min); \(state.deadBatches) dead batches"
                ))
        }
        for correction in health.overdueCorrections.prefix(1000) {
            alerts.append(
                Alert(
                    kind: "correction.overdue", subject: correction.key.description,
                    detail:
                        "\(correction.status.rawValue) (status version \(correction.statusVersion)) sent to \(correction.peer) at \(correction.sentAt.text), not acknowledged"
                ))
        }
        if let key = ownKey(), key.notAfter.seconds - now.seconds < thresholds.expiryWarningSeconds {
            alerts.append(
                Alert(
                    kind: "key.expiring", subject: key.kid,
                    detail: "this node's signing key expires \(key.notAfter.text): enrol its successor (README, rotate a key)"))
        }
        if let notAfter = thresholds.certificateNotAfter, notAfter.seconds - now.seconds < thresholds.expiryWarningSeconds {
            alerts.append(
                Alert(kind: "certificate.expiring", subject: "server", detail: "this node's TLS certificate expires \(notAfter.text)"))
        }
        return alerts
    }

    /// This node's signing key as the registry lists it (its validity window).
    func ownKey() -> Peer.Key? {
        engine.node.federation.peers[engine.node.id]?.keys.first { $0.kid == engine.node.signingKey.kid }
    }

    /// GET /v1/operator/alerts.
    func alertsValue() async throws -> JSONValue {
        let standing = alerts(from: try await health())
        return jsonValue([
            "alerts": .array(
                standing.map { ["kind": .string($0.kind), "subject": .string($0.subject), "detail": .string($0.detail)] })
        ])
    }

    /// GET /metrics: Prometheus text format 0.0.4, every family with HELP and TYPE (`promtool check metrics` clean).
    func metrics() async throws -> Response {
        var text = Exposition()
        // Every counter family is exposed, with HELP and TYPE, from the start: a family nothing has counted yet (a node
        // that pulls from nobody has pulled no page) has no sample, but it is there (openapi.yaml lists them).
        var families: [String: [(String, Double)]] = Dictionary(uniqueKeysWithValues: Self.counterHelp.keys.map { ($0, []) })
        for (series, value) in board.counterValues() {
            let name = String(series.prefix { $0 != "{" })
            families[name, default: []].append((String(series.dropFirst(name.count)), value))
        }
        for name in families.keys.sorted() {
            text.family(name, "counter", Self.counterHelp[name] ?? name, families[name]!.sorted { $0.0 < $1.0 })
        }
        let health = try await self.health()
        let peers = health.peers.keys.sorted()
        func perPeer(_ value: (NodeHealth.PeerHealth) -> Double) -> [(String, Double)] {
            peers.map { ("{peer=\"\($0)\"}", value(health.peers[$0]!)) }
        }
        text.family(
            "xgate_queue_depth", "gauge",
            "Records after the peer's position in this node's log that its channel looks at (what the outbound rule may still send), per peer.",
            perPeer { Double($0.queueDepth) })
        text.family(
            "xgate_lag_seconds", "gauge", "Age of the oldest change or batch waiting for each peer (0 when nothing waits).",
            perPeer { Double($0.lagSeconds) })
        text.family(
            "xgate_batches_pending", "gauge", "Batches signed and not yet answered by a receipt, per peer (retries included).",
            perPeer { Double($0.pendingBatches) })
        text.family(
            "xgate_batches_dead", "gauge", "Dead-lettered batches per peer; the channel waits for an operator (xgate requeue).",
            perPeer { Double($0.deadBatches) })
        text.family(
            "xgate_corrections_unacknowledged", "gauge", "Corrections sent to a holder and not yet acknowledged, per holder.",
            perPeer { Double($0.unacknowledged) })
        text.family(
            "xgate_corrections_overdue", "gauge", "Corrections unacknowledged past engine.correctionDeadlineSeconds, per holder.",
            perPeer { Double($0.overdue) })
        text.family(
            "xgate_acknowledgements_owed", "gauge",
            "Acknowledgements of corrections pulled from the peer's feed that this node has not yet delivered to it.",
            perPeer { Double($0.acknowledgementsOwed) })
        text.family(
            "xgate_peer_stuck", "gauge", "1 when the peer's lag is over alerts.stuckPeerSeconds.",
            perPeer { $0.lagSeconds > thresholds.stuckPeerSeconds ? 1 : 0 })
        let now = engine.clock.now()
        if let key = ownKey() {
            text.family(
                "xgate_signing_key_expiry_seconds", "gauge", "Seconds until this node's signing key expires (negative: expired).",
                [("{kid=\"\(key.kid)\"}", Double(key.notAfter.seconds - now.seconds))])
        }
        if let notAfter = thresholds.certificateNotAfter {
            text.family(
                "xgate_certificate_expiry_seconds", "gauge", "Seconds until this node's TLS certificate expires (negative: expired).",
                [("{certificate=\"server\"}", Double(notAfter.seconds - now.seconds))])
        }
        let open = connections.counts
        text.family(
            "xgate_connections_open", "gauge",
            "Open connections: anonymous (no pinned client certificate), and per peer identified by its pinned certificate.",
            [("{peer=\"\"}", Double(open.anonymous))] + open.peers.keys.sorted().map { ("{peer=\"\($0)\"}", Double(open.peers[$0]!)) })
        text.family(
            "xgate_body_memory_bytes", "gauge",
            "What the request bodies in hand cost now, 4 × their size (limits.bodyMemoryBytes is the most).",
            [("", Double(bodies.used))])
        let standing = alerts(from: health)
        text.family(
            "xgate_alerts", "gauge", "Alerts standing now, by kind (see GET /v1/operator/alerts).",
            ["peer.stuck", "correction.overdue", "key.expiring", "certificate.expiring"].map { kind in
                ("{kind=\"\(kind)\"}", Double(standing.filter { $0.kind == kind }.count))
            })
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(string: text.lines.joined(separator: "\n") + "\n")))
    }
}

/// Prometheus text exposition, family by family.
struct Exposition {
    var lines: [String] = []

    mutating func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Double)]) {
        lines.append("# HELP \(name) \(help)")
        lines.append("# TYPE \(name) \(type)")
        for sample in samples {
            let value = sample.value == sample.value.rounded() && abs(sample.value) < 1e15 ? String(Int64(sample.value)) : "\(sample.value)"
            lines.append("\(name)\(sample.labels) \(value)")
        }
    }
}

// The operator endpoints answer the same values the console renders.
extension GatewayAPI {
    func alertsResponse() async throws -> Response { json(try await alertsValue()) }
}
