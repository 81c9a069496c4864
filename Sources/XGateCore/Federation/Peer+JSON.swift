import Crypto
import XGateJSON

extension Peer {
    /// Reads a peer file (`urn:xgate:schema:peer:1`); errors name the peer and the field.
    public init(json: JSONValue) throws(FederationError) {
        guard let id = json["id"]?.stringValue else { throw FederationError(subject: "peer", message: "missing 'id'") }
        let subject = "peer \(id)"
        var roles = Set<Role>()
        for value in json["roles"]?.arrayValue ?? [] {
            guard let role = value.stringValue.flatMap(Role.init(rawValue:)) else {
                throw FederationError(subject: subject, message: "unknown role \(value.serializedString())")
            }
            roles.insert(role)
        }
        var keys: [Key] = []
        for (i, entry) in (json["keys"]?.arrayValue ?? []).enumerated() {
            guard let jwk = entry["jwk"] else { throw FederationError(subject: subject, message: "keys[\(i)] has no 'jwk'") }
            let key = try Peer.readKey(
                jwk: jwk, notBefore: entry["notBefore"], notAfter: entry["notAfter"], subject: "\(subject) keys[\(i)]")
            keys.append(key)
        }
        self.init(
            id: id, name: json["name"]?.stringValue ?? id, roles: roles,
            groups: Set((json["groups"]?.arrayValue ?? []).compactMap(\.stringValue)),
            division: json["division"]?.stringValue ?? "", endpoint: json["endpoint"]?.stringValue ?? "",
            keys: keys, tlsPins: (json["tls"]?["pins"]?.arrayValue ?? []).compactMap(\.stringValue),
            development: json["development"]?.boolValue ?? false)
    }

    /// Reads an Ed25519 public JWK and its validity window.
    static func readKey(jwk: JSONValue, notBefore: JSONValue?, notAfter: JSONValue?, subject: String) throws(FederationError) -> Key {
        guard jwk["kty"]?.stringValue == "OKP", jwk["crv"]?.stringValue == "Ed25519" else {
            throw FederationError(subject: subject, message: "only Ed25519 keys (kty OKP, crv Ed25519) are supported")
        }
        guard let x = jwk["x"]?.stringValue, let raw = Base64URL.decode(x), raw.count == 32 else {
            throw FederationError(subject: subject, message: "'x' must be the 32-byte public key in base64url")
        }
        guard let kid = jwk["kid"]?.stringValue else { throw FederationError(subject: subject, message: "the JWK has no 'kid'") }
        guard let nbf = notBefore?.stringValue.flatMap(Timestamp.init), let exp = notAfter?.stringValue.flatMap(Timestamp.init), nbf < exp
        else { throw FederationError(subject: subject, message: "needs notBefore < notAfter as RFC 3339 date-times") }
        return Key(kid: kid, jwk: jwk, publicKey: raw, notBefore: nbf, notAfter: exp)
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key.
    public static func thumbprint(publicKey: [UInt8]) -> String {
        let canonical = "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"\(Base64URL.encode(publicKey))\"}"
        return Base64URL.encode(SHA256.hash(data: Array(canonical.utf8)))
    }

    /// The key id xgate gives a node's key: `<node id>:<thumbprint>`.
    public static func keyID(node: String, publicKey: [UInt8]) -> String { "\(node):\(thumbprint(publicKey: publicKey))" }
}
