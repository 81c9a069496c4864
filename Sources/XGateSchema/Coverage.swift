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
