import XGateCore
import XGateJOSE
import XGateJSON

extension SyncEngine {
    /// The first batch of `peer`'s window (``window(to:)``), if any: the oldest undelivered one when its retry time has
    /// come (resent byte for byte), else a new one made from the log. The same rule as a push round, for tools and tests.
    public func nextBatch(to peer: String) async throws -> OutboundBatch? { try await window(to: peer).first }

    /// The batches to send `peer` now, its window, in one transaction: the channel's pending batches from the lowest,
    /// as long as each is due (a batch waiting out its backoff holds back those after it: the receiver applies them in
    /// order), and — while no batch of the channel is being retried — new ones made from the log until
    /// `configuration.window` are in flight. A dead batch stops the channel. Empty when nothing is due.
    public func window(to peer: String) async throws -> [OutboundBatch] {
        try await batches(to: peer, madeUpTo: configuration.window)
    }

    /// Makes the batches that follow `peer`'s window while it is in flight (up to a second window of pending batches),
    /// under the same rule as ``window(to:)``: signed and saved, so the next round sends them at once instead of the
    /// receiver waiting while the sender reads, encodes and signs. Nothing is made while a batch is being retried.
    public func prefetch(to peer: String) async throws {
        _ = try await batches(to: peer, madeUpTo: 2 * configuration.window)
    }

    /// The due pending batches of `peer`, first of all, up to a window of them, after making new ones from the log
    /// until `depth` are pending (only while none is being retried).
    func batches(to peer: String, madeUpTo depth: Int) async throws -> [OutboundBatch] {
        let now = clock.now()
        return try await store.write { tx in
            if try await !tx.outboundBatches(peer: peer, state: .dead).isEmpty { return [] }
            var pending = try await tx.outboundBatches(peer: peer, state: .pending)
            if let first = pending.first, first.nextAttemptAt > now { return [] }
            var due = Array(pending.prefix { $0.nextAttemptAt <= now })
            if pending.allSatisfy({ $0.attempts == 0 }) {
                while pending.count < depth, let made = try await makeBatch(to: peer, at: now, in: tx) {
                    pending.append(made)
                    due.append(made)
                }
            }
            return Array(due.prefix(configuration.window))
        }
    }

    /// A new batch for `peer`, made now from its channel's position in the log through the one outbound rule, signed,
    /// with the channel's next sequence, its lineage and log line; the position moves past every record looked at,
    /// in the same transaction (nil when nothing is to be sent; the position may still have moved). Records carried
    /// over from the outbox of an older store (its backlog) go first.
    func makeBatch(to peer: String, at now: Timestamp, in tx: any StoreTransaction) async throws -> OutboundBatch? {
        let today = now.chinaDate
        let limit = configuration.maximumChangesPerBatch
        var changes: [Change] = []
        var encoded: [[UInt8]] = []  // each change serialised once: measured here, spliced into the payload below
        var bytes = 512
        /// Adds a change if the batch has room for it.
        func fits(_ change: Change) -> Bool {
            let serialized = change.json.serialized()
            let size = serialized.count + 1
            if !changes.isEmpty && bytes + size > configuration.maximumBatchBytes { return false }
            bytes += size
            changes.append(change)
            encoded.append(serialized)
            return true
        }
        var full = false
        let backlog = try await tx.backlog(peer: peer, limit: limit)
        var taken: [RecordKey] = []
        for key in backlog {
            if let stored = try await tx.record(key), let change = try await outboundChange(stored, to: peer, at: nil, today: today, reader: tx) {
                guard fits(change) else {
                    full = true
                    break
                }
            }
            taken.append(key)
        }
        try await tx.removeBacklog(peer: peer, keys: taken)
        let start = try await tx.pushPositions()[peer] ?? 0
        var position = start
        let filter = channelFilter(for: peer, today: today)
        scan: while !full && changes.count < limit {
            let page = try await tx.records(after: position, limit: 500, matching: filter)
            for stored in page {
                if changes.count == limit { break scan }
                if let change = try await outboundChange(stored, to: peer, at: position, today: today, reader: tx), !fits(change) { break scan }
                position = stored.localSequence
            }
            if page.count < 500 {
                // Read to the end: nothing after the last record matched this channel.
                position = await max(position, try tx.lastLocalSequence())
                break
            }
        }
        if position != start { try await tx.setPushPosition(peer: peer, position: position) }
        guard !changes.isEmpty else { return nil }
        let sequence = try await tx.nextOutboundSequence(peer: peer)
        let document = BatchDocument(batchId: random.batchID(at: now), from: node.id, to: peer, sequence: sequence, createdAt: now, changes: [])
        let jws = try JWS.sign(payload: document.serialized(changes: encoded), type: JWS.batchType, key: node.signingKey)
        let batch = OutboundBatch(
            peer: peer, sequence: sequence, batchId: document.batchId, jws: jws.serialized(), keys: changes.map(\.key),
            createdAt: now, nextAttemptAt: now)
        try await tx.saveOutboundBatch(batch)
        try await tx.appendLineage(
            changes.map { change in
                LineageEntry(
                    key: change.key, peer: peer, direction: .outbound, batchId: document.batchId, contentVersion: change.content?.version,
                    statusVersion: change.status.version, outcome: nil, at: now)
            })
        try await tx.appendLog(
            SyncLogEntry(
                at: now, peer: peer, batchId: document.batchId, event: "batch.created",
                detail: "sequence \(sequence), \(changes.count) changes"))
        return batch
    }

