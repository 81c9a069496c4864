import XGateCore
import XGateJOSE
import XGateJSON

/// A received batch checked as far as it can be without the store: signature, key, sender, addressee, envelope and
/// every change judged on its own. Preparing needs no lock, so a node can prepare the next batch while the store
/// commits the previous one.
public struct PreparedBatch: Sendable {
    /// The node that signed the batch (its `from`).
    public let sender: String
    let inspection: BatchInspection
    let payloadDigest: Digest
    let receivedAt: Timestamp

    /// The batch's id, sequence, creation time and number of changes.
    public var batchId: String { inspection.batch.batchId }
    public var sequence: Int { inspection.batch.sequence }
    public var createdAt: Timestamp { inspection.batch.createdAt }
    public var changeCount: Int { inspection.entries.count }
}

extension SyncEngine {
    /// Receives a signed batch and returns the signed receipt: `commit(prepare(jws))`.
    public func receive(_ jwsBytes: [UInt8]) async throws -> [UInt8] {
        try await commit(prepare(jwsBytes))
    }

    /// Checks a signed batch without touching the store: the signature, key and sender, that it is addressed to this
    /// node, its envelope, and every change on its own (schema, record contract, identifiers, authorship, agreements).
    public func prepare(_ jwsBytes: [UInt8]) throws -> PreparedBatch {
        let now = clock.now()
        let verified: SignatureVerifier.Verified
        do {
            verified = try node.verifier.verifyBatch(JSONParser().parse(jwsBytes), now: now)
        } catch let error as BatchError {
            throw EngineError(code: error.code, message: error.message)
        } catch {
            throw EngineError(code: "jws.format", message: "the body is not JSON: \(error)")
        }
        guard verified.payload["to"]?.stringValue == node.id else {
            throw EngineError(
                code: "batch.misaddressed",
                message: "the batch is addressed to \(verified.payload["to"]?.stringValue ?? "nobody"), not \(node.id)")
        }
        do {
            let inspection = try node.contracts.inspect(batchPayload: verified.payload, federation: node.federation, today: now.chinaDate)
            return PreparedBatch(
                sender: verified.signer.id, inspection: inspection, payloadDigest: Digest(of: verified.payloadBytes), receivedAt: now)
        } catch {
            throw EngineError(code: error.code, message: error.message)
        }
    }

    /// Applies a prepared batch in ONE transaction and returns the signed receipt: a batch seen before gets the same
    /// receipt, byte for byte; a sequence gap is refused, naming the sequence expected; every accepted change is merged;
    /// history, lineage and rejections are written; changes are queued onward (the city); the receipt is signed and
    /// kept with the dedupe entry. A crash leaves all of it or none of it.
    public func commit(_ prepared: PreparedBatch) async throws -> [UInt8] {
        do {
            return try await store.write { tx in try await commit(prepared, in: tx) }
        } catch let error as EngineError where error.code == "sequence.gap" || error.code == "sequence.replayed" {
            // The refused batch's transaction rolled back; the log line is written on its own so operators see it.
            try await store.write { tx -> Void in
                try await tx.appendLog(
                    SyncLogEntry(
                        at: prepared.receivedAt, peer: prepared.sender, batchId: prepared.inspection.batch.batchId, event: error.code,
                        detail: error.message))
            }
            throw error
        }
    }

