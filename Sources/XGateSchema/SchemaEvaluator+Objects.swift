import XGateJSON

extension SchemaEvaluator {
    /// The most unexpected property names listed in one `additionalProperties` message.
    static let listedNamesLimit = 10

    /// Applies a keyword that looks at objects.
    mutating func applyObject(_ kind: RuleKind, _ o: JSONObject, _ instance: JSONValue) -> Bool {
        switch kind {
        case .maxProperties(let limit):
            if o.count <= limit { return true }
            report(
                "maxProperties",
                "\(instance.excerpt) has \(Self.counted(o.count, "property")), more than the maximum of \(limit)"
            )
        case .minProperties(let limit):
            if o.count >= limit { return true }
            report(
                "minProperties",
                "\(instance.excerpt) has \(Self.counted(o.count, "property")), fewer than the minimum of \(limit)"
            )
        case .required(let names):
            var valid = true
            for name in names where o[name] == nil {
                guard collecting else { return false }
                report("required", "required property \(JSONValue.quoted(name)) is missing")
                valid = false
            }
            return valid
        case .dependentRequired(let dependencies):
            var valid = true
            for dependency in dependencies where o[dependency.property] != nil {
                for name in dependency.required where o[name] == nil {
                    guard collecting else { return false }
                    report(
                        "dependentRequired",
                        "property \(JSONValue.quoted(name)) is required when "
                            + "\(JSONValue.quoted(dependency.property)) is present"
                    )
                    valid = false
                }
            }
            return valid
        case .dependentSchemas(let list):
            var valid = true
            for entry in list
            where o[entry.name] != nil && !descend(entry.node, instance, instance: nil, schema: entry.name) {
                guard collecting else { return false }
                valid = false
            }
            return valid
        case .properties(let table):
            return properties(table, o)
        case .patternProperties(let list):
            return patternProperties(list, o)
        case .additionalProperties(let rule):
            return additionalProperties(rule, o)
        case .propertyNames(let node):
            var valid = true
            for member in o.members where !descend(node, .string(member.key), instance: nil, schema: nil) {
                guard collecting else { return false }
                valid = false
            }
            return valid
        default:
            return true
        }
        return false
    }

    /// `properties`, visiting the instance's members through the table's hash index; errors follow the
    /// order of the schema's `properties`.
    private mutating func properties(_ table: PropertyTable, _ o: JSONObject) -> Bool {
        guard collecting else {
            for member in o.members {
                if let i = table.index[member.key], !evaluate(table.nodes[i], member.value) { return false }
            }
            return true
        }
        var present: [(position: Int, value: JSONValue)] = []
        for member in o.members {
            if let i = table.index[member.key] { present.append((i, member.value)) }
        }
        present.sort { $0.position < $1.position }
        var valid = true
        for (i, value) in present {
            let name = table.names[i]
            if nodes[table.nodes[i]].isNever {
                reportFalseChild(schema: name, "property \(JSONValue.quoted(name)) is not allowed")
                valid = false
            } else if !descend(table.nodes[i], value, instance: name, schema: name) {
                valid = false
            }
        }
        return valid
    }

    private mutating func patternProperties(_ list: [PatternNode], _ o: JSONObject) -> Bool {
        var valid = true
        for entry in list {
            for member in o.members where entry.pattern.matches(member.key) {
                let passed: Bool
                if nodes[entry.node].isNever {
                    reportFalseChild(
                        schema: entry.pattern.source, "property \(JSONValue.quoted(member.key)) is not allowed")
                    passed = false
                } else {
                    passed = descend(entry.node, member.value, instance: member.key, schema: entry.pattern.source)
                }
                if !passed {
                    guard collecting else { return false }
                    valid = false
                }
            }
        }
        return valid
    }

    private mutating func additionalProperties(_ rule: AdditionalProperties, _ o: JSONObject) -> Bool {
        guard let node = rule.node else {
            guard collecting else { return !o.members.contains { rule.isAdditional($0.key) } }
            let extras = o.members.map(\.key).filter(rule.isAdditional)
            guard !extras.isEmpty else { return true }
            var listed = extras.prefix(SchemaEvaluator.listedNamesLimit).map(JSONValue.quoted).joined(separator: ", ")
            if extras.count > SchemaEvaluator.listedNamesLimit {
                listed += " and \(extras.count - SchemaEvaluator.listedNamesLimit) more"
            }
            let noun = extras.count == 1 ? "property is" : "properties are"
            report("additionalProperties", "additional \(noun) not allowed: \(listed)")
            return false
        }
        var valid = true
        for member in o.members where rule.isAdditional(member.key) {
            if !descend(node, member.value, instance: member.key, schema: nil) {
                guard collecting else { return false }
                valid = false
            }
        }
        return valid
    }
}
