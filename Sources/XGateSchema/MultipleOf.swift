import Foundation

/// `multipleOf`, decided exactly where the numbers allow it.
///
/// Integral operands use integer arithmetic. Otherwise both numbers are read as the decimals their
/// shortest descriptions spell (so 0.0075 is a multiple of 0.0001): for a divisor with at most 15
/// fractional digits that is done with scaled integers, else with `Decimal`, falling back to Double
/// division when a number is out of `Decimal`'s range. An infinite quotient is never a multiple.
struct MultipleOf: Sendable {
    /// The largest magnitude at which every integer is exactly representable as a Double.
    private static let exactIntegerLimit = 9_007_199_254_740_992.0
    /// Below this magnitude, scaled values name exactly one decimal of their scale.
    private static let scaledLimit = 1_125_899_906_842_624.0  // 2^50

    /// The divisor (positive).
    let divisor: Double
    /// 10^k for the fewest fractional digits k that spell the divisor, when k <= 15.
    private let scale: Double?
    /// The divisor times `scale`, an integer.
    private let scaledDivisor: Int64

    /// Prepares checks against `divisor`, which must be positive and finite.
    init(_ divisor: Double) {
        self.divisor = divisor
        var power = 1.0
        for _ in 0...15 {
            let scaled = (divisor * power).rounded()
            if scaled >= 1, scaled <= MultipleOf.scaledLimit, scaled / power == divisor {
                scale = power
                scaledDivisor = Int64(scaled)
                return
            }
            power *= 10
        }
        scale = nil
        scaledDivisor = 1
    }

    /// Whether `value` is an integer multiple of the divisor.
    func admits(_ value: Double) -> Bool {
        guard value.isFinite, divisor.isFinite, divisor > 0 else { return false }
        if value == 0 { return true }
        let valueIsIntegral = value.rounded(.towardZero) == value
        let divisorIsIntegral = divisor.rounded(.towardZero) == divisor
        if divisorIsIntegral && !valueIsIntegral { return false }
        if valueIsIntegral, divisorIsIntegral, abs(value) <= MultipleOf.exactIntegerLimit,
            divisor <= MultipleOf.exactIntegerLimit
        {
            return Int64(value) % Int64(divisor) == 0
        }
        if let scale {
            let scaled = (value * scale).rounded()
            if abs(scaled) <= MultipleOf.scaledLimit {
                // Exactly one decimal with this many fractional digits is read as `value` at this
                // magnitude; if none is, `value` has more digits than the divisor and is no multiple.
                guard scaled / scale == value else { return false }
                return Int64(scaled) % scaledDivisor == 0
            }
        }
        if let decided = MultipleOf.decimalIsMultiple(value, of: divisor) { return decided }
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
        guard let decimal = Decimal(string: "\(value)"), !decimal.isNaN else { return nil }
        return decimal
    }
}
