import Foundation
import XGateCore
import XGateEngine
import XGateFileSystem
import Yams

/// Everything `xgate serve` needs, read once from a YAML file (environment variables override any key), validated,
/// then passed down. Relative paths are relative to the file's directory. Every key is documented in README,
/// "Configuration", and in `deploy/config/*.yaml`.
public struct DaemonConfiguration: Sendable {
    /// `node`: who this daemon is.
    public var nodeId: String
    /// `node.signingKey`: the PKCS#8 PEM Ed25519 key (mode 0600).
    public var signingKeyPath: String
    /// `paths.contracts`, `paths.peers`.
    public var contractsPath: String
    public var peersPath: String
    /// `store.path` (a SQLite file) or `store.url` (a PostgreSQL database shared by several instances).
    public var store: StoreLocation
    /// `server.listen`: host and port.
    public var listenHost: String
    public var listenPort: Int
    /// `server.certificate`, `server.privateKey`: this node's TLS certificate and key (also the client certificate).
    public var certificatePath: String?
    public var privateKeyPath: String?
    /// `server.clientCA`: the CA certificates client certificates must chain to.
    public var clientCAPath: String?
    /// `server.developmentPlainHTTP`: plain HTTP, loopback only, with a loud warning. Never in production.
    public var developmentPlainHTTP: Bool
    /// `client.trustRoots`: CA certificates for peers' server certificates.
    public var clientTrustRootsPath: String?
    /// `client.timeoutSeconds`: a push or pull that takes longer fails (and is retried).
    public var clientTimeoutSeconds: Int
    /// `operator.tokenSHA256` (hex) or `operator.tokenFile`: the operator bearer token, kept as its SHA-256.
    public var operatorTokenSHA256: String
    /// `limits.*`.
    public var limits: Limits
    /// `sync.*`.
    public var sync: Sync
    /// `engine.*`: batch sizes, retry, circuit breaker, dead letters, correction deadline.
    public var engine: EngineConfiguration
    /// `log.level`: trace, debug, info, notice, warning, error, critical.
    public var logLevel: String
    /// `alerts.*`.
    public var alerts = Alerts()

    /// Where the node keeps its state: exactly one of `store.path` and `store.url`.
    public enum StoreLocation: Sendable, Equatable {
        /// `store.path`: the embedded SQLite file (districts, partners, `make run`).
        case sqlite(path: String)
        /// `store.url`: `postgresql://user@host:port/database` (the city's instances behind one address); the password
        /// from `store.passwordFile` (mode 0600) or the environment variable `XGATE_STORE_PASSWORD`, never from the
        /// URL or the file itself; `store.poolSize` connections per instance, `store.connectTimeoutSeconds`,
        /// `store.transactionTimeoutSeconds`, `store.tls`.
        case postgres(Postgres)

        /// The PostgreSQL settings (`store.*` beside `store.url`).
        public struct Postgres: Sendable, Equatable {
            public var url: String
            public var passwordFile: String?
            public var poolSize: Int
            public var connectTimeoutSeconds: Int
            public var transactionTimeoutSeconds: Int
            public var tls: Bool

            public init(
                url: String, passwordFile: String? = nil, poolSize: Int = 8, connectTimeoutSeconds: Int = 10,
                transactionTimeoutSeconds: Int = 120, tls: Bool = false
            ) {
                self.url = url
                self.passwordFile = passwordFile
                self.poolSize = poolSize
                self.connectTimeoutSeconds = connectTimeoutSeconds
                self.transactionTimeoutSeconds = transactionTimeoutSeconds
                self.tls = tls
            }
        }

        /// What the start-up log says of it: the file, or the URL (which holds no password).
        public var description: String {
            switch self {
            case .sqlite(let path): return path
            case .postgres(let settings): return settings.url + (settings.tls ? " (TLS)" : "")
            }
        }
    }

