import Foundation
import GRDB
import XGateCore
import XGateJSON

/// Reads the columns of one row read from disk. Anything unexpected (a NULL, a wrong type, text that is not JSON, a
/// timestamp that does not parse) becomes a ``StoreError/Code/corruptRow`` naming the table, the row's key columns
/// and the column; it never crashes.
struct RowDecoder: StoreRow {
    let row: Row
    let table: String
    /// The indexes of the columns that identify the row, for messages.
    let keyColumns: [Int]

    /// The error for a bad column.
    func corrupt(_ column: Int, _ problem: String) -> StoreError {
        let names = Array(row.columnNames)
        let values = Array(row.databaseValues)
        let key = keyColumns.map { i in
            "\(i < names.count ? names[i] : "#\(i)") \(i < values.count ? values[i] : .null)"
        }
        let name = column < names.count ? names[column] : "#\(column)"
        return StoreError(.corruptRow, "\(table) row (\(key.joined(separator: ", "))): column \(name) \(problem)")
    }

    func optionalString(_ i: Int) throws -> String? {
        do { return try row.decode(String?.self, atIndex: i) } catch { throw corrupt(i, "is not text") }
    }

    func optionalInt64(_ i: Int) throws -> Int64? {
        do { return try row.decode(Int64?.self, atIndex: i) } catch { throw corrupt(i, "is not an integer") }
    }

    func optionalBytes(_ i: Int) throws -> [UInt8]? {
        do { return try row.decode(Data?.self, atIndex: i).map { [UInt8]($0) } } catch { throw corrupt(i, "is not a blob") }
    }
}


/// Conversions of domain values to column values.
extension Array where Element == UInt8 {
    /// The bytes as a blob argument (`Data`). An empty array binds as NULL (SQLite's rule for a zero-length blob
    /// pointer), so statements write required blobs as `coalesce(?, X'')`.
    var blob: Data { Data(self) }
}

extension JSONValue {
    /// The compact text stored in `*_json` columns.
    var columnText: String { serializedString() }
}

/// Runs a `SELECT` through a cached statement and decodes each row.
func fetchAll<T>(
    _ db: Database, _ sql: String, _ arguments: StatementArguments, table: String, keyColumns: [Int],
    _ decode: (RowDecoder) throws -> T
) throws -> [T] {
    let statement = try db.cachedStatement(sql: sql)
    let rows = try Row.fetchCursor(statement, arguments: arguments)
    var result: [T] = []
    while let row = try rows.next() {
        result.append(try decode(RowDecoder(row: row, table: table, keyColumns: keyColumns)))
    }
    return result
}

/// Runs a `SELECT` expected to return at most one row.
func fetchOne<T>(
    _ db: Database, _ sql: String, _ arguments: StatementArguments, table: String, keyColumns: [Int],
    _ decode: (RowDecoder) throws -> T
) throws -> T? {
    let statement = try db.cachedStatement(sql: sql)
    guard let row = try Row.fetchOne(statement, arguments: arguments) else { return nil }
    return try decode(RowDecoder(row: row, table: table, keyColumns: keyColumns))
}
