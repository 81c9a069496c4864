/// A fast matcher for the regular expressions catalogue schemas mostly use: an optional `^`, a sequence
/// of ASCII literals, `\d`, `\w` and non-negated ASCII classes (`[0-9A-HJ-N]`), each with an optional
/// quantifier (`?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, lazy or not), and an optional final `$`.
///
/// Matching is over UTF-8 bytes in linear time (no backtracking): every element admits only ASCII, so a
/// multi-byte character can never be part of a match, and byte positions stand in for characters.
/// Any other pattern makes ``init(_:)`` return nil and is left to `NSRegularExpression`.
struct SimplePattern: Sendable {
    /// One element: a set of ASCII bytes repeated between `minimum` and `maximum` times.
    struct Element: Sendable {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var minimum = 1
        var maximum = 1

        func admits(_ byte: UInt8) -> Bool {
            byte < 64 ? (low >> UInt64(byte)) & 1 == 1 : byte < 128 ? (high >> UInt64(byte - 64)) & 1 == 1 : false
        }

        mutating func insert(_ byte: UInt8) {
            if byte < 64 { low |= 1 << UInt64(byte) } else { high |= 1 << UInt64(byte - 64) }
        }

        mutating func insert(_ range: ClosedRange<UInt8>) { for b in range { insert(b) } }
    }

    private(set) var elements: [Element] = []
    private(set) var anchoredStart = false
    private(set) var anchoredEnd = false

