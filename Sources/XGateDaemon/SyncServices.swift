import Logging
import ServiceLifecycle
import XGateClient
import XGateCore
import XGateEngine
import XGateServer

/// Sleeps for `milliseconds`, returning early (without throwing) when the service group shuts down.
func pause(milliseconds: Int) async {
    _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(milliseconds)) }
}

/// The push loops and retry scheduler: every peer with work gets its batches, a window in flight per channel, each
/// through its circuit breaker; failed batches come back when their backoff has passed (`SyncEngine.window(to:)` picks them).
/// On SIGTERM the batch in flight finishes (its receipt taken or its failure kept), then the loop ends.
struct PushService: Service {
    let engine: SyncEngine
    let client: PeerClient
    let board: DeliveryBoard
    let offload: Offload
    /// Each channel is pushed by the one instance holding its lease (`push:<peer>`).
    let leases: LeaseKeeper
    let intervalMilliseconds: Int
    let logger: Logger

    func run() async throws {
        // One loop per peer, started the first time the peer has work and kept until shutdown: a slow or unreachable
        // peer delays only its own channel. Each loop drains its channel, then waits for new work or the interval.
        await withTaskGroup(of: Void.self) { group in
            var started = Set<String>()
            var seen = board.work.current
            let engine = self.engine
            // Only the peers without a loop yet are looked at (a started loop asks about its own peer).
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let waiting = engine.pushPeers.filter { !started.contains($0) }
                if waiting.isEmpty { break }
                let peers = (try? await offload.read { try await engine.peersWithWork(among: waiting) }) ?? []
                for peer in peers where !started.contains(peer) {
                    started.insert(peer)
                    group.addTask { await self.loop(peer) }
                }
                seen = await waitForWork(after: seen)
            }
            await group.waitForAll()
        }
    }

    /// The push loop of one peer: drain, then wait for a signal or the interval (the retry scheduler's tick too:
    /// `SyncEngine.window(to:)` returns a failed batch once its backoff has passed).
    func loop(_ peer: String) async {
        var breaker = CircuitBreaker(configuration: engine.configuration.circuitBreaker)
        var seen = board.work.current
        let engine = self.engine
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Another instance of this node holds the channel: wait, and ask again (it may have died).
            guard await leases.holds("push:\(peer)") else {
                seen = await waitForWork(after: seen)
                continue
            }
            // A read first (readers run beside the writer): a signal wakes every loop, and only a peer with work
            // should take a turn on the single writer thread.
            let busy = (try? await offload.read { try await engine.hasWork(for: peer) }) ?? true
            if busy {
                let (_, after, _) = await drain(peer, breaker: breaker)
                breaker = after
            }
            seen = await waitForWork(after: seen)
        }
    }

    /// Waits for a work signal after `seen` or the interval; returns early on graceful shutdown.
    func waitForWork(after seen: UInt64) async -> UInt64 {
        let board = self.board
        let interval = intervalMilliseconds
        return await cancelWhenGracefulShutdown { await board.work.wait(after: seen, milliseconds: interval) }
    }

    /// Pushes to one peer until nothing is due, a push fails, or the node shuts down. Returns the breaker and the
    /// number of batches delivered.
    func drain(_ peer: String, breaker start: CircuitBreaker) async -> (String, CircuitBreaker, Int) {
        var breaker = start
        var count = 0
        push: while !Task.isShuttingDownGracefully {
            guard await leases.holds("push:\(peer)") else { break push }  // renewed while the channel drains
            do {
                let started = ContinuousClock.now
                let round = try await engine.push(to: peer, transport: client, breaker: &breaker, executor: offload)
                if round.isIdle { break push }
                for batch in round.delivered {
                    logger.debug(
                        "batch delivered",
                        metadata: [
                            "peer": "\(peer)", "batch": "\(batch.batchId)", "sequence": "\(batch.sequence)",
                            "changes": "\(batch.keys.count)", "window": "\(round.delivered.count + round.failed.count)",
                            "ms": "\(milliseconds(ContinuousClock.now - started))",
                        ])
                    count += 1
                    board.count("xgate_records_out_total{peer=\"\(peer)\"}", by: Double(batch.keys.count))
                    board.count("xgate_batches_out_total{peer=\"\(peer)\",outcome=\"delivered\"}")
                }
                if !round.delivered.isEmpty {
                    let now = engine.clock.now()
                    board.update(peer) { $0.lastSuccess = now }
                }
                for failure in round.failed {
                    let now = engine.clock.now()
                    board.update(peer) {
                        $0.lastError = failure.error.description
                        $0.lastErrorAt = now
                    }
                    board.count("xgate_batches_out_total{peer=\"\(peer)\",outcome=\"failed\"}")
                    logger.warning(
                        "push failed", metadata: ["peer": "\(peer)", "batch": "\(failure.batch.batchId)", "error": "\(failure.error)"])
                }
                if !round.failed.isEmpty { break push }
            } catch {
                logger.error("push loop error", metadata: ["peer": "\(peer)", "error": "\(error)"])
                break
            }
        }
        board.update(peer) { $0.circuit = Self.describe(breaker.state) }
        return (peer, breaker, count)
    }

    static func describe(_ state: CircuitBreaker.State) -> String {
        switch state {
        case .closed: return "closed"
        case .open: return "open"
        case .halfOpen: return "half-open"
        }
    }
}

