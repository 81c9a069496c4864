import XGateJSON

/// A compiled schema: every (sub)schema that can be reached, as nodes that refer to each other by index.
///
/// References (`$ref`) are indices too, so recursive schemas compile to a finite graph.
struct SchemaProgram: Sendable {
    /// All compiled nodes; `SchemaRule` payloads refer to them by index.
    var nodes: [SchemaNode]
    /// The index of the root node.
    var root: Int
}

/// One compiled (sub)schema.
enum SchemaNode: Sendable {
    /// `true` or a schema without assertions.
    case always
    /// `false`.
    case never
    /// The assertions and applicators of an object schema, in document order.
    case rules([SchemaRule])

    var isNever: Bool { if case .never = self { return true } else { return false } }
}

/// One keyword of an object schema.
struct SchemaRule: Sendable {
    /// The keyword as written (the token added to the keyword location).
    var keyword: String
    /// What it checks.
    var kind: RuleKind
}

/// The compiled form of a keyword.
enum RuleKind: Sendable {
    /// The admitted types, and their names as written (for messages).
    case type(TypeMask, names: [String])
    case enumeration(ValueSet)
    case const(JSONValue)
    case multipleOf(MultipleOf)
    case maximum(Double)
    case exclusiveMaximum(Double)
    case minimum(Double)
    case exclusiveMinimum(Double)
    case maxLength(Int)
    case minLength(Int)
    case pattern(SchemaPattern)
    case format(DateTimeFormat)
    case maxItems(Int)
    case minItems(Int)
    case uniqueItems
    case maxProperties(Int)
    case minProperties(Int)
    case required([String])
    case dependentRequired([Dependency])
    case dependentSchemas([NamedNode])
    case properties(PropertyTable)
    case patternProperties([PatternNode])
    case additionalProperties(AdditionalProperties)
    case propertyNames(Int)
    /// `items` after `prefix` leading items; `node` nil when `items` is `false`.
    case items(prefix: Int, node: Int?)
    case prefixItems([Int])
    case contains(node: Int, minimum: Int, maximum: Int?)
    case allOf([Int])
    case anyOf([Int])
    case oneOf([Int])
    case not(Int)
    case conditional(if: Int, then: Int?, else: Int?)
    case ref(Int)
    /// `unevaluatedProperties` (its subschema).
    case unevaluatedProperties(Int)
    /// `unevaluatedItems` (its subschema).
    case unevaluatedItems(Int)
}

/// `dependentRequired`: when `property` is present, so must `required` be.
struct Dependency: Sendable {
    var property: String
    var required: [String]
}

/// A subschema under a name (`dependentSchemas`).
struct NamedNode: Sendable {
    var name: String
    var node: Int
}

/// A subschema under a pattern (`patternProperties`).
struct PatternNode: Sendable {
    var pattern: SchemaPattern
    var node: Int
}

/// `properties`, with a hash index from member name to position.
struct PropertyTable: Sendable {
    var names: [String]
    var nodes: [Int]
    var index: [String: Int]
}

/// `additionalProperties`, with what its sibling `properties` and `patternProperties` already cover.
struct AdditionalProperties: Sendable {
    /// The subschema; nil when it is literally `false` (one error naming the extras).
    var node: Int?
    var known: Set<String>
    var patterns: [SchemaPattern]

    func isAdditional(_ name: String) -> Bool {
        if known.contains(name) { return false }
        for pattern in patterns where pattern.matches(name) { return false }
        return true
    }
}

/// The JSON types a `type` keyword admits.
struct TypeMask: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeMask(rawValue: 1)
    static let boolean = TypeMask(rawValue: 2)
    static let object = TypeMask(rawValue: 4)
    static let array = TypeMask(rawValue: 8)
    static let number = TypeMask(rawValue: 16)
    static let string = TypeMask(rawValue: 32)
    static let integer = TypeMask(rawValue: 64)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    static func named(_ name: String) -> TypeMask? {
        switch name {
        case "null": return .null
        case "boolean": return .boolean
        case "object": return .object
        case "array": return .array
        case "number": return .number
        case "string": return .string
        case "integer": return .integer
        default: return nil
        }
    }

    func admits(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return contains(.null)
        case .bool: return contains(.boolean)
        case .object: return contains(.object)
        case .array: return contains(.array)
        case .string: return contains(.string)
        case .number(let n):
            if contains(.number) { return true }
            return contains(.integer) && n.isFinite && n.rounded(.towardZero) == n
        }
    }
}

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
