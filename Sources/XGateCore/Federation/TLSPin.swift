import Crypto
import Foundation

/// The pin of a TLS certificate in the registry (`tls.pins`, PROTOCOL.md §2.2): `sha256/` + base64 of the SHA-256
/// of its DER SubjectPublicKeyInfo. The server (which client certificate is which peer) and the client (is this the
/// peer's server) both compute it here.
public enum TLSPin {
    /// The pin of a public key given as its DER SubjectPublicKeyInfo.
    public static func of(subjectPublicKeyInfo der: [UInt8]) -> String {
        "sha256/" + Data(SHA256.hash(data: der)).base64EncodedString()
    }
}
