import Testing
import XGateJSON
import XGateTestSupport

@testable import XGateCore

@Suite struct MergeTests {
    static let owner = "sh-xuhui"
    static let city = "sh-city"
    static let policy = MergePolicy(cityNodes: [city], listKinds: ["dishonest-judgment-debtor"])
    static let key = RecordKey(owner: owner, kind: "administrative-penalty", sourceId: "XH-SCJG-2026-0001")

    static func content(_ version: Int, fine: String, author: String = owner) -> ContentVersion {
        ContentVersion(
            version: version, author: author, at: "2026-11-0\(min(version, 9))T10:00:00+08:00",
            record: SampleRecords.penalty(sourceId: key.sourceId, fine: fine))
    }

    static func status(_ version: Int, _ value: RecordStatus, from: RecordStatus?, by author: String = owner) -> StatusChange {
        StatusChange(
            version: version, value: value, from: from, author: author, at: "2026-11-20T09:00:00+08:00",
            reason: from == nil ? nil : "经审核", basis: from == nil ? nil : "《信用修复管理办法》")
    }

    static var created: Change { Change(key: key, content: content(1, fine: "2.5"), status: status(1, .active, from: nil)) }

    func apply(_ changes: [Change], to start: RecordState? = nil) -> (RecordState?, [ChangeOutcome]) {
        var state = start
        var outcomes: [ChangeOutcome] = []
        for change in changes {
            let (next, outcome) = Merge.apply(change, to: state, policy: Self.policy)
            state = next
            outcomes.append(outcome)
        }
        return (state, outcomes)
    }

    @Test func appliesThenDetectsDuplicateAndStale() {
        let update = Change(key: Self.key, content: Self.content(2, fine: "3"), status: Self.status(1, .active, from: nil))
        let (state, outcomes) = apply([Self.created, Self.created, update, Self.created])
        #expect(outcomes == [.applied, .duplicate, .applied, .stale])
        #expect(state?.content?.version == 2)
    }

    @Test func aRepairIsNeverUndoneByAnOlderOrNewerContentUpdate() {
        let repair = Change(key: Self.key, content: nil, status: Self.status(2, .repaired, from: .active, by: Self.city))
        let oldContent = Self.created
        let newContent = Change(key: Self.key, content: Self.content(3, fine: "4"), status: Self.status(1, .active, from: nil))
        let (state, outcomes) = apply([Self.created, repair, oldContent, newContent])
        #expect(outcomes == [.applied, .applied, .duplicate, .applied])  // the old change is one already held
        #expect(state?.status.value == .repaired)
        #expect(state?.content?.version == 3)
    }

    @Test func aRepairThatOvertakesItsRecordStillHolds() {
        let repair = Change(key: Self.key, content: nil, status: Self.status(2, .repaired, from: .active, by: Self.city))
        let (state, outcomes) = apply([repair, Self.created])
        #expect(outcomes == [.applied, .applied])
        #expect(state?.status.value == .repaired)
        #expect(state?.content?.version == 1)
    }

    @Test func statusDigestMatchesThePublishedGoldenValue() {
        // Contracts/PROTOCOL.md §6.1: canonical JSON without "at", SHA-256.
        let first = StatusChange(version: 1, value: .active, from: nil, author: "sh-xuhui", at: "2026-11-20T09:00:00+08:00")
        #expect(first.digest.description == "sha256:4a8cc9e397e438b15d90a3fde5cbb30d9744973054d2f801cf162041ceb773f1")
    }

    @Test func theSameDecisionStampedAtAnotherTimeIsADuplicateAndTheEarliestTimeIsKept() {
        var late = Self.created
        late.status.at = "2026-11-21T09:00:00+08:00"
        let (one, outcomes) = apply([late, Self.created])
        let (two, _) = apply([Self.created, late])
        #expect(outcomes == [.applied, .duplicate])
        #expect(one?.status.at == "2026-11-20T09:00:00+08:00")
        #expect(one == two)
    }

    @Test func aDecisionMadeFromAStatusThatDidNotStandIsAConflictAndChangesNothing() throws {
        let repair = Change(key: Self.key, content: nil, status: Self.status(2, .repaired, from: .active, by: Self.city))
        let objection = Change(key: Self.key, content: nil, status: Self.status(2, .disputed, from: .active))
        let upheld = Change(key: Self.key, content: nil, status: Self.status(3, .active, from: .disputed))
        let (state, outcomes) = apply([Self.created, repair, objection, upheld])
        #expect(outcomes == [.applied, .applied, .conflict, .conflict])
        #expect(state?.status.value == .repaired)
        #expect(state?.conflicts.filter { $0.part == .status }.map(\.version) == [2, 3])
        // Revoking the repair, made from it, stands.
        let revokeRepair = Change(key: Self.key, content: nil, status: Self.status(3, .repairRevoked, from: .repaired, by: Self.city))
        #expect(apply([revokeRepair], to: state).0?.status.value == .repairRevoked)
    }

