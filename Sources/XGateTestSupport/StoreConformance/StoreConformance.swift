import Testing
import XGateCore
import XGateJSON

/// The properties every `SyncStore` backend must have, written once and run against each backend (the SQLite store
/// on a temporary file, later the PostgreSQL store on a scratch database).
///
/// Each property is a static function taking a factory that returns a fresh, empty store; a property may call the
/// factory more than once. ``properties`` lists them all, for a parameterised test:
///
/// ```swift
/// @Test(arguments: StoreConformance.properties)
/// func conformance(_ property: StoreConformance.Property) async throws {
///     try await property.check { try SQLiteStore(path: scratch.newFile()) }
/// }
/// ```
///
/// Durability needs a way to close and reopen the same database, so it is a separate function:
/// ``dataSurvivesReopen(_:reopen:)``. Properties only check *that* a refused call throws, never the error type: each
/// backend has its own.
public enum StoreConformance {
    /// Makes a fresh, empty store.
    public typealias Factory = () async throws -> any SyncStore

    /// One named property, runnable against any backend: checked against the stores `Maker` makes (a ``Factory``
    /// of one store, or a ``TwinFactory`` of two over one database).
    public struct Check<Maker>: Sendable, CustomStringConvertible, CustomTestStringConvertible {
        /// The property's name, as test reports show it.
        public let name: String
        private let body: @Sendable (Maker) async throws -> Void

        /// Creates a property.
        public init(_ name: String, _ body: @escaping @Sendable (Maker) async throws -> Void) {
            self.name = name
            self.body = body
        }

        /// Checks the property against stores made by `make`.
        public func check(_ make: Maker) async throws { try await body(make) }

        public var description: String { name }
        public var testDescription: String { name }
    }

    /// A property of one store.
    public typealias Property = Check<Factory>

    /// Every property that needs only a factory (all but ``dataSurvivesReopen(_:reopen:)``).
    public static let properties: [Property] = [
        Property("an empty store holds nothing") { try await emptyStoreHoldsNothing($0) },
        Property("putRecord assigns strictly increasing local sequences, in feed order") { try await putRecordAssignsIncreasingSequences($0) },
        Property("a record's state reads back equal") { try await recordStateRoundTrips($0) },
        Property("putRecords, and history and lineage as lists, store as one by one in order; records(_:) reads the held") {
            try await listWritesAreOneByOneInOrder($0)
        },
        Property("conflictedRecords lists records with conflicts, latest first") { try await conflictedRecordsListsConflicts($0) },
        Property("history keeps every version, oldest first") { try await historyKeepsVersionsInOrder($0) },
        Property("channels read the log: kinds and decisions after a position, made-here records, source and previous sequence") {
            try await channelsReadTheLog($0)
        },
        Property("push positions are per peer and replaced; a position is not work") { try await pushPositionsAndBacklog($0) },
        Property("saveOutboundBatch takes only the channel's next sequence") { try await saveOutboundBatchRefusesOtherSequences($0) },
        Property("saveOutboundBatch keeps its records in order and advances the channel") { try await saveOutboundBatchKeepsItsRecords($0) },
        Property("updateOutboundBatch replaces the delivery state only") { try await updateOutboundBatchReplacesDeliveryState($0) },
        Property("pruneDeliveredBatches drops the signed bytes of batches delivered before a time, and nothing else") {
            try await pruneDeliveredBatchesDropsOnlyOldSignedBytes($0)
        },
        Property("resignOutboundBatch replaces a pending batch's bytes under the same sequence") {
            try await resignOutboundBatchKeepsTheSequence($0)
        },
        Property("peersWithWork lists peers with pending batches") { try await peersWithWorkListsPendingWork($0) },
        Property("saveInbox advances the expected sequence and keeps the receipt byte for byte") {
            try await saveInboxAdvancesAndKeepsReceipt($0)
        },
        Property("lineage keeps hops in order, by record and by batch; holders are its peers in both directions") {
            try await lineageAndHolders($0)
        },
        Property("setLineageOutcome sets only the matching outbound hop") { try await setLineageOutcomeIsTargeted($0) },
        Property("trackCorrection and acknowledgeCorrection are idempotent; an acknowledgement covers earlier versions") {
            try await correctionsAreIdempotent($0)
        },
        Property("unacknowledgedCorrections filters by time and acknowledgement") { try await unacknowledgedCorrectionsFilter($0) },
        Property("rejections come back newest first") { try await rejectionsNewestFirst($0) },
        Property("log filters by id and peer, in order, within the limit") { try await logFiltersAndOrders($0) },
        Property("feed positions round-trip and are overwritten") { try await feedPositionsRoundTrip($0) },
        Property("a lease is held until it expires, renewed by its holder, taken over after, released at once") {
            try await leasesAreHeldRenewedAndTakenOver($0)
        },
        Property("appendAudit chains entries 1, 2, 3 … and they verify; a rolled-back write leaves none") { try await auditLogChains($0) },
        Property("decisions reads one range of decision dates with department and first arrival") { try await decisionsOfAMonth($0) },
        Property("refusalsOfRecordsNotHeld gives each refused record not held once, at its first refusal") {
            try await refusalsOfRecordsNotHeld($0)
        },
        Property("activity samples read back in order from a time; same second replaces; old ones pruned") {
            try await activitySamplesAreKeptAndPruned($0)
        },
        Property("pending acknowledgements are per publisher, in order, once each; removing takes the ones named") {
            try await pendingAcknowledgementsPerPublisher($0)
        },
        Property("write is atomic: a body that throws leaves nothing behind") { try await writeIsAtomic($0) },
        Property("a refused call inside write rolls the whole write back when it propagates") { try await refusedCallRollsBack($0) },
        Property("a transaction reads its own writes; read sees what was committed") { try await readsSeeWrites($0) },
        Property("a store call inside a body of the same store is refused (store.nested), not a hang") {
            try await nestedCallsAreRefused($0)
        },
    ]
}

