import ArgumentParser

/// The `xgate` command.
public struct XGate: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "xgate",
        abstract: "The cross-region credit data exchange gateway.",
        discussion: """
            Offline tools for integrators and operators: keys, identifier and record checks, signed batches and receipts,
            and the federation registry. Exit codes: 0 ok; 1 invalid input found; 10 signature invalid; 11 unknown key or
            wrong signer; 12 key not valid at signing time; 13 batch or receipt envelope invalid; 64 usage; 65 malformed
            input; 66 file not found; 67 input too large; 69 contracts or registry unusable; 73 output exists;
            77 permission (e.g. a private key readable by others).
            """,
        subcommands: [KeysCommand.self, CheckCommand.self, BatchCommand.self, ReceiptCommand.self, PeersCommand.self]
    )

    public init() {}
}

/// Where the contracts and the registry are, shared by commands that need them.
struct LocationOptions: ParsableArguments {
    @Option(help: "The Contracts directory (default: $XGATE_CONTRACTS, ./Contracts, or the one beside the executable's build tree).")
    var contracts: String?
}
