import NIOConcurrencyHelpers

/// The memory request bodies may hold at once (`limits.bodyMemoryBytes`): a body's bytes are counted from the
/// moment it is read until its request is answered (its parse and checks are the expensive part), and one caller —
/// a peer, the operators, the console — may hold at most half, so a peer sending many large batches at once cannot
/// keep the others out. A body that finds no room is answered 503 `request.busy` (retryable) before it is read.
public final class BodyBudget: Sendable {
    /// Bytes for everyone together.
    public let total: Int
    /// Bytes for one caller.
    public let perCaller: Int
    private let state = NIOLockedValueBox((used: 0, byCaller: [String: Int]()))

    public init(total: Int) {
        self.total = total
        self.perCaller = max(1, total / 2)
    }

    /// Takes `bytes` for `caller`, or returns false when that would pass either limit.
    public func reserve(_ bytes: Int, for caller: String) -> Bool {
        guard bytes > 0 else { return true }
        return state.withLockedValue { state in
            let mine = state.byCaller[caller, default: 0]
            guard state.used + bytes <= total, mine + bytes <= perCaller else { return false }
            state.used += bytes
            state.byCaller[caller] = mine + bytes
            return true
        }
    }

    /// Gives back what `reserve` took.
    public func release(_ bytes: Int, for caller: String) {
        guard bytes > 0 else { return }
        state.withLockedValue { state in
            state.used -= bytes
            let left = state.byCaller[caller, default: 0] - bytes
            state.byCaller[caller] = left > 0 ? left : nil
        }
    }

    /// The bytes held now.
    public var used: Int { state.withLockedValue { $0.used } }
}
