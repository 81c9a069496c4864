import Foundation
import Testing
import XGateDaemon
import XGateEngine
import XGateFileSystem

/// The configuration file: the documented example parses and states the real defaults, every key is documented,
/// and every error names its key.
struct DaemonConfigurationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let example = repository.appendingPathComponent("deploy/config/xgate.example.yaml").path

    /// The smallest valid file, for the error cases.
    static let minimal = """
        node: {id: sh-xuhui, signingKey: keys/sh-xuhui.key}
        paths: {contracts: /usr/share/xgate/Contracts, peers: /etc/xgate/Peers}
        store: {path: /var/lib/xgate/store.sqlite}
        server: {listen: "0.0.0.0:8443", certificate: tls/n.crt, privateKey: tls/n.key, clientCA: tls/ca.crt}
        operator: {tokenSHA256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}
        """

    func parse(_ text: String, environment: [String: String] = [:]) throws(ConfigurationError) -> DaemonConfiguration {
        try DaemonConfiguration.parse(yaml: text, file: "xgate.yaml", baseDirectory: "/etc/xgate", environment: environment)
    }

    @Test func theExampleParsesAndStatesTheDefaults() throws {
        let configuration = try DaemonConfiguration.load(path: Self.example, environment: [:])
        #expect(configuration.nodeId == "sh-xuhui")
        #expect(configuration.listenPort == 8443)
        let defaults = try parse(Self.minimal)
        #expect(configuration.limits.maxBodyBytes == defaults.limits.maxBodyBytes)
        #expect(configuration.limits.requestsPerSecond == defaults.limits.requestsPerSecond)
        #expect(configuration.limits.burst == defaults.limits.burst)
        #expect(configuration.limits.maxConnections == defaults.limits.maxConnections)
        #expect(configuration.limits.replayWindowSeconds == defaults.limits.replayWindowSeconds)
        #expect(configuration.limits.maxFeedPage == defaults.limits.maxFeedPage)
        #expect(configuration.limits == defaults.limits, "the example's limits.* differ from the defaults")
        #expect(configuration.sync.pushIntervalMilliseconds == defaults.sync.pushIntervalMilliseconds)
        #expect(configuration.sync.pullIntervalSeconds == defaults.sync.pullIntervalSeconds)
        #expect(configuration.sync.expirySweepSeconds == defaults.sync.expirySweepSeconds)
        #expect(configuration.clientTimeoutSeconds == defaults.clientTimeoutSeconds)
        #expect(configuration.engine.maximumChangesPerBatch == defaults.engine.maximumChangesPerBatch)
        #expect(configuration.engine.maximumBatchBytes == defaults.engine.maximumBatchBytes)
        #expect(configuration.engine.deadLetterAttempts == defaults.engine.deadLetterAttempts)
        #expect(configuration.engine.deadLetterAgeSeconds == defaults.engine.deadLetterAgeSeconds)
        #expect(configuration.engine.correctionDeadlineSeconds == defaults.engine.correctionDeadlineSeconds)
        #expect(configuration.engine.sentBatchRetentionSeconds == defaults.engine.sentBatchRetentionSeconds)
        #expect(configuration.logLevel == defaults.logLevel)
    }

    @Test(arguments: [("district", "sh-songjiang", [String]()), ("city", "sh-city", []), ("partner", "zj-jiaxing", ["sh-city"])])
    func theDeploymentExamplesParse(file: String, node: String, pullFrom: [String]) throws {
        let path = Self.repository.appendingPathComponent("deploy/config/\(file).yaml").path
        // The examples name /etc/xgate/operator.token, which does not exist here: the environment gives the hash instead.
        let configuration = try DaemonConfiguration.load(
            path: path, environment: ["XGATE_OPERATOR_TOKENSHA256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
        #expect(configuration.nodeId == node)
        #expect(configuration.sync.pullFrom == pullFrom)
        #expect(configuration.signingKeyPath == "/etc/xgate/keys/\(node).key")
        #expect(!configuration.developmentPlainHTTP && configuration.certificatePath != nil)
    }

    @Test func everyKeyIsDocumentedInTheExampleAndTheReadme() throws {
        let example = try String(contentsOfFile: Self.example, encoding: .utf8)
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        for key in DaemonConfiguration.documentedKeys {
            let name = String(key.split(separator: ".").last!)
            #expect(example.contains("  \(name):") || example.contains("# \(name):"), "the example does not document \(key)")
            #expect(readme.contains("`\(key)`"), "README does not document \(key)")
        }
    }

    @Test func connectionAndBodyBudgetsMustLeaveRoomForWhatTheyGuard() {
        for (limits, key) in [
            ("{maxConnections: 128, anonymousConnections: 128}", "limits.anonymousConnections"),
            ("{anonymousConnections: 16, connectionsPerAddress: 17}", "limits.connectionsPerAddress"),
            ("{maxBodyBytes: 16777216, bodyMemoryBytes: 67108864}", "limits.bodyMemoryBytes"),
            ("{handshakeTimeoutSeconds: 0}", "limits.handshakeTimeoutSeconds"),
            ("{minBodyBytesPerSecond: 0}", "limits.minBodyBytesPerSecond"),
        ] {
            do {
                _ = try parse(Self.minimal + "\nlimits: \(limits)\n")
                Issue.record("limits \(limits) was accepted")
            } catch {
                #expect(error.key == key, "limits \(limits): \(error)")
            }
        }
        #expect(throws: Never.self) { try parse(Self.minimal + "\nlimits: {maxBodyBytes: 1048576, bodyMemoryBytes: 8388608}\n") }
    }

    @Test func aTokenFileReadableByOthersIsRefusedAsAFileNotAKey() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xgate-token-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let token = directory + "/operator.token"
        try "a-token-of-more-than-sixteen-characters\n".write(toFile: token, atomically: false, encoding: .utf8)
        let text = Self.minimal.replacingOccurrences(
            of: "operator: {tokenSHA256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}",
            with: "operator: {tokenFile: \(token)}")
        chmod(token, 0o644)
        do {
            _ = try parse(text)
            Issue.record("a token file of mode 0644 was accepted")
        } catch {
            #expect(error.key == "operator.tokenFile")
            #expect(error.file?.kind == .permission && error.file?.path == token, "\(error)")
        }
        chmod(token, 0o600)
        #expect(try parse(text).operatorTokenSHA256.count == 64)
    }

    @Test func theStartUpSummaryCarriesNoSecret() throws {
        let configuration = try parse(Self.minimal)
        let summary = configuration.summary.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        #expect(!summary.contains(configuration.operatorTokenSHA256))
        #expect(summary.contains("0.0.0.0:8443") && summary.contains("anonymous 128"))
    }

    @Test func anUnknownKeyIsRefusedByName() {
        #expect(throws: ConfigurationError.self) { try parse(Self.minimal + "\nlimits: {maxBodyByte: 1024}\n") }
        do {
            _ = try parse(Self.minimal + "\nlimits: {maxBodyByte: 1024}\n")
        } catch {
            #expect(error.key == "limits.maxBodyByte")
        }
    }

    @Test func theEnvironmentOverridesAndItsErrorsNameTheVariable() throws {
        let overridden = try parse(Self.minimal, environment: ["XGATE_LIMITS_MAXFEEDPAGE": "200", "XGATE_SYNC_PULLFROM": "sh-city"])
        #expect(overridden.limits.maxFeedPage == 200)
        #expect(overridden.sync.pullFrom == ["sh-city"])
        do {
            _ = try parse(Self.minimal, environment: ["XGATE_LIMITS_MAXFEEDPAGE": "5000"])
            Issue.record("5000 changes per page was accepted")
        } catch {
            #expect(error.key == "limits.maxFeedPage")
            #expect(error.message.contains("XGATE_LIMITS_MAXFEEDPAGE"))
        }
    }

    @Test func aMissingRequiredKeyIsNamed() {
        do {
            _ = try parse(Self.minimal.replacingOccurrences(of: "store: {path: /var/lib/xgate/store.sqlite}\n", with: ""))
            Issue.record("no store path was accepted")
        } catch {
            #expect(error.key == "store.path")
        }
    }

    /// `store.url` instead of `store.path`: a PostgreSQL database, its password never in the URL, its settings only
    /// beside it, and never both stores.
    @Test func theStoreIsAFileOrAPostgreSQLDatabase() throws {
        let withoutFile = Self.minimal.replacingOccurrences(of: "store: {path: /var/lib/xgate/store.sqlite}\n", with: "") + "\n"
        let city = try parse(
            withoutFile + "store: {url: \"postgresql://xgate@db.city.internal:5432/xgate\", poolSize: 16, tls: true}\n")
        #expect(
            city.store
                == .postgres(.init(url: "postgresql://xgate@db.city.internal:5432/xgate", passwordFile: nil, poolSize: 16, tls: true)))
        #expect(city.summary["store"] == "postgresql://xgate@db.city.internal:5432/xgate (TLS)")
        let fromEnvironment = try parse(
            Self.minimal, environment: ["XGATE_STORE_PATH": "", "XGATE_STORE_URL": "postgresql://xgate@127.0.0.1/xgate"])
        #expect(fromEnvironment.store == .postgres(.init(url: "postgresql://xgate@127.0.0.1/xgate")))
        for (text, key, words) in [
            ("store: {url: \"postgresql://xgate:s3cret@db/xgate\"}", "store.url", "password"),
            ("store: {url: \"mysql://xgate@db/xgate\"}", "store.url", "postgresql://"),
            ("store: {url: \"postgresql://xgate@db/xgate\", path: /var/lib/xgate/store.sqlite}", "store.url", "both"),
            ("store: {path: /var/lib/xgate/store.sqlite, poolSize: 4}", "store.poolSize", "(PostgreSQL) only"),
            ("store: {url: \"postgresql://xgate@db/xgate\", poolSize: 0}", "store.poolSize", "between 1 and 200"),
        ] {
            do {
                let parsed = try parse(withoutFile + text + "\n")
                Issue.record("\(text) was accepted: \(parsed.store)")
            } catch {
                #expect(error.key == key && error.message.contains(words), "\(text): \(error)")
            }
        }
    }

    @Test func plainHTTPIsRefusedOffLoopback() throws {
        let plain = Self.minimal + "\n" + "server: {listen: \"0.0.0.0:8080\", developmentPlainHTTP: true}\n"
        let text = plain.replacingOccurrences(
            of: "server: {listen: \"0.0.0.0:8443\", certificate: tls/n.crt, privateKey: tls/n.key, clientCA: tls/ca.crt}\n", with: "")
        do {
            _ = try parse(text)
            Issue.record("plain HTTP on 0.0.0.0 was accepted")
        } catch {
            #expect(error.key == "server.developmentPlainHTTP")
        }
        let loopback = try parse(text.replacingOccurrences(of: "0.0.0.0:8080", with: "127.0.0.1:8080"))
        #expect(loopback.developmentPlainHTTP)
    }
}
