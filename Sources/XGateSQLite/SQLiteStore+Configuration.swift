import GRDB
import XGateCore

extension SQLiteStore {
    /// How the store opens its database file. Built once at the entry point, validated, and passed in.
    ///
    /// Every connection (the one writer and each reader) is set up with these pragmas:
    ///
    /// | pragma | value | why |
    /// |---|---|---|
    /// | `journal_mode` | `WAL` (always; set by GRDB's `DatabasePool`) | readers never block the writer and see a consistent snapshot; a commit is one append to the WAL |
    /// | `synchronous` | ``synchronous`` (default `NORMAL`) | see ``Synchronous`` |
    /// | `cache_size` | `-`\(``writerCacheKiB``) on the writer, `-`\(``readerCacheKiB``) on readers | the writer touches 3,000–4,000 pages per 1,000-record batch across the primary key and the indexes; a large cache doubled throughput (DESIGN.md §5) |
    /// | `wal_autocheckpoint` | ``walAutocheckpointPages`` (default 10,000 pages, about 40 MB) | fewer, larger checkpoints than SQLite's 1,000 pages; bounded so the WAL cannot grow without limit |
    /// | `journal_size_limit` | ``walSizeLimitBytes`` (default 64 MiB) | after a checkpoint the WAL file is truncated back to this size, so a burst does not leave a huge file behind |
    /// | `busy_timeout` | ``busyTimeoutMilliseconds`` (default 5,000) | another process (the CLI) holding the lock briefly makes a write wait rather than fail |
    /// | `foreign_keys` | `ON` (always) | any foreign key a later migration declares is enforced |
    /// | `temp_store` | `MEMORY` (always) | sorts and temporary indexes stay off the slow disk |
    public struct Configuration: Sendable, Equatable {
        /// `PRAGMA synchronous`: when SQLite waits for the disk.
        public enum Synchronous: String, Sendable, CaseIterable {
            /// Syncs the WAL at checkpoints, not at every commit. A process crash loses nothing; a power loss or kernel
            /// panic may lose the last commits but never corrupts the file. The default: at batch-sized (~1,000-row)
            /// transactions `FULL` measured about the same (DESIGN.md §5), so this is a choice of semantics, not speed.
            case normal = "NORMAL"
            /// Syncs the WAL at every commit: a committed batch survives a power loss too. For nodes that acknowledge
            /// batches to others and cannot tolerate losing a receipt they already returned.
            case full = "FULL"
        }

        /// `PRAGMA synchronous`. Default ``Synchronous/normal``.
        public var synchronous: Synchronous
        /// Page cache of the writer connection, in KiB (`PRAGMA cache_size = -N`). Default 262,144 (256 MiB).
        /// Allowed 1,024 … 16,777,216 (1 MiB … 16 GiB).
        public var writerCacheKiB: Int
        /// Page cache of each reader connection, in KiB. Default 16,384 (16 MiB). Allowed 1,024 … 16,777,216.
        public var readerCacheKiB: Int
        /// `PRAGMA wal_autocheckpoint`: a checkpoint runs after a commit that leaves the WAL longer than this many
        /// pages. Default 10,000. Allowed 100 … 1,000,000 (never 0: that would turn checkpoints off).
        public var walAutocheckpointPages: Int
        /// `PRAGMA journal_size_limit`: the WAL is truncated to at most this many bytes after a checkpoint.
        /// Default 67,108,864 (64 MiB). Allowed 1 MiB … 16 GiB.
        public var walSizeLimitBytes: Int
        /// `PRAGMA busy_timeout`: how long a write waits for another process's lock, in milliseconds. Default 5,000.
        /// Allowed 0 … 600,000.
        public var busyTimeoutMilliseconds: Int
        /// How many reader connections may run at once. Default 5. Allowed 1 … 64.
        public var maximumReaders: Int

        /// Creates a configuration; every default is the documented one.
        public init(
            synchronous: Synchronous = .normal, writerCacheKiB: Int = 262_144, readerCacheKiB: Int = 16_384,
            walAutocheckpointPages: Int = 10_000, walSizeLimitBytes: Int = 64 << 20, busyTimeoutMilliseconds: Int = 5_000,
            maximumReaders: Int = 5
        ) {
            self.synchronous = synchronous
            self.writerCacheKiB = writerCacheKiB
            self.readerCacheKiB = readerCacheKiB
            self.walAutocheckpointPages = walAutocheckpointPages
            self.walSizeLimitBytes = walSizeLimitBytes
            self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
            self.maximumReaders = maximumReaders
        }

        /// Refuses values outside their documented bounds, naming the field.
        public func validate() throws(StoreError) {
            func check(_ value: Int, _ range: ClosedRange<Int>, _ name: String) throws(StoreError) {
                guard range.contains(value) else {
                    throw StoreError(.configuration, "\(name) is \(value); it must be between \(range.lowerBound) and \(range.upperBound)")
                }
            }
            try check(writerCacheKiB, 1_024...16_777_216, "writerCacheKiB")
            try check(readerCacheKiB, 1_024...16_777_216, "readerCacheKiB")
            try check(walAutocheckpointPages, 100...1_000_000, "walAutocheckpointPages")
            try check(walSizeLimitBytes, 1 << 20...16 << 30, "walSizeLimitBytes")
            try check(busyTimeoutMilliseconds, 0...600_000, "busyTimeoutMilliseconds")
            try check(maximumReaders, 1...64, "maximumReaders")
        }

        /// The GRDB configuration that applies these settings to every connection.
        var grdb: GRDB.Configuration {
            var config = GRDB.Configuration()
            config.foreignKeysEnabled = true
            config.busyMode = .timeout(Double(busyTimeoutMilliseconds) / 1_000)
            config.maximumReaderCount = maximumReaders
            config.label = "xgate.store"
            let settings = self
            config.prepareDatabase { db in
                // Readers of a DatabasePool are opened read-only; only the writer needs the large cache.
                let cacheKiB = db.configuration.readonly ? settings.readerCacheKiB : settings.writerCacheKiB
                try db.execute(
                    sql: """
                        PRAGMA synchronous = \(settings.synchronous.rawValue);
                        PRAGMA cache_size = -\(cacheKiB);
                        PRAGMA wal_autocheckpoint = \(settings.walAutocheckpointPages);
                        PRAGMA journal_size_limit = \(settings.walSizeLimitBytes);
                        PRAGMA temp_store = MEMORY;
                        """)
            }
            return config
        }
    }
}
