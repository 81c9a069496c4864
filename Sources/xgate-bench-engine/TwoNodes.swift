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
    static func run(records count: Int, workload: Workload, directory: String) throws -> (seconds: Double, records: Int) {
        let districtPath = directory + "/two-nodes-district.sqlite"
        let cityPath = directory + "/two-nodes-city.sqlite"
        Ceiling.removeDatabase(districtPath)
        Ceiling.removeDatabase(cityPath)
        let districtStore = try SQLiteStore(path: districtPath)
        let cityStore = try SQLiteStore(path: cityPath)
        let district = try EngineRun.engine(receiver: Nodes.district, store: districtStore, workload: workload, seed: 7)
        let city = try EngineRun.engine(receiver: Nodes.city, store: cityStore, workload: workload, seed: 42)
        for chunk in stride(from: 0, to: count, by: 5_000) {
            let results = try district.submit(records: (chunk..<min(count, chunk + 5_000)).map(workload.record))
            if let refused = results.first(where: { $0.outcome != .applied }) { fail("徐汇 did not take a record: \(refused)") }
        }

        let toPrepare = Queue<OutboundBatch?>()
        let toCommit = Queue<(OutboundBatch, PreparedBatch)?>(capacity: 2)
        let answered = Queue<(OutboundBatch, [UInt8])>()
        let failure = Queue<any Error>()
        let start = now()
        let maker = Thread {
            do {
                var lastSent = 0
                var inFlight = 0
                while true {
                    let fresh = try district.window(to: Nodes.city).filter { $0.sequence > lastSent }
                    for batch in fresh {
                        toPrepare.put(batch)
                        lastSent = batch.sequence
                        inFlight += 1
                    }
                    if inFlight == 0 { break }
                    if fresh.isEmpty || inFlight >= district.configuration.window {
                        try district.prefetch(to: Nodes.city)
                        var (batch, receipt) = answered.take()
                        while true {
                            try district.accept(receipt: receipt, for: batch)
                            inFlight -= 1
                            guard let next = answered.poll() else { break }
                            (batch, receipt) = next
                        }
                    }
                }
            } catch {
                failure.put(error)
            }
            toPrepare.put(nil)
        }
        let preparer = Thread {
            while let batch = toPrepare.take() {
                do {
                    toCommit.put((batch, try city.prepare(batch.jws)))
                } catch {
                    failure.put(error)
                    break
                }
            }
            toCommit.put(nil)
        }
        maker.start()
        preparer.start()
        while let (batch, prepared) = toCommit.take() {
            answered.put((batch, try city.commit(prepared)))
        }
        if let error = failure.poll() { throw error }
        try districtStore.close()
        try cityStore.close()
        let seconds = now() - start
        let held = try SQLiteStore.openForReading(path: cityPath).read { try $0.lastLocalSequence() }
        guard held == Int64(count) else { fail("the city holds \(held) of \(count) records after the two-node run") }
        Ceiling.removeDatabase(districtPath)
        Ceiling.removeDatabase(cityPath)
        return (seconds, count)
    }

    /// A blocking FIFO between the run's threads (bounded when `capacity` is given).
    final class Queue<Element>: @unchecked Sendable {
        private let condition = NSCondition()
        private var items: [Element] = []
        private let capacity: Int

        init(capacity: Int = .max) { self.capacity = capacity }

        func put(_ item: Element) {
            condition.lock()
            while items.count >= capacity { condition.wait() }
            items.append(item)
            condition.broadcast()
            condition.unlock()
        }

        func take() -> Element {
            condition.lock()
            while items.isEmpty { condition.wait() }
            let item = items.removeFirst()
            condition.broadcast()
            condition.unlock()
            return item
        }

        func poll() -> Element? {
            condition.lock()
            defer { condition.unlock() }
            guard !items.isEmpty else { return nil }
            condition.broadcast()
            return items.removeFirst()
        }
    }
}
