import Foundation

/// The longest a store transaction may wait on its connection, and what happens when it does.
///
/// PostgresNIO answers every statement on a live connection, and fails every statement in flight when the
/// connection closes. One case it never answers: a statement written while the connection is being torn down (a
/// server that ended it, a failover) is dropped with the channel, and its caller waits for ever (PostgresNIO 1.33
/// writes each statement with no promise of its own). ``PostgresConnection/rows(_:logger:)`` refuses a connection
/// already closed; this deadline covers the instant between that check and the write, and anything else that would
/// keep a transaction waiting with no answer (a peer that vanished without a reset).
///
/// When the deadline passes, the caller gets a retryable ``XGateCore/StoreError/Code/unavailable``, the connection
/// is closed (so the pool replaces it and the server discards what the transaction wrote), and the work is
/// cancelled; work that ignores cancellation is left to end on its own, after the caller has moved on.
enum TransactionDeadline {
    /// Runs `work` for at most `limit`; after that, `expired()` and the error it returns.
    static func run<T: Sendable>(
        within limit: Duration, expired: @escaping @Sendable () -> any Error, _ work: @escaping () async throws -> T
    ) async throws -> T {
        let race = Race<T>()
        let work = UncheckedWork(work)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                let timer = Task {
                    try await Task.sleep(for: limit)
                    if race.finish(.failure(expired())) { race.cancelWorker() }
                }
                race.setWorker(
                    Task {
                        let result: Result<T, any Error>
                        do { result = .success(try await work.body()) } catch { result = .failure(error) }
                        timer.cancel()
                        race.finish(result)
                    })
            }
        } onCancel: {
            race.cancelWorker()
        }
    }

    /// The caller's continuation, resumed once by whichever of the work and the timer ends first.
    private final class Race<T: Sendable>: @unchecked Sendable {
        // Every member is read and written under `lock`.
        private let lock = NSLock()
        private var continuation: CheckedContinuation<T, any Error>?
        private var worker: Task<Void, Never>?
        private var cancelled = false

        func start(_ continuation: CheckedContinuation<T, any Error>) {
            lock.withLock { self.continuation = continuation }
        }

        func setWorker(_ worker: Task<Void, Never>) {
            let cancel = lock.withLock {
                self.worker = worker
                return cancelled
            }
            if cancel { worker.cancel() }
        }

        func cancelWorker() {
            let worker = lock.withLock {
                cancelled = true
                return self.worker
            }
            worker?.cancel()
        }

        /// Resumes the caller with `result` unless it was resumed already; says whether this call did.
        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let continuation = lock.withLock {
                defer { self.continuation = nil }
                return self.continuation
            }
            continuation?.resume(with: result)
            return continuation != nil
        }
    }

    /// The work, run once on a task of its own: the store's transaction body is not `Sendable` (it runs on one task
    /// at a time, which this keeps true), and the task is the only one to call it.
    private struct UncheckedWork<T>: @unchecked Sendable {
        let body: () async throws -> T
        init(_ body: @escaping () async throws -> T) { self.body = body }
    }
}
