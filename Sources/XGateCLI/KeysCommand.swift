import ArgumentParser
import Foundation
import XGateCore
import XGateFileSystem
import XGateJOSE

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Manage signing keys.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate an Ed25519 signing key for a node.",
            discussion: """
                Writes DIR/ID.key (PKCS#8 PEM, mode 0600; never overwritten) and DIR/ID.jwk.json (the public JWK with its kid),
                and prints the kid (<node id>:<RFC 7638 thumbprint>). Put the JWK into the node's peer file under keys[].jwk.

                Example:
                  xgate keys generate --node sh-xuhui --out keys/
                """)

        @Option(help: "The node id, e.g. sh-xuhui.") var node: String
        @Option(help: "The directory to write the key files into.") var out: String

        func validate() throws {
            guard NodeId.isValid(node) else {
                throw ValidationError("--node must be a node id like sh-xuhui (two letters, '-', lowercase letters and digits)")
            }
        }

        func run() throws {
            try guarded {
                let key = SigningKey.generate(node: node)
                let paths = try KeyFiles.write(key, to: out)
                print(key.kid)
                report("wrote \(paths.privatePath) (mode 0600) and \(paths.publicPath)")
            }
        }
    }
}
