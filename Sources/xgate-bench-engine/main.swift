// xgate-bench-engine: how fast the sync engine applies signed batches into its SQLite store, against the storage
// ceiling of the same records upserted by the sqlite3 CLI. Prints figures; asserts only that every record applied.
//
//   make bench-engine        (release build; BENCH_ENGINE_FLAGS="--no-million" skips the long phase)
//   .build/release/xgate-bench-engine [--batches N] [--runs N] [--no-million] [--million-records N] [--dir PATH] [--keep]
//
// 1. First, 1,000,000 records streamed through a receiver (made, signed and applied batch by batch), in a child
//    process started while this one is small: peak RSS and records/s.
// 2. Engine apply: batches of 1,000 realistic penalties (~800 bytes, Chinese text) signed by 徐汇 (sh-xuhui) with
//    sequences 1, 2, 3 …, received by the city's SyncEngine.receive into a fresh SQLite file (verify, parse, validate,
//    merge, write records + history + lineage + inbox + receipt, and the city's relays to partners, commit);
//    and the same records as the city relays them, received by a partner (zj-jiaxing) that relays nothing. Each
//    also pipelined: prepare (verify + inspect) on a second thread while the previous batch commits.
// 3. The ceiling: the same records (the same stored JSON) upserted by sqlite3 through json_each, 1,000 rows per
//    transaction, into a fresh file with the store's schema and pragmas.
// 4. Where the engine's time goes (an instrumented replica of receive).
// The last line: `engine apply R1 rec/s, sqlite3 ceiling R2 rec/s, ratio X.XX`: a non-relaying receiver applying
// pipelined (as the daemon's concurrent requests do) over the records + history ceiling; the summary line above it
// gives every case, the city's relaying receive included.
import Foundation
import XGateCore
import XGateJSON

let options = Options.parse(CommandLine.arguments)

if options.millionChild {
    do {
        try await Million.run(options: options)
        exit(0)
    } catch {
        fail("million: \(error)")
    }
}

let directory = options.directory.hasSuffix("/") ? String(options.directory.dropLast()) : options.directory
let workDirectory = directory + "/xgate-bench-engine-\(getpid())"
do {
    try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
} catch {
    fail("cannot create \(workDirectory): \(error)")
}
let fsType = fileSystemType(workDirectory)
let tmpfsWarning = fsType.hasPrefix("tmpfs") ? " — WARNING: memory, not the disk; use --dir on the repo's disk" : ""
say("xgate-bench-engine: signed batches applied by SyncEngine.receive into SQLite, against the sqlite3 CLI's ceiling")
say(
    "files in \(workDirectory) (\(fsType)\(tmpfsWarning)); sqlite3 \(Ceiling.version());"
        + " \(ProcessInfo.processInfo.activeProcessorCount) cores")

// The long phase first, in a child process started while this one is still small: on Linux a child's ru_maxrss starts
// from its parent's RSS at the spawn, so starting it after the throughput phases (which hold every batch) would report
// the parent's memory, not the engine's.
if options.million {
    say("")
    say(
        "== peak memory: \(grouped(Double(options.millionRecords))) records streamed batch by batch, made and applied one at a time"
            + " (a separate process; --million-node \(options.millionNode))")
    if !Million.spawn(options: options, directory: workDirectory) { say("million: the long phase failed (see above)") }
    sync()  // let the long phase's writes reach the disk before the throughput runs start
}

let workload: Workload
do {
    workload = try Workload()
} catch {
    fail("loading Contracts/ and Peers/: \(error)")
}

if options.twoNodesOnly {
    do {
        let run = try await TwoNodes.run(records: options.batches * 1000, workload: workload, directory: workDirectory)
        say("district → city in process: \(grouped(Double(run.records))) records in \(String(format: "%.2f", run.seconds)) s → \(Int((Double(run.records) / run.seconds).rounded())) rec/s")
    } catch {
        fail("district → city in process: \(error)")
    }
    exit(0)
}

