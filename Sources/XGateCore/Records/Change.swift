import Crypto
import Foundation
import XGateJSON

/// A SHA-256 digest, written `sha256:<64 hex>` on the wire.
public struct Digest: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The lowercase hex digest.
    public let hex: String

    /// The digest of some bytes.
    public init(of bytes: some DataProtocol) {
        let digest = SHA256.hash(data: bytes)
        let digits = Digest.hexDigits
        self.hex = String(unsafeUninitializedCapacity: 64) { out in
            var i = 0
            for byte in digest {
                out[i] = digits[Int(byte >> 4)]
                out[i + 1] = digits[Int(byte & 0x0F)]
                i += 2
            }
            return i
        }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// Parses `sha256:<hex>` (64 lowercase hex digits).
    public init?(_ text: String) {
        let utf8 = text.utf8
        guard utf8.count == 71, text.hasPrefix("sha256:") else { return nil }
        let hex = utf8.dropFirst(7)
        guard hex.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        else { return nil }
        self.hex = String(decoding: hex, as: UTF8.self)
    }

    /// The digest of a JSON value's canonical form.
    public init(canonical value: JSONValue) { self.init(of: value.canonicalBytes) }

    public var description: String { "sha256:" + hex }
    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }
}

/// The content of a record at one owner version.
public struct ContentVersion: Sendable, Equatable {
    /// The owner's version counter.
    public var version: Int
    /// The node that wrote this version (the owner, or the city for an operator override).
    public var author: String
    /// When it was written (RFC 3339).
    public var at: String
    /// The record document, validated by `urn:xgate:schema:record:<kind>:<schemaVersion>`. Changing it recomputes the digest.
    public var record: JSONValue {
        didSet { digest = Digest(canonical: record) }
    }
    /// Set when this version resolves a conflict: which version and which of its contents was chosen.
    public var override: Override?
    /// SHA-256 of the record's canonical form: equal digests mean equal content.
    public private(set) var digest: Digest

    /// An operator's resolution of a conflict.
    public struct Override: Sendable, Equatable {
        public var version: Int
        public var digest: Digest

        /// Creates an override marker.
        public init(version: Int, digest: Digest) {
            self.version = version
            self.digest = digest
        }
    }

    /// Creates a content version; the digest is computed.
    public init(version: Int, author: String, at: String, record: JSONValue, override: Override? = nil) {
        self.version = version
        self.author = author
        self.at = at
        self.record = record
        self.override = override
        self.digest = Digest(canonical: record)
    }

    /// A content version read back from a store, with the digest the store kept (computed when it was written).
    public init(version: Int, author: String, at: String, record: JSONValue, override: Override?, digest: Digest) {
        self.version = version
        self.author = author
        self.at = at
        self.record = record
        self.override = override
        self.digest = digest
    }

    /// The wire form.
    public var json: JSONValue {
        var o = JSONObject()
        o["version"] = .number(Double(version))
        o["author"] = .string(author)
        o["at"] = .string(at)
        o["record"] = record
        if let override {
            o["override"] = ["version": .number(Double(override.version)), "digest": .string(override.digest.description)]
        }
        return .object(o)
    }
}

/// One status change of a record.
public struct StatusChange: Sendable, Equatable {
    /// The status counter: each change is one more than the status it was made from.
    public let version: Int
    public let value: RecordStatus
    /// The status it was made from; nil only for the first (`active`, version 1).
    public let from: RecordStatus?
    public let author: String
    /// When it was decided (not part of the decision's identity).
    public var at: String
    /// Why (required after the first version).
    public let reason: String?
    /// The legal basis, e.g. 《信用修复管理办法》第十二条.
    public let basis: String?
    /// An optional machine-readable reason, e.g. `objection-upheld`.
    public let reasonCode: String?
    /// Identity of the decision: the canonical JSON of the status change without `at` (computed once). The same
    /// decision stamped at two different times (a re-signed export) is one decision, not a conflict.
    public let digest: Digest

    /// Creates a status change.
    public init(
        version: Int, value: RecordStatus, from: RecordStatus?, author: String, at: String,
        reason: String? = nil, basis: String? = nil, reasonCode: String? = nil
    ) {
        self.version = version
        self.value = value
        self.from = from
        self.author = author
        self.at = at
        self.reason = reason
        self.basis = basis
        self.reasonCode = reasonCode
        var identity = JSONObject()
        identity["version"] = .number(Double(version))
        identity["value"] = .string(value.rawValue)
        identity["from"] = from.map { .string($0.rawValue) } ?? .null
        identity["author"] = .string(author)
        if let reason { identity["reason"] = .string(reason) }
        if let basis { identity["basis"] = .string(basis) }
        if let reasonCode { identity["reasonCode"] = .string(reasonCode) }
        self.digest = Digest(canonical: .object(identity))
    }

    /// The wire form.
    public var json: JSONValue {
        var o = JSONObject()
        o["version"] = .number(Double(version))
        o["value"] = .string(value.rawValue)
        o["from"] = from.map { .string($0.rawValue) } ?? .null
        o["author"] = .string(author)
        o["at"] = .string(at)
        if let reason { o["reason"] = .string(reason) }
        if let basis { o["basis"] = .string(basis) }
        if let reasonCode { o["reasonCode"] = .string(reasonCode) }
        return .object(o)
    }

}

/// A change to one record, as carried in a batch: optionally new content, always the status as the sender knows it.
public struct Change: Sendable, Equatable {
    public var key: RecordKey
    public var content: ContentVersion?
    public var status: StatusChange
    /// Record fields the sender masked (JSON pointers into the record).
    public var masked: [String]

    /// Creates a change.
    public init(key: RecordKey, content: ContentVersion?, status: StatusChange, masked: [String] = []) {
        self.key = key
        self.content = content
        self.status = status
        self.masked = masked
    }

    /// The wire form (`urn:xgate:schema:change:1`).
    public var json: JSONValue {
        var o = JSONObject()
        o["key"] = key.json
        if let content { o["content"] = content.json }
        o["status"] = status.json
        if !masked.isEmpty { o["masked"] = .array(masked.map { .string($0) }) }
        return .object(o)
    }
}
