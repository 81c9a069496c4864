import Testing
import XGateFileSystem
import XGateJSON
import XGateTestSupport

@testable import XGateCore

/// How a receiver reads a batch: one bad change never blocks the others; some faults refuse the whole batch.
@Suite struct BatchInspectionTests {
    let contracts: ContractSet
    let federation: Federation

    init() throws {
        contracts = try ContractsDirectory.load(RepositoryPaths.contracts)
        federation = try PeersDirectory.load(RepositoryPaths.peers, contracts: contracts)
    }

    func change(_ sourceId: String, owner: String = "sh-xuhui", statusAuthor: String? = nil, record: JSONValue? = nil) -> JSONValue {
        let at = "2026-11-20T10:00:00+08:00"
        var status = StatusChange(version: 1, value: .active, from: nil, author: owner, at: at)
        if let statusAuthor {
            status = StatusChange(
                version: 2, value: .repaired, from: .active, author: statusAuthor, at: at, reason: "已履行义务", basis: "《信用修复管理办法》第十二条")
            return Change(key: RecordKey(owner: owner, kind: "administrative-penalty", sourceId: sourceId), content: nil, status: status)
                .json
        }
        return Change(
            key: RecordKey(owner: owner, kind: "administrative-penalty", sourceId: sourceId),
            content: ContentVersion(version: 1, author: owner, at: at, record: record ?? SampleRecords.penalty(sourceId: sourceId)),
            status: status
        ).json
    }

    func batch(from: String, to: String = "sh-city", _ changes: [JSONValue]) -> JSONValue {
        BatchDocument(
            batchId: "0193a5c2-7e4d-7b21-9f3a-2c8d4e6f1a0b", from: from, to: to, sequence: 1,
            createdAt: Timestamp("2026-11-20T10:00:00+08:00")!, changes: changes
        ).json
    }

    @Test func oneBadChangeNeverBlocksTheOthers() throws {
        var bad = SampleRecords.penalty(sourceId: "XH-2026-0002")
        bad.set("not-a-date", at: JSONPointer("/data/decisionDate")!)
        var wrongCheck = SampleRecords.penalty(sourceId: "XH-2026-0003")
        wrongCheck.set(.string(String(SampleRecords.companies[0].uscc.dropLast()) + "0"), at: JSONPointer("/subject/uscc")!)
        let inspection = try contracts.inspect(
            batchPayload: batch(
                from: "sh-xuhui",
                [
                    change("XH-2026-0001"), change("XH-2026-0002", record: bad), change("XH-2026-0003", record: wrongCheck),
                    change("XH-2026-0004"),
                ]),
            federation: federation)
        #expect(inspection.entries.map { $0.rejection?.code } == [nil, "schema.format", "uscc.check-character", nil])
        #expect(inspection.entries[1].rejection?.field?.description == "/content/record/data/decisionDate")
        #expect(inspection.acceptedChanges.map(\.index) == [0, 3])
    }

    @Test func onlyTheCityRelaysChangesWrittenByOthers() throws {
        let relayed = change("XH-2026-0001", owner: "sh-xuhui")
        let fromDistrict = try contracts.inspect(batchPayload: batch(from: "sh-putuo", [relayed]), federation: federation)
        #expect(fromDistrict.entries[0].rejection?.code == "change.author-not-sender")
        let fromCity = try contracts.inspect(
            batchPayload: batch(from: "sh-city", to: "sh-putuo", [change("XH-2026-0001", statusAuthor: "sh-city")]), federation: federation)
        #expect(fromCity.entries[0].rejection == nil, "the city relays a repair it decided on a 徐汇 record")
        let forged = try contracts.inspect(
            batchPayload: batch(from: "sh-xuhui", [change("XH-2026-0001", statusAuthor: "sh-city")]), federation: federation)
        #expect(forged.entries[0].rejection?.code == "change.author-not-sender", "a district cannot claim the city's repair")
    }

    @Test func envelopeFaultsRefuseTheWholeBatch() {
        let many = (0...1000).map { change("XH-BULK-\($0)") }
        #expect(throws: BatchError(code: "batch.too-large", message: "the batch carries 1001 changes; at most 1000 are accepted")) {
            try contracts.inspect(batchPayload: batch(from: "sh-xuhui", many), federation: federation)
        }
        var noSequence = batch(from: "sh-xuhui", [change("XH-2026-0001")])
        noSequence.set(0, at: JSONPointer("/sequence")!)
        #expect(throws: BatchError.self) { try contracts.inspect(batchPayload: noSequence, federation: federation) }
    }

    @Test func receiptsOmitAFieldForAFaultAtTheChangesRoot() {
        let outcome = Receipt.Outcome(
            index: 3, .rejected(Rejection(code: "schema.required", field: .root, message: "required property 'status' is missing")))
        #expect(outcome.field == nil)
        #expect(outcome.code == "schema.required")
    }

    @Test func otherDocumentNumbersAreMaskedToAShapeTheSchemaAccepts() {
        #expect(Federation.maskedText("E12345678", field: "idNumber") == "E******78")
        #expect(Federation.maskedText("H60318452", field: "idNumber").hasPrefix("H"))
        #expect(Federation.maskedText("11010519491231002X", field: "idNumber") == "110105********002X")
    }

    @Test func theCalendarLoaderRefusesAWeekdayMakeupDay() {
        var calendar = WorkingDayCalendar()
        let file: JSONValue = [
            "year": 2030, "status": "provisional", "holidays": [], "makeupWorkdays": [["date": "2030-01-02", "for": "元旦"]],
        ]
        #expect(throws: WorkingDayCalendar.CalendarError.self) { try calendar.add(yearFile: file) }
    }
}
