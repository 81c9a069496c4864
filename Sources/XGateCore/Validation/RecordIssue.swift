import XGateJSON
import XGateSchema

/// One thing wrong with a record: where, which rule, what.
public struct RecordIssue: Error, Sendable, Equatable, CustomStringConvertible {
    /// Whether the record is refused, or kept and flagged for a person to look at.
    public enum Severity: String, Sendable { case error, review }

    /// The field (a JSON pointer into the record).
    public var field: JSONPointer
    /// `schema.<keyword>` for a contract violation, or a domain rule (`uscc.check-character`, `id.birth-date` …).
    public var rule: String
    public var message: String
    public var severity: Severity

    /// Creates an issue.
    public init(field: JSONPointer, rule: String, message: String, severity: Severity = .error) {
        self.field = field
        self.rule = rule
        self.message = message
        self.severity = severity
    }

    init(_ error: ValidationError) {
        self.init(field: error.instanceLocation, rule: "schema." + error.keyword, message: RecordIssue.message(for: error))
    }

    /// The message of a schema error; for an identity-number field a fixed sentence, because the validator's message
    /// quotes the value and a natural person's number must not travel in receipts or logs.
    static func message(for error: ValidationError) -> String {
        guard let last = error.instanceLocation.tokens.last, last.lowercased().hasSuffix("idnumber") else { return error.message }
        return "does not satisfy '\(error.keyword)' for an identity document number (the value is not repeated: personal information)"
    }

    public var description: String {
        "\(field.description.isEmpty ? "/" : field.description): \(rule): \(message)"
    }

    /// The rejection this issue becomes when the record is part of a change at `prefix`.
    public func rejection(under prefix: JSONPointer) -> Rejection {
        Rejection(code: rule, field: prefix.appending(field), message: message)
    }
}
