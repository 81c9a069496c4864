import ArgumentParser
import XGateCore
import XGateFileSystem

struct PeersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "peers", abstract: "The federation registry.", subcommands: [Check.self])

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
                let roles = Peer.Role.allCases.map { role in "\(federation.peers.values.filter { $0.roles.contains(role) }.count) \(role.rawValue)" }
                let development = federation.peers.values.filter(\.development).count
                report("\(directory): \(federation.peers.count) nodes (\(roles.joined(separator: ", "))), \(federation.agreements.count) agreements, "
                    + "\(federation.peers.values.map(\.keys.count).reduce(0, +)) keys\(development > 0 ? ", \(development) with development keys" : ""); "
                    + (problems.isEmpty ? "no problems" : "\(problems.count) problems"))
                if !problems.isEmpty { throw ExitCode(Exit.invalid) }
            }
        }
    }
}
