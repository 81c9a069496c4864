import Foundation
import Testing
import XGateCore
import XGateEngine
import XGateJOSE
import XGateJSON
import XGateSQLite
import XGateTestSupport

/// A transport whose behaviour the test sets: deliver, fail retryably, or fail for good.
final class ScriptedTransport: PeerTransport, @unchecked Sendable {
    enum Mode { case deliver, fail, refuse, outsideWindow }
    private let lock = NSLock()
    var mode: Mode = .deliver
    var nodes: [String: SimulatedNode] = [:]
    private(set) var sent: [[UInt8]] = []

    func push(_ jws: [UInt8], to peer: String) async throws -> [UInt8] {
        let mode = lock.withLock { () -> Mode in
            sent.append(jws)
            return self.mode
        }
        switch mode {
        case .deliver: return try await nodes[peer]!.engine.receive(jws)
        case .fail: throw EngineError(code: "transport.failed", message: "connection refused", retryable: true)
        case .refuse: throw EngineError(code: "signature.invalid", message: "the peer refused the signature")
        case .outsideWindow: throw EngineError(code: "batch.outside-window", message: "createdAt is more than 86400 s from the clock")
        }
    }
}

/// Unit paths of delivery with real SQLite stores: retries, dead letters, requeue, gaps, duplicates, masks, feeds, expiry.
@Suite(.serialized) struct EngineDeliveryTests {
    let world: FederationSimulationTests.World
    let transport = ScriptedTransport()

    init() throws {
        var configuration = FederationSimulationTests.simulationConfiguration
        configuration.deadLetterAttempts = 6
        configuration.window = 1  // the unit paths one batch at a time; windows are the simulation's and windowTests'
        configuration.pulledBy = ["zj-jiaxing"]  // 嘉兴 pulls the city's feed; everyone else is pushed to
        world = try FederationSimulationTests.makeWorld(seed: 7, faults: false, configuration: configuration)
        transport.nodes = world.nodes
    }

    var district: SimulatedNode { world.nodes["sh-xuhui"]! }
    var city: SimulatedNode { world.nodes["sh-city"]! }

    func push(_ node: SimulatedNode, to peer: String) async throws -> Bool {
        var breaker = CircuitBreaker(configuration: .init(failureThreshold: 1_000, openSeconds: 1))
        return try await node.engine.pushOnce(to: peer, transport: transport, breaker: &breaker)
    }

    /// Pushes once; true when that delivered something or the channel still has work.
    func pushedOrStillWaiting(_ node: SimulatedNode, to peer: String) async throws -> Bool {
        if try await push(node, to: peer) { return true }
        return try await node.engine.peersWithWork().contains(peer)
    }

    func batch(_ node: SimulatedNode, _ peer: String, _ sequence: Int) async throws -> OutboundBatch? {
        try await node.store.read { try await $0.outboundBatch(peer: peer, sequence: sequence) }
    }