    /// Request limits (`limits.*`).
    public struct Limits: Sendable, Equatable {
        /// `limits.maxBodyBytes`: a larger request body is refused with 413 `request.too-large`.
        public var maxBodyBytes: Int = 16 * 1024 * 1024
        /// `limits.requestsPerSecond`, `limits.burst`: per peer (or operator); more is refused with 429 `request.rate-limited`.
        public var requestsPerSecond: Double = 50
        public var burst: Double = 100
        /// `limits.maxConnections`: concurrent connections of every kind; more wait in the accept queue.
        public var maxConnections: Int = 1024
        /// `limits.anonymousConnections`: connections not identified by a pinned client certificate (operators, the
        /// console, health checks, anyone who reaches the port), together; the one idle the longest gives way.
        public var anonymousConnections: Int = 128
        /// `limits.connectionsPerAddress`: anonymous connections from one source address.
        public var connectionsPerAddress: Int = 32
        /// `limits.connectionsPerPeer`: connections identified as one peer.
        public var connectionsPerPeer: Int = 16
        /// `limits.handshakeTimeoutSeconds`: a TLS handshake not finished by then is closed.
        public var handshakeTimeoutSeconds: Int = 10
        /// `limits.requestHeadTimeoutSeconds`: a connection whose first request head is not complete by then is closed.
        public var requestHeadTimeoutSeconds: Int = 10
        /// `limits.idleTimeoutSeconds`: a keep-alive connection with no new request for this long is closed.
        public var idleTimeoutSeconds: Int = 60
        /// `limits.minBodyBytesPerSecond`: a request body arriving slower on average (after its first 5 s) is cut.
        public var minBodyBytesPerSecond: Int = 10_240
        /// `limits.bodyMemoryBytes`: what request bodies may cost at once, each counted at 4 × its size while it is
        /// handled (one caller at most half); a body that finds no room is answered 503 `request.busy`.
        public var bodyMemoryBytes: Int = 128 * 1024 * 1024
        /// `limits.replayWindowSeconds`: a batch whose createdAt is further from now is refused (`batch.outside-window`).
        public var replayWindowSeconds: Int64 = 86_400
        /// `limits.maxFeedPage`: the most changes one feed page carries.
        public var maxFeedPage: Int = 1000
        /// `limits.sequenceWaitMilliseconds`: how long a batch that arrived ahead of its predecessor (a sender's window)
        /// waits for it before it is answered `sequence.gap`.
        public var sequenceWaitMilliseconds: Int = 5_000
        /// `limits.maxFeedWaitSeconds`: the longest a feed request's `wait` (a long poll) is held.
        public var maxFeedWaitSeconds: Int = 30
        public init() {}
    }

    /// Background work (`sync.*`).
    public struct Sync: Sendable {
        /// `sync.pushIntervalMilliseconds`: how often each push loop looks for work when idle.
        public var pushIntervalMilliseconds: Int = 500
        /// `sync.pullIntervalSeconds`: how often each feed is pulled.
        public var pullIntervalSeconds: Int = 10
        /// `sync.pullFrom`: the nodes whose feeds this node pulls (partners pull the city's).
        public var pullFrom: [String] = []
        /// `sync.pulledBy`: the peers that pull this node's feed instead of being pushed to (the city lists the partner
        /// cities that pull its lists). Each other peer is pushed to; only these may read the feed.
        public var pulledBy: [String] = []
        /// `sync.expirySweepSeconds`: how often publicity periods are checked.
        public var expirySweepSeconds: Int = 600
        public init() {}
    }

    /// When the console and /metrics raise alerts (`alerts.*`).
    public struct Alerts: Sendable {
        /// `alerts.stuckPeerSeconds`: a peer whose oldest waiting change or batch is older than this is stuck.
        public var stuckPeerSeconds: Int = 3_600
        /// `alerts.expiryWarningDays`: a signing key or TLS certificate expiring within this many days is flagged.
        public var expiryWarningDays: Int = 30
        public init() {}
    }
}

