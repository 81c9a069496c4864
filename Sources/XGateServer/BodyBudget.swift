import NIOConcurrencyHelpers

/// The memory request bodies may hold at once (`limits.bodyMemoryBytes`): a body is counted at `costFactor` times
/// its size from the moment it is read until its request is answered (its parse and checks are the expensive part),
/// and one caller — a peer, the operators, the console — may hold at most half, so a peer sending many large batches
/// at once cannot keep the others out. A body that finds no room is answered 503 `request.busy` (retryable) before
/// it is read.
public final class BodyBudget: Sendable {
    /// What a body costs while it is handled, in multiples of its size: the bytes, the parsed JWS document, the
    /// decoded payload and the signing input are each about its size (measured: a 15.9 MiB batch raised the
    /// daemon's peak RSS by 80–100 MiB).
    public static let costFactor = 4

    /// Bytes for everyone together.
    public let total: Int
    /// Bytes for one caller.
    public let perCaller: Int
    private let state = NIOLockedValueBox((used: 0, byCaller: [String: Int]()))

    public init(total: Int) {
        self.total = total
        self.perCaller = max(1, total / 2)
    }

    /// Takes what a body of `size` bytes costs for `caller`, or returns false when that would pass either limit.
    public func reserve(_ size: Int, for caller: String) -> Bool {
        guard size > 0 else { return true }
        let bytes = size * Self.costFactor
        return state.withLockedValue { state in
            let mine = state.byCaller[caller, default: 0]
            guard state.used + bytes <= total, mine + bytes <= perCaller else { return false }
            state.used += bytes
            state.byCaller[caller] = mine + bytes
            return true
        }
    }

    /// Gives back what `reserve` took.
    public func release(_ size: Int, for caller: String) {
        guard size > 0 else { return }
        let bytes = size * Self.costFactor
        state.withLockedValue { state in
            state.used -= bytes
            let left = state.byCaller[caller, default: 0] - bytes
            state.byCaller[caller] = left > 0 ? left : nil
        }
    }

    /// The bytes held now.
    public var used: Int { state.withLockedValue { $0.used } }
}
