// xgate-bench-engine: how fast the sync engine applies signed batches into its SQLite store, against the storage
// ceiling of the same records upserted by the sqlite3 CLI. Prints figures; asserts only that every record applied.
//
//   make bench-engine        (release build; BENCH_ENGINE_FLAGS="--no-million" skips the long phase)
//   .build/release/xgate-bench-engine [--batches N] [--runs N] [--no-million] [--million-records N] [--dir PATH] [--keep]
//
// 1. Engine apply: batches of 1,000 realistic penalties (~600 bytes, Chinese text) signed by 徐汇 (sh-xuhui) with
//    sequences 1, 2, 3 …, received by the city's SyncEngine.receive into a fresh SQLite file (verify, parse, validate,
//    merge, write records + history + lineage + inbox + receipt, and the city's relays to partners, commit);
//    and the same records as the city relays them, received by a partner (zj-jiaxing) that relays nothing.
// 2. The ceiling: the same records (the same stored JSON) upserted by sqlite3 through json_each, 1,000 rows per
//    transaction, into a fresh file with the store's schema and pragmas.
// 3. Where the engine's time goes (an instrumented replica of receive).
// 4. First, 1,000,000 records streamed through a receiver, in a child process: peak RSS and records/s.
// The last line: `engine apply R1 rec/s, sqlite3 ceiling R2 rec/s, ratio X.XX` (the city's figure over the
// records + history ceiling).
import Foundation
import XGateCore
import XGateJSON

let options = Options.parse(CommandLine.arguments)

