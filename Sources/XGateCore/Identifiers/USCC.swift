/// A Unified Social Credit Code (统一社会信用代码, GB 32100-2015), validated and in canonical form.
public struct USCC: Sendable, Hashable, CustomStringConvertible {
    /// The canonical 18-character code.
    public let code: String

    /// The 31-character alphabet; a character's value is its index. I, O, S, V, Z never appear.
    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    static let values: [Character: Int] = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, $0) })
    /// The same values indexed by ASCII byte (-1 outside the alphabet), for the hot path.
    static let byteValues: [Int] = {
        var table = [Int](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c.asciiValue!)] = i }
        return table
    }()
    /// Weights 3^(i-1) mod 31 for positions 1–17.
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    /// GB 11714 weights for the organisation code body's first eight characters.
    static let organisationWeights = [3, 7, 9, 10, 5, 8, 4, 2]

    public var description: String { code }

    /// The outcome of validating a code.
    public struct Validation: Sendable {
        /// The normalised input (NFKC, trimmed, upper-case), canonical if `issues` is empty.
        public var normalised: String
        /// Every rule the code broke; empty when valid.
        public var issues: [IdentifierIssue]
        /// True when the only failures are check characters of a shape-valid code from a province that issued trial
        /// codes: possibly an early trial code (e.g. Fujian `91350100M0001TGQXM`) that was legally issued. Such a
        /// record is flagged for review, not refused.
        public var mayBeTrialCode: Bool
        /// The division the code's digits 3–8 name, when known.
        public var division: DivisionCodes.Standing
        /// Whether the code passed every rule.
        public var isValid: Bool { issues.isEmpty }
    }

    /// Parses and validates; returns nil with the issues through `validate` when invalid.
    public init?(_ raw: String, divisions: DivisionCodes = .standard) {
        let result = USCC.validate(raw, divisions: divisions)
        guard result.isValid else { return nil }
        self.code = result.normalised
    }

    /// Province prefixes where early trial codes that fail the check were legally issued (Fujian).
    public static let defaultTrialCodeProvinces: Set<String> = ["35"]

    /// Validates a code, reporting every rule it breaks. A code from `trialCodeProvinces` that fails only its check
    /// characters is marked ``Validation/mayBeTrialCode``.
    public static func validate(
        _ raw: String, divisions: DivisionCodes = .standard, trialCodeProvinces: Set<String> = defaultTrialCodeProvinces
    ) -> Validation {
        let code = IdentifierText.normalise(raw)
        if let division = quickCheck(code, divisions: divisions) {
            return Validation(normalised: code, issues: [], mayBeTrialCode: false, division: division)
        }
        var issues: [IdentifierIssue] = []
        let chars = Array(code)
        if chars.contains(where: { $0 == "-" || $0 == " " || $0 == "_" || $0 == "." }) {
            return Validation(
                normalised: code,
                issues: [IdentifierIssue(rule: "uscc.separator", message: "separators (-, space, _, .) are not allowed inside a code")],
                mayBeTrialCode: false, division: .unknown)
        }
        guard chars.count == 18 else {
            return Validation(
                normalised: code,
                issues: [IdentifierIssue(rule: "uscc.length", message: "a code has 18 characters, this one has \(chars.count)")],
                mayBeTrialCode: false, division: .unknown)
        }
        if let bad = chars.firstIndex(where: { !$0.isASCII || byteValues[Int($0.asciiValue ?? 0)] < 0 }) {
            return Validation(
                normalised: code,
                issues: [
                    IdentifierIssue(
                        rule: "uscc.alphabet",
                        message: "character '\(chars[bad])' at position \(bad + 1) is not in the code alphabet (I, O, S, V, Z never appear)"
                    )
                ],
                mayBeTrialCode: false, division: .unknown)
        }
        let divisionDigits = String(chars[2..<8])
        var division = DivisionCodes.Standing.unknown
        if !divisionDigits.allSatisfy(\.isASCIIDigit) {
            issues.append(
                IdentifierIssue(
                    rule: "uscc.division", message: "positions 3–8 must be digits (a GB/T 2260 division code), found '\(divisionDigits)'"))
        } else {
            division = divisions.standing(of: divisionDigits)
            if division == .unknown {
                issues.append(
                    IdentifierIssue(
                        rule: "uscc.division",
                        message: "positions 3–8 '\(divisionDigits)' are not a current or retired GB/T 2260 division code"))
            }
        }
        var checkFailures = 0
        if let expected = organisationCheckCharacter(Array(chars[8..<16])), chars[16] != expected {
            issues.append(
                IdentifierIssue(
                    rule: "uscc.organisation-code-check",
                    message:
                        "position 17 is the GB 11714 check character of the organisation code (positions 9–17): expected '\(expected)', found '\(chars[16])'"
                ))
            checkFailures += 1
        } else if organisationCheckCharacter(Array(chars[8..<16])) == nil {
            issues.append(
                IdentifierIssue(
                    rule: "uscc.organisation-code-check",
                    message: "positions 9–16 contain characters not allowed in a GB 11714 organisation code"))
            checkFailures += 1
        }
        let expected = checkCharacter(bytes: Array(code.utf8))
        if chars[17] != expected {
            issues.append(
                IdentifierIssue(
                    rule: "uscc.check-character",
                    message: "check character (position 18) should be '\(expected)', found '\(chars[17])'"))
            checkFailures += 1
        }
        let mayBeTrial = checkFailures > 0 && checkFailures == issues.count && trialCodeProvinces.contains(String(divisionDigits.prefix(2)))
        return Validation(normalised: code, issues: issues, mayBeTrialCode: mayBeTrial, division: division)
    }

    /// The GB 32100 check character for the first 17 characters.
    static func checkCharacter(_ first17: ArraySlice<Character>) -> Character {
        var sum = 0
        for (i, c) in first17.enumerated() { sum += (values[c] ?? 0) * weights[i] }
        return alphabet[(31 - sum % 31) % 31]
    }

    /// The hot path for a code that is valid: every check on the UTF-8 bytes, no messages. Returns the division's
    /// standing when every rule holds, nil when anything fails (the caller then finds out what, with messages).
    static func quickCheck(_ code: String, divisions: DivisionCodes) -> DivisionCodes.Standing? {
        let bytes = Array(code.utf8)
        guard bytes.count == 18 else { return nil }
        for b in bytes where byteValues[Int(b)] < 0 { return nil }
        for i in 2..<8 where bytes[i] < 0x30 || bytes[i] > 0x39 { return nil }
        var sum = 0
        for i in 0..<8 {
            let b = bytes[8 + i]
            let value = b <= 0x39 ? Int(b) - 0x30 : Int(b) - 55
            sum += value * organisationWeights[i]
        }
        let organisationCheck = 11 - sum % 11
        let expectedByte: UInt8 = organisationCheck == 10 ? 0x58 : organisationCheck == 11 ? 0x30 : UInt8(0x30 + organisationCheck)
        guard bytes[16] == expectedByte, Character(Unicode.Scalar(bytes[17])) == checkCharacter(bytes: bytes) else { return nil }
        let standing = divisions.standing(of: String(decoding: bytes[2..<8], as: UTF8.self))
        return standing == .unknown ? nil : standing
    }

    /// The GB 32100 check character computed on ASCII bytes (the code is already known to be in the alphabet).
    static func checkCharacter(bytes: [UInt8]) -> Character {
        var sum = 0
        for i in 0..<17 { sum += byteValues[Int(bytes[i])] * weights[i] }
        return alphabet[(31 - sum % 31) % 31]
    }

    /// The GB 11714 check character for an organisation code body's first eight characters
    /// (digits 0–9, letters A–Z valued 10–35); nil if a character is outside that alphabet.
    static func organisationCheckCharacter(_ body: [Character]) -> Character? {
        var sum = 0
        for (i, c) in body.enumerated() {
            let value: Int
            if let digit = c.wholeNumberValue, c.isASCII {
                value = digit
            } else if let ascii = c.asciiValue, ascii >= 65, ascii <= 90 {
                value = Int(ascii) - 55
            } else {
                return nil
            }
            sum += value * organisationWeights[i]
        }
        let check = 11 - sum % 11
        switch check {
        case 10: return "X"
        case 11: return "0"
        default: return Character(String(check))
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
