import XGateCore
import XGateJSON

/// A page of a pull feed.
public struct FeedPage: Sendable {
    /// The changes, as the subscriber may see them (masked per agreement); a record no longer served (repaired,
    /// revoked, expired, exited) comes as a status-only change so the subscriber withdraws it.
    public var changes: [JSONValue]
    /// The opaque cursor to pass next time.
    public var cursor: String
    /// Whether more changes were waiting when the page was cut.
    public var hasMore: Bool
}

extension SyncEngine {
    /// Reads the feed of `subscriber` after `cursor` (nil: from the start), at most `limit` changes. Ordered by this
    /// node's local sequence; resumable after any crash because the cursor is the position itself.
    public func feed(for subscriber: String, after cursor: String?, limit: Int = 500) throws -> FeedPage {
        let position = try FeedCursor.position(cursor)
        return try store.read { try feedPage(for: subscriber, after: position, limit: limit, reader: $0).page }
    }

    /// Everything the subscriber may hold now, and the cursor from which the feed continues: read in one snapshot,
    /// so nothing falls between the snapshot and the feed. With a `limit`, the snapshot stops after that many
    /// changes (`hasMore`) and the feed continues from its cursor: a record changed meanwhile has moved past it.
    public func snapshot(for subscriber: String, limit: Int = .max) throws -> FeedPage {
        try store.read { try snapshotPage(for: subscriber, limit: limit, reader: $0).page }
    }

    /// A feed page read through `reader` (a read snapshot, or the transaction that serves it), with the changes
    /// also as values.
    func feedPage(for subscriber: String, after position: Int64, limit: Int, reader: any StoreReader) throws -> (
        page: FeedPage, changes: [Change]
    ) {
        let today = clock.now().chinaDate
        var changes: [Change] = []
        var last = position
        var hasMore = false
        var after = position
        scan: while true {
            let page = try reader.records(after: after, limit: limit)
            guard !page.isEmpty else { break }
            for stored in page {
                if changes.count == limit {
                    hasMore = true
                    break scan
                }
                after = stored.localSequence
                last = stored.localSequence
                if let change = try feedChange(stored.state, for: subscriber, today: today, reader: reader) { changes.append(change) }
            }
        }
        return (FeedPage(changes: changes.map(\.json), cursor: FeedCursor.encode(last), hasMore: hasMore), changes)
    }

    /// A snapshot read through `reader`, with the changes also as values: at most `limit` changes; when it stops
    /// early the cursor is the last record read, from which the feed continues.
    func snapshotPage(for subscriber: String, limit: Int = .max, reader: any StoreReader) throws -> (page: FeedPage, changes: [Change]) {
        let today = clock.now().chinaDate
        let end = try reader.lastLocalSequence()
        var changes: [Change] = []
        var after: Int64 = 0
        scan: while after < end {
            let page = try reader.records(after: after, limit: 1000)
            guard !page.isEmpty else { break }
            for stored in page {
                guard stored.localSequence <= end else { break scan }
                if changes.count == limit {
                    return (FeedPage(changes: changes.map(\.json), cursor: FeedCursor.encode(after), hasMore: true), changes)
                }
                after = stored.localSequence
                if isServable(stored.state, today: today),
                    let change = try feedChange(stored.state, for: subscriber, today: today, reader: reader)
                {
                    changes.append(change)
                }
            }
        }
        return (FeedPage(changes: changes.map(\.json), cursor: FeedCursor.encode(end), hasMore: false), changes)
    }

    /// The change a subscriber sees for a record: content masked per agreement while it is served; a status-only
    /// change once it is not (for a subscriber the agreements cover, or one that held it); nothing otherwise.
    func feedChange(_ state: RecordState, for subscriber: String, today: CivilDate, reader: any StoreReader) throws -> Change? {
        guard subscriber != node.id, node.isRelay || state.content?.author == node.id || state.key.owner == node.id else { return nil }
        let subjectType = state.content?.record["subject"]?["type"]?.stringValue ?? ""
        let permission = node.federation.permission(
            from: node.id, to: subscriber, kind: state.key.kind, subjectType: subjectType, on: today)
        if isServable(state, today: today), let content = state.content, let permission {
            let (record, masked) = Federation.redact(content.record, permission: permission)
            var travelling = content
            travelling.record = record
            return Change(key: state.key, content: travelling, status: state.status, masked: masked)
        }
        let held = try reader.holders(of: state.key).contains(subscriber)
        guard permission != nil || held else { return nil }
        guard !state.status.value.isPublished else { return nil }  // served-by-rule expiry without a decision: withheld, not withdrawn
        return Change(key: state.key, content: nil, status: state.status)
    }
}

/// The feed cursor: opaque to subscribers (`v1.` + base64url of the local sequence), stable across restarts.
enum FeedCursor {
    static func encode(_ position: Int64) -> String { "v1." + Base64URL.encode(Array(String(position).utf8)) }

    static func position(_ cursor: String?) throws(EngineError) -> Int64 {
        guard let cursor else { return 0 }
        guard cursor.hasPrefix("v1."), let bytes = Base64URL.decode(String(cursor.dropFirst(3))),
            let position = Int64(String(decoding: bytes, as: UTF8.self)), position >= 0
        else { throw EngineError(code: "feed.cursor", message: "the cursor is not one this node issued") }
        return position
    }
}