if options.millionChild {
    do {
        try Million.run(options: options)
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
say("xgate-bench-engine: signed batches applied by SyncEngine.receive into SQLite, against the sqlite3 CLI's ceiling")
say(
    "files in \(workDirectory) (\(fsType)\(fsType.hasPrefix("tmpfs") ? " — WARNING: memory, not the disk; use --dir on the repo's disk" : ""));"
        + " sqlite3 \(Ceiling.version()); \(ProcessInfo.processInfo.activeProcessorCount) cores")

// The long phase first, in a child process started while this one is still small: on Linux a child's ru_maxrss starts
// from its parent's RSS at the spawn, so starting it after the throughput phases (which hold every batch) would report
// the parent's memory, not the engine's.
var millionFailed = false
if options.million {
    say("")
    say(
        "== peak memory: \(grouped(Double(options.millionRecords))) records streamed batch by batch, made and applied one at a time"
            + " (a separate process; --million-node \(options.millionNode))")
    millionFailed = !Million.spawn(options: options, directory: workDirectory)
    if millionFailed { say("million: the long phase failed (see above)") }
    sync()  // let the long phase's writes reach the disk before the throughput runs start
}

let workload: Workload
do {
    workload = try Workload()
} catch {
    fail("loading Contracts/ and Peers/: \(error)")
}

// The batches, made once (outside every timing) and held as bytes; the ceiling's rows written to files.
let batchCount = options.batches
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

// The runs, interleaved (city, partner, the three ceilings) so that drift of the shared disk hits every figure alike.
var cityRates: [Double] = []
var partnerRates: [Double] = []
var ceilingRates: [Ceiling.Variant: [Double]] = [:]
var receiptBytes = 40_000
var cityRows = ""
var partnerRows = ""
var cityDatabaseBytes = 0
var partnerDatabaseBytes = 0
var ceilingDatabaseBytes: [Ceiling.Variant: Int] = [:]
var sameJSON = ""
say("")
say("== runs (\(options.runs) × \(grouped(Double(totalRecords))) records, fresh database file each run)")
for run in 1...options.runs {
    do {
        let city = try EngineRun.run(
            receiver: Nodes.city, batches: toCity, workload: workload, directory: workDirectory, name: "engine-city-\(run)")
        cityRates.append(Double(city.records) / city.seconds)
        receiptBytes = city.receiptBytes
        cityDatabaseBytes = city.databaseBytes
        if run == 1 { cityRows = EngineRun.rowCounts(database: city.database) }
        let cityStates = run == 1 ? EngineRun.statesDigest(database: city.database) : ""
        if !options.keep { Ceiling.removeDatabase(city.database) }
        say(String(format: "run %d  engine, city (relays)        %@ rec/s  (%.1f s)", run, grouped(cityRates.last!).leftPad(7), city.seconds))

        let partner = try EngineRun.run(
            receiver: Nodes.partner, batches: toPartner, workload: workload, directory: workDirectory, name: "engine-partner-\(run)")
        partnerRates.append(Double(partner.records) / partner.seconds)
        partnerDatabaseBytes = partner.databaseBytes
        if run == 1 { partnerRows = EngineRun.rowCounts(database: partner.database) }
        if !options.keep { Ceiling.removeDatabase(partner.database) }
        say(String(format: "run %d  engine, partner (no relay)   %@ rec/s  (%.1f s)", run, grouped(partnerRates.last!).leftPad(7), partner.seconds))

        for variant in Ceiling.Variant.allCases {
            let name = "ceiling-\(variant.rawValue)-\(run)"
            let result = try Ceiling.run(
                variant: variant, files: ceilingFiles, directory: workDirectory, name: name, receiptBytes: receiptBytes,
                at: workload.receivedAt.text)
            guard result.records == totalRecords else { fail("the ceiling (\(variant)) stored \(result.records) of \(totalRecords) records") }
            ceilingRates[variant, default: []].append(Double(result.records) / result.seconds)
            ceilingDatabaseBytes[variant] = result.databaseBytes
            if run == 1 && variant == .history {
                let ceilingStates = EngineRun.statesDigest(database: workDirectory + "/\(name).sqlite")
                sameJSON = ceilingStates == cityStates
                    ? "yes (\(grouped(Double(ceilingStates.split(separator: "|").first.flatMap { Int($0) } ?? 0))) bytes of state_json, same SHA3 in feed order)"
                    : "NO — engine \(cityStates), ceiling \(ceilingStates)"
            }
            if !options.keep { Ceiling.removeDatabase(workDirectory + "/\(name).sqlite") }
            say(
                String(
                    format: "run %d  sqlite3 ceiling, %@ %@ rec/s  (%.1f s)", run,
                    variant.rawValue.padding(toLength: 17, withPad: " ", startingAt: 0), grouped(ceilingRates[variant]!.last!).leftPad(7),
                    result.seconds))
        }
    } catch {
        fail("run \(run): \(error)")
    }
}

let cityRate = median(cityRates)
let partnerRate = median(partnerRates)
let ceilingRate = median(ceilingRates[.history]!)
func mb(_ bytes: Int) -> String { String(format: "%.0f MB", Double(bytes) / 1e6) }

say("")
say("== engine: SyncEngine.receive, end to end (verify signature, parse, validate, merge, write, receipt, commit; median of \(options.runs))")
say("city (sh-city) ← 徐汇, relaying    \(grouped(cityRate).leftPad(7)) rec/s")
say("    the city also queues each record for every partner an agreement names (city-to-partners): that is real work it does")
say("    wrote: \(cityRows); file \(mb(cityDatabaseBytes))")
say("partner (\(Nodes.partner)) ← city      \(grouped(partnerRate).leftPad(7)) rec/s   (relays nothing: same records, as the city forwards them)")
say("    wrote: \(partnerRows); file \(mb(partnerDatabaseBytes))")
say("")
say("== storage ceiling: sqlite3 CLI, json_each(readfile(batch file)), one 1,000-row transaction per batch, same schema and pragmas (median of \(options.runs))")
for variant in Ceiling.Variant.allCases {
    let marker = variant == .history ? "   ← the ceiling below" : ""
    say(
        "\(variant.title.padding(toLength: 48, withPad: " ", startingAt: 0)) \(grouped(median(ceilingRates[variant]!)).leftPad(7)) rec/s"
            + "   file \(mb(ceilingDatabaseBytes[variant] ?? 0))\(marker)")
}
say("the stored states are the engine's own JSON: \(sameJSON)")
say("the 'full' variant's inbox row carries a \(grouped(Double(receiptBytes))) byte blob, the size of the engine's signed receipt")

// Where the time goes.
say("")
say("== where the engine's time goes (an instrumented replica of receive over the same \(batchCount) batches; one run each)")
var profiles: [(String, ProfileResult, Double)] = []
do {
    let cityProfile = try Profile.run(receiver: Nodes.city, batches: toCity, workload: workload, directory: workDirectory, name: "profile-city")
    if !options.keep { Ceiling.removeDatabase(workDirectory + "/profile-city.sqlite") }
    let partnerProfile = try Profile.run(
        receiver: Nodes.partner, batches: toPartner, workload: workload, directory: workDirectory, name: "profile-partner")
    if !options.keep { Ceiling.removeDatabase(workDirectory + "/profile-partner.sqlite") }
    profiles = [("city", cityProfile, cityRate), ("partner", partnerProfile, partnerRate)]
} catch {
    fail("profile: \(error)")
}
say("phase                                              city ms/batch  µs/rec   share │ partner ms/batch  µs/rec   share")
for phase in Phase.allCases {
    var line = phase.title.padding(toLength: 48, withPad: " ", startingAt: 0)
    for (index, (_, profile, _)) in profiles.enumerated() {
        let seconds = profile.times[phase]
        let batches = Double(profile.records / 1000)
        line += String(
            format: "%@%9.2f %8.1f %6.1f%%", index == 0 ? "  " : "  │ ", seconds * 1000 / batches, seconds * 1e6 / Double(profile.records),
            seconds / profile.times.total * 100)
    }
    say(line)
}
func sums(_ profile: ProfileResult) -> (cpu: Double, storage: Double) {
    let storage = Phase.allCases.filter(\.isStorage).reduce(0) { $0 + profile.times[$1] }
    return (profile.times.total - storage, storage)
}
for extra in ProfileResult.Extra.allCases {
    var line = ("  " + extra.title).padding(toLength: 78, withPad: " ", startingAt: 0)
    for (index, (_, profile, _)) in profiles.enumerated() {
        let seconds = profile.extras[extra] ?? 0
        line += String(format: "%@%7.2f ms", index == 0 ? "" : " │ ", seconds * 1000 / Double(profile.records / 1000))
    }
    say(line)
}
for (name, profile, engineRate) in profiles {
    let (cpu, storage) = sums(profile)
    let batches = Double(profile.records / 1000)
    say(
        String(
            format: "%@: %.1f ms/batch = CPU %.1f ms (%.0f%%) + SQLite %.1f ms (%.0f%%); replica %@ rec/s vs the engine's %@ rec/s; %.1f outbox rows per record",
            name, profile.times.total * 1000 / batches, cpu * 1000 / batches, cpu / profile.times.total * 100, storage * 1000 / batches,
            storage / profile.times.total * 100, grouped(Double(profile.records) / profile.times.total), grouped(engineRate),
            Double(profile.outboxRows) / Double(profile.records)))
}

if !options.keep { try? FileManager.default.removeItem(atPath: workDirectory) }

say("")
say(
    String(
        format: "summary: city %@ rec/s (%.2f of the ceiling), partner without relays %@ rec/s (%.2f); ceiling = records + history via sqlite3",
        grouped(cityRate), cityRate / ceilingRate, grouped(partnerRate), partnerRate / ceilingRate))
say(String(format: "engine apply %d rec/s, sqlite3 ceiling %d rec/s, ratio %.2f", Int(cityRate.rounded()), Int(ceilingRate.rounded()), cityRate / ceilingRate))

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
