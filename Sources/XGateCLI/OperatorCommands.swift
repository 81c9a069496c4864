import ArgumentParser
import Foundation
import XGateClient
import XGateDaemon
import XGateJSON

/// How to reach a running daemon's operator API, shared by the operator commands.
struct DaemonOptions: ParsableArguments {
    @Option(
        help: "The node's configuration file: the address comes from server.listen, the CA from client.trustRoots (default: $XGATE_CONFIG)."
    )
    var config: String?
    @Option(help: "The daemon's base URL, e.g. https://127.0.0.1:8443 (default: $XGATE_URL, else from --config).")
    var url: String?
    @Option(help: "A file holding the operator token (default: $XGATE_TOKEN_FILE; or the token itself in $XGATE_TOKEN).")
    var tokenFile: String?
    @Option(help: "CA certificate(s) for the daemon's TLS certificate (default: client.trustRoots of --config).")
    var ca: String?
    @Flag(help: "Print the daemon's JSON answer instead of a table.")
    var json = false

    /// The operator client, or a usage/configuration error.
    func client() throws -> OperatorClient {
        let environment = ProcessInfo.processInfo.environment
        var base = url ?? environment["XGATE_URL"]
        var trust = ca
        if let path = config ?? environment["XGATE_CONFIG"] {
            do {
                let configuration = try DaemonConfiguration.load(path: path, environment: [:])
                let host = ["0.0.0.0", "::"].contains(configuration.listenHost) ? "127.0.0.1" : configuration.listenHost
                let scheme = configuration.developmentPlainHTTP ? "http" : "https"
                base = base ?? "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(configuration.listenPort)"
                trust = trust ?? configuration.clientTrustRootsPath
            } catch {
                report("configuration: \(error.description)")
                throw ExitCode(Exit.configuration)
            }
        }
        guard let base else { throw ValidationError("give --url, --config or XGATE_URL to say where the daemon is") }
        var token = environment["XGATE_TOKEN"]
        if let file = tokenFile ?? environment["XGATE_TOKEN_FILE"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                report("cannot read the operator token from \(file)")
                throw ExitCode(Exit.notFound)
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let token, !token.isEmpty else {
            throw ValidationError("give --token-file, XGATE_TOKEN_FILE or XGATE_TOKEN (the operator token)")
        }
        return OperatorClient(baseURL: base, token: token, trustRootsPath: trust)
    }

    /// Runs one call against the daemon, printing either the JSON or the table made by `table`.
    func call(_ body: (OperatorClient) async throws(OperatorClient.Failure) -> JSONValue, table: (JSONValue) -> String) async throws {
        let client = try client()
        let result: Result<JSONValue, OperatorClient.Failure>
        do {
            result = .success(try await body(client))
        } catch {
            result = .failure(error)
        }
        try? await client.shutdown()
        switch result {
        case .success(let value):
            print(json ? String(decoding: value.serialized(.prettyPrinted), as: UTF8.self) : table(value))
        case .failure(let failure):
            report(failure.description)
            switch failure.status {
            case 0, 500...: throw ExitCode(Exit.unavailable)
            case 401, 403: throw ExitCode(Exit.permission)
            case 404: throw ExitCode(Exit.missing)
            default: throw ExitCode(Exit.refused)
            }
        }
    }
}

/// Columns of text, the first row the header.
func table(_ rows: [[String]]) -> String {
    guard let header = rows.first else { return "" }
    var widths = header.map { $0.count }
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    return rows.map { row in
        row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
    }.joined(separator: "\n")
}

/// A JSON member as table text.
func text(_ value: JSONValue?) -> String {
    switch value {
    case .none, .null?: return "-"
    case .string(let s)?: return printable(s)
    case .number(let n)?: return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
    case .bool(let b)?: return b ? "yes" : "no"
    case let other?: return printable(String(decoding: other.serialized(), as: UTF8.self))
    }
}

/// A record key argument: owner/kind/sourceId, percent-encoded for a URL path.
func keyPath(_ key: String) throws -> String {
    let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
        throw ValidationError("a record key is owner/kind/sourceId, e.g. sh-xuhui/administrative-penalty/沪徐市监罚〔2026〕1024号")
    }
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return parts.map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0) }.joined(separator: "/")
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Per-peer status of a running daemon: queue depth, lag, last success and error, circuit.",
        discussion: "Example:\n  xgate status --config /etc/xgate/xgate.yaml --token-file /etc/xgate/operator.token")
    @OptionGroup var daemon: DaemonOptions

    func run() async throws {
        try await daemon.call({ client throws(OperatorClient.Failure) in try await client.get("/v1/operator/status") }) { value in
            var rows = [
                [
                    "PEER", "QUEUE", "IN FLIGHT", "DEAD", "LAG s", "ACKS OWED", "NEXT OUT", "NEXT IN", "CIRCUIT", "LAST SUCCESS",
                    "LAST ERROR",
                ]
            ]
            for peer in value["peers"]?.arrayValue ?? [] {
                rows.append(
                    [
                        "peer", "queueDepth", "batchesInFlight", "deadBatches", "lagSeconds", "acknowledgementsOwed",
                        "nextOutboundSequence",
                        "expectedInboundSequence", "circuit", "lastSuccess", "lastError",
                    ].map { text(peer[$0]) })
            }
            return "node \(text(value["node"])) at \(text(value["at"]))\n" + table(rows)
        }
    }
}

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "The sync log of a running daemon: every batch in and out, state changes, errors.",
        discussion:
            "Example:\n  xgate log --config xgate.yaml --token-file operator.token --peer sh-xuhui --since 2026-11-20T00:00:00+08:00 --state batch."
    )
    @OptionGroup var daemon: DaemonOptions
    @Option(help: "Only this peer.") var peer: String?
    @Option(help: "Only entries at or after this RFC 3339 time.") var since: String?
    @Option(help: "Only events starting with this (batch.received, batch.failed, sequence.gap, feed., corrections. …).") var state: String?
    @Option(help: "At most this many entries.") var limit = 200

    func run() async throws {
        var query = "limit=\(limit)"
        if let peer { query += "&peer=" + encode(peer) }
        if let since { query += "&since=" + encode(since) }
        if let state { query += "&event=" + encode(state) }
        let path = "/v1/operator/log?" + query
        try await daemon.call({ client throws(OperatorClient.Failure) in try await client.get(path) }) { value in
            var rows = [["ID", "AT", "PEER", "EVENT", "BATCH", "DETAIL"]]
            for entry in value["entries"]?.arrayValue ?? [] {
                rows.append(["id", "at", "peer", "event", "batchId", "detail"].map { text(entry[$0]) })
            }
            return table(rows)
        }
    }
}