/// The pull loops: for each feed the node subscribes to, pages are pulled and applied until none is waiting; the
/// corrections that arrived are acknowledged to the publisher. The cursor is stored with each page, so a restart
/// continues where the last applied page ended.
struct PullService: Service {
    let engine: SyncEngine
    let client: PeerClient
    let board: DeliveryBoard
    let offload: Offload
    let publishers: [String]
    let pageSize: Int
    /// Each publisher is pulled by the one instance holding its lease (`pull:<publisher>`).
    let leases: LeaseKeeper
    let intervalSeconds: Int
    let logger: Logger

    func run() async throws {
        guard !publishers.isEmpty else {
            try? await gracefulShutdown()  // nothing to pull; a service must not end before the group does
            return
        }
        // One loop per publisher: a long poll held at one does not hold back the others.
        await withTaskGroup(of: Void.self) { group in
            for publisher in publishers {
                group.addTask { await self.loop(publisher) }
            }
        }
    }

    /// The pull loop of one publisher. Each round's first request is a long poll (`wait`, as long as the pull interval,
    /// at most 25 s): the publisher answers as soon as it has a change, so a correction arrives within milliseconds and
    /// the loop goes straight on. A publisher that refuses `wait` (an older one: 400 `request.parameter`) is polled
    /// every interval as before; so is one that failed.
    func loop(_ publisher: String) async {
        var longPoll = true
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard await leases.holds("pull:\(publisher)") else {
                await pause(milliseconds: intervalSeconds * 1000)
                continue
            }
            let started = ContinuousClock.now
            let wait = longPoll ? min(intervalSeconds, PeerClient.longestWait) : 0
            let outcome = await pullAll(from: publisher, wait: wait)
            switch outcome {
            case .pulled(moved: true):
                continue  // changes came: ask again at once (the next request waits again)
            case .pulled(moved: false) where wait > 0 && ContinuousClock.now - started >= .seconds(wait) / 2:
                continue  // the publisher held the request until its time was up: nothing new, ask again
            case .refusedWait:
                longPoll = false
            case .pulled, .failed:
                break  // failed, or answered at once with nothing: wait out the interval, never a busy loop
            }
            await pause(milliseconds: intervalSeconds * 1000)
        }
    }

    enum Outcome: Equatable {
        /// The round pulled until nothing was waiting; `moved`: the cursor moved (changes came).
        case pulled(moved: Bool)
        case failed
        case refusedWait
    }

    func pullAll(from publisher: String, wait: Int = 0) async -> Outcome {
        let engine = self.engine
        var reachable = true
        var outcome = Outcome.pulled(moved: false)
        var wait = wait
        do {
            while !Task.isShuttingDownGracefully {
                let cursor = try await offload.read { try await engine.feedCursor(of: publisher) }
                let page: [UInt8]
                do {
                    page = try await client.pull(from: publisher, cursor: cursor, limit: pageSize, wait: wait)
                } catch let error as EngineError where wait > 0 && error.code == "request.parameter" && error.message.contains("wait") {
                    outcome = .refusedWait
                    wait = 0
                    continue
                }
                wait = 0  // only the first page of a round waits: the rest are read at once
                let result = try await offload.write { try await engine.applyFeed(page, from: publisher) }
                if result.cursor != cursor, outcome != .refusedWait { outcome = .pulled(moved: true) }
                board.work.signal()
                let now = engine.clock.now()
                board.update(publisher) {
                    $0.lastSuccess = now
                    $0.lastPull = now
                }
                board.count("xgate_feed_pages_pulled_total{peer=\"\(publisher)\"}")
                if !result.hasMore { break }
            }
        } catch {
            failed(publisher, "pull", error)
            outcome = .failed
            // Unreachable: the acknowledgements wait for the next round (and the pull's error stays on the board).
            if (error as? EngineError)?.code.hasPrefix("transport.") ?? true { reachable = false }
        }
        // The corrections pulled (now or in an earlier round, before a crash or a failed send) are acknowledged from
        // the store, and forgotten once the publisher has taken them.
        guard reachable else { return outcome }
        do {
            while !Task.isShuttingDownGracefully && !Task.isCancelled,
                let pending = try await offload.read({ try await engine.pendingAcknowledgement(to: publisher) })
            {
                try await client.acknowledge(pending.jws, to: publisher)
                try await offload.write { try await engine.acknowledgementsDelivered(pending.items, to: publisher) }
                logger.info("corrections acknowledged", metadata: ["peer": "\(publisher)", "count": "\(pending.items.count)"])
            }
        } catch {
            failed(publisher, "acknowledgement", error)
        }
        return outcome
    }

    private func failed(_ publisher: String, _ what: String, _ error: any Error) {
        let now = engine.clock.now()
        board.update(publisher) {
            $0.lastError = "\(what): \(error)"
            $0.lastErrorAt = now
        }
        logger.warning("\(what) failed", metadata: ["peer": "\(publisher)", "error": "\(error)"])
    }
}

