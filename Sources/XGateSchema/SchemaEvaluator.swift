import XGateJSON

/// Walks a ``SchemaProgram`` over an instance.
///
/// In collecting mode it records every error with its locations and message, in the order the schema's
/// keywords are met; otherwise it stops at the first failure and builds no messages or paths.
/// Keywords that only ask whether a subschema matches (`anyOf`, `oneOf`, `not`, `if`, `contains`) use a
/// non-collecting walk for the subschema.
struct SchemaEvaluator {
    /// Deeper nesting of schema evaluations than this fails instead of exhausting the stack.
    static let maximumDepth = 500

    let nodes: [SchemaNode]
    let collecting: Bool
    var errors: [ValidationError] = []
    var instancePath: [String] = []
    var keywordPath: [String] = []
    var depth = 0
    /// Set when evaluation went deeper than ``maximumDepth``: the instance is then invalid whatever any
    /// `not`, `anyOf` or `if` made of the failure, and nothing more is evaluated.
    var exhausted = false

    init(nodes: [SchemaNode], collecting: Bool) {
        self.nodes = nodes
        self.collecting = collecting
    }

    /// Whether `instance` satisfies node `id`; in collecting mode, records why not.
    mutating func evaluate(_ id: Int, _ instance: JSONValue) -> Bool {
        if exhausted { return false }
        switch nodes[id] {
        case .always:
            return true
        case .never:
            report("false", "\(instance.excerpt) is not allowed here (the schema is false)")
            return false
        case .rules(let rules):
            guard depth < SchemaEvaluator.maximumDepth else {
                exhausted = true
                reportExhausted()
                return false
            }
            depth += 1
            defer { depth -= 1 }
            var valid = true
            for rule in rules {
                if collecting { keywordPath.append(rule.keyword) }
                let passed = apply(rule.kind, to: instance, node: id)
                if collecting { keywordPath.removeLast() }
                if !passed {
                    guard collecting else { return false }
                    valid = false
                }
            }
            return valid
        }
    }

    /// Whether `instance` satisfies node `id`, without recording anything (except running too deep).
    mutating func check(_ id: Int, _ instance: JSONValue) -> Bool {
        if exhausted { return false }
        var walker = SchemaEvaluator(nodes: nodes, collecting: false)
        walker.depth = depth
        let passed = walker.evaluate(id, instance)
        if walker.exhausted {
            exhausted = true
            reportExhausted()
            return false
        }
        return passed
    }

    /// Records that evaluation went too deep (collecting mode only).
    mutating func reportExhausted() {
        report("$ref", "schema evaluation is nested more than \(SchemaEvaluator.maximumDepth) levels deep")
    }

    /// Evaluates node `id` one level deeper: `instanceToken` is appended to the instance location and
    /// `schemaToken` to the keyword location (either may be nil).
    mutating func descend(
        _ id: Int, _ value: JSONValue, instance instanceToken: @autoclosure () -> String?,
        schema schemaToken: @autoclosure () -> String?
    ) -> Bool {
        guard collecting else { return evaluate(id, value) }
        let instanceToken = instanceToken()
        let schemaToken = schemaToken()
        if let instanceToken { instancePath.append(instanceToken) }
        if let schemaToken { keywordPath.append(schemaToken) }
        let passed = evaluate(id, value)
        if schemaToken != nil { keywordPath.removeLast() }
        if instanceToken != nil { instancePath.removeLast() }
        return passed
    }

    /// Records an error for `keyword` at the current locations (collecting mode only).
    mutating func report(_ keyword: String, _ message: @autoclosure () -> String) {
        guard collecting else { return }
        errors.append(
            ValidationError(
                instanceLocation: JSONPointer(tokens: instancePath), keyword: keyword,
                keywordLocation: JSONPointer(tokens: keywordPath), message: message()))
    }

    /// Records an error whose keyword location is a sibling of the current keyword (`minContains`).
    mutating func report(sibling keyword: String, _ message: @autoclosure () -> String) {
        guard collecting, !keywordPath.isEmpty else { return report(keyword, message()) }
        let current = keywordPath[keywordPath.count - 1]
        keywordPath[keywordPath.count - 1] = keyword
        report(keyword, message())
        keywordPath[keywordPath.count - 1] = current
    }

    /// A `false` subschema met directly under `properties`, `patternProperties` or `prefixItems`: reported,
    /// as Python `jsonschema` does, at the parent instance, with the location of the `false` schema.
    mutating func reportFalseChild(schema token: String, _ message: @autoclosure () -> String) {
        guard collecting else { return }
        keywordPath.append(token)
        report("false", message())
        keywordPath.removeLast()
    }

    /// Applies one compiled keyword of node `id`.
    mutating func apply(_ kind: RuleKind, to instance: JSONValue, node id: Int) -> Bool {
        switch kind {
        case .type(let mask, let names):
            if mask.admits(instance) { return true }
            let expected = names.map { "'\($0)'" }.joined(separator: " or ")
            report("type", "\(instance.excerpt) is not of type \(expected)")
            return false
        case .enumeration(let set):
            if set.contains(instance) { return true }
            report("enum", "\(instance.excerpt) is not one of \(JSONValue.array(set.values).excerpt)")
            return false
        case .const(let expected):
            if instance.schemaEquals(expected) { return true }
            report("const", "\(instance.excerpt) is not the expected value \(expected.excerpt)")
            return false
        case .ref(let target):
            return descend(target, instance, instance: nil, schema: nil)
        case .allOf(let list):
            var valid = true
            for (i, node) in list.enumerated() where !descend(node, instance, instance: nil, schema: String(i)) {
                guard collecting else { return false }
                valid = false
            }
            return valid
        case .anyOf(let list):
            for node in list where check(node, instance) { return true }
            report("anyOf", "\(instance.excerpt) is not valid under any of the schemas in 'anyOf'")
            return false
        case .oneOf(let list):
            return oneOf(list, instance)
        case .not(let node):
            guard check(node, instance) else { return true }
            report("not", "\(instance.excerpt) must not be valid under the 'not' schema")
            return false
        case .conditional(let condition, let then, let otherwise):
            guard then != nil || otherwise != nil else { return true }
            let branch = check(condition, instance) ? then : otherwise
            guard let branch else { return true }
            guard collecting else { return evaluate(branch, instance) }
            keywordPath[keywordPath.count - 1] = branch == then ? "then" : "else"
            let passed = evaluate(branch, instance)
            keywordPath[keywordPath.count - 1] = "if"
            return passed
        case .unevaluatedProperties(let child):
            return unevaluatedProperties(child, owner: id, instance)
        case .unevaluatedItems(let child):
            return unevaluatedItems(child, owner: id, instance)
        default:
            return applyAssertion(kind, to: instance)
        }
    }

    private mutating func oneOf(_ list: [Int], _ instance: JSONValue) -> Bool {
        var matching: [Int] = []
        for (i, node) in list.enumerated() where check(node, instance) {
            matching.append(i)
            if matching.count > 1 && !collecting { return false }
        }
        if matching.count == 1 { return true }
        if matching.isEmpty {
            report("oneOf", "\(instance.excerpt) is not valid under any of the schemas in 'oneOf'")
        } else {
            let which = matching.map(String.init).joined(separator: ", ")
            report("oneOf", "\(instance.excerpt) is valid under more than one of the schemas in 'oneOf' (\(which))")
        }
        return false
    }
}
