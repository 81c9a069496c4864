import XGateJSON

/// One way in which an instance fails its schema.
public struct ValidationError: Sendable, Equatable, CustomStringConvertible {
    /// Where in the instance the failure is (for `required`, the object missing the member).
    public var instanceLocation: JSONPointer
    /// The failing keyword, e.g. `required`, `pattern`, `type`, `format`, `additionalProperties`;
    /// `false` for a `false` schema.
    public var keyword: String
    /// The evaluation path of the failing keyword through the schema, `$ref`s included
    /// (for example `/properties/subject/$ref/required`).
    public var keywordLocation: JSONPointer
    /// A specific, human message naming the offending value (values are truncated to ~60 characters).
    public var message: String

    /// Creates a validation error.
    public init(instanceLocation: JSONPointer, keyword: String, keywordLocation: JSONPointer, message: String) {
        self.instanceLocation = instanceLocation
        self.keyword = keyword
        self.keywordLocation = keywordLocation
        self.message = message
    }

    /// `<instance location>: <message> (<keyword> at <keyword location>)`.
    public var description: String {
        let instance = instanceLocation.tokens.isEmpty ? "(root)" : instanceLocation.description
        let schema = keywordLocation.tokens.isEmpty ? "(root)" : keywordLocation.description
        return "\(instance): \(message) (\(keyword) at \(schema))"
    }
}
