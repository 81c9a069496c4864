import XGateCore
import XGateJOSE
import XGateJSON

/// A feed page read for a subscriber and not yet recorded as served or signed (``SyncEngine/prepareFeedPage(to:after:limit:snapshot:)``).
public struct PreparedFeedPage: Sendable {
    public let subscriber: String
    public let pageId: String
    public let at: Timestamp
    /// The cursor asked after (nil for a snapshot or the start of the feed).
    public let after: String?
    /// Where that cursor stands in the log.
    let position: Int64
    public let snapshot: Bool
    public let page: FeedPage
    let changes: [Change]
    /// The last local sequence of the snapshot it was read from.
    let readThrough: Int64
}

/// What a subscriber did with one pulled feed page.
public struct PulledPage: Sendable, Equatable {
    /// Outcomes by name (applied, duplicate, stale, conflict, rejected).
    public var outcomes: [String: Int]
    /// The corrections (record, status version) that arrived and must be acknowledged to the publisher.
    public var corrections: [Acknowledgement]
    /// The cursor stored for the next pull.
    public var cursor: String
    /// Whether the publisher had more waiting.
    public var hasMore: Bool
}

extension SyncEngine {
    /// `typ` of a signed feed page (PROTOCOL.md §4.7) and of a signed acknowledgement of corrections (§4.8).
    public static let feedType = "xgate-feed+json"
    public static let acknowledgementType = "xgate-ack+json"

    /// Serves `subscriber` a signed feed page after `cursor` (or the first page of a snapshot of everything it may hold,
    /// which the feed continues from its cursor), and records in the lineage that each record went to it (so later
    /// corrections reach it): ``prepareFeedPage(to:after:limit:snapshot:)``, ``recordServed(_:)``, ``signed(_:)``.
    public func serveFeed(to subscriber: String, after cursor: String?, limit: Int, snapshot: Bool = false) async throws -> [UInt8] {
        let prepared = try await prepareFeedPage(to: subscriber, after: cursor, limit: limit, snapshot: snapshot)
        try await recordServed(prepared)
        return try signed(prepared)
    }

    /// A feed page for `subscriber`, read from a snapshot through the one outbound rule: neither recorded nor signed
    /// yet. Reading it needs no writer, so the pages of several subscribers answered at once (long polls woken by
    /// one correction) are read side by side; only ``recordServed(_:)`` takes the writer, briefly.
    public func prepareFeedPage(to subscriber: String, after cursor: String?, limit: Int, snapshot: Bool = false) async throws -> PreparedFeedPage {
        guard node.federation.peers[subscriber] != nil else {
            throw EngineError(code: "peer.unknown", message: "\(subscriber) is not in the registry")
        }
        guard configuration.pulledBy.contains(subscriber) else {
            throw EngineError(
                code: "feed.not-subscribed",
                message:
                    "\(node.id) pushes its records to \(subscriber) (POST /v1/batches at its endpoint); only the peers in its sync.pulledBy read its feed, so that a record reaches each peer by one path")
        }
        let now = clock.now()
        let position = snapshot ? 0 : try FeedCursor.position(cursor)
        let (page, changes, readThrough) = try await store.read { reader in
            let (page, changes) =
                await snapshot
                ? try snapshotPage(for: subscriber, limit: limit, reader: reader)
                : try feedPage(for: subscriber, after: position, limit: limit, reader: reader)
            return await (page, changes, try reader.lastLocalSequence())
        }
        return PreparedFeedPage(
            subscriber: subscriber, pageId: random.batchID(at: now), at: now, after: snapshot ? nil : cursor, position: position,
            snapshot: snapshot, page: page, changes: changes, readThrough: readThrough)
    }

    /// Records a prepared page as served, in one transaction, before it is given out: where the subscriber stands (it
    /// has applied everything before the cursor it asked after), a hop in the lineage for each change (so that later
    /// corrections reach it: a record on a page the subscriber never got is at worst corrected once too often), the
    /// sync log and the audit log.
    public func recordServed(_ prepared: PreparedFeedPage) async throws { try await recordServed([prepared]) }

    /// ``recordServed(_:)`` of several pages in one transaction (the pages one correction has several subscribers
    /// served at once: one commit instead of one each).
    public func recordServed(_ pages: [PreparedFeedPage]) async throws {
        try await store.write { tx in
            for prepared in pages { try await recordServed(prepared, in: tx) }
        }
    }

