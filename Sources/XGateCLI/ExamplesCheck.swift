import ArgumentParser
import XGateCore
import XGateFileSystem
import XGateJSON

/// Validates example wrapper files and prints machine-readable verdicts, so another implementation (Python's
/// `jsonschema`) can be compared with this one on every file in Contracts/examples/.
struct ExamplesCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "examples", abstract: "Validate Contracts/examples wrapper files; print verdicts as JSON.",
        discussion: """
            Each file is {"description", "schema", "schemaValid", "expectedErrors", "instance"}. Prints a JSON array with one
            object per file: file, schema, schemaValid, errors [{instanceLocation, keyword, message}], domainErrors
            [{instanceLocation, rule, message}] (identifier rules, checked when the instance is schema-valid). Without --json,
            prints one line per file comparing the verdict with the file's expectation, and exits 1 on any disagreement.

            Example:
              xgate check examples --json Contracts/examples/*/*/*.json
            """)
    @OptionGroup var location: LocationOptions
    @Flag(help: "Print the verdicts as JSON.") var json = false
    @Argument(help: "Example files.") var files: [String]

    func run() throws {
        try guarded {
            let contracts = try location.loadContracts()
            var results: [JSONValue] = []
            var disagreements = 0
            for file in files {
                let example = try Files.readJSON(file)
                guard let schema = example["schema"]?.stringValue, let instance = example["instance"] else {
                    throw FileError(.invalid, path: file, "not an example wrapper (needs 'schema' and 'instance')")
                }
                guard let validator = contracts.validator(for: schema) else {
                    throw FileError(.invalid, path: file, "names schema \(schema), which is not in Contracts/schemas")
                }
                let errors = validator.validate(instance)
                var domain: [RecordIssue] = []
                if errors.isEmpty {
                    domain = domainIssues(schema: schema, instance: instance, contracts: contracts)
                }
                results.append([
                    "file": .string(file), "schema": .string(schema), "schemaValid": .bool(errors.isEmpty),
                    "errors": .array(
                        errors.map {
                            [
                                "instanceLocation": .string($0.instanceLocation.description), "keyword": .string($0.keyword),
                                "message": .string($0.message),
                            ]
                        }),
                    "domainErrors": .array(
                        domain.map {
                            ["instanceLocation": .string($0.field.description), "rule": .string($0.rule), "message": .string($0.message)]
                        }),
                ])
                if !json {
                    let expected = example["schemaValid"]?.boolValue
                    let agrees = expected == errors.isEmpty
                    if !agrees { disagreements += 1 }
                    let detail = (errors.map { "\($0.instanceLocation) \($0.keyword)" } + domain.map { "\($0.field) \($0.rule)" }).joined(
                        separator: "; ")
                    print("\(agrees ? "ok" : "DISAGREES")\t\(file)\t\(errors.isEmpty ? "schema-valid" : "schema-invalid")\t\(detail)")
                }
            }
            if json {
                print(JSONValue.array(results).serializedString(.prettyPrinted))
            } else if disagreements > 0 {
                throw ExitCode(Exit.invalid)
            }
        }
    }

    /// Identifier and authorship rules, checked once the instance is schema-valid: records directly, changes and
    /// batches as a receiver reads them (a change is judged inside a one-change batch).
    func domainIssues(schema: String, instance: JSONValue, contracts: ContractSet) -> [RecordIssue] {
        if schema.hasPrefix("urn:xgate:schema:record:") { return contracts.issues(inRecord: instance) }
        let batch: JSONValue
        let prefix: (Int) -> JSONPointer
        switch schema {
        case ContractSet.batchSchema:
            batch = instance
            prefix = { JSONPointer(tokens: ["changes", String($0)]) }
        case ContractSet.changeSchema:
            batch = [
                "protocol": "xgate/1", "batchId": "00000000-0000-7000-8000-000000000000", "from": "sh-city", "to": "sh-xuhui",
                "sequence": 1, "createdAt": "2026-11-20T10:00:00+08:00", "changes": [instance],
            ]
            prefix = { _ in .root }
        default:
            return []
        }
        let policy = MergePolicy(cityNodes: ["sh-city"], listKinds: contracts.catalogue.listKinds)
        guard let inspection = try? contracts.inspect(batchPayload: batch, federation: nil, policy: policy) else { return [] }
        return inspection.entries.flatMap { entry -> [RecordIssue] in
            var issues = entry.reviews.map {
                RecordIssue(
                    field: prefix(entry.index).appending(JSONPointer(tokens: ["content", "record"])).appending($0.field), rule: $0.rule,
                    message: $0.message, severity: .review)
            }
            if let r = entry.rejection, !r.code.hasPrefix("schema.") {
                issues.append(RecordIssue(field: prefix(entry.index).appending(r.field ?? .root), rule: r.code, message: r.message))
            }
            return issues
        }
    }
}
