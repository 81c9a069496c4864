import XGateJSON

extension SchemaEvaluator {
    /// `unevaluatedProperties` of node `owner`: one error naming the unevaluated members that fail `child`.
    mutating func unevaluatedProperties(_ child: Int, owner: Int, _ instance: JSONValue) -> Bool {
        guard case .object(let o) = instance else { return true }
        let covered = coverage(of: owner, instance, includingOwn: false, depth: depth)
        let failing = o.members.filter { !covered.covers($0.key) && !check(child, $0.value) }.map(\.key)
        guard !failing.isEmpty else { return true }
        let listed = failing.prefix(SchemaEvaluator.listedNamesLimit).map(JSONValue.quoted).joined(separator: ", ")
        let more =
            failing.count > SchemaEvaluator.listedNamesLimit
            ? " and \(failing.count - SchemaEvaluator.listedNamesLimit) more" : ""
        report("unevaluatedProperties", "unevaluated properties are not allowed: \(listed)\(more)")
        return false
    }

    /// `unevaluatedItems` of node `owner`: one error naming the unevaluated items that fail `child`.
    mutating func unevaluatedItems(_ child: Int, owner: Int, _ instance: JSONValue) -> Bool {
        guard case .array(let a) = instance else { return true }
        let covered = coverage(of: owner, instance, includingOwn: false, depth: depth)
        let failing = a.indices.filter { !covered.covers($0) && !check(child, a[$0]) }
        guard !failing.isEmpty else { return true }
        let listed = failing.prefix(SchemaEvaluator.listedNamesLimit).map(String.init).joined(separator: ", ")
        let more =
            failing.count > SchemaEvaluator.listedNamesLimit
            ? " and \(failing.count - SchemaEvaluator.listedNamesLimit) more" : ""
        report("unevaluatedItems", "unevaluated items are not allowed (at index \(listed)\(more))")
        return false
    }

    /// What node `id` evaluates in `instance`. `includingOwn` is false for the node whose
    /// `unevaluated…` keyword is asking.
    mutating func coverage(of id: Int, _ instance: JSONValue, includingOwn: Bool, depth: Int) -> Coverage {
        var covered = Coverage()
        guard case .rules(let rules) = nodes[id], depth < SchemaEvaluator.maximumDepth else { return covered }
        func inner(_ node: Int) -> Coverage { coverage(of: node, instance, includingOwn: true, depth: depth + 1) }
        for rule in rules {
            switch rule.kind {
            case .properties(let table):
                for member in instance.objectValue?.members ?? [] where table.index[member.key] != nil {
                    covered.names.insert(member.key)
                }
            case .patternProperties(let list):
                for member in instance.objectValue?.members ?? []
                where list.contains(where: { $0.pattern.matches(member.key) }) {
                    covered.names.insert(member.key)
                }
            case .additionalProperties:
                covered.allNames = true
            case .unevaluatedProperties:
                if includingOwn { covered.allNames = true }
            case .prefixItems(let list):
                covered.prefix = max(covered.prefix, list.count)
            case .items:
                covered.allItems = true
            case .unevaluatedItems:
                if includingOwn { covered.allItems = true }
            case .contains(let node, _, _):
                for (i, element) in (instance.arrayValue ?? []).enumerated() where check(node, element) {
                    covered.indices.insert(i)
                }
            case .allOf(let list), .anyOf(let list), .oneOf(let list):
                for node in list where check(node, instance) { covered.merge(inner(node)) }
            case .dependentSchemas(let list):
                guard case .object(let o) = instance else { continue }
                for entry in list where o[entry.name] != nil && check(entry.node, instance) {
                    covered.merge(inner(entry.node))
                }
            case .conditional(let condition, let then, let otherwise):
                if check(condition, instance) {
                    covered.merge(inner(condition))
                    if let then, check(then, instance) { covered.merge(inner(then)) }
                } else if let otherwise, check(otherwise, instance) {
                    covered.merge(inner(otherwise))
                }
            case .ref(let target):
                covered.merge(inner(target))
            default:
                continue
            }
        }
        return covered
    }
}
