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