func encode(_ value: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~:")
    return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
}

struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record", abstract: "A record held by a running daemon: its state, history, lineage and tracked corrections.",
        discussion:
            "Example:\n  xgate record sh-xuhui/administrative-penalty/沪徐市监罚〔2026〕1024号 --config xgate.yaml --token-file operator.token")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "owner/kind/sourceId") var key: String

    func run() async throws {
        let path = "/v1/operator/records/" + (try keyPath(key))
        try await daemon.call({ client throws(OperatorClient.Failure) in try await client.get(path) }) { value in
            let state = value["state"]
            var out = "record \(printable(key))\n"
            out +=
                "status \(text(value["status"]?["value"])) (version \(text(value["status"]?["version"]))), content version \(text(state?["content"]?["version"]))\n\n"
            var rows = [["AT", "DIRECTION", "PEER", "BATCH", "CONTENT v", "STATUS v", "OUTCOME"]]
            for hop in value["lineage"]?.arrayValue ?? [] {
                rows.append(["at", "direction", "peer", "batchId", "contentVersion", "statusVersion", "outcome"].map { text(hop[$0]) })
            }
            out += "lineage\n" + table(rows)
            let corrections = value["corrections"]?.arrayValue ?? []
            if !corrections.isEmpty {
                var rows = [["STATUS v", "STATUS", "HOLDER", "SENT", "ACKNOWLEDGED"]]
                for c in corrections { rows.append(["statusVersion", "status", "peer", "sentAt", "acknowledgedAt"].map { text(c[$0]) }) }
                out += "\n\ncorrections\n" + table(rows)
            }
            return out
        }
    }
}

struct CorrectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corrections", abstract: "Corrections (repairs, objection outcomes, revocations …) and each holder's acknowledgement.",
        discussion: "Example:\n  xgate corrections --pending --config xgate.yaml --token-file operator.token")
    @OptionGroup var daemon: DaemonOptions
    @Flag(help: "Only those not yet acknowledged.") var pending = false

    func run() async throws {
        let path = "/v1/operator/corrections" + (pending ? "?pending=true" : "")
        try await daemon.call({ client throws(OperatorClient.Failure) in try await client.get(path) }) { value in
            var rows = [["RECORD", "STATUS v", "STATUS", "HOLDER", "SENT", "ACKNOWLEDGED", "OVERDUE"]]
            for c in value["corrections"]?.arrayValue ?? [] {
                let key = "\(text(c["key"]?["owner"]))/\(text(c["key"]?["kind"]))/\(text(c["key"]?["sourceId"]))"
                rows.append([key] + ["statusVersion", "status", "peer", "sentAt", "acknowledgedAt", "overdue"].map { text(c[$0]) })
            }
            return table(rows)
        }
    }
}

struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "Records with conflicting versions; `resolve` makes an operator override that travels as a new version.",
        discussion: "Example:\n  xgate conflicts --config xgate.yaml --token-file operator.token", subcommands: [List.self, Resolve.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List conflicts with both versions' digests.")
        @OptionGroup var daemon: DaemonOptions
        func run() async throws {
            try await daemon.call({ client throws(OperatorClient.Failure) in try await client.get("/v1/operator/conflicts") }) { value in
                var rows = [["RECORD", "PART", "VERSION", "KEPT", "OTHER"]]
                for item in value["conflicts"]?.arrayValue ?? [] {
                    let key = "\(text(item["key"]?["owner"]))/\(text(item["key"]?["kind"]))/\(text(item["key"]?["sourceId"]))"
                    for conflict in item["state"]?["conflicts"]?.arrayValue ?? [] {
                        rows.append([
                            key, text(conflict["part"]), text(conflict["version"]), text(conflict["winner"]), text(conflict["loser"]),
                        ])
                    }
                }
                return table(rows)
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resolve", abstract: "Choose the version to keep (by its digest); it becomes a new version sent to every holder.",
            discussion:
                "Example:\n  xgate conflicts resolve sh-xuhui/administrative-penalty/X --digest sha256:… --config xgate.yaml --token-file operator.token"
        )
        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "owner/kind/sourceId") var key: String
        @Option(help: "The digest (sha256:…) of the content version to keep.") var digest: String
        func run() async throws {
            let path = "/v1/operator/conflicts/" + (try keyPath(key)) + "/resolve"
            let body = JSONValue.object(JSONObject([("digest", .string(digest))])).serialized()
            try await daemon.call({ client throws(OperatorClient.Failure) in try await client.post(path, body: body) }) { value in
                "resolved \(printable(key)): content version \(text(value["state"]?["content"]?["version"]))"
            }
        }
    }
}

/// `repair`, `object`, `revoke`: a status decision issued at this node, sent to every holder of the record.
struct DecisionOptions: ParsableArguments {
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "owner/kind/sourceId") var key: String
    @Option(help: "Why (shown to every holder), e.g. 已完成信用修复：履行行政处罚决定并公开作出信用承诺.") var reason: String
    @Option(help: "The legal basis or decision document, e.g. 《上海市社会信用条例》第四十条.") var basis: String
    @Option(help: "An optional reason code.") var reasonCode: String?

    func decide(_ status: String) async throws {
        let path = "/v1/operator/records/" + (try keyPath(key)) + "/status"
        var members: [(key: String, value: JSONValue)] = [
            ("status", .string(status)), ("reason", .string(reason)), ("basis", .string(basis)),
        ]
        if let reasonCode { members.append(("reasonCode", .string(reasonCode))) }
        let body = JSONValue.object(JSONObject(members)).serialized()
        try await daemon.call({ client throws(OperatorClient.Failure) in try await client.post(path, body: body) }) { value in
            "\(printable(key)): now \(text(value["status"]?["value"])) (status version \(text(value["status"]?["version"]))); sent to every holder"
        }
    }
}

struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair", abstract: "Record a credit repair (信用修复) and send it to every node that ever held the record.",
        discussion:
            "Example:\n  xgate repair sh-xuhui/administrative-penalty/X --reason … --basis … --config xgate.yaml --token-file operator.token"
    )
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.decide("repaired") }
}

struct ObjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "object", abstract: "Record an objection (异议) under review, sent to every holder.",
        discussion:
            "Example:\n  xgate object sh-xuhui/administrative-penalty/X --reason … --basis … --config xgate.yaml --token-file operator.token"
    )
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.decide("disputed") }
}

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Record that the decision was revoked (撤销), sent to every holder.",
        discussion:
            "Example:\n  xgate revoke sh-xuhui/administrative-penalty/X --reason … --basis … --config xgate.yaml --token-file operator.token"
    )
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.decide("revoked") }
}

