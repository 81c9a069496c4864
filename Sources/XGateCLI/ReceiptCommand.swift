import ArgumentParser
import Foundation
import XGateCore
import XGateFileSystem
import XGateJOSE
import XGateJSON

struct ReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt", abstract: "Make and verify signed receipts.", subcommands: [Sign.self, Verify.self])

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receive a batch offline, as its receiver would, and print the signed receipt.",
            discussion: """
                Verifies BATCH_FILE against the registry, applies every acceptable change to an empty in-memory store with
                the merge rules, and prints the receipt (JWS, typ xgate-receipt+json) with one outcome per change. The key
                must belong to the batch's receiver. Useful to see what a receiver will say before sending for real.

                Example:
                  xgate receipt sign --key keys/sh-city.key --kid "$(cat keys/sh-city.kid)" --peers Peers batch.jws.json
                """)
        @OptionGroup var location: LocationOptions
        @Option(help: "The receiver's private key (PKCS#8 PEM, mode 0600).") var key: String
        @Option(help: "The receiver's key id.") var kid: String
        @Option(help: "The Peers directory.") var peers: String?
        @Option(help: "The receiving time, RFC 3339 (default: now).") var receivedAt: String?
        @Argument(help: "The batch file.") var batchFile: String

        func run() throws {
            try guarded {
                let contracts = try location.loadContracts()
                let federation = try PeersDirectory.load(PeersDirectory.locate(peers), contracts: contracts)
                let now = receivedAt.flatMap(Timestamp.init) ?? currentTime()
                let verified = try SignatureVerifier(federation: federation).verifyBatch(Files.readJSON(batchFile), now: now)
                let inspection = try contracts.inspect(batchPayload: verified.payload, federation: federation, today: now.chinaDate)
                let batch = inspection.batch
                let node = String(kid.prefix { $0 != ":" })
                guard node == batch.to else {
                    throw BatchError(
                        code: "key.sender-mismatch",
                        message: "the batch is addressed to \(batch.to); a receipt must be signed by its receiver, not \(node)")
                }
                let signingKey = try KeyFiles.read(key, node: node, kid: kid)
                let policy = federation.mergePolicy(catalogue: contracts.catalogue)
                var store: [RecordKey: RecordState] = [:]
                var outcomes: [Receipt.Outcome] = []
                for entry in inspection.entries {
                    if let rejection = entry.rejection {
                        outcomes.append(Receipt.Outcome(index: entry.index, .rejected(rejection)))
                    } else if let change = entry.change {
                        let (state, outcome) = Merge.apply(change, to: store[change.key], policy: policy)
                        store[change.key] = state
                        outcomes.append(Receipt.Outcome(index: entry.index, outcome))
                    }
                }
                let receipt = Receipt(
                    receiptId: UUIDv7.make(at: now), batchId: batch.batchId, from: batch.to, to: batch.from, sequence: batch.sequence,
                    payloadDigest: Digest(of: verified.payloadBytes), receivedAt: now, outcomes: outcomes)
                let jws = try JWS.sign(payload: receipt.json.serialized(), type: JWS.receiptType, key: signingKey)
                print(jws.serializedString())
                let summary = receipt.summary
                report("receipt for batch \(batch.batchId): " + Receipt.summaryText(summary))
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a signed receipt: signature, key validity, signer, schema; with --batch, that it answers that batch.",
            discussion: """
                Example:
                  xgate receipt verify --peers Peers --batch batch.jws.json receipt.jws.json
                """)
        @OptionGroup var location: LocationOptions
        @Option(help: "The Peers directory.") var peers: String?
        @Option(help: "The batch the receipt should answer: its id, sender, receiver, sequence and payload digest must match.") var batch:
            String?
        @Option(help: "Judge key validity against this time (RFC 3339) instead of now.") var now: String?
        @Argument(help: "The receipt file (JWS JSON serialization).") var receiptFile: String

        func run() throws {
            try guarded {
                let contracts = try location.loadContracts()
                let federation = try PeersDirectory.load(PeersDirectory.locate(peers), contracts: contracts)
                let clock = now.flatMap(Timestamp.init) ?? currentTime()
                let verifier = SignatureVerifier(federation: federation)
                let verified = try verifier.verifyReceipt(Files.readJSON(receiptFile), now: clock)
                if let error = contracts.validator(for: ContractSet.receiptSchema)?.validate(verified.payload).first {
                    throw BatchError(code: "receipt.schema", message: "\(error.instanceLocation): \(error.keyword): \(error.message)")
                }
                let receipt = try Receipt(json: verified.payload)
                if let batch {
                    let batchVerified = try verifier.verifyBatch(Files.readJSON(batch), now: nil)
                    let document = try BatchDocument(json: batchVerified.payload)
                    let digest = Digest(of: batchVerified.payloadBytes)
                    guard receipt.batchId == document.batchId, receipt.to == document.from, receipt.from == document.to,
                        receipt.sequence == document.sequence
                    else {
                        throw BatchError(
                            code: "receipt.mismatch",
                            message:
                                "the receipt answers batch \(receipt.batchId) (\(receipt.to) → \(receipt.from), sequence \(receipt.sequence)), not \(document.batchId)"
                        )
                    }
                    guard receipt.payloadDigest == digest else {
                        throw BatchError(
                            code: "receipt.mismatch",
                            message:
                                "the receipt's payloadDigest \(receipt.payloadDigest) is not the batch's \(digest): it answers a different payload"
                        )
                    }
                    guard receipt.outcomes.map(\.index).sorted() == Array(0..<document.changes.count) else {
                        throw BatchError(
                            code: "receipt.mismatch",
                            message: "the receipt has \(receipt.outcomes.count) outcomes for \(document.changes.count) changes")
                    }
                }
                print(
                    "receipt \(receipt.receiptId) for batch \(receipt.batchId): signed by \(receipt.from) (key \(verified.kid)), received \(receipt.receivedAt)"
                )
                let summary = receipt.summary
                print(Receipt.summaryText(summary))
                for outcome in receipt.outcomes where outcome.outcome == "rejected" || outcome.outcome == "conflict" {
                    print(
                        printable(
                            "  change \(outcome.index): \(outcome.outcome) \(outcome.code ?? "") \(outcome.field ?? "") \(outcome.message ?? "")"
                        ))
                }
                if batch != nil { print("matches the batch (id, channel, sequence, payload digest, one outcome per change)") }
            }
        }
    }
}