    func recordServed(_ prepared: PreparedFeedPage, in tx: any StoreTransaction) async throws {
        let subscriber = prepared.subscriber
        try await tx.setFeedPosition(subscriber: subscriber, feed: node.id, cursor: FeedCursor.encode(prepared.position))
        let changedSince = try await tx.lastLocalSequence() > prepared.readThrough
        try await tx.appendLineage(
            prepared.changes.map { change in
                LineageEntry(
                    key: change.key, peer: subscriber, direction: .outbound, batchId: prepared.pageId,
                    contentVersion: change.content?.version, statusVersion: change.status.version, outcome: "served", at: prepared.at)
            })
        for change in prepared.changes {
            // The page was read from a snapshot: a correction decided since then was tracked for the holders known at
            // its commit, before this hop made the subscriber one. It is owed to the subscriber too (it reaches it on
            // the next page: the record moved past the cursor).
            if changedSince, let version = try await tx.statusVersion(of: change.key), version > change.status.version,
                let current = try await tx.record(change.key), let owed = owedCorrection(current.state)
            {
                try await tx.trackCorrection(
                    CorrectionTracking(key: change.key, statusVersion: owed.version, status: owed.value, peer: subscriber, sentAt: prepared.at))
            }
        }
        let page = prepared.page
        guard !page.changes.isEmpty else { return }
        try await tx.appendLog(
            SyncLogEntry(
                at: prepared.at, peer: subscriber, batchId: prepared.pageId, event: prepared.snapshot ? "feed.snapshot" : "feed.served",
                detail: "\(page.changes.count) changes, cursor \(page.cursor)\(page.hasMore ? ", more waiting" : "")"))
        try await tx.appendAudit(
            at: prepared.at, actor: subscriber, action: "feed.served", subject: prepared.pageId,
            detail: [
                "changes": .number(Double(page.changes.count)), "cursor": .string(page.cursor), "snapshot": .bool(prepared.snapshot),
            ])
    }

    /// The signed page (JWS bytes), once recorded.
    public func signed(_ prepared: PreparedFeedPage) throws -> [UInt8] {
        let page = prepared.page
        let document = FeedPageDocument(
            pageId: prepared.pageId, from: node.id, to: prepared.subscriber, createdAt: prepared.at, after: prepared.after,
            snapshot: prepared.snapshot, cursor: page.cursor, hasMore: page.hasMore, changes: page.changes)
        return try JWS.sign(payload: document.json.serialized(), type: SyncEngine.feedType, key: node.signingKey).serialized()
    }

    /// The cursor this node has reached in `publisher`'s feed (nil: never pulled).
    public func feedCursor(of publisher: String) async throws -> String? {
        try await store.read { try await $0.feedPosition(subscriber: node.id, feed: publisher) }
    }

    /// Applies a signed feed page pulled from `publisher`: the signature and addressee are checked, every change is
    /// judged as in a pushed batch (schema, contract, authority, agreement), merged, and its lineage kept; the
    /// cursor is stored in the same transaction, so a crash between pages neither loses nor repeats anything.
    public func applyFeed(_ jwsBytes: [UInt8], from publisher: String) async throws -> PulledPage {
        let now = clock.now()
        let verified: SignatureVerifier.Verified
        do {
            verified = try node.verifier.verify(
                JSONParser().parse(jwsBytes), type: SyncEngine.feedType, signerField: "from", timeField: "createdAt", now: now)
        } catch let error as BatchError {
            throw EngineError(code: error.code, message: error.message)
        } catch {
            throw EngineError(code: "jws.format", message: "the feed page is not JSON: \(error)")
        }
        let payload = verified.payload
        guard verified.signer.id == publisher else {
            throw EngineError(code: "feed.publisher", message: "the page is signed by \(verified.signer.id), not \(publisher)")
        }
        guard payload["to"]?.stringValue == node.id else {
            throw EngineError(
                code: "batch.misaddressed", message: "the feed page is for \(payload["to"]?.stringValue ?? "nobody"), not \(node.id)")
        }
        // The page's envelope against urn:xgate:schema:feed-page:1; its changes are judged one by one below, as a batch's.
        let page: FeedPageDocument
        do {
            if case .object(var envelope) = payload, payload["changes"]?.arrayValue != nil {
                envelope["changes"] = .array([])
                try node.contracts.checkDocument(.object(envelope), against: ContractSet.feedPageSchema, code: "feed.schema")
            }
            page = try FeedPageDocument(json: payload)
        } catch {
            throw EngineError(code: error.code, message: error.message)
        }
        let pageId = page.pageId
        let cursor = page.cursor
        let hasMore = page.hasMore
        if page.changes.isEmpty {
            try await store.write { tx in try await tx.setFeedPosition(subscriber: node.id, feed: publisher, cursor: cursor) }
            return PulledPage(outcomes: [:], corrections: [], cursor: cursor, hasMore: hasMore)
        }
        // Judge the changes exactly as those of a pushed batch from the publisher (no batch is pretended: a page has no
        // channel sequence).
        let entries: [BatchInspection.Entry]
        do {
            entries = try node.contracts.inspect(feedPage: page, federation: node.federation, today: now.chinaDate)
        } catch {
            throw EngineError(code: error.code, message: error.message)
        }
        // The corrections that arrived (whatever their outcome, unless refused) are acknowledged to the publisher.
        let corrections = entries.compactMap { entry -> Acknowledgement? in
            guard entry.rejection == nil, let change = entry.change, change.status.from != nil,
                SyncEngine.corrections.contains(change.status.value)
            else { return nil }
            return Acknowledgement(key: change.key, statusVersion: change.status.version)
        }
        return try await store.write { tx in
            var outcomes: [String: Int] = [:]
            for outcome in try await applyEntries(entries, from: publisher, batchId: pageId, at: now, in: tx) {
                outcomes[outcome.outcome, default: 0] += 1
            }
            try await tx.setFeedPosition(subscriber: node.id, feed: publisher, cursor: cursor)
            // Kept with the page, so the acknowledgement survives a crash or a failed send until the publisher has it.
            try await tx.queueAcknowledgements(corrections, to: publisher)
            if !entries.isEmpty {
                try await tx.appendLog(
                    SyncLogEntry(
                        at: now, peer: publisher, batchId: pageId, event: "feed.pulled",
                        detail: outcomes.keys.sorted().map { "\($0) \(outcomes[$0]!)" }.joined(separator: ", ") + "; cursor \(cursor)"))
                try await tx.appendAudit(
                    at: now, actor: publisher, action: "feed.pulled", subject: pageId,
                    detail: ["outcomes": SyncEngine.summaryJSON(outcomes), "cursor": .string(cursor)])
            }
            return PulledPage(outcomes: outcomes, corrections: corrections, cursor: cursor, hasMore: hasMore)
        }
    }

