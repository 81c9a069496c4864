import XGateJSON
import XGateSchema

/// Everything in `Contracts/` the gateway checks against, loaded once: the schemas compiled, the catalogue,
/// the working-day calendar and the publicity rules.
public struct ContractSet: Sendable {
    public var catalogue: Catalogue
    public var registry: SchemaRegistry
    public var calendar: WorkingDayCalendar
    public var publicity: PublicityRules?
    /// Raw schema documents by `$id`, for questions about their structure (does a kind have a field?).
    public var schemaDocuments: [String: JSONValue]
    /// Compiled validators by schema id.
    var validators: [String: SchemaValidator]
    /// Record validators by kind and schema version: the per-record lookup builds no strings.
    var recordValidators: [String: [Int: SchemaValidator]]
    /// Province prefixes where early trial USCCs were issued that fail the check (flagged for review, not refused).
    public var trialCodeProvinces: Set<String> = USCC.defaultTrialCodeProvinces

    /// Compiles the given schemas (every record kind of the catalogue must have one).
    public init(
        schemas: [JSONValue], catalogue: Catalogue, calendar: WorkingDayCalendar = WorkingDayCalendar(), publicity: PublicityRules? = nil
    ) throws(SchemaError) {
        var registry = SchemaRegistry(options: SchemaOptions(assertFormats: true, rejectUnknownKeywords: true))
        var documents: [String: JSONValue] = [:]
        for schema in schemas {
            try registry.add(schema)
            if let id = schema["$id"]?.stringValue { documents[id] = schema }
        }
        var validators: [String: SchemaValidator] = [:]
        for id in registry.ids { validators[id] = try registry.validator(for: id) }
        for kind in catalogue.kinds.values {
            for version in kind.schemaVersions where validators[Catalogue.schemaID(kind: kind.kind, version: version)] == nil {
                throw SchemaError(
                    schemaID: Catalogue.schemaID(kind: kind.kind, version: version), location: .root,
                    message: "catalogue \(catalogue.version) lists \(kind.kind) version \(version) but no schema has this $id")
            }
        }
        self.catalogue = catalogue
        self.registry = registry
        self.calendar = calendar
        self.publicity = publicity
        self.schemaDocuments = documents
        self.validators = validators
        var recordValidators: [String: [Int: SchemaValidator]] = [:]
        for kind in catalogue.kinds.values {
            for version in kind.schemaVersions {
                recordValidators[kind.kind, default: [:]][version] = validators[Catalogue.schemaID(kind: kind.kind, version: version)]
            }
        }
        self.recordValidators = recordValidators
    }

    /// The validator for a schema id.
    public func validator(for id: String) -> SchemaValidator? { validators[id] }

    /// The envelope schemas.
    public static let batchSchema = "urn:xgate:schema:batch:1"
    public static let changeSchema = "urn:xgate:schema:change:1"
    public static let receiptSchema = "urn:xgate:schema:receipt:1"
    public static let feedPageSchema = "urn:xgate:schema:feed-page:1"
    public static let acknowledgementSchema = "urn:xgate:schema:acknowledgement:1"
    public static let peerSchema = "urn:xgate:schema:peer:1"
    public static let agreementSchema = "urn:xgate:schema:agreement:1"
}
