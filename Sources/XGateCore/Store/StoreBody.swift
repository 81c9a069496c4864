/// The store whose transaction body the current task is running in.
///
/// A body holds its store's writer (SQLite) or one pooled connection (PostgreSQL) until it returns. A store call made
/// inside it on the same store would wait for what the body itself holds — for ever on SQLite's one writer, and on
/// PostgreSQL as soon as every pooled connection is held by a body waiting for another — or read a snapshot that does
/// not see the body's own writes. Both backends refuse such a call at once with ``StoreError/Code/nested``: a bug of
/// the caller, reported loudly instead of a hang.
public enum StoreBody {
    @TaskLocal static var store: ObjectIdentifier?

    /// Runs `body` as the body of `store`'s transaction; throws ``StoreError/Code/nested`` if the current task is
    /// already in one of `store`'s bodies.
    public static func run<T>(of store: AnyObject, _ call: String, _ body: () async throws -> T) async throws -> T {
        let id = ObjectIdentifier(store)
        if Self.store == id {
            throw StoreError(
                .nested,
                "\(call) was called inside a transaction body of the same store (a body must use the transaction or reader it was given)"
            )
        }
        return try await $store.withValue(id) { try await body() }
    }
}
