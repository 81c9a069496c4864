import XGateJSON

extension Federation {
    /// Everything wrong with the registry, in a stable order: key ids and thumbprints, validity windows,
    /// agreements that name nodes, roles, groups, kinds or fields that do not exist.
    /// `fieldExists(kind, pointer)` answers whether a record of `kind` has the field (from its schema).
    public func problems(catalogue: Catalogue, fieldExists: (String, String) -> Bool) -> [FederationError] {
        var problems: [FederationError] = []
        let groups = Set(peers.values.flatMap(\.groups))
        for peer in peers.values.sorted(by: { $0.id < $1.id }) {
            let subject = "peer \(peer.id)"
            if peer.roles.isEmpty { problems.append(FederationError(subject: subject, message: "has no role")) }
            if peer.keys.isEmpty { problems.append(FederationError(subject: subject, message: "has no signing key")) }
            var kids = Set<String>()
            for key in peer.keys {
                if !kids.insert(key.kid).inserted {
                    problems.append(FederationError(subject: subject, message: "key id \(key.kid) appears twice"))
                }
                let expected = Peer.keyID(node: peer.id, publicKey: key.publicKey)
                if key.kid != expected {
                    problems.append(
                        FederationError(
                            subject: subject,
                            message: "key id \(key.kid) should be \(expected) (node id, ':', RFC 7638 thumbprint of the key)"))
                }
            }
            if DivisionCodes.standard.standing(of: peer.division) == .unknown {
                problems.append(FederationError(subject: subject, message: "division \(peer.division) is not a GB/T 2260 code"))
            }
        }
        var agreementIDs = Set<String>()
        for agreement in agreements {
            let subject = "agreement \(agreement.id)"
            if !agreementIDs.insert(agreement.id).inserted {
                problems.append(FederationError(subject: subject, message: "the id is used by another agreement"))
            }
            for selector in agreement.from + agreement.to {
                switch selector {
                case .node(let id) where peers[id] == nil:
                    problems.append(FederationError(subject: subject, message: "names node \(id), which has no peer file"))
                case .group(let group) where !groups.contains(group):
                    problems.append(FederationError(subject: subject, message: "names group \(group), which no node belongs to"))
                case .role(let role) where !peers.values.contains(where: { $0.roles.contains(role) }):
                    problems.append(FederationError(subject: subject, message: "names role \(role.rawValue), which no node has"))
                default: break
                }
            }
            if agreement.grants.isEmpty { problems.append(FederationError(subject: subject, message: "grants nothing")) }
            for (i, grant) in agreement.grants.enumerated() {
                for kind in grant.kinds.sorted() {
                    guard catalogue.kinds[kind] != nil else {
                        problems.append(
                            FederationError(
                                subject: subject, message: "grants[\(i)] names kind \(kind), which is not in catalogue \(catalogue.version)"
                            ))
                        continue
                    }
                    for field in grant.mask.union(grant.withhold).sorted() where !fieldExists(kind, field) {
                        problems.append(
                            FederationError(
                                subject: subject, message: "grants[\(i)] names field \(field), which a \(kind) record does not have"))
                    }
                }
                for s in (grant.subjects ?? []).sorted() where !["legal-person", "natural-person", "individual-business"].contains(s) {
                    problems.append(
                        FederationError(subject: subject, message: "grants[\(i)] names subject type \(s), which does not exist"))
                }
            }
        }
        return problems
    }
}
