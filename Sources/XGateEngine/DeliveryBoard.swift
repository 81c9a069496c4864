import Foundation
import XGateCore

/// What the daemon's loops know about each peer that the store does not: the circuit breaker, the last success and
/// the last error of each push and pull. Shared by the loops (which write) and the API (which reads).
public final class DeliveryBoard: @unchecked Sendable {
    /// One peer's delivery state.
    public struct Entry: Sendable {
        public var lastSuccess: Timestamp?
        public var lastError: String?
        public var lastErrorAt: Timestamp?
        public var circuit: String = "closed"
        public var lastPull: Timestamp?
    }

    /// Signalled whenever outbound work may have arrived; the push loops wait on it between polls.
    public let work = WorkSignal()
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var counters: [String: Double] = [:]
    /// Whether the node is ready to take requests (the store opened, the loops started).
    private var ready = false

    public init() {}

    /// Changes a peer's entry.
    public func update(_ peer: String, _ change: (inout Entry) -> Void) {
        lock.withLock { change(&entries[peer, default: Entry()]) }
    }

    /// A peer's entry.
    public func entry(_ peer: String) -> Entry { lock.withLock { entries[peer] ?? Entry() } }

    /// Adds to a counter identified by its Prometheus series (`name{labels}`).
    public func count(_ series: String, by amount: Double = 1) { lock.withLock { counters[series, default: 0] += amount } }

    /// Every counter, by series.
    public func counterValues() -> [String: Double] { lock.withLock { counters } }

    /// The sum of a counter family's series (`xgate_records_in_total` over every peer).
    public func total(_ family: String) -> Double {
        lock.withLock { counters.filter { $0.key.hasPrefix(family + "{") || $0.key == family }.values.reduce(0, +) }
    }

    public var isReady: Bool {
        get { lock.withLock { ready } }
        set { lock.withLock { ready = newValue } }
    }
}
