import Dispatch
import XGateCore

/// Runs CPU work off the event loops (signature checks, signing, parsing) on worker threads (`run`), and store work
/// (`read`, `write`: bodies that call the async store, which runs them where its backend needs — SQLite on its
/// connection's queue, PostgreSQL on its pool's connections). A write that fails with a retryable ``StoreError`` (a lock held too long, a concurrent transaction that
/// won, a lost connection) is run again after a pause, per ``StoreRetry``: each body given here is a whole engine
/// operation whose transaction was rolled back, so running it again is safe. Every retry is reported to `onRetry`.
public struct Offload: StoreExecutor {
    private let workers = DispatchQueue(label: "xgate.work", attributes: .concurrent)
    public let retry: StoreRetry
    private let onRetry: @Sendable (StoreError, Int) -> Void

    /// Creates the executor; `onRetry` hears of each retried write (the error, the run that failed).
    public init(retry: StoreRetry = StoreRetry(), onRetry: @escaping @Sendable (StoreError, Int) -> Void = { _, _ in }) {
        self.retry = retry
        self.onRetry = onRetry
    }

    /// Runs `body` on a worker thread.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            workers.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body`, store reads, again after a pause while it fails retryably.
    public func read<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await retrying(body)
    }

    /// Runs `body`, store writes, again after a pause while it fails retryably.
    public func write<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await retrying(body)
    }

    private func retrying<T>(_ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as StoreError where retry.retries(error, after: attempt) {
                onRetry(error, attempt)
                try await Task.sleep(for: .milliseconds(retry.pauseMilliseconds(after: attempt, jitter: Double.random(in: 0...1))))
                attempt += 1
            }
        }
    }
}
