import Foundation
import Testing
import XGateCore
import XGateJOSE
import XGateJSON
import XGateTestSupport

@testable import XGateEngine

/// The one outbound rule (SyncEngine+Sharing.swift) as the issue's outside checks tried it: a repaired record's new
/// content stays home, a record's own publicity end counts, what the feed withholds is not pushed, and a partner holds
/// the same whether it was pushed to or pulled.
@Suite(.serialized) struct OutboundRuleTests {
    static let jiaxing = "zj-jiaxing"
    static let suzhou = "js-suzhou"

    /// A world whose partners are pushed to (`pull: false`) or pull the city's feed (`pull: true`).
    static func world(seed: UInt64, pull: Bool) throws -> FederationSimulationTests.World {
        var configuration = FederationSimulationTests.simulationConfiguration
        if pull { configuration.pulledBy = [jiaxing, suzhou] }
        return try FederationSimulationTests.makeWorld(seed: seed, faults: false, configuration: configuration)
    }

    /// Delivers: every channel but the partners' is drained first (the same in both kinds of world), then each partner
    /// takes one step — a pushed batch, or in a pull world a page of `page` changes and the acknowledgement of its
    /// corrections — and so on until quiet or `steps` partner steps have been taken (nil: until quiet).
    static func deliver(_ world: FederationSimulationTests.World, pull: Bool, steps: Int? = nil, page: Int = 3) async throws {
        var budget = steps ?? .max
        let partners: Set<String> = [jiaxing, suzhou]
        for _ in 0..<400 {
            var busy = false
            for id in FederationSimulationTests.all {
                let node = world.nodes[id]!
                for peer in try await node.engine.peersWithWork() where !partners.contains(peer) {
                    var breaker = CircuitBreaker()
                    while try await node.engine.pushOnce(to: peer, transport: world.network, breaker: &breaker) { busy = true }
                }
            }
            if busy { continue }
            guard budget > 0 else { return }
            var moved = false
            if pull {
                let city = world.nodes["sh-city"]!
                for partner in partners.sorted() {
                    let node = world.nodes[partner]!
                    let cursor = try await node.engine.feedCursor(of: "sh-city")
                    let pulled = try await node.engine.applyFeed(try city.engine.serveFeed(to: partner, after: cursor, limit: page), from: "sh-city")
                    if !pulled.outcomes.isEmpty || pulled.hasMore { moved = true }
                    if let owed = try await node.engine.pendingAcknowledgement(to: "sh-city") {
                        _ = try await city.engine.receiveAcknowledgement(owed.jws)
                        try await node.engine.acknowledgementsDelivered(owed.items, to: "sh-city")
                    }
                }
            } else {
                let city = world.nodes["sh-city"]!
                for peer in try await city.engine.peersWithWork() where partners.contains(peer) {
                    var breaker = CircuitBreaker()
                    if try await city.engine.pushOnce(to: peer, transport: world.network, breaker: &breaker) { moved = true }
                }
            }
            budget -= 1
            if !moved { return }
        }
        Issue.record("the federation did not go quiet")
    }

    static func held(_ world: FederationSimulationTests.World, _ node: String, _ key: RecordKey) async throws -> RecordState? {
        try await world.nodes[node]!.store.read { try await $0.record(key) }?.state
    }

    /// The record with `data.<name>` set (added when absent).
    static func with(_ record: JSONValue, data name: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = record, case .object(var data)? = members["data"] else { return record }
        data[name] = value
        members["data"] = .object(data)
        return .object(members)
    }