    /// Parses `source`, or returns nil when it uses anything beyond the supported subset.
    init?(_ source: String) {
        let chars = Array(source.utf8)
        guard chars.allSatisfy({ $0 < 128 }) else { return nil }
        var i = 0
        if i < chars.count, chars[i] == UInt8(ascii: "^") {
            anchoredStart = true
            i += 1
        }
        while i < chars.count {
            let c = chars[i]
            if c == UInt8(ascii: "$") {
                guard i == chars.count - 1 else { return nil }
                anchoredEnd = true
                break
            }
            var element = Element()
            switch c {
            case UInt8(ascii: "["):
                guard let end = SimplePattern.parseClass(chars, from: i + 1, into: &element) else { return nil }
                i = end
            case UInt8(ascii: "\\"):
                guard i + 1 < chars.count, SimplePattern.parseEscape(chars[i + 1], into: &element) else { return nil }
                i += 2
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "|"), UInt8(ascii: "."), UInt8(ascii: "*"),
                UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "]"),
                UInt8(ascii: "^"):
                return nil
            default:
                element.insert(c)
                i += 1
            }
            guard let next = SimplePattern.parseQuantifier(chars, from: i, into: &element) else { return nil }
            i = next
            elements.append(element)
        }
    }

    /// `\d`, `\w` or an escaped punctuation character.
    private static func parseEscape(_ e: UInt8, into element: inout Element) -> Bool {
        switch e {
        case UInt8(ascii: "d"):
            element.insert(UInt8(ascii: "0")...UInt8(ascii: "9"))
        case UInt8(ascii: "w"):
            element.insert(UInt8(ascii: "0")...UInt8(ascii: "9"))
            element.insert(UInt8(ascii: "a")...UInt8(ascii: "z"))
            element.insert(UInt8(ascii: "A")...UInt8(ascii: "Z"))
            element.insert(UInt8(ascii: "_"))
        default:
            // Only identity escapes of punctuation; letters and digits have other meanings.
            let isAlphanumeric = (e >= 0x30 && e <= 0x39) || (e >= 0x41 && e <= 0x5A) || (e >= 0x61 && e <= 0x7A)
            guard !isAlphanumeric, e >= 0x21, e < 0x7F else { return false }
            element.insert(e)
        }
        return true
    }

    /// A class body after `[`; returns the index after `]`.
    private static func parseClass(_ chars: [UInt8], from start: Int, into element: inout Element) -> Int? {
        var i = start
        guard i < chars.count, chars[i] != UInt8(ascii: "^"), chars[i] != UInt8(ascii: "]") else { return nil }
        while i < chars.count {
            let c = chars[i]
            if c == UInt8(ascii: "]") { return i + 1 }
            if c == UInt8(ascii: "[") { return nil }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < chars.count, chars[i + 1] != UInt8(ascii: "b"), parseEscape(chars[i + 1], into: &element)
                else { return nil }
                if i + 2 < chars.count, chars[i + 2] == UInt8(ascii: "-"), i + 3 < chars.count,
                    chars[i + 3] != UInt8(ascii: "]")
                {
                    return nil  // a range starting at an escape
                }
                i += 2
                continue
            }
            if i + 2 < chars.count, chars[i + 1] == UInt8(ascii: "-"), chars[i + 2] != UInt8(ascii: "]") {
                let upper = chars[i + 2]
                guard upper != UInt8(ascii: "\\"), upper != UInt8(ascii: "["), c <= upper else { return nil }
                element.insert(c...upper)
                i += 3
                continue
            }
            element.insert(c)
            i += 1
        }
        return nil
    }

    /// An optional quantifier (and lazy `?`); returns the index after it.
    private static func parseQuantifier(_ chars: [UInt8], from start: Int, into element: inout Element) -> Int? {
        var i = start
        guard i < chars.count else { return i }
        switch chars[i] {
        case UInt8(ascii: "?"):
            (element.minimum, element.maximum) = (0, 1)
            i += 1
        case UInt8(ascii: "*"):
            (element.minimum, element.maximum) = (0, Int.max)
            i += 1
        case UInt8(ascii: "+"):
            (element.minimum, element.maximum) = (1, Int.max)
            i += 1
        case UInt8(ascii: "{"):
            i += 1
            guard let (low, afterLow) = number(chars, from: i) else { return nil }
            i = afterLow
            var high = low
            if i < chars.count, chars[i] == UInt8(ascii: ",") {
                i += 1
                if let (parsed, afterHigh) = number(chars, from: i) {
                    high = parsed
                    i = afterHigh
                } else {
                    high = Int.max
                }
            }
            guard i < chars.count, chars[i] == UInt8(ascii: "}"), low <= high else { return nil }
            i += 1
            (element.minimum, element.maximum) = (low, high)
        default:
            return i
        }
        if i < chars.count, chars[i] == UInt8(ascii: "?") { i += 1 }
        if i < chars.count,
            [UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "{")].contains(chars[i])
        {
            return nil
        }
        return i
    }

    private static func number(_ chars: [UInt8], from start: Int) -> (Int, Int)? {
        var i = start
        var value = 0
        while i < chars.count, chars[i] >= 0x30, chars[i] <= 0x39, i - start < 6 {
            value = value * 10 + Int(chars[i] - 0x30)
            i += 1
        }
        return i > start ? (value, i) : nil
    }

    /// Whether the pattern matches somewhere in `string`.
    func matches(_ string: String) -> Bool {
        if let matched = string.utf8.withContiguousStorageIfAvailable({ matches(bytes: $0) }) { return matched }
        return Array(string.utf8).withUnsafeBufferPointer { matches(bytes: $0) }
    }

    /// Tracks the set of byte positions reachable after each element, in O(elements × length).
    private func matches(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = bytes.count
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * (n + 2)) { buffer -> Bool in
            let reach = UnsafeMutableBufferPointer(rebasing: buffer[0..<(n + 2)])
            let run = UnsafeMutableBufferPointer(rebasing: buffer[(n + 2)..<(2 * n + 4)])
            let delta = UnsafeMutableBufferPointer(rebasing: buffer[(2 * n + 4)..<(3 * n + 6)])
            for p in 0...(n + 1) { reach[p] = anchoredStart ? (p == 0 ? 1 : 0) : (p <= n ? 1 : 0) }
            for element in elements {
                // run[p]: how many bytes from p on the element admits.
                run[n] = 0
                var p = n - 1
                while p >= 0 {
                    run[p] = element.admits(bytes[p]) ? run[p + 1] + 1 : 0
                    p -= 1
                }
                for q in 0...(n + 1) { delta[q] = 0 }
                var any = false
                for p in 0...n where reach[p] != 0 {
                    let longest = min(element.maximum, run[p])
                    guard longest >= element.minimum else { continue }
                    delta[p + element.minimum] += 1
                    delta[p + longest + 1] -= 1
                    any = true
                }
                guard any else { return false }
                var open = 0
                for q in 0...n {
                    open += delta[q]
                    reach[q] = open > 0 ? 1 : 0
                }
            }
            return anchoredEnd ? reach[n] != 0 : (0...n).contains { reach[$0] != 0 }
        }
    }
}
