import XGateJSON

extension SchemaCompiler {
    /// A keyword value that must be a number.
    func number(_ key: String, _ value: JSONValue, _ info: NodeInfo) throws(SchemaError) -> Double {
        guard case .number(let n) = value else { throw error(info, key, "'\(key)' must be a number") }
        return n
    }

    /// A keyword value that must be a non-negative integer (`2.0` counts as `2`).
    func count(_ key: String, _ value: JSONValue, _ info: NodeInfo) throws(SchemaError) -> Int {
        guard case .number(let n) = value, n.isFinite, n >= 0, n.rounded(.towardZero) == n else {
            throw error(info, key, "'\(key)' must be a non-negative integer")
        }
        return n >= 9.0e18 ? Int.max : Int(n)
    }

    /// A keyword value that must be an array of unique strings.
    func uniqueStrings(_ key: String, _ value: JSONValue, _ info: NodeInfo) throws(SchemaError) -> [String] {
        guard case .array(let list) = value else {
            throw error(info, key, "'\(key)' must be an array of unique strings")
        }
        var seen = Set<String>()
        var strings: [String] = []
        for item in list {
            guard case .string(let s) = item, seen.insert(s).inserted else {
                throw error(info, key, "'\(key)' must be an array of unique strings")
            }
            strings.append(s)
        }
        return strings
    }

    /// A compiled pattern, shared between the places that use the same source.
    mutating func pattern(_ source: String, _ key: String, _ info: NodeInfo) throws(SchemaError) -> SchemaPattern {
        if let cached = patternCache[source] { return cached }
        do {
            let compiled = try SchemaPattern(source)
            patternCache[source] = compiled
            return compiled
        } catch {
            throw self.error(info, key, "'\(key)': \(error.message)")
        }
    }

    /// A keyword value that must be a schema; `path` locates it relative to the current schema.
    mutating func schema(
        _ key: String, _ value: JSONValue, _ info: NodeInfo, path: [String]
    ) throws(SchemaError) -> Int {
        guard value.boolValue != nil || value.objectValue != nil else {
            let name = path.joined(separator: "/")
            throw error(info, key, "'\(name)' must be a schema (an object or a boolean)")
        }
        return child(value, of: info, path: path)
    }

    /// A keyword value that must be a non-empty array of schemas.
    mutating func schemaList(_ key: String, _ value: JSONValue, _ info: NodeInfo) throws(SchemaError) -> [Int] {
        guard case .array(let list) = value, !list.isEmpty else {
            throw error(info, key, "'\(key)' must be a non-empty array of schemas")
        }
        var nodes: [Int] = []
        for (i, item) in list.enumerated() {
            nodes.append(try schema(key, item, info, path: [key, String(i)]))
        }
        return nodes
    }

    /// A keyword value that must be an object whose members are schemas.
    mutating func schemaMap(
        _ key: String, _ value: JSONValue, _ info: NodeInfo
    ) throws(SchemaError) -> [(name: String, node: Int)] {
        guard case .object(let map) = value else { throw error(info, key, "'\(key)' must be an object") }
        var nodes: [(name: String, node: Int)] = []
        for (name, item) in map.members {
            nodes.append((name, try schema(key, item, info, path: [key, name])))
        }
        return nodes
    }
}
