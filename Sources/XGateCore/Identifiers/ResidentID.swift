/// A resident identity number (公民身份号码, GB 11643-1999).
public enum ResidentID {
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    /// The outcome of validating a number.
    public struct Validation: Sendable {
        /// The normalised input (NFKC, trimmed, upper-case).
        public var normalised: String
        /// Every rule the number broke; empty when valid.
        public var issues: [IdentifierIssue]
        /// Whether the number passed every rule.
        public var isValid: Bool { issues.isEmpty }
    }

    /// Validates a full (unmasked) 18-character number: characters, division, birth date, ISO 7064 MOD 11-2 check.
    /// `today` bounds the birth date (a birth date in the future is an error).
    public static func validate(_ raw: String, today: CivilDate? = nil, divisions: DivisionCodes = .standard) -> Validation {
        let number = IdentifierText.normalise(raw)
        let chars = Array(number)
        guard chars.count == 18 else {
            return Validation(
                normalised: number,
                issues: [IdentifierIssue(rule: "id.length", message: "an identity number has 18 characters, this one has \(chars.count)")])
        }
        guard chars[0..<17].allSatisfy(\.isASCIIDigit), chars[17].isASCIIDigit || chars[17] == "X" else {
            return Validation(
                normalised: number,
                issues: [
                    IdentifierIssue(rule: "id.characters", message: "the first 17 characters must be digits and the last a digit or X")
                ])
        }
        var issues: [IdentifierIssue] = []
        let division = String(chars[0..<6])
        if divisions.standing(of: division) == .unknown || division.hasPrefix("10") {
            issues.append(
                IdentifierIssue(
                    rule: "id.division", message: "positions 1–6 '\(division)' are not a current or retired GB/T 2260 division code"))
        }
        let birth = String(chars[6..<14])
        if let date = CivilDate(compact: birth), date.year >= 1900 {
            if let today, date > today {
                issues.append(IdentifierIssue(rule: "id.birth-date", message: "the birth date (positions 7–14) is in the future"))
            }
        } else {
            issues.append(IdentifierIssue(rule: "id.birth-date", message: "positions 7–14 are not a valid birth date (YYYYMMDD)"))
        }
        let expected = checkCharacter(chars[0..<17])
        if chars[17] != expected {
            issues.append(
                IdentifierIssue(
                    rule: "id.check-digit", message: "check character (position 18) should be '\(expected)', found '\(chars[17])'"))
        }
        return Validation(normalised: number, issues: issues)
    }

    /// The ISO 7064 MOD 11-2 check character for the first 17 digits.
    static func checkCharacter(_ first17: ArraySlice<Character>) -> Character {
        var sum = 0
        for (i, c) in first17.enumerated() { sum += (c.wholeNumberValue ?? 0) * weights[i] }
        return checkCharacters[sum % 11]
    }

    /// Whether a number is in the published masked form (`110105********002X`).
    public static func isMasked(_ number: String) -> Bool {
        let chars = Array(number)
        return chars.count == 18 && chars[6..<14].allSatisfy { $0 == "*" }
    }

    /// The publishing mask: first 6 and last 4 characters kept, the 8 in between replaced by `*`.
    /// Anything that is not 18 characters is masked whole, so a malformed number never leaks.
    public static func mask(_ number: String) -> String {
        let chars = Array(number)
        guard chars.count == 18 else { return String(repeating: "*", count: chars.count) }
        return String(chars[0..<6]) + "********" + String(chars[14..<18])
    }
}
