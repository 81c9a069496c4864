import XGateJSON

extension SchemaCompiler {
    /// Keywords that are accepted and have no effect on validation.
    static let annotationKeywords: Set<String> = [
        "$schema", "$id", "$comment", "$anchor", "$dynamicAnchor", "$vocabulary", "$defs",
        "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
        "contentMediaType", "contentEncoding", "contentSchema", "then", "else", "minContains", "maxContains",
    ]

    /// Keywords of draft 2020-12 that this validator does not implement: refused rather than ignored,
    /// because ignoring them would let invalid instances through.
    static let unsupportedKeywords: Set<String> = ["$dynamicRef"]

    /// Compiles the (sub)schema of node `id`.
    mutating func compileNode(_ id: Int) throws(SchemaError) -> SchemaNode {
        let info = infos[id]
        switch info.value {
        case .bool(let allowed):
            return allowed ? .always : .never
        case .object(let object):
            var rules: [SchemaRule] = []
            for (key, value) in object.members {
                if let kind = try compileKeyword(key, value, in: object, info: info, node: id) {
                    rules.append(SchemaRule(keyword: key, kind: kind))
                }
            }
            return rules.isEmpty ? .always : .rules(rules)
        default:
            throw error(info, nil, "a schema must be an object or a boolean, not \(info.value.typeName)")
        }
    }

    /// The rule for one keyword, or nil for keywords that check nothing by themselves.
    mutating func compileKeyword(
        _ key: String, _ value: JSONValue, in object: JSONObject, info: NodeInfo, node: Int
    ) throws(SchemaError) -> RuleKind? {
        switch key {
        case "type":
            return try typeRule(value, info)
        case "enum":
            guard case .array(let values) = value else { throw error(info, key, "'enum' must be an array") }
            return .enumeration(ValueSet(values))
        case "const":
            return .const(value)
        case "multipleOf":
            let divisor = try number(key, value, info)
            guard divisor > 0 else { throw error(info, key, "'multipleOf' must be greater than 0") }
            return .multipleOf(MultipleOf(divisor))
        case "maximum": return .maximum(try number(key, value, info))
        case "exclusiveMaximum": return .exclusiveMaximum(try number(key, value, info))
        case "minimum": return .minimum(try number(key, value, info))
        case "exclusiveMinimum": return .exclusiveMinimum(try number(key, value, info))
        case "maxLength": return .maxLength(try count(key, value, info))
        case "minLength": return .minLength(try count(key, value, info))
        case "maxItems": return .maxItems(try count(key, value, info))
        case "minItems": return .minItems(try count(key, value, info))
        case "maxProperties": return .maxProperties(try count(key, value, info))
        case "minProperties": return .minProperties(try count(key, value, info))
        case "pattern":
            guard case .string(let source) = value else { throw error(info, key, "'pattern' must be a string") }
            return .pattern(try pattern(source, key, info))
        case "format":
            guard case .string(let name) = value else { throw error(info, key, "'format' must be a string") }
            guard options.assertFormats, let format = DateTimeFormat(rawValue: name) else { return nil }
            return .format(format)
        case "uniqueItems":
            guard case .bool(let unique) = value else { throw error(info, key, "'uniqueItems' must be a boolean") }
            return unique ? .uniqueItems : nil
        case "required":
            return .required(try uniqueStrings(key, value, info))
        case "dependentRequired":
            guard case .object(let map) = value else {
                throw error(info, key, "'dependentRequired' must be an object")
            }
            var dependencies: [Dependency] = []
            for (name, list) in map.members {
                let required = try uniqueStrings("\(key)/\(name)", list, info)
                dependencies.append(Dependency(property: name, required: required))
            }
            return .dependentRequired(dependencies)
        case "dependentSchemas":
            let children = try schemaMap(key, value, info).map { NamedNode(name: $0.name, node: $0.node) }
            sameInstance[node] += children.map(\.node)
            return .dependentSchemas(children)
        case "properties":
            let children = try schemaMap(key, value, info)
            var index: [String: Int] = [:]
            for (i, child) in children.enumerated() { index[child.name] = i }
            return .properties(PropertyTable(names: children.map(\.name), nodes: children.map(\.node), index: index))
        case "patternProperties":
            var children: [PatternNode] = []
            for (source, child) in try schemaMap(key, value, info) {
                children.append(PatternNode(pattern: try pattern(source, key, info), node: child))
            }
            return .patternProperties(children)
        case "additionalProperties":
            return .additionalProperties(try additionalProperties(value, in: object, info))
        case "propertyNames":
            return .propertyNames(try schema(key, value, info, path: [key]))
        case "items":
            let prefix = object["prefixItems"]?.arrayValue?.count ?? 0
            let child = try schema(key, value, info, path: [key])
            return .items(prefix: prefix, node: value.boolValue == false ? nil : child)
        case "prefixItems":
            return .prefixItems(try schemaList(key, value, info))
        case "contains":
            let child = try schema(key, value, info, path: [key])
            let minimum = try object["minContains"].map { (v) throws(SchemaError) in try count("minContains", v, info) }
            let maximum = try object["maxContains"].map { (v) throws(SchemaError) in try count("maxContains", v, info) }
            return .contains(node: child, minimum: minimum ?? 1, maximum: maximum)
        case "allOf", "anyOf", "oneOf":
            let children = try schemaList(key, value, info)
            sameInstance[node] += children
            return key == "allOf" ? .allOf(children) : key == "anyOf" ? .anyOf(children) : .oneOf(children)
        case "not":
            let child = try schema(key, value, info, path: [key])
            sameInstance[node].append(child)
            return .not(child)
        case "if":
            let condition = try schema(key, value, info, path: [key])
            let then = try object["then"].map { (v) throws(SchemaError) in try schema("then", v, info, path: ["then"]) }
            let otherwise = try object["else"].map { (v) throws(SchemaError) in
                try schema("else", v, info, path: ["else"])
            }
            sameInstance[node] += [condition] + [then, otherwise].compactMap { $0 }
            return .conditional(if: condition, then: then, else: otherwise)
        case "unevaluatedProperties":
            return .unevaluatedProperties(try schema(key, value, info, path: [key]))
        case "unevaluatedItems":
            return .unevaluatedItems(try schema(key, value, info, path: [key]))
        case "then", "else":
            // Checked (and compiled) even without "if"; they take effect through "if".
            _ = try schema(key, value, info, path: [key])
            return nil
        case "$defs":
            _ = try schemaMap(key, value, info)
            return nil
        case "$ref":
            guard case .string(let reference) = value else { throw error(info, key, "'$ref' must be a string") }
            guard let target = try resolve(reference, from: info) else { return nil }
            sameInstance[node].append(target)
            return .ref(target)
        case "$id":
            guard case .string(let id) = value else { throw error(info, key, "'$id' must be a string") }
            guard !SchemaCompiler.trimmingEmptyFragment(id).contains("#") else {
                throw error(info, key, "'$id' must not contain a fragment ('\(id)')")
            }
            return nil
        case "$schema", "$anchor", "$dynamicAnchor", "$comment":
            guard value.stringValue != nil else { throw error(info, key, "'\(key)' must be a string") }
            return nil
        default:
            if SchemaCompiler.unsupportedKeywords.contains(key) {
                throw error(info, key, "'\(key)' is not supported by this validator")
            }
            if options.rejectUnknownKeywords, !SchemaCompiler.annotationKeywords.contains(key), !key.hasPrefix("x-") {
                throw error(info, key, "unknown keyword '\(key)'")
            }
            return nil
        }
    }