// MARK: - Fixtures

extension StoreConformance {
    /// The node that owns the sample records.
    public static let owner = "sh-xuhui"
    /// The city node, which may change any record's status.
    public static let city = "sh-city"
    /// The merge policy of the samples: the city may change any status.
    public static let policy = MergePolicy(cityNodes: [city], listKinds: ["dishonest-judgment-debtor"])
    /// 2026-11-20T09:00:00+08:00, the base of the sample timestamps.
    public static let base: Int64 = 1_795_136_400

    /// `base + offset` seconds, rendered in +08:00.
    public static func at(_ offset: Int64) -> Timestamp { Timestamp(seconds: base + offset) }

    /// The key of a sample penalty owned by ``owner``.
    public static func key(_ sourceId: String) -> RecordKey {
        RecordKey(owner: owner, kind: "administrative-penalty", sourceId: sourceId)
    }

    /// A sample content version (an administrative penalty with Chinese text).
    public static func content(_ sourceId: String, version: Int, fine: String) -> ContentVersion {
        ContentVersion(
            version: version, author: owner, at: "2026-11-0\(min(version, 9))T10:00:00+08:00",
            record: SampleRecords.penalty(sourceId: sourceId, fine: fine))
    }

    /// A sample status change; every change after the first gives a reason and a legal basis.
    public static func status(_ version: Int, _ value: RecordStatus, from: RecordStatus?, by author: String = owner) -> StatusChange {
        StatusChange(
            version: version, value: value, from: from, author: author, at: "2026-11-20T09:00:00+08:00",
            reason: from == nil ? nil : "经审核，当事人已履行行政处罚决定并完成信用修复", basis: from == nil ? nil : "《信用修复管理办法》第十二条")
    }

    /// A realistic merged state, built by ``Merge``: created at version 1, optionally with a concurrent content
    /// version (a conflict), optionally repaired by the city.
    public static func state(_ sourceId: String, fine: String = "2.5", conflicted: Bool = false, repaired: Bool = false) throws
        -> RecordState
    {
        let key = key(sourceId)
        var changes = [Change(key: key, content: content(sourceId, version: 1, fine: fine), status: status(1, .active, from: nil))]
        if conflicted {
            changes.append(
                Change(key: key, content: content(sourceId, version: 1, fine: fine + "1"), status: status(1, .active, from: nil)))
        }
        if repaired {
            changes.append(Change(key: key, content: nil, status: status(2, .repaired, from: .active, by: city)))
        }
        var state: RecordState?
        for change in changes { state = Merge.apply(change, to: state, policy: policy).0 }
        let result = try #require(state)
        try #require(result.conflicts.isEmpty == !conflicted)
        return result
    }

    /// Bytes that are not UTF-8, so a store that keeps them as text fails.
    public static func bytes(_ seed: UInt8, count: Int = 300) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
    }

    /// An outbound batch with non-UTF-8 "JWS" bytes, created at `base + sequence`.
    public static func batch(_ peer: String, sequence: Int, keys: [RecordKey], id: String? = nil) -> OutboundBatch {
        OutboundBatch(
            peer: peer, sequence: sequence, batchId: id ?? "01JD\(peer)-\(sequence)", jws: bytes(UInt8(truncatingIfNeeded: sequence)),
            keys: keys,
            createdAt: at(Int64(sequence)), nextAttemptAt: at(Int64(sequence) + 30))
    }

    /// An inbox entry with a non-UTF-8 receipt.
    public static func inbox(_ sender: String, sequence: Int, id: String? = nil) -> InboxEntry {
        InboxEntry(
            sender: sender, batchId: id ?? "01JE\(sender)-\(sequence)", sequence: sequence,
            payloadDigest: Digest(of: Array("payload \(sender) \(sequence)".utf8)),
            receipt: bytes(UInt8(truncatingIfNeeded: sequence) &+ 100),
            receivedAt: at(Int64(sequence)))
    }

    /// A lineage hop of a sample record; inbound hops carry the outcome `applied`.
    public static func hop(_ sourceId: String, _ peer: String, _ direction: LineageEntry.Direction, batch: String, at offset: Int64)
        -> LineageEntry
    {
        LineageEntry(
            key: key(sourceId), peer: peer, direction: direction, batchId: batch, contentVersion: 1, statusVersion: 1,
            outcome: direction == .inbound ? "applied" : nil, at: at(offset))
    }
}
