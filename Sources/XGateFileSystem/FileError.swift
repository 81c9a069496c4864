/// A file that could not be used: which file, what kind of failure, and a sentence.
public struct FileError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure (each maps to its own exit code at the CLI boundary).
    public enum Kind: String, Sendable {
        case notFound, permission, tooLarge, unreadable, malformed, invalid, exists
        /// A file of `Contracts/` or `Peers/` that does not hold together (exit 69).
        case configuration
    }

    public var kind: Kind
    public var path: String
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
