import ArgumentParser
import Foundation

/// The `xgate` command.
@available(macOS 10.15, *)
public struct XGate: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "xgate",
        abstract: "The cross-region credit data exchange gateway.",
        discussion: """
            The daemon (serve), operator commands against a running daemon (push, status, log, record, conflicts,
            corrections, repair, object, revoke, requeue), and offline tools for integrators and operators: keys,
            identifier and record checks, signed batches and receipts, the federation registry.
            Exit codes: 0 ok; 1 invalid input found; 10 signature invalid; 11 unknown key or wrong signer; 12 key not
            valid at signing time; 13 batch or receipt envelope invalid; 20 the daemon refused the request; 21 not found
            at the daemon; 64 usage; 65 malformed input; 66 file not found; 67 input too large; 69 contracts or registry
            unusable; 70 internal error; 73 output exists; 74 store cannot be opened or read; 75 daemon unreachable or failing (retry later);
            77 permission (a private key readable by others, operator credentials refused); 78 configuration invalid.
            """,
        subcommands: [
            ServeCommand.self, PushCommand.self, StatusCommand.self, LogCommand.self, RecordCommand.self, ConflictsCommand.self,
            CorrectionsCommand.self, RepairCommand.self, ObjectCommand.self, RevokeCommand.self, RequeueCommand.self,
            KeysCommand.self, CheckCommand.self, BatchCommand.self, ReceiptCommand.self, PeersCommand.self, AuditCommand.self,
            ReportCommand.self,
        ]
    )

    public init() {}
}

/// Where the contracts and the registry are, shared by commands that need them.
struct LocationOptions: ParsableArguments {
    @Option(help: "The Contracts directory (default: $XGATE_CONTRACTS, ./Contracts, or the one beside the executable's build tree).")
    var contracts: String?
}

extension XGate {
    /// Runs the command line with a private umask: every file any `xgate` command creates — a store, its WAL and
    /// shared-memory files (`audit verify` makes the `-shm` of a store it reads), an export, a key — is its user's
    /// alone whatever the shell's umask (files meant to be shared, such as public keys, set their mode explicitly).
    public static func start() async {
        umask(0o077)
        await main()
    }
}