    /// Takes a peer's receipt for a batch: checks its signature and that it answers exactly this batch, then marks the
    /// batch delivered, records each change's outcome in the lineage, acknowledges corrections, and keeps rejections.
    public func accept(receipt bytes: [UInt8], for batch: OutboundBatch) async throws {
        let now = clock.now()
        let receipt: Receipt
        let verified: SignatureVerifier.Verified
        do {
            verified = try node.verifier.verifyReceipt(JSONParser().parse(bytes), now: now)
            receipt = try Receipt(json: verified.payload)
        } catch let error as BatchError {
            throw EngineError(code: error.code, message: "the receipt from \(batch.peer) is not valid: \(error.message)", retryable: true)
        } catch {
            throw EngineError(code: "receipt.format", message: "the receipt from \(batch.peer) is not JSON", retryable: true)
        }
        let sent = try JWS.parse(JSONParser().parse(batch.jws), expectedType: JWS.batchType)
        guard verified.signer.id == batch.peer, receipt.batchId == batch.batchId, receipt.sequence == batch.sequence,
            receipt.payloadDigest == Digest(of: sent.payload)
        else {
            throw EngineError(
                code: "receipt.mismatch", message: "the receipt does not answer batch \(batch.batchId) to \(batch.peer)", retryable: true)
        }
        try await store.write { tx in
            guard var current = try await tx.outboundBatch(peer: batch.peer, sequence: batch.sequence), current.batchId == batch.batchId else {
                return
            }
            if current.state == .delivered { return }
            current.state = .delivered
            current.receipt = bytes
            current.lastError = nil
            try await tx.updateOutboundBatch(current)
            try await tx.recordDelivery(peer: current.peer, sequence: current.sequence, at: now)
            // Outcome i answers change i of the batch as sent: its record, and (from the hop kept when it was made) the
            // status version it carried; read from the payload only for a batch without hops (made by an older store).
            var sentChanges: [JSONValue]?
            for outcome in receipt.outcomes where outcome.index >= 0 && outcome.index < current.keys.count {
                let key = current.keys[outcome.index]
                var sentVersion = try await tx.setLineageOutcome(peer: batch.peer, batchId: batch.batchId, key: key, outcome: outcome.outcome)
                if sentVersion == nil {
                    if sentChanges == nil { sentChanges = (try? JSONParser().parse(sent.payload))?["changes"]?.arrayValue ?? [] }
                    sentVersion = sentChanges.flatMap { outcome.index < $0.count ? $0[outcome.index]["status"]?["version"]?.intValue : nil }
                }
                if outcome.outcome == "rejected" {
                    try await tx.appendRejection(
                        RejectionEntry(
                            peer: batch.peer, batchId: batch.batchId, index: outcome.index, key: key, code: outcome.code ?? "rejected",
                            field: outcome.field, message: outcome.message ?? "", at: now))
                } else if let version = sentVersion {
                    // The holder now has this status version, and so every decision before it.
                    try await tx.acknowledgeCorrection(key: key, statusVersion: version, peer: batch.peer, at: now)
                }
            }
            let summary = receipt.summary
            try await tx.appendLog(
                SyncLogEntry(
                    at: now, peer: batch.peer, batchId: batch.batchId, event: "batch.delivered",
                    detail: "sequence \(batch.sequence): " + Receipt.summaryText(summary)))
            try await tx.appendAudit(
                at: now, actor: node.id, action: "batch.delivered", subject: batch.batchId,
                detail: [
                    "peer": .string(batch.peer), "sequence": .number(Double(batch.sequence)), "outcomes": SyncEngine.summaryJSON(summary),
                ])
        }
    }