/// A configuration problem: which key (or file), and what is wrong with it.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var key: String
    public var message: String
    /// The file a key names that could not be used (a token file readable by others): it decides the exit code.
    public var file: FileError?
    public init(key: String, _ message: String, file: FileError? = nil) {
        self.key = key
        self.message = message
        self.file = file
    }
    public var description: String { key.isEmpty ? message : "\(key): \(message)" }
}

extension DaemonConfiguration {
    /// The keys the file may hold, with their types (anything else is refused, naming the key: a typo must not be
    /// silently ignored).
    static let keys: [String: ValueType] = [
        "node.id": .string, "node.signingKey": .path,
        "paths.contracts": .path, "paths.peers": .path,
        "store.path": .path, "store.url": .string, "store.passwordFile": .path, "store.poolSize": .int,
        "store.connectTimeoutSeconds": .int, "store.transactionTimeoutSeconds": .int, "store.tls": .bool,
        "server.listen": .string, "server.certificate": .path, "server.privateKey": .path, "server.clientCA": .path,
        "server.developmentPlainHTTP": .bool,
        "client.trustRoots": .path, "client.timeoutSeconds": .int,
        "operator.tokenSHA256": .string, "operator.tokenFile": .path,
        "limits.maxBodyBytes": .int, "limits.requestsPerSecond": .double, "limits.burst": .double, "limits.maxConnections": .int,
        "limits.replayWindowSeconds": .int, "limits.maxFeedPage": .int, "limits.sequenceWaitMilliseconds": .int, "limits.maxFeedWaitSeconds": .int, "limits.anonymousConnections": .int,
        "limits.connectionsPerAddress": .int, "limits.connectionsPerPeer": .int, "limits.handshakeTimeoutSeconds": .int,
        "limits.requestHeadTimeoutSeconds": .int, "limits.idleTimeoutSeconds": .int, "limits.minBodyBytesPerSecond": .int,
        "limits.bodyMemoryBytes": .int,
        "sync.pushIntervalMilliseconds": .int, "sync.pullIntervalSeconds": .int, "sync.pullFrom": .list, "sync.pulledBy": .list,
        "sync.expirySweepSeconds": .int,
        "engine.maxChangesPerBatch": .int, "engine.maxBatchBytes": .int, "engine.retryBaseSeconds": .double,
        "engine.retryCapSeconds": .double, "engine.breakerFailures": .int, "engine.breakerOpenSeconds": .int,
        "engine.deadLetterAttempts": .int, "engine.deadLetterAgeSeconds": .int, "engine.correctionDeadlineSeconds": .int,
        "engine.sentBatchRetentionSeconds": .int, "engine.window": .int,
        "log.level": .string, "alerts.stuckPeerSeconds": .int, "alerts.expiryWarningDays": .int,
    ]

    /// Every key the file may hold (README, "Configuration", and `deploy/config/xgate.example.yaml` document each).
    public static var documentedKeys: [String] { keys.keys.sorted() }

    enum ValueType { case string, path, bool, int, double, list }

    /// The environment variable that overrides `key`: `XGATE_` + the path in capitals joined by `_`.
    public static func environmentName(for key: String) -> String {
        "XGATE_" + key.split(separator: ".").map { $0.uppercased() }.joined(separator: "_")
    }

