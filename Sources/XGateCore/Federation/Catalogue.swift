import XGateJSON

/// The data catalogue (数据清单): which record kinds exist and how each is treated. Loaded from
/// `Contracts/catalogue.json`, so a new yearly catalogue is deployed as data.
public struct Catalogue: Sendable {
    /// One kind of record.
    public struct Kind: Sendable {
        public var kind: String
        /// Chinese name, e.g. 行政处罚.
        public var name: String
        /// List kinds can be `exited`.
        public var isList: Bool
        /// Subject to 双公示 and the 7-working-day rule.
        public var doublePublicity: Bool
        /// Sent down to the districts as a joint-punishment list.
        public var jointPunishment: Bool
        /// Schema versions accepted.
        public var schemaVersions: [Int]
        /// Whether publicity-period rules apply.
        public var publicity: Bool
    }

    public var version: String
    public var kinds: [String: Kind]

    /// Reads the catalogue document.
    public init(json: JSONValue) throws(CatalogueError) {
        guard let version = json["version"]?.stringValue else { throw CatalogueError(message: "missing 'version'") }
        var kinds: [String: Kind] = [:]
        for (i, k) in (json["kinds"]?.arrayValue ?? []).enumerated() {
            guard let kind = k["kind"]?.stringValue else { throw CatalogueError(message: "kinds[\(i)] has no 'kind'") }
            kinds[kind] = Kind(
                kind: kind, name: k["name"]?.stringValue ?? kind, isList: k["list"]?.boolValue ?? false,
                doublePublicity: k["doublePublicity"]?.boolValue ?? false,
                jointPunishment: k["jointPunishment"]?.boolValue ?? false,
                schemaVersions: (k["schemaVersions"]?.arrayValue ?? []).compactMap(\.intValue),
                publicity: k["publicity"]?.boolValue ?? false)
        }
        guard !kinds.isEmpty else { throw CatalogueError(message: "no kinds") }
        self.version = version
        self.kinds = kinds
    }

    /// The schema id of a record of `kind` at `schemaVersion`.
    public static func schemaID(kind: String, version: Int) -> String { "urn:xgate:schema:record:\(kind):\(version)" }

    /// Kinds that are lists.
    public var listKinds: Set<String> { Set(kinds.values.filter(\.isList).map(\.kind)) }
}

/// A catalogue document that cannot be read.
public struct CatalogueError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { "catalogue: \(message)" }
}
