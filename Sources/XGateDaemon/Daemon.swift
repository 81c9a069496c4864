import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import ServiceLifecycle
import XGateClient
import XGateCore
import XGateEngine
import XGateFileSystem
import XGateJOSE
import XGateSQLite
import XGatePostgres
import XGateServer

/// The composition root of `xgate serve`: opens the contracts, the registry, the key and the store; builds the
/// engine, the HTTP API (TLS, mutual for peers) and the loops; runs them in one service group until SIGTERM or
/// SIGINT, which lets the batch in flight finish.
public enum Daemon {
    /// A start-up failure: what could not be opened or used (the CLI maps it to an exit code).
    public struct StartError: Error, CustomStringConvertible {
        public var code: String
        public var message: String
        public var description: String { "\(code): \(message)" }
    }

    /// Runs the daemon until it is told to stop.
    public static func run(_ configuration: DaemonConfiguration, logger baseLogger: Logger) async throws {
        // Everything the daemon creates — the store and its WAL, exports, temporary files — is for its own user only,
        // whatever umask it was started with (the store holds full identity numbers).
        umask(0o077)
        var nodeLogger = baseLogger
        nodeLogger[metadataKey: "node"] = "\(configuration.nodeId)"
        let logger = nodeLogger
        logger.notice("xgate starting", metadata: configuration.summary)
        if !configuration.developmentPlainHTTP, let keyPath = configuration.privateKeyPath {
            do {
                try Files.requirePrivate(keyPath, "the TLS private key")
            } catch {
                throw StartError(code: "files.\(error.kind.rawValue)", message: error.description)
            }
        }
        let (engine, tightenedFiles) = try await makeEngine(configuration, logger: logger)
        if !tightenedFiles.isEmpty {
            logger.warning(
                "the store was readable by group or others; its files are now 0600",
                metadata: ["files": "\(tightenedFiles.joined(separator: ", "))"])
        }
        let board = DeliveryBoard()
        // Store work off the event loops; a transaction that fails retryably (a lock held too long, a lost connection)
        // runs again after a pause, and says so.
        let offload = Offload { error, attempt in
            logger.warning("a store transaction failed and runs again", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
        }
        // The work one instance of this node does at a time (each push channel, each pull subscription, the expiry
        // sweep) is held through leases in the store: several instances on one database share it out, and one takes
        // over the work of another that died once its leases expire.
        let instance = "\(configuration.nodeId)@\(ProcessInfo.processInfo.hostName):\(getpid())"
        let leases = LeaseKeeper(instance: instance, store: engine.store, executor: offload, clock: engine.clock)
        let access = AccessPolicy(
            federation: engine.node.federation, operatorTokenSHA256: configuration.operatorTokenSHA256,
            developmentPlainHTTP: configuration.developmentPlainHTTP)
        let limits = GatewayAPI.Limits(
            maxBodyBytes: configuration.limits.maxBodyBytes, replayWindowSeconds: configuration.limits.replayWindowSeconds,
            maxFeedPage: configuration.limits.maxFeedPage, requestsPerSecond: configuration.limits.requestsPerSecond,
            burst: configuration.limits.burst, bodyMemoryBytes: configuration.limits.bodyMemoryBytes,
            connections: .init(
                anonymous: configuration.limits.anonymousConnections, perAddress: configuration.limits.connectionsPerAddress,
                perPeer: configuration.limits.connectionsPerPeer),
            timeouts: .init(
                handshake: .seconds(Int64(configuration.limits.handshakeTimeoutSeconds)),
                requestHead: .seconds(Int64(configuration.limits.requestHeadTimeoutSeconds)),
                idle: .seconds(Int64(configuration.limits.idleTimeoutSeconds)),
                minimumBodyBytesPerSecond: configuration.limits.minBodyBytesPerSecond),
            sequenceWait: .milliseconds(configuration.limits.sequenceWaitMilliseconds),
            maxFeedWait: configuration.limits.maxFeedWaitSeconds)
        var thresholds = AlertThresholds(
            stuckPeerSeconds: Int64(configuration.alerts.stuckPeerSeconds),
            expiryWarningSeconds: Int64(configuration.alerts.expiryWarningDays) * 86_400)
        if !configuration.developmentPlainHTTP, let path = configuration.certificatePath,
            let certificate = try? NIOSSLCertificate.fromPEMFile(path).first
        {
            thresholds.certificateNotAfter = Timestamp(seconds: Int64(certificate.notValidAfter))
        }
        let api = GatewayAPI(
            engine: engine, access: access, limits: limits, board: board, offload: offload, pullFrom: configuration.sync.pullFrom,
            thresholds: thresholds, logger: logger)

        let client: PeerClient
        do {
            client = try PeerClient(
                node: configuration.nodeId, federation: engine.node.federation,
                certificatePath: configuration.developmentPlainHTTP ? nil : configuration.certificatePath,
                privateKeyPath: configuration.developmentPlainHTTP ? nil : configuration.privateKeyPath,
                trustRootsPath: configuration.clientTrustRootsPath, timeoutSeconds: configuration.clientTimeoutSeconds)
        } catch {
            throw StartError(code: "tls.client", message: "cannot load the client certificate or trust roots: \(error)")
        }

        // Every connection is guarded (timeouts, budgets) right after the HTTP codec; see ConnectionGuard.
        let connections = api.connections
        let http: HTTPServerBuilder = .http1(configuration: .init(additionalChannelHandlers: [connections.handler()]))
        let server: HTTPServerBuilder
        if configuration.developmentPlainHTTP {
            logger.warning(
                "DEVELOPMENT MODE: plain HTTP without TLS on loopback; peers are NOT authenticated by certificates. Never use this in production.",
                metadata: ["listen": "\(configuration.listenHost):\(configuration.listenPort)"])
            server = http
        } else {
            server = try .tls(http, tlsConfiguration: serverTLS(configuration))
        }
        // Named services: the service group logs each by its name (the default is the value's whole description,
        // which would print the engine, the registry and the operator token's hash at debug level).
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: PushService(
                    engine: engine, client: client, board: board, offload: offload, leases: leases,
                    intervalMilliseconds: configuration.sync.pushIntervalMilliseconds, logger: logger),
                serviceName: "push"),
            .init(
                service: PullService(
                    engine: engine, client: client, board: board, offload: offload, publishers: configuration.sync.pullFrom,
                    pageSize: configuration.limits.maxFeedPage, leases: leases, intervalSeconds: configuration.sync.pullIntervalSeconds,
                    logger: logger),
                serviceName: "pull"),
            .init(
                service: ExpiryService(
                    engine: engine, offload: offload, leases: leases, intervalSeconds: configuration.sync.expirySweepSeconds, logger: logger),
                serviceName: "expiry"),
            .init(service: SamplingService(api: api, logger: logger), serviceName: "sampling"),
            .init(service: LeaseService(leases: leases), serviceName: "leases"),
        ]
        let scheme = configuration.developmentPlainHTTP ? "http" : "https"
        let app = Application(
            router: api.router(), server: server,
            configuration: .init(
                address: .hostname(configuration.listenHost, port: configuration.listenPort), serverName: nil,
                availableConnectionsDelegate: .maximum(configuration.limits.maxConnections, logger: logger)),
            onServerRunning: { channel in
                board.isReady = true
                logger.notice(
                    "xgate listening",
                    metadata: ["url": "\(scheme)://\(configuration.listenHost):\(channel.localAddress?.port ?? configuration.listenPort)"])
            },
            logger: logger)
        // Every service has ended when runService returns: the store is checkpointed (its WAL folded into the file)
        // and closed, so the stopped node's store is one file an operator can copy.
        func closeStore() async {
            do {
                try await engine.store.close()
            } catch {
                logger.warning("closing the store failed; the next start replays its WAL", metadata: ["error": "\(error)"])
            }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: app, serviceName: "http")] + services, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            try? await client.shutdown()
            await leases.releaseAll()
            await closeStore()
            throw error
        }
        try? await client.shutdown()
        await leases.releaseAll()  // another instance takes the work at once, not after the leases expire
        await closeStore()
        logger.notice("xgate stopped")
    }

    /// The engine over the configured store, contracts, registry and key, and the store files whose permissions had
    /// to be tightened.
    static func makeEngine(_ configuration: DaemonConfiguration, logger: Logger) async throws -> (engine: SyncEngine, tightenedFiles: [String]) {
        let contracts: ContractSet
        let federation: Federation
        let key: SigningKey
        do {
            contracts = try ContractsDirectory.load(configuration.contractsPath)
            federation = try PeersDirectory.load(configuration.peersPath, contracts: contracts)
            key = try KeyFiles.read(configuration.signingKeyPath, node: configuration.nodeId)
        } catch {
            throw StartError(code: "files.\(error.kind.rawValue)", message: error.description)
        }
        // The documents the daemon exchanges must have their schemas, or every page or acknowledgement would fail later.
        let required = [
            ContractSet.batchSchema, ContractSet.changeSchema, ContractSet.receiptSchema, ContractSet.feedPageSchema,
            ContractSet.acknowledgementSchema,
        ]
        if let missing = required.first(where: { contracts.validator(for: $0) == nil }) {
            throw StartError(
                code: "contracts.missing",
                message: "\(configuration.contractsPath) has no schema \(missing): deploy the Contracts/ of this xgate version")
        }
        let (store, tightenedFiles) = try await openStore(configuration.store, logger: logger)
        do {
            let node = try NodeContext(id: configuration.nodeId, signingKey: key, federation: federation, contracts: contracts)
            let engine = try SyncEngine(
                node: node, store: store, configuration: configuration.engine, clock: SystemClock(), random: SystemRandom())
            return (engine, tightenedFiles)
        } catch {
            throw StartError(code: error.code, message: error.message)
        }
    }

    /// Opens the configured store: the SQLite file (and the files of it that had to be made 0600), or a pool to the
    /// PostgreSQL database, whose schema the first instance to start brings up to date. The password is read here
    /// (`store.passwordFile`, mode 0600, else `XGATE_STORE_PASSWORD`) and goes nowhere but the connection.
    static func openStore(_ location: DaemonConfiguration.StoreLocation, logger: Logger) async throws -> (any SyncStore, [String]) {
        switch location {
        case .sqlite(let path):
            do {
                let store = try SQLiteStore.open(path: path)
                return (store, store.tightenedFiles)
            } catch {
                throw StartError(code: "store.open", message: "cannot open the store \(path): \(error)")
            }
        case .postgres(let settings):
            var password = ProcessInfo.processInfo.environment["XGATE_STORE_PASSWORD"]
            if let file = settings.passwordFile {
                do {
                    try Files.requirePrivate(file, "the store's password file")
                    password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                } catch let error as FileError {
                    throw StartError(code: "files.\(error.kind.rawValue)", message: error.description)
                } catch {
                    throw StartError(code: "files.unreadable", message: "cannot read the store's password file \(file): \(error)")
                }
            }
            do {
                var configuration = try PostgresStore.Configuration(url: settings.url, password: password)
                configuration.maximumConnections = settings.poolSize
                configuration.connectTimeout = .seconds(settings.connectTimeoutSeconds)
                configuration.transactionTimeout = .seconds(settings.transactionTimeoutSeconds)
                if settings.tls { configuration.tls = .require }
                return (try await PostgresStore.open(configuration, logger: logger), [])
            } catch {
                throw StartError(code: "store.open", message: "cannot open the store \(settings.url): \(error)")
            }
        }
    }

    /// TLS for the listener: this node's certificate, client certificates verified against the federation CA when
    /// presented (peer endpoints then require one, pinned; operator endpoints use the token instead).
    static func serverTLS(_ configuration: DaemonConfiguration) throws -> TLSConfiguration {
        guard let certificatePath = configuration.certificatePath, let keyPath = configuration.privateKeyPath,
            let caPath = configuration.clientCAPath
        else {
            throw StartError(code: "config.invalid", message: "server.certificate, server.privateKey and server.clientCA are required")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.certificateVerification = .optionalVerification
            tls.trustRoots = .file(caPath)
            tls.minimumTLSVersion = .tlsv12
            return tls
        } catch {
            throw StartError(code: "tls.server", message: "cannot load the TLS certificate, key or client CA: \(error)")
        }
    }
}
