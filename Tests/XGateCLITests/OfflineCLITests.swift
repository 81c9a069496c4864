import Foundation
import Testing
import XGateCore
import XGateFileSystem
import XGateJSON
import XGateTestSupport

/// The offline commands, run as a user runs them: the real executable, real files, exit codes and messages.
@Suite(.serialized) struct OfflineCLITests {
    let work: String
    init() throws { work = try CLIRunner.temporaryDirectory() }

    /// A copy of Peers/ in which sh-xuhui and sh-city carry freshly generated keys (the committed ones are public only).
    func federation() throws -> (peers: String, district: (key: String, kid: String), city: (key: String, kid: String)) {
        let peers = work + "/Peers"
        try? FileManager.default.removeItem(atPath: peers)
        try FileManager.default.copyItem(atPath: RepositoryPaths.peers, toPath: peers)
        var kids: [String: String] = [:]
        for node in ["sh-xuhui", "sh-city"] {
            let generated = try CLIRunner.run(["keys", "generate", "--node", node, "--out", work + "/keys"])
            #expect(generated.status == 0, "\(generated.stderr)")
            kids[node] = generated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let file = peers + "/nodes/\(node).json"
            var json = try JSONParser().parse(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            let jwk = try JSONParser().parse(Array(try Data(contentsOf: URL(fileURLWithPath: work + "/keys/\(node).jwk.json"))))
            json.set(
                [["jwk": jwk, "notBefore": "2026-01-01T00:00:00+08:00", "notAfter": "2027-12-31T23:59:59+08:00"]], at: JSONPointer("/keys")!
            )
            try Data(json.serialized()).write(to: URL(fileURLWithPath: file))
        }
        return (peers, (work + "/keys/sh-xuhui.key", kids["sh-xuhui"]!), (work + "/keys/sh-city.key", kids["sh-city"]!))
    }

    func write(_ records: [JSONValue], to name: String) throws -> String {
        let path = work + "/" + name
        let text = records.map { $0.serializedString() }.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func keysGenerateWritesAPrivateKeyOnlyTheOwnerCanRead() throws {
        let result = try CLIRunner.run(["keys", "generate", "--node", "sh-putuo", "--out", work + "/k"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("sh-putuo:"))
        let attributes = try FileManager.default.attributesOfItem(atPath: work + "/k/sh-putuo.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let again = try CLIRunner.run(["keys", "generate", "--node", "sh-putuo", "--out", work + "/k"])
        #expect(again.status == 73, "refuses to overwrite a private key")
        let bad = try CLIRunner.run(["keys", "generate", "--node", "Shanghai City", "--out", work + "/k"])
        #expect(bad.status == 64)
        #expect(!bad.stderr.contains("Fatal"))
    }

    @Test func checkUSCCAndIDPrintOneLinePerInputAndExitOneOnAnyInvalid() throws {
        let good = try CLIRunner.run(["check", "uscc", "91350100M000100Y43", "914403001922038216"])
        #expect(good.status == 0)
        #expect(good.stdout.split(separator: "\n").count == 2)
        let bad = try CLIRunner.run(["check", "uscc", "91350100M000100Y43", "91350100M000100Y44"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("uscc.check-character"))
        let ids = try CLIRunner.run(["check", "id", "11010519491231002X", "110105194912310021"])
        #expect(ids.status == 1)
        #expect(ids.stdout.contains("110105********002X\tvalid"))
        #expect(!ids.stdout.contains("110105194912310021"), "never prints a full identity number")
    }

    @Test func checkRecordNamesFileIndexFieldAndRule() throws {
        var bad = SampleRecords.penalty(sourceId: "XH-2026-0002")
        bad.set("2026-13-01", at: JSONPointer("/data/decisionDate")!)
        let file = try write([SampleRecords.penalty(sourceId: "XH-2026-0001"), bad], to: "records.ndjson")
        let result = try CLIRunner.run(["check", "record", file])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("\(file):1\t/data/decisionDate\tschema.format\t") == true)
        #expect(lines.first?.contains("2026-13-01") == true, "the message names the bad value")
        #expect(result.stderr.contains("2 records checked: 1 valid, 1 invalid"))
        let malformed = work + "/broken.json"
        try "[{\"kind\": }]".write(toFile: malformed, atomically: true, encoding: .utf8)
        let parse = try CLIRunner.run(["check", "record", malformed])
        #expect(parse.status == 65)
        #expect(parse.stderr.contains("line 1, column 11"))
        let missing = try CLIRunner.run(["check", "record", work + "/nope.json"])
        #expect(missing.status == 66)
    }

    @Test func signsVerifiesAndReceiptsABatchAndRefusesTampering() throws {
        let f = try federation()
        let records = try write((1...3).map { SampleRecords.penalty(sourceId: "XH-2026-000\($0)", company: $0) }, to: "batch.ndjson")
        let signed = try CLIRunner.run([
            "batch", "sign", "--key", f.district.key, "--kid", f.district.kid, "--from", "sh-xuhui", "--to", "sh-city", "--sequence", "1",
            records,
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        let batchFile = work + "/batch.jws.json"
        try signed.stdout.write(toFile: batchFile, atomically: true, encoding: .utf8)

        let verified = try CLIRunner.run(["batch", "verify", "--peers", f.peers, batchFile])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("changes: 3, acceptable 3, rejected 0"))

        let receipt = try CLIRunner.run(["receipt", "sign", "--key", f.city.key, "--kid", f.city.kid, "--peers", f.peers, batchFile])
        #expect(receipt.status == 0, "\(receipt.stderr)")
        let receiptFile = work + "/receipt.jws.json"
        try receipt.stdout.write(toFile: receiptFile, atomically: true, encoding: .utf8)
        let checked = try CLIRunner.run(["receipt", "verify", "--peers", f.peers, "--batch", batchFile, receiptFile])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stdout.contains("applied 3, duplicate 0, stale 0, conflict 0, rejected 0"))

        // One byte of the payload changed: refused with exit 10.
        var jws = try JSONParser().parse(signed.stdout)
        var payload = Base64URL.decode(jws["payload"]!.stringValue!)!
        let index = payload.firstIndex(of: UInt8(ascii: "2"))!
        payload[index] = UInt8(ascii: "3")
        jws.set(.string(Base64URL.encode(payload)), at: JSONPointer("/payload")!)
        try jws.serializedString().write(toFile: batchFile, atomically: true, encoding: .utf8)
        let tampered = try CLIRunner.run(["batch", "verify", "--peers", f.peers, batchFile])
        #expect(tampered.status == 10)
        #expect(tampered.stderr.contains("signature.invalid"))
    }

    @Test func refusesToSignWithAKeyOthersCanRead() throws {
        let f = try federation()
        chmod(f.district.key, 0o644)
        let records = try write([SampleRecords.penalty(sourceId: "XH-2026-0001")], to: "one.ndjson")
        let result = try CLIRunner.run([
            "batch", "sign", "--key", f.district.key, "--kid", f.district.kid, "--from", "sh-xuhui", "--to", "sh-city", "--sequence", "1",
            records,
        ])
        #expect(result.status == 77)
        #expect(result.stderr.contains("chmod 600"))
        #expect(result.stdout.isEmpty, "nothing is signed")
    }

    @Test func masksWhatTheAgreementMasksWhenSigningForAPartner() throws {
        let f = try federation()
        let id = SampleRecords.residentID(division: "310107", birth: "19700101", sequence: "031")
        let example = try Files.readJSON(
            try Files.jsonFiles(in: RepositoryPaths.contracts + "/examples/record-serious-dishonesty-list/valid")[0])
        let record: JSONValue = [
            "kind": "serious-dishonesty-list", "sourceId": "SH-SDL-2026-0001", "schemaVersion": 1,
            "subject": ["type": "natural-person", "name": "李强", "idNumber": .string(id)], "data": example["instance"]!["data"]!,
        ]
        let file = try write([record], to: "list.ndjson")
        let signed = try CLIRunner.run([
            "batch", "sign", "--key", f.city.key, "--kid", f.city.kid, "--from", "sh-city", "--to", "zj-jiaxing", "--sequence", "1",
            "--peers", f.peers, file,
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(!signed.stdout.isEmpty)
        let jws = try JSONParser().parse(signed.stdout)
        let payload = try JSONParser().parse(Base64URL.decode(jws["payload"]!.stringValue!)!)
        let change = try #require(payload["changes"]?.arrayValue?.first)
        #expect(
            change["content"]?["record"]?["subject"]?["idNumber"]?.stringValue == String(id.prefix(6)) + "********" + String(id.suffix(4)))
        #expect(change["masked"] == ["/subject/idNumber"])
        #expect(!signed.stdout.contains(id))
        try signed.stdout.write(toFile: work + "/list.jws.json", atomically: true, encoding: .utf8)
        let verified = try CLIRunner.run(["batch", "verify", "--peers", f.peers, work + "/list.jws.json"])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
    }

    @Test func refusesAnOversizedBatchAndInvalidRecordsBeforeSigning() throws {
        let f = try federation()
        let many = try write((0...1000).map { SampleRecords.penalty(sourceId: "XH-BULK-\($0)") }, to: "many.ndjson")
        let tooMany = try CLIRunner.run([
            "batch", "sign", "--key", f.district.key, "--kid", f.district.kid, "--from", "sh-xuhui", "--to", "sh-city", "--sequence", "1",
            many,
        ])
        #expect(tooMany.status == 67)
        #expect(tooMany.stderr.contains("at most 1000"))
        var bad = SampleRecords.penalty(sourceId: "XH-2026-0009")
        bad.set("91310104MA1FL3K2X0", at: JSONPointer("/subject/uscc")!)
        let invalid = try write([bad], to: "bad.ndjson")
        let refused = try CLIRunner.run([
            "batch", "sign", "--key", f.district.key, "--kid", f.district.kid, "--from", "sh-xuhui", "--to", "sh-city", "--sequence", "1",
            invalid,
        ])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("/content/record/subject/uscc"))
    }

    @Test func peersCheckAcceptsTheSampleRegistryAndNamesWhatIsWrong() throws {
        let good = try CLIRunner.run(["peers", "check", "--peers", RepositoryPaths.peers])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stderr.contains("28 nodes (1 city, 16 district, 12 partner)"))
        let f = try federation()
        let agreement = f.peers + "/agreements/city-to-partners.json"
        var json = try JSONParser().parse(Array(try Data(contentsOf: URL(fileURLWithPath: agreement))))
        json.set(["sh-city", "sh-nowhere"], at: JSONPointer("/from")!)
        json.set(["/subject/shoeSize"], at: JSONPointer("/grants/0/mask")!)
        try Data(json.serialized()).write(to: URL(fileURLWithPath: agreement))
        let bad = try CLIRunner.run(["peers", "check", "--peers", f.peers])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("names node sh-nowhere"))
        #expect(bad.stdout.contains("field /subject/shoeSize"))
    }
}
