/// Exponential backoff with jitter and a cap: attempt n waits between half and all of min(cap, base · 2^(n−1)).
/// The randomness is passed in, so tests drive it. One backoff for every retry of the gateway: a batch to a peer
/// (seconds to minutes, `engine.retry`) and a store transaction that failed retryably (milliseconds, ``StoreRetry``).
public struct RetryPolicy: Sendable, Equatable {
    /// The first delay, in seconds.
    public var baseSeconds: Double
    /// No delay is longer than this, in seconds.
    public var capSeconds: Double

    /// Creates a policy.
    public init(baseSeconds: Double = 2, capSeconds: Double = 600) {
        self.baseSeconds = baseSeconds
        self.capSeconds = capSeconds
    }

    /// The delay before attempt `attempt + 1`, after `attempt` failures (attempt ≥ 1). `unit` is a random number in [0, 1).
    public func delay(afterAttempt attempt: Int, unit: Double) -> Double {
        let exponent = Double(min(max(attempt, 1) - 1, 60))
        let ceiling = min(capSeconds, baseSeconds * pow2(exponent))
        return ceiling / 2 + ceiling / 2 * min(max(unit, 0), 1)
    }

    private func pow2(_ e: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(e) {
            result *= 2
            if result > 1e12 { break }
        }
        return result
    }
}
