import XGateJSON

extension RecordState {
    /// The stored form: key, content (as it travels), every status decision seen, conflicts. `status` is not
    /// stored: it is recomputed from the decisions, so a stored state can never disagree with its own history.
    public var storedJSON: JSONValue {
        var o = JSONObject()
        o["key"] = key.json
        o["content"] = content?.json ?? .null
        o["statusHistory"] = .array(statusHistory.map(\.json))
        o["conflicts"] = .array(conflicts.map(\.json))
        return .object(o)
    }

    /// What a store keeps: ``storedJSON`` with the content's digest beside it, so that reading a record back does not
    /// serialise its content canonically and hash it again (``init(storedJSON:)`` takes either form).
    public var storageJSON: JSONValue {
        guard let content, case .object(var o) = storedJSON, case .object(var c) = o["content"] ?? .null else { return storedJSON }
        c["digest"] = .string(content.digest.description)
        o["content"] = .object(c)
        return .object(o)
    }

    /// Reads the stored form back (``storedJSON``, or ``storageJSON`` with the content's digest, which is then taken
    /// as it was written: a store holds what it computed itself).
    public init(storedJSON json: JSONValue) throws(ChangeFormatError) {
        func fail(_ path: String, _ message: String) -> ChangeFormatError {
            ChangeFormatError(field: JSONPointer(path) ?? .root, message: message)
        }
        guard let owner = json["key"]?["owner"]?.stringValue, let kind = json["key"]?["kind"]?.stringValue,
            let sourceId = json["key"]?["sourceId"]?.stringValue
        else { throw fail("/key", "a stored record needs its key") }
        let key = RecordKey(owner: owner, kind: kind, sourceId: sourceId)
        var content: ContentVersion?
        if let c = json["content"], !c.isNull {
            // The digest as the store kept it (storageJSON); an older row without one has it computed.
            content = try ContentVersion(json: c, digest: c["digest"]?.stringValue.flatMap(Digest.init))
        }
        var history: [StatusChange] = []
        for (i, s) in (json["statusHistory"]?.arrayValue ?? []).enumerated() {
            do {
                history.append(try Change(json: ["key": key.json, "status": s]).status)
            } catch {
                throw fail("/statusHistory/\(i)", error.message)
            }
        }
        guard !history.isEmpty else { throw fail("/statusHistory", "a stored record needs at least one status decision") }
        var conflicts: [Conflict] = []
        for (i, c) in (json["conflicts"]?.arrayValue ?? []).enumerated() {
            guard let part = c["part"]?.stringValue.flatMap(Conflict.Part.init(rawValue:)), let version = c["version"]?.intValue,
                let loser = c["loser"]?.stringValue.flatMap(Digest.init), let value = c["value"]
            else { throw fail("/conflicts/\(i)", "needs part, version, loser and value") }
            conflicts.append(Conflict(part: part, version: version, loser: loser, loserValue: value))
        }
        self.init(key: key, content: content, status: history[0], conflicts: conflicts)
        self.statusHistory = history.sorted { ($0.version, $0.digest) < ($1.version, $1.digest) }
        self.status = Merge.statusChain(self.statusHistory).head
    }
}