struct RequeueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue", abstract: "Put a dead batch back in line (attempts reset).",
        discussion: "Example:\n  xgate requeue --peer sh-city --sequence 42 --config xgate.yaml --token-file operator.token")
    @OptionGroup var daemon: DaemonOptions
    @Option(help: "The peer the batch goes to.") var peer: String
    @Option(help: "The batch's sequence on that channel.") var sequence: Int

    func run() async throws {
        let body = JSONValue.object(JSONObject([("peer", .string(peer)), ("sequence", .number(Double(sequence)))])).serialized()
        try await daemon.call({ client throws(OperatorClient.Failure) in try await client.post("/v1/operator/requeue", body: body) }) { _ in
            "requeued batch \(sequence) to \(printable(peer))"
        }
    }
}

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Enqueue a department's export (NDJSON or a JSON array of records; a directory of them) at the daemon.",
        discussion: """
            The records become this node's own: checked, versioned, merged and queued to every peer the agreements name.
            Large files go in chunks (--chunk records per request) with progress on standard error. Exit 1 if any
            record was rejected (each is listed with its field and rule).

            Example:
              xgate push exports/2026-11/ --config xgate.yaml --token-file operator.token
            """)
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "A file (.ndjson, .jsonl or .json) or a directory of them.") var path: String
    @Option(help: "Records per request.") var chunk = 1000

    func run() async throws {
        var files: [String] = []
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            report("\(path): no such file or directory")
            throw ExitCode(Exit.notFound)
        }
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files = names.filter { $0.hasSuffix(".ndjson") || $0.hasSuffix(".jsonl") || $0.hasSuffix(".json") }.sorted().map {
                path + "/" + $0
            }
        } else {
            files = [path]
        }
        var lines: [(file: String, line: Int, bytes: [UInt8])] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                report("\(file): cannot read")
                throw ExitCode(Exit.notFound)
            }
            let bytes = [UInt8](data)
            if bytes.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "[") {
                guard let array = (try? JSONParser().parse(bytes))?.arrayValue else {
                    report("\(file): not a JSON array of records")
                    throw ExitCode(Exit.malformed)
                }
                for (i, record) in array.enumerated() { lines.append((file, i + 1, record.serialized())) }
            } else {
                for (i, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
                where !line.allSatisfy({ [0x20, 0x0D, 0x09].contains($0) }) {
                    lines.append((file, i + 1, Array(line)))
                }
            }
        }
        let client = try daemon.client()
        var summary: [String: Int] = [:]
        var rejected: [String] = []
        var sent = 0
        defer { Task { try? await client.shutdown() } }
        for start in stride(from: 0, to: lines.count, by: max(1, chunk)) {
            let part = lines[start..<min(lines.count, start + max(1, chunk))]
            var body: [UInt8] = []
            for entry in part { body += entry.bytes + [0x0A] }
            let answer: JSONValue
            do {
                answer = try await client.post("/v1/operator/records", body: body, contentType: "application/x-ndjson")
            } catch {
                report("after \(sent) of \(lines.count) records: \(error.description)")
                throw ExitCode(
                    error.status == 0 || error.status >= 500 ? Exit.unavailable : error.status == 401 ? Exit.permission : Exit.refused)
            }
            for result in answer["results"]?.arrayValue ?? [] {
                let outcome = result["outcome"]?.stringValue ?? "?"
                summary[outcome, default: 0] += 1
                if outcome == "rejected", let index = result["index"]?.numberValue.map({ Int($0) }), index < part.count {
                    let entry = part[part.startIndex + index]
                    rejected.append(
                        "\(entry.file):\(entry.line): \(text(result["code"])) at \(text(result["field"])): \(text(result["message"]))")
                }
            }
            sent += part.count
            if lines.count > chunk { report("pushed \(sent)/\(lines.count) records") }
        }
        if daemon.json {
            let value = JSONValue.object(JSONObject(summary.keys.sorted().map { ($0, JSONValue.number(Double(summary[$0]!))) }))
            print(
                String(
                    decoding: ([
                        "records": .number(Double(lines.count)), "summary": value, "rejected": .array(rejected.map(JSONValue.string)),
                    ] as JSONValue).serialized(.prettyPrinted), as: UTF8.self))
        } else {
            print(
                "\(lines.count) records from \(files.count) file(s): "
                    + summary.keys.sorted().map { "\($0) \(summary[$0]!)" }.joined(separator: ", "))
            for line in rejected { print("rejected " + line) }
        }
        if !rejected.isEmpty { throw ExitCode(Exit.invalid) }
    }
}
