import Foundation

/// Wakes the push loops when new outbound work may exist (a batch committed, a record submitted, a decision made), so
/// a correction leaves at once instead of at the next poll. Each waiter remembers the generation it has seen: a
/// signal that comes while it is busy is not lost, the next wait returns at once.
public final class WorkSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var generation: UInt64 = 0
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]

    public init() {}

    /// The current generation (pass it to `wait`).
    public var current: UInt64 { lock.withLock { generation } }

    /// Wakes every waiter.
    public func signal() {
        let woken = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            generation &+= 1
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Waits until a signal after `seen`, at most `milliseconds`, or until the task is cancelled. Returns the
    /// generation to pass next time.
    public func wait(after seen: UInt64, milliseconds: Int) async -> UInt64 {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.signalled(after: seen) }
            group.addTask { try? await Task.sleep(for: .milliseconds(milliseconds)) }
            await group.next()
            group.cancelAll()
        }
        return current
    }

    private func signalled(after seen: UInt64) async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = lock.withLock { () -> Bool in
                    if generation != seen || Task.isCancelled { return true }
                    waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = lock.withLock { waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
