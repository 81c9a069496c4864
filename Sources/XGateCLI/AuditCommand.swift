import ArgumentParser
import Foundation
import XGateCore
import XGateJSON
import XGateSQLite

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check a node's hash-chained audit log.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the audit log of a node's store: every entry unaltered, none removed.",
            discussion: """
                Reads the audit log (审计日志) of the SQLite store — every batch in and out, feed page, acknowledgement and
                operator action, each entry chained to the one before by SHA-256 — and recomputes the chain. Prints the
                number of entries and the head hash; keep the head hash elsewhere (a ticket, another node): with
                --expect-head a log cut after that entry is caught too. It opens the store read-only (nothing is
                migrated or written, so it is safe beside the running daemon and on a backup copy); the store must
                have the schema of this xgate's version.

                Exit 0: intact. Exit 1: the first altered, inserted or removed entry is named. Exit 66: no such store.
                Exit 74: the store cannot be read (another version's schema; a directory where SQLite cannot
                create the -shm file it reads a WAL store through).

                Example:
                  xgate audit verify --store /var/lib/xgate/store.sqlite
                """)

        @Option(help: "The node's SQLite store (store.path of its configuration).") var store: String
        @Option(help: "A head hash recorded earlier: the log must still contain that entry's hash in its chain.")
        var expectHead: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            try await guarded {
                guard FileManager.default.fileExists(atPath: store) else {
                    report("no store at \(store)")
                    throw ExitCode(Exit.notFound)
                }
                let opened = try SQLiteStore.openForReading(path: store)
                do {
                    try await verify(opened)
                    try? await opened.close()
                } catch {
                    try? await opened.close()
                    throw error
                }
            }
        }

        private func verify(_ opened: SQLiteStore) async throws {
            // Streamed a page at a time: a city's log has millions of entries.
                let (result, headFound) = try await verifyAudit(opened, expectHead: expectHead)
                var problem = result.problem
                if problem == nil, !headFound, let expectHead {
                    problem = "no entry has the expected head hash \(expectHead): the log was cut or rewritten after it"
                }
                if json {
                    let value: JSONValue = [
                        "entries": .number(Double(result.entries)), "head": .string(result.head),
                        "intact": .bool(problem == nil), "problem": problem.map(JSONValue.string) ?? .null,
                    ]
                    print(value.serializedString())
                } else if let problem {
                    print("audit: BROKEN after \(result.entries) good entries: \(problem)")
                } else {
                    print("audit: \(result.entries) entries, chain intact, head \(result.head)")
                }
                if problem != nil { throw ExitCode(Exit.invalid) }
        }
    }
}

/// Reads the audit log of a store 10,000 entries at a time, every row included (one whose seq was set to 0 or below
/// must not hide), through the chain walk; notes whether the expected head was seen.
func verifyAudit(_ store: SQLiteStore, expectHead: String?) async throws -> (AuditVerification, headFound: Bool) {
    var walk = AuditVerification.Walk()
    var headFound = expectHead == nil
    var after = Int64.min
    reading: while true {
        let from = after
        let page = try await store.read { try await $0.auditEntries(after: from, limit: 10_000) }
        guard let last = page.last else { break }
        for entry in page {
            guard walk.add(entry) else { break reading }
            if entry.hash == expectHead { headFound = true }
        }
        after = last.seq
    }
    return (walk.result, headFound)
}
