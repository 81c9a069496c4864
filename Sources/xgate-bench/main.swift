// xgate-bench: throughput of the offline pipeline on realistic records, printed as figures (not a timed test).
//
//   make bench            (release build)
//   .build/release/xgate-bench [--records N] [--runs R]
//
// 1. schema validation + identifier checks + merge of N realistic records (~600 bytes, Chinese text): records/s;
// 2. sign and verify batches of 1,000 records: median and p95 milliseconds;
// 3. peak resident memory.
import Foundation
import XGateCore
import XGateFileSystem
import XGateJOSE
import XGateJSON
import XGateTestSupport

func argument(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count, let n = Int(args[i + 1]) { return n }
    return value
}

let recordCount = argument("--records", default: 200_000)
let runs = argument("--runs", default: 3)

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func peakMemoryMB() -> Double {
    var usage = rusage()
    getrusage(0, &usage)  // RUSAGE_SELF
    return Double(usage.ru_maxrss) / 1024  // Linux reports kilobytes
}

// Facts of a typical length, so that a record is about 620 bytes, as in the design's measurements.
let facts = [
    "贮存超过保质期的食品原料12.5千克。",
    "施工现场裸露土方未覆盖，造成扬尘。",
    "未取得排污许可证擅自排放废水。",
]

let contracts: ContractSet
do {
    contracts = try ContractsDirectory.load(RepositoryPaths.contracts)
} catch {
    FileHandle.standardError.write(Data("xgate-bench: \(error)\n".utf8))
    exit(69)
}
let policy = MergePolicy(cityNodes: ["sh-city"], listKinds: contracts.catalogue.listKinds)

// The records as they arrive: serialized JSON, one per change.
print("xgate-bench: generating \(recordCount) realistic administrative-penalty records …")
var encoded: [[UInt8]] = []
encoded.reserveCapacity(recordCount)
var totalBytes = 0
var recordBytes = 0
for i in 0..<recordCount {
    var record = SampleRecords.penalty(
        sourceId: "XH-AMR-CF-2026-\(String(format: "%07d", i))", company: i, authority: i,
        fine: "\(1 + i % 50).\(i % 10)", facts: facts[i % facts.count])
    record.set("《食品安全法》第一百二十四条", at: JSONPointer("/data/basis")!)
    record.set("警告，罚款贰万伍仟元。", at: JSONPointer("/data/penaltyContent")!)
    record.set("违反食品安全规定", at: JSONPointer("/data/violationType")!)
    let change = Change(
        key: RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: record["sourceId"]!.stringValue!),
        content: ContentVersion(version: 1, author: "sh-xuhui", at: "2026-11-20T10:00:00+08:00", record: record),
        status: StatusChange(version: 1, value: .active, from: nil, author: "sh-xuhui", at: "2026-11-20T10:00:00+08:00"))
    let bytes = change.json.serialized()
    totalBytes += bytes.count
    recordBytes += record.serialized().count
    encoded.append(bytes)
}
let averageRecordBytes = totalBytes / recordCount
print(
    "records: \(recordCount), average change size \(totalBytes / recordCount) bytes (the record inside it ~\(recordBytes / recordCount) bytes)"
)

// 1. Parse, validate (schema + identifiers), merge.
var parseRates: [Double] = []
var validateRates: [Double] = []
var mergeRates: [Double] = []
var schemaRates: [Double] = []
var identifierRates: [Double] = []
var pipelineRates: [Double] = []
guard let validator = contracts.validator(for: "urn:xgate:schema:record:administrative-penalty:1") else { exit(69) }
for _ in 0..<runs {
    var start = now()
    var parsed: [JSONValue] = []
    parsed.reserveCapacity(recordCount)
    for bytes in encoded { parsed.append(try! JSONParser().parse(bytes)) }
    parseRates.append(Double(recordCount) / (now() - start))

    start = now()
    var invalid = 0
    var changes: [Change] = []
    changes.reserveCapacity(recordCount)
    for json in parsed {
        let change = try! Change(json: json)
        if !contracts.issues(inRecord: change.content!.record).isEmpty { invalid += 1 }
        changes.append(change)
    }
    validateRates.append(Double(recordCount) / (now() - start))
    precondition(invalid == 0, "benchmark records must be valid")

    start = now()
    for change in changes where !validator.isValid(change.content!.record) { invalid += 1 }
    schemaRates.append(Double(recordCount) / (now() - start))
    start = now()
    for change in changes where !contracts.identifierIssues(in: change.content!.record, at: .root, today: nil).isEmpty { invalid += 1 }
    identifierRates.append(Double(recordCount) / (now() - start))

    start = now()
    var store: [RecordKey: RecordState] = [:]
    store.reserveCapacity(recordCount)
    for change in changes {
        let (state, outcome) = Merge.apply(change, to: store[change.key], policy: policy)
        precondition(outcome == .applied)
        store[change.key] = state
    }
    mergeRates.append(Double(recordCount) / (now() - start))

    // The whole pipeline in one pass, as a receiver runs it.
    start = now()
    var pipelineStore: [RecordKey: RecordState] = [:]
    pipelineStore.reserveCapacity(recordCount)
    for bytes in encoded {
        let json = try! JSONParser().parse(bytes)
        let change = try! Change(json: json)
        guard contracts.issues(inRecord: change.content!.record).isEmpty else { continue }
        let (state, _) = Merge.apply(change, to: pipelineStore[change.key], policy: policy)
        pipelineStore[change.key] = state
    }
    pipelineRates.append(Double(recordCount) / (now() - start))
}
_ = validator

