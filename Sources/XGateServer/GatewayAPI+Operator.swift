import Foundation
import HTTPTypes
import Hummingbird
import XGateCore
import XGateEngine
import XGateJSON

/// The operator endpoints (`/v1/operator/…`, bearer token): per-peer status, the sync log, records with their
/// lineage, conflicts, corrections, rejections, and the actions (submit an export, decide a status, resolve a
/// conflict, requeue a dead batch).
extension GatewayAPI {
    func addOperatorRoutes(to group: RouterGroup<GatewayContext>) {
        group.get("status") { _, _ in try await peerStatus() }
        group.get("log") { request, _ in try await log(request) }
        group.get("rejections") { request, _ in try await rejections(request) }
        group.get("records/:owner/:kind/:sourceId") { _, context in try await record(key(context)) }
        group.post("records") { request, _ in try await submit(request) }
        group.post("records/:owner/:kind/:sourceId/status") { request, context in try await decide(request, key: key(context)) }
        group.get("conflicts") { _, _ in try await conflicts() }
        group.post("conflicts/:owner/:kind/:sourceId/resolve") { request, context in try await resolve(request, key: key(context)) }
        group.get("corrections") { request, _ in try await corrections(request) }
        group.post("requeue") { request, _ in try await requeue(request) }
        group.get("alerts") { _, _ in try await alertsResponse() }
        group.get("reports/timeliness") { request, _ in try await timelinessReport(request) }
    }

    func key(_ context: GatewayContext) throws -> RecordKey {
        guard let owner = context.parameters.get("owner"), let kind = context.parameters.get("kind"),
            let sourceId = context.parameters.get("sourceId")
        else { throw Problem(.badRequest, code: "request.parameter", detail: "the record key needs owner, kind and sourceId") }
        return RecordKey(owner: owner, kind: kind, sourceId: sourceId.removingPercentEncoding ?? sourceId)
    }

    /// The largest body of an operator command (a status decision, a resolution, a requeue).
    static let operatorBodyLimit = 65_536

    /// The JSON body of an operator request: an object with no members but `allowed` (Contracts/openapi.yaml).
    func body(_ request: Request, allowed: Set<String>) async throws -> JSONValue {
        try requireContentType(request, ["application/json"])
        let value: JSONValue = try await withBody(request, caller: "operator", limit: Self.operatorBodyLimit) { bytes in
            do {
                return try JSONParser().parse(bytes)
            } catch {
                throw Problem(.badRequest, code: "request.json", detail: "the body is not JSON: \(error)")
            }
        }
        guard case .object(let object) = value else {
            throw Problem(.badRequest, code: "request.json", detail: "the body must be a JSON object")
        }
        if let unknown = object.keys.first(where: { !allowed.contains($0) }) {
            throw Problem(
                .badRequest, code: "request.field",
                detail: "unknown member \"\(unknown)\"; this request takes \(allowed.sorted().joined(separator: ", "))")
        }
        return value
    }

    /// A query parameter that must be a whole number ≥ `minimum` when present.
    func wholeNumber(_ request: Request, _ name: String, minimum: Int) throws -> Int? {
        guard let parameter = request.uri.queryParameters.get(name) else { return nil }
        let text = String(parameter)
        // Digits only; a number past Int's range means "as many as there are" (the schema sets no maximum).
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let value = Int(text) ?? Optional(Int.max), value >= minimum
        else {
            throw Problem(.badRequest, code: "request.parameter", detail: "\(name) must be a whole number ≥ \(minimum), not \"\(text)\"")
        }
        return value
    }

