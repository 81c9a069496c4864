import ArgumentParser
import Foundation
import XGateCore
import XGateFileSystem
import XGateJOSE
import XGateJSON

struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "Sign and verify batches (JWS JSON serialization, EdDSA/Ed25519).",
        subcommands: [Sign.self, Verify.self])

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a batch of changes and print the JWS on standard output.",
            discussion: """
                CHANGES_FILE holds changes (urn:xgate:schema:change:1) as a JSON array or NDJSON. An entry that is a plain record
                document (kind, sourceId, schemaVersion, subject, data) is wrapped as a new record owned by --from: content
                version 1, status active version 1, its fields masked or withheld as the sharing agreements to --to require. Every change is checked against the contracts first and the batch is not
                signed if one fails (--allow-invalid signs anyway, for testing a receiver). At most 1000 changes per batch.

                Example:
                  xgate batch sign --key keys/sh-xuhui.key --kid "$(cat keys/sh-xuhui.kid)" --from sh-xuhui --to sh-city \\
                      --sequence 1 records.ndjson > batch.jws.json
                """)
        @OptionGroup var location: LocationOptions
        @Option(help: "The sender's private key (PKCS#8 PEM, mode 0600).") var key: String
        @Option(help: "The key id, <node>:<thumbprint>, as printed by 'xgate keys generate'.") var kid: String
        @Option(help: "The sending node.") var from: String
        @Option(help: "The receiving node.") var to: String
        @Option(help: "The batch's position in the channel from → to (1, 2, 3 …).") var sequence: Int
        @Option(help: "The batch id (default: a new UUIDv7).") var batchId: String?
        @Option(help: "The signing time, RFC 3339 (default: now).") var createdAt: String?
        @Option(
            help:
                "The Peers directory: when present, changes are also checked against the sharing agreements and the registry's roles, as the receiver will."
        ) var peers: String?
        @Flag(help: "Sign even if changes break the contracts (to test a receiver).") var allowInvalid = false
        @Argument(help: "The changes file.") var changesFile: String

        func validate() throws {
            guard sequence >= 1 else { throw ValidationError("--sequence starts at 1") }
            if let createdAt, Timestamp(createdAt) == nil { throw ValidationError("--created-at must be an RFC 3339 date-time") }
            if let batchId,
                batchId.range(of: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", options: .regularExpression) == nil
            {
                throw ValidationError("--batch-id must be a lowercase UUID")
            }
        }

        func run() throws {
            try guarded {
                let contracts = try location.loadContracts()
                let signingKey = try KeyFiles.read(key, node: from, kid: kid)
                let entries = try RecordFiles.read(changesFile)
                guard !entries.isEmpty else { throw FileError(.invalid, path: changesFile, "holds no changes") }
                guard entries.count <= BatchDocument.maximumChanges else {
                    throw BatchError(
                        code: "batch.too-large",
                        message:
                            "\(changesFile) holds \(entries.count) changes; a batch carries at most \(BatchDocument.maximumChanges): split the file"
                    )
                }
                let now = createdAt.flatMap(Timestamp.init) ?? currentTime()
                let peersDirectory = PeersDirectory.locate(peers)
                let federation =
                    FileManager.default.fileExists(atPath: peersDirectory + "/nodes")
                    ? try PeersDirectory.load(peersDirectory, contracts: contracts) : nil
                let changes = entries.map { entry in
                    guard entry["key"] == nil, entry["kind"] != nil else { return entry }
                    return newRecordChange(contracts.normalisingIdentifiers(entry), owner: from, at: now, federation: federation)
                }
                let batch = BatchDocument(
                    batchId: batchId ?? UUIDv7.make(at: now), from: from, to: to, sequence: sequence, createdAt: now, changes: changes)
                let inspection = try contracts.inspect(batchPayload: batch.json, federation: federation, today: now.chinaDate)
                let rejected = inspection.entries.filter { $0.rejection != nil }
                for entry in rejected {
                    report("\(changesFile): change \(entry.index): \(entry.rejection!.description)")
                }
                if !rejected.isEmpty && !allowInvalid {
                    report("not signed: \(rejected.count) of \(changes.count) changes break the contracts (--allow-invalid signs anyway)")
                    throw ExitCode(Exit.invalid)
                }
                let jws = try JWS.sign(payload: batch.json.serialized(), type: JWS.batchType, key: signingKey)
                print(jws.serializedString())
                report(
                    "signed batch \(batch.batchId): \(from) → \(to), sequence \(sequence), \(changes.count) changes, key \(signingKey.kid)")
            }
        }

        /// A plain record becomes a new record owned by the sender, masked and withheld as the agreements to the
        /// receiver require (when the registry is known).
        func newRecordChange(_ record: JSONValue, owner: String, at: Timestamp, federation: Federation?) -> JSONValue {
            let key = RecordKey(owner: owner, kind: record["kind"]?.stringValue ?? "", sourceId: record["sourceId"]?.stringValue ?? "")
            var sent = record
            var masked: [String] = []
            if let permission = federation?.permission(
                from: owner, to: to, kind: key.kind, subjectType: record["subject"]?["type"]?.stringValue ?? "", on: at.chinaDate)
            {
                (sent, masked) = Federation.redact(record, permission: permission)
            }
            return Change(
                key: key, content: ContentVersion(version: 1, author: owner, at: at.text, record: sent),
                status: StatusChange(version: 1, value: .active, from: nil, author: owner, at: at.text), masked: masked
            ).json
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a signed batch: signature, key validity, sender, schema and every change.",
            discussion: """
                Checks, in order: the JWS structure and header (alg EdDSA, typ xgate-batch+json), that the kid's node is in the
                registry with that key, the signature, that the batch's 'from' is the key's node, that 'createdAt' lies inside
                the key's validity window, the batch envelope against urn:xgate:schema:batch:1, then every change: its schema,
                its record's contract and identifiers, who may author it, and the sharing agreements from sender to receiver
                (kinds, subjects, masked and withheld fields). Prints a summary; exits 0 only if everything holds.

                Example:
                  xgate batch verify --peers Peers batch.jws.json
                """)
        @OptionGroup var location: LocationOptions
        @Option(help: "The Peers directory (default: $XGATE_PEERS, ./Peers, or the one beside the build tree).") var peers: String?
        @Option(help: "Judge key validity and future-dated batches against this time (RFC 3339) instead of now.") var now: String?
        @Flag(help: "Print the result as JSON.") var json = false
        @Argument(help: "The batch file (JWS JSON serialization).") var batchFile: String

        func run() throws {
            try guarded {
                let contracts = try location.loadContracts()
                let federation = try PeersDirectory.load(PeersDirectory.locate(peers), contracts: contracts)
                let jws = try Files.readJSON(batchFile)
                let clock = now.flatMap(Timestamp.init) ?? currentTime()
                let verified = try SignatureVerifier(federation: federation).verifyBatch(jws, now: clock)
                let inspection = try contracts.inspect(batchPayload: verified.payload, federation: federation, today: clock.chinaDate)
                let batch = inspection.batch
                let rejected = inspection.entries.filter { $0.rejection != nil }
                if json {
                    print(
                        JSONValue.object(
                            JSONObject([
                                (key: "batchId", value: .string(batch.batchId)), (key: "from", value: .string(batch.from)),
                                (key: "to", value: .string(batch.to)), (key: "sequence", value: .number(Double(batch.sequence))),
                                (key: "kid", value: .string(verified.kid)), (key: "signature", value: "valid"),
                                (key: "payloadDigest", value: .string(Digest(of: verified.payloadBytes).description)),
                                (key: "changes", value: .number(Double(batch.changes.count))),
                                (
                                    key: "rejected",
                                    value: .array(
                                        rejected.map { entry in
                                            [
                                                "index": .number(Double(entry.index)), "code": .string(entry.rejection!.code),
                                                "field": .string(entry.rejection!.field?.description ?? ""),
                                                "message": .string(entry.rejection!.message),
                                            ]
                                        })
                                ),
                            ])
                        ).serializedString(.prettyPrinted))
                } else {
                    print("batch \(batch.batchId): \(batch.from) → \(batch.to), sequence \(batch.sequence), created \(batch.createdAt)")
                    print("signature valid (key \(verified.kid), \(verified.signer.name)); payload \(Digest(of: verified.payloadBytes))")
                    print("changes: \(batch.changes.count), acceptable \(batch.changes.count - rejected.count), rejected \(rejected.count)")
                    for entry in rejected { print(printable("  change \(entry.index): \(entry.rejection!.description)")) }
                    for entry in inspection.entries {
                        for review in entry.reviews { print(printable("  change \(entry.index): review: \(review)")) }
                    }
                }
                if !rejected.isEmpty { throw ExitCode(Exit.invalid) }
            }
        }
    }
}

/// UUIDv7 (RFC 9562): 48-bit Unix milliseconds then random bits, so batch ids sort by time.
enum UUIDv7 {
    static func make(at time: Timestamp) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in 0..<16 { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let ms = UInt64(max(0, time.seconds)) * 1000
        for i in 0..<6 { bytes[i] = UInt8(ms >> (8 * (5 - UInt64(i))) & 0xFF) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let c = Array(hex)
        return "\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))"
    }
}
