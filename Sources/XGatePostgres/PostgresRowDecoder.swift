import Logging
import PostgresNIO
import XGateCore
import XGateJSON

/// Reads the columns of one row the server returned. Anything unexpected (a NULL, a wrong type, text that is not JSON,
/// a timestamp that does not parse) becomes a ``StoreError/Code/corruptRow`` naming the table, the row's key columns
/// and the column; it never crashes.
struct PostgresRowDecoder: StoreRow {
    let row: PostgresRandomAccessRow
    let table: String
    /// The indexes of the columns that identify the row, for messages.
    let keyColumns: [Int]

    /// The error for a bad column.
    func corrupt(_ column: Int, _ problem: String) -> StoreError {
        let key = keyColumns.map { i -> String in
            guard i < row.count else { return "#\(i) ?" }
            let cell = row[i]
            let value: String
            if cell.bytes == nil {
                value = "NULL"
            } else if let text = try? cell.decode(String.self) {
                value = text
            } else if let number = try? cell.decode(Int64.self) {
                value = String(number)
            } else {
                value = "?"
            }
            return "\(cell.columnName) \(value)"
        }
        let name = column < row.count ? row[column].columnName : "#\(column)"
        return StoreError(.corruptRow, "\(table) row (\(key.joined(separator: ", "))): column \(name) \(problem)")
    }

    private func cell(_ i: Int) throws -> PostgresCell {
        guard i < row.count else { throw corrupt(i, "is missing") }
        return row[i]
    }

    func optionalString(_ i: Int) throws -> String? {
        do { return try cell(i).decode(String?.self) } catch let error as StoreError { throw error } catch {
            throw corrupt(i, "is not text")
        }
    }

    func optionalInt64(_ i: Int) throws -> Int64? {
        do { return try cell(i).decode(Int64?.self) } catch let error as StoreError { throw error } catch {
            throw corrupt(i, "is not an integer")
        }
    }

    func optionalBytes(_ i: Int) throws -> [UInt8]? {
        let buffer: ByteBuffer?
        do { buffer = try cell(i).decode(ByteBuffer?.self) } catch let error as StoreError { throw error } catch {
            throw corrupt(i, "is not bytea")
        }
        return buffer.map { Array($0.readableBytesView) }
    }
}


/// Conversions of domain values to column values.
extension Array where Element == UInt8 {
    /// The bytes as a `bytea` argument. (An `[UInt8]` itself would bind as an array of `"char"`.)
    var bytea: ByteBuffer { ByteBuffer(bytes: self) }
}

extension JSONValue {
    /// The compact text stored in `*_json` columns.
    var columnText: String { serializedString() }

    /// Rows as the one JSON argument that `json_to_recordset` reads: an object per row, its members the columns, and
    /// `i` its position from 1 (what `ORDER BY i` keeps, and what ``PostgresTransaction/putRecords(_:)`` numbers
    /// sequences by). One text parameter however many rows, NULLs included, where arrays to `unnest` cannot hold a
    /// NULL in PostgresNIO.
    static func recordset<Rows: Collection>(_ rows: Rows, _ columns: (Rows.Element) -> [(key: String, value: JSONValue)]) -> String {
        let objects = rows.enumerated().map { offset, row in
            JSONValue.object(JSONObject([(key: "i", value: JSONValue.number(Double(offset + 1)))] + columns(row)))
        }
        return JSONValue.array(objects).columnText
    }

    /// An integer column's value (nil: NULL).
    static func integer<N: BinaryInteger>(_ value: N?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }

    /// A text column's value (nil: NULL).
    static func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
}

/// The first statement of a transaction that the server refused, if any. PostgreSQL aborts a transaction at its first
/// failed statement and later answers `COMMIT` with a rollback, not an error: a body that caught such a failure and
/// returned would seem to have written what was in fact discarded. `write` and `read` check this before committing
/// and throw it instead. (The store's own refusals — ``StoreError`` thrown before any statement — leave the
/// transaction usable and are not kept here.)
final class StatementFailure: @unchecked Sendable {
    // Used by one transaction's body, one call at a time, on its task.
    private(set) var error: (any Error)?

    func record(_ error: any Error) {
        if self.error == nil, !(error is StoreError) { self.error = error }
    }
}

/// A statement was not sent: its connection was closed already (``PostgresConnection/rows(_:logger:)``).
struct ConnectionClosed: Error {}

extension PostgresConnection {
    /// Runs a statement and returns its rows, read to the end. Every statement of the store goes through here:
    /// - a connection already closed is refused (``ConnectionClosed``) before anything is written to it: PostgresNIO
    ///   drops a statement written to a connection it has torn down and never answers it (1.33), which once left
    ///   a transaction retried after a lost connection waiting for ever;
    /// - the rows are read to the end, so that an error the server sends after the first rows (a connection it
    ///   terminates, 57P01) comes out of this call rather than being left in a row sequence nobody reads.
    /// What remains — a connection torn down between the check and the write — ``TransactionDeadline`` ends.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        if isClosed { throw ConnectionClosed() }
        var rows: [PostgresRow] = []
        for try await row in try await self.query(query, logger: logger) { rows.append(row) }
        return rows
    }

    /// Runs a statement, discarding its rows (``rows(_:logger:)``).
    func perform(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await rows(query, logger: logger)
    }
}

/// A connection the store reads through: a reader's snapshot, or the writer inside a transaction.
/// Every `StoreReader` requirement is implemented once, in extensions of this protocol.
protocol PostgresReading: StoreReader {
    var connection: PostgresConnection { get }
    var logger: Logger { get }
    var failure: StatementFailure { get }
}

extension PostgresReading {
    /// Runs a statement, discarding any rows (``PostgresNIO/PostgresConnection/perform(_:logger:)``).
    func execute(_ query: PostgresQuery) async throws {
        do {
            try await connection.perform(query, logger: logger)
        } catch {
            failure.record(error)
            throw error
        }
    }

    /// Runs a statement and returns how many rows it returned (`… RETURNING 1`: how many it changed).
    func count(_ query: PostgresQuery) async throws -> Int {
        do {
            return try await connection.rows(query, logger: logger).count
        } catch {
            failure.record(error)
            throw error
        }
    }

    /// Runs a `SELECT` and decodes each row.
    func fetchAll<T>(_ query: PostgresQuery, table: String, keyColumns: [Int], _ decode: (PostgresRowDecoder) throws -> T)
        async throws -> [T]
    {
        do {
            return try await connection.rows(query, logger: logger).map { row in
                try decode(PostgresRowDecoder(row: row.makeRandomAccess(), table: table, keyColumns: keyColumns))
            }
        } catch {
            failure.record(error)
            throw error
        }
    }

    /// Runs a `SELECT` expected to return at most one row.
    func fetchOne<T>(_ query: PostgresQuery, table: String, keyColumns: [Int], _ decode: (PostgresRowDecoder) throws -> T)
        async throws -> T?
    {
        try await fetchAll(query, table: table, keyColumns: keyColumns, decode).first
    }

    /// Runs a `SELECT` of one integer (a count, a maximum); `nil` when it returns no row or NULL.
    func fetchInt64(_ query: PostgresQuery, table: String) async throws -> Int64? {
        try await fetchOne(query, table: table, keyColumns: []) { try $0.optionalInt64(0) } ?? nil
    }
}
