import XGateJSON
import XGateSchema

extension ContractSet {
    /// The schema id for a record document, or the issue that prevents choosing one.
    public func schemaID(forRecord record: JSONValue) -> Result<String, RecordIssue> {
        guard let kind = record["kind"]?.stringValue else {
            return .failure(RecordIssue(field: JSONPointer(tokens: ["kind"]), rule: "schema.required", message: "a record needs 'kind'"))
        }
        guard let entry = catalogue.kinds[kind] else {
            return .failure(
                RecordIssue(
                    field: JSONPointer(tokens: ["kind"]), rule: "catalogue.unknown-kind",
                    message:
                        "kind '\(kind)' is not in catalogue \(catalogue.version) (known: \(catalogue.kinds.keys.sorted().joined(separator: ", ")))"
                ))
        }
        let version = record["schemaVersion"]?.intValue ?? entry.schemaVersions.max() ?? 1
        guard entry.schemaVersions.contains(version) else {
            return .failure(
                RecordIssue(
                    field: JSONPointer(tokens: ["schemaVersion"]), rule: "catalogue.schema-version",
                    message: "\(kind) has schema versions \(entry.schemaVersions.map(String.init).joined(separator: ", ")), not \(version)")
            )
        }
        return .success(Catalogue.schemaID(kind: kind, version: version))
    }

    /// Every issue with a record document: its contract (schema), then the identifiers in it.
    /// `today` bounds birth dates.
    public func issues(inRecord record: JSONValue, today: CivilDate? = nil) -> [RecordIssue] {
        let validator: SchemaValidator
        if let kind = record["kind"]?.stringValue, let version = record["schemaVersion"]?.intValue,
            let found = recordValidators[kind]?[version]
        {
            validator = found
        } else {
            // The slow path says exactly what is wrong with kind or schemaVersion.
            switch schemaID(forRecord: record) {
            case .failure(let issue): return [issue]
            case .success(let id):
                guard let found = self.validator(for: id) else {
                    return [RecordIssue(field: .root, rule: "catalogue.no-schema", message: "no schema \(id) is loaded")]
                }
                validator = found
            }
        }
        // isValid stops at the first error and builds no messages: the common case (a valid record) pays least.
        guard validator.isValid(record) else { return validator.validate(record).map(RecordIssue.init) }
        return identifierIssues(in: record, at: .root, today: today)
    }

    /// Checks every `uscc` and every unmasked resident `idNumber` (no `idType`, or `resident-id`) anywhere in the record.
    /// The path is kept as a stack of tokens and turned into a pointer only when there is something to report.
    public func identifierIssues(in value: JSONValue, at pointer: JSONPointer, today: CivilDate?) -> [RecordIssue] {
        var issues: [RecordIssue] = []
        var path = pointer.tokens
        collectIdentifierIssues(in: value, path: &path, today: today, into: &issues)
        return issues
    }

    private func collectIdentifierIssues(in value: JSONValue, path: inout [String], today: CivilDate?, into issues: inout [RecordIssue]) {
        switch value {
        case .object(let object):
            for (key, child) in object {
                switch child {
                case .string(let text) where key == "uscc":
                    let found = usccIssues(text, at: JSONPointer(tokens: path + [key]))
                    issues += found
                case .string(let number) where key == "idNumber":
                    guard !ResidentID.isMasked(number), (object["idType"]?.stringValue ?? "resident-id") == "resident-id" else { continue }
                    let result = ResidentID.validate(number, today: today)
                    if !result.isValid {
                        let field = JSONPointer(tokens: path + [key])
                        issues += result.issues.map { RecordIssue(field: field, rule: $0.rule, message: $0.message) }
                    }
                case .object, .array:
                    path.append(key)
                    collectIdentifierIssues(in: child, path: &path, today: today, into: &issues)
                    path.removeLast()
                default:
                    continue
                }
            }
        case .array(let elements):
            for (i, child) in elements.enumerated() {
                path.append(String(i))
                collectIdentifierIssues(in: child, path: &path, today: today, into: &issues)
                path.removeLast()
            }
        default:
            break
        }
    }

    func usccIssues(_ code: String, at field: @autoclosure () -> JSONPointer) -> [RecordIssue] {
        let result = USCC.validate(code, trialCodeProvinces: trialCodeProvinces)
        guard !result.isValid else { return [] }
        let field = field()
        if result.mayBeTrialCode {
            return [
                RecordIssue(
                    field: field, rule: "uscc.trial-code",
                    message: "fails its check characters but has the shape of an early trial code; kept and flagged for review ("
                        + result.issues.map(\.message).joined(separator: "; ") + ")",
                    severity: .review)
            ]
        }
        return result.issues.map { RecordIssue(field: field, rule: $0.rule, message: $0.message) }
    }
}
