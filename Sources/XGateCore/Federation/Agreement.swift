import XGateJSON

/// A sharing agreement (共享协议): which nodes may send which kinds to which nodes, and which fields are masked
/// or withheld on the way. Read from `Peers/agreements/*.json` (`urn:xgate:schema:agreement:1`).
public struct Agreement: Sendable {
    /// Names one node, every node with a role, or every node in a group.
    public enum Selector: Sendable, Hashable, CustomStringConvertible {
        case node(String)
        case role(Peer.Role)
        case group(String)

        /// Parses `sh-city`, `role:district`, `group:g60`.
        public init?(_ text: String) {
            if text.hasPrefix("role:") {
                guard let role = Peer.Role(rawValue: String(text.dropFirst(5))) else { return nil }
                self = .role(role)
            } else if text.hasPrefix("group:") {
                let group = String(text.dropFirst(6))
                guard !group.isEmpty else { return nil }
                self = .group(group)
            } else {
                guard !text.isEmpty, !text.contains(":") else { return nil }
                self = .node(text)
            }
        }

        /// Whether the selector names this peer.
        public func matches(_ peer: Peer) -> Bool {
            switch self {
            case .node(let id): return peer.id == id
            case .role(let role): return peer.roles.contains(role)
            case .group(let group): return peer.groups.contains(group)
            }
        }

        public var description: String {
            switch self {
            case .node(let id): return id
            case .role(let role): return "role:\(role.rawValue)"
            case .group(let group): return "group:\(group)"
            }
        }
    }

    /// What flows under the agreement.
    public struct Grant: Sendable {
        public var kinds: Set<String>
        /// Subject types (`legal-person`, `natural-person`, `individual-business`); nil means all.
        public var subjects: Set<String>?
        /// Record fields (JSON pointers) sent masked. A grant that names no `mask` masks ``defaultMask``: natural
        /// persons' identity numbers travel in full only where an agreement says so (`"mask": []`).
        public var mask: Set<String>
        /// The fields masked when a grant does not say: every natural person's identity number in the subject block.
        public static let defaultMask: Set<String> = [
            "/subject/idNumber", "/subject/legalRepresentative/idNumber", "/subject/operator/idNumber",
        ]
        /// Record fields (JSON pointers) removed before sending.
        public var withhold: Set<String>
    }

    public var id: String
    public var title: String
    public var basis: String
    public var from: [Selector]
    public var to: [Selector]
    public var grants: [Grant]
    public var validFrom: CivilDate
    public var validTo: CivilDate?

    /// Reads an agreement document; errors name the field.
    public init(json: JSONValue) throws(FederationError) {
        guard let id = json["id"]?.stringValue else { throw FederationError(subject: "agreement", message: "missing 'id'") }
        func selectors(_ name: String) throws(FederationError) -> [Selector] {
            var result: [Selector] = []
            for (i, value) in (json[name]?.arrayValue ?? []).enumerated() {
                guard let text = value.stringValue, let selector = Selector(text) else {
                    throw FederationError(
                        subject: "agreement \(id)", message: "\(name)[\(i)] is not a node id, role:<role> or group:<group>")
                }
                result.append(selector)
            }
            return result
        }
        self.id = id
        self.title = json["title"]?.stringValue ?? id
        self.basis = json["basis"]?.stringValue ?? ""
        self.from = try selectors("from")
        self.to = try selectors("to")
        var grants: [Grant] = []
        for g in json["grants"]?.arrayValue ?? [] {
            func strings(_ name: String) -> [String] { (g[name]?.arrayValue ?? []).compactMap(\.stringValue) }
            grants.append(
                Grant(
                    kinds: Set(strings("kinds")), subjects: g["subjects"] == nil ? nil : Set(strings("subjects")),
                    mask: g["mask"] == nil ? Grant.defaultMask : Set(strings("mask")), withhold: Set(strings("withhold"))))
        }
        self.grants = grants
        guard let validFrom = json["validFrom"]?.stringValue.flatMap({ CivilDate($0) }) else {
            throw FederationError(subject: "agreement \(id)", message: "'validFrom' must be a date")
        }
        self.validFrom = validFrom
        self.validTo = json["validTo"]?.stringValue.flatMap { CivilDate($0) }
    }

    /// Whether the agreement is in force on `date`.
    public func isInForce(on date: CivilDate) -> Bool {
        validFrom <= date && (validTo.map { date <= $0 } ?? true)
    }
}

/// A registry or agreement that does not hold together.
public struct FederationError: Error, Sendable, CustomStringConvertible {
    /// What the error is about, e.g. `peer sh-city`, `agreement districts-to-city`.
    public var subject: String
    public var message: String

    /// Creates an error.
    public init(subject: String, message: String) {
        self.subject = subject
        self.message = message
    }

    public var description: String { "\(subject): \(message)" }
}