    func requiredString(_ value: JSONValue, _ member: String) throws -> String {
        guard let text = value[member]?.stringValue, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Problem(.badRequest, code: "request.field", detail: "the body needs \"\(member)\" (text)")
        }
        return text
    }

    func peerStatusValue() async throws -> JSONValue {
        let engine = self.engine
        let now = engine.clock.now()
        let me = engine.node.id
        let rows = try await offload.read {
            try await engine.store.read { reader -> [JSONValue] in
                return try await NodeHealth.peers(reader, engine: engine, pullFrom: pullFrom).asyncMap { peer in
                    let queue = try await NodeHealth.PeerHealth.read(peer, reader, engine: engine, now: now)
                    let entry = board.entry(peer)
                    return await [
                        "peer": .string(peer), "queueDepth": .number(Double(queue.queueDepth)),
                        "batchesInFlight": .number(Double(queue.pendingBatches)), "deadBatches": .number(Double(queue.deadBatches)),
                        "lagSeconds": .number(Double(queue.lagSeconds)),
                        "acknowledgementsOwed": .number(Double(queue.acknowledgementsOwed)),
                        "nextOutboundSequence": .number(Double(try reader.nextOutboundSequence(peer: peer))),
                        "expectedInboundSequence": .number(Double(try reader.expectedInboundSequence(from: peer))),
                        "lastSuccess": entry.lastSuccess.map { .string($0.text) } ?? .null,
                        "lastError": entry.lastError.map(JSONValue.string) ?? queue.pendingBatchError.map(JSONValue.string) ?? .null,
                        "lastErrorAt": entry.lastErrorAt.map { .string($0.text) } ?? .null, "circuit": .string(entry.circuit),
                        "feedCursor": try await reader.feedPosition(subscriber: me, feed: peer).map(JSONValue.string) ?? .null,
                    ]
                }
            }
        }
        return jsonValue(["node": .string(me), "at": .string(now.text), "peers": .array(rows)])
    }

    func logValue(_ request: Request) async throws -> JSONValue {
        let parameters = request.uri.queryParameters
        let peer = parameters.get("peer").map { String($0) }
        if let peer, !NodeId.isValid(peer) {
            throw Problem(
                .badRequest, code: "request.parameter",
                detail: "peer must be a node id like sh-xuhui (at most \(NodeId.maximumLength) characters), not \"\(peer.prefix(80))\"")
        }
        let event = parameters.get("event").map { String($0) }
        let after = Int64(try wholeNumber(request, "after", minimum: 0) ?? 0)
        let limit = min(try wholeNumber(request, "limit", minimum: 1) ?? 200, 10_000)
        let since: Int64? = try parameters.get("since").map { text in
            guard let time = Timestamp(String(text)) else {
                throw Problem(.badRequest, code: "request.parameter", detail: "since must be an RFC 3339 date-time, not \"\(text)\"")
            }
            return time.seconds
        }
        let engine = self.engine
        let entries = try await offload.read {
            try await engine.store.read { reader -> [SyncLogEntry] in
                var result: [SyncLogEntry] = []
                var position = after
                while result.count < limit {
                    let page = try await reader.log(after: position, peer: peer, limit: 1000)
                    guard let last = page.last else { break }
                    position = last.id
                    for entry in page
                    where (since.map { entry.at.seconds >= $0 } ?? true) && (event.map { entry.event.hasPrefix($0) } ?? true) {
                        result.append(entry)
                        if result.count == limit { break }
                    }
                }
                return result
            }
        }
        return jsonValue(["entries": .array(entries.map { $0.json })])
    }

    func rejectionsValue(_ request: Request) async throws -> JSONValue {
        try await rejectionsValue(limit: min(try wholeNumber(request, "limit", minimum: 1) ?? 200, 10_000))
    }

    func rejectionsValue(limit: Int) async throws -> JSONValue {
        let engine = self.engine
        let entries = try await offload.read { try await engine.store.read { try await $0.rejections(limit: limit) } }
        return jsonValue(["rejections": .array(entries.map { $0.json })])
    }

    func recordValue(_ key: RecordKey) async throws -> JSONValue {
        let engine = self.engine
        let result = try await offload.read {
            try await engine.store.read { reader -> JSONValue? in
                guard let stored = try await reader.record(key) else { return nil }
                return await [
                    "key": key.json, "localSequence": .number(Double(stored.localSequence)), "status": stored.state.status.json,
                    "state": stored.state.storedJSON,
                    "lineage": .array(try reader.lineage(of: key).map(\.json)),
                    await "corrections": .array(try reader.corrections(of: key).map(\.json)),
                    await "history": .array(
                        try reader.history(of: key).map { entry -> JSONValue in
                            var item = JSONObject([
                                ("part", .string(entry.part.rawValue)), ("version", .number(Double(entry.version))),
                                ("digest", .string(entry.digest.description)), ("source", .string(entry.source)),
                                ("at", .string(entry.at.text)),
                            ])
                            if entry.part == .content, let override = entry.value["override"] { item["override"] = override }
                            return .object(item)
                        }),
                ]
            }
        }
        guard let result else { throw Problem(.notFound, code: "record.unknown", detail: "this node holds no record \(key)") }
        return jsonValue(result)
    }

    /// POST /v1/operator/records: a department's export — a JSON array of record documents, or NDJSON (one per line).
    func submit(_ request: Request) async throws -> Response {
        try requireContentType(request, ["application/json", "application/x-ndjson"])
        let ndjson = request.headers[.contentType]?.lowercased().hasPrefix("application/x-ndjson") ?? false
        return try await withBody(request, caller: "operator") { bytes in try await submit(bytes, ndjson: ndjson) }
    }

    func submit(_ bytes: [UInt8], ndjson: Bool) async throws -> Response {
        guard bytes.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else {
            throw Problem(.badRequest, code: "request.json", detail: "the body is empty: send a JSON array of records or NDJSON")
        }
        var records: [JSONValue] = []
        let parser = JSONParser()
        if !ndjson {
            do {
                guard let array = try parser.parse(bytes).arrayValue else {
                    throw Problem(
                        .badRequest, code: "request.json",
                        detail: "an application/json export is a JSON array of records (send NDJSON as application/x-ndjson)")
                }
                if let index = array.firstIndex(where: { $0.objectValue == nil }) {
                    throw Problem(
                        .badRequest, code: "request.json", detail: "item \(index) of the array is not a record object; nothing was taken")
                }
                records = array
            } catch let problem as Problem {
                throw problem
            } catch {
                throw Problem(.badRequest, code: "request.json", detail: "the export is not a JSON array: \(error)")
            }
        } else {
            for (number, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                let value: JSONValue
                do {
                    value = try parser.parse(Array(line))
                } catch {
                    throw Problem(.badRequest, code: "request.json", detail: "line \(number + 1) is not JSON: \(error); nothing was taken")
                }
                guard value.objectValue != nil else {
                    throw Problem(.badRequest, code: "request.json", detail: "line \(number + 1) is not a record object; nothing was taken")
                }
                records.append(value)
            }
        }
        guard records.count <= 10_000 else {
            throw Problem(.contentTooLarge, code: "request.too-many-records", detail: "at most 10000 records per request; split the export")
        }
        let engine = self.engine
        let export = records
        let results = try await engineCall { try await offload.write { try await engine.submit(records: export) } }
        board.work.signal()
        var summary: [String: Int] = [:]
        let items: [JSONValue] = results.map { result in
            summary[result.outcome.name, default: 0] += 1
            var item: [(key: String, value: JSONValue)] = [
                ("index", .number(Double(result.index))), ("key", result.key?.json ?? .null), ("outcome", .string(result.outcome.name)),
            ]
            if case .rejected(let rejection) = result.outcome {
                item.append(("code", .string(rejection.code)))
                item.append(("field", rejection.field.map { .string($0.description) } ?? .null))
                item.append(("message", .string(rejection.message)))
            }
            if !result.reviews.isEmpty { item.append(("reviews", .array(result.reviews.map { .string($0.rule) }))) }
            return .object(JSONObject(item))
        }
        return json([
            "records": .number(Double(records.count)),
            "summary": .object(JSONObject(summary.keys.sorted().map { ($0, .number(Double(summary[$0]!))) })), "results": .array(items),
        ])
    }

    func decide(_ request: Request, key: RecordKey) async throws -> Response {
        let value = try await body(request, allowed: ["status", "reason", "basis", "reasonCode"])
        let statusText = try requiredString(value, "status")
        guard let status = RecordStatus(rawValue: statusText) else {
            throw Problem(
                .badRequest, code: "request.field",
                detail: "\"\(statusText)\" is not a status (active, disputed, repaired, repair-revoked, revoked, expired, exited)")
        }
        let reason = try requiredString(value, "reason")
        let basis = try requiredString(value, "basis")
        let reasonCode = value["reasonCode"]?.stringValue
        let engine = self.engine
        let state = try await engineCall {
            try await offload.write { try await engine.decide(key, status: status, reason: reason, basis: basis, reasonCode: reasonCode) }
        }
        board.work.signal()
        return json(["key": key.json, "status": state.status.json, "state": state.storedJSON])
    }

    func conflictsValue() async throws -> JSONValue {
        let engine = self.engine
        let records = try await offload.read { try await engine.store.read { try await $0.conflictedRecords(limit: 1000) } }
        return jsonValue(["conflicts": .array(records.map { ["key": $0.state.key.json, "state": $0.state.storedJSON] })])
    }

    func resolve(_ request: Request, key: RecordKey) async throws -> Response {
        let value = try await body(request, allowed: ["digest"])
        let text = try requiredString(value, "digest")
        guard let digest = Digest(text) else {
            throw Problem(.badRequest, code: "request.field", detail: "digest must be sha256:<64 hex digits>, not \"\(text)\"")
        }
        let engine = self.engine
        let state = try await engineCall { try await offload.write { try await engine.resolveConflict(key, choosing: digest) } }
        board.work.signal()
        return json(["key": key.json, "status": state.status.json, "state": state.storedJSON])
    }

    func correctionsValue(_ request: Request) async throws -> JSONValue {
        let pendingOnly: Bool
        switch request.uri.queryParameters.get("pending").map({ String($0) }) {
        case nil, "false", "0": pendingOnly = false
        case "true", "1": pendingOnly = true
        case let other?:
            throw Problem(.badRequest, code: "request.parameter", detail: "pending must be true or false, not \"\(other)\"")
        }
        let engine = self.engine
        let now = engine.clock.now()
        let deadline = engine.configuration.correctionDeadlineSeconds
        let items = try await offload.read {
            try await engine.store.read { reader -> [CorrectionTracking] in
                await pendingOnly
                    ? try reader.unacknowledgedCorrections(sentBefore: Timestamp(seconds: now.seconds + 1))
                    : try reader.recentCorrections(limit: 10_000)
            }
        }
        let rows: [JSONValue] = items.map { item in
            var value = item.json
            if case .object(var object) = value {
                object["overdue"] = .bool(item.acknowledgedAt == nil && now.seconds - item.sentAt.seconds > deadline)
                value = .object(object)
            }
            return value
        }
        return jsonValue(["corrections": .array(rows)])
    }

    func requeue(_ request: Request) async throws -> Response {
        let value = try await body(request, allowed: ["peer", "sequence"])
        let peer = try requiredString(value, "peer")
        // JSON numbers are read as doubles: past 2^53 two sequences would be one, so the contract stops there.
        guard let sequence = value["sequence"]?.numberValue.flatMap({ Int(exactly: $0) }), (1...9_007_199_254_740_991).contains(sequence)
        else {
            throw Problem(
                .badRequest, code: "request.field", detail: "the body needs \"sequence\" (a whole number from 1 to 9007199254740991)")
        }
        let engine = self.engine
        try await engineCall { try await offload.write { try await engine.requeue(peer: peer, sequence: sequence) } }
        board.work.signal()
        return json(["peer": .string(peer), "sequence": .number(Double(sequence)), "requeued": true])
    }
}

// The operator endpoints answer the same values the console renders.
extension GatewayAPI {
    func peerStatus() async throws -> Response { json(try await peerStatusValue()) }
    func log(_ request: Request) async throws -> Response { json(try await logValue(request)) }
    func rejections(_ request: Request) async throws -> Response { json(try await rejectionsValue(request)) }
    func record(_ key: RecordKey) async throws -> Response { json(try await recordValue(key)) }
    func conflicts() async throws -> Response { json(try await conflictsValue()) }
    func corrections(_ request: Request) async throws -> Response { json(try await correctionsValue(request)) }
}