    /// Reads and validates the file at `path`, with `environment` overriding keys.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError)
        -> DaemonConfiguration
    {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(key: "", "cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(yaml: text, file: path, baseDirectory: base, environment: environment)
    }

    /// Parses YAML text (a mapping of sections of keys), applies the environment and validates.
    public static func parse(yaml text: String, file: String, baseDirectory: String, environment: [String: String])
        throws(ConfigurationError)
        -> DaemonConfiguration
    {
        var flat: [String: Any] = [:]
        do {
            guard let root = try Yams.load(yaml: text) else { throw ConfigurationError(key: "", "\(file) is empty") }
            guard let sections = root as? [String: Any] else {
                throw ConfigurationError(key: "", "\(file): the top level must be a mapping of sections (node, store, server, …)")
            }
            for (section, value) in sections {
                guard let entries = value as? [String: Any] else {
                    throw ConfigurationError(key: section, "must be a mapping of keys (in \(file))")
                }
                for (name, entry) in entries { flat["\(section).\(name)"] = entry }
            }
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(key: "", "\(file) is not valid YAML: \(error)")
        }
        for key in flat.keys.sorted() where keys[key] == nil {
            throw ConfigurationError(key: key, "unknown key in \(file) (see README, \"Configuration\")")
        }
        var reader = Reader(values: flat, base: baseDirectory, file: file)
        for key in keys.keys.sorted() {
            if let value = environment[environmentName(for: key)] { reader.values[key] = value; reader.fromEnvironment.insert(key) }
        }
        return try reader.build()
    }
}

/// Typed access to the flat key → value map, with errors that name the key and where its value came from.
struct Reader {
    var values: [String: Any]
    let base: String
    let file: String
    var fromEnvironment: Set<String> = []

    func origin(_ key: String) -> String {
        fromEnvironment.contains(key) ? "(from \(DaemonConfiguration.environmentName(for: key)))" : "(in \(file))"
    }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = values[key] else { return nil }
        if let text = value as? String { return text.trimmingCharacters(in: .whitespaces) }
        if let number = value as? Int { return String(number) }
        throw ConfigurationError(key: key, "must be text \(origin(key))")
    }

    func required(_ key: String) throws(ConfigurationError) -> String {
        guard let value = try string(key), !value.isEmpty else {
            throw ConfigurationError(key: key, "is required (set it in \(file) or \(DaemonConfiguration.environmentName(for: key)))")
        }
        return value
    }

    func path(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = try string(key), !value.isEmpty else { return nil }
        return value.hasPrefix("/") ? value : URL(fileURLWithPath: base).appendingPathComponent(value).standardized.path
    }

    func int(_ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = values[key] else { return nil }
        let number: Int? = (value as? Int) ?? (value as? String).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard let number else { throw ConfigurationError(key: key, "must be a whole number \(origin(key))") }
        guard range.contains(number) else {
            throw ConfigurationError(key: key, "must be between \(range.lowerBound) and \(range.upperBound), not \(number) \(origin(key))")
        }
        return number
    }

    func double(_ key: String, _ range: ClosedRange<Double>) throws(ConfigurationError) -> Double? {
        guard let value = values[key] else { return nil }
        let number: Double? =
            (value as? Double) ?? (value as? Int).map(Double.init)
            ?? (value as? String).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard let number, number.isFinite else { throw ConfigurationError(key: key, "must be a number \(origin(key))") }
        guard range.contains(number) else {
            throw ConfigurationError(key: key, "must be between \(range.lowerBound) and \(range.upperBound), not \(number) \(origin(key))")
        }
        return number
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = values[key] else { return nil }
        if let flag = value as? Bool { return flag }
        if let text = (value as? String)?.lowercased() {
            if ["true", "yes", "1", "on"].contains(text) { return true }
            if ["false", "no", "0", "off"].contains(text) { return false }
        }
        throw ConfigurationError(key: key, "must be true or false \(origin(key))")
    }

