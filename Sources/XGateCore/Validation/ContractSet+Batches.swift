import XGateJSON
import XGateSchema

/// What a receiver learns from reading a batch before applying it: the envelope, and for each change either
/// the parsed change or why it is refused. One bad change never blocks the others.
public struct BatchInspection: Sendable {
    /// One change's verdict.
    public struct Entry: Sendable {
        public var index: Int
        public var change: Change?
        public var rejection: Rejection?
        /// Issues that do not refuse the change but ask a person to look (a possible trial USCC).
        public var reviews: [RecordIssue]
    }

    public var batch: BatchDocument
    public var entries: [Entry]

    /// The changes that may be applied.
    public var acceptedChanges: [(index: Int, change: Change)] {
        entries.compactMap { e in e.change.flatMap { e.rejection == nil ? (e.index, $0) : nil } }
    }
}

extension ContractSet {
    /// Puts identifiers in canonical form (NFKC, trimmed, upper-case) before validation, as a sending node does
    /// with a department's export. Receivers do not normalise: what was signed must already be canonical.
    public func normalisingIdentifiers(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(var object):
            for key in object.keys {
                guard let child = object[key] else { continue }
                if key == "uscc" || key == "idNumber", let text = child.stringValue {
                    object[key] = .string(IdentifierText.normalise(text))
                } else {
                    object[key] = normalisingIdentifiers(child)
                }
            }
            return .object(object)
        case .array(let elements):
            return .array(elements.map(normalisingIdentifiers))
        default:
            return value
        }
    }

    /// Checks a signed document's payload other than a batch (a feed page, an acknowledgement) against its schema,
    /// throwing `code` with the first error's location, keyword and message.
    public func checkDocument(_ json: JSONValue, against schemaID: String, code: String) throws(BatchError) {
        guard let validator = validator(for: schemaID) else {
            throw BatchError(code: "contracts.missing", message: "schema \(schemaID) is not loaded")
        }
        let errors = validator.validate(json)
        guard let first = errors.first else { return }
        let more = errors.count > 1 ? " (and \(errors.count - 1) more)" : ""
        let location = first.instanceLocation.description.isEmpty ? "/" : first.instanceLocation.description
        throw BatchError(code: code, message: "\(location): \(first.keyword): \(first.message)\(more) (\(schemaID))")
    }

    /// Reads a batch payload: refuses the whole batch only for an envelope that cannot be trusted, and judges
    /// every change on its own (schema, record contract, identifiers, authorship, and — with a registry — the
    /// sharing agreement from the batch's sender to its receiver, including masking).
    /// Without a registry, `policy` says which nodes are the city (default: none).
    public func inspect(
        batchPayload json: JSONValue, federation: Federation?, today: CivilDate? = nil, policy: MergePolicy? = nil
    ) throws(BatchError) -> BatchInspection {
        guard let batchValidator = validator(for: ContractSet.batchSchema) else {
            throw BatchError(code: "contracts.missing", message: "schema \(ContractSet.batchSchema) is not loaded")
        }
        var changeErrors: [Int: [ValidationError]] = [:]
        var envelopeErrors: [ValidationError] = []
        for error in batchValidator.validate(json) {
            let tokens = error.instanceLocation.tokens
            if tokens.count >= 2, tokens[0] == "changes", let index = Int(tokens[1]) {
                changeErrors[index, default: []].append(error)
            } else {
                envelopeErrors.append(error)
            }
        }
        if envelopeErrors.contains(where: { $0.keyword == "maxItems" && $0.instanceLocation.tokens == ["changes"] }) {
            throw BatchError(
                code: "batch.too-large",
                message:
                    "the batch carries \(json["changes"]?.arrayValue?.count ?? 0) changes; at most \(BatchDocument.maximumChanges) are accepted"
            )
        }
        if let first = envelopeErrors.first {
            let more = envelopeErrors.count > 1 ? " (and \(envelopeErrors.count - 1) more)" : ""
            throw BatchError(
                code: "batch.schema",
                message:
                    "\(first.instanceLocation.description.isEmpty ? "/" : first.instanceLocation.description): \(first.keyword): \(first.message)\(more)"
            )
        }
        let batch = try BatchDocument(json: json)
        let entries = judge(
            changes: batch.changes, schemaErrors: changeErrors, from: batch.from, to: batch.to, signedAt: batch.createdAt,
            federation: federation, today: today, policy: policy)
        return BatchInspection(batch: batch, entries: entries)
    }

    /// Judges the changes of a pulled feed page exactly as a pushed batch's from the publisher (§4.5): each against the
    /// change schema, then the record contract, authorship and the agreement from the page's `from` to its `to`.
    public func inspect(feedPage page: FeedPageDocument, federation: Federation?, today: CivilDate? = nil) throws(BatchError)
        -> [BatchInspection.Entry]
    {
        guard let changeValidator = validator(for: ContractSet.changeSchema) else {
            throw BatchError(code: "contracts.missing", message: "schema \(ContractSet.changeSchema) is not loaded")
        }
        var errors: [Int: [ValidationError]] = [:]
        for (index, change) in page.changes.enumerated() {
            let found = changeValidator.validate(change)
            if !found.isEmpty {
                // As inside a batch: locations under /changes/<index>.
                errors[index] = found.map { error in
                    var moved = error
                    moved.instanceLocation = JSONPointer(tokens: ["changes", String(index)] + error.instanceLocation.tokens)
                    return moved
                }
            }
        }
        return judge(
            changes: page.changes, schemaErrors: errors, from: page.from, to: page.to, signedAt: page.createdAt, federation: federation,
            today: today, policy: nil)
    }

    /// Judges each change on its own: its schema errors (located under `/changes/<i>`), its shape, then ``judge(_:from:to:signedAt:federation:policy:today:)``.
    func judge(
        changes: [JSONValue], schemaErrors: [Int: [ValidationError]], from: String, to: String, signedAt: Timestamp,
        federation: Federation?, today: CivilDate?, policy: MergePolicy?
    ) -> [BatchInspection.Entry] {
        let policy = federation?.mergePolicy(catalogue: catalogue) ?? policy ?? MergePolicy(cityNodes: [], listKinds: catalogue.listKinds)
        var entries: [BatchInspection.Entry] = []
        for (index, raw) in changes.enumerated() {
            if let errors = schemaErrors[index], let first = errors.first {
                let relative = JSONPointer(tokens: Array(first.instanceLocation.tokens.dropFirst(2)))
                entries.append(
                    .init(
                        index: index, change: nil,
                        rejection: Rejection(code: "schema." + first.keyword, field: relative, message: RecordIssue.message(for: first)),
                        reviews: []))
                continue
            }
            let change: Change
            do {
                change = try Change(json: raw)
            } catch {
                entries.append(
                    .init(
                        index: index, change: nil, rejection: Rejection(code: "change.format", field: error.field, message: error.message),
                        reviews: []))
                continue
            }
            let (rejection, reviews) = judge(change, from: from, to: to, signedAt: signedAt, federation: federation, policy: policy, today: today)
            entries.append(.init(index: index, change: change, rejection: rejection, reviews: reviews))
        }
        return entries
    }

    func judge(_ change: Change, from sender: String, to receiver: String, signedAt: Timestamp, federation: Federation?, policy: MergePolicy, today: CivilDate?) -> (
        Rejection?, [RecordIssue]
    ) {
        let recordPointer = JSONPointer(tokens: ["content", "record"])
        var reviews: [RecordIssue] = []
        if let content = change.content {
            let issues = self.issues(inRecord: content.record, today: today)
            if let error = issues.first(where: { $0.severity == .error }) { return (error.rejection(under: recordPointer), []) }
            reviews = issues.filter { $0.severity == .review }
        }
        if let rejection = Merge.authorise(change, policy: policy) { return (rejection, reviews) }
        // Only the city relays others' changes; any other node sends only what it wrote itself. (Authors are claims
        // until origin proofs exist; this keeps a district or partner from speaking for another node.)
        if !policy.cityNodes.contains(sender) {
            if let author = change.content?.author, author != sender {
                return (
                    Rejection(
                        code: "change.author-not-sender", field: JSONPointer(tokens: ["content", "author"]),
                        message: "\(sender) may only send changes it wrote; the content is authored by \(author)"), reviews
                )
            }
            if change.status.author != sender {
                return (
                    Rejection(
                        code: "change.author-not-sender", field: JSONPointer(tokens: ["status", "author"]),
                        message: "\(sender) may only send changes it wrote; the status is authored by \(change.status.author)"), reviews
                )
            }
        }
        guard let federation else { return (nil, reviews) }
        guard let content = change.content else {
            // A status-only change carries no record content and is not routed by kind (a correction must reach every
            // node that ever held the record), but the two nodes must be partners under some agreement.
            guard federation.arePartners(sender, receiver) else {
                return (
                    Rejection(
                        code: "agreement.not-permitted", field: JSONPointer(tokens: ["status"]),
                        message: "no sharing agreement connects \(sender) and \(receiver) in either direction"), reviews
                )
            }
            return (nil, reviews)
        }
        let subjectType = content.record["subject"]?["type"]?.stringValue ?? ""
        guard
            let permission = federation.permission(
                from: sender, to: receiver, kind: change.key.kind, subjectType: subjectType, on: signedAt.chinaDate)
        else {
            return (
                Rejection(
                    code: "agreement.not-permitted", field: JSONPointer(tokens: ["key", "kind"]),
                    message:
                        "no sharing agreement lets \(sender) send \(change.key.kind) records about a \(subjectType) subject to \(receiver)"
                ), reviews
            )
        }
        for path in permission.withhold.sorted() {
            if let pointer = JSONPointer(path), content.record.value(at: pointer) != nil {
                return (
                    Rejection(
                        code: "agreement.field-withheld", field: recordPointer.appending(pointer),
                        message: "the agreements (\(permission.agreements.joined(separator: ", "))) withhold this field from \(receiver)"),
                    reviews
                )
            }
        }
        for path in permission.mask.sorted() {
            guard let pointer = JSONPointer(path), let value = content.record.value(at: pointer)?.stringValue else { continue }
            let masked = Federation.maskedText(value, field: pointer.tokens.last ?? "")
            if value != masked {
                return (
                    Rejection(
                        code: "agreement.field-not-masked", field: recordPointer.appending(pointer),
                        message:
                            "the agreements (\(permission.agreements.joined(separator: ", "))) give \(receiver) this field masked only; it arrived in full"
                    ), reviews
                )
            }
        }
        return (nil, reviews)
    }
}
