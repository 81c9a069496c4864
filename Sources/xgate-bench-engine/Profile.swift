// Where the time of `receive` goes: a step-by-step replica of SyncEngine.receive = commit(prepare(jws))
// (SyncEngine+Inbound.swift, with apply/appendHistory from SyncEngine(+Local).swift and route from
// SyncEngine+Routing.swift) through the same public
// APIs and the same store transaction, with a timer around each step. Its total is printed next to the engine's own
// figure: when they agree, the split is a faithful picture of the engine.
import Foundation
import XGateCore
import XGateEngine
import XGateJOSE
import XGateJSON
import XGateSQLite

enum Phase: Int, CaseIterable {
    case envelopeParse, jwsDecode, signature, payloadParse, payloadDigest, inspect, merge, route, receipt
    case sqlLookups, sqlRecords, sqlHistory, sqlLineage, sqlInboxLog, commit

    var title: String {
        switch self {
        case .envelopeParse: return "parse the JWS envelope (JSON)"
        case .jwsDecode: return "JWS.parse (base64url-decode payload)"
        case .signature: return "Ed25519 verify"
        case .payloadParse: return "parse the payload (JSON)"
        case .payloadDigest: return "SHA-256 of the payload"
        case .inspect: return "inspect (schemas, ids, authority, agreements)"
        case .merge: return "Merge.apply"
        case .route: return "corrections owed (none for a new record; nothing queued)"
        case .receipt: return "receipt: build + serialize + sign"
        case .sqlLookups: return "SQLite: look-ups (inbox, channel, record)"
        case .sqlRecords: return "SQLite: records upsert (incl. state JSON)"
        case .sqlHistory: return "SQLite: 2 history rows (incl. JSON text)"
        case .sqlLineage: return "SQLite: lineage row"
        case .sqlInboxLog: return "SQLite: inbox (receipt) + channel + log"
        case .commit: return "SQLite: COMMIT (WAL append, checkpoints)"
        }
    }

    var isStorage: Bool { rawValue >= Phase.sqlLookups.rawValue }
    /// Part of `prepare` (no store, no lock: can run on another core while the previous batch commits).
    var isPrepare: Bool { rawValue <= Phase.inspect.rawValue }
}

/// Accumulated seconds per phase.
final class PhaseTimes {
    var seconds = [Double](repeating: 0, count: Phase.allCases.count)
    private var mark = now()

    func start() { mark = now() }
    /// Charges the time since the last mark to `phase` and moves the mark.
    func charge(_ phase: Phase) {
        let t = now()
        seconds[phase.rawValue] += t - mark
        mark = t
    }
    var total: Double { seconds.reduce(0, +) }
    subscript(_ phase: Phase) -> Double { seconds[phase.rawValue] }
}

struct ProfileResult {
    var times: PhaseTimes
    var wallSeconds: Double
    var records: Int
    /// Extra passes, outside the total: how much of `inspect` the per-record checks take, and the JSON serialisation
    /// of what the SQL steps bind (state, history values, relayed changes).
    var extras: [Extra: Double]

    /// Separate passes over the same batch, outside the total, that split a phase further.
    enum Extra: CaseIterable {
        case batchSchema, changeDecode, recordChecks, bindText

        var title: String {
            switch self {
            case .batchSchema: return "inspect, part: the batch schema alone (validator.validate(payload))"
            case .changeDecode: return "inspect, part: Change(json:) for every change"
            case .recordChecks: return "inspect, part: per-record checks (issues(inRecord:): record schema, ids)"
            case .bindText: return "SQLite, part: JSON text of state + history values (serializedString)"
            }
        }
    }
}

