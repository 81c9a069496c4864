import Crypto
import Foundation
import XGateCore
import XGateJSON

/// A node's Ed25519 signing key. Its private half never appears in a description, a log line or an error.
public struct SigningKey: Sendable, CustomStringConvertible {
    /// The node that owns the key.
    public let node: String
    /// `<node>:<RFC 7638 thumbprint>`.
    public let kid: String
    /// The 32-byte seed (swift-crypto's key type is not Sendable; the seed is).
    let seed: [UInt8]

    /// The fixed DER prefix of an Ed25519 PKCS#8 v1 private key (RFC 8410 §7) before its 32-byte seed.
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    /// A new random key for `node`.
    public static func generate(node: String) -> SigningKey {
        SigningKey(node: node, privateKey: Curve25519.Signing.PrivateKey())
    }

    init(node: String, privateKey: Curve25519.Signing.PrivateKey) {
        self.node = node
        self.seed = Array(privateKey.rawRepresentation)
        self.publicKey = Array(privateKey.publicKey.rawRepresentation)
        self.kid = Peer.keyID(node: node, publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`). The kid, if given, must be the key's own.
    public init(pem: String, node: String, kid expectedKid: String? = nil) throws(KeyError) {
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        if lines.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            throw KeyError(message: "the key file is encrypted; xgate reads unencrypted PKCS#8 keys protected by file mode 0600")
        }
        guard let begin = lines.firstIndex(of: "-----BEGIN PRIVATE KEY-----"),
            let end = lines.firstIndex(of: "-----END PRIVATE KEY-----"), begin < end
        else { throw KeyError(message: "not a PKCS#8 PEM private key (expected -----BEGIN PRIVATE KEY-----)") }
        guard let der = Data(base64Encoded: lines[(begin + 1)..<end].joined()).map(Array.init) else {
            throw KeyError(message: "the PEM body is not valid base64")
        }
        guard der.count == 48, Array(der[0..<16]) == SigningKey.pkcs8Prefix else {
            throw KeyError(message: "not an Ed25519 private key (PKCS#8, RFC 8410)")
        }
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der[16..<48]) else {
            throw KeyError(message: "the Ed25519 seed is unusable")
        }
        self.init(node: node, privateKey: key)
        if let expectedKid, expectedKid != kid {
            throw KeyError(message: "the key's id is \(kid), not \(expectedKid): this key file does not belong to that kid")
        }
    }

    /// The PKCS#8 PEM form of the private key (write it only to a file of mode 0600).
    public var pkcs8PEM: String {
        let der = SigningKey.pkcs8Prefix + seed
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN PRIVATE KEY-----\n\(base64)\n-----END PRIVATE KEY-----\n"
    }

    /// The raw 32-byte public key.
    public let publicKey: [UInt8]

    /// The public JWK (RFC 8037) with its kid.
    public var publicJWK: JSONValue {
        ["kty": "OKP", "crv": "Ed25519", "x": .string(Base64URL.encode(publicKey)), "kid": .string(kid), "use": "sig", "alg": "EdDSA"]
    }

    /// Signs bytes.
    func sign(_ bytes: [UInt8]) throws -> [UInt8] {
        Array(try Curve25519.Signing.PrivateKey(rawRepresentation: seed).signature(for: bytes))
    }

    /// Names the key without revealing it.
    public var description: String { "SigningKey(\(kid))" }
}

/// A key file that cannot be used.
public struct KeyError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// Creates an error.
    public init(message: String) { self.message = message }
    public var description: String { message }
}
