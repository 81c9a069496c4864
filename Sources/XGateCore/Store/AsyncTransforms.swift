// `map` and its kin for bodies that await the store (nonisolated async: each call stays on the caller's executor, so a
// transaction body that maps over keys still runs in one piece on its connection).

extension Sequence {
    /// `map` with an async transform, in order.
    public func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var values: [T] = []
        values.reserveCapacity(underestimatedCount)
        for element in self { values.append(try await transform(element)) }
        return values
    }

    /// `compactMap` with an async transform, in order.
    public func asyncCompactMap<T>(_ transform: (Element) async throws -> T?) async throws -> [T] {
        var values: [T] = []
        for element in self { if let value = try await transform(element) { values.append(value) } }
        return values
    }

    /// `filter` with an async predicate, in order.
    public func asyncFilter(_ isIncluded: (Element) async throws -> Bool) async throws -> [Element] {
        var values: [Element] = []
        for element in self where try await isIncluded(element) { values.append(element) }
        return values
    }

    /// `contains(where:)` with an async predicate.
    public func asyncContains(where predicate: (Element) async throws -> Bool) async throws -> Bool {
        for element in self where try await predicate(element) { return true }
        return false
    }
}

extension Optional {
    /// `flatMap` with an async transform.
    public func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async throws -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }

    /// `map` with an async transform.
    public func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async throws -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
