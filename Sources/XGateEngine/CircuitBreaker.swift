import XGateCore

/// A per-peer circuit breaker as a pure state machine: after `failureThreshold` consecutive failures the circuit
/// opens and no batch is sent for `openSeconds`; then one trial is let through (half-open): success closes it,
/// failure opens it again.
public struct CircuitBreaker: Sendable, Equatable {
    /// When to open and for how long.
    public struct Configuration: Sendable, Equatable {
        public var failureThreshold: Int
        public var openSeconds: Int64
        /// Creates a configuration.
        public init(failureThreshold: Int = 5, openSeconds: Int64 = 60) {
            self.failureThreshold = failureThreshold
            self.openSeconds = openSeconds
        }
    }

    /// The breaker's state.
    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: Int64)
        case halfOpen
    }

    public private(set) var state: State = .closed(consecutiveFailures: 0)
    public let configuration: Configuration

    /// A closed breaker.
    public init(configuration: Configuration = .init()) { self.configuration = configuration }

    /// Whether a request may go now; an open breaker whose time has passed becomes half-open and lets one through.
    public mutating func allowsRequest(now: Timestamp) -> Bool {
        switch state {
        case .closed: return true
        case .halfOpen: return false  // one trial is already out
        case .open(let until):
            guard now.seconds >= until else { return false }
            state = .halfOpen
            return true
        }
    }

    /// Records a success: the circuit closes.
    public mutating func recordSuccess() { state = .closed(consecutiveFailures: 0) }

    /// Records a failure: counts it, and opens the circuit at the threshold (or at once when half-open).
    public mutating func recordFailure(now: Timestamp) {
        switch state {
        case .closed(let failures):
            let count = failures + 1
            state =
                count >= configuration.failureThreshold
                ? .open(until: now.seconds + configuration.openSeconds) : .closed(consecutiveFailures: count)
        case .halfOpen, .open:
            state = .open(until: now.seconds + configuration.openSeconds)
        }
    }

    /// A short name for status output and metrics: `closed`, `open`, `half-open`.
    public var name: String {
        switch state {
        case .closed: return "closed"
        case .open: return "open"
        case .halfOpen: return "half-open"
        }
    }
}