    @Test func retriesWithBackoffThenDeadLettersThenAnOperatorRequeues() async throws {
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-RETRY-0001")])
        transport.mode = .fail
        #expect(try await push(district, to: "sh-city") == false)
        let first = try await #require(try batch(district, "sh-city", 1))
        #expect(first.attempts == 1)
        #expect(first.state == .pending)
        #expect(first.nextAttemptAt > world.clock.now(), "the retry waits")
        #expect(try await push(district, to: "sh-city") == false)
        await #expect(try batch(district, "sh-city", 1)?.attempts == 1, "not retried before its time")
        var attempts = 1
        while try await batch(district, "sh-city", 1)?.state == .pending {
            world.clock.advance(3_600)
            _ = try await push(district, to: "sh-city")
            attempts += 1
            guard attempts < 100 else {
                Issue.record("never dead-lettered")
                break
            }
        }
        #expect(attempts == 6, "dead after the configured 6 attempts")
        let dead = try await #require(try batch(district, "sh-city", 1))
        #expect(dead.state == .dead)
        #expect(dead.lastError?.contains("connection refused") == true)
        await #expect(try district.engine.nextBatch(to: "sh-city") == nil, "a dead batch holds its channel for an operator")
        let log = try await district.store.read { try await $0.log(after: 0, peer: "sh-city", limit: 1000) }
        #expect(log.contains { $0.event == "batch.dead" })
        transport.mode = .deliver
        try await district.engine.requeue(peer: "sh-city", sequence: 1)
        #expect(try await push(district, to: "sh-city"))
        await #expect(try batch(district, "sh-city", 1)?.state == .delivered)
        await #expect(
            (try await city.store.read { try await $0.record(RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "XH-RETRY-0001")) })
                != nil)
    }

    @Test func anErrorNoRetryCanFixGoesDeadAtOnce() async throws {
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-REFUSED-0001")])
        transport.mode = .refuse
        _ = try await push(district, to: "sh-city")
        await #expect(try batch(district, "sh-city", 1)?.state == .dead)
        await #expect(try batch(district, "sh-city", 1)?.attempts == 1)
    }

    @Test func aResentBatchGetsTheSameReceiptAndAnotherPayloadUnderItsIdIsRefused() async throws {
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-DUP-0001")])
        let batch = try await #require(try district.engine.nextBatch(to: "sh-city"))
        let first = try await city.engine.receive(batch.jws)
        let second = try await city.engine.receive(batch.jws)
        #expect(first == second, "byte for byte")
        // Same batch id and sequence, different payload, properly signed: refused.
        var document = try #require(
            try JSONParser().parse(JWS.parse(JSONParser().parse(batch.jws), expectedType: JWS.batchType).payload).objectValue)
        document["createdAt"] = .string(Timestamp(seconds: world.clock.now().seconds - 1).text)
        let forged = try JWS.sign(payload: JSONValue.object(document).serialized(), type: JWS.batchType, key: district.context.signingKey)
        await #expect(throws: EngineError.self) { try await city.engine.receive(forged.serialized()) }
        do { _ = try await city.engine.receive(forged.serialized()) } catch let error as EngineError { #expect(error.code == "batch.replayed") }
    }

    @Test func aGapIsRefusedNamingTheExpectedSequenceAndTheSenderResendsFromThere() async throws {
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-GAP-0001")])
        #expect(try await push(district, to: "sh-city"))
        // The city is restored from an empty backup: it expects sequence 1 again.
        try FileManager.default.removeItem(atPath: city.path)
        try? FileManager.default.removeItem(atPath: city.path + "-wal")
        try? FileManager.default.removeItem(atPath: city.path + "-shm")
        try await city.restart()
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-GAP-0002")])
        let second = try await #require(try district.engine.nextBatch(to: "sh-city"))
        #expect(second.sequence == 2)
        do {
            _ = try await city.engine.receive(second.jws)
            Issue.record("a gap was accepted")
        } catch let error as EngineError {
            #expect(error.code == "sequence.gap")
            #expect(error.expectedSequence == 1)
        }
        // Delivery through the engine: the gap makes it resend 1, then 2.
        while try await pushedOrStillWaiting(district, to: "sh-city") {
            world.clock.advance(60)
        }
        for id in ["XH-GAP-0001", "XH-GAP-0002"] {
            #expect(
                (try await city.store.read { try await $0.record(RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: id)) }) != nil)
        }
    }

    @Test func aBatchWhoseSignedBytesWereDroppedIsSignedAgainFromItsRecordsWhenTheReceiverLostIt() async throws {
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-PRUNED-0001")])
        #expect(try await push(district, to: "sh-city"))
        let first = try await #require(try batch(district, "sh-city", 1))
        world.clock.advance(district.engine.configuration.sentBatchRetentionSeconds + 1)
        await #expect(try district.engine.pruneSentBatches() >= 1)
        await #expect(try batch(district, "sh-city", 1)?.jws.isEmpty == true)
        // The city is restored from an empty backup: it expects sequence 1 again, whose bytes are gone at 徐汇.
        try FileManager.default.removeItem(atPath: city.path)
        try? FileManager.default.removeItem(atPath: city.path + "-wal")
        try? FileManager.default.removeItem(atPath: city.path + "-shm")
        try await city.restart()
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-PRUNED-0002")])
        var rounds = 0
        while try await pushedOrStillWaiting(district, to: "sh-city") {
            world.clock.advance(60)
            rounds += 1
            try #require(rounds < 50, "the channel did not drain")
        }
        for id in ["XH-PRUNED-0001", "XH-PRUNED-0002"] {
            #expect(
                (try await city.store.read { try await $0.record(RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: id)) }) != nil)
        }
        let resent = try await #require(try batch(district, "sh-city", 1))
        #expect(resent.state == .delivered && !resent.jws.isEmpty && resent.batchId != first.batchId, "signed again as a new batch")
        #expect(resent.keys == first.keys)
        #expect(try await district.store.read { try await $0.lineage(batchId: resent.batchId) }.map(\.outcome) == ["applied"])
    }

    @Test func aBatchRefusedAsOutsideTheWindowIsSignedAgainUnderTheSameSequence() async throws {
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-WINDOW-0001")])
        transport.mode = .fail  // the city is down …
        #expect(try await push(district, to: "sh-city") == false)
        let first = try await #require(try batch(district, "sh-city", 1))
        world.clock.advance(2 * 86_400)  // … for two days: the batch is now outside the city's 24 h window
        transport.mode = .outsideWindow
        #expect(try await push(district, to: "sh-city") == false)
        let old = try #require(transport.sent.last)
        let again = try await #require(try batch(district, "sh-city", 1))
        #expect(again.state == .pending && again.attempts == 2, "the refusal counts as an attempt; the batch is not dead")
        #expect(again.jws != old && again.batchId != first.batchId)
        #expect(again.createdAt.text == first.createdAt.text, "the dead-letter age still counts from the first signing")
        let oldDocument = try BatchDocument(
            json: JSONParser().parse(JWS.parse(JSONParser().parse(old), expectedType: JWS.batchType).payload))
        let newDocument = try BatchDocument(
            json: JSONParser().parse(JWS.parse(JSONParser().parse(again.jws), expectedType: JWS.batchType).payload))
        #expect(newDocument.batchId == again.batchId && newDocument.sequence == 1 && newDocument.changes == oldDocument.changes)
        #expect(newDocument.createdAt.seconds == world.clock.now().seconds, "signed now")
        transport.mode = .deliver
        world.clock.advance(3_600)
        #expect(try await push(district, to: "sh-city"))
        let key = RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "XH-WINDOW-0001")
        #expect((try await city.store.read { try await $0.record(key) }) != nil)
        #expect((try await city.store.read { try await $0.inboxEntry(sender: "sh-xuhui", batchId: again.batchId) }) != nil)
        let lineage = try await district.store.read { try await $0.lineage(of: key) }
        #expect(lineage.contains { $0.batchId == again.batchId && $0.outcome == "applied" })
        #expect(try await district.store.read { try await $0.log(after: 0, peer: "sh-city", limit: 100) }.contains { $0.event == "batch.resigned" })
    }

    @Test func aFreshBatchRefusedAsOutsideTheWindowMeansTheClocksDisagree() async throws {
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-SKEW-0001")])
        transport.mode = .outsideWindow
        #expect(try await push(district, to: "sh-city") == false)
        let kept = try await #require(try batch(district, "sh-city", 1))
        #expect(kept.jws == transport.sent.last, "not signed again: the same bytes would be refused again")
        #expect(kept.attempts == 1 && kept.lastError?.contains("batch.outside-window") == true)
    }

    @Test func aDeadBatchStopsTheChannelAndNoBatchIsMadeBehindIt() async throws {
        _ = try await district.engine.submit(records: (1...1_500).map { SampleRecords.penalty(sourceId: String(format: "XH-DEAD-%04d", $0)) })
        transport.mode = .refuse  // not retryable: dead at once
        #expect(try await push(district, to: "sh-city") == false)
        await #expect(try batch(district, "sh-city", 1)?.state == .dead)
        await #expect(try district.engine.window(to: "sh-city").isEmpty)
        // Batch 2 may have been made while batch 1 was in flight (the round makes the next window meanwhile), never
        // after it died, and it stays pending, unsent.
        let second = try await batch(district, "sh-city", 2)
        #expect(second == nil || second?.state == .pending, "nothing but the prefetched batch behind a dead one")
        let made = try await district.store.read { try await $0.outboundBatches(peer: "sh-city", state: .pending) }.count
        await #expect(try district.engine.window(to: "sh-city").isEmpty)
        #expect(try await district.store.read { try await $0.outboundBatches(peer: "sh-city", state: .pending) }.count == made,
            "nothing is signed behind a dead batch")
        transport.mode = .deliver
        world.clock.advance(3_600)
        #expect(try await push(district, to: "sh-city") == false)
        #expect(transport.sent.count == 1, "batch 2 must not go out while batch 1 is dead")
        try await district.engine.requeue(peer: "sh-city", sequence: 1)
        #expect(try await push(district, to: "sh-city"))
        #expect(try await push(district, to: "sh-city"))
        await #expect(try batch(district, "sh-city", 2)?.state == .delivered)
    }

    @Test func aReusedSequenceWithAnotherBatchIdIsRefused() async throws {
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-SEQ-0001")])
        #expect(try await push(district, to: "sh-city"))
        let document = BatchDocument(
            batchId: world.random.batchID(at: world.clock.now()), from: "sh-xuhui", to: "sh-city", sequence: 1,
            createdAt: world.clock.now(),
            changes: [
                Change(
                    key: RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "XH-SEQ-0002"),
                    content: ContentVersion(
                        version: 1, author: "sh-xuhui", at: world.clock.now().text, record: SampleRecords.penalty(sourceId: "XH-SEQ-0002")),
                    status: StatusChange(version: 1, value: .active, from: nil, author: "sh-xuhui", at: world.clock.now().text)
                ).json
            ])
        let jws = try JWS.sign(payload: document.json.serialized(), type: JWS.batchType, key: district.context.signingKey)
        do {
            _ = try await city.engine.receive(jws.serialized())
            Issue.record("a reused sequence was accepted")
        } catch let error as EngineError {
            #expect(error.code == "sequence.replayed")
        }
    }

    /// A page the city serves 嘉兴 (recorded in the city's lineage: 嘉兴 becomes a holder of what it carries).
    func served(after cursor: String?, limit: Int = 100, snapshot: Bool = false) async throws -> (changes: [JSONValue], cursor: String, hasMore: Bool) {
        let signed = try await city.engine.serveFeed(to: "zj-jiaxing", after: cursor, limit: limit, snapshot: snapshot)
        let payload = try JSONParser().parse(JWS.parse(JSONParser().parse(signed), expectedType: SyncEngine.feedType).payload)
        return (payload["changes"]?.arrayValue ?? [], payload["cursor"]?.stringValue ?? "", payload["hasMore"]?.boolValue ?? false)
    }

    /// A page is read from a snapshot and recorded as served afterwards: a correction decided in between was tracked
    /// for the holders known at its commit, before the page made the subscriber one — recording the page owes it to
    /// the subscriber too, and the correction reaches it on the next page.
    @Test func aCorrectionDecidedWhileAPageIsBeingServedIsOwedToItsSubscriber() async throws {
        let person = try FederationSimulationTests.cityLists()[1]
        _ = try await city.engine.submit(records: [person])
        let prepared = try await city.engine.prepareFeedPage(to: "zj-jiaxing", after: nil, limit: 100)
        let key = try #require(Change(json: prepared.page.changes[0]).key as RecordKey?)
        try await city.engine.decide(key, status: .exited, reason: "已完成信用修复，移出名单", basis: "《失信行为纠正后的信用信息修复管理办法》")
        #expect(try await city.store.read { try await $0.corrections(of: key) }.isEmpty, "no holder yet when the exit was decided")
        try await city.engine.recordServed(prepared)
        let owed = try await city.store.read { try await $0.corrections(of: key) }
        #expect(owed.map(\.peer) == ["zj-jiaxing"] && owed.map(\.status) == [.exited], "\(owed)")
        let next = try await served(after: prepared.page.cursor)
        #expect(next.changes.map { $0["status"]?["value"] } == ["exited"], "the exit comes on the next page")
    }

    /// A push channel's look that found nothing is remembered (so an idle peer's wake-up does not read the whole log
    /// again); the engine that remembers must still answer exactly as one that looks from the stored positions: after
    /// records, pushes, a status decision at the city and a second district's records, for every push peer.
    @Test func aRememberedEmptyLookAnswersAsAFreshLookForEveryPeer() async throws {
        func agree(_ node: SimulatedNode, _ step: String) async throws {
            let fresh = try SyncEngine(
                node: node.context, store: node.store, configuration: node.engine.configuration, clock: node.clock, random: node.random)
            for peer in node.engine.pushPeers {
                #expect(try await node.engine.hasWork(for: peer) == fresh.hasWork(for: peer), "\(node.id) → \(peer) after \(step)")
            }
            #expect(try await node.engine.peersWithWork() == fresh.peersWithWork(), "\(node.id) after \(step)")
        }
        try await agree(city, "nothing")
        try await agree(city, "nothing, asked twice")
        _ = try await district.engine.submit(records: (1...3).map { SampleRecords.penalty(sourceId: "XH-LOOK-\($0)") })
        try await agree(district, "three records")
        await #expect(try district.engine.hasWork(for: "sh-city"))
        while try await push(district, to: "sh-city") {}
        try await agree(district, "the push")
        try await agree(city, "the records relayed")
        for peer in try await city.engine.peersWithWork() { while try await push(city, to: peer) {} }
        try await agree(city, "the relay")
        await #expect(try city.engine.peersWithWork().isEmpty)
        let key = RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "XH-LOOK-2")
        try await city.engine.decide(key, status: .repaired, reason: "当事人已履行行政处罚决定，准予信用修复", basis: "沪信修〔2026〕第12号")
        try await agree(city, "a repair at the city")
        await #expect(try city.engine.hasWork(for: "sh-xuhui"), "the repair goes back to the owner although its channel had looked through its records")
        _ = try await world.nodes["sh-songjiang"]!.engine.submit(records: [SampleRecords.penalty(sourceId: "SJ-LOOK-1")])
        try await agree(world.nodes["sh-songjiang"]!, "another district's record")
    }

    @Test func aPartnerPullsAMaskedFeedAndSeesTheRepairAsAWithdrawal() async throws {
        let person = try FederationSimulationTests.cityLists()[1]
        let fullID = try #require(person["subject"]?["idNumber"]?.stringValue)
        _ = try await city.engine.submit(records: [person])
        let page = try await served(after: nil)
        #expect(page.changes.count == 1)
        #expect(!page.changes[0].serializedString().contains(fullID))
        #expect(page.changes[0]["masked"] == ["/subject/idNumber"])
        await #expect(try served(after: page.cursor).changes.isEmpty, "the cursor resumes after what was read")
        let key = try #require(Change(json: page.changes[0]).key as RecordKey?)
        try await city.engine.decide(key, status: .exited, reason: "已完成信用修复，移出名单", basis: "《失信行为纠正后的信用信息修复管理办法》")
        let next = try await served(after: page.cursor)
        #expect(next.changes.count == 1)
        #expect(next.changes[0]["content"] == nil, "a record no longer served comes back status-only")
        #expect(next.changes[0]["status"]?["value"] == "exited")
        await #expect(try city.engine.snapshot(for: "zj-jiaxing").changes.map { $0["content"] } == [nil], "the snapshot: only the withdrawal, for the holder")
        await #expect(try city.engine.snapshot(for: "js-suzhou").changes.isEmpty, "a subscriber that never held it learns nothing of it")
        await #expect(try city.engine.feed(for: "sh-nowhere", after: nil).changes.isEmpty)
    }

    @Test func aPulledCorrectionIsAcknowledgedFromTheStoreAfterARestartAndStaysOwedUntilDelivered() async throws {
        let jiaxing = world.nodes["zj-jiaxing"]!
        let lists = try await city.engine.submit(records: try FederationSimulationTests.cityLists())
        _ = try await jiaxing.engine.applyFeed(try city.engine.serveFeed(to: "zj-jiaxing", after: nil, limit: 100), from: "sh-city")
        await #expect(try jiaxing.engine.pendingAcknowledgement(to: "sh-city") == nil, "new records are not corrections")
        let key = try #require(lists[0].key)
        try await city.engine.decide(key, status: .exited, reason: "已履行义务，移出名单", basis: "《最高人民法院关于公布失信被执行人名单信息的若干规定》第十条")
        #expect(try await city.store.read { try await $0.corrections(of: key) }.contains { $0.peer == "zj-jiaxing" && $0.acknowledgedAt == nil })
        let cursor = try await jiaxing.engine.feedCursor(of: "sh-city")
        let page = try await jiaxing.engine.applyFeed(try city.engine.serveFeed(to: "zj-jiaxing", after: cursor, limit: 100), from: "sh-city")
        #expect(page.corrections.contains(Acknowledgement(key: key, statusVersion: 2)))
        // The holder stops before sending the acknowledgement (kill -9): the page's transaction kept it.
        try await jiaxing.restart()
        let first = try await #require(try jiaxing.engine.pendingAcknowledgement(to: "sh-city"))
        #expect(first.items == page.corrections)
        // Reading what is owed takes nothing away (a send that fails leaves it for the next round, signed again).
        let second = try await #require(try jiaxing.engine.pendingAcknowledgement(to: "sh-city"))
        #expect(second.items == first.items)
        #expect(second.jws != first.jws, "each send is a new acknowledgement (its own ackId)")
        await #expect(try city.engine.receiveAcknowledgement(second.jws).acknowledged == 1)
        try await jiaxing.engine.acknowledgementsDelivered(second.items, to: "sh-city")
        await #expect(try jiaxing.engine.pendingAcknowledgement(to: "sh-city") == nil)
        #expect(
            (try await city.store.read { try await $0.corrections(of: key) }).filter { $0.peer == "zj-jiaxing" }.allSatisfy { $0.acknowledgedAt != nil })
    }

    @Test func aDeliveredBatchLosesItsSignedBytesAfterTheRetentionAndKeepsItsReceiptAndLineage() async throws {
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: "XH-PRUNE-0001")])
        #expect(try await push(district, to: "sh-city"))
        let delivered = try #require(try await district.store.read { try await $0.outboundBatches(peer: "sh-city", state: .delivered) }.last)
        #expect(!delivered.jws.isEmpty)
        await #expect(try district.engine.pruneSentBatches() == 0, "within the retention nothing is dropped")
        world.clock.advance(district.engine.configuration.sentBatchRetentionSeconds + 1)
        await #expect(try district.engine.pruneSentBatches() >= 1)
        let after = try #require(try await district.store.read { try await $0.outboundBatch(peer: "sh-city", sequence: delivered.sequence) })
        #expect(after.jws.isEmpty)
        #expect(after.receipt == delivered.receipt && after.state == .delivered)
        #expect(try await district.store.read { try await $0.lineage(batchId: delivered.batchId) }.contains { $0.outcome == "applied" })
        await #expect(try district.engine.pruneSentBatches() == 0, "each batch is pruned once")
    }

    @Test func aSnapshotStopsAtItsLimitAndTheFeedContinuesWithNothingLostOrRepeated() async throws {
        let records = (1...5).map { SampleRecords.penalty(sourceId: String(format: "XH-SNAP-%04d", $0)) }
        _ = try await city.engine.submit(records: records)
        let first = try await served(after: nil, limit: 2, snapshot: true)
        #expect(first.changes.count == 2 && first.hasMore)
        // A record already read changes between the snapshot and the feed: it moves past the cursor and comes again.
        let changed = try Change(json: first.changes[0]).key
        try await city.engine.decide(changed, status: .revoked, reason: "处罚决定被依法撤销", basis: "沪徐市监撤字〔2026〕第3号")
        var seen = first.changes.map { try! Change(json: $0).key.sourceId }
        var cursor: String? = first.cursor
        while true {
            let page = try await served(after: cursor, limit: 2)
            seen += try page.changes.map { try Change(json: $0).key.sourceId }
            cursor = page.cursor
            if !page.hasMore { break }
        }
        #expect(Set(seen) == Set(records.compactMap { $0["sourceId"]?.stringValue }), "every record reached the subscriber")
        #expect(seen.count == 6, "each record once, and the changed one once more: \(seen)")
        #expect(seen.last == changed.sourceId)
        let whole = try await city.engine.snapshot(for: "zj-jiaxing")
        #expect(!whole.hasMore && whole.changes.count == 5, "an unlimited snapshot: the four served, and the revocation for the holder")
        #expect(whole.changes.filter { $0["content"] == nil }.count == 1)
    }

    @Test func theOwnerExpiresRecordsWhosePublicityEndedAndTheExpiryTravels() async throws {
        let old = SampleRecords.penalty(sourceId: "XH-OLD-0001", decisionDate: "2024-03-01")  // general, 2023 regime: 36 months max
        let recent = SampleRecords.penalty(sourceId: "XH-NEW-0001", decisionDate: "2026-10-12")
        _ = try await district.engine.submit(records: [old, recent])
        world.clock.advance(Int64(60 * 86_400))  // 2027-01-19: the 2024 decision's 36-month maximum (2027-03-01) has not come
        await #expect(try district.engine.expireDue().isEmpty)
        world.clock.advance(Int64(60 * 86_400))  // 2027-03-20
        let expired = try await district.engine.expireDue()
        #expect(expired.map(\.sourceId) == ["XH-OLD-0001"])
        let state = try await district.store.read { try await $0.record(expired[0]) }?.state
        #expect(state?.status.value == .expired)
        #expect(state?.status.reasonCode == "publicity-ended")
        let queued = try await district.engine.preview(to: "sh-city")
        #expect(queued.contains { $0.key == expired[0] && $0.status.value == .expired }, "the expiry goes to the city")
    }
}

