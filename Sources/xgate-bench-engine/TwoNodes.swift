// District → city in process: the work of bench-e2e's two daemons (徐汇 makes, signs and sends its channel's batches;
// the city verifies, checks and applies them and answers with receipts that 徐汇 takes), without processes, HTTP or
// TLS. bench-e2e prints its rate beside the city's receive alone, so that what the daemons and the network cost is
// told apart from what making the batches costs on the same cores.
import Foundation
import XGateCore
import XGateEngine
import XGateSQLite

enum TwoNodes {
    /// 徐汇's store is given `count` records first (submitted in chunks of 5,000, as `xgate push --chunk 5000` does),
    /// outside the timing. Timed: 徐汇's engine makes its batches to the city as a push round does (`window`, and
    /// `prefetch` while it waits), with the engine's window of batches in flight; the city prepares each on one thread
    /// and commits it on another; 徐汇 accepts each receipt as it comes back — until every batch is delivered. Checked
    /// afterwards: the city holds all `count` records.
    static func run(records count: Int, workload: Workload, directory: String) async throws -> (seconds: Double, records: Int) {
        let districtPath = directory + "/two-nodes-district.sqlite"
        let cityPath = directory + "/two-nodes-city.sqlite"
        Ceiling.removeDatabase(districtPath)
        Ceiling.removeDatabase(cityPath)
        let districtStore = try SQLiteStore(path: districtPath)
        let cityStore = try SQLiteStore(path: cityPath)
        let district = try EngineRun.engine(receiver: Nodes.district, store: districtStore, workload: workload, seed: 7)
        let city = try EngineRun.engine(receiver: Nodes.city, store: cityStore, workload: workload, seed: 42)
        for chunk in stride(from: 0, to: count, by: 5_000) {
            let results = try await district.submit(records: (chunk..<min(count, chunk + 5_000)).map(workload.record))
            if let refused = results.first(where: { $0.outcome != .applied }) { fail("徐汇 did not take a record: \(refused)") }
        }

        let toPrepare = Queue<OutboundBatch?>()
        let toCommit = Queue<(OutboundBatch, PreparedBatch)?>(capacity: 2)
        let answered = Queue<(OutboundBatch, [UInt8])>()
        let failure = Queue<any Error>()
        let start = now()
        let maker = Task { @concurrent in
            do {
                var lastSent = 0
                var inFlight = 0
                while true {
                    let fresh = try await district.window(to: Nodes.city).filter { $0.sequence > lastSent }
                    for batch in fresh {
                        await toPrepare.put(batch)
                        lastSent = batch.sequence
                        inFlight += 1
                    }
                    if inFlight == 0 { break }
                    if fresh.isEmpty || inFlight >= district.configuration.window {
                        try await district.prefetch(to: Nodes.city)
                        var (batch, receipt) = await answered.take()
                        while true {
                            try await district.accept(receipt: receipt, for: batch)
                            inFlight -= 1
                            guard let next = await answered.poll() else { break }
                            (batch, receipt) = next
                        }
                    }
                }
            } catch {
                await failure.put(error)
            }
            await toPrepare.put(nil)
        }
        let preparer = Task { @concurrent in
            while let batch = await toPrepare.take() {
                do {
                    await toCommit.put((batch, try await city.prepare(batch.jws)))
                } catch {
                    await failure.put(error)
                    break
                }
            }
            await toCommit.put(nil)
        }
        while let (batch, prepared) = await toCommit.take() {
            await answered.put((batch, try await city.commit(prepared)))
        }
        await maker.value
        await preparer.value
        if let error = await failure.poll() { throw error }
        try await districtStore.close()
        try await cityStore.close()
        let seconds = now() - start
        let held = try await SQLiteStore.openForReading(path: cityPath).read { try await $0.lastLocalSequence() }
        guard held == Int64(count) else { fail("the city holds \(held) of \(count) records after the two-node run") }
        Ceiling.removeDatabase(districtPath)
        Ceiling.removeDatabase(cityPath)
        return (seconds, count)
    }

    /// A FIFO between the run's tasks (bounded when `capacity` is given): `put` waits while it is full, `take` while
    /// it is empty.
    actor Queue<Element: Sendable> {
        private var items: [Element] = []
        private let capacity: Int
        private var takers: [CheckedContinuation<Element, Never>] = []
        private var putters: [CheckedContinuation<Void, Never>] = []

        init(capacity: Int = .max) { self.capacity = capacity }

        func put(_ item: Element) async {
            while items.count >= capacity { await withCheckedContinuation { putters.append($0) } }
            if !takers.isEmpty {
                takers.removeFirst().resume(returning: item)
            } else {
                items.append(item)
            }
        }

        func take() async -> Element {
            if let item = poll() { return item }
            return await withCheckedContinuation { takers.append($0) }
        }

        func poll() -> Element? {
            guard !items.isEmpty else { return nil }
            if !putters.isEmpty { putters.removeFirst().resume() }
            return items.removeFirst()
        }
    }
}
