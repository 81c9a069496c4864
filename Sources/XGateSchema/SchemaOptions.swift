/// How schemas are compiled and which optional behaviours are asserted.
public struct SchemaOptions: Sendable, Equatable {
    /// Whether `format` is an assertion for the formats this validator knows (`date`, `date-time`).
    /// When false, every `format` is an annotation and never fails validation. Default true.
    public var assertFormats: Bool = true

    /// Whether compiling a schema that uses an unknown keyword is a ``SchemaError``.
    ///
    /// Keywords starting with `x-` are always allowed. The default (false) is the specification's
    /// behaviour: unknown keywords are ignored. Turning this on catches typos (`"minLenght"`) in schemas
    /// that are deployed as data.
    public var rejectUnknownKeywords: Bool = false

    /// Creates options.
    /// - Parameters:
    ///   - assertFormats: whether `date` and `date-time` formats are asserted.
    ///   - rejectUnknownKeywords: whether unknown keywords (other than `x-…`) are a schema error.
    public init(assertFormats: Bool = true, rejectUnknownKeywords: Bool = false) {
        self.assertFormats = assertFormats
        self.rejectUnknownKeywords = rejectUnknownKeywords
    }
}
