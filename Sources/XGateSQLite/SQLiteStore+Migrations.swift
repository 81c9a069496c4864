import GRDB

/// The schema, as plain SQL migrations. A migration that has shipped is never edited: a change is a new migration
/// appended to ``all``. GRDB records applied identifiers in `grdb_migrations` and runs each once.
///
/// Timestamps are kept twice: `*_at` is the RFC 3339 text as written (so it reads back identical) and `*_at_s` the
/// epoch seconds, for the columns the store orders or filters by.
enum StoreMigrations {
    /// Every migration, oldest first.
    static let all: [(identifier: String, sql: String)] = [
        ("v1", v1), ("v2", v2), ("v3", v3), ("v4", v4), ("v5", v5), ("v6", v6), ("v7", v7), ("v8", v8),
        ("v9", v9), ("v10", v10),
    ]

    /// The migrator that applies ``all``.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in all {
            let sql = migration.sql
            migrator.registerMigration(migration.identifier) { db in try db.execute(sql: sql) }
        }
        return migrator
    }

    /// Batches of a channel by state through an index: without it, finding the pending or dead batch read every
    /// batch of the peer, and `state` sits after the signed JWS (about 1 MB per batch of 1,000 changes) in the row,
    /// so each lookup walked megabytes of overflow pages — a cost that grew with every batch ever sent.
    static let v2 = """
        CREATE INDEX outbound_batches_by_state ON outbound_batches (peer, state, sequence);
        """

    /// The audit log: every batch in and out, feed page and operator action, each entry chained to the one before by
    /// its SHA-256 (`AuditEntry`), so `xgate audit verify` finds an altered or removed entry.
    static let v3 = """
        CREATE TABLE audit_log (
            seq      INTEGER PRIMARY KEY,  -- 1, 2, 3 … without gaps
            at       TEXT    NOT NULL,
            actor    TEXT    NOT NULL,
            action   TEXT    NOT NULL,
            subject  TEXT    NOT NULL,
            detail   TEXT    NOT NULL,     -- canonical JSON
            previous TEXT    NOT NULL,     -- hash of entry seq - 1
            hash     TEXT    NOT NULL
        );
        """

    /// A batch's records and outcomes by its id (the console's batch page).
    static let v4 = """
        CREATE INDEX lineage_by_batch ON lineage (batch_id);
        """

    /// The timeliness report reads one month of decisions through an index on the decision date (before it, every
    /// page load decoded every record: 1.4 s at 20,000 records). The date is a column `putRecord` fills from the
    /// record it already holds parsed (`data.decisionDate` of 双公示 decisions), not an index on `json_extract`,
    /// which would parse every stored state again on each write. The console's charts read activity samples that
    /// survive a restart.
    static let v5 = """
        ALTER TABLE records ADD COLUMN decision_date TEXT;  -- content.record.data.decisionDate when it is a string
        UPDATE records SET decision_date = json_extract(state_json, '$.content.record.data.decisionDate')
            WHERE json_type(state_json, '$.content.record.data.decisionDate') = 'text';
        CREATE INDEX records_by_decision_date ON records (decision_date) WHERE decision_date IS NOT NULL;
        CREATE TABLE activity_samples (
            at_s            INTEGER PRIMARY KEY,  -- epoch seconds
            at              TEXT    NOT NULL,
            since           TEXT    NOT NULL,
            records_in      INTEGER NOT NULL,
            records_out     INTEGER NOT NULL,
            max_lag_seconds INTEGER NOT NULL,
            queue_depth     INTEGER NOT NULL
        );
        """

    /// Acknowledgements of pulled corrections, kept with the page that brought them until the publisher has taken
    /// them (before, they lived in memory between the page and the send: a crash or a failed send lost them, and the
    /// publisher flagged the correction overdue although the holder had it).
    static let v6 = """
        CREATE TABLE pending_acknowledgements (
            id             INTEGER PRIMARY KEY,
            publisher      TEXT    NOT NULL,
            owner          TEXT    NOT NULL,
            kind           TEXT    NOT NULL,
            source_id      TEXT    NOT NULL,
            status_version INTEGER NOT NULL,
            UNIQUE (publisher, owner, kind, source_id, status_version)
        );
        """

    /// When each batch was delivered, so the signed bytes of old delivered batches can be dropped (about 1 KB per
    /// record per peer: the city's file grew ~12 KB per relayed record) without a scan of `outbound_batches`, whose
    /// `state` and `created_at` sit after the JWS in the row. Batches delivered before this migration count as
    /// delivered now (the back-fill reads the state index only).
    static let v7 = """
        CREATE TABLE delivered_batches (
            peer           TEXT    NOT NULL,
            sequence       INTEGER NOT NULL,
            delivered_at_s INTEGER NOT NULL,
            PRIMARY KEY (peer, sequence)
        ) WITHOUT ROWID;
        CREATE INDEX delivered_batches_by_time ON delivered_batches (delivered_at_s);
        INSERT INTO delivered_batches (peer, sequence, delivered_at_s)
            SELECT peer, sequence, CAST(strftime('%s', 'now') AS INTEGER) FROM outbound_batches WHERE state = 'delivered';
        """

    /// One log, a position per channel (issue 12). Before, a change was routed when it was stored: a row per peer per
    /// record in `outbox` (the city wrote twelve for each record it relayed), by rules that the pull feed did not share.
    /// Now the records, in local-sequence order, are the log; each push channel keeps its position in it, and a batch
    /// is made at send time from the position through the one outbound rule. Each record keeps where its last change
    /// came from, its sequence before that change, and the sequence of the last change made here.
    ///
    /// Carried over without losing or re-sending anything: every channel that had items starts at the end of the log
    /// (what was routed before is either in a batch or listed here); the items not yet in a batch become the
    /// channel's backlog of record keys, sent first through the rule; each batch keeps the keys of its records in order
    /// (its receipt's outcomes and a re-signed resend are read by them). Records stored before keep no source: their
    /// made-here sequence is their sequence (a change of theirs is never taken for a peer's own).
    static let v8 = """
        ALTER TABLE records ADD COLUMN source TEXT;
        ALTER TABLE records ADD COLUMN previous_seq INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE records ADD COLUMN made_here_seq INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE records ADD COLUMN changed_at_s INTEGER;
        UPDATE records SET made_here_seq = local_seq;
        CREATE INDEX records_made_here ON records (made_here_seq);
        CREATE TABLE push_positions (
            peer     TEXT    PRIMARY KEY,
            position INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO push_positions (peer, position)
            SELECT DISTINCT peer, (SELECT coalesce(max(local_seq), 0) FROM records) FROM outbox;
        CREATE TABLE push_backlog (
            id        INTEGER PRIMARY KEY,
            peer      TEXT    NOT NULL,
            owner     TEXT    NOT NULL,
            kind      TEXT    NOT NULL,
            source_id TEXT    NOT NULL,
            UNIQUE (peer, owner, kind, source_id)
        );
        INSERT OR IGNORE INTO push_backlog (peer, owner, kind, source_id)
            SELECT peer, owner, kind, source_id FROM outbox WHERE batch_sequence IS NULL ORDER BY id;
        ALTER TABLE outbound_batches ADD COLUMN record_keys TEXT NOT NULL DEFAULT '[]';
        UPDATE outbound_batches SET record_keys = (
            SELECT coalesce(json_group_array(json(k)), '[]') FROM (
                SELECT json_array(o.owner, o.kind, o.source_id) AS k
                FROM json_each(outbound_batches.item_ids) AS j JOIN outbox AS o ON o.id = j.value ORDER BY j.key));
        ALTER TABLE outbound_batches DROP COLUMN item_ids;
        DROP TABLE outbox;
        DROP TABLE outbox_changes;
        """

    /// The first schema.
    static let v1 = """
        -- The merged state of every record held, and its node-local sequence (the feed order). Records are never deleted
        -- (a revoked record stays, as its status), so max(local_seq) + 1 is strictly increasing.
        CREATE TABLE records (
            owner           TEXT    NOT NULL,
            kind            TEXT    NOT NULL,
            source_id       TEXT    NOT NULL,
            state_json      TEXT    NOT NULL,  -- RecordState.storedJSON
            status          TEXT    NOT NULL,  -- the standing status, for queries
            content_version INTEGER,           -- NULL while only a status has arrived
            status_version  INTEGER NOT NULL,
            has_conflicts   INTEGER NOT NULL,
            local_seq       INTEGER NOT NULL UNIQUE,
            PRIMARY KEY (owner, kind, source_id)
        );
        CREATE INDEX records_conflicted ON records (local_seq) WHERE has_conflicts = 1;

        -- Every version of a record taken here (since v5 also the copy that lost a content conflict).
        CREATE TABLE record_history (
            id         INTEGER PRIMARY KEY,
            owner      TEXT    NOT NULL,
            kind       TEXT    NOT NULL,
            source_id  TEXT    NOT NULL,
            part       TEXT    NOT NULL,  -- content | status
            version    INTEGER NOT NULL,
            digest     TEXT    NOT NULL,
            value_json TEXT    NOT NULL,
            source     TEXT    NOT NULL,
            at         TEXT    NOT NULL
        );
        CREATE INDEX record_history_by_key ON record_history (owner, kind, source_id, id);

        -- A change as it travels, stored once however many peers it goes to (the city relays one record to many).
        CREATE TABLE outbox_changes (
            id          INTEGER PRIMARY KEY,
            change_json TEXT    NOT NULL
        );

        -- Changes waiting to go to a peer; batch_sequence is set when a batch takes the item.
        CREATE TABLE outbox (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            peer           TEXT    NOT NULL,
            owner          TEXT    NOT NULL,
            kind           TEXT    NOT NULL,
            source_id      TEXT    NOT NULL,
            change_id      INTEGER NOT NULL REFERENCES outbox_changes (id),
            is_correction  INTEGER NOT NULL,
            enqueued_at    TEXT    NOT NULL,
            batch_sequence INTEGER
        );
        CREATE INDEX outbox_pending ON outbox (peer, id) WHERE batch_sequence IS NULL;

        -- Signed batches, byte for byte, with their delivery state.
        CREATE TABLE outbound_batches (
            peer              TEXT    NOT NULL,
            sequence          INTEGER NOT NULL,
            batch_id          TEXT    NOT NULL UNIQUE,
            jws               BLOB    NOT NULL,
            item_ids          TEXT    NOT NULL,  -- JSON array of outbox ids, in order
            created_at        TEXT    NOT NULL,
            state             TEXT    NOT NULL,  -- pending | delivered | dead
            attempts          INTEGER NOT NULL,
            next_attempt_at   TEXT    NOT NULL,
            next_attempt_at_s INTEGER NOT NULL,
            last_error        TEXT,
            receipt           BLOB,
            PRIMARY KEY (peer, sequence)
        );
        CREATE INDEX outbound_batches_pending ON outbound_batches (peer) WHERE state = 'pending';

        -- The next sequence per channel: outbound (the next batch to the peer) and inbound (expected from the peer).
        CREATE TABLE channels (
            peer          TEXT    NOT NULL,
            direction     TEXT    NOT NULL,  -- inbound | outbound
            next_sequence INTEGER NOT NULL,
            PRIMARY KEY (peer, direction)
        ) WITHOUT ROWID;

        -- Batches received, and the receipt returned (returned again byte for byte on a duplicate).
        CREATE TABLE inbox (
            sender         TEXT    NOT NULL,
            batch_id       TEXT    NOT NULL,
            sequence       INTEGER NOT NULL,
            payload_digest TEXT    NOT NULL,
            receipt        BLOB    NOT NULL,
            received_at    TEXT    NOT NULL,
            PRIMARY KEY (sender, batch_id)
        );

        -- Every hop of every record: which version went to or came from which peer, in which batch, with which outcome.
        CREATE TABLE lineage (
            id              INTEGER PRIMARY KEY,
            owner           TEXT    NOT NULL,
            kind            TEXT    NOT NULL,
            source_id       TEXT    NOT NULL,
            peer            TEXT    NOT NULL,
            direction       TEXT    NOT NULL,  -- inbound | outbound
            batch_id        TEXT    NOT NULL,
            content_version INTEGER,
            status_version  INTEGER NOT NULL,
            outcome         TEXT,
            at              TEXT    NOT NULL
        );
        CREATE INDEX lineage_by_key ON lineage (owner, kind, source_id, id);

        -- Corrections sent to holders, until each holder acknowledges.
        CREATE TABLE corrections (
            owner             TEXT    NOT NULL,
            kind              TEXT    NOT NULL,
            source_id         TEXT    NOT NULL,
            status_version    INTEGER NOT NULL,
            peer              TEXT    NOT NULL,
            status            TEXT    NOT NULL,
            sent_at           TEXT    NOT NULL,
            sent_at_s         INTEGER NOT NULL,
            acknowledged_at   TEXT,
            PRIMARY KEY (owner, kind, source_id, status_version, peer)
        ) WITHOUT ROWID;
        CREATE INDEX corrections_unacknowledged ON corrections (sent_at_s) WHERE acknowledged_at IS NULL;

        -- Changes refused, with the reason.
        CREATE TABLE rejections (
            id         INTEGER PRIMARY KEY,
            peer       TEXT    NOT NULL,
            batch_id   TEXT,
            item_index INTEGER,
            owner      TEXT,
            kind       TEXT,
            source_id  TEXT,
            code       TEXT    NOT NULL,
            field      TEXT,
            message    TEXT    NOT NULL,
            at         TEXT    NOT NULL
        );

        -- Every batch in and out, each state change, attempts and errors.
        CREATE TABLE sync_log (
            id       INTEGER PRIMARY KEY AUTOINCREMENT,
            at       TEXT    NOT NULL,
            peer     TEXT,
            batch_id TEXT,
            event    TEXT    NOT NULL,
            detail   TEXT    NOT NULL
        );
        CREATE INDEX sync_log_by_peer ON sync_log (peer, id);

        -- Pull positions (opaque cursors) by subscriber and feed.
        CREATE TABLE feed_positions (
            subscriber TEXT NOT NULL,
            feed       TEXT NOT NULL,
            cursor     TEXT NOT NULL,
            PRIMARY KEY (subscriber, feed)
        ) WITHOUT ROWID;
        """

    /// A channel's filter read from an index alone: a record's row holds its whole state (kilobytes), so finding the
    /// records after a channel's position that its filter matches read every row after it — for a peer that is owed
    /// nothing (no agreement: only status decisions could match), the whole log, on every wake-up of every push loop.
    static let v9 = """
        CREATE INDEX records_channel ON records (local_seq, kind, status_version, made_here_seq);
        """

    /// Leases: work that one instance of a node does at a time (a channel, a subscription, a sweep), held through the
    /// database so that several instances on one store share it out and take over from one that died.
    static let v10 = """
        CREATE TABLE leases (
            name          TEXT    NOT NULL PRIMARY KEY,
            holder        TEXT    NOT NULL,
            expires_at_s  INTEGER NOT NULL,
            epoch         INTEGER NOT NULL
        ) WITHOUT ROWID;
        """
}
