import Foundation
import Testing
import XGateJSON
import XGateSchema

/// Runs every case of the official JSON-Schema-Test-Suite (draft 2020-12, plus the `date` and
/// `date-time` optional format files with formats asserted).
///
/// The suite lives in `<repo>/../shared/testdata/json-schema-test-suite`; the environment variable
/// `XGATE_TESTDATA` (the directory containing `json-schema-test-suite`) overrides that. A missing or
/// empty suite fails the test.
struct OfficialSuiteTests {
    /// The directory holding `json-schema-test-suite`, or nil when the repository root is not found.
    static func testdataDirectory() -> URL? {
        if let override = ProcessInfo.processInfo.environment["XGATE_TESTDATA"], !override.isEmpty {
            return URL(fileURLWithPath: override, isDirectory: true)
        }
        var directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" && !directory.path.isEmpty {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory.deletingLastPathComponent().appendingPathComponent(
                    "shared/testdata", isDirectory: true)
            }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    /// The suite files to run: every `draft2020-12/*.json` and the two asserted format files.
    static func suiteFiles() throws -> [URL] {
        guard let testdata = testdataDirectory() else {
            Issue.record("cannot find the repository root (a directory with Package.swift) above \(#filePath)")
            return []
        }
        let draft = testdata.appendingPathComponent("json-schema-test-suite/draft2020-12", isDirectory: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: draft.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
        var files = names.map { draft.appendingPathComponent($0) }
        for name in ["date.json", "date-time.json"] {
            files.append(draft.appendingPathComponent("optional-format").appendingPathComponent(name))
        }
        return files
    }

    @Test("every case of the official draft 2020-12 suite")
    func officialSuite() throws {
        let files = try Self.suiteFiles()
        var passed = 0
        var failed = 0
        for file in files {
            let bytes = try Data(contentsOf: file)
            let document = try JSONParser().parse(Array(bytes))
            let relative =
                file.deletingLastPathComponent().lastPathComponent == "optional-format"
                ? "optional-format/" + file.lastPathComponent : file.lastPathComponent
            guard case .array(let groups) = document else {
                Issue.record("\(relative): not an array of test groups")
                continue
            }
            for group in groups {
                let groupDescription = group["description"]?.stringValue ?? "?"
                let tests = group["tests"]?.arrayValue ?? []
                let validator: SchemaValidator
                do {
                    validator = try SchemaValidator(
                        schema: group["schema"] ?? .bool(true), options: .init(assertFormats: true))
                } catch {
                    failed += tests.count
                    Issue.record("\(relative) / \(groupDescription): schema does not compile: \(error)")
                    continue
                }
                for test in tests {
                    let testDescription = test["description"]?.stringValue ?? "?"
                    guard let data = test["data"], let expected = test["valid"]?.boolValue else {
                        Issue.record("\(relative) / \(groupDescription) / \(testDescription): malformed case")
                        failed += 1
                        continue
                    }
                    let fast = validator.isValid(data)
                    let errors = validator.validate(data)
                    if fast == expected && errors.isEmpty == expected {
                        passed += 1
                    } else {
                        failed += 1
                        Issue.record(
                            """
                            \(relative) / \(groupDescription) / \(testDescription): expected \
                            \(expected ? "valid" : "invalid"), isValid said \(fast), validate found \(errors)
                            """)
                    }
                }
            }
        }
        print("\(passed) suite cases passed, \(failed) failed, from \(files.count) files")
        #expect(passed > 0, "the official suite has no test cases: is the testdata directory there?")
        #expect(failed == 0)
    }
}
