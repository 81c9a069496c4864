import XGateJSON

/// The values of `enum`, hashed when there are many.
struct ValueSet: Sendable {
    var values: [JSONValue]
    var hashed: Set<SchemaHashKey>?

    init(_ values: [JSONValue]) {
        self.values = values
        self.hashed = values.count > 8 ? Set(values.map(SchemaHashKey.init)) : nil
    }

    func contains(_ value: JSONValue) -> Bool {
        if let hashed { return hashed.contains(SchemaHashKey(value: value)) }
        return values.contains { $0.schemaEquals(value) }
    }
}
