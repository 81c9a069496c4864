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

    /// Reads the stored form back.
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
            let change = try Change(json: [
                "key": key.json, "content": c,
                "status": ["version": 1, "value": "active", "from": nil, "author": .string(owner), "at": "1970-01-01T00:00:00Z"],
            ])
            content = change.content
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