    func list(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let value = values[key] else { return nil }
        if let items = value as? [Any] {
            var result: [String] = []
            for item in items {
                guard let text = item as? String else { throw ConfigurationError(key: key, "must be a list of node ids \(origin(key))") }
                result.append(text)
            }
            return result
        }
        if let text = value as? String {  // from the environment: comma-separated
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        throw ConfigurationError(key: key, "must be a list of node ids \(origin(key))")
    }

    func build() throws(ConfigurationError) -> DaemonConfiguration {
        let nodeId = try required("node.id")
        guard NodeId.isValid(nodeId) else {
            throw ConfigurationError(
                key: "node.id",
                "\"\(nodeId)\" is not a node id (two lower-case letters, '-', then lower-case letters and digits in groups joined by '-'; at most 64) \(origin("node.id"))"
            )
        }
        let listen = try required("server.listen")
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port)
        else {
            throw ConfigurationError(
                key: "server.listen", "must be host:port, e.g. 0.0.0.0:8443, not \"\(listen)\" \(origin("server.listen"))")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let development = try bool("server.developmentPlainHTTP") ?? false
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host)
        if development && !loopback {
            throw ConfigurationError(
                key: "server.developmentPlainHTTP", "plain HTTP is allowed only on loopback (127.0.0.1, ::1), not on \(host)")
        }
        let certificate = try path("server.certificate")
        let privateKey = try path("server.privateKey")
        let clientCA = try path("server.clientCA")
        if !development {
            for (key, value) in [("server.certificate", certificate), ("server.privateKey", privateKey), ("server.clientCA", clientCA)]
            where value == nil {
                throw ConfigurationError(key: key, "is required: the daemon listens only with TLS (mutual TLS for peers)")
            }
        }
        let tokenHash: String
        if let hex = try string("operator.tokenSHA256")?.lowercased(), !hex.isEmpty {
            guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
                throw ConfigurationError(
                    key: "operator.tokenSHA256",
                    "must be 64 hexadecimal digits (the SHA-256 of the token) \(origin("operator.tokenSHA256"))")
            }
            tokenHash = hex
        } else if let file = try path("operator.tokenFile") {
            do {
                try Files.requirePrivate(file, "the operator token file")
            } catch {
                throw ConfigurationError(key: "operator.tokenFile", error.description, file: error)
            }
            guard let token = try? String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                token.count >= 16
            else {
                throw ConfigurationError(key: "operator.tokenFile", "cannot read a token of at least 16 characters from \(file)")
            }
            tokenHash = Digest(of: Array(token.utf8)).hex
        } else {
            throw ConfigurationError(
                key: "operator.tokenSHA256", "is required (or operator.tokenFile): operator endpoints need a credential")
        }

        var limits = DaemonConfiguration.Limits()
        limits.maxBodyBytes = try int("limits.maxBodyBytes", 65_536...268_435_456) ?? limits.maxBodyBytes
        limits.requestsPerSecond = try double("limits.requestsPerSecond", 0.1...100_000) ?? limits.requestsPerSecond
        limits.burst = try double("limits.burst", 1...100_000) ?? limits.burst
        limits.maxConnections = try int("limits.maxConnections", 1...100_000) ?? limits.maxConnections
        limits.replayWindowSeconds = Int64(try int("limits.replayWindowSeconds", 60...31_536_000) ?? Int(limits.replayWindowSeconds))
        limits.maxFeedPage = try int("limits.maxFeedPage", 1...1000) ?? limits.maxFeedPage
        limits.sequenceWaitMilliseconds =
            try int("limits.sequenceWaitMilliseconds", 0...60_000) ?? limits.sequenceWaitMilliseconds
        limits.maxFeedWaitSeconds = try int("limits.maxFeedWaitSeconds", 0...300) ?? limits.maxFeedWaitSeconds
        // Unset, the anonymous budgets fit a small limits.maxConnections (half of it, and a quarter of that per address).
        limits.anonymousConnections =
            try int("limits.anonymousConnections", 1...100_000) ?? min(limits.anonymousConnections, max(1, limits.maxConnections / 2))
        limits.connectionsPerAddress =
            try int("limits.connectionsPerAddress", 1...100_000)
            ?? min(limits.connectionsPerAddress, max(1, limits.anonymousConnections / 4))
        limits.connectionsPerPeer = try int("limits.connectionsPerPeer", 1...100_000) ?? limits.connectionsPerPeer
        limits.handshakeTimeoutSeconds = try int("limits.handshakeTimeoutSeconds", 1...300) ?? limits.handshakeTimeoutSeconds
        limits.requestHeadTimeoutSeconds = try int("limits.requestHeadTimeoutSeconds", 1...300) ?? limits.requestHeadTimeoutSeconds
        limits.idleTimeoutSeconds = try int("limits.idleTimeoutSeconds", 1...3600) ?? limits.idleTimeoutSeconds
        limits.minBodyBytesPerSecond = try int("limits.minBodyBytesPerSecond", 1...1_073_741_824) ?? limits.minBodyBytesPerSecond
        limits.bodyMemoryBytes = try int("limits.bodyMemoryBytes", 131_072...17_179_869_184) ?? limits.bodyMemoryBytes
        if limits.anonymousConnections >= limits.maxConnections {
            throw ConfigurationError(
                key: "limits.anonymousConnections",
                "must be less than limits.maxConnections (\(limits.maxConnections)): the rest are kept for pinned peers")
        }
        if limits.connectionsPerAddress > limits.anonymousConnections {
            throw ConfigurationError(key: "limits.connectionsPerAddress", "must not be more than limits.anonymousConnections")
        }
        if limits.bodyMemoryBytes < 8 * limits.maxBodyBytes {
            throw ConfigurationError(
                key: "limits.bodyMemoryBytes",
                "must be at least 8 × limits.maxBodyBytes (\(8 * limits.maxBodyBytes)): a body counts 4 × its size and one caller may hold half"
            )
        }

