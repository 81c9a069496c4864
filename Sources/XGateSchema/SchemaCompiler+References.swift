import Foundation
import XGateJSON

extension SchemaCompiler {
    /// Records the resources (`$id`) and anchors (`$anchor`) of a document, walking its subschemas.
    mutating func scan(_ document: String) throws(SchemaError) {
        guard let root = documents[document], scannedDocuments.insert(document).inserted else { return }
        resources[document] = SchemaLocation(document: document, pointer: [])
        var stack: [(value: JSONValue, pointer: [String], resource: String)] = [(root, [], document)]
        while let (value, pointer, parentResource) = stack.popLast() {
            guard case .object(let object) = value else { continue }
            let location = SchemaLocation(document: document, pointer: pointer)
            var resource = parentResource
            if case .string(let id)? = object["$id"] {
                if pointer.isEmpty {
                    let alias = SchemaCompiler.trimmingEmptyFragment(id)
                    if SchemaCompiler.isAbsoluteURI(alias), resources[alias] == nil { resources[alias] = location }
                } else {
                    resource = SchemaCompiler.resourceKey(forID: id, document: document, pointer: pointer)
                    if resources[resource] == nil { resources[resource] = location }
                }
            }
            for keyword in ["$anchor", "$dynamicAnchor"] {
                if case .string(let anchor)? = object[keyword] { anchors[resource + "#" + anchor] = location }
            }
            for (key, child) in object.members {
                switch key {
                case "properties", "patternProperties", "$defs", "dependentSchemas":
                    guard case .object(let map) = child else { continue }
                    for (name, sub) in map.members { stack.append((sub, pointer + [key, name], resource)) }
                case "items", "additionalProperties", "propertyNames", "contains", "not", "if", "then", "else":
                    stack.append((child, pointer + [key], resource))
                case "prefixItems", "allOf", "anyOf", "oneOf":
                    guard case .array(let list) = child else { continue }
                    for (i, sub) in list.enumerated() { stack.append((sub, pointer + [key, String(i)], resource)) }
                default:
                    continue
                }
            }
        }
    }

    /// The node a `$ref` names, or nil when it names a document that is not there and that is tolerated.
    mutating func resolve(_ reference: String, from info: NodeInfo) throws(SchemaError) -> Int? {
        let hash = reference.firstIndex(of: "#")
        let uriPart = String(reference[..<(hash ?? reference.endIndex)])
        let rawFragment = hash.map { String(reference[reference.index(after: $0)...]) } ?? ""
        var resourceKey = info.resource
        if !uriPart.isEmpty {
            if resources[uriPart] == nil, documents[uriPart] != nil { try scan(uriPart) }
            guard resources[uriPart] != nil else {
                if toleratesMissingDocuments && SchemaCompiler.isAbsoluteURI(uriPart) { return nil }
                throw error(info, "$ref", "unresolvable $ref '\(reference)': no schema with id '\(uriPart)' is known")
            }
            resourceKey = uriPart
        }
        guard let base = resources[resourceKey] else {
            throw error(info, "$ref", "unresolvable $ref '\(reference)'")
        }
        let fragment = rawFragment.removingPercentEncoding ?? rawFragment
        var target = base
        if fragment.hasPrefix("/") {
            guard let pointer = JSONPointer(fragment) else {
                throw error(info, "$ref", "unresolvable $ref '\(reference)': bad JSON Pointer")
            }
            target.pointer += pointer.tokens
        } else if !fragment.isEmpty {
            guard let anchored = anchors[resourceKey + "#" + fragment] else {
                throw error(info, "$ref", "unresolvable $ref '\(reference)': no anchor '\(fragment)'")
            }
            target = anchored
        }
        guard let value = documents[target.document]?.value(at: JSONPointer(tokens: target.pointer)) else {
            throw error(info, "$ref", "unresolvable $ref '\(reference)': nothing is at that location")
        }
        guard value.boolValue != nil || value.objectValue != nil else {
            throw error(info, "$ref", "$ref '\(reference)' does not point at a schema (an object or a boolean)")
        }
        return nodeID(at: target, value: value, resource: resource(at: target))
    }

    /// The resource a place belongs to: that of the innermost enclosing subschema with an `$id`.
    func resource(at location: SchemaLocation) -> String {
        guard var current = documents[location.document] else { return location.document }
        var key = location.document
        for (i, token) in location.pointer.enumerated() {
            guard let next = current.value(at: JSONPointer(tokens: [token])) else { break }
            current = next
            if case .string(let id)? = current["$id"] {
                key = SchemaCompiler.resourceKey(
                    forID: id, document: location.document, pointer: Array(location.pointer[0...i]))
            }
        }
        return key
    }

    /// The key of the resource an embedded `$id` starts: the id itself when absolute, otherwise a key
    /// private to its place (relative ids are not resolved, but still scope `#…` references).
    static func resourceKey(forID id: String, document: String, pointer: [String]) -> String {
        let trimmed = trimmingEmptyFragment(id)
        if isAbsoluteURI(trimmed), !trimmed.contains("#") { return trimmed }
        return document + "#" + JSONPointer(tokens: pointer).description
    }

    /// `id` without a trailing empty fragment (`urn:x#` is `urn:x`).
    static func trimmingEmptyFragment(_ id: String) -> String {
        id.hasSuffix("#") ? String(id.dropLast()) : id
    }

    /// Whether `string` starts with a URI scheme (`urn:`, `https:`).
    static func isAbsoluteURI(_ string: String) -> Bool {
        guard let colon = string.firstIndex(of: ":"), colon != string.startIndex else { return false }
        let scheme = string[..<colon]
        guard let first = scheme.unicodeScalars.first, first.isASCIILetter else { return false }
        return scheme.unicodeScalars.allSatisfy {
            $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "+" || $0 == "-" || $0 == "."
        }
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
