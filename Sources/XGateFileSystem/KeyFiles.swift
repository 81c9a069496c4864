import Foundation
import XGateCore
import XGateJOSE
import XGateJSON

/// Private and public key files: `<dir>/<node>.key` (PKCS#8 PEM, mode 0600) and `<dir>/<node>.jwk.json`.
public enum KeyFiles {
    /// Writes a new key pair; refuses to overwrite an existing private key.
    public static func write(_ key: SigningKey, to directory: String) throws(FileError) -> (privatePath: String, publicPath: String) {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw FileError(.permission, path: directory, "cannot create the directory")
        }
        let privatePath = directory + "/\(key.node).key"
        let publicPath = directory + "/\(key.node).jwk.json"
        try Files.write(Array(key.pkcs8PEM.utf8), to: privatePath, mode: 0o600)
        try Files.write(key.publicJWK.serialized(.prettyPrinted) + [0x0A], to: publicPath, mode: 0o644, replace: true)
        return (privatePath, publicPath)
    }

    /// Reads a private key for `node`, refusing a file that group or others can read (like ssh does).
    public static func read(_ path: String, node: String, kid: String? = nil) throws(FileError) -> SigningKey {
        try Files.requirePrivate(path, "the private key")
        let bytes = try Files.read(path, limit: 16 * 1024)
        do {
            return try SigningKey(pem: String(decoding: bytes, as: UTF8.self), node: node, kid: kid)
        } catch {
            throw FileError(.invalid, path: path, error.message)
        }
    }
}
