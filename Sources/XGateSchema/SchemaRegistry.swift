import XGateJSON

/// A set of schema documents keyed by `$id`, which may `$ref` each other
/// (`"urn:xgate:schema:common:1#/$defs/subject"`).
///
/// Each schema is checked when it is added (references to schemas not added yet are checked later);
/// ``validator(for:)`` compiles a schema with everything it references and refuses unresolvable `$ref`s.
public struct SchemaRegistry: Sendable {
    /// The options every validator from this registry is compiled with.
    public let options: SchemaOptions
    private var documents: [String: JSONValue] = [:]
    private var order: [String] = []

    /// Creates an empty registry.
    public init(options: SchemaOptions = .init()) {
        self.options = options
    }

    /// The ids of the registered schemas, in the order they were added.
    public var ids: [String] { order }

    /// Adds a schema under its top-level `$id`, which is required.
    /// - Throws: ``SchemaError`` when `$id` is missing, already registered, or the schema does not compile.
    public mutating func add(_ schema: JSONValue) throws(SchemaError) {
        guard case .string(let id)? = schema["$id"], !id.isEmpty else {
            throw SchemaError(
                schemaID: nil, location: .root, keyword: "$id",
                message: "a registered schema needs a top-level '$id' string")
        }
        try add(schema, id: id)
    }

    /// Adds a schema under `id` (a trailing empty fragment, `urn:x#`, is dropped).
    /// - Throws: ``SchemaError`` when `id` is already registered with a different schema, or the schema
    ///   does not compile.
    public mutating func add(_ schema: JSONValue, id: String) throws(SchemaError) {
        let key = SchemaCompiler.trimmingEmptyFragment(id)
        guard !key.isEmpty, !key.contains("#") else {
            throw SchemaError(
                schemaID: id, location: .root, keyword: "$id", message: "'\(id)' is not a usable schema id")
        }
        if let existing = documents[key] {
            guard existing == schema else {
                throw SchemaError(
                    schemaID: key, location: .root, keyword: "$id",
                    message: "a different schema with id '\(key)' is already registered")
            }
            return
        }
        var candidate = documents
        candidate[key] = schema
        var compiler = SchemaCompiler(options: options, documents: candidate, toleratesMissingDocuments: true)
        _ = try compiler.compile(document: key)
        documents = candidate
        order.append(key)
    }

    /// The registered schema under `id`, as added.
    public func schema(for id: String) -> JSONValue? {
        documents[SchemaCompiler.trimmingEmptyFragment(id)]
    }

    /// Compiles the schema `id` with every schema it references.
    /// - Throws: ``SchemaError`` when `id` is not registered or a `$ref` cannot be resolved.
    public func validator(for id: String) throws(SchemaError) -> SchemaValidator {
        let key = SchemaCompiler.trimmingEmptyFragment(id)
        var compiler = SchemaCompiler(options: options, documents: documents)
        return SchemaValidator(program: try compiler.compile(document: key))
    }
}
