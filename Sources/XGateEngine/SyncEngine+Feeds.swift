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
    public func feed(for subscriber: String, after cursor: String?, limit: Int = 500) async throws -> FeedPage {
        let position = try FeedCursor.position(cursor)
        return try await store.read { try await feedPage(for: subscriber, after: position, limit: limit, reader: $0).page }
    }

    /// Everything the subscriber may hold now, and the cursor from which the feed continues: read in one snapshot,
    /// so nothing falls between the snapshot and the feed. With a `limit`, the snapshot stops after that many
    /// changes (`hasMore`) and the feed continues from its cursor: a record changed meanwhile has moved past it.
    public func snapshot(for subscriber: String, limit: Int = .max) async throws -> FeedPage {
        try await store.read { try await snapshotPage(for: subscriber, limit: limit, reader: $0).page }
    }

    /// A feed page read through `reader` (a read snapshot, or the transaction that serves it), with the changes
    /// also as values: the log after `position`, through the one outbound rule.
    func feedPage(for subscriber: String, after position: Int64, limit: Int, reader: any StoreReader) async throws -> (
        page: FeedPage, changes: [Change]
    ) {
        let today = clock.now().chinaDate
        let filter = channelFilter(for: subscriber, today: today)
        var changes: [Change] = []
        var last = position
        var hasMore = false
        scan: while true {
            let page = try await reader.records(after: last, limit: limit, matching: filter)
            for stored in page {
                if changes.count == limit {
                    hasMore = true
                    break scan
                }
                if let change = try await outboundChange(stored, to: subscriber, at: last, today: today, reader: reader) { changes.append(change) }
                last = stored.localSequence
            }
            if page.count < limit {
                // Read to the end: the records after the last one matched nothing for this subscriber.
                last = await max(last, try reader.lastLocalSequence())
                break
            }
        }
        return (FeedPage(changes: changes.map(\.json), cursor: FeedCursor.encode(last), hasMore: hasMore), changes)
    }

    /// A snapshot read through `reader`, with the changes also as values: what the outbound rule gives the subscriber
    /// for every record held now — content it may hold, and the status of a record it held that is no longer shared —
    /// at most `limit` changes; when it stops early the cursor is the last record read, from which the feed continues.
    func snapshotPage(for subscriber: String, limit: Int = .max, reader: any StoreReader) async throws -> (page: FeedPage, changes: [Change]) {
        let today = clock.now().chinaDate
        let filter = channelFilter(for: subscriber, today: today)
        let end = try await reader.lastLocalSequence()
        var changes: [Change] = []
        var after: Int64 = 0
        scan: while after < end {
            let page = try await reader.records(after: after, limit: 1000, matching: filter)
            guard !page.isEmpty else { break }
            for stored in page {
                guard stored.localSequence <= end else { break scan }
                if changes.count == limit {
                    return (FeedPage(changes: changes.map(\.json), cursor: FeedCursor.encode(after), hasMore: true), changes)
                }
                after = stored.localSequence
                if let change = try await outboundChange(stored, to: subscriber, at: nil, today: today, reader: reader) { changes.append(change) }
            }
        }
        return (FeedPage(changes: changes.map(\.json), cursor: FeedCursor.encode(end), hasMore: false), changes)
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
