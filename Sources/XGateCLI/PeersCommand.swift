import ArgumentParser
import Foundation
import XGateCore
import XGateFileSystem
import XGateJSON

struct PeersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers", abstract: "The federation registry.", subcommands: [Check.self, AddKey.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the registry: peer files, keys, agreements.",
            discussion: """
                Checks every Peers/nodes/*.json and Peers/agreements/*.json against its schema, unique node ids, key ids that
                match their keys (RFC 7638 thumbprints), validity windows, division codes, and agreements that name existing
                nodes, roles, groups, kinds and fields. One line per problem; exit 0 only if there is none.

                Example:
                  xgate peers check --peers Peers
                """)
        @OptionGroup var location: LocationOptions
        @Option(help: "The Peers directory.") var peers: String?

        func run() throws {
            try guarded {
                let contracts = try location.loadContracts()
                let directory = PeersDirectory.locate(peers)
                let federation = try PeersDirectory.load(directory, contracts: contracts)
                let problems = federation.problems(catalogue: contracts.catalogue) { kind, field in
                    contracts.recordHasField(kind: kind, pointer: field)
                }
                for problem in problems { print(problem.description) }
                let roles = Peer.Role.allCases.map { role in
                    "\(federation.peers.values.filter { $0.roles.contains(role) }.count) \(role.rawValue)"
                }
                let development = federation.peers.values.filter(\.development).count
                report(
                    "\(directory): \(federation.peers.count) nodes (\(roles.joined(separator: ", "))), \(federation.agreements.count) agreements, "
                        + "\(federation.peers.values.map(\.keys.count).reduce(0, +)) keys\(development > 0 ? ", \(development) with development keys" : ""); "
                        + (problems.isEmpty ? "no problems" : "\(problems.count) problems"))
                if !problems.isEmpty { throw ExitCode(Exit.invalid) }
            }
        }
    }

    struct AddKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-key",
            abstract: "Enrol a public key in a node's peer file (key rotation with overlapping validity).",
            discussion: """
                Adds the JWK written by 'xgate keys generate' to Peers/nodes/ID.json with its validity window. Existing keys stay
                (rotate by adding the new key before the old one expires; remove the old one later), unless --replace.
                The result is checked against the peer schema before it is written.

                Example:
                  xgate peers add-key --peers Peers --node sh-xuhui --jwk keys/sh-xuhui.jwk.json \\
                      --not-before 2026-12-01T00:00:00+08:00 --not-after 2028-11-30T23:59:59+08:00
                """)
        @OptionGroup var location: LocationOptions
        @Option(help: "The Peers directory.") var peers: String?
        @Option(help: "The node id.") var node: String
        @Option(help: "The public JWK file.") var jwk: String
        @Option(help: "Start of validity, RFC 3339 (default: now).") var notBefore: String?
        @Option(help: "End of validity, RFC 3339 (default: two years after the start).") var notAfter: String?
        @Flag(help: "Remove the node's other keys.") var replace = false

        func validate() throws {
            if let notBefore, Timestamp(notBefore) == nil { throw ValidationError("--not-before must be an RFC 3339 date-time") }
            if let notAfter, Timestamp(notAfter) == nil { throw ValidationError("--not-after must be an RFC 3339 date-time") }
        }

        func run() throws {
            try guarded {
                let contracts = try location.loadContracts()
                let file = PeersDirectory.locate(peers) + "/nodes/\(node).json"
                var peerJSON = try Files.readJSON(file)
                var key = try Files.readJSON(jwk)
                if case .object(var o) = key {
                    for member in ["d", "p", "q", "dp", "dq", "qi"] where o[member] != nil {
                        throw FileError(.invalid, path: jwk, "holds private key material ('\(member)'); enrol the public JWK only")
                    }
                    o["use"] = o["use"] ?? "sig"
                    key = .object(o)
                }
                guard let kid = key["kid"]?.stringValue, kid.hasPrefix(node + ":") else {
                    throw FileError(.invalid, path: jwk, "its kid must start with \(node): (made by 'xgate keys generate --node \(node)')")
                }
                let start = notBefore.flatMap(Timestamp.init) ?? currentTime()
                let end = notAfter.flatMap(Timestamp.init) ?? Timestamp(seconds: start.seconds + 2 * 365 * 86_400)
                guard start < end else { throw ValidationError("--not-before must be before --not-after") }
                var keys = replace ? [] : (peerJSON["keys"]?.arrayValue ?? [])
                if keys.contains(where: { $0["jwk"]?["kid"]?.stringValue == kid }) {
                    throw FileError(.exists, path: file, "already has key \(kid)")
                }
                keys.append(["jwk": key, "notBefore": .string(start.text), "notAfter": .string(end.text)])
                peerJSON.set(.array(keys), at: JSONPointer(tokens: ["keys"]))
                if let error = contracts.validator(for: ContractSet.peerSchema)?.validate(peerJSON).first {
                    throw FileError(
                        .invalid, path: file,
                        "would no longer be a valid peer file: \(error.instanceLocation) \(error.keyword): \(error.message)")
                }
                _ = try Peer(json: peerJSON)
                try Files.write(peerJSON.serialized(.prettyPrinted) + [0x0A], to: file, mode: 0o644, replace: true)
                print("\(file): enrolled \(kid), valid \(start) to \(end); \(keys.count) key(s)")
            }
        }
    }
}
