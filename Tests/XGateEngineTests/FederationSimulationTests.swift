import Foundation
import Testing
import XGateCore
import XGateEngine
import XGateFileSystem
import XGateJOSE
import XGateJSON
import XGateSQLite
import XGateTestSupport

/// The simulated federation: the city, three districts and two partners, each a real SQLite file, over a network
/// that drops requests and responses, delivers twice and replays old batches, with nodes crashing just before a
/// transaction commits and restarting. For many seeds: nothing lost, nothing applied twice, the same state wherever
/// the same feed goes, masks kept, every correction acknowledged by every holder.
@Suite(.serialized) struct FederationSimulationTests {
    static let districts = ["sh-xuhui", "sh-pudong", "sh-songjiang"]
    static let partners = ["zj-jiaxing", "js-suzhou"]
    static let all = ["sh-city"] + districts + partners
    static let registry: (Federation, ContractSet, [String: SigningKey]) = try! SimulatedRegistry.make(nodes: all)

    static func example(_ folder: String, _ name: String) throws -> JSONValue {
        try #require(Files.readJSON(RepositoryPaths.contracts + "/examples/\(folder)/valid/\(name).json")["instance"])
    }

    /// Records a district exports: penalties on companies and on a natural person, a licence.
    static func districtExport(_ district: String, count: Int) throws -> [JSONValue] {
        var records: [JSONValue] = []
        for i in 0..<count {
            let sourceId = "\(district.uppercased())-CF-2026-\(1000 + i)"
            var record = SampleRecords.penalty(sourceId: sourceId, company: i, authority: i, fine: "\(1 + i % 9).5")
            if i % 4 == 3 {
                let id = SampleRecords.residentID(
                    division: "310104", birth: "19\(70 + i % 20)0101", sequence: String(format: "%03d", 100 + i))
                record.set(["type": "natural-person", "name": "张伟", "idNumber": .string(id)], at: JSONPointer("/subject")!)
            }
            records.append(record)
        }
        var licence = try example("record-administrative-licence", "food-business-licence")
        licence.set(.string("\(district.uppercased())-XK-2026-1"), at: JSONPointer("/sourceId")!)
        records.append(licence)
        return records
    }

    /// City-level lists: dishonest judgment debtors (full ID by agreement) and a serious dishonesty entry on a person (masked for partners).
    static func cityLists() throws -> [JSONValue] {
        var debtor = try example("record-dishonest-judgment-debtor", "legal-person-partial")
        debtor.set("SH-COURT-SXBZXR-2026-0001", at: JSONPointer("/sourceId")!)
        var person = try example("record-serious-dishonesty-list", "wage-arrears-natural-person")
        person.set("SH-SDL-2026-0001", at: JSONPointer("/sourceId")!)
        return [debtor, person]
    }

    struct World {
        var nodes: [String: SimulatedNode]
        var network: SimulatedNetwork
        var random: SeededRandom
        var clock: ManualClock
        var directory: String
    }

    static let simulationConfiguration = EngineConfiguration(
        maximumChangesPerBatch: 4, retry: RetryPolicy(baseSeconds: 1, capSeconds: 30),
        circuitBreaker: .init(failureThreshold: 4, openSeconds: 20), deadLetterAttempts: 10_000, window: 3)

    static func makeWorld(seed: UInt64, faults: Bool, configuration: EngineConfiguration = simulationConfiguration) throws -> World {
        let (federation, contracts, keys) = registry
        let directory = NSTemporaryDirectory() + "xgate-sim-\(seed)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let random = SeededRandom(seed: seed)
        let clock = ManualClock()
        let network = SimulatedNetwork(random: random, faults: faults)
        var nodes: [String: SimulatedNode] = [:]
        for id in all {
            let context = try NodeContext(id: id, signingKey: keys[id]!, federation: federation, contracts: contracts)
            nodes[id] = try SimulatedNode(
                id: id, directory: directory, context: context, clock: clock, random: random, configuration: configuration)
        }
        network.nodes = nodes
        return World(nodes: nodes, network: network, random: random, clock: clock, directory: directory)
    }

