import Testing
import XGateServer

/// Who gives way when a connection budget is full: the anonymous connection idle the longest, never one busy with
/// a request; a peer's own budget only yields connections idle a second or more.
struct ConnectionTableTests {
    let second: UInt64 = 1_000_000_000

    @Test func aFloodFromOneAddressPushesOutOnlyItself() {
        var table = ConnectionTable(limits: .init(anonymous: 100, perAddress: 3, perPeer: 2))
        #expect(table.open(1, address: "10.0.0.9", now: 1) == .admitted(evicting: []))
        #expect(table.open(2, address: "10.0.0.9", now: 2) == .admitted(evicting: []))
        #expect(table.open(3, address: "10.0.0.9", now: 3) == .admitted(evicting: []))
        #expect(table.open(10, address: "10.0.0.1", now: 4) == .admitted(evicting: []))  // an operator elsewhere
        // The fourth socket of the flooding address closes the oldest of that address, not the operator's.
        #expect(table.open(4, address: "10.0.0.9", now: 5) == .admitted(evicting: [1]))
        #expect(table.open(5, address: "10.0.0.9", now: 6) == .admitted(evicting: [2]))
        #expect(table.contains(10))
        #expect(table.counts.anonymous == 4)
    }

    @Test func whenAllAnonymousConnectionsAreFullTheLongestIdleGivesWayWhateverItsAddress() {
        var table = ConnectionTable(limits: .init(anonymous: 3, perAddress: 3, perPeer: 2))
        _ = table.open(1, address: "a", now: 10)
        _ = table.open(2, address: "b", now: 11)
        _ = table.open(3, address: "c", now: 12)
        table.setBusy(1, true, now: 13)  // 1 is busy with a request: it is never pushed out
        #expect(table.open(4, address: "d", now: 14) == .admitted(evicting: [2]))
        table.setBusy(1, false, now: 15)  // idle again, since 15: now 3 (idle since 12) is the longest idle
        #expect(table.open(5, address: "e", now: 16) == .admitted(evicting: [3]))
    }

    @Test func aBudgetFullOfBusyConnectionsRefusesTheNewcomer() {
        var table = ConnectionTable(limits: .init(anonymous: 2, perAddress: 2, perPeer: 2))
        _ = table.open(1, address: "a", now: 1)
        _ = table.open(2, address: "b", now: 1)
        table.setBusy(1, true, now: 2)
        table.setBusy(2, true, now: 2)
        guard case .refused(let reason) = table.open(3, address: "c", now: 3) else {
            Issue.record("the newcomer was admitted into a budget of busy connections")
            return
        }
        #expect(reason.contains("limits.anonymousConnections"))
        #expect(!table.contains(3))
    }

    @Test func theAddressHoldingTheMostGivesWayBeforeAnOlderSocketOfAnother() {
        var table = ConnectionTable(limits: .init(anonymous: 4, perAddress: 4, perPeer: 2))
        _ = table.open(1, address: "operator", now: 1)  // idle the longest of all
        _ = table.open(2, address: "churner", now: 10)
        _ = table.open(3, address: "churner", now: 11)
        _ = table.open(4, address: "churner", now: 12)
        #expect(table.open(5, address: "another", now: 13) == .admitted(evicting: [2]))
        #expect(table.contains(1))
    }

    @Test func whenEveryoneIsBusyTheOneBusyTheLongestGivesWayAfterItsGrace() {
        var table = ConnectionTable(limits: .init(anonymous: 2, perAddress: 2, perPeer: 2))
        _ = table.open(1, address: "a", now: 0)
        _ = table.open(2, address: "b", now: 0)
        table.setBusy(1, true, now: 0)  // a body trickled for ever
        table.setBusy(2, true, now: second)  // an operator's request, just started
        #expect(table.open(3, address: "c", now: second + 1) == .admitted(evicting: [1]))
        table.setBusy(3, true, now: second + 1)
        guard case .refused = table.open(4, address: "d", now: second + 2) else {
            Issue.record("a request busy for less than its grace was pushed out")
            return
        }
    }

    @Test func aPinnedPeerLeavesTheAnonymousBudgetForItsOwn() {
        var table = ConnectionTable(limits: .init(anonymous: 2, perAddress: 2, perPeer: 4))
        _ = table.open(1, address: "a", now: 1)
        _ = table.open(2, address: "a", now: 2)
        #expect(table.identify(2, peer: "sh-xuhui", now: 3) == .admitted(evicting: []))
        #expect(table.counts.anonymous == 1 && table.counts.peers == ["sh-xuhui": 1])
        // Room again for an anonymous connection from the same address without pushing anyone out.
        #expect(table.open(3, address: "a", now: 4) == .admitted(evicting: []))
    }

    @Test func aPeerOverItsBudgetYieldsOnlyAConnectionIdleASecondOrMore() {
        var table = ConnectionTable(limits: .init(anonymous: 10, perAddress: 10, perPeer: 2))
        for id in 1...3 { _ = table.open(id, address: "a", now: 0) }
        #expect(table.identify(1, peer: "sh-xuhui", now: 0) == .admitted(evicting: []))
        #expect(table.identify(2, peer: "sh-xuhui", now: 0) == .admitted(evicting: []))
        // Both are idle, but for less than a second: the third is refused (and answered 503 by its guard).
        guard case .refused(let reason) = table.identify(3, peer: "sh-xuhui", now: second / 2) else {
            Issue.record("a fresh connection of the peer was pushed out by its own newcomer")
            return
        }
        #expect(reason.contains("limits.connectionsPerPeer"))
        // Refused, it stays counted (as anonymous, against its address) until it closes.
        #expect(table.contains(3) && table.counts.peers["sh-xuhui"] == 2 && table.counts.anonymous == 1)
        table.close(3)
        _ = table.open(4, address: "a", now: 2 * second)
        #expect(table.identify(4, peer: "sh-xuhui", now: 2 * second) == .admitted(evicting: [1]))
        // Another peer's budget is its own.
        _ = table.open(5, address: "b", now: 2 * second)
        #expect(table.identify(5, peer: "sh-city", now: 2 * second) == .admitted(evicting: []))
    }
}

/// What request bodies in hand may cost: four times their size, one caller at most half of the budget.
struct BodyBudgetTests {
    @Test func aBodyCostsFourTimesItsSizeAndOneCallerAtMostHalf() {
        let budget = BodyBudget(total: 64)
        #expect(budget.reserve(8, for: "sh-xuhui"))  // costs 32: half of the budget
        #expect(budget.used == 32)
        #expect(!budget.reserve(1, for: "sh-xuhui"), "one caller took more than half")
        #expect(budget.reserve(8, for: "sh-pudong"))
        #expect(!budget.reserve(1, for: "operator"), "the budget was overdrawn")
        budget.release(8, for: "sh-xuhui")
        #expect(budget.used == 32)
        #expect(budget.reserve(4, for: "operator"))
        budget.release(4, for: "operator")
        budget.release(8, for: "sh-pudong")
        #expect(budget.used == 0)
    }
}
