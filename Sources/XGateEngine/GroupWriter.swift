/// Group commit: items handed in while a write is running wait and go into the next write, together. A burst of
/// small writes (the feed pages one correction has nine subscribers served) costs two or three transactions on the
/// writer instead of one each, and each caller returns once its own item is written. If a write fails, every item
/// of it fails with that error (each caller answers as it would for its own failed write).
public actor GroupWriter<Item: Sendable> {
    private let write: @Sendable ([Item]) async throws -> Void
    private var waiting: [(item: Item, continuation: CheckedContinuation<Void, any Error>)] = []
    private var running = false

    /// Creates a writer; `write` writes several items at once (one transaction).
    public init(_ write: @escaping @Sendable ([Item]) async throws -> Void) {
        self.write = write
    }

    /// Writes `item`, with whatever else arrives meanwhile; returns once it is written.
    public func submit(_ item: Item) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            waiting.append((item, continuation))
            if !running {
                running = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !waiting.isEmpty {
            let group = waiting
            waiting = []
            do {
                try await write(group.map(\.item))
                for entry in group { entry.continuation.resume() }
            } catch {
                for entry in group { entry.continuation.resume(throwing: error) }
            }
        }
        running = false
    }
}
