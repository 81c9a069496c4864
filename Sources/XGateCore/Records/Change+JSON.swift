import XGateJSON

/// A change whose JSON does not have the shape of `urn:xgate:schema:change:1`.
public struct ChangeFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field at fault.
    public var field: JSONPointer
    public var message: String
    public var description: String { "\(field): \(message)" }
}

extension ContentVersion {
    /// Reads a content version from its wire form (`/content` of a change). `digest`: the one a store kept when it
    /// wrote it (``RecordState/storageJSON``); nil computes it from the record.
    public init(json c: JSONValue, digest: Digest? = nil) throws(ChangeFormatError) {
        func fail(_ path: String, _ message: String) -> ChangeFormatError {
            ChangeFormatError(field: JSONPointer(path) ?? .root, message: message)
        }
        guard let version = c["version"]?.intValue, let author = c["author"]?.stringValue,
            let at = c["at"]?.stringValue, let record = c["record"], record.objectValue != nil
        else { throw fail("/content", "needs version, author, at and record") }
        var override: ContentVersion.Override?
        if let o = c["override"] {
            guard let v = o["version"]?.intValue, let d = o["digest"]?.stringValue.flatMap({ Digest($0) }) else {
                throw fail("/content/override", "needs version and digest")
            }
            override = .init(version: v, digest: d)
        }
        if let digest {
            self.init(version: version, author: author, at: at, record: record, override: override, digest: digest)
        } else {
            self.init(version: version, author: author, at: at, record: record, override: override)
        }
    }
}

extension Change {
    /// Reads a change from its wire form. Schema validation normally runs first; this still refuses anything
    /// it cannot read, naming the field.
    public init(json: JSONValue) throws(ChangeFormatError) {
        func fail(_ path: String, _ message: String) -> ChangeFormatError {
            ChangeFormatError(field: JSONPointer(path) ?? .root, message: message)
        }
        guard let key = json["key"], let owner = key["owner"]?.stringValue, let kind = key["kind"]?.stringValue,
            let sourceId = key["sourceId"]?.stringValue
        else { throw fail("/key", "needs owner, kind and sourceId") }
        var content: ContentVersion?
        if let c = json["content"] { content = try ContentVersion(json: c) }
        guard let s = json["status"] else { throw fail("/status", "is required") }
        guard let version = s["version"]?.intValue else { throw fail("/status/version", "must be an integer") }
        guard let value = s["value"]?.stringValue.flatMap({ RecordStatus(rawValue: $0) }) else {
            throw fail("/status/value", "must be one of \(RecordStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var from: RecordStatus?
        if let f = s["from"], !f.isNull {
            guard let parsed = f.stringValue.flatMap({ RecordStatus(rawValue: $0) }) else {
                throw fail("/status/from", "must be a status or null")
            }
            from = parsed
        }
        guard let author = s["author"]?.stringValue, let at = s["at"]?.stringValue else {
            throw fail("/status", "needs author and at")
        }
        let status = StatusChange(
            version: version, value: value, from: from, author: author, at: at,
            reason: s["reason"]?.stringValue, basis: s["basis"]?.stringValue, reasonCode: s["reasonCode"]?.stringValue)
        let masked = (json["masked"]?.arrayValue ?? []).compactMap(\.stringValue)
        self.init(key: RecordKey(owner: owner, kind: kind, sourceId: sourceId), content: content, status: status, masked: masked)
    }
}