    /// Records a failed attempt: the next attempt after a backoff with jitter, or dead after too many attempts, too
    /// long, or an error that no retry can fix. A `sequence.gap` answer makes the channel resend from the sequence
    /// the peer expects.
    public func failed(_ batch: OutboundBatch, error: EngineError) async throws {
        let now = clock.now()
        try await store.write { tx in
            guard var current = try await tx.outboundBatch(peer: batch.peer, sequence: batch.sequence), current.state == .pending else { return }
            if error.code == "sequence.gap", let expected = error.expectedSequence, expected >= 1, expected < current.sequence {
                // The peer lost batches it had acknowledged (a restore): send them again, in order — unless one of
                // them is dead, which stays for an operator (the failure below is counted instead).
                var earlier: [OutboundBatch] = []
                for sequence in expected..<current.sequence {
                    if let found = try await tx.outboundBatch(peer: batch.peer, sequence: sequence) { earlier.append(found) }
                }
                if earlier.count == current.sequence - expected, !earlier.contains(where: { $0.state == .dead }) {
                    for var resend in earlier {
                        resend.state = .pending
                        resend.nextAttemptAt = now
                        try await tx.updateOutboundBatch(resend)
                        if resend.jws.isEmpty {
                            // Its signed bytes were dropped after delivery (engine.sentBatchRetentionSeconds): the same
                            // records, as they stand now and through the outbound rule, signed again as a new batch
                            // under the same sequence (the merge takes a newer state over the one first sent).
                            let today = now.chinaDate
                            var keys: [RecordKey] = []
                            var changes: [JSONValue] = []
                            for key in resend.keys {
                                // The peer held the record (it was in this batch): at least its status goes.
                                guard let stored = try await tx.record(key),
                                    let change = try await outboundChange(stored, to: batch.peer, at: nil, today: today, reader: tx)
                                        ?? statusToCarry(stored.state).map({ Change(key: key, content: nil, status: $0) })
                                else { continue }
                                keys.append(key)
                                changes.append(change.json)
                            }
                            guard !changes.isEmpty else {
                                throw EngineError(code: "store.inconsistent", message: "batch \(resend.sequence) to \(batch.peer) has no record left to send")
                            }
                            let document = BatchDocument(
                                batchId: random.batchID(at: now), from: node.id, to: batch.peer, sequence: resend.sequence, createdAt: now,
                                changes: changes)
                            let oldBatchId = resend.batchId
                            resend.batchId = document.batchId
                            resend.keys = keys
                            resend.jws = try JWS.sign(payload: document.json.serialized(), type: JWS.batchType, key: node.signingKey)
                                .serialized()
                            try await tx.resignOutboundBatch(resend, replacing: oldBatchId)
                        }
                    }
                    try await tx.appendLog(
                        SyncLogEntry(
                            at: now, peer: batch.peer, batchId: batch.batchId, event: "sequence.gap",
                            detail: "peer expects \(expected); resending from there"))
                    return
                }
            }
            if error.code == "batch.outside-window", try await resign(current, at: now, after: error, in: tx) { return }
            current.attempts += 1
            current.lastError = error.description
            let age = now.seconds - current.createdAt.seconds
            if !error.retryable || current.attempts >= configuration.deadLetterAttempts || age >= configuration.deadLetterAgeSeconds {
                current.state = .dead
                try await tx.updateOutboundBatch(current)
                try await tx.appendLog(
                    SyncLogEntry(
                        at: now, peer: batch.peer, batchId: batch.batchId, event: "batch.dead",
                        detail: "after \(current.attempts) attempts over \(age) s: \(error.description)"))
                return
            }
            let delay = configuration.retry.delay(afterAttempt: current.attempts, unit: random.unit())
            current.nextAttemptAt = Timestamp(seconds: now.seconds + Int64(delay.rounded(.up)))
            try await tx.updateOutboundBatch(current)
            try await tx.appendLog(
                SyncLogEntry(
                    at: now, peer: batch.peer, batchId: batch.batchId, event: "batch.failed",
                    detail: "attempt \(current.attempts): \(error.description); next attempt at \(current.nextAttemptAt)"))
        }
    }

