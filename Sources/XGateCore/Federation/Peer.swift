import XGateJSON

/// One node of the federation, as its peer file in `Peers/nodes/` describes it.
public struct Peer: Sendable {
    /// A role a node plays.
    public enum Role: String, Sendable, CaseIterable { case city, district, partner }

    /// A signing key with its validity window.
    public struct Key: Sendable {
        /// `<node id>:<RFC 7638 thumbprint>`.
        public var kid: String
        /// The public JWK (`kty` OKP, `crv` Ed25519).
        public var jwk: JSONValue
        /// The raw 32-byte Ed25519 public key, decoded from the JWK's `x`.
        public var publicKey: [UInt8]
        public var notBefore: Timestamp
        public var notAfter: Timestamp

        /// Creates a key entry.
        public init(kid: String, jwk: JSONValue, publicKey: [UInt8], notBefore: Timestamp, notAfter: Timestamp) {
            self.kid = kid
            self.jwk = jwk
            self.publicKey = publicKey
            self.notBefore = notBefore
            self.notAfter = notAfter
        }
    }

    public var id: String
    public var name: String
    public var roles: Set<Role>
    public var groups: Set<String>
    public var division: String
    public var endpoint: String
    public var keys: [Key]
    public var tlsPins: [String]
    public var development: Bool

    /// Creates a peer.
    public init(
        id: String, name: String, roles: Set<Role>, groups: Set<String> = [], division: String, endpoint: String,
        keys: [Key], tlsPins: [String] = [], development: Bool = false
    ) {
        self.id = id
        self.name = name
        self.roles = roles
        self.groups = groups
        self.division = division
        self.endpoint = endpoint
        self.keys = keys
        self.tlsPins = tlsPins
        self.development = development
    }

    /// The key with this kid, if the peer has it.
    public func key(_ kid: String) -> Key? { keys.first { $0.kid == kid } }
}