    /// The corrections pulled from `publisher` whose acknowledgement it has not had yet (at most 10,000, the most one
    /// acknowledgement carries), and that acknowledgement signed; nil when none waits.
    public func pendingAcknowledgement(to publisher: String) async throws -> (items: [Acknowledgement], jws: [UInt8])? {
        let items = try await store.read { try await $0.pendingAcknowledgements(to: publisher, limit: 10_000) }
        guard !items.isEmpty else { return nil }
        return (items, try acknowledgement(of: items, to: publisher))
    }

    /// Forgets acknowledgements `publisher` has taken (its answer was 2xx).
    public func acknowledgementsDelivered(_ items: [Acknowledgement], to publisher: String) async throws {
        try await store.write { tx in try await tx.removeAcknowledgements(items, to: publisher) }
    }

    /// A signed acknowledgement to `publisher` that these corrections reached this node (sent by a subscriber after
    /// applying a pulled page; pushed corrections are acknowledged by the receipt).
    public func acknowledgement(of items: [Acknowledgement], to publisher: String) throws -> [UInt8] {
        let now = clock.now()
        let document = AcknowledgementDocument(
            ackId: random.batchID(at: now), from: node.id, to: publisher, createdAt: now, acknowledgements: items)
        return try JWS.sign(payload: document.json.serialized(), type: SyncEngine.acknowledgementType, key: node.signingKey).serialized()
    }

    /// Takes a holder's signed acknowledgement of corrections; returns how many tracked corrections it settled.
    public func receiveAcknowledgement(_ jwsBytes: [UInt8]) async throws -> (sender: String, acknowledged: Int) {
        let now = clock.now()
        let verified: SignatureVerifier.Verified
        do {
            verified = try node.verifier.verify(
                JSONParser().parse(jwsBytes), type: SyncEngine.acknowledgementType, signerField: "from", timeField: "createdAt", now: now)
        } catch let error as BatchError {
            throw EngineError(code: error.code, message: error.message)
        } catch {
            throw EngineError(code: "jws.format", message: "the acknowledgement is not JSON: \(error)")
        }
        let sender = verified.signer.id
        guard verified.payload["to"]?.stringValue == node.id else {
            throw EngineError(code: "batch.misaddressed", message: "the acknowledgement is for another node")
        }
        let document: AcknowledgementDocument
        do {
            try node.contracts.checkDocument(verified.payload, against: ContractSet.acknowledgementSchema, code: "ack.schema")
            document = try AcknowledgementDocument(json: verified.payload)
        } catch {
            throw EngineError(code: error.code, message: error.message)
        }
        let keys = document.acknowledgements
        return try await store.write { tx in
            var settled = 0
            for ack in keys {
                let tracked = try await tx.corrections(of: ack.key).filter {
                    $0.peer == sender && $0.statusVersion <= ack.statusVersion && $0.acknowledgedAt == nil
                }
                for correction in tracked {
                    try await tx.acknowledgeCorrection(key: ack.key, statusVersion: correction.statusVersion, peer: sender, at: now)
                    settled += 1
                }
            }
            try await tx.appendLog(
                SyncLogEntry(
                    at: now, peer: sender, batchId: document.ackId, event: "corrections.acknowledged",
                    detail: "\(keys.count) acknowledged by \(sender), \(settled) tracked corrections settled"))
            try await tx.appendAudit(
                at: now, actor: sender, action: "acknowledgement.received",
                subject: document.ackId,
                detail: ["acknowledgements": .number(Double(keys.count)), "settled": .number(Double(settled))])
            return (sender, settled)
        }
    }
}
