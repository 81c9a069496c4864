/// The `format` values this validator asserts: RFC 3339 `full-date` and `date-time`.
enum DateTimeFormat: String, Sendable {
    case date
    case dateTime = "date-time"

    /// Whether `string` is valid in this format.
    func isValid(_ string: String) -> Bool {
        if let valid = string.utf8.withContiguousStorageIfAvailable({ isValid(bytes: $0) }) { return valid }
        return Array(string.utf8).withUnsafeBufferPointer { isValid(bytes: $0) }
    }

    private func isValid(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var scanner = Scanner(bytes: bytes)
        switch self {
        case .date:
            return scanner.fullDate() && scanner.atEnd()
        case .dateTime:
            return scanner.dateTime()
        }
    }

    /// The words used in messages: "is not a valid date".
    var noun: String {
        switch self {
        case .date: return "date"
        case .dateTime: return "date-time"
        }
    }

    static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// A byte reader for the RFC 3339 grammar (ASCII only: any other byte is a mismatch).
private struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func take() -> UInt8? {
        guard index < bytes.count else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    func atEnd() -> Bool { index >= bytes.count }

    mutating func expect(_ allowed: UInt8...) -> Bool {
        guard let b = take(), allowed.contains(b) else { return false }
        return true
    }

    /// Exactly `count` ASCII digits as a number.
    mutating func digits(_ count: Int) -> Int? {
        var value = 0
        for _ in 0..<count {
            guard let b = take(), b >= 0x30, b <= 0x39 else { return nil }
            value = value * 10 + Int(b - 0x30)
        }
        return value
    }

    /// `date-fullyear "-" date-month "-" date-mday`.
    mutating func fullDate() -> Bool {
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2) else {
            return false
        }
        guard (1...12).contains(month) else { return false }
        return day >= 1 && day <= DateTimeFormat.days(inMonth: month, year: year)
    }

    /// `full-date ("T" / "t") full-time`, with the leap-second rule applied in UTC.
    mutating func dateTime() -> Bool {
        guard fullDate(), expect(0x54, 0x74) else { return false }
        guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A), let second = digits(2) else {
            return false
        }
        guard hour <= 23, minute <= 59, second <= 60 else { return false }
        if peek() == 0x2E {
            _ = take()
            guard digits(1) != nil else { return false }
            while let b = peek(), b >= 0x30, b <= 0x39 { _ = take() }
        }
        var offsetMinutes = 0
        switch take() {
        case 0x5A, 0x7A:
            break
        case let sign? where sign == 0x2B || sign == 0x2D:
            guard let offsetHour = digits(2), expect(0x3A), let offsetMinute = digits(2) else { return false }
            guard offsetHour <= 23, offsetMinute <= 59 else { return false }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (sign == 0x2B ? 1 : -1)
        default:
            return false
        }
        guard atEnd() else { return false }
        if second == 60 {
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }
}
