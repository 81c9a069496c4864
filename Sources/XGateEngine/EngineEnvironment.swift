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
    /// Sends several batches of one channel at once (its window) and returns each one's answer, in the order given.
    func push(window: [[UInt8]], to peer: String) async -> [Result<[UInt8], any Error>]
}

extension PeerTransport {
    /// All of them at once, each on its own connection: the receiver applies them in sequence order however they
    /// arrive (a batch ahead of its predecessor waits for it, `limits.sequenceWaitMilliseconds`).
    public func push(window: [[UInt8]], to peer: String) async -> [Result<[UInt8], any Error>] {
        guard window.count > 1 else {
            guard let only = window.first else { return [] }
            do { return [.success(try await push(only, to: peer))] } catch { return [.failure(error)] }
        }
        // One task per batch, awaited in the order given: the answers line up with the window by construction, with no
        // index to carry back. (With a task group of (index, Result) pairs, a release build of the daemon checked
        // receipts against the wrong batches — receipt.mismatch for a whole window — and later trapped on the index.)
        // Cancelling this call cancels them all.
        let tasks = window.map { jws in Task { try await self.push(jws, to: peer) } }
        return await withTaskCancellationHandler {
            var answers: [Result<[UInt8], any Error>] = []
            answers.reserveCapacity(tasks.count)
            for task in tasks { answers.append(await task.result) }
            return answers
        } onCancel: {
            for task in tasks { task.cancel() }
        }
    }
}
