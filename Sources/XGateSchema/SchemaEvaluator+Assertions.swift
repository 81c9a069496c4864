import XGateJSON

extension SchemaEvaluator {
    /// Applies a keyword that looks at one kind of value (numbers, strings, arrays or objects);
    /// values of other kinds pass.
    mutating func applyAssertion(_ kind: RuleKind, to instance: JSONValue) -> Bool {
        switch instance {
        case .number(let n): return applyNumeric(kind, n)
        case .string(let s): return applyString(kind, s)
        case .array(let a): return applyArray(kind, a, instance)
        case .object(let o): return applyObject(kind, o, instance)
        default: return true
        }
    }

    static func text(_ n: Double) -> String { JSONValue.number(n).serializedString() }

    private mutating func applyNumeric(_ kind: RuleKind, _ n: Double) -> Bool {
        switch kind {
        case .multipleOf(let rule):
            if rule.admits(n) { return true }
            report(
                "multipleOf", "\(Self.text(n)) is not a multiple of \(Self.text(rule.divisor))")
        case .maximum(let limit):
            if n <= limit { return true }
            report(
                "maximum", "\(Self.text(n)) is greater than the maximum of \(Self.text(limit))")
        case .exclusiveMaximum(let limit):
            if n < limit { return true }
            report(
                "exclusiveMaximum",
                "\(Self.text(n)) is not less than the exclusive maximum of \(Self.text(limit))")
        case .minimum(let limit):
            if n >= limit { return true }
            report("minimum", "\(Self.text(n)) is less than the minimum of \(Self.text(limit))")
        case .exclusiveMinimum(let limit):
            if n > limit { return true }
            report(
                "exclusiveMinimum",
                "\(Self.text(n)) is not greater than the exclusive minimum of \(Self.text(limit))"
            )
        default:
            return true
        }
        return false
    }

    private mutating func applyString(_ kind: RuleKind, _ s: String) -> Bool {
        switch kind {
        case .maxLength(let limit):
            // UTF-8 length bounds the code point count from above.
            if s.utf8.count <= limit { return true }
            let length = s.unicodeScalars.count
            if length <= limit { return true }
            report(
                "maxLength",
                "\(JSONValue.quoted(s)) is longer than \(Self.counted(limit, "character")) (\(length))"
            )
        case .minLength(let limit):
            // A code point takes at most four UTF-8 bytes.
            if limit <= s.utf8.count / 4 { return true }
            let length = s.unicodeScalars.count
            if length >= limit { return true }
            report(
                "minLength",
                "\(JSONValue.quoted(s)) is shorter than \(Self.counted(limit, "character")) (\(length))"
            )
        case .pattern(let pattern):
            if pattern.matches(s) { return true }
            report("pattern", "\(JSONValue.quoted(s)) does not match pattern \(pattern.source)")
        case .format(let format):
            if format.isValid(s) { return true }
            report("format", "\(JSONValue.quoted(s)) is not a valid \(format.noun)")
        default:
            return true
        }
        return false
    }

    private mutating func applyArray(_ kind: RuleKind, _ a: [JSONValue], _ instance: JSONValue) -> Bool {
        switch kind {
        case .maxItems(let limit):
            if a.count <= limit { return true }
            report("maxItems", "\(instance.excerpt) has \(a.count) items, more than the maximum of \(limit)")
        case .minItems(let limit):
            if a.count >= limit { return true }
            report(
                "minItems",
                "\(instance.excerpt) has \(Self.counted(a.count, "item")), fewer than the minimum of \(limit)"
            )
        case .uniqueItems:
            guard let (first, second) = SchemaEvaluator.firstDuplicate(a) else { return true }
            report(
                "uniqueItems", "\(instance.excerpt) has non-unique elements (items \(first) and \(second) are equal)")
        case .items(let prefix, let node):
            guard a.count > prefix else { return true }
            guard let node else {
                let extra = a.count - prefix
                report("items", "\(instance.excerpt) has \(a.count) items, \(extra) more than the \(prefix) allowed")
                return false
            }
            var valid = true
            for i in prefix..<a.count where !descend(node, a[i], instance: String(i), schema: nil) {
                guard collecting else { return false }
                valid = false
            }
            return valid
        case .prefixItems(let list):
            var valid = true
            for (i, node) in zip(a.indices, list) {
                let passed: Bool
                if nodes[node].isNever {
                    reportFalseChild(schema: String(i), "item \(i) (\(a[i].excerpt)) is not allowed")
                    passed = false
                } else {
                    passed = descend(node, a[i], instance: String(i), schema: String(i))
                }
                if !passed {
                    guard collecting else { return false }
                    valid = false
                }
            }
            return valid
        case .contains(let node, let minimum, let maximum):
            return contains(node, minimum, maximum, a, instance)
        default:
            return true
        }
        return false
    }

    /// `contains` with `minContains` / `maxContains`, reported as Python `jsonschema` does: keyword
    /// `contains` when nothing matches, `minContains` / `maxContains` when the count is wrong.
    private mutating func contains(
        _ node: Int, _ minimum: Int, _ maximum: Int?, _ a: [JSONValue], _ instance: JSONValue
    ) -> Bool {
        var matches = 0
        for element in a where check(node, element) {
            matches += 1
            if let maximum, matches > maximum {
                report(
                    sibling: "maxContains",
                    "\(instance.excerpt) has more than \(Self.counted(maximum, "item")) matching 'contains'"
                )
                return false
            }
            if maximum == nil, matches >= minimum { return true }
        }
        if matches >= minimum { return true }
        if matches == 0 {
            report("contains", "\(instance.excerpt) does not contain an item matching 'contains'")
        } else {
            report(
                sibling: "minContains",
                "\(instance.excerpt) has only \(Self.counted(matches, "item")) matching 'contains', "
                    + "fewer than \(minimum)"
            )
        }
        return false
    }

    /// The indices of the first two equal elements (JSON equality), or nil.
    static func firstDuplicate(_ a: [JSONValue]) -> (Int, Int)? {
        if a.count <= 16 {
            for i in a.indices {
                for j in (i + 1)..<a.count where a[i].schemaEquals(a[j]) { return (i, j) }
            }
            return nil
        }
        var seen: [SchemaHashKey: Int] = [:]
        for (j, element) in a.enumerated() {
            let key = SchemaHashKey(value: element)
            if let i = seen[key] { return (i, j) }
            seen[key] = j
        }
        return nil
    }

    /// "3 items", "1 item", "2 properties".
    static func counted(_ count: Int, _ noun: String) -> String { "\(count) \(plural(count, noun))" }

    static func plural(_ count: Int, _ noun: String) -> String {
        count == 1 ? noun : noun.hasSuffix("y") ? noun.dropLast() + "ies" : noun + "s"
    }
}
