/// An RFC 3339 date-time reduced to an instant (seconds since 1970-01-01T00:00:00Z), keeping the text it was read from.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since the epoch, UTC.
    public var seconds: Int64
    /// The text as written (with its offset), or a UTC rendering.
    public var text: String

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; a leap second (`:60`) counts as :59.
    public init?(_ text: String) {
        let chars = Array(text.utf8)
        guard chars.count >= 20 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard i < chars.count, chars[i] >= 0x30, chars[i] <= 0x39 else { return nil }
                value = value * 10 + Int(chars[i] - 0x30)
            }
            return value
        }
        guard let y = number(0..<4), chars[4] == 0x2D, let mo = number(5..<7), chars[7] == 0x2D, let d = number(8..<10),
            chars[10] == UInt8(ascii: "T") || chars[10] == UInt8(ascii: "t"),
            let h = number(11..<13), chars[13] == 0x3A, let mi = number(14..<16), chars[16] == 0x3A, let s = number(17..<19),
            let date = CivilDate(year: y, month: mo, day: d), h < 24, mi < 60, s <= 60
        else { return nil }
        var i = 19
        if i < chars.count, chars[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < chars.count, chars[i] >= 0x30, chars[i] <= 0x39 { i += 1 }
            guard i > start else { return nil }
        }
        guard i < chars.count else { return nil }
        var offset = 0
        if chars[i] == UInt8(ascii: "Z") || chars[i] == UInt8(ascii: "z") {
            guard i + 1 == chars.count else { return nil }
        } else {
            guard chars[i] == UInt8(ascii: "+") || chars[i] == UInt8(ascii: "-"), i + 6 == chars.count,
                let oh = number(i + 1..<i + 3), chars[i + 3] == 0x3A, let om = number(i + 4..<i + 6), oh < 24, om < 60
            else { return nil }
            offset = (oh * 3600 + om * 60) * (chars[i] == UInt8(ascii: "+") ? 1 : -1)
        }
        self.seconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(h * 3600 + mi * 60 + min(s, 59)) - Int64(offset)
        self.text = text
    }

    /// An instant rendered in UTC+08:00 (China Standard Time), the federation's local time.
    public init(seconds: Int64) {
        self.seconds = seconds
        let local = seconds + 8 * 3600
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let rest = Int(local - Int64(days) * 86_400)
        let date = CivilDate(daysSinceEpoch: days)
        func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        self.text = "\(date)T\(pad(rest / 3600)):\(pad(rest / 60 % 60)):\(pad(rest % 60))+08:00"
    }

    /// The civil date in China Standard Time.
    public var chinaDate: CivilDate {
        let local = seconds + 8 * 3600
        return CivilDate(daysSinceEpoch: Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400))
    }

    public var description: String { text }
    public static func == (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.seconds == rhs.seconds }
    public func hash(into hasher: inout Hasher) { hasher.combine(seconds) }
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.seconds < rhs.seconds }
}
