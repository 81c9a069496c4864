import Foundation

/// An ECMA-262 regular expression (as JSON Schema's `pattern` and `patternProperties` use), compiled once.
///
/// Matching is an unanchored search over the whole string. The pattern is translated to ICU syntax for
/// `NSRegularExpression` so that the ECMA-262 meanings hold where ICU differs: `$` is the end of input (ICU
/// also matches before a final newline), `\d`, `\w`, `\b` are ASCII-only, `\s` is ECMA white space, `.`
/// excludes only ECMA line terminators, and `[` inside a class is a literal. Patterns that are plain
/// literals (optionally anchored with `^`) or sequences of simple ASCII classes (``SimplePattern``)
/// skip the regex engine.
struct SchemaPattern: Sendable {
    /// The pattern as written in the schema.
    let source: String
    private let matcher: Matcher

    private enum Matcher: Sendable {
        case contains([UInt8])
        case prefix([UInt8])
        case simple(SimplePattern)
        case regex(RegexBox)
    }

    /// Compiles `source`; throws a message when it is not a valid regular expression.
    init(_ source: String) throws(PatternError) {
        self.source = source
        if let literal = SchemaPattern.plainLiteral(source) {
            matcher = literal.anchored ? .prefix(Array(literal.text.utf8)) : .contains(Array(literal.text.utf8))
            return
        }
        if let simple = SimplePattern(source) {
            matcher = .simple(simple)
            return
        }
        do {
            let translated = SchemaPattern.translate(source)
            matcher = .regex(RegexBox(try NSRegularExpression(pattern: translated, options: [])))
        } catch {
            throw PatternError(message: "'\(source)' is not a valid regular expression")
        }
    }

    /// Whether the pattern matches somewhere in `string`.
    func matches(_ string: String) -> Bool {
        switch matcher {
        case .prefix(let bytes):
            return string.utf8.starts(with: bytes)
        case .contains(let bytes):
            return SchemaPattern.utf8(string, contains: bytes)
        case .simple(let simple):
            return simple.matches(string)
        case .regex(let box):
            let range = NSRange(location: 0, length: string.utf16.count)
            return box.regex.rangeOfFirstMatch(in: string, options: [], range: range).location != NSNotFound
        }
    }

    private static func utf8(_ string: String, contains needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        let hay = Array(string.utf8)
        guard hay.count >= needle.count else { return false }
        var i = 0
        while i + needle.count <= hay.count {
            if hay[i] == first, hay[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    /// The literal text of a pattern without metacharacters (after an optional leading `^`), or nil.
    private static func plainLiteral(_ source: String) -> (text: Substring, anchored: Bool)? {
        var text = source[...]
        var anchored = false
        if text.hasPrefix("^") {
            anchored = true
            text = text.dropFirst()
        }
        let meta: Set<Character> = ["\\", "^", "$", ".", "|", "?", "*", "+", "(", ")", "[", "]", "{", "}"]
        guard !text.contains(where: { meta.contains($0) }) else { return nil }
        return (text, anchored)
    }

    private static let ecmaWhiteSpace =
        "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}"
        + "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"
    private static let wordClass = "a-zA-Z0-9_"
    private static let wordBoundary =
        "(?:(?<=[a-zA-Z0-9_])(?![a-zA-Z0-9_])|(?<![a-zA-Z0-9_])(?=[a-zA-Z0-9_]))"
    private static let notWordBoundary =
        "(?:(?<=[a-zA-Z0-9_])(?=[a-zA-Z0-9_])|(?<![a-zA-Z0-9_])(?![a-zA-Z0-9_]))"

    /// Rewrites ECMA-262 syntax into ICU syntax with the same meaning.
    static func translate(_ source: String) -> String {
        let chars = Array(source.unicodeScalars)
        var out = ""
        var inClass = false
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\" {
                guard i + 1 < chars.count else {
                    out += "\\"
                    i += 1
                    continue
                }
                let e = chars[i + 1]
                i += 2
                switch e {
                case "d": out += inClass ? "0-9" : "[0-9]"
                case "D": out += "[^0-9]"
                case "w": out += inClass ? wordClass : "[\(wordClass)]"
                case "W": out += "[^\(wordClass)]"
                case "s": out += inClass ? ecmaWhiteSpace : "[\(ecmaWhiteSpace)]"
                case "S": out += "[^\(ecmaWhiteSpace)]"
                case "b": out += inClass ? "\\x{08}" : wordBoundary
                case "B": out += inClass ? "B" : notWordBoundary
                case "u" where i < chars.count && chars[i] == "{":
                    out += "\\x{"
                    i += 1
                default:
                    out += "\\"
                    out.unicodeScalars.append(e)
                }
                continue
            }
            i += 1
            if inClass {
                switch c {
                case "]":
                    inClass = false
                    out += "]"
                case "[": out += "\\["
                case "&": out += "\\&"
                default: out.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "[":
                let negated = i < chars.count && chars[i] == "^"
                let bodyStart = negated ? i + 1 : i
                if bodyStart < chars.count && chars[bodyStart] == "]" {
                    // `[]` matches nothing, `[^]` matches anything.
                    out += negated ? "(?s:.)" : "(?!)"
                    i = bodyStart + 1
                } else {
                    out += negated ? "[^" : "["
                    i = bodyStart
                    inClass = true
                }
            case "$": out += "\\z"
            case ".": out += "[^\\n\\r\\x{2028}\\x{2029}]"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// Why a pattern did not compile.
struct PatternError: Error, Sendable {
    var message: String
}

/// `NSRegularExpression` is immutable and documented as safe to use from several threads at once.
final class RegexBox: @unchecked Sendable {
    let regex: NSRegularExpression
    init(_ regex: NSRegularExpression) { self.regex = regex }
}