    static func key(_ sourceId: String) -> RecordKey { RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: sourceId) }

    // MARK: - The issue's cases

    /// Submit at 徐汇, let 嘉兴 hold it, repair it at the city, re-submit at 徐汇 with a changed penaltyContent: the city takes
    /// content version 2, 嘉兴 and 苏州 keep version 1 with status repaired (DOMAIN.md §5: sharing with other regions
    /// stops). By push and by pull.
    @Test(arguments: [false, true]) func aRepairedRecordsNewContentNeverLeavesTheRegion(pull: Bool) async throws {
        let world = try Self.world(seed: 21, pull: pull)
        defer { try? FileManager.default.removeItem(atPath: world.directory) }
        let xuhui = world.nodes["sh-xuhui"]!
        let city = world.nodes["sh-city"]!
        let key = Self.key("XH-REPAIR-0001")
        _ = try await xuhui.engine.submit(records: [SampleRecords.penalty(sourceId: key.sourceId)])
        try await Self.deliver(world, pull: pull)
        await #expect(try Self.held(world, Self.jiaxing, key)?.content?.version == 1, "嘉兴 holds the penalty")
        try await city.engine.decide(key, status: .repaired, reason: "已完成信用修复", basis: "《信用修复管理办法》（国家发展改革委令第36号）")
        try await Self.deliver(world, pull: pull)
        var changed = SampleRecords.penalty(sourceId: key.sourceId)
        changed.set("警告，并处罚款人民币叁万元整。", at: JSONPointer("/data/penaltyContent")!)
        _ = try await xuhui.engine.submit(records: [changed])
        try await Self.deliver(world, pull: pull)
        await #expect(try Self.held(world, "sh-city", key)?.content?.version == 2, "the city, 徐汇's own platform, takes version 2")
        await #expect(try Self.held(world, "sh-city", key)?.status.value == .repaired)
        for partner in [Self.jiaxing, Self.suzhou] {
            let state = try await #require(try Self.held(world, partner, key), "\(partner) held the record")
            #expect(state.content?.version == 1, "\(partner) never gets the content written after the repair")
            #expect(state.status.value == .repaired)
        }
        let outbound = try await city.store.read { try await $0.lineage(of: key) }.filter { $0.direction == .outbound && $0.peer == Self.jiaxing }
        #expect(!outbound.contains { $0.contentVersion == 2 }, "no hop to 嘉兴 carries version 2: \(outbound)")
    }

    /// A general penalty decided 2026-05-15 that carries its own publicityEndDate 2026-11-15: its publicity has ended on
    /// 2026-11-20 although the 2025 regime would run it to 2027-05-15. It reaches the city (the reporting chain) but no
    /// partner; the owner's sweep expires it on that basis. A 2022 serious penalty whose own end date is 2027-01-01 is
    /// still shared (the computed end, 2025-05-20, does not count) and is not expired.
    @Test(arguments: [false, true]) func aRecordsOwnPublicityEndDateTakesPrecedence(pull: Bool) async throws {
        let world = try Self.world(seed: 22, pull: pull)
        defer { try? FileManager.default.removeItem(atPath: world.directory) }
        let xuhui = world.nodes["sh-xuhui"]!
        let ended = Self.with(
            SampleRecords.penalty(sourceId: "XH-OWN-END-0001", decisionDate: "2026-05-15"), data: "publicityEndDate", "2026-11-15")
        var longer = SampleRecords.penalty(sourceId: "XH-OWN-END-0002", decisionDate: "2022-05-20")
        longer.set("serious", at: JSONPointer("/data/severity")!)
        longer = Self.with(longer, data: "publicityEndDate", "2027-01-01")
        _ = try await xuhui.engine.submit(records: [ended, longer])
        try await Self.deliver(world, pull: pull)
        await #expect(try Self.held(world, "sh-city", Self.key("XH-OWN-END-0001"))?.content != nil, "the city gets it")
        await #expect(try Self.held(world, Self.jiaxing, Self.key("XH-OWN-END-0001")) == nil, "嘉兴 does not")
        await #expect(try Self.held(world, Self.jiaxing, Self.key("XH-OWN-END-0002"))?.content != nil, "shared until its own end")
        let expired = try await xuhui.engine.expireDue()
        #expect(expired == [Self.key("XH-OWN-END-0001")])
        let state = try await #require(try Self.held(world, "sh-xuhui", Self.key("XH-OWN-END-0001")))
        #expect(state.status.basis?.contains("publicityEndDate") == true, "the basis names the record's own date: \(state.status.basis ?? "")")
        try await Self.deliver(world, pull: pull)
        await #expect(try Self.held(world, Self.jiaxing, Self.key("XH-OWN-END-0001")) == nil, "an expiry of a record 嘉兴 never held: nothing")
        await #expect(try Self.held(world, Self.jiaxing, Self.key("XH-OWN-END-0002"))?.status.value == .active)
    }

    /// What the feed withholds is not pushed: a minor penalty of 2026 (the 2025 regime does not publish minor conduct)
    /// and a general penalty of 2023-06-01 whose publicity ended 2026-06-01 (2023 regime, 36 months), beside one of
    /// 2024-03-01 still shared until 2027-03-01. A decision of 2019-06-30, older than every regime,
    /// ends after the Shanghai Regulations' five years (2024-06-30) and is expired on that basis.
    @Test(arguments: [false, true]) func whatTheFeedWithholdsIsNotPushed(pull: Bool) async throws {
        let world = try Self.world(seed: 23, pull: pull)
        defer { try? FileManager.default.removeItem(atPath: world.directory) }
        let xuhui = world.nodes["sh-xuhui"]!
        var minor = SampleRecords.penalty(sourceId: "XH-MINOR-0001", decisionDate: "2026-11-02")
        minor.set("minor", at: JSONPointer("/data/severity")!)
        let running = SampleRecords.penalty(sourceId: "XH-2024-0001", decisionDate: "2024-03-01")
        let over = SampleRecords.penalty(sourceId: "XH-2023-0001", decisionDate: "2023-06-01")
        let ancient = SampleRecords.penalty(sourceId: "XH-2019-0001", decisionDate: "2019-06-30")
        let results = try await xuhui.engine.submit(records: [minor, running, over, ancient])
        #expect(results.allSatisfy { $0.outcome == .applied }, "\(results)")
        try await Self.deliver(world, pull: pull)
        for id in ["XH-MINOR-0001", "XH-2024-0001", "XH-2023-0001", "XH-2019-0001"] {
            await #expect(try Self.held(world, "sh-city", Self.key(id))?.content != nil, "the city receives \(id)")
        }
        await #expect(try Self.held(world, Self.jiaxing, Self.key("XH-2024-0001"))?.content != nil)
        for id in ["XH-MINOR-0001", "XH-2023-0001", "XH-2019-0001"] {
            await #expect(try Self.held(world, Self.jiaxing, Self.key(id)) == nil, "嘉兴 never gets \(id)")
        }
        let expired = try await xuhui.engine.expireDue()
        #expect(Set(expired.map(\.sourceId)) == ["XH-MINOR-0001", "XH-2023-0001", "XH-2019-0001"])
        let ancientState = try await #require(try Self.held(world, "sh-xuhui", Self.key("XH-2019-0001")))
        #expect(ancientState.status.basis?.contains("五年") == true, "\(ancientState.status.basis ?? "")")
    }

    /// A peer the city pushes to cannot also read its feed: each record reaches it by one path.
    @Test func aPeerThatIsPushedToCannotReadTheFeed() async throws {
        let world = try Self.world(seed: 24, pull: false)
        defer { try? FileManager.default.removeItem(atPath: world.directory) }
        let error = try await #require(throws: EngineError.self) {
            try await world.nodes["sh-city"]!.engine.serveFeed(to: Self.jiaxing, after: nil, limit: 10)
        }
        #expect(error.code == "feed.not-subscribed")
        #expect(try world.nodes["sh-city"]!.engine.pushPeers.contains(Self.jiaxing))
        let pulled = try Self.world(seed: 24, pull: true)
        defer { try? FileManager.default.removeItem(atPath: pulled.directory) }
        #expect(try !pulled.nodes["sh-city"]!.engine.pushPeers.contains(Self.jiaxing))
    }

    // MARK: - Property: pushed or pulled, a partner holds the same

    /// For random records (dates across every regime and before the first, every severity, own end dates), content
    /// changes, the city's decisions (repair, objection, its outcome, revocation, repair revoked), expiry sweeps, time
    /// passing, partial deliveries and restarts, applied identically to a world whose partners are pushed to and one
    /// whose partners pull: at the end each partner may serve the same records with the same content, and holds the
    /// city's status of every record it holds that the city withdrew.
    @Test(arguments: Array(UInt64(1)...UInt64(24))) func aPartnerHoldsTheSameWhetherPushedToOrPulled(seed: UInt64) async throws {
        let worlds = [try Self.world(seed: seed, pull: false), try Self.world(seed: seed, pull: true)]
        defer { for world in worlds { try? FileManager.default.removeItem(atPath: world.directory) } }
        var dice = SeededGenerator(seed: seed &* 7919)
        let dates = ["2019-06-30", "2021-03-10", "2022-05-20", "2024-03-01", "2024-06-15", "2026-05-15", "2026-10-12", "2026-11-02"]
        let severities = ["minor", "general", "serious"]
        var keys: [RecordKey] = []
        for step in 0..<40 {
            let roll = Int.random(in: 0..<100, using: &dice)
            let sourceId = "XH-P\(seed)-\(keys.count)"
            // One operation, the same in both worlds.
            enum Op { case submit(JSONValue), decide(RecordKey, RecordStatus), deliver(Int), advance(Int64), restart(String), expire }
            let op: Op
            switch roll {
            case 0..<30:
                let date = dates[Int.random(in: 0..<dates.count, using: &dice)]
                var record = SampleRecords.penalty(sourceId: sourceId, company: keys.count, decisionDate: date)
                var severity = severities[Int.random(in: 0..<3, using: &dice)]
                if date < "2023-05-01" && severity == "minor" { severity = "general" }  // the 2019 regime has no minor
                record.set(.string(severity), at: JSONPointer("/data/severity")!)
                if Int.random(in: 0..<4, using: &dice) == 0 {
                    let end = ["2026-12-01", "2027-01-01", "2026-11-25"][Int.random(in: 0..<3, using: &dice)]
                    record = Self.with(record, data: "publicityEndDate", .string(end))
                }
                keys.append(Self.key(sourceId))
                op = .submit(record)
            case 30..<42 where !keys.isEmpty:
                let key = keys[Int.random(in: 0..<keys.count, using: &dice)]
                var record = SampleRecords.penalty(sourceId: key.sourceId, company: 1, fine: "\(step).5")
                if let held = try await Self.held(worlds[0], "sh-xuhui", key)?.content?.record { record = held }
                record.set(.string("\(step + 1).5"), at: JSONPointer("/data/fineAmount")!)
                op = .submit(record)
            case 42..<62 where !keys.isEmpty:
                let key = keys[Int.random(in: 0..<keys.count, using: &dice)]
                let value = [RecordStatus.repaired, .disputed, .active, .revoked, .repairRevoked, .repaired][Int.random(in: 0..<6, using: &dice)]
                op = .decide(key, value)
            case 62..<80: op = .deliver(Int.random(in: 1...4, using: &dice))
            case 80..<88: op = .advance(Int64(Int.random(in: 1...40, using: &dice)) * 86_400)
            case 88..<95: op = .restart(FederationSimulationTests.all[Int.random(in: 0..<FederationSimulationTests.all.count, using: &dice)])
            default: op = .expire
            }
            for (index, world) in worlds.enumerated() {
                let pull = index == 1
                switch op {
                case .submit(let record): _ = try await world.nodes["sh-xuhui"]!.engine.submit(records: [record])
                case .decide(let key, let value):
                    // The city decides on what it holds; a transition the status does not allow is refused the same in both.
                    _ = try? await world.nodes["sh-city"]!.engine.decide(key, status: value, reason: "第\(step)步的决定", basis: "《上海市社会信用条例》")
                case .deliver(let steps):
                    // 徐汇 → city fully (the same in both worlds), the partners only partly.
                    var breaker = CircuitBreaker()
                    while try await world.nodes["sh-xuhui"]!.engine.pushOnce(to: "sh-city", transport: world.network, breaker: &breaker) {}
                    try await Self.deliver(world, pull: pull, steps: steps)
                case .advance(let seconds): world.clock.advance(seconds)
                case .restart(let node): try await world.nodes[node]!.restart()
                case .expire: _ = try await world.nodes["sh-xuhui"]!.engine.expireDue()
                }
            }
        }
        for (index, world) in worlds.enumerated() {
            var breaker = CircuitBreaker()
            while try await world.nodes["sh-xuhui"]!.engine.pushOnce(to: "sh-city", transport: world.network, breaker: &breaker) {}
            try await Self.deliver(world, pull: index == 1)
        }
        #expect(worlds[0].clock.now() == worlds[1].clock.now())
        let today = worlds[0].clock.now().chinaDate
        for partner in [Self.jiaxing, Self.suzhou] {
            for key in keys {
                let pushed = try await Self.held(worlds[0], partner, key)
                let pulled = try await Self.held(worlds[1], partner, key)
                let engines = [worlds[0].nodes[partner]!.engine, worlds[1].nodes[partner]!.engine]
                let served = [pushed, pulled].enumerated().map { i, state in
                    state.flatMap { engines[i].isServable($0, today: today) ? $0.content?.digest : nil }
                }
                #expect(served[0] == served[1], "seed \(seed): \(partner) may serve \(key) pushed \(served[0].map(\.description) ?? "-") / pulled \(served[1].map(\.description) ?? "-")")
                for (i, state) in [pushed, pulled].enumerated() {
                    guard let state, let city = try await Self.held(worlds[i], "sh-city", key), !city.status.value.isPublished else { continue }
                    #expect(state.status == city.status, "seed \(seed): \(partner) holds \(key) as \(state.status.value), the city \(city.status.value)")
                }
            }
        }
    }
}
