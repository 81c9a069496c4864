import XGateCore
import XGateJSON

// The JSON shapes of the operator API (Contracts/openapi.yaml, components/schemas).

extension Optional where Wrapped == String {
    var json: JSONValue { map(JSONValue.string) ?? .null }
}

extension Optional where Wrapped == Int {
    var json: JSONValue { map { .number(Double($0)) } ?? .null }
}

extension LineageEntry {
    var json: JSONValue {
        [
            "peer": .string(peer), "direction": .string(direction.rawValue), "batchId": .string(batchId),
            "contentVersion": contentVersion.json, "statusVersion": .number(Double(statusVersion)), "outcome": outcome.json,
            "at": .string(at.text),
        ]
    }
}

extension CorrectionTracking {
    var json: JSONValue {
        [
            "key": key.json, "statusVersion": .number(Double(statusVersion)), "status": .string(status.rawValue), "peer": .string(peer),
            "sentAt": .string(sentAt.text), "acknowledgedAt": acknowledgedAt.map { .string($0.text) } ?? .null,
        ]
    }
}

extension RejectionEntry {
    var json: JSONValue {
        [
            "peer": .string(peer), "batchId": batchId.json, "index": index.json, "key": key?.json ?? .null, "code": .string(code),
            "field": field.json, "message": .string(message), "at": .string(at.text),
        ]
    }
}

extension SyncLogEntry {
    var json: JSONValue {
        [
            "id": .number(Double(id)), "at": .string(at.text), "peer": peer.json, "batchId": batchId.json, "event": .string(event),
            "detail": .string(detail),
        ]
    }
}

extension OutboundBatch {
    var summaryJSON: JSONValue {
        [
            "peer": .string(peer), "sequence": .number(Double(sequence)), "batchId": .string(batchId),
            "changes": .number(Double(keys.count)),
            "state": .string(state.rawValue), "attempts": .number(Double(attempts)), "createdAt": .string(createdAt.text),
            "nextAttemptAt": .string(nextAttemptAt.text), "lastError": lastError.json,
        ]
    }
}
