// The storage ceiling: the same records upserted by the sqlite3 CLI, through json_each, one 1,000-row transaction
// per batch, into a fresh database with the store's own schema (SQLiteStore's migrations) and pragmas.
import Foundation
import XGateCore
import XGateJSON
import XGateSQLite

enum Ceiling {
    /// What one variant writes per batch.
    enum Variant: String, CaseIterable {
        /// `records` only: the upsert the design's ceiling measured.
        case records
        /// `records` + the two `record_history` rows (content, status) the engine writes for a new record. The headline.
        case history
        /// Everything a receiver that relays nothing writes: the above + one `lineage` row per record, and per batch the
        /// `inbox` row with a receipt-sized blob, the `channels` row and a `sync_log` line.
        case full

        var title: String {
            switch self {
            case .records: return "records upsert only"
            case .history: return "records upsert + 2 history rows"
            case .full: return "records + history + lineage + inbox/channel/log"
            }
        }
    }

    /// One row of a ceiling batch file: the key, the stored state exactly as the engine stores it (the JSON object of
    /// `RecordState.storedJSON`; SQLite writes it back as the same compact text), and the columns and digests the
    /// engine computes in Swift. History values are taken from the state (`$.state.content`, `$.state.statusHistory[0]`),
    /// which are the same JSON the engine writes to `record_history.value_json`.
    static func row(change: Change, state: RecordState, stored: JSONValue) -> JSONValue {
        [
            "o": .string(state.key.owner), "k": .string(state.key.kind), "s": .string(state.key.sourceId), "state": stored,
            "st": .string(state.status.value.rawValue), "cv": .number(Double(state.content?.version ?? 0)),
            "sv": .number(Double(state.status.version)), "hc": .number(state.conflicts.isEmpty ? 0 : 1),
            "cd": .string(change.content!.digest.description), "sd": .string(change.status.digest.description),
            "dd": state.content?.record["data"]?["decisionDate"]?.stringValue.map(JSONValue.string) ?? .null,
        ]
    }

    /// The SQL of one batch.
    static func sql(variant: Variant, file: String, batchId: String, sequence: Int, sender: String, at: String, receiptBytes: Int) -> String
    {
        let source = "json_each(readfile('\(file)'))"
        var sql = """
            BEGIN IMMEDIATE;
            INSERT INTO records (owner, kind, source_id, state_json, status, content_version, status_version, has_conflicts,
                                 decision_date, local_seq)
              SELECT value->>'o', value->>'k', value->>'s', value->'state', value->>'st', value->>'cv', value->>'sv', value->>'hc',
                     value->>'dd', (SELECT coalesce(max(local_seq), 0) FROM records) + key + 1
              FROM \(source) WHERE true
              ON CONFLICT (owner, kind, source_id) DO UPDATE SET
                state_json = excluded.state_json, status = excluded.status, content_version = excluded.content_version,
                status_version = excluded.status_version, has_conflicts = excluded.has_conflicts,
                decision_date = excluded.decision_date, local_seq = excluded.local_seq;

            """
        if variant != .records {
            sql += """
                INSERT INTO record_history (owner, kind, source_id, part, version, digest, value_json, source, at)
                  SELECT value->>'o', value->>'k', value->>'s', 'content', value->>'cv', value->>'cd', value->'$.state.content', '\(sender)', '\(at)'
                  FROM \(source);
                INSERT INTO record_history (owner, kind, source_id, part, version, digest, value_json, source, at)
                  SELECT value->>'o', value->>'k', value->>'s', 'status', value->>'sv', value->>'sd', value->'$.state.statusHistory[0]', '\(sender)', '\(at)'
                  FROM \(source);

                """
        }
        if variant == .full {
            sql += """
                INSERT INTO lineage (owner, kind, source_id, peer, direction, batch_id, content_version, status_version, outcome, at)
                  SELECT value->>'o', value->>'k', value->>'s', '\(sender)', 'inbound', '\(batchId)', value->>'cv', value->>'sv', 'applied', '\(at)'
                  FROM \(source);
                INSERT INTO inbox (sender, batch_id, sequence, payload_digest, receipt, received_at)
                  VALUES ('\(sender)', '\(batchId)', \(sequence), 'sha256:' || lower(hex(randomblob(32))), randomblob(\(receiptBytes)), '\(at)');
                INSERT INTO channels (peer, direction, next_sequence) VALUES ('\(sender)', 'inbound', \(sequence + 1))
                  ON CONFLICT (peer, direction) DO UPDATE SET next_sequence = excluded.next_sequence;
                INSERT INTO sync_log (at, peer, batch_id, event, detail)
                  VALUES ('\(at)', '\(sender)', '\(batchId)', 'batch.received', 'sequence \(sequence): applied 1000, duplicate 0, stale 0, conflict 0, rejected 0');

                """
        }
        return sql + "COMMIT;\n"
    }

    /// The pragmas of the store's writer connection, as SQL (read from a store opened on the file).
    static func pragmaSQL(_ pragmas: [String: String]) -> String {
        ["synchronous", "cache_size", "wal_autocheckpoint", "journal_size_limit", "temp_store", "foreign_keys", "busy_timeout"]
            .compactMap { name in pragmas[name].map { "PRAGMA \(name) = \($0);" } }.joined(separator: "\n")
    }

    struct Result {
        var seconds: Double
        var records: Int
        var databaseBytes: Int
    }

    /// Makes a fresh database with the store's schema (opening an SQLiteStore on it runs the migrations), closes it,
    /// then times one sqlite3 process running the whole script. Returns the time and the rows found afterwards.
    static func run(
        variant: Variant, files: [(path: String, batchId: String)], directory: String, name: String, receiptBytes: Int, at: String
    ) async throws -> Result {
        let database = directory + "/\(name).sqlite"
        removeDatabase(database)
        let store = try SQLiteStore(path: database)
        let pragmas = try store.pragmasInEffect()
        try await store.close()
        guard pragmas["journal_mode"]?.lowercased() == "wal" else { fail("the store's file is not in WAL mode: \(pragmas)") }
        var script = pragmaSQL(pragmas) + "\n"
        for (i, file) in files.enumerated() {
            script += sql(
                variant: variant, file: file.path, batchId: file.batchId, sequence: i + 1, sender: Nodes.district, at: at,
                receiptBytes: receiptBytes)
        }
        let scriptPath = directory + "/\(name).sql"
        try Data(script.utf8).write(to: URL(fileURLWithPath: scriptPath))
        let start = now()
        try sqlite3(database: database, scriptPath: scriptPath)
        let seconds = now() - start
        let count =
            Int(try sqlite3Query(database: database, "SELECT count(*) FROM records").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        return Result(seconds: seconds, records: count, databaseBytes: fileBytes(directory, prefix: "\(name).sqlite"))
    }

    static func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    static var executable: String {
        for candidate in ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3", "/bin/sqlite3"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        fail("the sqlite3 CLI is not installed (make deps installs it: deploy/install-deps.sh)")
    }

    /// Runs a script file through `sqlite3 -bail`; its standard output (the `journal_mode` answer) is discarded.
    static func sqlite3(database: String, scriptPath: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-bail", database]
        process.standardInput = FileHandle(forReadingAtPath: scriptPath)
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            fail("sqlite3 failed (\(process.terminationStatus)): \(String(decoding: message, as: UTF8.self))")
        }
    }

    /// One query through the CLI (outside any timing), its output as text.
    static func sqlite3Query(database: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [database, sql]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func version() -> String {
        (try? sqlite3Query(database: ":memory:", "SELECT sqlite_version()"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    }
}
