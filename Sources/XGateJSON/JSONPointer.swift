/// A JSON Pointer (RFC 6901), used to name the field an error is about.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible, Comparable {
    /// The reference tokens, unescaped.
    public var tokens: [String]

    /// The pointer to the whole document.
    public static let root = JSONPointer(tokens: [])

    /// Creates a pointer from unescaped tokens.
    public init(tokens: [String]) { self.tokens = tokens }

    /// Parses the string form (`""`, `"/subject/uscc"`, `"/changes/0"`); nil if it does not start with `/`.
    public init?(_ string: String) {
        if string.isEmpty { self.tokens = []; return }
        guard string.hasPrefix("/") else { return nil }
        self.tokens = string.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).replacingOccurrences("~1", "/").replacingOccurrences("~0", "~")
        }
    }

    /// The pointer one level deeper.
    public func appending(_ token: String) -> JSONPointer { JSONPointer(tokens: tokens + [token]) }
    /// The pointer one level deeper, into an array element.
    public func appending(_ index: Int) -> JSONPointer { JSONPointer(tokens: tokens + [String(index)]) }
    /// The pointer followed by another.
    public func appending(_ other: JSONPointer) -> JSONPointer { JSONPointer(tokens: tokens + other.tokens) }

    /// The escaped string form.
    public var description: String {
        tokens.map { "/" + $0.replacingOccurrences("~", "~0").replacingOccurrences("/", "~1") }.joined()
    }

    public static func < (lhs: JSONPointer, rhs: JSONPointer) -> Bool { lhs.description < rhs.description }
}

extension JSONValue {
    /// The value the pointer names, or nil if there is none.
    public func value(at pointer: JSONPointer) -> JSONValue? {
        var current = self
        for token in pointer.tokens {
            switch current {
            case .object(let o):
                guard let next = o[token] else { return nil }
                current = next
            case .array(let a):
                guard let index = Int(token), index >= 0, index < a.count, String(index) == token else { return nil }
                current = a[index]
            default:
                return nil
            }
        }
        return current
    }

    /// Replaces the value the pointer names; returns false (and changes nothing) if the parent does not exist.
    @discardableResult
    public mutating func set(_ newValue: JSONValue, at pointer: JSONPointer) -> Bool {
        guard let first = pointer.tokens.first else { self = newValue; return true }
        let rest = JSONPointer(tokens: Array(pointer.tokens.dropFirst()))
        switch self {
        case .object(var o):
            guard var child = o[first] else { return false }
            guard child.set(newValue, at: rest) else { return false }
            o[first] = child
            self = .object(o)
            return true
        case .array(var a):
            guard let index = Int(first), index >= 0, index < a.count else { return false }
            guard a[index].set(newValue, at: rest) else { return false }
            self = .array(a)
            return true
        default:
            return false
        }
    }
}

extension String {
    /// `replacingOccurrences(of:with:)` without Foundation.
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard contains(target) else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
