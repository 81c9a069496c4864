import Foundation
import XGateCore
import XGateJSON

/// `Peers/` on disk: `nodes/<id>.json` (one peer file per node) and `agreements/<id>.json`.
public enum PeersDirectory {
    /// Loads the registry, validating every file against its schema; errors name the file.
    public static func load(_ directory: String, contracts: ContractSet) throws(FileError) -> Federation {
        var peers: [Peer] = []
        var seen: [String: String] = [:]
        for path in try Files.jsonFiles(in: directory + "/nodes") {
            let json = try Files.readJSON(path, limit: 1024 * 1024)
            try validate(json, schema: ContractSet.peerSchema, path: path, contracts: contracts)
            let peer: Peer
            do { peer = try Peer(json: json) } catch { throw FileError(.configuration, path: path, "\(error)") }
            let expectedName = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            guard peer.id == expectedName else {
                throw FileError(.configuration, path: path, "the file of node \(peer.id) must be named \(peer.id).json")
            }
            if let other = seen[peer.id] {
                throw FileError(.configuration, path: path, "node id \(peer.id) is already defined in \(other)")
            }
            seen[peer.id] = path
            peers.append(peer)
        }
        var agreements: [Agreement] = []
        for path in (try? Files.jsonFiles(in: directory + "/agreements")) ?? [] {
            let json = try Files.readJSON(path, limit: 1024 * 1024)
            try validate(json, schema: ContractSet.agreementSchema, path: path, contracts: contracts)
            do { agreements.append(try Agreement(json: json)) } catch { throw FileError(.configuration, path: path, "\(error)") }
        }
        return Federation(peers: peers, agreements: agreements)
    }

    static func validate(_ json: JSONValue, schema: String, path: String, contracts: ContractSet) throws(FileError) {
        guard let validator = contracts.validator(for: schema) else {
            throw FileError(.configuration, path: path, "schema \(schema) is not loaded from Contracts/")
        }
        if let error = validator.validate(json).first {
            let location = error.instanceLocation.description.isEmpty ? "/" : error.instanceLocation.description
            throw FileError(.configuration, path: path, "\(location): \(error.keyword): \(error.message)")
        }
    }

    /// Finds `Peers/`: `$XGATE_PEERS`, `./Peers`, or a `Peers/` above the executable.
    public static func locate(_ explicit: String?) -> String {
        Locator.locate(explicit, environment: "XGATE_PEERS", name: "Peers", marker: "nodes")
    }
}