enum Profile {
    static func run(receiver: String, batches: [[UInt8]], workload: Workload, directory: String, name: String) async throws -> ProfileResult {
        let database = directory + "/\(name).sqlite"
        Ceiling.removeDatabase(database)
        let store = try SQLiteStore(path: database)
        let node = try NodeContext(
            id: receiver, signingKey: workload.keys[receiver]!, federation: workload.federation, contracts: workload.contracts)
        let verifier = SignatureVerifier(federation: workload.federation)
        let policy = workload.policy
        let random = SeededRandom(seed: 42)
        let now = workload.receivedAt
        let times = PhaseTimes()
        var extras = [ProfileResult.Extra: Double]()
        guard let batchValidator = node.contracts.validator(for: ContractSet.batchSchema) else { fail("no batch schema") }
        func extra(_ which: ProfileResult.Extra, _ body: () throws -> Void) rethrows {
            let t0 = benchNow()
            try body()
            extras[which, default: 0] += benchNow() - t0
        }
        let wallStart = benchNow()
        for jwsBytes in batches {
            times.start()
            let envelope = try JSONParser().parse(jwsBytes)
            times.charge(.envelopeParse)
            let parsed = try JWS.parse(envelope, expectedType: JWS.batchType)
            guard let signer = workload.federation.peers[parsed.signer], let key = signer.key(parsed.kid) else { fail("unknown kid") }
            times.charge(.jwsDecode)
            guard JWS.isSignatureValid(parsed, publicKey: key.publicKey) else { fail("signature does not verify") }
            times.charge(.signature)
            let payload = try JSONParser().parse(parsed.payload)
            // The rest of SignatureVerifier.verify and receive's address check: sender, signing time, receiver.
            guard payload["from"]?.stringValue == signer.id, let signedAt = payload["createdAt"]?.stringValue.flatMap(Timestamp.init),
                signedAt >= key.notBefore, signedAt <= key.notAfter, signedAt.seconds <= now.seconds + verifier.allowedSkewSeconds,
                payload["to"]?.stringValue == node.id
            else { fail("the batch does not verify as the engine would") }
            times.charge(.payloadParse)
            let sender = signer.id
            let payloadDigest = Digest(of: parsed.payload)
            times.charge(.payloadDigest)
            // prepare ends with inspect, outside any transaction; commit is one transaction.
            let inspection = try node.contracts.inspect(batchPayload: payload, federation: node.federation, today: now.chinaDate)
            times.charge(.inspect)
            var bodyEnd = 0.0
            try await store.write { tx in
                times.charge(.sqlLookups)  // BEGIN IMMEDIATE
                let batch = inspection.batch
                if try await tx.inboxEntry(sender: sender, batchId: batch.batchId) != nil { fail("batch seen twice") }
                times.charge(.sqlLookups)
                guard try await tx.expectedInboundSequence(from: sender) == batch.sequence else { fail("sequence") }
                times.charge(.sqlLookups)
                var outcomes: [Receipt.Outcome] = []
                for entry in inspection.entries {
                    guard let change = entry.change, entry.rejection == nil else { fail("a change was rejected: \(entry.rejection!)") }
                    times.start()
                    let held = try await tx.record(change.key)?.state
                    times.charge(.sqlLookups)
                    let (next, outcome) = Merge.apply(change, to: held, policy: policy)
                    guard let state = next, state != held else { fail("not applied") }
                    times.charge(.merge)
                    try await tx.putRecord(state, origin: RecordOrigin(source: sender, madeHere: false, at: now))
                    times.charge(.sqlRecords)
                    // SyncEngine.appendHistory for a new record: the content and the status.
                    if let content = change.content {
                        try await tx.appendHistory(
                            HistoryEntry(
                                key: change.key, part: .content, version: content.version, digest: content.digest, value: content.json,
                                source: sender, at: now))
                    }
                    try await tx.appendHistory(
                        HistoryEntry(
                            key: change.key, part: .status, version: change.status.version, digest: change.status.digest,
                            value: change.status.json, source: sender, at: now))
                    times.charge(.sqlHistory)
                    // SyncEngine.trackCorrections: a new record owes no correction; nothing is queued (the log is the queue).
                    times.charge(.route)
                    outcomes.append(Receipt.Outcome(index: entry.index, outcome))
                    try await tx.appendLineage(
                        LineageEntry(
                            key: change.key, peer: sender, direction: .inbound, batchId: batch.batchId,
                            contentVersion: change.content?.version,
                            statusVersion: change.status.version, outcome: outcome.name, at: now))
                    times.charge(.sqlLineage)
                }
                let receipt = Receipt(
                    receiptId: random.batchID(at: now), batchId: batch.batchId, from: node.id, to: sender, sequence: batch.sequence,
                    payloadDigest: payloadDigest, receivedAt: now, outcomes: outcomes)
                let signed = try JWS.sign(payload: receipt.json.serialized(), type: JWS.receiptType, key: node.signingKey).serialized()
                times.charge(.receipt)
                try await SyncEngine.keepReceipt(receipt, signed: signed, of: batch, from: sender, at: now, in: tx)
                times.charge(.sqlInboxLog)
                bodyEnd = benchNow()
            }
            times.seconds[Phase.commit.rawValue] += benchNow() - bodyEnd
            // Outside the total: the parts of inspect, and the JSON text the SQL steps bind.
            let changes = payload["changes"]?.arrayValue ?? []
            extra(.batchSchema) { _ = batchValidator.validate(payload) }
            var decoded: [Change] = []
            try extra(.changeDecode) { decoded = try changes.map { try Change(json: $0) } }
            extra(.recordChecks) {
                for change in decoded {
                    if let record = change.content?.record { _ = node.contracts.issues(inRecord: record, today: now.chinaDate) }
                }
            }
            extra(.bindText) {
                for change in decoded {
                    let (state, _) = Merge.apply(change, to: nil, policy: policy)
                    _ = state?.storedJSON.serializedString()
                    _ = change.content?.json.serializedString()
                    _ = change.status.json.serializedString()
                }
            }
        }
        let closeStart = benchNow()
        try await store.close()
        times.seconds[Phase.commit.rawValue] += benchNow() - closeStart
        let wall = benchNow() - wallStart
        return ProfileResult(
            times: times, wallSeconds: wall, records: batches.count * 1000, extras: extras)
    }

}

func benchNow() -> Double { now() }
