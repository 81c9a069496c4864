import XGateJSON

/// A compiled JSON Schema (draft 2020-12) that validates instances.
///
/// Compile once and reuse: the schema is turned into a graph of nodes with regular expressions compiled
/// and `$ref`s resolved, so validating reads no schema JSON. A validator is an immutable value and can be
/// used from any number of threads at once.
public struct SchemaValidator: Sendable {
    let program: SchemaProgram

    /// Compiles a standalone schema. `$ref`s may point inside it (`#`, `#/$defs/x`, its own `$id`,
    /// `$anchor`s); use ``SchemaRegistry`` for references to other schemas.
    /// - Throws: ``SchemaError`` naming the keyword and location when the schema cannot be compiled.
    public init(schema: JSONValue, options: SchemaOptions = .init()) throws(SchemaError) {
        var key = ""
        if case .string(let id)? = schema["$id"] { key = SchemaCompiler.trimmingEmptyFragment(id) }
        var compiler = SchemaCompiler(options: options, documents: [key: schema])
        program = try compiler.compile(document: key)
    }

    init(program: SchemaProgram) {
        self.program = program
    }

    /// Every way `instance` fails the schema, in the document order of the schema's keywords; empty when
    /// the instance is valid.
    public func validate(_ instance: JSONValue) -> [ValidationError] {
        var evaluator = SchemaEvaluator(nodes: program.nodes, collecting: true)
        _ = evaluator.evaluate(program.root, instance)
        return evaluator.errors
    }

    /// Whether `instance` is valid. Stops at the first failure and builds no messages.
    public func isValid(_ instance: JSONValue) -> Bool {
        var evaluator = SchemaEvaluator(nodes: program.nodes, collecting: false)
        return evaluator.evaluate(program.root, instance) && !evaluator.exhausted
    }
}