    /// Delivers until no node has anything left to send (or `rounds` run out); returns whether it went quiet.
    static func run(_ world: World, rounds: Int, crashChance: Double) async throws -> Bool {
        for node in world.nodes.values { node.store.setCrashChance(crashChance) }
        defer { for node in world.nodes.values { node.store.setCrashChance(0) } }
        for _ in 0..<rounds {
            var busy = false
            for id in all {
                let node = world.nodes[id]!
                let peers = try await node.engine.peersWithWork()
                for peer in peers {
                    busy = true
                    var breaker = node.breakers[peer] ?? CircuitBreaker(configuration: node.engine.configuration.circuitBreaker)
                    do {
                        try await node.engine.pushOnce(to: peer, transport: world.network, breaker: &breaker)
                    } catch is CrashingStore.Crash {
                        try await node.restart()
                        node.store.setCrashChance(crashChance)
                    }
                    node.breakers[peer] = breaker
                }
                if crashChance > 0 && world.random.chance(0.02) {
                    try await node.restart()
                    node.store.setCrashChance(crashChance)
                }
            }
            if !busy { return true }
            world.clock.advance(Int64(world.random.int(1...15)))
        }
        return false
    }

    static func state(_ world: World, _ node: String, _ key: RecordKey) async throws -> RecordState? {
        try await world.nodes[node]!.store.read { try await $0.record(key) }?.state
    }

    static func simulate(seed: UInt64, faults: Bool) async throws {
        let world = try makeWorld(seed: seed, faults: faults)
        defer { try? FileManager.default.removeItem(atPath: world.directory) }
        let crash = faults ? 0.04 : 0
        // 1. Districts and the city put in their records.
        var submitted: [RecordKey] = []
        for district in districts {
            let results = try await world.nodes[district]!.engine.submit(records: try districtExport(district, count: 6))
            #expect(results.allSatisfy { $0.outcome == .applied }, "seed \(seed): \(results.map(\.outcome))")
            submitted += results.compactMap(\.key)
        }
        let lists = try await world.nodes["sh-city"]!.engine.submit(records: try cityLists())
        #expect(lists.allSatisfy { $0.outcome == .applied }, "seed \(seed)")
        submitted += lists.compactMap(\.key)
        // At least one crash in every faulty run, at the city's next write (receiving, relaying or batching), and one
        // batch delivered twice, whatever the dice say afterwards.
        if faults {
            world.nodes["sh-city"]!.store.crashNextWrite()
            world.network.duplicateNextDelivery()
        }
        #expect(try await run(world, rounds: 400, crashChance: crash), "seed \(seed): the first phase did not settle")

        // 2. Corrections: the city repairs a 徐汇 penalty; 浦东 revokes one of its own; the city exits a debtor entry.
        let repaired = RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "SH-XUHUI-CF-2026-1000")
        let revoked = RecordKey(owner: "sh-pudong", kind: "administrative-penalty", sourceId: "SH-PUDONG-CF-2026-1001")
        let exited = lists[0].key!
        try await world.nodes["sh-city"]!.engine.decide(
            repaired, status: .repaired, reason: "当事人已履行行政处罚决定并公开作出信用承诺，同意修复", basis: "《信用修复管理办法》第十二条", reasonCode: "repair-approved")
        try await world.nodes["sh-pudong"]!.engine.decide(
            revoked, status: .revoked, reason: "行政复议决定撤销原处罚决定", basis: "《中华人民共和国行政复议法》第六十四条", reasonCode: "decision-annulled")
        try await world.nodes["sh-city"]!.engine.decide(
            exited, status: .exited, reason: "已履行生效法律文书确定的义务，移出名单", basis: "《最高人民法院关于公布失信被执行人名单信息的若干规定》第十条", reasonCode: "term-ended")
        #expect(try await run(world, rounds: 400, crashChance: crash), "seed \(seed): the corrections did not settle")
        // The faults really happened (a run without them proves nothing about them).
        if faults {
            let counts = world.network.counts
            #expect((counts["request dropped"] ?? 0) + (counts["response dropped"] ?? 0) > 0, "seed \(seed): no message was lost")
            #expect((counts["delivered twice"] ?? 0) + (counts["old batch replayed"] ?? 0) > 0, "seed \(seed): nothing was delivered twice")
            let crashes = world.nodes.values.map(\.crashes).reduce(0, +)
            #expect(crashes > 0, "seed \(seed): no node crashed before a commit")
        }
        // 3. Faults off: drain.
        world.network.faults = false
        #expect(try await run(world, rounds: 200, crashChance: 0), "seed \(seed): did not drain")

