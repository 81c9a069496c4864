import Foundation
import Testing
import XGateCore
import XGateEngine
import XGateJSON
import XGateTestSupport

/// A window of batches in flight per channel (`engine.window`): sent at once, they may arrive in any order, and the
/// receiver applies them in sequence order — waiting for an overtaken predecessor (`awaitTurn`), or answering
/// `sequence.gap`, which the sender takes as "send that one again", never as a failed attempt.
@Suite(.serialized) struct WindowTests {
    /// A transport that hands a window over in the order the test sets. `concurrent`: every batch on its own task,
    /// the later ones first (each starts `stagger` after the one behind it), and the receiver waits for its turn as
    /// the daemon's `POST /v1/batches` does; otherwise one after another, in that order, and the receiver does not wait.
    final class OrderedTransport: PeerTransport, @unchecked Sendable {
        let nodes: [String: SimulatedNode]
        let reversed: Bool
        let concurrent: Bool
        private let lock = NSLock()
        private(set) var arrivals: [Int] = []  // the sequences in the order the receiver got them
        private(set) var windows: [Int] = []  // the size of each window sent

        init(nodes: [String: SimulatedNode], reversed: Bool, concurrent: Bool) {
            self.nodes = nodes
            self.reversed = reversed
            self.concurrent = concurrent
        }

        func push(_ jws: [UInt8], to peer: String) async throws -> [UInt8] {
            let receiver = nodes[peer]!.engine
            let prepared = try receiver.prepare(jws)
            lock.withLock { arrivals.append(prepared.sequence) }
            if concurrent { try await receiver.awaitTurn(of: prepared, patience: .seconds(5)) }
            return try await receiver.commit(prepared)
        }

        func push(window: [[UInt8]], to peer: String) async -> [Result<[UInt8], any Error>] {
            lock.withLock { windows.append(window.count) }
            let order = reversed ? Array(window.indices.reversed()) : Array(window.indices)
            var answers = [Result<[UInt8], any Error>?](repeating: nil, count: window.count)
            if concurrent {
                await withTaskGroup(of: (Int, Result<[UInt8], any Error>).self) { group in
                    for (rank, index) in order.enumerated() {
                        group.addTask {
                            try? await Task.sleep(for: .milliseconds(30 * rank))
                            do { return (index, .success(try await self.push(window[index], to: peer))) } catch { return (index, .failure(error)) }
                        }
                    }
                    for await (index, answer) in group { answers[index] = answer }
                }
            } else {
                for index in order {
                    do { answers[index] = .success(try await push(window[index], to: peer)) } catch { answers[index] = .failure(error) }
                }
            }
            return answers.map { $0! }
        }
    }

    static func world(window: Int) throws -> FederationSimulationTests.World {
        var configuration = FederationSimulationTests.simulationConfiguration
        configuration.maximumChangesPerBatch = 1
        configuration.window = window
        return try FederationSimulationTests.makeWorld(seed: 3, faults: false, configuration: configuration)
    }

    static func submit(_ count: Int, at district: SimulatedNode) async throws {
        let records = (1...count).map { SampleRecords.penalty(sourceId: String(format: "XH-WIN-%04d", $0), company: $0) }
        _ = try await district.engine.submit(records: records)
    }

    /// A transport with only the one-batch `push`, so the window goes through the protocol's own `push(window:)` (the
    /// one the daemon's HTTPS client uses): the first batch answers last, the second fails.
    struct EchoTransport: PeerTransport {
        func push(_ jws: [UInt8], to peer: String) async throws -> [UInt8] {
            let index = Int(jws[0])
            try await Task.sleep(for: .milliseconds(10 * (8 - index)))
            if index == 1 { throw EngineError(code: "transport.failed", message: "batch 1 lost", retryable: true) }
            return jws + [UInt8(ascii: "!")]
        }
    }

