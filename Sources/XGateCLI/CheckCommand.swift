import ArgumentParser
import Foundation
import XGateCore
import XGateFileSystem
import XGateJSON

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check identifiers and records against the rules and the contracts.",
        subcommands: [USCCCheck.self, IDCheck.self, RecordCheck.self, ExamplesCheck.self])

    struct USCCCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "uscc", abstract: "Validate Unified Social Credit Codes (GB 32100-2015).",
            discussion: """
                One line per code: 'valid', 'review' (fails only its check characters, like an early trial code: kept and flagged),
                or the rules it breaks. Input is normalised first (NFKC, trimmed, upper-case). Exit 0 only if every code is valid.

                Example:
                  xgate check uscc 91350100M000100Y43 914403001922038216
                """)
        @Argument(help: "The codes.") var codes: [String]

        func run() throws {
            var allValid = true
            for code in codes {
                let result = USCC.validate(code)
                if result.isValid {
                    print("\(result.normalised)\tvalid")
                } else {
                    allValid = false
                    let verdict = result.mayBeTrialCode ? "review" : "invalid"
                    print("\(result.normalised)\t\(verdict)\t" + result.issues.map(\.description).joined(separator: "; "))
                }
            }
            if !allValid { throw ExitCode(Exit.invalid) }
        }
    }

    struct IDCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "id", abstract: "Validate resident identity numbers (GB 11643-1999).",
            discussion: """
                One line per number, shown masked (first 6 and last 4 kept): 'valid' or the rules it breaks.
                Exit 0 only if every number is valid.

                Example:
                  xgate check id 11010519491231002X
                """)
        @Argument(help: "The numbers.") var numbers: [String]

        func run() throws {
            var allValid = true
            let today = currentTime().chinaDate
            for number in numbers {
                let result = ResidentID.validate(number, today: today)
                let shown = ResidentID.mask(result.normalised)
                if result.isValid {
                    print("\(shown)\tvalid")
                } else {
                    allValid = false
                    print("\(shown)\tinvalid\t" + result.issues.map(\.description).joined(separator: "; "))
                }
            }
            if !allValid { throw ExitCode(Exit.invalid) }
        }
    }

    struct RecordCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "record", abstract: "Validate record files (a JSON array or NDJSON) against the contracts.",
            discussion: """
                Each record is a record document (urn:xgate:schema:record:<kind>:<version>): kind, sourceId, schemaVersion,
                subject, data. Identifiers are normalised first. One line per problem: FILE:INDEX FIELD RULE MESSAGE
                (INDEX counts from 0; for NDJSON it is the record's position, and malformed lines are reported with their
                line number). A summary goes to standard error. Exit 0 when every record is valid, 1 otherwise.

                Example:
                  xgate check record Contracts/examples/record-administrative-penalty/valid/*.json
                """)
        @OptionGroup var location: LocationOptions
        @Argument(help: "Record files.") var files: [String]

        func run() throws {
            try guarded {
                let contracts = try location.loadContracts()
                let today = currentTime().chinaDate
                var bad = 0
                var total = 0
                var reviews = 0
                for file in files {
                    let records = try RecordFiles.read(file)
                    for (index, raw) in records.enumerated() {
                        total += 1
                        let record = contracts.normalisingIdentifiers(raw)
                        let issues = contracts.issues(inRecord: record, today: today)
                        if issues.contains(where: { $0.severity == .error }) { bad += 1 }
                        if issues.contains(where: { $0.severity == .review }) { reviews += 1 }
                        for issue in issues {
                            let field = issue.field.description.isEmpty ? "/" : issue.field.description
                            print(printable("\(file):\(index)\t\(field)\t\(issue.rule)\t\(issue.message)"))
                        }
                    }
                }
                report("\(total) records checked: \(total - bad) valid, \(bad) invalid, \(reviews) flagged for review")
                if bad > 0 { throw ExitCode(Exit.invalid) }
            }
        }
    }
}

/// Reads a file of records or changes: a JSON array, a single JSON document, or NDJSON.
enum RecordFiles {
    static func read(_ path: String) throws -> [JSONValue] {
        let bytes = try Files.read(path)
        let first = bytes.first { ![0x20, 0x0A, 0x0D, 0x09, 0xEF, 0xBB, 0xBF].contains($0) }
        do {
            if first == UInt8(ascii: "[") {
                return try JSONParser().parse(bytes).arrayValue ?? []
            }
            if first == UInt8(ascii: "{"), let single = try? JSONParser().parse(bytes) {
                return [single]  // one (possibly pretty-printed) document
            }
            let lines = try JSONParser().parseLines(bytes)
            return lines
        } catch {
            let form = first == UInt8(ascii: "[") ? "a JSON array" : "NDJSON (one JSON document per line)"
            throw FileError(.malformed, path: path, "not \(form): \(error)")
        }
    }
}