    /// Signs a pending batch's changes again as a new batch (new id and time, the same sequence and items).
    func resign(_ batch: OutboundBatch, at now: Timestamp, after error: EngineError, in tx: any StoreTransaction) async throws -> Bool {
        let old = try BatchDocument(json: JSONParser().parse(JWS.parse(JSONParser().parse(batch.jws), expectedType: JWS.batchType).payload))
        // A batch signed within the hour cannot be outside any sane window: the clocks disagree. Signing again would
        // be refused again; the attempt counts as a failure and the error says to check the clocks.
        guard abs(now.seconds - old.createdAt.seconds) > 3600 else { return false }
        let document = BatchDocument(
            batchId: random.batchID(at: now), from: node.id, to: batch.peer, sequence: batch.sequence, createdAt: now, changes: old.changes)
        var again = batch
        again.batchId = document.batchId
        again.jws = try JWS.sign(payload: document.json.serialized(), type: JWS.batchType, key: node.signingKey).serialized()
        // The stored creation time stays the first one: the dead-letter age counts from it. The attempt counts.
        again.attempts += 1
        again.lastError = error.description
        let age = now.seconds - batch.createdAt.seconds
        if again.attempts >= configuration.deadLetterAttempts || age >= configuration.deadLetterAgeSeconds {
            return false
        }
        let delay = configuration.retry.delay(afterAttempt: again.attempts, unit: random.unit())
        again.nextAttemptAt = Timestamp(seconds: now.seconds + Int64(delay.rounded(.up)))
        try await tx.resignOutboundBatch(again, replacing: batch.batchId)
        try await tx.appendLineage(
            old.changes.compactMap { change in
                guard let owner = change["key"]?["owner"]?.stringValue, let kind = change["key"]?["kind"]?.stringValue,
                    let sourceId = change["key"]?["sourceId"]?.stringValue
                else { return nil }
                return LineageEntry(
                    key: RecordKey(owner: owner, kind: kind, sourceId: sourceId), peer: batch.peer, direction: .outbound,
                    batchId: document.batchId, contentVersion: change["content"]?["version"]?.intValue,
                    statusVersion: change["status"]?["version"]?.intValue ?? 0, outcome: nil, at: now)
            })
        try await tx.appendLog(
            SyncLogEntry(
                at: now, peer: batch.peer, batchId: document.batchId, event: "batch.resigned",
                detail:
                    "sequence \(batch.sequence): \(batch.batchId) refused as outside the receiver's window; signed again as \(document.batchId)"
            ))
        return true
    }

    /// Puts a dead batch back in line (an operator's decision), attempts reset.
    public func requeue(peer: String, sequence: Int) async throws {
        let now = clock.now()
        try await store.write { tx in
            guard var batch = try await tx.outboundBatch(peer: peer, sequence: sequence), batch.state == .dead else {
                throw EngineError(code: "batch.not-dead", message: "no dead batch \(sequence) to \(peer)")
            }
            batch.state = .pending
            batch.attempts = 0
            batch.nextAttemptAt = now
            try await tx.updateOutboundBatch(batch)
            try await tx.appendLog(
                SyncLogEntry(
                    at: now, peer: peer, batchId: batch.batchId, event: "batch.requeued",
                    detail: "sequence \(sequence) requeued by an operator"))
            try await tx.appendAudit(
                at: now, actor: "operator", action: "batch.requeued", subject: batch.batchId,
                detail: ["peer": .string(peer), "sequence": .number(Double(sequence))])
        }
    }

    /// What one delivery round did.
    public struct PushRound: Sendable {
        /// A batch that was sent and failed, with the failure kept with it (retry later, or dead).
        public struct Failure: Sendable {
            public var batch: OutboundBatch
            public var error: EngineError
        }

        /// Batches delivered, their receipts taken, in sequence order.
        public var delivered: [OutboundBatch] = []
        /// Batches that failed, in sequence order.
        public var failed: [Failure] = []

