// The workload: realistic administrative penalties written by 徐汇 (sh-xuhui), signed into batches exactly as a
// district engine makes them (BatchDocument → canonical payload → JWS), and the same batches as the city relays them
// to a partner city (masked per agreement, signed by the city).
import Foundation
import XGateCore
import XGateJOSE
import XGateJSON
import XGateTestSupport

/// The nodes the benchmark plays.
enum Nodes {
    static let district = "sh-xuhui"
    static let city = "sh-city"
    /// A partner city: receives the city's relays of district penalties and relays nothing itself.
    static let partner = "zj-jiaxing"
    static let all = [district, city, partner]
}

struct Workload {
    let federation: Federation
    let contracts: ContractSet
    let keys: [String: SigningKey]
    let policy: MergePolicy
    /// When every batch is received (the receivers' clock stands still).
    let receivedAt = Timestamp("2026-11-20T10:00:00+08:00")!
    /// When the batches were signed: two minutes earlier.
    let signedAt = Timestamp("2026-11-20T09:58:00+08:00")!
    /// When 徐汇 wrote the records.
    let writtenAt = "2026-11-19T16:30:00+08:00"

    init() throws {
        let (federation, contracts, keys) = try BenchRegistry.make(nodes: Nodes.all)
        self.federation = federation
        self.contracts = contracts
        self.keys = keys
        self.policy = federation.mergePolicy(catalogue: contracts.catalogue)
    }

    // Facts, bases and contents of a typical length, so that a record is about 600–620 bytes (as in the design's
    // measurements and xgate-bench), with variety.
    static let facts = [
        "贮存超过保质期的食品原料12.5千克。",
        "施工现场裸露土方未覆盖，造成扬尘。",
        "未取得排污许可证擅自排放废水。",
        "销售标签不符合规定的预包装食品。",
        "未按规定公示营业执照信息。",
    ]
    static let bases = ["《食品安全法》第一百二十四条", "《大气污染防治法》第一百一十五条", "《水污染防治法》第八十三条"]
    static let contents = ["警告，罚款贰万伍仟元。", "罚款壹万元，责令改正。", "没收违法所得，罚款叁万元。"]
    static let violations = ["违反食品安全规定", "违反大气污染防治规定", "违反水污染防治规定"]

    /// Record number `i`: companies, authorities, fines, facts and decision dates vary with `i`.
    func record(_ i: Int) -> JSONValue {
        var record = SampleRecords.penalty(
            sourceId: "XH-AMR-CF-2026-\(String(format: "%07d", i))", company: i, authority: i / 5,
            fine: "\(1 + i % 50).\(i % 10)", decisionDate: String(format: "2026-10-%02d", 1 + i % 28),
            facts: Workload.facts[i % Workload.facts.count])
        let topic = (i / 7) % Workload.bases.count
        record.set(.string(Workload.bases[topic]), at: JSONPointer("/data/basis")!)
        record.set(.string(Workload.contents[(i / 3) % Workload.contents.count]), at: JSONPointer("/data/penaltyContent")!)
        record.set(.string(Workload.violations[topic]), at: JSONPointer("/data/violationType")!)
        return record
    }

    /// The change 徐汇 sends for record `i`: content version 1, status active (version 1).
    func districtChange(_ i: Int) -> Change {
        let record = record(i)
        return Change(
            key: RecordKey(owner: Nodes.district, kind: "administrative-penalty", sourceId: record["sourceId"]!.stringValue!),
            content: ContentVersion(version: 1, author: Nodes.district, at: writtenAt, record: record),
            status: StatusChange(version: 1, value: .active, from: nil, author: Nodes.district, at: writtenAt))
    }

    /// The change as the city relays it to `peer` (SyncEngine.outboundChange: masked per the agreement, the city's standing status).
    func relayed(_ change: Change, to peer: String) -> Change {
        let subjectType = change.content!.record["subject"]?["type"]?.stringValue ?? ""
        guard
            let permission = federation.permission(
                from: Nodes.city, to: peer, kind: change.key.kind, subjectType: subjectType, on: receivedAt.chinaDate)
        else { fail("no agreement lets \(Nodes.city) send \(change.key.kind) to \(peer)") }
        var content = change.content!
        let (record, masked) = Federation.redact(content.record, permission: permission)
        content.record = record
        return Change(key: change.key, content: content, status: change.status, masked: masked)
    }

    /// A signed batch (the JWS bytes as they travel), as `SyncEngine.nextBatch` makes it.
    func signedBatch(from sender: String, to receiver: String, sequence: Int, changes: [JSONValue], batchId: String) -> [UInt8] {
        let document = BatchDocument(
            batchId: batchId, from: sender, to: receiver, sequence: sequence, createdAt: signedAt, changes: changes)
        do {
            return try JWS.sign(payload: document.json.serialized(), type: JWS.batchType, key: keys[sender]!).serialized()
        } catch {
            fail("signing a batch: \(error)")
        }
    }
}

/// One batch in every form the benchmark needs.
struct BenchBatch {
    /// 徐汇 → city, signed by 徐汇.
    var toCity: [UInt8]
    /// City → partner (the same records as relayed), signed by the city.
    var toPartner: [UInt8]
    /// The rows the sqlite3 ceiling writes, as a JSON array (see Ceiling.swift).
    var ceilingRows: [UInt8]
    var cityBatchId: String
}

/// Sizes, to print.
struct WorkloadSizes {
    var records = 0
    var recordBytes = 0
    var changeBytes = 0
    var batchBytes = 0
    var storedStateBytes = 0
}

extension Workload {
    /// Batch `b` (records b×1000 … b×1000+999) in every form.
    func prepare(batch b: Int, size: Int = 1000, random: SeededRandom, sizes: inout WorkloadSizes) -> BenchBatch {
        var toCity: [JSONValue] = []
        var toPartner: [JSONValue] = []
        var rows: [JSONValue] = []
        toCity.reserveCapacity(size)
        toPartner.reserveCapacity(size)
        rows.reserveCapacity(size)
        let cityBatchId = random.batchID(at: signedAt)
        for i in b * size..<(b + 1) * size {
            let change = districtChange(i)
            let json = change.json
            toCity.append(json)
            toPartner.append(relayed(change, to: Nodes.partner).json)
            // What the receiver stores for a new record: Merge.apply on nothing held.
            let (state, outcome) = Merge.apply(change, to: nil, policy: policy)
            guard let state, outcome == .applied else { fail("record \(i) would not be applied: \(outcome)") }
            let stored = state.storageJSON
            rows.append(Ceiling.row(change: change, state: state, stored: stored))
            sizes.records += 1
            sizes.recordBytes += change.content!.record.serialized().count
            sizes.changeBytes += json.serialized().count
            sizes.storedStateBytes += stored.serialized().count
        }
        let city = signedBatch(from: Nodes.district, to: Nodes.city, sequence: b + 1, changes: toCity, batchId: cityBatchId)
        let partner = signedBatch(
            from: Nodes.city, to: Nodes.partner, sequence: b + 1, changes: toPartner, batchId: random.batchID(at: signedAt))
        sizes.batchBytes += city.count
        return BenchBatch(
            toCity: city, toPartner: partner, ceilingRows: JSONValue.array(rows).serialized(), cityBatchId: cityBatchId)
    }
}