/// The expiry sweep: publicity periods that ended become `expired` decisions at the owner (and travel), corrections
/// unacknowledged past their deadline are flagged in the sync log, and old delivered batches lose their signed bytes.
/// One instance holds the `expiry` lease and sweeps every `intervalSeconds`; the others stand by.
struct ExpiryService: Service {
    let engine: SyncEngine
    let offload: Offload
    /// The sweep is run by the one instance holding the `expiry` lease.
    let leases: LeaseKeeper
    let intervalSeconds: Int
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let engine = self.engine
            guard await leases.holds("expiry") else {
                // A standby asks again within half a lease, not a sweep interval: when the holder dies, the sweep
                // passes to this instance within a lease and a half of its last renewal (and runs at once).
                await pause(milliseconds: min(intervalSeconds, Int(leases.seconds) / 2) * 1000)
                continue
            }
            do {
                let expired = try await offload.write { try await engine.expireDue() }
                let overdue = try await offload.write { try await engine.flagOverdueCorrections() }
                let pruned = try await offload.write { try await engine.pruneSentBatches() }
                if !expired.isEmpty || !overdue.isEmpty || pruned > 0 {
                    logger.info(
                        "expiry sweep",
                        metadata: [
                            "expired": "\(expired.count)", "overdueCorrections": "\(overdue.count)", "prunedSentBatches": "\(pruned)",
                        ])
                }
            } catch {
                logger.error("expiry sweep failed", metadata: ["error": "\(error)"])
            }
            await pause(milliseconds: intervalSeconds * 1000)
        }
    }
}

/// Once a minute, the records received and sent since the last sample, the worst lag and the queue, kept in the store
/// for the console's charts (a week of them); the last, shorter interval is kept at shutdown.
struct SamplingService: Service {
    let api: GatewayAPI
    let logger: Logger

    func run() async throws {
        var last = GatewayAPI.ActivityTotals(at: api.engine.clock.now(), recordsIn: 0, recordsOut: 0)  // counters start at 0
        while !Task.isCancelled {
            await pause(milliseconds: 60_000)
            do {
                last = try await api.keepActivitySample(after: last)
            } catch {
                logger.warning("sampling for the charts failed", metadata: ["error": "\(error)"])
            }
            if Task.isShuttingDownGracefully { break }
        }
    }
}

/// Renews this instance's leases every 3 s while it runs (a lease lasts 10 s), whatever its loops are doing: a long
/// poll or a push to a slow peer outlasts a lease, and the work must not pass to another instance while its holder
/// lives. The leases are given up when the node stops (Daemon).
struct LeaseService: Service {
    let leases: LeaseKeeper

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await pause(milliseconds: 3_000)
            await leases.renewHeld()
        }
    }
}
