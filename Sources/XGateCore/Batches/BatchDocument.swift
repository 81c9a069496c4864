import XGateJSON

/// The payload of a signed batch (`urn:xgate:schema:batch:1`): one step of one channel (sender → receiver).
public struct BatchDocument: Sendable {
    /// The protocol identifier every batch and receipt carries.
    public static let protocolName = "xgate/1"
    /// The most changes a batch may carry.
    public static let maximumChanges = 1000

    public var batchId: String
    public var from: String
    public var to: String
    /// Position in the channel from → to: 1, 2, 3 … without gaps.
    public var sequence: Int
    public var createdAt: Timestamp
    /// The changes as they travel (each validated and read on its own, so one bad change never blocks the rest).
    public var changes: [JSONValue]

    /// Creates a batch.
    public init(batchId: String, from: String, to: String, sequence: Int, createdAt: Timestamp, changes: [JSONValue]) {
        self.batchId = batchId
        self.from = from
        self.to = to
        self.sequence = sequence
        self.createdAt = createdAt
        self.changes = changes
    }

    /// Reads the envelope; the caller validates it against the schema first.
    public init(json: JSONValue) throws(BatchError) {
        guard json["protocol"]?.stringValue == BatchDocument.protocolName else {
            throw BatchError(code: "batch.protocol", message: "'protocol' must be \"\(BatchDocument.protocolName)\"")
        }
        guard let batchId = json["batchId"]?.stringValue, let from = json["from"]?.stringValue, let to = json["to"]?.stringValue,
            let sequence = json["sequence"]?.intValue, let createdAtText = json["createdAt"]?.stringValue,
            let createdAt = Timestamp(createdAtText), let changes = json["changes"]?.arrayValue
        else { throw BatchError(code: "batch.format", message: "a batch needs batchId, from, to, sequence, createdAt and changes") }
        self.init(batchId: batchId, from: from, to: to, sequence: sequence, createdAt: createdAt, changes: changes)
    }

    /// `json.serialized()` of this document with `encoded` (each change already serialised) as its changes, without
    /// serialising the changes again: a batch maker that measured each change by its bytes has them in hand.
    public func serialized(changes encoded: [[UInt8]]) -> [UInt8] {
        var head = self
        head.changes = []
        var out = head.json.serialized()
        // `changes` is the last member: the document ends with `"changes":[]}`.
        precondition(out.suffix(3).elementsEqual("[]}".utf8), "BatchDocument.json must end with its changes")
        out.removeLast(2)
        out.reserveCapacity(out.count + encoded.reduce(2) { $0 + $1.count + 1 })
        for (index, change) in encoded.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: change)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// The wire form.
    public var json: JSONValue {
        var o = JSONObject()
        o["protocol"] = .string(BatchDocument.protocolName)
        o["batchId"] = .string(batchId)
        o["from"] = .string(from)
        o["to"] = .string(to)
        o["sequence"] = .number(Double(sequence))
        o["createdAt"] = .string(createdAt.text)
        o["changes"] = .array(changes)
        return .object(o)
    }
}

/// A batch, receipt or signature refused as a whole: a stable code and a sentence (never the payload).
public struct BatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable code from Contracts/PROTOCOL.md, e.g. `signature.invalid`, `key.expired`, `batch.schema`.
    public var code: String
    public var message: String

    /// Creates an error.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
