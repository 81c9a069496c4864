import XGateJSON

extension ContractSet {
    /// Whether a record of `kind` (at its newest schema version) can have the field at `pointer`, judged from the
    /// schema's `properties`, following `$ref`, `allOf`, `then` and `else`. Used to check agreements' field lists.
    public func recordHasField(kind: String, pointer: String) -> Bool {
        guard let version = catalogue.kinds[kind]?.schemaVersions.max(),
            let root = schemaDocuments[Catalogue.schemaID(kind: kind, version: version)],
            let path = JSONPointer(pointer), !path.tokens.isEmpty
        else { return false }
        var current: [(schema: JSONValue, document: JSONValue)] = [(root, root)]
        for token in path.tokens {
            var next: [(JSONValue, JSONValue)] = []
            for (schema, document) in current.flatMap({ expand($0.schema, document: $0.document, depth: 0) }) {
                if let property = schema["properties"]?[token] { next.append((property, document)) }
            }
            if next.isEmpty { return false }
            current = next
        }
        return true
    }

    /// A schema and every subschema that applies to the same instance through $ref, allOf, then and else.
    func expand(_ schema: JSONValue, document: JSONValue, depth: Int) -> [(schema: JSONValue, document: JSONValue)] {
        guard depth < 16 else { return [] }
        var result: [(JSONValue, JSONValue)] = [(schema, document)]
        if let ref = schema["$ref"]?.stringValue, let (target, targetDocument) = resolve(ref, in: document) {
            result += expand(target, document: targetDocument, depth: depth + 1)
        }
        for key in ["allOf"] {
            for sub in schema[key]?.arrayValue ?? [] { result += expand(sub, document: document, depth: depth + 1) }
        }
        for key in ["then", "else"] {
            if let sub = schema[key] { result += expand(sub, document: document, depth: depth + 1) }
        }
        return result
    }

    func resolve(_ ref: String, in document: JSONValue) -> (JSONValue, JSONValue)? {
        let parts = ref.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let base = parts[0].isEmpty ? document : schemaDocuments[parts[0]]
        guard let base else { return nil }
        let fragment = parts.count > 1 ? parts[1] : ""
        guard let pointer = JSONPointer(fragment), let target = base.value(at: pointer) else { return nil }
        return (target, base)
    }
}
