import Testing
import XGateCore
import XGateJSON

/// The audit chain: intact, an altered entry, a removed entry, an entry rewritten with a fresh hash.
struct AuditVerificationTests {
    /// Five entries as a node writes them: batches in and out, a repair by an operator.
    static func chain() -> [AuditEntry] {
        var entries: [AuditEntry] = []
        var previous = AuditEntry.origin
        let actions = [
            ("sh-xuhui", "batch.received"), ("sh-city", "batch.delivered"), ("operator", "status.decided"),
            ("zj-jiaxing", "feed.served"), ("zj-jiaxing", "acknowledgement.received"),
        ]
        for (index, (actor, action)) in actions.enumerated() {
            let entry = AuditEntry(
                seq: Int64(index + 1), at: Timestamp(seconds: 1_795_000_000 + Int64(index) * 60), actor: actor, action: action,
                subject: "subject-\(index + 1)", detail: ["n": .number(Double(index))], previous: previous)
            entries.append(entry)
            previous = entry.hash
        }
        return entries
    }

    @Test func anIntactChainVerifiesAndNamesItsHead() {
        let entries = Self.chain()
        let result = AuditVerification.verify(entries)
        #expect(result.problem == nil)
        #expect(result.entries == 5 && result.head == entries[4].hash)
        #expect(entries[0].hash.count == 64 && entries[0].hash != entries[1].hash)
    }

    @Test func anAlteredEntryIsNamed() {
        var entries = Self.chain()
        entries[2].detail = ["status": "revoked"]  // changed in place, its stored hash kept
        let result = AuditVerification.verify(entries)
        #expect(result.problem?.contains("entry 3") == true && result.problem?.contains("altered") == true)
        #expect(result.entries == 2)
    }

    @Test func aRemovedEntryIsNamed() {
        var entries = Self.chain()
        entries.remove(at: 1)
        #expect(AuditVerification.verify(entries).problem?.contains("entries 2…2 are missing") == true)
    }

    @Test func anEntryRewrittenWithAFreshHashBreaksTheNextLink() {
        var entries = Self.chain()
        let forged = AuditEntry(
            seq: 3, at: entries[2].at, actor: "operator", action: "status.decided", subject: "subject-3", detail: ["status": "revoked"],
            previous: entries[1].hash)
        entries[2] = forged
        let problem = AuditVerification.verify(entries).problem
        #expect(problem?.contains("entry 4 does not follow entry 3") == true)
    }

    @Test func theHashIsSHA256OfTheSortedCanonicalForm() {
        // An outside checker recomputes it from the documented form (AuditEntry): keys sorted, no white space.
        let entry = AuditEntry(
            seq: 1, at: Timestamp(seconds: 0), actor: "sh-city", action: "batch.received", subject: "b", detail: [:],
            previous: AuditEntry.origin)
        let canonical =
            #"{"action":"batch.received","actor":"sh-city","at":"1970-01-01T08:00:00+08:00","detail":{},"previous":""#
            + AuditEntry.origin + #"","seq":1,"subject":"b"}"#
        #expect(entry.hash == Digest(of: Array(canonical.utf8)).hex)
    }
}