        var sync = DaemonConfiguration.Sync()
        sync.pushIntervalMilliseconds = try int("sync.pushIntervalMilliseconds", 10...3_600_000) ?? sync.pushIntervalMilliseconds
        sync.pullIntervalSeconds = try int("sync.pullIntervalSeconds", 1...86_400) ?? sync.pullIntervalSeconds
        sync.pullFrom = try list("sync.pullFrom") ?? []
        sync.pulledBy = try list("sync.pulledBy") ?? []
        for (key, ids) in [("sync.pullFrom", sync.pullFrom), ("sync.pulledBy", sync.pulledBy)] {
            if let bad = ids.first(where: { !NodeId.isValid($0) }) { throw ConfigurationError(key: key, "'\(bad)' is not a node id") }
        }
        sync.expirySweepSeconds = try int("sync.expirySweepSeconds", 1...86_400) ?? sync.expirySweepSeconds

        var engine = EngineConfiguration()
        engine.pulledBy = Set(sync.pulledBy)
        engine.maximumChangesPerBatch = try int("engine.maxChangesPerBatch", 1...1000) ?? engine.maximumChangesPerBatch
        engine.window = try int("engine.window", 1...64) ?? engine.window
        engine.maximumBatchBytes = try int("engine.maxBatchBytes", 65_536...268_435_456) ?? engine.maximumBatchBytes
        engine.retry.baseSeconds = try double("engine.retryBaseSeconds", 0.01...86_400) ?? engine.retry.baseSeconds
        engine.retry.capSeconds = try double("engine.retryCapSeconds", 0.01...604_800) ?? engine.retry.capSeconds
        if engine.retry.capSeconds < engine.retry.baseSeconds {
            throw ConfigurationError(key: "engine.retryCapSeconds", "must not be less than engine.retryBaseSeconds")
        }
        engine.circuitBreaker.failureThreshold = try int("engine.breakerFailures", 1...1000) ?? engine.circuitBreaker.failureThreshold
        engine.circuitBreaker.openSeconds = Int64(
            try int("engine.breakerOpenSeconds", 1...86_400) ?? Int(engine.circuitBreaker.openSeconds))
        engine.deadLetterAttempts = try int("engine.deadLetterAttempts", 1...100_000) ?? engine.deadLetterAttempts
        engine.deadLetterAgeSeconds = Int64(try int("engine.deadLetterAgeSeconds", 60...31_536_000) ?? Int(engine.deadLetterAgeSeconds))
        engine.correctionDeadlineSeconds =
            Int64(try int("engine.correctionDeadlineSeconds", 1...31_536_000) ?? Int(engine.correctionDeadlineSeconds))
        engine.sentBatchRetentionSeconds =
            Int64(try int("engine.sentBatchRetentionSeconds", 0...315_360_000) ?? Int(engine.sentBatchRetentionSeconds))

