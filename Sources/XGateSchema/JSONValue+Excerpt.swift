import XGateJSON

extension JSONValue {
    /// The longest excerpt of a value quoted in a message, in characters.
    static let excerptLimit = 60

    /// A short rendering for messages: strings in single quotes, other values as compact JSON, cut to
    /// about ``excerptLimit`` characters with "…" so a message never carries a whole large value.
    var excerpt: String {
        var writer = ExcerptWriter(limit: JSONValue.excerptLimit)
        writer.write(self)
        return writer.finish()
    }

    /// A string quoted and cut for a message, like ``excerpt`` for a string value.
    static func quoted(_ string: String) -> String {
        var writer = ExcerptWriter(limit: excerptLimit)
        writer.writeString(string, quote: "'")
        return writer.finish()
    }
}

/// Renders a value into at most `limit` characters, stopping early on large values.
private struct ExcerptWriter {
    let limit: Int
    var out = ""
    var count = 0
    var truncated = false

    init(limit: Int) { self.limit = limit }

    mutating func emit(_ text: String) {
        for character in text {
            guard count < limit else {
                truncated = true
                return
            }
            out.append(character)
            count += 1
        }
    }

    mutating func finish() -> String { truncated ? out + "…" : out }

    mutating func write(_ value: JSONValue) {
        guard !truncated else { return }
        switch value {
        case .string(let s):
            writeString(s, quote: "'")
        case .array(let elements):
            emit("[")
            for (i, element) in elements.enumerated() {
                guard !truncated else { return }
                if i > 0 { emit(", ") }
                write(element)
            }
            emit("]")
        case .object(let object):
            emit("{")
            for (i, member) in object.members.enumerated() {
                guard !truncated else { return }
                if i > 0 { emit(", ") }
                writeString(member.key, quote: "\"")
                emit(": ")
                write(member.value)
            }
            emit("}")
        default:
            emit(value.serializedString())
        }
    }

    mutating func writeString(_ s: String, quote: Character) {
        emit(String(quote))
        for scalar in s.unicodeScalars {
            guard !truncated else { return }
            switch scalar {
            case "\n": emit("\\n")
            case "\r": emit("\\r")
            case "\t": emit("\\t")
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                emit("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex)
            default:
                if Character(scalar) == quote { emit("\\") }
                emit(String(scalar))
            }
        }
        emit(String(quote))
    }
}