    @Test func theDefaultWindowAnswersEachBatchInTheOrderGivenWhateverOrderTheAnswersCome() async throws {
        let window = (0..<8).map { [UInt8($0), UInt8(ascii: "b")] }
        for _ in 0..<20 {
            let answers = await EchoTransport().push(window: window, to: "sh-city")
            #expect(answers.count == window.count)
            for (index, answer) in answers.enumerated() {
                switch answer {
                case .success(let bytes):
                    #expect(index != 1)
                    #expect(bytes == window[index] + [UInt8(ascii: "!")], "answer \(index) belongs to another batch")
                case .failure(let error):
                    #expect(index == 1)
                    #expect((error as? EngineError)?.code == "transport.failed")
                }
            }
        }
        // Cancelled while the answers are outstanding: every batch answers with the cancellation, none is lost.
        let task = Task { await EchoTransport().push(window: window, to: "sh-city") }
        task.cancel()
        let answers = await task.value
        #expect(answers.count == window.count)
        #expect(answers.allSatisfy { if case .failure = $0 { true } else { false } })
    }

    @Test func overtakenBatchesWaitForTheirTurnAndAllOfAWindowIsApplied() async throws {
        let world = try Self.world(window: 4)
        let district = world.nodes["sh-xuhui"]!, city = world.nodes["sh-city"]!
        try await Self.submit(8, at: district)
        let transport = OrderedTransport(nodes: world.nodes, reversed: true, concurrent: true)
        var breaker = CircuitBreaker()
        let first = try await district.engine.push(to: "sh-city", transport: transport, breaker: &breaker)
        #expect(first.delivered.map(\.sequence) == [1, 2, 3, 4], "the whole window in one round")
        #expect(first.failed.isEmpty)
        #expect(transport.arrivals.prefix(4) == [4, 3, 2, 1], "the receiver got them last first")
        let second = try await district.engine.push(to: "sh-city", transport: transport, breaker: &breaker)
        #expect(second.delivered.map(\.sequence) == [5, 6, 7, 8])
        #expect(try await district.engine.push(to: "sh-city", transport: transport, breaker: &breaker).isIdle)
        #expect((try await city.store.read { try await $0.expectedInboundSequence(from: "sh-xuhui") }) == 9)
        for n in 1...8 {
            let key = RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: String(format: "XH-WIN-%04d", n))
            #expect((try await city.store.read { try await $0.record(key) }) != nil, "\(key) at the city")
        }
    }

    @Test func aGapInsideTheWindowIsSentAgainAndNeverCountsAsAnAttempt() async throws {
        let world = try Self.world(window: 3)
        let district = world.nodes["sh-xuhui"]!, city = world.nodes["sh-city"]!
        try await Self.submit(5, at: district)
        let transport = OrderedTransport(nodes: world.nodes, reversed: true, concurrent: false)
        var breaker = CircuitBreaker(configuration: .init(failureThreshold: 1, openSeconds: 3_600))
        var rounds = 0
        while rounds < 20 {
            let round = try await district.engine.push(to: "sh-city", transport: transport, breaker: &breaker)
            if round.isIdle { break }
            rounds += 1
            // Last first, without waiting: only the lowest of each window goes in; the rest are answered sequence.gap
            // naming a batch of the same window, which is no failure (a breaker that opens at one failure stays shut).
            #expect(round.delivered.count == 1 && round.failed.isEmpty, "round \(rounds): \(round)")
        }
        #expect(rounds == 5)
        #expect(transport.windows == [3, 3, 3, 2, 1], "new batches are made up to the window as earlier ones go in")
        #expect((try await city.store.read { try await $0.expectedInboundSequence(from: "sh-xuhui") }) == 6)
        for sequence in 1...5 {
            let batch = try await district.store.read { try await $0.outboundBatch(peer: "sh-city", sequence: sequence) }
            #expect(batch?.state == .delivered && batch?.attempts == 0, "batch \(sequence): \(String(describing: batch))")
        }
    }

    @Test func aBatchWhosePredecessorNeverComesIsRefusedWithTheGapAfterThePatience() async throws {
        let world = try Self.world(window: 2)
        let district = world.nodes["sh-xuhui"]!, city = world.nodes["sh-city"]!
        try await Self.submit(2, at: district)
        let batches = try await district.engine.window(to: "sh-city")
        #expect(batches.map(\.sequence) == [1, 2])
        let second = try city.engine.prepare(batches[1].jws)
        let started = ContinuousClock.now
        try await city.engine.awaitTurn(of: second, patience: .milliseconds(200))
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(200), "it waited the patience out: \(waited)")
        await #expect(throws: EngineError.self) { try await city.engine.commit(second) }
        do {
            _ = try await city.engine.commit(second)
        } catch let error as EngineError {
            #expect(error.code == "sequence.gap" && error.expectedSequence == 1)
        }
    }
}