// 2. Batches of 1,000: sign and verify.
let district = SigningKey.generate(node: "sh-xuhui")
let federation = Federation(
    peers: [
        try! Peer(json: [
            "id": "sh-xuhui", "name": "上海市徐汇区公共信用信息服务分平台", "roles": ["district"], "division": "310104",
            "endpoint": "https://sh-xuhui.xgate.example:8443", "tls": ["pins": []],
            "keys": [["jwk": district.publicJWK, "notBefore": "2026-01-01T00:00:00+08:00", "notAfter": "2027-12-31T23:59:59+08:00"]],
        ])
    ], agreements: [])
let verifier = SignatureVerifier(federation: federation)
var signTimes: [Double] = []
var verifyTimes: [Double] = []
var inspectTimes: [Double] = []
var batchBytes = 0
let batches = min(50, recordCount / 1000)
for b in 0..<batches {
    let changes = (0..<1000).map { try! JSONParser().parse(encoded[b * 1000 + $0]) }
    let document = BatchDocument(
        batchId: "0193a5c2-7e4d-7b21-9f3a-\(String(format: "%012d", b))", from: "sh-xuhui", to: "sh-city", sequence: b + 1,
        createdAt: Timestamp("2026-11-20T10:00:00+08:00")!, changes: changes)
    var start = now()
    let payload = document.json.serialized()
    let jws = try! JWS.sign(payload: payload, type: JWS.batchType, key: district)
    signTimes.append((now() - start) * 1000)
    batchBytes = payload.count
    start = now()
    let verified = try! verifier.verifyBatch(jws, now: nil)
    verifyTimes.append((now() - start) * 1000)
    start = now()
    let inspection = try! contracts.inspect(batchPayload: verified.payload, federation: nil, policy: policy)
    precondition(inspection.acceptedChanges.count == 1000)
    inspectTimes.append((now() - start) * 1000)
}

func rate(_ values: [Double]) -> String { String(format: "%.0f rec/s", median(values)) }
func ms(_ values: [Double]) -> String { String(format: "median %.1f ms, p95 %.1f ms", median(values), percentile(values, 0.95)) }

print("")
print("== records (\(recordCount) per run, median of \(runs) runs, ~\(averageRecordBytes) bytes per change)")
print("parse (JSON → values)                  \(rate(parseRates))")
print("read change + validate (schema + ids)  \(rate(validateRates))")
print("  of which schema alone (isValid)      \(rate(schemaRates))")
print("  of which identifiers alone           \(rate(identifierRates))")
print("merge (into an in-memory store)        \(rate(mergeRates))")
print("pipeline (parse + validate + merge)    \(rate(pipelineRates))")
print("")
print("== batches of 1,000 records (\(batches) batches, \(batchBytes / 1024) KiB payload)")
print("serialize + sign                       \(ms(signTimes))")
print("verify signature (+ parse payload)     \(ms(verifyTimes))")
print("inspect (schema + records + authority) \(ms(inspectTimes))")
print("")
print(String(format: "peak memory %.0f MB (the benchmark holds every record parsed, in several structures at once)", peakMemoryMB()))
print(
    String(
        format: "bench: validate+merge %.0f rec/s, batch of 1000 sign %.1f ms verify %.1f ms", median(pipelineRates), median(signTimes),
        median(verifyTimes) + median(inspectTimes)))