// The batches, made once (outside every timing) and held as bytes; the ceiling's rows written to files.
let batchCount = options.batches
say("")
say("making \(batchCount) batches of 1,000 records (signed 徐汇 → city, and city → \(Nodes.partner) as relayed) …")
var sizes = WorkloadSizes()
var toCity: [[UInt8]] = []
var toPartner: [[UInt8]] = []
var ceilingFiles: [(path: String, batchId: String)] = []
let idRandom = SeededRandom(seed: 2026)
for b in 0..<batchCount {
    let prepared = workload.prepare(batch: b, random: idRandom, sizes: &sizes)
    toCity.append(prepared.toCity)
    toPartner.append(prepared.toPartner)
    let path = workDirectory + String(format: "/rows-%06d.json", b + 1)
    do {
        try Data(prepared.ceilingRows).write(to: URL(fileURLWithPath: path))
    } catch {
        fail("writing \(path): \(error)")
    }
    ceilingFiles.append((path, prepared.cityBatchId))
}
let totalRecords = sizes.records
say(
    "records: \(grouped(Double(totalRecords))) per run; average record \(sizes.recordBytes / totalRecords) bytes"
        + " (change on the wire \(sizes.changeBytes / totalRecords) bytes, stored state \(sizes.storedStateBytes / totalRecords) bytes);"
        + " signed batch \(sizes.batchBytes / batchCount / 1024) KiB")

/// One engine figure: a receiver, its batches, sequential `receive` or pipelined prepare/commit.
struct EngineCase {
    var label: String
    var receiver: String
    var batches: [[UInt8]]
    var pipelined: Bool
    var rates: [Double] = []
    var rows = ""
    var databaseBytes = 0
}

var cases = [
    EngineCase(label: "city (relays), receive", receiver: Nodes.city, batches: toCity, pipelined: false),
    EngineCase(label: "partner (no relay), receive", receiver: Nodes.partner, batches: toPartner, pipelined: false),
    EngineCase(label: "city, pipelined", receiver: Nodes.city, batches: toCity, pipelined: true),
    EngineCase(label: "partner, pipelined", receiver: Nodes.partner, batches: toPartner, pipelined: true),
]
if options.cityOnly { cases = [cases[2]] }
let variants = options.cityOnly ? [Ceiling.Variant.history] : Ceiling.Variant.allCases
var ceilingRates: [Ceiling.Variant: [Double]] = [:]
var ceilingDatabaseBytes: [Ceiling.Variant: Int] = [:]
var receiptBytes = 40_000
var cityStates = ""
var sameJSON = ""

// The runs, interleaved (every engine case, then the three ceilings) so that drift of the shared disk hits every
// figure alike.
say("")
say("== runs (\(options.runs) × \(grouped(Double(totalRecords))) records, fresh database file each run)")
for run in 1...options.runs {
    do {
        for index in cases.indices {
            let name = "engine-\(index)-\(run)"
            let result = try await EngineRun.run(
                receiver: cases[index].receiver, batches: cases[index].batches, workload: workload, directory: workDirectory, name: name,
                pipelined: cases[index].pipelined)
            cases[index].rates.append(Double(result.records) / result.seconds)
            cases[index].databaseBytes = result.databaseBytes
            if run == 1 { cases[index].rows = EngineRun.rowCounts(database: result.database) }
            if run == 1 && index == 0 {
                receiptBytes = result.receiptBytes
                cityStates = EngineRun.statesDigest(database: result.database)
            }
            if !options.keep { Ceiling.removeDatabase(result.database) }
            say(
                String(
                    format: "run %d  engine, %@ %@ rec/s  (%.1f s)", run,
                    cases[index].label.padding(toLength: 29, withPad: " ", startingAt: 0),
                    grouped(cases[index].rates.last!).leftPad(7), result.seconds))
        }
        for variant in variants {
            let name = "ceiling-\(variant.rawValue)-\(run)"
            let result = try await Ceiling.run(
                variant: variant, files: ceilingFiles, directory: workDirectory, name: name, receiptBytes: receiptBytes,
                at: workload.receivedAt.text)
            guard result.records == totalRecords else {
                fail("the ceiling (\(variant)) stored \(result.records) of \(totalRecords) records")
            }
            ceilingRates[variant, default: []].append(Double(result.records) / result.seconds)
            ceilingDatabaseBytes[variant] = result.databaseBytes
            if run == 1 && variant == .history {
                let ceilingStates = EngineRun.statesDigest(database: workDirectory + "/\(name).sqlite")
                let bytes = ceilingStates.split(separator: "|").first.flatMap { Int($0) } ?? 0
                sameJSON =
                    ceilingStates == cityStates
                    ? "yes (\(grouped(Double(bytes))) bytes of state_json, the same SHA3 in feed order)"
                    : "NO — engine \(cityStates), ceiling \(ceilingStates)"
            }
            if !options.keep { Ceiling.removeDatabase(workDirectory + "/\(name).sqlite") }
            say(
                String(
                    format: "run %d  sqlite3 ceiling, %@ %@ rec/s  (%.1f s)", run,
                    variant.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0), grouped(ceilingRates[variant]!.last!).leftPad(7),
                    result.seconds))
        }
    } catch {
        fail("run \(run): \(error)")
    }
}

