import Crypto
import XGateCore
import XGateJSON

/// JWS in the flattened JSON serialization (RFC 7515 §7.2.2) with EdDSA over Ed25519 (RFC 8037).
public enum JWS {
    /// The `typ` of a batch.
    public static let batchType = "xgate-batch+json"
    /// The `alg` values accepted: EdDSA (RFC 8037, written by xgate) and Ed25519 (RFC 9864).
    public static let acceptedAlgorithms: Set<String> = ["EdDSA", "Ed25519"]
    /// The `typ` of a receipt.
    public static let receiptType = "xgate-receipt+json"

    /// Signs `payload` (the exact UTF-8 bytes of the document) and returns the flattened JWS JSON object.
    public static func sign(payload: [UInt8], type: String, key: SigningKey) throws -> JSONValue {
        let header: JSONValue = ["alg": "EdDSA", "kid": .string(key.kid), "typ": .string(type)]
        let protected = Base64URL.encode(header.serialized())
        let encodedPayload = Base64URL.encode(payload)
        let signature = try key.sign(Array((protected + "." + encodedPayload).utf8))
        return ["protected": .string(protected), "payload": .string(encodedPayload), "signature": .string(Base64URL.encode(signature))]
    }

    /// A JWS taken apart, its signature not yet checked.
    public struct Parsed: Sendable {
        public var header: JSONObject
        public var kid: String
        /// The node part of the kid: who claims to have signed.
        public var signer: String
        public var payload: [UInt8]
        var signingInput: [UInt8]
        var signature: [UInt8]
    }

    /// Takes a JWS apart: flattened, or general with exactly one signature. Refuses anything but EdDSA,
    /// a `typ` other than `expectedType`, critical extensions, and a key id not of the form `<node>:<thumbprint>`.
    public static func parse(_ jws: JSONValue, expectedType: String) throws(BatchError) -> Parsed {
        guard let object = jws.objectValue else {
            throw BatchError(code: "jws.format", message: "a JWS in JSON serialization is a JSON object")
        }
        var signatureEntry = jws
        if let signatures = object["signatures"] {
            guard object["protected"] == nil, object["signature"] == nil, object["header"] == nil else {
                throw BatchError(
                    code: "jws.format", message: "the general serialization must not also carry flattened members (RFC 7515 §7.2.1)")
            }
            guard let list = signatures.arrayValue, list.count == 1 else {
                throw BatchError(code: "jws.format", message: "the general serialization must carry exactly one signature")
            }
            signatureEntry = list[0]
        }
        guard let protected = signatureEntry["protected"]?.stringValue, let payloadText = object["payload"]?.stringValue,
            let signatureText = signatureEntry["signature"]?.stringValue
        else { throw BatchError(code: "jws.format", message: "a JWS needs 'protected', 'payload' and 'signature' members") }
        if let unprotected = signatureEntry["header"]?.objectValue,
            unprotected["alg"] != nil || unprotected["kid"] != nil || unprotected["typ"] != nil
        {
            throw BatchError(code: "jws.header", message: "alg, kid and typ must be in the protected header only")
        }
        guard let headerBytes = Base64URL.decode(protected), let header = (try? JSONParser().parse(headerBytes))?.objectValue else {
            throw BatchError(code: "jws.header", message: "the protected header is not base64url-encoded JSON")
        }
        // EdDSA (RFC 8037) is what xgate writes; Ed25519 is its fully-specified name (RFC 9864). Keys are Ed25519 only,
        // so both name the same algorithm. Everything else, "none" included, is refused.
        guard let alg = header["alg"]?.stringValue, JWS.acceptedAlgorithms.contains(alg) else {
            throw BatchError(
                code: "jws.algorithm", message: "alg must be EdDSA or Ed25519, found \(header["alg"]?.serializedString() ?? "none")")
        }
        guard header["typ"]?.stringValue == expectedType else {
            throw BatchError(code: "jws.type", message: "typ must be \(expectedType), found \(header["typ"]?.serializedString() ?? "none")")
        }
        if header["crit"] != nil {
            throw BatchError(code: "jws.header", message: "no critical header extensions are understood")
        }
        guard let kid = header["kid"]?.stringValue, JWS.isWellFormedKeyID(kid), let colon = kid.firstIndex(of: ":") else {
            throw BatchError(code: "key.unknown", message: "kid must be <node id>:<43-character RFC 7638 thumbprint>")
        }
        guard let payload = Base64URL.decode(payloadText) else {
            throw BatchError(code: "jws.format", message: "the payload is not base64url")
        }
        guard let signature = Base64URL.decode(signatureText), signature.count == 64 else {
            throw BatchError(code: "signature.invalid", message: "the signature is not a 64-byte Ed25519 signature in base64url")
        }
        return Parsed(
            header: header, kid: kid, signer: String(kid[..<colon]), payload: payload,
            signingInput: Array((protected + "." + payloadText).utf8), signature: signature)
    }

    /// Whether a kid has the form `<node id>:<thumbprint>` (`^[a-z]{2}-[a-z0-9]+(-[a-z0-9]+)*:[A-Za-z0-9_-]{43}$`),
    /// checked before the kid is used or echoed in any message.
    static func isWellFormedKeyID(_ kid: String) -> Bool {
        let parts = kid.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].utf8.count == 43,
            parts[1].utf8.allSatisfy({ Base64URL.decodeTable[Int($0)] != 0xFF })
        else { return false }
        let node = Array(parts[0].utf8)
        guard node.count >= 4, node.count <= 64, node[0] >= 0x61, node[0] <= 0x7A, node[1] >= 0x61, node[1] <= 0x7A, node[2] == 0x2D,
            node.last != 0x2D
        else { return false }
        var previousDash = false
        for b in node[3...] {
            let isDash = b == 0x2D
            guard isDash || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39), !(isDash && previousDash) else { return false }
            previousDash = isDash
        }
        return true
    }

    /// Checks the signature against a raw Ed25519 public key.
    public static func isSignatureValid(_ parsed: Parsed, publicKey: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(parsed.signature, for: parsed.signingInput)
    }
}