        /// Nothing was due, or the peer's circuit is open.
        public var isIdle: Bool { delivered.isEmpty && failed.isEmpty }
    }

    /// One delivery round to one peer: its window (``window(to:)``) sent at once through `transport`, then, in sequence
    /// order, each receipt taken or each failure kept. A `sequence.gap` naming a batch of the same window is the
    /// receiver having seen them out of order: that batch goes again next round, no attempt counted. The store work
    /// runs on `executor`: a daemon passes its writer thread, so that blocking SQLite calls never hold a thread of the
    /// async runtime.
    public func push(
        to peer: String, transport: any PeerTransport, breaker: inout CircuitBreaker, executor: any StoreExecutor = InlineExecutor()
    ) async throws -> PushRound {
        guard breaker.allowsRequest(now: clock.now()) else { return PushRound() }
        let batches = try await executor.write { try await self.window(to: peer) }
        guard !batches.isEmpty else { return PushRound() }
        // While the window is at the receiver, the next one is made here (prefetch), so that neither end waits for
        // the other's work; made batches are saved, and a failure to make them only leaves them for the next round.
        async let sent = transport.push(window: batches.map(\.jws), to: peer)
        if batches.allSatisfy({ $0.attempts == 0 }) {
            _ = try? await executor.write { try await self.prefetch(to: peer) }
        }
        let answers = await sent
        var round = PushRound()
        for (batch, answer) in zip(batches, answers) {
            let failure: EngineError
            switch answer {
            case .success(let receipt):
                do {
                    try await executor.write { try await self.accept(receipt: receipt, for: batch) }
                    round.delivered.append(batch)
                    continue
                } catch let error as EngineError {
                    failure = error
                }
            case .failure(let error as EngineError):
                failure = error
            case .failure(is CancellationError):
                continue  // the node is stopping: not a failed attempt; the batch stays pending as it was
            case .failure(let error):
                failure = EngineError(code: "transport.failed", message: "\(error)", retryable: true)
            }
            if failure.code == "sequence.gap", let expected = failure.expectedSequence, batches.contains(where: { $0.sequence == expected }) {
                continue
            }
            round.failed.append(PushRound.Failure(batch: batch, error: failure))
        }
        for failure in round.failed {
            let kept = failure
            try await executor.write { try await self.failed(kept.batch, error: kept.error) }
        }
        if !round.delivered.isEmpty {
            breaker.recordSuccess()
        } else if !round.failed.isEmpty {
            breaker.recordFailure(now: clock.now())
        }
        return round
    }

    /// `push`, answering only whether a batch was delivered.
    @discardableResult
    public func pushOnce(to peer: String, transport: any PeerTransport, breaker: inout CircuitBreaker) async throws -> Bool {
        !(try await push(to: peer, transport: transport, breaker: &breaker).delivered.isEmpty)
    }

    /// Waits, at most `patience`, until `prepared` is the batch its channel expects next: a sender with several batches
    /// in flight may have a later one arrive first. Returns at once when it is, or when it is older (`commit` answers a
    /// resend with its receipt, or refuses a reused sequence); after `patience`, `commit` refuses it with
    /// `sequence.gap`, naming the sequence expected.
    public func awaitTurn(of prepared: PreparedBatch, patience: Duration, executor: any StoreExecutor = InlineExecutor()) async throws {
        let deadline = ContinuousClock.now + patience
        let store = self.store
        while true {
            let expected = try await executor.read { try await store.read { try await $0.expectedInboundSequence(from: prepared.sender) } }
            if prepared.sequence <= expected || ContinuousClock.now >= deadline { return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Where the engine's blocking store work runs when it is called from async code.
public protocol StoreExecutor: Sendable {
    /// Runs `body`, a store write, and returns its result.
    func write<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T
    /// Runs `body`, a store read (readers run beside the writer), and returns its result.
    func read<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T
}

/// Runs store work on the calling task (tests, tools).
public struct InlineExecutor: StoreExecutor {
    public init() {}
    public func write<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T { try await body() }
    public func read<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T { try await body() }
}

extension SyncEngine {
    /// A receipt's counts by outcome, for the audit log.
    static func summaryJSON(_ summary: [String: Int]) -> JSONValue {
        .object(JSONObject(Receipt.outcomeNames.map { ($0, .number(Double(summary[$0] ?? 0))) }))
    }
}
