import XGateJSON

/// A row a store read from its database, column by column: each backend reads its own cells (SQLite's values,
/// PostgreSQL's binary cells) and says what is wrong with one; what a column means — a timestamp, a digest, a record
/// key, a stored record, a batch — is decoded here, once for both. Anything unexpected becomes a
/// ``StoreError/Code/corruptRow`` naming the table, the row's key columns and the column; it never crashes.
public protocol StoreRow {
    /// The error for a bad column.
    func corrupt(_ column: Int, _ problem: String) -> StoreError
    /// The column as text (nil for NULL).
    func optionalString(_ i: Int) throws -> String?
    /// The column as an integer (nil for NULL).
    func optionalInt64(_ i: Int) throws -> Int64?
    /// The column as bytes (nil for NULL).
    func optionalBytes(_ i: Int) throws -> [UInt8]?
}

/// The columns the shared decoders read, in order (the schemas of both backends name them alike).
public enum StoreColumns {
    /// What ``StoreRow/storedRecord()`` reads.
    public static let record = "owner, kind, source_id, state_json, local_seq, source, previous_seq, made_here_seq"
    /// What ``StoreRow/outboundBatch()`` reads.
    public static let batch = "peer, sequence, batch_id, jws, record_keys, created_at, state, attempts, next_attempt_at, last_error, receipt"
    /// What ``StoreRow/correctionTracking()`` reads.
    public static let correction = "owner, kind, source_id, status_version, peer, status, sent_at, acknowledged_at"
    /// What ``StoreRow/auditEntry()`` reads.
    public static let audit = "seq, at, actor, action, subject, detail, previous, hash"
}

extension StoreRow {
    public func string(_ i: Int) throws -> String {
        guard let value = try optionalString(i) else { throw corrupt(i, "is NULL") }
        return value
    }

    public func int64(_ i: Int) throws -> Int64 {
        guard let value = try optionalInt64(i) else { throw corrupt(i, "is NULL") }
        return value
    }

    public func int(_ i: Int) throws -> Int {
        guard let value = Int(exactly: try int64(i)) else { throw corrupt(i, "is out of range") }
        return value
    }

    public func optionalInt(_ i: Int) throws -> Int? {
        guard let value = try optionalInt64(i) else { return nil }
        guard let int = Int(exactly: value) else { throw corrupt(i, "is out of range") }
        return int
    }

    /// A flag kept as 0 or 1.
    public func bool(_ i: Int) throws -> Bool {
        switch try int64(i) {
        case 0: return false
        case 1: return true
        default: throw corrupt(i, "is not 0 or 1")
        }
    }

    public func bytes(_ i: Int) throws -> [UInt8] {
        guard let value = try optionalBytes(i) else { throw corrupt(i, "is NULL") }
        return value
    }

    public func timestamp(_ i: Int) throws -> Timestamp {
        guard let value = try optionalTimestamp(i) else { throw corrupt(i, "is NULL") }
        return value
    }

    public func optionalTimestamp(_ i: Int) throws -> Timestamp? {
        guard let text = try optionalString(i) else { return nil }
        guard let value = Timestamp(text) else { throw corrupt(i, "is not an RFC 3339 date-time") }
        return value
    }

    public func digest(_ i: Int) throws -> Digest {
        guard let value = Digest(try string(i)) else { throw corrupt(i, "is not a sha256: digest") }
        return value
    }

    public func json(_ i: Int) throws -> JSONValue {
        do { return try JSONParser().parse(try string(i)) } catch let error as JSONParseError { throw corrupt(i, "is not JSON (\(error))") }
    }

    /// Three columns from `i`: owner, kind, source id.
    public func recordKey(_ i: Int) throws -> RecordKey {
        RecordKey(owner: try string(i), kind: try string(i + 1), sourceId: try string(i + 2))
    }

    /// Three columns from `i`, or nil when the owner is NULL.
    public func optionalRecordKey(_ i: Int) throws -> RecordKey? {
        guard let owner = try optionalString(i) else { return nil }
        return RecordKey(owner: owner, kind: try string(i + 1), sourceId: try string(i + 2))
    }

    /// A value of a `String`-backed enum.
    public func value<E: RawRepresentable>(_ i: Int, as type: E.Type) throws -> E where E.RawValue == String {
        let text = try string(i)
        guard let value = E(rawValue: text) else { throw corrupt(i, "holds an unknown value") }
        return value
    }

    /// A record, from the columns of ``StoreColumns/record``: its state must decode and be the state of the row's key.
    public func storedRecord() throws -> StoredRecord {
        let key = try recordKey(0)
        let json = try json(3)
        let state: RecordState
        do {
            state = try RecordState(storedJSON: json)
        } catch {
            throw corrupt(3, "is not a stored record state (\(error))")
        }
        guard state.key == key else { throw corrupt(3, "holds the state of another record") }
        return StoredRecord(
            state: state, localSequence: try int64(4), source: try optionalString(5), previousSequence: try int64(6),
            madeHereSequence: try int64(7))
    }

    /// An outbound batch, from the columns of ``StoreColumns/batch`` (its record keys a JSON array of
    /// `[owner, kind, sourceId]`).
    public func outboundBatch() throws -> OutboundBatch {
        guard let list = try json(4).arrayValue else { throw corrupt(4, "is not a JSON array") }
        let keys = try list.map { value -> RecordKey in
            guard let parts = value.arrayValue?.compactMap(\.stringValue), parts.count == 3 else {
                throw corrupt(4, "holds an entry that is not [owner, kind, sourceId]")
            }
            return RecordKey(owner: parts[0], kind: parts[1], sourceId: parts[2])
        }
        return OutboundBatch(
            peer: try string(0), sequence: try int(1), batchId: try string(2), jws: try bytes(3), keys: keys,
            createdAt: try timestamp(5), state: try value(6, as: OutboundBatch.State.self), attempts: try int(7),
            nextAttemptAt: try timestamp(8), lastError: try optionalString(9), receipt: try optionalBytes(10))
    }

    /// A tracked correction, from the columns of ``StoreColumns/correction``.
    public func correctionTracking() throws -> CorrectionTracking {
        CorrectionTracking(
            key: try recordKey(0), statusVersion: try int(3), status: try value(5, as: RecordStatus.self),
            peer: try string(4), sentAt: try timestamp(6), acknowledgedAt: try optionalTimestamp(7))
    }

    /// An audit entry as stored, from the columns of ``StoreColumns/audit``. An altered detail may not even be JSON:
    /// it is kept as text, and the entry's hash will not match.
    public func auditEntry() throws -> AuditEntry {
        let text = try string(5)
        let detail = (try? JSONParser().parse(Array(text.utf8))) ?? .string(text)
        return AuditEntry(
            stored: try int64(0), at: try timestamp(1), actor: try string(2), action: try string(3),
            subject: try string(4), detail: detail, previous: try string(6), hash: try string(7))
    }
}