/// Conflicts and their resolution, and corrections a holder never acknowledges.
@Suite(.serialized) struct EngineConflictTests {
    let world: FederationSimulationTests.World
    let transport = ScriptedTransport()

    init() throws {
        world = try FederationSimulationTests.makeWorld(seed: 11, faults: false)
        transport.nodes = world.nodes
    }

    func push(_ from: String, to peer: String) async throws {
        var breaker = CircuitBreaker()
        while try await world.nodes[from]!.engine.pushOnce(to: peer, transport: transport, breaker: &breaker) {}
    }

    @Test func concurrentContentIsResolvedByTheCityAndTheResolutionTravels() async throws {
        let key = RecordKey(owner: "sh-xuhui", kind: "administrative-penalty", sourceId: "XH-CONFLICT-0001")
        let district = world.nodes["sh-xuhui"]!
        let city = world.nodes["sh-city"]!
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: key.sourceId, fine: "2.5")])
        try await push("sh-xuhui", to: "sh-city")
        // Version 2, then a rival version 2 with another fine (as after a restore from backup at the district): the
        // city holds two different version-2 contents.
        _ = try await district.engine.submit(records: [SampleRecords.penalty(sourceId: key.sourceId, fine: "3")])
        try await push("sh-xuhui", to: "sh-city")
        let held = try #require(try await city.store.read { try await $0.record(key) }?.state)
        let version2 = held.content!
        var rival = version2
        rival.record.set("30", at: JSONPointer("/data/fineAmount")!)
        rival = ContentVersion(version: 2, author: "sh-xuhui", at: version2.at, record: rival.record)
        let change = Change(key: key, content: rival, status: held.status)
        let batch = await BatchDocument(
            batchId: world.random.batchID(at: world.clock.now()), from: "sh-xuhui", to: "sh-city",
            sequence: try district.store.read { try await $0.nextOutboundSequence(peer: "sh-city") }, createdAt: world.clock.now(),
            changes: [change.json])
        let receiptBytes = try await city.engine.receive(
            try JWS.sign(payload: batch.json.serialized(), type: JWS.batchType, key: district.context.signingKey).serialized())
        let receipt = try Receipt(
            json: JSONParser().parse(JWS.parse(JSONParser().parse(receiptBytes), expectedType: JWS.receiptType).payload))
        #expect(receipt.outcomes.map(\.outcome) == ["conflict"])
        let conflicted = try #require(try await city.store.read { try await $0.conflictedRecords(limit: 10) }.first)
        #expect(conflicted.state.key == key)
        #expect(conflicted.state.conflicts.contains { $0.part == .content && $0.version == 2 })
        // The operator chooses the copy with the fine of 3 (whichever won the tie-break).
        let choice = version2.digest
        let resolved = try await city.engine.resolveConflict(key, choosing: choice)
        #expect(resolved.content?.version == 3)
        #expect(resolved.content?.override?.version == 2)
        #expect(resolved.content?.record["data"]?["fineAmount"] == "3")
        #expect(resolved.conflicts.isEmpty, "the new version settles the conflict")
        #expect(try await city.store.read { try await $0.conflictedRecords(limit: 10) }.isEmpty)
        // Both rivals of version 2 stay in the city's history, beside versions 1 and 3.
        let contents = try await city.store.read { try await $0.history(of: key) }.filter { $0.part == .content }
        #expect(contents.map(\.version) == [1, 2, 2, 3])
        #expect(Set(contents.map(\.digest)).isSuperset(of: [version2.digest, rival.digest]))
        let queued = try await city.engine.preview(to: "zj-jiaxing")
        #expect(queued.contains { $0.content?.override != nil }, "the resolution travels to partners")
    }

    @Test func aCorrectionNobodyAcknowledgesIsFlaggedAfterItsDeadline() async throws {
        let city = world.nodes["sh-city"]!
        let lists = try await city.engine.submit(records: try FederationSimulationTests.cityLists())
        try await push("sh-city", to: "zj-jiaxing")
        try await city.engine.decide(lists[0].key!, status: .exited, reason: "已履行义务，移出名单", basis: "《最高人民法院关于公布失信被执行人名单信息的若干规定》第十条")
        transport.mode = .fail
        var breaker = CircuitBreaker()
        _ = try await city.engine.pushOnce(to: "zj-jiaxing", transport: transport, breaker: &breaker)
        await #expect(try city.engine.flagOverdueCorrections().isEmpty, "not overdue yet")
        world.clock.advance(city.engine.configuration.correctionDeadlineSeconds + 1)
        let overdue = try await city.engine.flagOverdueCorrections()
        #expect(overdue.contains { $0.peer == "zj-jiaxing" && $0.status == .exited })
        await #expect(
            try await city.store.read { try await $0.log(after: 0, peer: "zj-jiaxing", limit: 100) }.contains {
                $0.event == "correction.unacknowledged"
            })
    }
}