    func commit(_ prepared: PreparedBatch, in tx: any StoreTransaction) async throws -> [UInt8] {
        let sender = prepared.sender
        let now = prepared.receivedAt
        let payloadDigest = prepared.payloadDigest
        let inspection = prepared.inspection
        let batch = inspection.batch
        if let seen = try await tx.inboxEntry(sender: sender, batchId: batch.batchId) {
            guard seen.payloadDigest == payloadDigest else {
                throw EngineError(code: "batch.replayed", message: "batch \(batch.batchId) was received before with a different payload")
            }
            return seen.receipt
        }
        let expected = try await tx.expectedInboundSequence(from: sender)
        if batch.sequence > expected {
            throw EngineError(
                code: "sequence.gap",
                message: "sequence \(batch.sequence) from \(sender) arrived before \(expected); resend from \(expected)",
                retryable: true, expectedSequence: expected)
        }
        if batch.sequence < expected {
            throw EngineError(
                code: "sequence.replayed",
                message: "sequence \(batch.sequence) from \(sender) was already used by another batch; the next expected is \(expected)")
        }
        let outcomes = try await applyEntries(inspection.entries, from: sender, batchId: batch.batchId, at: now, in: tx)
        let receipt = Receipt(
            receiptId: random.batchID(at: now), batchId: batch.batchId, from: node.id, to: sender, sequence: batch.sequence,
            payloadDigest: payloadDigest, receivedAt: now, outcomes: outcomes)
        let signed = try JWS.sign(payload: receipt.json.serialized(), type: JWS.receiptType, key: node.signingKey).serialized()
        try await SyncEngine.keepReceipt(receipt, signed: signed, of: batch, from: sender, at: now, in: tx)
        return signed
    }

    /// Keeps the receipt of an applied batch: the inbox entry (a resend gets these bytes; the channel expects the
    /// next sequence), the sync log line and the audit entry. Part of `commit`; public for the benchmark's replica.
    public static func keepReceipt(
        _ receipt: Receipt, signed: [UInt8], of batch: BatchDocument, from sender: String, at now: Timestamp, in tx: any StoreTransaction
    ) async throws {
        try await tx.saveInbox(
            InboxEntry(
                sender: sender, batchId: batch.batchId, sequence: batch.sequence, payloadDigest: receipt.payloadDigest, receipt: signed,
                receivedAt: now))
        let summary = receipt.summary
        try await tx.appendLog(
            SyncLogEntry(
                at: now, peer: sender, batchId: batch.batchId, event: "batch.received",
                detail: "sequence \(batch.sequence): " + Receipt.summaryText(summary))
        )
        try await tx.appendAudit(
            at: now, actor: sender, action: "batch.received", subject: batch.batchId,
            detail: [
                "sequence": .number(Double(batch.sequence)), "payloadDigest": .string(receipt.payloadDigest.description),
                "outcomes": SyncEngine.summaryJSON(summary),
            ])
    }
}

extension SyncEngine {
    /// Applies the changes of an inspected batch (pushed, or a pulled feed page) from `sender`: a rejected change is
    /// kept with its reason; every other change is merged, routed onward and recorded in the lineage. Returns each
    /// change's outcome, in batch order.
    func applyEntries(_ entries: [BatchInspection.Entry], from sender: String, batchId: String, at now: Timestamp, in tx: any StoreTransaction) async
        throws -> [Receipt.Outcome]
    {
        // Every record the batch changes read in one call, merged in order (a record changed twice is merged with
        // its first change), written in one call per table.
        var held = try await tx.records(entries.compactMap { $0.rejection == nil ? $0.change?.key : nil }).mapValues(\.state)
        var writes = MergeWrites()
        var outcomes: [Receipt.Outcome] = []
        for entry in entries {
            if let rejection = entry.rejection {
                outcomes.append(Receipt.Outcome(index: entry.index, .rejected(rejection)))
                try await tx.appendRejection(
                    RejectionEntry(
                        peer: sender, batchId: batchId, index: entry.index, key: entry.change?.key, code: rejection.code,
                        field: rejection.field?.description, message: rejection.message, at: now))
                continue
            }
            guard let change = entry.change else { continue }
            let (outcome, after) = stage(change, held: held[change.key], source: sender, at: now, into: &writes)
            held[change.key] = after
            outcomes.append(Receipt.Outcome(index: entry.index, outcome))
            writes.lineage.append(
                LineageEntry(
                    key: change.key, peer: sender, direction: .inbound, batchId: batchId, contentVersion: change.content?.version,
                    statusVersion: change.status.version, outcome: outcome.name, at: now))
        }
        try await store(writes, in: tx)
        return outcomes
    }
}
