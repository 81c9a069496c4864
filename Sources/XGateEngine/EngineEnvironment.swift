import XGateCore

/// The clock the engine reads; tests drive it by hand.
public protocol EngineClock: Sendable {
    /// The current time.
    func now() -> Timestamp
}

/// Random numbers in [0, 1) and fresh batch ids; tests seed them.
public protocol EngineRandom: Sendable {
    /// A uniform number in [0, 1).
    func unit() -> Double
    /// A new UUIDv7-shaped batch id at `time`.
    func batchID(at time: Timestamp) -> String
}

/// Delivers a signed batch to a peer and returns its signed receipt (the HTTPS client in production, an in-memory
/// network with faults in tests).
public protocol PeerTransport: Sendable {
    /// Sends the JWS bytes; returns the receipt JWS bytes, or throws (an `EngineError` from the peer, or a transport error).
    func push(_ jws: [UInt8], to peer: String) async throws -> [UInt8]
}