    private mutating func typeRule(_ value: JSONValue, _ info: NodeInfo) throws(SchemaError) -> RuleKind {
        let names: [String]
        switch value {
        case .string(let name): names = [name]
        case .array(let list):
            names = try list.map { (item) throws(SchemaError) -> String in
                guard case .string(let name) = item else {
                    throw error(info, "type", "'type' must be a type name or an array of type names")
                }
                return name
            }
        default:
            throw error(info, "type", "'type' must be a type name or an array of type names")
        }
        var mask = TypeMask()
        for name in names {
            guard let type = TypeMask.named(name) else {
                throw error(info, "type", "'type' has unknown type '\(name)'")
            }
            guard !mask.contains(type) else { throw error(info, "type", "'type' lists '\(name)' twice") }
            mask.insert(type)
        }
        return .type(mask, names: names)
    }

    private mutating func additionalProperties(
        _ value: JSONValue, in object: JSONObject, _ info: NodeInfo
    ) throws(SchemaError) -> AdditionalProperties {
        let key = "additionalProperties"
        let child = try schema(key, value, info, path: [key])
        let known = Set(object["properties"]?.objectValue?.keys ?? [])
        var patterns: [SchemaPattern] = []
        for source in object["patternProperties"]?.objectValue?.keys ?? [] {
            patterns.append(try pattern(source, "patternProperties", info))
        }
        return AdditionalProperties(node: value.boolValue == false ? nil : child, known: known, patterns: patterns)
    }
}
