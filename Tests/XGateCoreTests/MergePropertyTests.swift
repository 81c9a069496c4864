import Testing
import XGateJSON
import XGateTestSupport

@testable import XGateCore

/// Random orders, duplicates and interleavings of the same changes, across many seeds.
@Suite struct MergePropertyTests {
    typealias M = MergeTests

    /// A random history of one record: content versions (some concurrent), a status chain (some concurrent, some by
    /// the city), and some changes from a node that may not make them.
    static func history(_ rng: inout SeededGenerator) -> [Change] {
        var changes: [Change] = [M.created]
        let contentVersions = Int.random(in: 1...4, using: &rng)
        for version in 1...contentVersions {
            let copies = version == 1 ? 1 : Int.random(in: 1...2, using: &rng)
            for copy in 0..<copies {
                let fine = "\(version)\(copy == 0 ? "" : ".5")"
                changes.append(
                    Change(
                        key: M.key, content: M.content(version, fine: version == 1 ? "2.5" : fine), status: M.status(1, .active, from: nil))
                )
            }
        }
        var frontier: [RecordStatus] = [.active]
        for version in 2...Int.random(in: 2...5, using: &rng) {
            var next: [RecordStatus] = []
            for _ in 0..<Int.random(in: 1...2, using: &rng) {
                let from = frontier.randomElement(using: &rng)!
                guard let to = from.allowedNext.subtracting([.exited]).sorted().randomElement(using: &rng) else { continue }
                let author = Bool.random(using: &rng) ? M.city : M.owner
                changes.append(Change(key: M.key, content: nil, status: M.status(version, to, from: from, by: author)))
                next.append(to)
            }
            if next.isEmpty { break }
            frontier = next
        }
        if Bool.random(using: &rng) {
            changes.append(Change(key: M.key, content: nil, status: M.status(9, .active, from: .repaired, by: "zj-jiaxing")))
        }
        return changes
    }

    /// The same changes, shuffled, with some sent two or three times.
    static func delivery(of changes: [Change], _ rng: inout SeededGenerator) -> [Change] {
        var copies: [Change] = []
        for change in changes { copies += Array(repeating: change, count: Int.random(in: 1...3, using: &rng)) }
        return copies.shuffled(using: &rng)
    }

    static func merged(_ changes: [Change]) -> RecordState? {
        var state: RecordState?
        for change in changes { state = Merge.apply(change, to: state, policy: M.policy).0 }
        return state
    }

    @Test(arguments: 0..<300)
    func convergesWhateverTheOrderAndDuplicates(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed))
        let changes = Self.history(&rng)
        let states = (0..<4).map { _ in Self.merged(Self.delivery(of: changes, &rng)) }
        let digests = Set(states.map { $0?.digest })
        #expect(digests.count == 1, "seed \(seed): nodes diverged")

        let state = try #require(states[0], "seed \(seed)")
        // The deterministic winners, stated as the protocol states them.
        let authorised = changes.filter { Merge.authorise($0, policy: M.policy) == nil }
        let contents = authorised.compactMap(\.content)
        let maxVersion = contents.map(\.version).max()!
        #expect(state.content?.digest == contents.filter { $0.version == maxVersion }.map(\.digest).max(), "seed \(seed)")
        #expect(state.status.digest == Self.standing(authorised.map(\.status)).digest, "seed \(seed)")
        // Concurrent content at the newest version is recorded as a conflict on every node.
        let newest = Set(contents.filter { $0.version == maxVersion }.map(\.digest))
        if newest.count > 1 {
            for s in states { #expect(s?.conflicts.contains { $0.part == .content && $0.version == maxVersion } == true, "seed \(seed)") }
        }
    }

    /// The status that stands, stated as PROTOCOL.md §6.3 states it: from the lowest version upwards, among the
    /// decisions made from the status standing one version below (any, when that version is unknown), the greatest by
    /// (precedence, author, digest) stands; stop when none qualifies.
    static func standing(_ decisions: [StatusChange]) -> StatusChange {
        var unique: [Digest: StatusChange] = [:]
        for d in decisions { unique[d.digest] = d }
        var standing: StatusChange?
        for version in Set(unique.values.map(\.version)).sorted() {
            let eligible = unique.values.filter { d in
                d.version == version && (standing == nil || standing!.version < version - 1 || d.from == standing!.value)
            }
            let best = eligible.sorted { ($0.value.precedence, $0.author, $0.digest.hex) > ($1.value.precedence, $1.author, $1.digest.hex) }
                .first
            guard let best else { break }
            standing = best
        }
        return standing!
    }

    /// A repair or revocation by the city races an objection by the owner, and the owner then decides the objection
    /// without having seen the repair. Whatever the order and duplication, the repair or revocation stands.
    @Test(arguments: 0..<200)
    func aConcurrentBranchNeverUndoesARepairOrRevocation(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &+ 20_000)
        let protective: RecordStatus = Bool.random(using: &rng) ? .repaired : .revoked
        let changes = [
            M.created,
            Change(key: M.key, content: nil, status: M.status(2, protective, from: .active, by: M.city)),
            Change(key: M.key, content: nil, status: M.status(2, .disputed, from: .active, by: M.owner)),
            Change(key: M.key, content: nil, status: M.status(3, .active, from: .disputed, by: M.owner)),
            Change(key: M.key, content: M.content(2, fine: "5"), status: M.status(1, .active, from: nil)),
        ]
        let states = (0..<3).map { _ in Self.merged(Self.delivery(of: changes, &rng)) }
        for state in states {
            #expect(state?.status.value == protective, "seed \(seed)")
            #expect(
                state?.conflicts.contains { $0.part == .status && $0.version == 3 } == true,
                "seed \(seed): the orphaned decision is shown to operators")
        }
        #expect(Set(states.map { $0?.digest }).count == 1, "seed \(seed)")
    }

    @Test(arguments: 0..<200)
    func contentChangesNeverUndoAStatusChange(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &+ 10_000)
        let changes = Self.history(&rng)
        let start = try #require(Self.merged(changes))
        var state: RecordState? = start
        // Replays of every content change, old and new, plus a fresh newer version from the owner.
        var contentOnly = changes.filter { $0.content != nil }
        contentOnly.append(Change(key: M.key, content: M.content(7, fine: "7"), status: M.status(1, .active, from: nil)))
        for change in contentOnly.shuffled(using: &rng) {
            state = Merge.apply(change, to: state, policy: M.policy).0
            #expect(state?.status == start.status, "seed \(seed): a content change moved the status from \(start.status.value)")
        }
    }
}