        // Nothing lost: every district record reached the city with the owner's content and status.
        for key in submitted where key.owner != "sh-city" {
            let own = try await #require(try state(world, key.owner, key), "seed \(seed): \(key) missing at its owner")
            let city = try await #require(try state(world, "sh-city", key), "seed \(seed): \(key) never reached the city")
            #expect(city.content?.digest == own.content?.digest, "seed \(seed): \(key) content differs at the city")
            #expect(
                city.status.digest == own.status.digest,
                "seed \(seed): \(key) status differs: owner \(own.status.value), city \(city.status.value)")
        }
        // The same feed, the same state: both partners hold the same records in the same state, routed as agreed.
        let (federation, _, _) = registry
        let today = world.clock.now().chinaDate
        for key in submitted {
            let city = try await #require(try state(world, "sh-city", key))
            let subject = city.content?.record["subject"]?["type"]?.stringValue ?? ""
            for partner in partners {
                let held = try await state(world, partner, key)
                if let permission = federation.permission(from: "sh-city", to: partner, kind: key.kind, subjectType: subject, on: today) {
                    let copy = try #require(held, "seed \(seed): \(key) never reached \(partner)")
                    let expected = Federation.redact(city.content!.record, permission: permission).record
                    #expect(copy.content?.digest == Digest(canonical: expected), "seed \(seed): \(partner) holds another copy of \(key)")
                    #expect(
                        copy.status.digest == city.status.digest,
                        "seed \(seed): \(partner) status \(copy.status.value) ≠ city \(city.status.value) for \(key)")
                } else {
                    #expect(held == nil, "seed \(seed): \(partner) holds \(key), which no agreement sends it")
                }
            }
            await #expect(
                try state(world, "zj-jiaxing", key)?.digest == state(world, "js-suzhou", key)?.digest,
                "seed \(seed): partners diverge on \(key)")
        }
        // Corrections reached every holder and were acknowledged.
        await #expect(try state(world, "sh-xuhui", repaired)?.status.value == .repaired, "seed \(seed)")
        for partner in partners {
            await #expect(try state(world, partner, repaired)?.status.value == .repaired, "seed \(seed): the repair did not reach \(partner)")
            await #expect(try state(world, partner, exited)?.status.value == .exited, "seed \(seed)")
        }
        await #expect(try state(world, "sh-city", revoked)?.status.value == .revoked, "seed \(seed)")
        for node in all {
            let open = try await world.nodes[node]!.store.read {
                try await $0.unacknowledgedCorrections(sentBefore: Timestamp("2099-01-01T00:00:00+08:00")!)
            }
            #expect(open.isEmpty, "seed \(seed): \(node) has unacknowledged corrections \(open.map { "\($0.key)→\($0.peer)" })")
        }
        // Nothing applied twice: every accepted version appears once in every node's history.
        for node in all {
            for key in submitted {
                let history = try await world.nodes[node]!.store.read { try await $0.history(of: key) }
                let versions = history.map { "\($0.part.rawValue)/\($0.digest)" }
                #expect(Set(versions).count == versions.count, "seed \(seed): \(node) applied a version of \(key) twice")
            }
        }
        // Masks kept: no partner store holds the natural person's full identity number from the serious dishonesty list.
        let person = try cityLists()[1]
        let fullID = try #require(person["subject"]?["idNumber"]?.stringValue)
        for partner in partners {
            for file in [world.nodes[partner]!.path, world.nodes[partner]!.path + "-wal"] {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                #expect(
                    data.range(of: Data(fullID.utf8)) == nil,
                    "seed \(seed): \(file) contains a full identity number \(partner) may only hold masked")
            }
        }
    }

    @Test func withoutFaultsEverythingArrives() async throws {
        try await Self.simulate(seed: 1, faults: false)
    }

    /// 64 seeds in `make test` (a slow CI machine ran 200 for more than 15 minutes); `XGATE_SIMULATION_SEEDS=1000`
    /// for a longer search.
    static let faultSeeds = 0..<(ProcessInfo.processInfo.environment["XGATE_SIMULATION_SEEDS"].flatMap { Int($0) } ?? 64)

    @Test(arguments: faultSeeds)
    func withFaultsNothingIsLostOrAppliedTwice(seed: Int) async throws {
        try await Self.simulate(seed: UInt64(seed) &+ 100, faults: true)
    }

}
