import Foundation
import XGateCore

/// The leases this instance holds for the work only one instance of a node may do at a time — each peer's push
/// channel (`push:<peer>`), each pull subscription (`pull:<publisher>`), the expiry sweep (`expiry`), activity
/// sampling (`sampling`). ``holds(_:)`` answers whether this instance may do that work now: it takes the lease when it
/// is free or expired and renews it once a third of its time has gone, so a loop asks at every round and the store
/// sees one write per lease every few seconds; ``renewHeld()``, run every few seconds beside the work, keeps a lease
/// through a round longer than it. An instance killed with `kill -9` stops renewing; another takes the work over once
/// its leases expire (``seconds``, 10 by default, plus that instance's next round).
public final class LeaseKeeper: @unchecked Sendable {
    /// Who this instance is in the leases (`<node>@<host>:<pid>` in the daemon).
    public let instance: String
    /// How long a lease lasts unless renewed.
    public let seconds: Int64
    private let store: any SyncStore
    private let executor: any StoreExecutor
    private let clock: any EngineClock
    private let lock = NSLock()
    private var held: [String: Timestamp] = [:]
    /// Leases another instance holds: not asked for again within the second (a waiting loop wakes often; a lease given
    /// up is still taken within a second).
    private var others: [String: Timestamp] = [:]

    public init(instance: String, store: any SyncStore, executor: any StoreExecutor, clock: any EngineClock, seconds: Int64 = 10) {
        self.instance = instance
        self.store = store
        self.executor = executor
        self.clock = clock
        self.seconds = seconds
    }

    /// Whether this instance holds `name` now (taking or renewing it when due). A store that cannot be reached keeps
    /// a lease this instance holds until it runs out, and gives none.
    public func holds(_ name: String) async -> Bool {
        let now = clock.now()
        let (known, theirs) = lock.withLock { (held[name], others[name]) }
        if let until = known, until.seconds - now.seconds > seconds * 2 / 3 { return true }
        if let until = theirs, until.seconds > now.seconds { return false }
        let store = self.store
        let instance = self.instance
        let until = Timestamp(seconds: now.seconds + seconds)
        do {
            let lease = try await executor.write { try await store.write { try await $0.acquireLease(name, holder: instance, now: now, until: until) } }
            let mine = lease.holder == instance
            lock.withLock {
                held[name] = mine ? lease.expiresAt : nil
                others[name] = mine ? nil : Timestamp(seconds: min(lease.expiresAt.seconds, now.seconds + 1))
            }
            return mine
        } catch {
            return known.map { $0.seconds > now.seconds } ?? false
        }
    }

    /// Renews every lease this instance holds whose renewal is due (``holds(_:)`` for each): run every few seconds
    /// beside the work (the daemon's `leases` service), so that a lease does not run out during a round longer than
    /// it — a long poll, a push to a slow peer — while its holder lives.
    public func renewHeld() async {
        for name in lock.withLock({ Array(held.keys) }).sorted() { _ = await holds(name) }
    }

    /// The leases this instance holds, by name, with their expiry (for status).
    public var current: [String: Timestamp] { lock.withLock { held } }

    /// Gives every lease up (a graceful stop), so another instance takes the work at once instead of after expiry.
    public func releaseAll() async {
        let names = lock.withLock { () -> [String] in
            defer { held = [:] }
            return Array(held.keys)
        }
        guard !names.isEmpty else { return }
        let store = self.store
        let instance = self.instance
        _ = try? await executor.write { try await store.write { tx in for name in names { try await tx.releaseLease(name, holder: instance) } } }
    }
}
