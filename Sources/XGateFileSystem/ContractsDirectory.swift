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
        let catalogue: Catalogue
        let cataloguePath = directory + "/catalogue.json"
        do {
            catalogue = try Catalogue(json: Files.readJSON(cataloguePath))
        } catch let error as FileError {
            throw error
        } catch {
            throw FileError(.invalid, path: cataloguePath, "\(error)")
        }
        var calendar = WorkingDayCalendar()
        for path in (try? Files.jsonFiles(in: directory + "/calendar")) ?? [] {
            do {
                try calendar.add(yearFile: Files.readJSON(path))
            } catch let error as FileError {
                throw error
            } catch {
                throw FileError(.invalid, path: path, "\(error)")
            }
        }
        var publicity: PublicityRules?
        let rulesPath = directory + "/publicity-rules.json"
        if FileManager.default.fileExists(atPath: rulesPath) {
            do {
                publicity = try PublicityRules(json: Files.readJSON(rulesPath))
            } catch let error as FileError {
                throw error
            } catch {
                throw FileError(.invalid, path: rulesPath, "\(error)")
            }
        }
        do {
            return try ContractSet(schemas: schemas, catalogue: catalogue, calendar: calendar, publicity: publicity)
        } catch {
            throw FileError(.invalid, path: directory + "/schemas", "\(error)")
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