    @Test func concurrentContentIsAConflictWithTheSameWinnerInEitherOrder() throws {
        let a = Change(key: Self.key, content: Self.content(2, fine: "3"), status: Self.status(1, .active, from: nil))
        let b = Change(key: Self.key, content: Self.content(2, fine: "30"), status: Self.status(1, .active, from: nil))
        let (first, firstOutcomes) = apply([Self.created, a, b])
        let (second, secondOutcomes) = apply([Self.created, b, a])
        #expect(firstOutcomes.last == .conflict)
        #expect(secondOutcomes.last == .conflict)
        let one = try #require(first)
        let two = try #require(second)
        #expect(one.digest == two.digest)
        #expect(one.content?.digest == max(a.content!.digest, b.content!.digest))
        #expect(one.conflicts == two.conflicts)
        #expect(one.conflicts.count == 1)
        #expect(one.conflicts[0].loser == min(a.content!.digest, b.content!.digest))
        // Receiving the loser again is a duplicate, not a second conflict.
        #expect(apply([a], to: one).1 == [.duplicate])
    }

    @Test func anOperatorOverrideFromTheCityResolvesTheConflict() {
        var resolved = Self.content(3, fine: "3", author: Self.city)
        resolved.override = .init(version: 2, digest: Self.content(2, fine: "3").digest)
        let override = Change(key: Self.key, content: resolved, status: Self.status(1, .active, from: nil))
        #expect(apply([Self.created, override]).1 == [.applied, .applied])
        // Without the override marker the city may not write another node's content.
        let plain = Change(
            key: Self.key, content: Self.content(3, fine: "3", author: Self.city), status: Self.status(1, .active, from: nil))
        guard case .rejected(let rejection) = apply([plain]).1[0] else { Issue.record("expected a rejection"); return }
        #expect(rejection.code == "content.unauthorised")
    }

    @Test func aHigherVersionSettlesTheConflictAndTheStateIsTheSameInAnyOrder() throws {
        let a = Change(key: Self.key, content: Self.content(2, fine: "3"), status: Self.status(1, .active, from: nil))
        let b = Change(key: Self.key, content: Self.content(2, fine: "30"), status: Self.status(1, .active, from: nil))
        var chosen = Self.content(3, fine: "30", author: Self.city)
        chosen.override = .init(version: 2, digest: b.content!.digest)
        let override = Change(key: Self.key, content: chosen, status: Self.status(1, .active, from: nil))
        let orders = [[a, b, override], [b, a, override], [override, a, b], [a, override, b]]
        let states = try orders.map { try #require(apply([Self.created] + $0).0) }
        #expect(apply([Self.created, a, b, override]).1 == [.applied, .applied, .conflict, .applied])
        for state in states {
            #expect(state.conflicts.isEmpty, "the override settled the conflict")
            #expect(state.content?.version == 3)
            #expect(state.digest == states[0].digest)
        }
        // The owner's next edit settles it too, and a rival of the older version arriving later changes nothing.
        let edit = Change(key: Self.key, content: Self.content(3, fine: "4"), status: Self.status(1, .active, from: nil))
        let (edited, outcomes) = apply([Self.created, a, b, edit, a])
        #expect(outcomes.suffix(2) == [.applied, .stale])
        #expect(edited?.conflicts.isEmpty == true)
    }

    @Test func refusesUnauthorisedAndImpossibleStatusChangesWithAReason() {
        let cases: [(Change, String)] = [
            (
                Change(key: Self.key, content: nil, status: Self.status(2, .repaired, from: .active, by: "zj-jiaxing")),
                "status.unauthorised"
            ),
            (Change(key: Self.key, content: nil, status: Self.status(2, .active, from: .revoked)), "status.transition"),
            (Change(key: Self.key, content: nil, status: Self.status(2, .exited, from: .active)), "status.transition"),
            (Change(key: Self.key, content: nil, status: Self.status(3, .repaired, from: nil)), "status.transition"),
            (
                Change(
                    key: Self.key, content: nil,
                    status: StatusChange(version: 2, value: .repaired, from: .active, author: Self.city, at: "2026-11-20T09:00:00+08:00")),
                "status.reason-required"
            ),
        ]
        for (change, code) in cases {
            let (state, outcomes) = apply([change], to: apply([Self.created]).0)
            guard case .rejected(let rejection) = outcomes[0] else { Issue.record("expected \(code)"); continue }
            #expect(rejection.code == code)
            #expect(state?.status.value == .active)  // nothing was taken
        }
    }

    @Test func aMismatchedRecordKeyIsRefused() {
        var content = Self.content(1, fine: "2")
        content.record = SampleRecords.penalty(sourceId: "OTHER-ID")
        let change = Change(key: Self.key, content: content, status: Self.status(1, .active, from: nil))
        guard case .rejected(let rejection) = apply([change]).1[0] else { Issue.record("expected key.mismatch"); return }
        #expect(rejection.code == "key.mismatch")
    }
}
