import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import XGateDaemon
import XGateFileSystem
import XGateJSON

/// `xgate serve --config FILE`: runs the node's daemon until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the node's daemon: the HTTPS API (mutual TLS for peers), push and pull loops, retries, expiry.",
        discussion: """
            Reads the YAML configuration (every key in README, "Configuration"; environment variables XGATE_<SECTION>_<KEY>
            override keys), opens the store and listens. SIGTERM or SIGINT finishes the batch in flight and exits 0.
            A configuration error names the key and exits 78; a file that cannot be used exits with its file code.

            Example:
              xgate serve --config /etc/xgate/xgate.yaml
            """)

    @Option(help: "The configuration file (default: $XGATE_CONFIG).")
    var config: String?

    func run() async throws {
        guard let path = config ?? ProcessInfo.processInfo.environment["XGATE_CONFIG"] else {
            throw ValidationError("give --config FILE (or set XGATE_CONFIG)")
        }
        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.load(path: path)
        } catch {
            report("configuration: \(error.description)")
            throw ExitCode(error.file.map { Exit.code(for: $0) } ?? Exit.configuration)
        }
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler(label: label)
            handler.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "xgate")
        do {
            try await Daemon.run(configuration, logger: logger)
        } catch let error as Daemon.StartError {
            report("cannot start: \(error.description)")
            throw ExitCode(Exit.code(forStart: error.code))
        } catch let error as ServiceGroupError {
            report("stopped: a service of the daemon failed (\(String(describing: error).prefix(200))…)")
            throw ExitCode(Exit.internalError)
        } catch {
            report("stopped on an error: \(String(describing: error).prefix(500))")
            throw ExitCode(Exit.internalError)
        }
    }
}

/// One JSON object per line on standard error: time, level, message, and the metadata (node, peer, batch …).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata { fields[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { fields[key] = "\(value)" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var line =
            "{\"time\":\(quoted(formatter.string(from: Date()))),\"level\":\(quoted(event.level.rawValue)),\"msg\":\(quoted("\(event.message)"))"
        for key in fields.keys.sorted() { line += ",\(quoted(key)):\(quoted(fields[key]!))" }
        line += "}\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// A JSON string literal (XGateJSON's serialization: quotes, backslashes and control characters escaped).
    private func quoted(_ text: String) -> String {
        String(decoding: JSONValue.string(text).serialized(), as: UTF8.self)
    }
}
