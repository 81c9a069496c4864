import Dispatch
import XGateEngine

/// Runs blocking work (SQLite, signature checks) off the event loops: `prepare` anywhere, writes one at a time
/// (SQLite has one writer; queueing them here keeps event-loop threads free while they wait).
public struct Offload: StoreExecutor {
    private let workers = DispatchQueue(label: "xgate.work", attributes: .concurrent)
    private let writer = DispatchQueue(label: "xgate.writer")

    public init() {}

    /// Runs `body` on a worker thread.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            workers.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body`, a store read, on a worker thread.
    public func read<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T { try await run(body) }

    /// Runs `body` on the single writer thread.
    public func write<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            writer.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