if options.cityOnly {
    say("")
    // The same records made, signed and sent by 徐汇's engine to the city's in one process (three runs, the median).
    var twoNodeRates: [Double] = []
    for _ in 0..<max(1, options.runs) {
        do {
            let run = try await TwoNodes.run(records: totalRecords, workload: workload, directory: workDirectory)
            twoNodeRates.append(Double(run.records) / run.seconds)
        } catch {
            fail("district → city in process: \(error)")
        }
    }
    say("district → city in process (徐汇 makes, signs and sends; the city applies; receipts taken) \(Int(median(twoNodeRates).rounded())) rec/s")
    say(
        "city pipelined \(Int(median(cases[0].rates).rounded())) rec/s, sqlite3 ceiling \(Int(median(ceilingRates[.history]!).rounded())) rec/s"
    )
    exit(0)
}

let cityRate = median(cases[0].rates)
let partnerRate = median(cases[1].rates)
let ceilingRate = median(ceilingRates[.history]!)
func mb(_ bytes: Int) -> String { String(format: "%.0f MB", Double(bytes) / 1e6) }

say("")
say(
    "== engine: SyncEngine.receive end to end: verify signature, parse, validate, merge, write, receipt, commit (median of \(options.runs))"
)
say("city (sh-city) ← 徐汇, relaying     \(grouped(cityRate).leftPad(7)) rec/s")
say("    the city relays: each record is stored once, and its push channels to the partners an agreement names read it from the log (no row per partner)")
say("    wrote: \(cases[0].rows); file \(mb(cases[0].databaseBytes))")
say(
    "partner (\(Nodes.partner)) ← city       \(grouped(partnerRate).leftPad(7)) rec/s   (relays nothing; the same records as the city forwards them)"
)
say("    wrote: \(cases[1].rows); file \(mb(cases[1].databaseBytes))")
say(
    "pipelined (prepare on a 2nd thread while the previous batch commits, as concurrent requests would): city "
        + "\(grouped(median(cases[2].rates))) rec/s, partner \(grouped(median(cases[3].rates))) rec/s")
say("")
say("== storage ceiling: sqlite3 CLI, json_each(readfile(batch file)), one 1,000-row transaction per batch, same schema and pragmas")
for variant in Ceiling.Variant.allCases {
    let marker = variant == .history ? "   ← the ceiling" : ""
    say(
        "\(variant.title.padding(toLength: 48, withPad: " ", startingAt: 0)) \(grouped(median(ceilingRates[variant]!)).leftPad(7)) rec/s"
            + "   file \(mb(ceilingDatabaseBytes[variant] ?? 0))\(marker)")
}
say("the stored states are the engine's own JSON: \(sameJSON)")
say("the 'full' variant's inbox row carries a \(grouped(Double(receiptBytes))) byte blob, the size of the engine's signed receipt")

