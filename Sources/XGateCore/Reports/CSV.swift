/// One CSV cell, safe to open in a spreadsheet: quoted when it holds a separator, a quote or a line break, and a
/// leading `=`, `+`, `-`, `@`, tab or carriage return neutralised with `'` (CSV formula injection: a record's text
/// comes from other platforms).
public func csvCell(_ text: String) -> String {
    var value = text
    if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
    guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
    return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
