import Foundation
import Testing
import XGateCore
import XGateEngine
import XGateSQLite

/// Two instances of one node on one database (two SQLite connections to one file, one clock): one holds each piece
/// of work; the other takes it over once the holder stops renewing (killed) or at once when it gives it up.
@Suite struct LeaseKeeperTests {
    @Test func oneInstanceHoldsTheWorkAndAnotherTakesItOverWhenItStopsRenewing() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xgate-leases-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/store.sqlite"
        let clock = ManualClock()
        let storeA = try SQLiteStore(path: path)
        let storeB = try SQLiteStore(path: path)
        let a = LeaseKeeper(instance: "sh-city@city-1:101", store: storeA, executor: Offload(), clock: clock)
        let b = LeaseKeeper(instance: "sh-city@city-2:202", store: storeB, executor: Offload(), clock: clock)

        #expect(await a.holds("push:zj-jiaxing"))
        #expect(await b.holds("push:zj-jiaxing") == false, "held by the other instance")
        #expect(await b.holds("pull:sh-xuhui"), "other work is free")
        clock.advance(3)
        #expect(await a.holds("push:zj-jiaxing"), "no write needed: most of its time is left")
        #expect(try await storeA.read { try await $0.leases() }.first { $0.name == "push:zj-jiaxing" }?.expiresAt.seconds == clock.now().seconds + 7)
        clock.advance(2)
        #expect(await a.holds("push:zj-jiaxing"), "renewed")
        #expect(try await storeA.read { try await $0.leases() }.first { $0.name == "push:zj-jiaxing" }?.expiresAt.seconds == clock.now().seconds + 10)

        // Renewed beside the work, without a loop asking (a long poll outlasts a lease).
        clock.advance(5)
        await a.renewHeld()
        #expect(try await storeA.read { try await $0.leases() }.first { $0.name == "push:zj-jiaxing" }?.expiresAt.seconds == clock.now().seconds + 10)

        // city-1 is killed: it stops renewing. Until the lease runs out city-2 waits; then it takes the channel over.
        clock.advance(9)
        #expect(await b.holds("push:zj-jiaxing") == false, "not yet expired")
        clock.advance(1)
        #expect(await b.holds("push:zj-jiaxing"), "taken over once expired")
        #expect(try await storeB.read { try await $0.leases() }.first { $0.name == "push:zj-jiaxing" }?.epoch == 2)
        #expect(await a.holds("push:zj-jiaxing") == false, "the old holder learns it has lost the channel")

        // A graceful stop gives the work up at once.
        await b.releaseAll()
        #expect(b.current.isEmpty)
        #expect(await a.holds("push:zj-jiaxing") == false, "asked within the second: not asked again yet")
        clock.advance(1)
        #expect(await a.holds("push:zj-jiaxing"), "taken a second later, not after the lease's 10 s")
        #expect(await a.holds("pull:sh-xuhui"), "released by city-2, taken by city-1 without waiting out its expiry")
        try await storeA.close()
        try await storeB.close()
    }
}
