import XGateCore
import XGateJSON

/// Verifies signed batches and receipts against the federation registry.
public struct SignatureVerifier: Sendable {
    public var federation: Federation
    /// How far in the future a signing time may lie (clock skew between nodes).
    public var allowedSkewSeconds: Int64

    /// Creates a verifier.
    public init(federation: Federation, allowedSkewSeconds: Int64 = 300) {
        self.federation = federation
        self.allowedSkewSeconds = allowedSkewSeconds
    }

    /// A verified document: its payload, who signed it, with which key.
    public struct Verified: Sendable {
        public var payload: JSONValue
        public var payloadBytes: [UInt8]
        public var signer: Peer
        public var kid: String
    }

    /// Verifies a JWS: structure, the signer's key in the registry, the signature, then that the payload's
    /// `signerField` names the key's node and `timeField` lies inside the key's validity window (and not in the
    /// future of `now`, when given). The payload is parsed only after the signature holds.
    public func verify(_ jws: JSONValue, type: String, signerField: String, timeField: String, now: Timestamp?) throws(BatchError)
        -> Verified
    {
        let parsed = try JWS.parse(jws, expectedType: type)
        guard let peer = federation.peers[parsed.signer] else {
            throw BatchError(code: "key.unknown", message: "kid \(parsed.kid) names node \(parsed.signer), which is not in the registry")
        }
        guard let key = peer.key(parsed.kid) else {
            throw BatchError(code: "key.unknown", message: "node \(peer.id) has no key \(parsed.kid) in the registry")
        }
        guard JWS.isSignatureValid(parsed, publicKey: key.publicKey) else {
            throw BatchError(
                code: "signature.invalid",
                message: "the signature does not verify with \(parsed.kid): the payload or header was altered, or another key signed it")
        }
        let payload: JSONValue
        do {
            payload = try JSONParser().parse(parsed.payload)
        } catch {
            throw BatchError(code: "payload.json", message: "the signed payload is not JSON: \(error)")
        }
        guard let claimed = payload[signerField]?.stringValue else {
            throw BatchError(code: "batch.schema", message: "the payload has no '\(signerField)'")
        }
        guard claimed == peer.id else {
            throw BatchError(
                code: "key.sender-mismatch", message: "'\(signerField)' is \(claimed) but the key \(parsed.kid) belongs to \(peer.id)")
        }
        guard let signedAt = payload[timeField]?.stringValue.flatMap(Timestamp.init) else {
            throw BatchError(code: "batch.schema", message: "'\(timeField)' is not an RFC 3339 date-time")
        }
        if signedAt < key.notBefore {
            throw BatchError(
                code: "key.not-yet-valid",
                message: "\(timeField) \(signedAt) is before the key \(parsed.kid) becomes valid (\(key.notBefore))")
        }
        if signedAt > key.notAfter {
            throw BatchError(
                code: "key.expired", message: "\(timeField) \(signedAt) is after the key \(parsed.kid) expired (\(key.notAfter))")
        }
        if let now, signedAt.seconds > now.seconds + allowedSkewSeconds {
            throw BatchError(code: "batch.future", message: "\(timeField) \(signedAt) lies in the future (now \(now))")
        }
        return Verified(payload: payload, payloadBytes: parsed.payload, signer: peer, kid: parsed.kid)
    }

    /// Verifies a batch (`typ` xgate-batch+json, signed by `from` at `createdAt`).
    public func verifyBatch(_ jws: JSONValue, now: Timestamp?) throws(BatchError) -> Verified {
        try verify(jws, type: JWS.batchType, signerField: "from", timeField: "createdAt", now: now)
    }

    /// Verifies a receipt (`typ` xgate-receipt+json, signed by the receiver `from` at `receivedAt`).
    public func verifyReceipt(_ jws: JSONValue, now: Timestamp?) throws(BatchError) -> Verified {
        try verify(jws, type: JWS.receiptType, signerField: "from", timeField: "receivedAt", now: now)
    }
}
