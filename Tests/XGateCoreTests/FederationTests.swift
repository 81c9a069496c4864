import Testing
import XGateFileSystem
import XGateJSON
import XGateTestSupport

@testable import XGateCore

/// The sample registry's agreements: routing by kind and subject, masking by default, united grants.
@Suite struct FederationTests {
    let contracts: ContractSet
    let federation: Federation
    let day = CivilDate(year: 2026, month: 11, day: 20)!

    init() throws {
        contracts = try ContractsDirectory.load(RepositoryPaths.contracts)
        federation = try PeersDirectory.load(RepositoryPaths.peers, contracts: contracts)
    }

    @Test func districtsSendEveryKindInFullToTheCity() throws {
        for kind in contracts.catalogue.kinds.keys {
            let permission = try #require(
                federation.permission(from: "sh-putuo", to: "sh-city", kind: kind, subjectType: "natural-person", on: day))
            #expect(permission.mask.isEmpty, "\(kind)")
        }
        #expect(
            federation.permission(from: "sh-putuo", to: "sh-xuhui", kind: "administrative-penalty", subjectType: "legal-person", on: day)
                == nil)
    }

    @Test func partnersGetPenaltiesOnLegalPersonsOnlyAndListsMasked() throws {
        #expect(
            federation.permission(from: "sh-city", to: "zj-jiaxing", kind: "administrative-penalty", subjectType: "natural-person", on: day)
                == nil)
        let penalty = try #require(
            federation.permission(from: "sh-city", to: "zj-jiaxing", kind: "administrative-penalty", subjectType: "legal-person", on: day))
        #expect(penalty.mask == ["/subject/legalRepresentative/idNumber"])
        let list = try #require(
            federation.permission(
                from: "sh-city", to: "js-province", kind: "serious-dishonesty-list", subjectType: "natural-person", on: day))
        #expect(list.mask.contains("/subject/idNumber"))
        let debtors = try #require(
            federation.permission(
                from: "sh-city", to: "ah-hefei", kind: "dishonest-judgment-debtor", subjectType: "natural-person", on: day))
        #expect(debtors.mask.isEmpty, "the court list carries full ID numbers on purpose")
        #expect(federation.permission(from: "zj-jiaxing", to: "zj-hangzhou", kind: "red-list", subjectType: "legal-person", on: day) == nil)
    }

    @Test func songjiangHoldsBothRolesAndItsGrantsUnite() throws {
        // As a district it receives the joint lists in full; as a G60 partner the same lists would be masked. United: full.
        let permission = try #require(
            federation.permission(
                from: "sh-city", to: "sh-songjiang", kind: "serious-dishonesty-list", subjectType: "natural-person", on: day))
        #expect(Set(permission.agreements) == ["city-to-districts-joint-lists", "city-to-partners"])
        #expect(permission.mask.isEmpty)
        // Penalties reach Songjiang only through the partner agreement, so the partner mask applies.
        let penalty = try #require(
            federation.permission(from: "sh-city", to: "sh-songjiang", kind: "administrative-penalty", subjectType: "legal-person", on: day)
        )
        #expect(penalty.mask == ["/subject/legalRepresentative/idNumber"])
    }

    @Test func redactionMasksIdentityNumbersAndRemovesWithheldFields() {
        let id = SampleRecords.residentID(division: "310104", birth: "19850317", sequence: "215")
        let record: JSONValue = [
            "subject": ["type": "natural-person", "name": "张伟", "idNumber": .string(id)], "data": ["remarks": "内部备注"],
        ]
        let permission = Federation.Permission(
            agreements: ["x"], mask: ["/subject/idNumber", "/subject/name"], withhold: ["/data/remarks", "/data/absent"])
        let (redacted, touched) = Federation.redact(record, permission: permission)
        #expect(redacted["subject"]?["idNumber"]?.stringValue == String(id.prefix(6)) + "********" + String(id.suffix(4)))
        #expect(redacted["subject"]?["name"]?.stringValue == "张*")
        #expect(redacted["data"]?["remarks"] == nil)
        #expect(touched == ["/data/remarks", "/subject/idNumber", "/subject/name"])
        #expect(!redacted.serializedString().contains(id))
    }

    @Test func aReceiverRefusesAnIdentityNumberTheAgreementMasks() throws {
        let id = SampleRecords.residentID(division: "310107", birth: "19700101", sequence: "031")
        let data = try #require(try exampleData("record-serious-dishonesty-list"))
        let record: JSONValue = [
            "kind": "serious-dishonesty-list", "sourceId": "SH-SDL-2026-0001", "schemaVersion": 1,
            "subject": ["type": "natural-person", "name": "李强", "idNumber": .string(id)],
            "data": data,
        ]
        let change = Change(
            key: RecordKey(owner: "sh-city", kind: "serious-dishonesty-list", sourceId: "SH-SDL-2026-0001"),
            content: ContentVersion(version: 1, author: "sh-city", at: "2026-11-20T10:00:00+08:00", record: record),
            status: StatusChange(version: 1, value: .active, from: nil, author: "sh-city", at: "2026-11-20T10:00:00+08:00"))
        func batch(_ change: Change, to: String) -> JSONValue {
            BatchDocument(
                batchId: "0193a5c2-7e4d-7b21-9f3a-2c8d4e6f1a0b", from: "sh-city", to: to, sequence: 1,
                createdAt: Timestamp("2026-11-20T10:00:00+08:00")!, changes: [change.json]
            ).json
        }
        let toPartner = try contracts.inspect(batchPayload: batch(change, to: "zj-jiaxing"), federation: federation)
        #expect(toPartner.entries[0].rejection?.code == "agreement.field-not-masked")
        #expect(toPartner.entries[0].rejection?.field?.description == "/content/record/subject/idNumber")
        let toDistrict = try contracts.inspect(batchPayload: batch(change, to: "sh-putuo"), federation: federation)
        #expect(toDistrict.entries[0].rejection == nil)
        var masked = change
        masked.content?.record.set(.string(ResidentID.mask(id)), at: JSONPointer("/subject/idNumber")!)
        let maskedToPartner = try contracts.inspect(batchPayload: batch(masked, to: "zj-jiaxing"), federation: federation)
        #expect(maskedToPartner.entries[0].rejection == nil)
    }

    /// The `data` block of the first valid example of a record kind.
    func exampleData(_ folder: String) throws -> JSONValue? {
        let files = try Files.jsonFiles(in: RepositoryPaths.contracts + "/examples/\(folder)/valid")
        return try Files.readJSON(files[0])["instance"]?["data"]
    }
}
