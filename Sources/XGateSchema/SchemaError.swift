import XGateJSON

/// A schema that cannot be compiled: which schema, where in it, and what is wrong.
///
/// The description reads like
/// `urn:xgate:schema:batch:1 at /properties/sequence: 'minimum' must be a number`.
public struct SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `$id` (or registry key) of the schema document at fault; nil for a standalone schema without `$id`.
    public var schemaID: String?
    /// The location of the offending (sub)schema inside that document.
    public var location: JSONPointer
    /// The keyword at fault, when there is one.
    public var keyword: String?
    /// What is wrong, in words (naming the keyword).
    public var message: String

    /// Creates a schema error.
    public init(schemaID: String?, location: JSONPointer, keyword: String? = nil, message: String) {
        self.schemaID = schemaID
        self.location = location
        self.keyword = keyword
        self.message = message
    }

    /// `<schema id> at <location>: <message>`.
    public var description: String {
        let place = location.tokens.isEmpty ? "(root)" : location.description
        return "\(schemaID ?? "schema") at \(place): \(message)"
    }
}
