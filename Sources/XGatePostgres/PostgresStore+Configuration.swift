import Foundation
import NIOSSL
import PostgresNIO
import XGateCore

extension PostgresStore {
    /// Where the PostgreSQL store's database is and how the store talks to it.
    ///
    /// The password is kept apart from everything that is shown: ``description`` (what the daemon logs at start) never
    /// carries it, and a URL that holds one is refused (``init(url:password:)``), because URLs end up in logs and
    /// process lists.
    public struct Configuration: Sendable, Equatable, CustomStringConvertible {
        /// Whether the connection is encrypted.
        public enum TLS: String, Sendable, Equatable {
            /// Plain TCP: a server on loopback or on a trusted network of its own.
            case disable
            /// TLS with the system's trust roots and host name verification (NIOSSL's default client configuration);
            /// a server that does not offer TLS is refused.
            case require
        }

        /// The server's host name or address (ignored when ``unixSocketPath`` is set).
        public var host: String
        /// The server's TCP port.
        public var port: Int
        /// The server's Unix socket file (for instance `/var/run/postgresql/.s.PGSQL.5432`); when set, used instead of TCP.
        public var unixSocketPath: String?
        /// The role the store logs in as.
        public var user: String
        /// The database holding the store's tables.
        public var database: String
        /// The role's password, if the server asks for one. Never logged.
        public var password: String?
        /// The most connections the pool opens (the most transactions the store runs at once).
        public var maximumConnections: Int
        /// How long opening one connection may take before the attempt counts as failed.
        public var connectTimeout: Duration
        /// The longest one transaction may take, from its `BEGIN` to its `COMMIT`, before the store gives up on its
        /// connection (closes it: the server discards the transaction) and throws a retryable
        /// ``XGateCore/StoreError/Code/unavailable``.
        public var transactionTimeout: Duration
        /// Whether the connection is encrypted.
        public var tls: TLS

        /// Creates a configuration; the defaults suit a server on this machine.
        public init(
            host: String = "127.0.0.1", port: Int = 5432, unixSocketPath: String? = nil, user: String = "xgate",
            database: String = "xgate", password: String? = nil, maximumConnections: Int = 10,
            connectTimeout: Duration = .seconds(10), transactionTimeout: Duration = .seconds(120), tls: TLS = .disable
        ) {
            self.host = host
            self.port = port
            self.unixSocketPath = unixSocketPath
            self.user = user
            self.database = database
            self.password = password
            self.maximumConnections = maximumConnections
            self.connectTimeout = connectTimeout
            self.transactionTimeout = transactionTimeout
            self.tls = tls
        }

        /// Reads a connection URL, `postgresql://user@host:port/database` (`postgres://` too), with an optional
        /// `?sslmode=disable|require` and `?host=/run/postgresql` for a Unix socket (a directory, as libpq reads it:
        /// the socket `.s.PGSQL.<port>` in it; or the socket file itself). The password is given apart: a
        /// URL that carries one is refused. Anything else out of place is a ``StoreError/Code/configuration`` naming it.
        public init(url: String, password: String? = nil) throws {
            guard let components = URLComponents(string: url), let scheme = components.scheme,
                scheme == "postgresql" || scheme == "postgres"
            else {
                throw StoreError(.configuration, "the PostgreSQL URL must read postgresql://user@host:port/database")
            }
            if components.password != nil {
                throw StoreError(
                    .configuration, "the PostgreSQL URL carries a password: give it apart (a URL ends up in logs)")
            }
            self.init(password: password)
            if let user = components.user, !user.isEmpty { self.user = user }
            if let host = components.host, !host.isEmpty { self.host = host }
            if let port = components.port { self.port = port }
            let database = String(components.path.drop(while: { $0 == "/" }))
            if !database.isEmpty { self.database = database }
            for item in components.queryItems ?? [] {
                switch (item.name, item.value ?? "") {
                case ("sslmode", "disable"): tls = .disable
                case ("sslmode", "require"): tls = .require
                case ("host", let path) where path.hasPrefix("/"):
                    // libpq's rule: a directory names the socket `.s.PGSQL.<port>` in it.
                    let file = path.split(separator: "/").last.map(String.init) ?? ""
                    unixSocketPath = file.hasPrefix(".s.PGSQL.") ? path : path + "/.s.PGSQL.\(self.port)"
                default:
                    throw StoreError(.configuration, "the PostgreSQL URL's parameter \(item.name) is not understood here")
                }
            }
            try validate()
        }

        /// Refuses values out of bounds, naming the field.
        public func validate() throws {
            if !(1...65_535).contains(port) { throw StoreError(.configuration, "port must be in 1…65535, not \(port)") }
            if !(1...1_000).contains(maximumConnections) {
                throw StoreError(.configuration, "maximumConnections must be in 1…1000, not \(maximumConnections)")
            }
            if connectTimeout <= .zero { throw StoreError(.configuration, "connectTimeout must be positive") }
            if transactionTimeout <= .zero { throw StoreError(.configuration, "transactionTimeout must be positive") }
            if user.isEmpty { throw StoreError(.configuration, "user must not be empty") }
            if database.isEmpty { throw StoreError(.configuration, "database must not be empty") }
        }

        /// Where and as whom, without the password: `postgresql://xgate@127.0.0.1:5432/xgate (pool 10, tls disable)`.
        public var description: String {
            let place = unixSocketPath.map { "\(database) over \($0)" } ?? "\(host):\(port)/\(database)"
            return "postgresql://\(user)@\(place) (pool \(maximumConnections), tls \(tls.rawValue)"
                + (password == nil ? ")" : ", password given)")
        }

        /// The client's configuration.
        var client: PostgresClient.Configuration {
            var configuration: PostgresClient.Configuration
            if let unixSocketPath {
                configuration = PostgresClient.Configuration(
                    unixSocketPath: unixSocketPath, username: user, password: password, database: database)
            } else {
                let mode: PostgresClient.Configuration.TLS =
                    switch tls {
                    case .disable: .disable
                    case .require: .require(.makeClientConfiguration())
                    }
                configuration = PostgresClient.Configuration(
                    host: host, port: port, username: user, password: password, database: database, tls: mode)
            }
            configuration.options.maximumConnections = maximumConnections
            configuration.options.connectTimeout = connectTimeout
            // The server ends a statement, or a transaction left idle, past the transaction timeout itself: a
            // transaction the store has given up on (TransactionDeadline) then releases its locks at the same
            // deadline, rather than when its backend next notices that the client is gone.
            let limit = String(milliseconds(transactionTimeout))
            configuration.options.additionalStartupParameters = [
                ("application_name", "xgate"), ("statement_timeout", limit), ("idle_in_transaction_session_timeout", limit),
            ]
            return configuration
        }
    }
}
