/// The form of a node id (`sh-city`, `sh-xuhui`, `zj-jiaxing`): `urn:xgate:schema:common:1#/$defs/nodeId`, i.e.
/// `^[a-z]{2}-[a-z0-9]+(-[a-z0-9]+)*$`, at most 64 characters. The one check for configuration, the CLI and the API.
public enum NodeId {
    /// The longest node id.
    public static let maximumLength = 64

    /// Whether `text` has the form of a node id.
    public static func isValid(_ text: some StringProtocol) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 4, bytes.count <= maximumLength, bytes[2] == UInt8(ascii: "-") else { return false }
        func lower(_ b: UInt8) -> Bool { b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") }
        func digit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        guard lower(bytes[0]), lower(bytes[1]) else { return false }
        var previousWasDash = true
        for byte in bytes[3...] {
            if byte == UInt8(ascii: "-") {
                if previousWasDash { return false }
                previousWasDash = true
            } else if lower(byte) || digit(byte) {
                previousWasDash = false
            } else {
                return false
            }
        }
        return !previousWasDash
    }

    /// The region of a node (PROTOCOL.md §2.1): the id's first two letters (`sh` 上海, `zj` 浙江, `js` 江苏, `ah` 安徽).
    public static func region(of id: some StringProtocol) -> Substring { Substring(id).prefix(2) }
}
