// The long phase: 1,000,000 records applied batch by batch, streaming (each batch is made, signed, received and
// dropped before the next), in a child process so that its peak RSS is its own and not the throughput phases'.
import Foundation
import XGateCore
import XGateEngine
import XGateJSON
import XGateSQLite

enum Million {
    /// Runs in the parent: starts this executable again with `--million-child` and passes its output through.
    static func spawn(options: Options, directory: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
            process.executableURL = Bundle.main.executableURL
        }
        var arguments = [
            "--million-child", "--million-records", "\(options.millionRecords)", "--million-node", options.millionNode, "--dir", directory,
        ]
        if options.keep { arguments.append("--keep") }
        process.arguments = arguments
        do {
            try process.run()
        } catch {
            say("million: cannot start \(process.executableURL?.path ?? "?"): \(error)")
            return false
        }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Runs in the child.
    static func run(options: Options) async throws {
        let workload = try Workload()
        let directory = options.directory
        let toCity = options.millionNode == "city"
        let (sender, receiver) = toCity ? (Nodes.district, Nodes.city) : (Nodes.city, Nodes.partner)
        let name = "million-\(options.millionNode)"
        let database = directory + "/\(name).sqlite"
        Ceiling.removeDatabase(database)
        let store = try SQLiteStore(path: database)
        let engine = try EngineRun.engine(receiver: receiver, store: store, workload: workload, seed: 7)
        let batches = options.millionRecords / 1000
        let random = SeededRandom(seed: 99)
        let baseline = currentRSSMB()
        say(
            String(
                format: "million: %@ records in %d batches %@, streaming; RSS before the first batch %.0f MB",
                grouped(Double(batches * 1000)), batches,
                toCity ? "徐汇 → city (the city queues relays)" : "city → \(Nodes.partner) (relays nothing)", baseline))
        var receiveSeconds = 0.0
        var lastMark = (time: now(), records: 0, receive: 0.0)
        let start = now()
        let checkpoints = Set([1, 2, 3, 4].map { batches * $0 / 4 })
        for b in 0..<batches {
            var changes: [JSONValue] = []
            changes.reserveCapacity(1000)
            for i in b * 1000..<(b + 1) * 1000 {
                let change = workload.districtChange(i)
                changes.append(toCity ? change.json : workload.relayed(change, to: Nodes.partner).json)
            }
            let jws = workload.signedBatch(
                from: sender, to: receiver, sequence: b + 1, changes: changes, batchId: random.batchID(at: workload.signedAt))
            let r0 = now()
            let receipt = try await engine.receive(jws)
            receiveSeconds += now() - r0
            guard try EngineRun.appliedCount(receipt: receipt, workload: workload) == 1000 else {
                fail("batch \(b + 1) was not fully applied")
            }
            if checkpoints.contains(b + 1) {
                let t = now()
                let records = (b + 1) * 1000
                say(
                    String(
                        format:
                            "  %@ records: last quarter %@ rec/s receive-only (%@ rec/s with generation); RSS now %.0f MB, peak %.0f MB; database %.2f GB",
                        grouped(Double(records)).padding(toLength: 9, withPad: " ", startingAt: 0),
                        grouped(Double(records - lastMark.records) / (receiveSeconds - lastMark.receive)),
                        grouped(Double(records - lastMark.records) / (t - lastMark.time)), currentRSSMB(), peakRSSMB(),
                        Double(fileBytes(directory, prefix: "\(name).sqlite")) / 1e9))
                lastMark = (t, records, receiveSeconds)
            }
        }
        let c0 = now()
        try await store.close()
        receiveSeconds += now() - c0
        let wall = now() - start
        let total = Double(batches * 1000)
        say(
            String(
                format:
                    "million: %@ rec/s receive-only (%.0f s; %@ rec/s including making and signing the batches, %.0f s); database %.1f GB",
                grouped(total / receiveSeconds), receiveSeconds, grouped(total / wall), wall,
                Double(fileBytes(directory, prefix: "\(name).sqlite")) / 1e9))
        say(
            String(
                format:
                    "million: peak RSS %.0f MB (getrusage ru_maxrss %d KiB; /proc VmHWM %d KiB); the writer's SQLite page cache may grow to %d MB",
                peakRSSMB(), peakRSSKiB(), highWaterKiB(), SQLiteStore.Configuration().writerCacheKiB / 1024))
        if !options.keep { Ceiling.removeDatabase(database) }
    }
}
