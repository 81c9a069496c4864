import XGateJSON

extension JSONValue {
    /// Equality as JSON Schema defines it for `enum`, `const` and `uniqueItems`: numbers by value
    /// (`1 == 1.0`), objects regardless of member order, `true != 1`, and strings (and member names) by
    /// Unicode code points — unlike `==`, canonically equivalent but different strings are not equal.
    func schemaEquals(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.schemaEquals($1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for member in a.members {
                guard let match = b.members.first(where: { $0.key.utf8.elementsEqual(member.key.utf8) }),
                    match.value.schemaEquals(member.value)
                else { return false }
            }
            return true
        default:
            return false
        }
    }
}

/// A value hashed as ``JSONValue`` hashes it and compared with ``JSONValue/schemaEquals(_:)``.
/// (Values equal by code points are canonically equal, so their hashes agree.)
struct SchemaHashKey: Hashable, Sendable {
    let value: JSONValue

    static func == (lhs: SchemaHashKey, rhs: SchemaHashKey) -> Bool { lhs.value.schemaEquals(rhs.value) }

    func hash(into hasher: inout Hasher) { value.hash(into: &hasher) }
}
