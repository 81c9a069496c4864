import XGateJSON

/// The payload of a signed feed page (`urn:xgate:schema:feed-page:1`, JWS `typ` `xgate-feed+json`): changes from a
/// publisher's log after a cursor, for one subscriber. Not a batch: it has no channel sequence, and its cursor is the
/// position to ask after next (PROTOCOL.md §4.7).
public struct FeedPageDocument: Sendable, Equatable {
    public var pageId: String
    /// The publisher, who signs.
    public var from: String
    /// The subscriber.
    public var to: String
    public var createdAt: Timestamp
    /// The cursor the page was asked after (nil: from the start, or a snapshot).
    public var after: String?
    /// Whether this is the first page of a snapshot.
    public var snapshot: Bool
    /// The cursor to ask after next.
    public var cursor: String
    /// Whether more changes were waiting when the page was cut.
    public var hasMore: Bool
    /// The changes, each judged on its own by the subscriber as a pushed batch's.
    public var changes: [JSONValue]

    public init(
        pageId: String, from: String, to: String, createdAt: Timestamp, after: String?, snapshot: Bool, cursor: String, hasMore: Bool,
        changes: [JSONValue]
    ) {
        self.pageId = pageId
        self.from = from
        self.to = to
        self.createdAt = createdAt
        self.after = after
        self.snapshot = snapshot
        self.cursor = cursor
        self.hasMore = hasMore
        self.changes = changes
    }

    /// Reads a page whose envelope was checked against the schema.
    public init(json: JSONValue) throws(BatchError) {
        guard json["protocol"]?.stringValue == BatchDocument.protocolName else {
            throw BatchError(code: "batch.protocol", message: "'protocol' must be \"\(BatchDocument.protocolName)\"")
        }
        guard let pageId = json["pageId"]?.stringValue, let from = json["from"]?.stringValue, let to = json["to"]?.stringValue,
            let createdAt = json["createdAt"]?.stringValue.flatMap({ Timestamp($0) }), let cursor = json["cursor"]?.stringValue,
            let snapshot = json["snapshot"]?.boolValue, let hasMore = json["hasMore"]?.boolValue, let changes = json["changes"]?.arrayValue
        else {
            throw BatchError(
                code: "feed.format", message: "a feed page needs pageId, from, to, createdAt, snapshot, cursor, hasMore and changes")
        }
        self.init(
            pageId: pageId, from: from, to: to, createdAt: createdAt, after: json["after"]?.stringValue, snapshot: snapshot, cursor: cursor,
            hasMore: hasMore, changes: changes)
    }

    /// The wire form, members in the schema's order.
    public var json: JSONValue {
        [
            "protocol": .string(BatchDocument.protocolName), "pageId": .string(pageId), "from": .string(from), "to": .string(to),
            "createdAt": .string(createdAt.text), "after": after.map(JSONValue.string) ?? .null, "snapshot": .bool(snapshot),
            "cursor": .string(cursor), "hasMore": .bool(hasMore), "changes": .array(changes),
        ]
    }
}

/// The payload of a signed acknowledgement (`urn:xgate:schema:acknowledgement:1`, JWS `typ` `xgate-ack+json`): the
/// corrections that reached a subscriber by pull, sent to their publisher (PROTOCOL.md §4.7).
public struct AcknowledgementDocument: Sendable, Equatable {
    /// The most acknowledgements in one document.
    public static let maximumItems = 10_000

    public var ackId: String
    /// The subscriber, who signs.
    public var from: String
    /// The publisher.
    public var to: String
    public var createdAt: Timestamp
    public var acknowledgements: [Acknowledgement]

    public init(ackId: String, from: String, to: String, createdAt: Timestamp, acknowledgements: [Acknowledgement]) {
        self.ackId = ackId
        self.from = from
        self.to = to
        self.createdAt = createdAt
        self.acknowledgements = acknowledgements
    }

    /// Reads an acknowledgement whose payload was checked against the schema.
    public init(json: JSONValue) throws(BatchError) {
        guard json["protocol"]?.stringValue == BatchDocument.protocolName else {
            throw BatchError(code: "batch.protocol", message: "'protocol' must be \"\(BatchDocument.protocolName)\"")
        }
        guard let ackId = json["ackId"]?.stringValue, let from = json["from"]?.stringValue, let to = json["to"]?.stringValue,
            let createdAt = json["createdAt"]?.stringValue.flatMap({ Timestamp($0) }), let items = json["acknowledgements"]?.arrayValue,
            items.count <= Self.maximumItems
        else {
            throw BatchError(
                code: "ack.format",
                message: "an acknowledgement needs ackId, from, to, createdAt and at most \(Self.maximumItems) acknowledgements")
        }
        var acknowledgements: [Acknowledgement] = []
        for (index, item) in items.enumerated() {
            guard let owner = item["owner"]?.stringValue, let kind = item["kind"]?.stringValue, let sourceId = item["sourceId"]?.stringValue,
                let version = item["statusVersion"]?.intValue, version >= 1
            else {
                throw BatchError(code: "ack.format", message: "acknowledgements[\(index)] needs owner, kind, sourceId and statusVersion ≥ 1")
            }
            acknowledgements.append(Acknowledgement(key: RecordKey(owner: owner, kind: kind, sourceId: sourceId), statusVersion: version))
        }
        self.init(ackId: ackId, from: from, to: to, createdAt: createdAt, acknowledgements: acknowledgements)
    }

    /// The wire form.
    public var json: JSONValue {
        [
            "protocol": .string(BatchDocument.protocolName), "ackId": .string(ackId), "from": .string(from), "to": .string(to),
            "createdAt": .string(createdAt.text),
            "acknowledgements": .array(
                acknowledgements.map {
                    [
                        "owner": .string($0.key.owner), "kind": .string($0.key.kind), "sourceId": .string($0.key.sourceId),
                        "statusVersion": .number(Double($0.statusVersion)),
                    ]
                }),
        ]
    }
}