        let level = try string("log.level") ?? "info"
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
            throw ConfigurationError(
                key: "log.level", "must be one of trace, debug, info, notice, warning, error, critical \(origin("log.level"))")
        }
        guard let signingKey = try path("node.signingKey") else {
            throw ConfigurationError(key: "node.signingKey", "is required (the node's PKCS#8 PEM signing key, mode 0600)")
        }
        guard let contracts = try path("paths.contracts") else { throw ConfigurationError(key: "paths.contracts", "is required") }
        guard let peers = try path("paths.peers") else { throw ConfigurationError(key: "paths.peers", "is required") }
        let store: DaemonConfiguration.StoreLocation
        switch (try path("store.path"), try string("store.url")) {
        case (let file?, nil):
            store = .sqlite(path: file)
        case (nil, let url?) where !url.isEmpty:
            guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else {
                throw ConfigurationError(key: "store.url", "must be a postgresql://user@host:port/database URL \(origin("store.url"))")
            }
            if let at = url.firstIndex(of: "@"), url[..<at].dropFirst("postgresql://".count).contains(":") {
                throw ConfigurationError(
                    key: "store.url",
                    "must not carry a password: give it in store.passwordFile (mode 0600) or XGATE_STORE_PASSWORD")
            }
            var settings = DaemonConfiguration.StoreLocation.Postgres(url: url, passwordFile: try path("store.passwordFile"))
            settings.poolSize = try int("store.poolSize", 1...200) ?? settings.poolSize
            settings.connectTimeoutSeconds = try int("store.connectTimeoutSeconds", 1...600) ?? settings.connectTimeoutSeconds
            settings.transactionTimeoutSeconds =
                try int("store.transactionTimeoutSeconds", 5...3_600) ?? settings.transactionTimeoutSeconds
            settings.tls = try bool("store.tls") ?? settings.tls
            store = .postgres(settings)
        case (nil, _):
            throw ConfigurationError(key: "store.path", "is required (a SQLite file), or store.url (a PostgreSQL database)")
        case (_?, _?):
            throw ConfigurationError(key: "store.url", "and store.path are both set: a node keeps one store")
        }
        if case .sqlite = store {
            for key in [
                "store.passwordFile", "store.poolSize", "store.connectTimeoutSeconds", "store.transactionTimeoutSeconds", "store.tls",
            ] where values[key] != nil {
                throw ConfigurationError(key: key, "applies to store.url (PostgreSQL) only \(origin(key))")
            }
        }
        var alerts = DaemonConfiguration.Alerts()
        alerts.stuckPeerSeconds = try int("alerts.stuckPeerSeconds", 60...31_536_000) ?? alerts.stuckPeerSeconds
        alerts.expiryWarningDays = try int("alerts.expiryWarningDays", 1...3650) ?? alerts.expiryWarningDays
        var configuration = DaemonConfiguration(
            nodeId: nodeId, signingKeyPath: signingKey, contractsPath: contracts, peersPath: peers, store: store, listenHost: host,
            listenPort: port, certificatePath: certificate, privateKeyPath: privateKey, clientCAPath: clientCA,
            developmentPlainHTTP: development, clientTrustRootsPath: try path("client.trustRoots") ?? clientCA,
            clientTimeoutSeconds: try int("client.timeoutSeconds", 1...3600) ?? 30, operatorTokenSHA256: tokenHash, limits: limits,
            sync: sync, engine: engine, logLevel: level)
        configuration.alerts = alerts
        return configuration
    }
}
