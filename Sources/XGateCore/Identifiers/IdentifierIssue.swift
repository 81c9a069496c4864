import Foundation

/// One rule an identifier broke, with a stable code and a sentence for people.
public struct IdentifierIssue: Sendable, Hashable, CustomStringConvertible {
    /// A stable rule code, e.g. `uscc.check-character`, `id.birth-date` (listed in Contracts/PROTOCOL.md).
    public var rule: String
    /// What is wrong, with the offending characters.
    public var message: String

    /// Creates an issue.
    public init(rule: String, message: String) {
        self.rule = rule
        self.message = message
    }

    public var description: String { "\(rule): \(message)" }
}

/// Normalisation shared by identifiers: NFKC (full-width to ASCII), trimmed, upper-cased.
enum IdentifierText {
    static func normalise(_ raw: String) -> String {
        // Fast path: already canonical (ASCII upper-case letters and digits only), as nearly every stored code is.
        if raw.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) { return raw }
        return raw.precomposedStringWithCompatibilityMapping
            .trimmingCharacters(in: .whitespacesAndNewlines)
            .uppercased()
    }
}
