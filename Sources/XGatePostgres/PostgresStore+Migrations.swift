import Logging
import PostgresNIO
import XGateCore

/// The schema, as migrations of plain SQL statements (one statement each: the extended protocol runs one at a time).
/// A migration that has shipped is never edited: a change is a new migration appended to ``all``. Applied identifiers
/// are kept in `xgate_migrations`.
///
/// "v1" is the SQLite store's schema as it stands after its migrations v1 … v10, in one piece: the same tables,
/// columns and meanings, with PostgreSQL's types — `text` for text, `bigint` for integers, `bytea` for blobs (signed
/// batches and receipts are not UTF-8), `boolean` for flags. A record's state stays JSON text (XGateJSON reads it;
/// `jsonb` would re-order keys and refuse `\u0000`). Timestamps are kept twice, as there: `*_at` the RFC 3339 text as
/// written, `*_at_s` the epoch seconds for the columns the store orders or filters by.
enum PostgresMigrations {
    /// Every migration, oldest first.
    static let all: [(identifier: String, statements: [String])] = [("v1", v1)]

    /// The key of the advisory lock migrations run under, so that instances starting at once apply each one once.
    static let lockKey: Int64 = 0x7867_6174_655f_6d67  // "xgate_mg"

    /// Brings the database up to date in one transaction under the advisory lock; throws
    /// ``StoreError/Code/open`` when the database holds migrations this version does not know (a newer xgate wrote it).
    ///
    /// The transaction runs at READ COMMITTED so that each statement after the lock sees what an instance that held
    /// it before committed (a snapshot taken before the lock would not).
    /// The identifiers in `xgate_migrations`.
    static func applied(on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        Set(try await connection.rows("SELECT identifier FROM xgate_migrations", logger: logger).map { try $0.decode(String.self) })
    }

    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.perform("BEGIN ISOLATION LEVEL READ COMMITTED", logger: logger)
        do {
            // A migration may rebuild a table of millions of rows: no statement timeout for it (the session's is
            // store.transactionTimeout), and none while waiting for another instance's migrations.
            try await connection.perform("SET LOCAL statement_timeout = 0", logger: logger)
            try await connection.perform("SET LOCAL idle_in_transaction_session_timeout = 0", logger: logger)
            try await connection.perform("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.perform(
                """
                CREATE TABLE IF NOT EXISTS xgate_migrations (
                    identifier text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            let applied = try await self.applied(on: connection, logger: logger)
            let unknown = applied.subtracting(all.map(\.identifier))
            if !unknown.isEmpty {
                throw StoreError(
                    .open,
                    "the database was written by a newer xgate: it holds migrations this version does not know "
                        + "(\(unknown.sorted().joined(separator: ", ")))")
            }
            var ran: [String] = []
            for migration in all where !applied.contains(migration.identifier) {
                for statement in migration.statements {
                    try await connection.perform(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.perform(
                    "INSERT INTO xgate_migrations (identifier, applied_at) VALUES (\(migration.identifier), now())", logger: logger)
                ran.append(migration.identifier)
            }
            try await connection.perform("COMMIT", logger: logger)
            return ran
        } catch {
            try? await connection.perform("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// The first schema: the SQLite store's after its v10.
    static let v1: [String] = [
        // The merged state of every record held, and its node-local sequence (the feed order). Records are never
        // deleted (a revoked record stays, as its status), so max(local_seq) + 1 is strictly increasing.
        """
        CREATE TABLE records (
            owner           text    NOT NULL,
            kind            text    NOT NULL,
            source_id       text    NOT NULL,
            state_json      text    NOT NULL,  -- RecordState.storageJSON
            status          text    NOT NULL,  -- the standing status, for queries
            content_version bigint,            -- NULL while only a status has arrived
            status_version  bigint  NOT NULL,
            has_conflicts   boolean NOT NULL,
            local_seq       bigint  NOT NULL UNIQUE,
            decision_date   text,              -- content.record.data.decisionDate when it is a string
            source          text,              -- where the last change came from (NULL: made here)
            previous_seq    bigint  NOT NULL DEFAULT 0,
            made_here_seq   bigint  NOT NULL DEFAULT 0,
            changed_at_s    bigint,
            PRIMARY KEY (owner, kind, source_id)
        )
        """,
        "CREATE INDEX records_conflicted ON records (local_seq) WHERE has_conflicts",
        "CREATE INDEX records_by_decision_date ON records (decision_date) WHERE decision_date IS NOT NULL",
        "CREATE INDEX records_made_here ON records (made_here_seq)",
        // A channel's filter read from the index alone (an index-only scan): the rows hold whole states.
        "CREATE INDEX records_channel ON records (local_seq, kind, status_version, made_here_seq)",

        // Every version of a record taken here (also the copy that lost a content conflict).
        """
        CREATE TABLE record_history (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            owner      text   NOT NULL,
            kind       text   NOT NULL,
            source_id  text   NOT NULL,
            part       text   NOT NULL,  -- content | status
            version    bigint NOT NULL,
            digest     text   NOT NULL,
            value_json text   NOT NULL,
            source     text   NOT NULL,
            at         text   NOT NULL
        )
        """,
        "CREATE INDEX record_history_by_key ON record_history (owner, kind, source_id, id)",

        // Signed batches, byte for byte, with their delivery state and the keys of their records in order.
        """
        CREATE TABLE outbound_batches (
            peer              text   NOT NULL,
            sequence          bigint NOT NULL,
            batch_id          text   NOT NULL UNIQUE,
            jws               bytea  NOT NULL,
            created_at        text   NOT NULL,
            state             text   NOT NULL,  -- pending | delivered | dead
            attempts          bigint NOT NULL,
            next_attempt_at   text   NOT NULL,
            next_attempt_at_s bigint NOT NULL,
            last_error        text,
            receipt           bytea,
            record_keys       text   NOT NULL DEFAULT '[]',  -- JSON array of [owner, kind, sourceId]
            PRIMARY KEY (peer, sequence)
        )
        """,
        "CREATE INDEX outbound_batches_pending ON outbound_batches (peer) WHERE state = 'pending'",
        "CREATE INDEX outbound_batches_by_state ON outbound_batches (peer, state, sequence)",

        // The next sequence per channel: outbound (the next batch to the peer) and inbound (expected from the peer).
        """
        CREATE TABLE channels (
            peer          text   NOT NULL,
            direction     text   NOT NULL,  -- inbound | outbound
            next_sequence bigint NOT NULL,
            PRIMARY KEY (peer, direction)
        )
        """,

        // Batches received, and the receipt returned (returned again byte for byte on a duplicate).
        """
        CREATE TABLE inbox (
            sender         text   NOT NULL,
            batch_id       text   NOT NULL,
            sequence       bigint NOT NULL,
            payload_digest text   NOT NULL,
            receipt        bytea  NOT NULL,
            received_at    text   NOT NULL,
            PRIMARY KEY (sender, batch_id)
        )
        """,

        // Every hop of every record: which version went to or came from which peer, in which batch, with which outcome.
        """
        CREATE TABLE lineage (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            owner           text   NOT NULL,
            kind            text   NOT NULL,
            source_id       text   NOT NULL,
            peer            text   NOT NULL,
            direction       text   NOT NULL,  -- inbound | outbound
            batch_id        text   NOT NULL,
            content_version bigint,
            status_version  bigint NOT NULL,
            outcome         text,
            at              text   NOT NULL
        )
        """,
        "CREATE INDEX lineage_by_key ON lineage (owner, kind, source_id, id)",
        "CREATE INDEX lineage_by_batch ON lineage (batch_id)",

        // Corrections sent to holders, until each holder acknowledges.
        """
        CREATE TABLE corrections (
            owner           text   NOT NULL,
            kind            text   NOT NULL,
            source_id       text   NOT NULL,
            status_version  bigint NOT NULL,
            peer            text   NOT NULL,
            status          text   NOT NULL,
            sent_at         text   NOT NULL,
            sent_at_s       bigint NOT NULL,
            acknowledged_at text,
            PRIMARY KEY (owner, kind, source_id, status_version, peer)
        )
        """,
        "CREATE INDEX corrections_unacknowledged ON corrections (sent_at_s) WHERE acknowledged_at IS NULL",

        // Changes refused, with the reason.
        """
        CREATE TABLE rejections (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            peer       text   NOT NULL,
            batch_id   text,
            item_index bigint,
            owner      text,
            kind       text,
            source_id  text,
            code       text   NOT NULL,
            field      text,
            message    text   NOT NULL,
            at         text   NOT NULL
        )
        """,

        // Every batch in and out, each state change, attempts and errors.
        """
        CREATE TABLE sync_log (
            id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at       text   NOT NULL,
            peer     text,
            batch_id text,
            event    text   NOT NULL,
            detail   text   NOT NULL
        )
        """,
        "CREATE INDEX sync_log_by_peer ON sync_log (peer, id)",

        // Pull positions (opaque cursors) by subscriber and feed.
        """
        CREATE TABLE feed_positions (
            subscriber text NOT NULL,
            feed       text NOT NULL,
            cursor     text NOT NULL,
            PRIMARY KEY (subscriber, feed)
        )
        """,

        // The audit log, each entry chained to the one before by its SHA-256 (AuditEntry).
        """
        CREATE TABLE audit_log (
            seq      bigint PRIMARY KEY,  -- 1, 2, 3 … without gaps
            at       text   NOT NULL,
            actor    text   NOT NULL,
            action   text   NOT NULL,
            subject  text   NOT NULL,
            detail   text   NOT NULL,     -- canonical JSON
            previous text   NOT NULL,     -- hash of entry seq - 1
            hash     text   NOT NULL
        )
        """,

        // The console's activity samples, one per second at most.
        """
        CREATE TABLE activity_samples (
            at_s            bigint PRIMARY KEY,  -- epoch seconds
            at              text   NOT NULL,
            since           text   NOT NULL,
            records_in      bigint NOT NULL,
            records_out     bigint NOT NULL,
            max_lag_seconds bigint NOT NULL,
            queue_depth     bigint NOT NULL
        )
        """,

        // Acknowledgements of pulled corrections, kept until the publisher has taken them.
        """
        CREATE TABLE pending_acknowledgements (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            publisher      text   NOT NULL,
            owner          text   NOT NULL,
            kind           text   NOT NULL,
            source_id      text   NOT NULL,
            status_version bigint NOT NULL,
            UNIQUE (publisher, owner, kind, source_id, status_version)
        )
        """,

        // When each batch was delivered, so the signed bytes of old delivered batches can be dropped.
        """
        CREATE TABLE delivered_batches (
            peer           text   NOT NULL,
            sequence       bigint NOT NULL,
            delivered_at_s bigint NOT NULL,
            PRIMARY KEY (peer, sequence)
        )
        """,
        "CREATE INDEX delivered_batches_by_time ON delivered_batches (delivered_at_s)",

        // Each push channel's position in the log, and the records queued for a peer before the log took over.
        """
        CREATE TABLE push_positions (
            peer     text   PRIMARY KEY,
            position bigint NOT NULL
        )
        """,
        """
        CREATE TABLE push_backlog (
            id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            peer      text   NOT NULL,
            owner     text   NOT NULL,
            kind      text   NOT NULL,
            source_id text   NOT NULL,
            UNIQUE (peer, owner, kind, source_id)
        )
        """,

        // Leases: work that one instance of a node does at a time, held through the database.
        """
        CREATE TABLE leases (
            name         text   PRIMARY KEY,
            holder       text   NOT NULL,
            expires_at_s bigint NOT NULL,
            epoch        bigint NOT NULL
        )
        """,
    ]
}
