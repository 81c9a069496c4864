import XGateJSON

/// A place in a schema document.
struct SchemaLocation: Hashable, Sendable {
    /// The registry key (or `$id`) of the document; empty for a standalone schema without `$id`.
    var document: String
    /// The unescaped JSON Pointer tokens from the document's root.
    var pointer: [String]
}

/// Turns schema documents into a ``SchemaProgram``.
///
/// Subschemas are compiled from a work list, never by recursion, and each place in a document is
/// compiled once: a `$ref` becomes the index of the node for its target, so recursive schemas work.
/// After compiling, a schema that would apply itself to the same instance forever (`{"$ref": "#"}`) is
/// refused.
struct SchemaCompiler {
    let options: SchemaOptions
    /// The documents `$ref` may reach, by key.
    let documents: [String: JSONValue]
    /// When true, a `$ref` to a document that is not registered (yet) is skipped rather than refused:
    /// used to check one schema when it is added to a registry.
    let toleratesMissingDocuments: Bool

    /// Resources (documents and subschemas with an absolute `$id`) by URI.
    var resources: [String: SchemaLocation] = [:]
    /// `$anchor`s by `<resource>#<name>`.
    var anchors: [String: SchemaLocation] = [:]
    var scannedDocuments: Set<String> = []

    var nodes: [SchemaNode] = []
    var infos: [NodeInfo] = []
    var nodeIndex: [SchemaLocation: Int] = [:]
    var pending: [Int] = []
    /// For each node, the nodes it applies to the same instance (`$ref`, `allOf`, `not`, `if`, …).
    var sameInstance: [[Int]] = []
    var patternCache: [String: SchemaPattern] = [:]

    /// What the compiler knows about a node while compiling it.
    struct NodeInfo {
        var location: SchemaLocation
        /// The resource `#…` fragments are resolved against.
        var resource: String
        var value: JSONValue
    }

    init(options: SchemaOptions, documents: [String: JSONValue], toleratesMissingDocuments: Bool = false) {
        self.options = options
        self.documents = documents
        self.toleratesMissingDocuments = toleratesMissingDocuments
    }

    /// Compiles the document under `key` and everything it references.
    mutating func compile(document key: String) throws(SchemaError) -> SchemaProgram {
        guard let value = documents[key] else {
            throw SchemaError(
                schemaID: key.isEmpty ? nil : key, location: .root, message: "no schema with id '\(key)' is registered")
        }
        try scan(key)
        let root = nodeID(at: SchemaLocation(document: key, pointer: []), value: value, resource: key)
        // First in, first out: errors are found in (breadth-first) document order.
        var next = 0
        while next < pending.count {
            let id = pending[next]
            next += 1
            nodes[id] = try compileNode(id)
        }
        try checkForInfiniteRecursion()
        return SchemaProgram(nodes: nodes, root: root)
    }

    /// The node for a place, allocated (and queued for compiling) on first use.
    mutating func nodeID(at location: SchemaLocation, value: JSONValue, resource: String) -> Int {
        if let id = nodeIndex[location] { return id }
        let id = nodes.count
        nodes.append(.always)
        infos.append(NodeInfo(location: location, resource: resource, value: value))
        sameInstance.append([])
        nodeIndex[location] = id
        pending.append(id)
        return id
    }

    /// The node for a subschema of `parent` at the relative `path`; a subschema with `$id` starts a resource.
    mutating func child(_ value: JSONValue, of parent: NodeInfo, path: [String]) -> Int {
        let pointer = parent.location.pointer + path
        var resource = parent.resource
        if case .string(let id)? = value["$id"] {
            resource = SchemaCompiler.resourceKey(forID: id, document: parent.location.document, pointer: pointer)
        }
        return nodeID(
            at: SchemaLocation(document: parent.location.document, pointer: pointer), value: value, resource: resource)
    }

    /// A compile error located at the schema being compiled.
    func error(_ info: NodeInfo, _ keyword: String?, _ message: String) -> SchemaError {
        SchemaError(
            schemaID: info.location.document.isEmpty ? nil : info.location.document,
            location: JSONPointer(tokens: info.location.pointer), keyword: keyword, message: message)
    }

    /// Refuses cycles of same-instance applications (`{"$ref": "#"}`, `$defs` that refer to each other
    /// without descending into the instance): evaluating them would never end.
    func checkForInfiniteRecursion() throws(SchemaError) {
        // 0: not visited, 1: on the current path, 2: done.
        var state = [UInt8](repeating: 0, count: nodes.count)
        for start in nodes.indices where state[start] == 0 {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            state[start] = 1
            while let top = stack.last {
                let edges = sameInstance[top.node]
                guard top.next < edges.count else {
                    state[top.node] = 2
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let target = edges[top.next]
                if state[target] == 1 {
                    let cycleStart = stack.firstIndex { $0.node == target } ?? 0
                    let path = (stack[cycleStart...].map(\.node) + [target]).map {
                        let pointer = JSONPointer(tokens: infos[$0].location.pointer)
                        return pointer.tokens.isEmpty ? "#" : "#" + pointer.description
                    }
                    throw error(
                        infos[top.node], "$ref",
                        "infinite recursion: \(path.joined(separator: " -> ")) applies to the same instance "
                            + "without descending into it")
                }
                if state[target] == 0 {
                    state[target] = 1
                    stack.append((target, 0))
                }
            }
        }
    }
}
