import XGateJSON

/// The receiver's signed answer to a batch (`urn:xgate:schema:receipt:1`): one outcome per change.
public struct Receipt: Sendable {
    /// One change's outcome.
    public struct Outcome: Sendable, Equatable {
        /// Position of the change in the batch.
        public var index: Int
        public var outcome: String
        public var code: String?
        public var field: String?
        public var message: String?

        /// Creates an outcome from the merge's result.
        public init(index: Int, _ result: ChangeOutcome, conflictCode: String = "conflict.concurrent-version") {
            self.index = index
            self.outcome = result.name
            switch result {
            case .rejected(let r):
                code = r.code
                field = r.field.flatMap { $0.tokens.isEmpty ? nil : $0.description }
                message = r.message
            case .conflict:
                code = conflictCode
                field = nil
                message = "a different version with the same number was held; the deterministic winner was kept and both recorded"
            default:
                code = nil
                field = nil
                message = nil
            }
        }

        init(index: Int, outcome: String, code: String?, field: String?, message: String?) {
            self.index = index
            self.outcome = outcome
            self.code = code
            self.field = field
            self.message = message
        }
    }

    public var receiptId: String
    public var batchId: String
    /// The receiver, who signs the receipt.
    public var from: String
    /// The batch's sender.
    public var to: String
    public var sequence: Int
    /// SHA-256 of the batch's JWS payload bytes: binds the receipt to exactly what was received.
    public var payloadDigest: Digest
    public var receivedAt: Timestamp
    public var outcomes: [Outcome]

    /// Creates a receipt.
    public init(
        receiptId: String, batchId: String, from: String, to: String, sequence: Int, payloadDigest: Digest, receivedAt: Timestamp,
        outcomes: [Outcome]
    ) {
        self.receiptId = receiptId
        self.batchId = batchId
        self.from = from
        self.to = to
        self.sequence = sequence
        self.payloadDigest = payloadDigest
        self.receivedAt = receivedAt
        self.outcomes = outcomes
    }

    /// The outcome names, in the order a summary lists them.
    public static let outcomeNames = ["applied", "duplicate", "stale", "conflict", "rejected"]

    /// Counts per outcome name.
    public var summary: [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: Self.outcomeNames.map { ($0, 0) })
        for o in outcomes { counts[o.outcome, default: 0] += 1 }
        return counts
    }

    /// A summary as one line of text: `applied 998, duplicate 0, stale 0, conflict 0, rejected 2`.
    public static func summaryText(_ summary: [String: Int]) -> String {
        outcomeNames.map { "\($0) \(summary[$0] ?? 0)" }.joined(separator: ", ")
    }

    /// The wire form.
    public var json: JSONValue {
        var o = JSONObject()
        o["protocol"] = .string(BatchDocument.protocolName)
        o["receiptId"] = .string(receiptId)
        o["batchId"] = .string(batchId)
        o["from"] = .string(from)
        o["to"] = .string(to)
        o["sequence"] = .number(Double(sequence))
        o["payloadDigest"] = .string(payloadDigest.description)
        o["receivedAt"] = .string(receivedAt.text)
        let s = summary
        o["summary"] = .object(JSONObject(Self.outcomeNames.map { (key: $0, value: .number(Double(s[$0] ?? 0))) }))
        o["outcomes"] = .array(
            outcomes.map { outcome in
                var e = JSONObject()
                e["index"] = .number(Double(outcome.index))
                e["outcome"] = .string(outcome.outcome)
                if let code = outcome.code { e["code"] = .string(code) }
                if let field = outcome.field { e["field"] = .string(field) }
                if let message = outcome.message { e["message"] = .string(message) }
                return .object(e)
            })
        return .object(o)
    }

    /// Reads a receipt; the caller validates it against the schema first.
    public init(json: JSONValue) throws(BatchError) {
        guard let receiptId = json["receiptId"]?.stringValue, let batchId = json["batchId"]?.stringValue,
            let from = json["from"]?.stringValue, let to = json["to"]?.stringValue, let sequence = json["sequence"]?.intValue,
            let digest = json["payloadDigest"]?.stringValue.flatMap(Digest.init),
            let receivedAt = json["receivedAt"]?.stringValue.flatMap(Timestamp.init), let outcomes = json["outcomes"]?.arrayValue
        else {
            throw BatchError(
                code: "receipt.format",
                message: "a receipt needs receiptId, batchId, from, to, sequence, payloadDigest, receivedAt and outcomes")
        }
        self.init(
            receiptId: receiptId, batchId: batchId, from: from, to: to, sequence: sequence, payloadDigest: digest, receivedAt: receivedAt,
            outcomes: outcomes.map {
                Outcome(
                    index: $0["index"]?.intValue ?? -1, outcome: $0["outcome"]?.stringValue ?? "", code: $0["code"]?.stringValue,
                    field: $0["field"]?.stringValue, message: $0["message"]?.stringValue)
            })
    }
}
