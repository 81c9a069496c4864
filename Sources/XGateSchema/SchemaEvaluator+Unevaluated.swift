import XGateJSON

/// The properties and items of an instance that a schema's keywords (and the subschemas it applies in
/// place and that succeed) have evaluated: what `unevaluatedProperties` / `unevaluatedItems` exclude.
struct Coverage {
    var allNames = false
    var names: Set<String> = []
    var allItems = false
    var prefix = 0
    var indices: Set<Int> = []

    mutating func merge(_ other: Coverage) {
        allNames = allNames || other.allNames
        names.formUnion(other.names)
        allItems = allItems || other.allItems
        prefix = max(prefix, other.prefix)
        indices.formUnion(other.indices)
    }

    func covers(_ name: String) -> Bool { allNames || names.contains(name) }
    func covers(_ index: Int) -> Bool { allItems || index < prefix || indices.contains(index) }
}

extension SchemaEvaluator {
    /// `unevaluatedProperties` of node `owner`: one error naming the unevaluated members that fail `child`.
    mutating func unevaluatedProperties(_ child: Int, owner: Int, _ instance: JSONValue) -> Bool {
        guard case .object(let o) = instance else { return true }
        let covered = coverage(of: owner, instance, includingOwn: false, depth: depth)
        let failing = o.members.filter { !covered.covers($0.key) && !check(child, $0.value) }.map(\.key)
        guard !failing.isEmpty else { return true }
        let listed = failing.prefix(SchemaEvaluator.listedNamesLimit).map(JSONValue.quoted).joined(separator: ", ")
        let more = failing.count > SchemaEvaluator.listedNamesLimit ? " and \(failing.count - SchemaEvaluator.listedNamesLimit) more" : ""
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
        let more = failing.count > SchemaEvaluator.listedNamesLimit ? " and \(failing.count - SchemaEvaluator.listedNamesLimit) more" : ""
        report("unevaluatedItems", "unevaluated items are not allowed (at index \(listed)\(more))")
        return false
    }

    /// What node `id` evaluates in `instance`. `includingOwn` is false for the node whose
    /// `unevaluated…` keyword is asking.
    func coverage(of id: Int, _ instance: JSONValue, includingOwn: Bool, depth: Int) -> Coverage {
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
                for member in instance.objectValue?.members ?? [] where list.contains(where: { $0.pattern.matches(member.key) }) {
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
            case .conditional(let condition, let then, let else_):
                if check(condition, instance) {
                    covered.merge(inner(condition))
                    if let then, check(then, instance) { covered.merge(inner(then)) }
                } else if let else_, check(else_, instance) {
                    covered.merge(inner(else_))
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
