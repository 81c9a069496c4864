/// Base64url without padding (RFC 4648 §5), as JOSE uses it.
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// The value of each byte in the alphabet, 0xFF outside it.
    public static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Encodes bytes (a batch's payload is over a megabyte: written straight into the string's storage).
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        let length = input.count / 3 * 4 + [0, 2, 3][input.count % 3]
        guard length > 0 else { return "" }
        return input.withUnsafeBufferPointer { input in
            alphabet.withUnsafeBufferPointer { alphabet in
                String(unsafeUninitializedCapacity: length) { out in
                    var i = 0
                    var o = 0
                    while i + 3 <= input.count {
                        let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                        out[o] = alphabet[Int(n >> 18 & 63)]
                        out[o + 1] = alphabet[Int(n >> 12 & 63)]
                        out[o + 2] = alphabet[Int(n >> 6 & 63)]
                        out[o + 3] = alphabet[Int(n & 63)]
                        i += 3
                        o += 4
                    }
                    let rest = input.count - i
                    if rest > 0 {
                        let n = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                        out[o] = alphabet[Int(n >> 18 & 63)]
                        out[o + 1] = alphabet[Int(n >> 12 & 63)]
                        if rest == 2 { out[o + 2] = alphabet[Int(n >> 6 & 63)] }
                    }
                    return length
                }
            }
        }
    }

    /// Decodes unpadded base64url; nil on any character outside the alphabet, padding, or an impossible length.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(bytes: $0) }
    }

    /// ``decode(_:)`` of the text's UTF-8 bytes.
    public static func decode(bytes input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard input.count % 4 != 1 else { return nil }
        let length = input.count / 4 * 3 + [0, 0, 1, 2][input.count % 4]
        var valid = true
        let out = decodeTable.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: length) { out, count in
                var i = 0
                var o = 0
                while i + 4 <= input.count {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])], c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 {
                        valid = false
                        break
                    }
                    let n = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[o] = UInt8(n >> 16 & 0xFF)
                    out[o + 1] = UInt8(n >> 8 & 0xFF)
                    out[o + 2] = UInt8(n & 0xFF)
                    i += 4
                    o += 3
                }
                let rest = input.count - i
                if valid && rest > 0 {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])], c = rest == 3 ? table[Int(input[i + 2])] : 0
                    if (a | b | c) & 0xC0 != 0 {
                        valid = false
                    } else {
                        let n = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                        // Non-canonical trailing bits would let two strings decode to the same bytes: refuse them.
                        if (rest == 2 && n & 0xFFFF != 0) || (rest == 3 && n & 0xFF != 0) { valid = false }
                        out[o] = UInt8(n >> 16 & 0xFF)
                        if rest == 3 { out[o + 1] = UInt8(n >> 8 & 0xFF) }
                    }
                }
                count = valid ? length : 0
            }
        }
        return valid ? out : nil
    }
}
