import XGateJSON

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
