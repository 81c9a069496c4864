import Foundation

/// `multipleOf`, decided exactly where the numbers allow it.
enum MultipleOf {
    /// The largest magnitude at which every integer is exactly representable as a Double.
    private static let exactIntegerLimit = 9_007_199_254_740_992.0

    /// Whether `value` is an integer multiple of `divisor` (which is positive).
    ///
    /// Integral operands use integer arithmetic; otherwise both numbers are read as the decimals their
    /// shortest descriptions spell (so 0.0075 is a multiple of 0.0001), falling back to Double division
    /// when a number is out of `Decimal`'s range. An infinite quotient is never a multiple.
    static func isMultiple(_ value: Double, of divisor: Double) -> Bool {
        guard value.isFinite, divisor.isFinite, divisor > 0 else { return false }
        if value == 0 { return true }
        let valueIsIntegral = value.rounded(.towardZero) == value
        let divisorIsIntegral = divisor.rounded(.towardZero) == divisor
        if divisorIsIntegral && !valueIsIntegral { return false }
        if valueIsIntegral, divisorIsIntegral, abs(value) <= exactIntegerLimit, divisor <= exactIntegerLimit {
            return Int64(value) % Int64(divisor) == 0
        }
        if let decided = decimalIsMultiple(value, of: divisor) { return decided }
        let quotient = value / divisor
        guard quotient.isFinite else { return false }
        return quotient.rounded(.towardZero) == quotient
    }

    /// The exact decimal answer, or nil when either number does not fit `Decimal`.
    private static func decimalIsMultiple(_ value: Double, of divisor: Double) -> Bool? {
        guard let a = decimal(value), let b = decimal(divisor), !b.isZero else { return nil }
        var dividend = a
        var divisorDecimal = b
        var quotient = Decimal()
        guard NSDecimalDivide(&quotient, &dividend, &divisorDecimal, .plain) == .noError else { return nil }
        var rounded = Decimal()
        var unrounded = quotient
        NSDecimalRound(&rounded, &unrounded, 0, .plain)
        return rounded == quotient
    }

    private static func decimal(_ value: Double) -> Decimal? {
        // Decimal covers exponents -128...127 with 38 digits; stay well inside that.
        let magnitude = abs(value)
        guard magnitude < 1e100, magnitude > 1e-100 else { return nil }
        guard let decimal = Decimal(string: "\(value)"),
            !decimal.isNaN
        else { return nil }
        return decimal
    }
}
