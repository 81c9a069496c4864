import XGateJSON
import XGateSchema

extension ContractSet {
    /// The schema id for a record document, or the issue that prevents choosing one.
    public func schemaID(forRecord record: JSONValue) -> Result<String, RecordIssue> {
        guard let kind = record["kind"]?.stringValue else {
            return .failure(RecordIssue(field: JSONPointer(tokens: ["kind"]), rule: "schema.required", message: "a record needs 'kind'"))
        }
        guard let entry = catalogue.kinds[kind] else {
            return .failure(RecordIssue(
                field: JSONPointer(tokens: ["kind"]), rule: "catalogue.unknown-kind",
                message: "kind '\(kind)' is not in catalogue \(catalogue.version) (known: \(catalogue.kinds.keys.sorted().joined(separator: ", ")))"))
        }
        let version = record["schemaVersion"]?.intValue ?? entry.schemaVersions.max() ?? 1
        guard entry.schemaVersions.contains(version) else {
            return .failure(RecordIssue(
                field: JSONPointer(tokens: ["schemaVersion"]), rule: "catalogue.schema-version",
                message: "\(kind) has schema versions \(entry.schemaVersions.map(String.init).joined(separator: ", ")), not \(version)"))
        }
        return .success(Catalogue.schemaID(kind: kind, version: version))
    }

    /// Every issue with a record document: its contract (schema), then the identifiers in it.
    /// `today` bounds birth dates.
    public func issues(inRecord record: JSONValue, today: CivilDate? = nil) -> [RecordIssue] {
        let id: String
        switch schemaID(forRecord: record) {
        case .failure(let issue): return [issue]
        case .success(let found): id = found
        }
        guard let validator = validator(for: id) else {
            return [RecordIssue(field: .root, rule: "catalogue.no-schema", message: "no schema \(id) is loaded")]
        }
        let schemaErrors = validator.validate(record)
        if !schemaErrors.isEmpty { return schemaErrors.map(RecordIssue.init) }
        return identifierIssues(in: record, at: .root, today: today)
    }

    /// Checks every `uscc` and every unmasked resident `idNumber` (no `idType`, or `resident-id`) anywhere in the record.
    func identifierIssues(in value: JSONValue, at pointer: JSONPointer, today: CivilDate?) -> [RecordIssue] {
        var issues: [RecordIssue] = []
        switch value {
        case .object(let object):
            for (key, child) in object {
                let here = pointer.appending(key)
                if key == "uscc", let code = child.stringValue {
                    issues += usccIssues(code, at: here)
                } else if key == "idNumber", let number = child.stringValue, !ResidentID.isMasked(number),
                    (object["idType"]?.stringValue ?? "resident-id") == "resident-id"
                {
                    issues += ResidentID.validate(number, today: today).issues.map {
                        RecordIssue(field: here, rule: $0.rule, message: $0.message)
                    }
                } else {
                    issues += identifierIssues(in: child, at: here, today: today)
                }
            }
        case .array(let elements):
            for (i, child) in elements.enumerated() { issues += identifierIssues(in: child, at: pointer.appending(i), today: today) }
        default:
            break
        }
        return issues
    }

    func usccIssues(_ code: String, at field: JSONPointer) -> [RecordIssue] {
        let result = USCC.validate(code, trialCodeProvinces: trialCodeProvinces)
        guard !result.isValid else { return [] }
        if result.mayBeTrialCode {
            return [RecordIssue(
                field: field, rule: "uscc.trial-code",
                message: "fails its check characters but has the shape of an early trial code; kept and flagged for review ("
                    + result.issues.map(\.message).joined(separator: "; ") + ")",
                severity: .review)]
        }
        return result.issues.map { RecordIssue(field: field, rule: $0.rule, message: $0.message) }
    }
}
