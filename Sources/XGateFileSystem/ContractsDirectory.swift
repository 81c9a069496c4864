import Foundation
import XGateCore
import XGateJSON
import XGateSchema

/// `Contracts/` on disk: schemas, the catalogue, the calendar and the publicity rules.
public enum ContractsDirectory {
    /// Loads and compiles everything; errors name the file.
    public static func load(_ directory: String) throws(FileError) -> ContractSet {
        var schemas: [JSONValue] = []
        for path in try Files.jsonFiles(in: directory + "/schemas", recursive: true, suffix: ".schema.json") {
            schemas.append(try Files.readJSON(path))
        }
        let cataloguePath = directory + "/catalogue.json"
        let catalogue = try reading(cataloguePath) { try Catalogue(json: $0) }
        var contracts: ContractSet
        do {
            contracts = try ContractSet(schemas: schemas, catalogue: catalogue)
        } catch {
            throw FileError(.configuration, path: directory + "/schemas", "\(error)")
        }
        // The data files are checked against their own schemas before they are believed.
        try conform(cataloguePath, to: "urn:xgate:schema:catalogue:1", contracts)
        for path in (try? Files.jsonFiles(in: directory + "/calendar")) ?? [] {
            try conform(path, to: "urn:xgate:schema:calendar:1", contracts)
            try reading(path) { try contracts.calendar.add(yearFile: $0) }
        }
        let rulesPath = directory + "/publicity-rules.json"
        if FileManager.default.fileExists(atPath: rulesPath) {
            try conform(rulesPath, to: "urn:xgate:schema:publicity-rules:1", contracts)
            contracts.publicity = try reading(rulesPath) { try PublicityRules(json: $0) }
        }
        return contracts
    }

    /// Refuses a data file that its schema (when loaded) does not accept, naming the field.
    static func conform(_ path: String, to schema: String, _ contracts: ContractSet) throws(FileError) {
        guard let validator = contracts.validator(for: schema) else { return }
        if let error = validator.validate(try Files.readJSON(path)).first {
            let location = error.instanceLocation.description.isEmpty ? "/" : error.instanceLocation.description
            throw FileError(.configuration, path: path, "\(location): \(error.keyword): \(error.message)")
        }
    }

    /// Reads a JSON file and interprets it; a failure to interpret names the file.
    static func reading<T>(_ path: String, _ interpret: (JSONValue) throws -> T) throws(FileError) -> T {
        let json = try Files.readJSON(path)
        do {
            return try interpret(json)
        } catch {
            throw FileError(.configuration, path: path, "\(error)")
        }
    }

    /// Finds `Contracts/`: `$XGATE_CONTRACTS`, `./Contracts`, or a `Contracts/` above the executable (a build tree).
    public static func locate(_ explicit: String?) -> String {
        Locator.locate(explicit, environment: "XGATE_CONTRACTS", name: "Contracts", marker: "catalogue.json")
    }
}

/// Finds a project directory the user did not name.
enum Locator {
    static func locate(_ explicit: String?, environment: String, name: String, marker: String) -> String {
        if let explicit { return explicit }
        if let fromEnvironment = ProcessInfo.processInfo.environment[environment], !fromEnvironment.isEmpty { return fromEnvironment }
        let fm = FileManager.default
        if fm.fileExists(atPath: name + "/" + marker) { return name }
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent(name)
            if fm.fileExists(atPath: candidate.path + "/" + marker) { return candidate.path }
            directory = directory.deletingLastPathComponent()
        }
        return name
    }
}