// Where the time goes.
say("")
say("== where the engine's time goes (an instrumented replica of receive over the same \(batchCount) batches; one run each)")
var profiles: [(name: String, profile: ProfileResult, engineRate: Double)] = []
do {
    let city = try await Profile.run(receiver: Nodes.city, batches: toCity, workload: workload, directory: workDirectory, name: "profile-city")
    if !options.keep { Ceiling.removeDatabase(workDirectory + "/profile-city.sqlite") }
    let partner = try await Profile.run(
        receiver: Nodes.partner, batches: toPartner, workload: workload, directory: workDirectory, name: "profile-partner")
    if !options.keep { Ceiling.removeDatabase(workDirectory + "/profile-partner.sqlite") }
    profiles = [("city", city, cityRate), ("partner", partner, partnerRate)]
} catch {
    fail("profile: \(error)")
}
say("phase                                              city ms/batch  µs/rec   share │ partner ms/batch  µs/rec   share")
for phase in Phase.allCases {
    if phase == .merge || phase == .envelopeParse {
        say(phase == .envelopeParse ? "prepare (no store, no lock)" : "commit (one write transaction)")
    }
    var line = ("  " + phase.title).padding(toLength: 48, withPad: " ", startingAt: 0)
    for (index, entry) in profiles.enumerated() {
        let seconds = entry.profile.times[phase]
        let batches = Double(entry.profile.records / 1000)
        line += String(
            format: "%@%9.2f %8.1f %6.1f%%", index == 0 ? "  " : "  │ ", seconds * 1000 / batches,
            seconds * 1e6 / Double(entry.profile.records), seconds / entry.profile.times.total * 100)
    }
    say(line)
}
say("split further (separate passes over the same batches, outside the totals)")
for extra in ProfileResult.Extra.allCases {
    var line = ("  " + extra.title).padding(toLength: 78, withPad: " ", startingAt: 0)
    for (index, entry) in profiles.enumerated() {
        let seconds = entry.profile.extras[extra] ?? 0
        line += String(format: "%@%7.2f ms", index == 0 ? "" : " │ ", seconds * 1000 / Double(entry.profile.records / 1000))
    }
    say(line)
}
for entry in profiles {
    let profile = entry.profile
    let total = profile.times.total
    let batches = Double(profile.records / 1000)
    let prepare = Phase.allCases.filter(\.isPrepare).reduce(0) { $0 + profile.times[$1] }
    let storage = Phase.allCases.filter(\.isStorage).reduce(0) { $0 + profile.times[$1] }
    let commitCPU = total - prepare - storage
    say(
        String(
            format: "%@: %.1f ms/batch = prepare %.1f + commit CPU %.1f (merge, route, receipt) + SQLite %.1f (%.0f%%);"
                + " replica %@ rec/s, engine %@ rec/s",
            entry.name, total * 1000 / batches, prepare * 1000 / batches, commitCPU * 1000 / batches, storage * 1000 / batches,
            storage / total * 100, grouped(Double(profile.records) / total), grouped(entry.engineRate)))
}

if !options.keep { try? FileManager.default.removeItem(atPath: workDirectory) }

say("")
say(
    String(
        format: "summary: city %@ rec/s (%.2f of the ceiling), partner %@ rec/s (%.2f), pipelined city %@ (%.2f), partner %@ (%.2f);"
            + " ceiling = records + history via sqlite3",
        grouped(cityRate), cityRate / ceilingRate, grouped(partnerRate), partnerRate / ceilingRate, grouped(median(cases[2].rates)),
        median(cases[2].rates) / ceilingRate, grouped(median(cases[3].rates)), median(cases[3].rates) / ceilingRate))
// The headline is the like-for-like figure: a receiver that writes what the ceiling writes (records, history — plus
// the lineage, inbox and receipt the ceiling leaves out) and relays nothing, applying batches as the daemon does, each
// request preparing its batch (verify, parse, validate) outside the single writer while the writer commits the
// previous one. The city's relaying receive, which also queues every record for twelve partners, is the line above.
let headline = median(cases[3].rates)
say(
    String(
        format: "engine apply %d rec/s, sqlite3 ceiling %d rec/s, ratio %.2f", Int(headline.rounded()), Int(ceilingRate.rounded()),
        headline / ceilingRate))

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
