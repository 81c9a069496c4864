import XGateJSON

/// The federation registry: every node and every sharing agreement.
public struct Federation: Sendable {
    public var peers: [String: Peer]
    public var agreements: [Agreement]

    /// Creates a registry.
    public init(peers: [Peer], agreements: [Agreement]) {
        self.peers = Dictionary(peers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.agreements = agreements
    }

    /// What an agreement lets a sender pass to a receiver for one record.
    public struct Permission: Sendable, Equatable {
        /// The agreements that allow it.
        public var agreements: [String]
        /// Fields to mask: those every applicable grant masks (a field one grant gives in full is given in full).
        public var mask: Set<String>
        /// Fields to remove: those every applicable grant withholds.
        public var withhold: Set<String>
    }

    /// Whether `from` may send a record of `kind` about a subject of `subjectType` to `to` on `date`, and how.
    /// Several agreements may apply (松江 is both a district and a G60 partner): the grants are united.
    public func permission(from: String, to: String, kind: String, subjectType: String, on date: CivilDate) -> Permission? {
        guard let sender = peers[from], let receiver = peers[to] else { return nil }
        var ids: [String] = []
        var mask: Set<String>?
        var withhold: Set<String>?
        for agreement in agreements where agreement.isInForce(on: date) {
            guard agreement.from.contains(where: { $0.matches(sender) }), agreement.to.contains(where: { $0.matches(receiver) })
            else { continue }
            for grant in agreement.grants where grant.kinds.contains(kind) && (grant.subjects?.contains(subjectType) ?? true) {
                if !ids.contains(agreement.id) { ids.append(agreement.id) }
                mask = mask.map { $0.intersection(grant.mask) } ?? grant.mask
                withhold = withhold.map { $0.intersection(grant.withhold) } ?? grant.withhold
            }
        }
        guard !ids.isEmpty else { return nil }
        return Permission(agreements: ids, mask: mask ?? [], withhold: withhold ?? [])
    }

    /// Every kind some agreement in force on `date` lets `from` send to `to` (for some subject type): what a channel
    /// between them may carry with content.
    public func kinds(from: String, to: String, on date: CivilDate) -> Set<String> {
        guard let sender = peers[from], let receiver = peers[to] else { return [] }
        var kinds: Set<String> = []
        for agreement in agreements where agreement.isInForce(on: date) {
            guard agreement.from.contains(where: { $0.matches(sender) }), agreement.to.contains(where: { $0.matches(receiver) })
            else { continue }
            for grant in agreement.grants { kinds.formUnion(grant.kinds) }
        }
        return kinds
    }

    /// Whether some agreement (for any kind, in force or not) connects the two nodes in either direction: the test
    /// for status-only changes, which must reach every former holder of a record.
    public func arePartners(_ a: String, _ b: String) -> Bool {
        guard let first = peers[a], let second = peers[b] else { return false }
        return agreements.contains { agreement in
            (agreement.from.contains { $0.matches(first) } && agreement.to.contains { $0.matches(second) })
                || (agreement.from.contains { $0.matches(second) } && agreement.to.contains { $0.matches(first) })
        }
    }

    /// The record as the receiver may see it: withheld fields removed, masked fields masked. Returns the
    /// record and the pointers actually masked or withheld (those present in this record).
    public static func redact(_ record: JSONValue, permission: Permission) -> (record: JSONValue, masked: [String]) {
        var result = record
        var touched: [String] = []
        for path in permission.withhold.sorted() {
            guard let pointer = JSONPointer(path), let last = pointer.tokens.last, record.value(at: pointer) != nil else { continue }
            let parent = JSONPointer(tokens: Array(pointer.tokens.dropLast()))
            if case .object(var o)? = result.value(at: parent) {
                o[last] = nil
                result.set(.object(o), at: parent)
                touched.append(path)
            }
        }
        for path in permission.mask.sorted() {
            guard let pointer = JSONPointer(path), let value = result.value(at: pointer)?.stringValue else { continue }
            result.set(.string(maskedText(value, field: pointer.tokens.last ?? "")), at: pointer)
            touched.append(path)
        }
        return (result, touched.sorted())
    }

    /// Resident identity numbers keep their first 6 and last 4 characters (`110105********002X`); other document
    /// numbers their first and last two (`E*****78`); other text its first character only.
    static func maskedText(_ value: String, field: String) -> String {
        if field.lowercased().hasSuffix("idnumber") {
            if value.count == 18 { return ResidentID.mask(value) }
            guard value.count > 3 else { return String(repeating: "*", count: value.count) }
            return String(value.prefix(1)) + String(repeating: "*", count: value.count - 3) + String(value.suffix(2))
        }
        guard let first = value.first else { return value }
        return String(first) + String(repeating: "*", count: max(0, value.count - 1))
    }

    /// The merge policy this registry implies.
    public func mergePolicy(catalogue: Catalogue) -> MergePolicy {
        MergePolicy(cityNodes: Set(peers.values.filter { $0.roles.contains(.city) }.map(\.id)), listKinds: catalogue.listKinds)
    }
}
