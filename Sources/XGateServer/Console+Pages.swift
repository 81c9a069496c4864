import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import XGateCore
import XGateEngine
import XGateJSON

/// The web console (`/console`): the same values as the operator API, as pages. Login with the operator token.
extension GatewayAPI {
    func addConsoleRoutes(to router: Router<GatewayContext>) {
        router.get("console/login") { request, _ in loginPage(failed: request.uri.queryParameters.get("failed") != nil) }
        router.post("console/login") { request, _ in try await login(request) }
        let console = router.group("console").add(middleware: ConsoleAuthenticationMiddleware(sessions: sessions))
        console.get("") { _, context in try await peersPage(context) }
        console.get("log") { request, context in try await logPage(request, context) }
        console.get("rejections") { request, context in try await rejectionsPage(request, context) }
        console.get("conflicts") { _, context in try await conflictsPage(context) }
        console.post("conflicts/resolve") { request, context in try await resolveFromConsole(request, context) }
        console.get("corrections") { request, context in try await correctionsPage(request, context) }
        console.get("records/:owner/:kind/:sourceId") { _, context in try await recordPage(try key(context), context) }
        console.get("reports/timeliness") { request, context in try await timelinessPage(request, context) }
        console.get("charts") { request, context in try await chartsPage(request, context) }
        console.get("batches/:batchId") { _, context in
            try await batchPage(context.parameters.get("batchId") ?? "", context)
        }
        console.post("logout") { request, _ in
            if let id = ConsoleAuthenticationMiddleware.sessionID(request) { sessions.close(id) }
            return redirect(
                "/console/login", cookie: "\(ConsoleSessions.cookie)=; Path=/console; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
        }
    }

    func loginPage(failed: Bool) -> Response {
        let body = """
            <p>Operators of \(html(engine.node.id)) sign in with the operator token (the file named by <code>operator.tokenFile</code>).</p>
            \(failed ? "<p class=\"bad\">That token is not this node's operator token.</p>" : "")
            <form method="post" action="/console/login"><label>Operator token <input type="password" name="token" autofocus
            autocomplete="current-password" size="48"></label> <button type="submit">Sign in</button></form>
            """
        return consolePage(title: "Sign in", node: engine.node.id, alerts: [], body: body)
    }

    func login(_ request: Request) async throws -> Response {
        let fields = try await withBody(request, caller: "console", limit: Self.operatorBodyLimit) { formFields($0) }
        guard let token = fields["token"], access.acceptsOperatorToken(token) else {
            try limiter.admit("console-login-failed")  // failures only: nobody can lock operators out by posting
            return redirect("/console/login?failed=1")
        }
        let session = sessions.open()
        return redirect(
            "/console",
            cookie:
                "\(ConsoleSessions.cookie)=\(session.id); Path=/console; Max-Age=\(Int(ConsoleSessions.lifetime)); HttpOnly; Secure; SameSite=Strict"
        )
    }

    /// A page with the standing alerts in its banner.
    func page(_ title: String, _ body: String) async throws -> Response {
        consolePage(title: title, node: engine.node.id, alerts: alerts(from: try await health()), body: body)
    }

    func recordLink(_ key: JSONValue?) -> String {
        guard let owner = key?["owner"]?.stringValue, let kind = key?["kind"]?.stringValue, let sourceId = key?["sourceId"]?.stringValue
        else { return "–" }
        let encoded =
            sourceId.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? sourceId
        return
            "<a href=\"/console/records/\(html(owner))/\(html(kind))/\(html(encoded))\">\(html(owner))/\(html(kind))/\(html(sourceId))</a>"
    }

    func peersPage(_ context: GatewayContext) async throws -> Response {
        let status = try await peerStatusValue()
        let rows = (status["peers"]?.arrayValue ?? []).map { peer -> [String] in
            let circuit = peer["circuit"]?.stringValue ?? ""
            return [
                "<a href=\"/console/log?peer=\(cell(peer["peer"]))\">\(cell(peer["peer"]))</a>", cell(peer["queueDepth"]),
                cell(peer["batchesInFlight"]),
                (peer["deadBatches"]?.numberValue ?? 0) > 0 ? "<span class=\"bad\">\(cell(peer["deadBatches"]))</span>" : "0",
                cell(peer["lagSeconds"]), cell(peer["acknowledgementsOwed"]), cell(peer["lastSuccess"]),
                peer["lastError"]?.stringValue.map { "<span class=\"bad\">\(html($0))</span> (\(cell(peer["lastErrorAt"])))" } ?? "–",
                circuit == "closed" ? "<span class=\"ok\">closed</span>" : "<span class=\"bad\">\(html(circuit))</span>",
                cell(peer["nextOutboundSequence"]), cell(peer["expectedInboundSequence"]),
            ]
        }
        let body =
            "<p>At \(cell(status["at"])). Lag is the age of the oldest change or batch waiting for the peer.</p>"
            + htmlTable(
                [
                    "Peer", "Queue depth", "Batches in flight", "Dead", "Lag (s)", "Acks owed", "Last success", "Last error", "Circuit",
                    "Next seq out", "Expected seq in",
                ], rows)
                + """
                <p>A record's lineage: <code>/console/records/&lt;owner&gt;/&lt;kind&gt;/&lt;sourceId&gt;</code>, linked from every page that names a record.</p>
                <form method="post" action="/console/logout"><button type="submit">Sign out</button></form>
                """
        return try await page("Peers", body)
    }

    func logPage(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let value = try await logValue(request)
        let parameters = request.uri.queryParameters
        func field(_ name: String) -> String { html(parameters.get(name).map { String($0) } ?? "") }
        let form = """
            <form method="get" action="/console/log">Peer <input name="peer" value="\(field("peer"))" size="12">
            Event <input name="event" value="\(field("event"))" size="16" placeholder="batch. feed. correction">
            Since <input name="since" value="\(field("since"))" size="26" placeholder="2026-11-23T00:00:00+08:00">
            <button type="submit">Filter</button></form>
            """
        let rows = (value["entries"]?.arrayValue ?? []).map { entry in
            [
                cell(entry["id"]), cell(entry["at"]), cell(entry["peer"]), cell(entry["event"]),
                entry["batchId"]?.stringValue.map { "<a href=\"/console/batches/\(html($0))\">\(html($0))</a>" } ?? "–",
                cell(entry["detail"]),
            ]
        }
        return try await page("Sync log", form + htmlTable(["#", "At", "Peer", "Event", "Batch", "Detail"], rows))
    }

    func rejectionsPage(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let exporting = request.uri.queryParameters.get("format") == "csv"
        let value = try await rejectionsValue(limit: exporting ? 10_000 : 200)
        let entries = value["rejections"]?.arrayValue ?? []
        if exporting {
            // For the department to fix: one line per refused record, with the rule and the field.
            var csv = "at,peer,batch,index,owner,kind,source_id,code,field,message\n"
            for entry in entries {
                let fields = [
                    entry["at"], entry["peer"], entry["batchId"], entry["index"], entry["key"]?["owner"], entry["key"]?["kind"],
                    entry["key"]?["sourceId"], entry["code"], entry["field"], entry["message"],
                ]
                csv +=
                    fields.map { value in csvCell(value.flatMap { $0.isNull ? nil : ($0.stringValue ?? cellText($0)) } ?? "") }
                    .joined(separator: ",") + "\n"
            }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"rejections-\(engine.node.id).csv\"",
                ],
                body: .init(byteBuffer: ByteBuffer(string: csv)))
        }
        let rows = entries.map { entry in
            [
                cell(entry["at"]), cell(entry["peer"]), recordLink(entry["key"]), "<code>\(cell(entry["code"]))</code>",
                cell(entry["field"]),
                cell(entry["message"]),
            ]
        }
        return try await page(
            "Rejected records",
            "<p><a href=\"/console/rejections?format=csv\">Export as CSV</a> for the department to fix.</p>"
                + htmlTable(["At", "From", "Record", "Rule", "Field", "Reason"], rows))
    }

    func conflictsPage(_ context: GatewayContext) async throws -> Response {
        let value = try await conflictsValue()
        var body =
            "<p>Two versions with the same number: the deterministic winner is held; the other is kept beside it. Choosing one"
            + " makes it a new version that travels to every holder.</p>"
        let records = value["conflicts"]?.arrayValue ?? []
        if records.isEmpty { body += "<p class=\"ok\">No conflicts.</p>" }
        for record in records {
            let key = record["key"]
            let state = record["state"]
            let held = state?["content"]
            body += "<h2>\(recordLink(key))</h2>"
            for conflict in state?["conflicts"]?.arrayValue ?? [] {
                let loser = conflict["loser"]?.stringValue ?? ""
                let heldDigest = held.map { Digest(canonical: $0["record"] ?? .null).description } ?? ""
                if conflict["part"]?.stringValue == "content" {
                    let differing = jsonDifferences(held?["record"] ?? .null, conflict["value"]?["record"] ?? .null).map {
                        ["<code>\(html($0.path))</code>", cell($0.held), cell($0.other)]
                    }
                    body += "<p>Fields that differ:</p>" + htmlTable(["Field", "Held", "Other"], differing)
                }
                body +=
                    "<div class=\"side\"><div><strong>Held</strong> (\(cell(conflict["part"])) version \(cell(conflict["version"])))"
                    + preJSON(held)
                    + resolveForm(key, digest: heldDigest, csrf: context.csrf) + "</div>"
                    + "<div><strong>Other</strong> <code>\(html(loser))</code>" + preJSON(conflict["value"])
                    + resolveForm(key, digest: loser, csrf: context.csrf) + "</div></div>"
            }
        }
        return try await page("Conflicts", body)
    }

    func resolveForm(_ key: JSONValue?, digest: String, csrf: String) -> String {
        """
        <form method="post" action="/console/conflicts/resolve"><input type="hidden" name="csrf" value="\(html(csrf))">
        <input type="hidden" name="owner" value="\(cell(key?["owner"]))"><input type="hidden" name="kind" value="\(cell(key?["kind"]))">
        <input type="hidden" name="sourceId" value="\(cell(key?["sourceId"]))"><input type="hidden" name="digest" value="\(html(digest))">
        <button type="submit">Keep this version</button></form>
        """
    }

    func resolveFromConsole(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let fields = try await withBody(request, caller: "console", limit: Self.operatorBodyLimit) { formFields($0) }
        guard fields["csrf"] == context.csrf, !context.csrf.isEmpty else {
            throw Problem(.forbidden, code: "console.csrf", detail: "the form is not from this console session; reload the page")
        }
        guard let owner = fields["owner"], let kind = fields["kind"], let sourceId = fields["sourceId"],
            let digest = fields["digest"].flatMap(Digest.init)
        else { throw Problem(.badRequest, code: "request.field", detail: "owner, kind, sourceId and digest are required") }
        let key = RecordKey(owner: owner, kind: kind, sourceId: sourceId)
        let engine = self.engine
        _ = try await engineCall { try await offload.write { try await engine.resolveConflict(key, choosing: digest) } }
        board.work.signal()
        return redirect("/console/conflicts")
    }

    func correctionsPage(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let value = try await correctionsValue(request)
        let rows = (value["corrections"]?.arrayValue ?? []).map { item -> [String] in
            let acknowledged = item["acknowledgedAt"].flatMap { $0.isNull ? nil : $0 }
            return [
                recordLink(item["key"]), cell(item["status"]), cell(item["statusVersion"]), cell(item["peer"]), cell(item["sentAt"]),
                acknowledged.map { "<span class=\"ok\">\(cell($0))</span>" }
                    ?? ((item["overdue"]?.boolValue ?? false) ? "<span class=\"bad\">overdue</span>" : "waiting"),
            ]
        }
        return try await page(
            "Corrections and their acknowledgements",
            "<p><a href=\"/console/corrections?pending=true\">Only those awaiting acknowledgement</a> · <a href=\"/console/corrections\">all</a></p>"
                + htmlTable(["Record", "Status", "Status version", "Holder", "Sent", "Acknowledged"], rows))
    }

    func recordPage(_ key: RecordKey, _ context: GatewayContext) async throws -> Response {
        let value = try await recordValue(key)
        let status = value["status"]
        var body =
            "<p>Status <strong>\(cell(status?["value"]))</strong> (version \(cell(status?["version"]))), content version "
            + "\(cell(value["state"]?["content"]?["version"])); \(cell(status?["reason"]))</p>"
        let hops = (value["lineage"]?.arrayValue ?? []).map { hop in
            [
                cell(hop["at"]), cell(hop["direction"]) == "inbound" ? "from" : "to", cell(hop["peer"]),
                "<a href=\"/console/batches/\(cell(hop["batchId"]))\">\(cell(hop["batchId"]))</a>",
                cell(hop["contentVersion"]), cell(hop["statusVersion"]), cell(hop["outcome"]),
            ]
        }
        body +=
            "<h2>Lineage: every hop through this node</h2>"
            + htmlTable(["At", "", "Peer", "Batch or page", "Content v", "Status v", "Outcome"], hops)
        let corrections = (value["corrections"]?.arrayValue ?? []).map { item in
            [cell(item["status"]), cell(item["statusVersion"]), cell(item["peer"]), cell(item["sentAt"]), cell(item["acknowledgedAt"])]
        }
        body += "<h2>Corrections sent</h2>" + htmlTable(["Status", "Version", "Holder", "Sent", "Acknowledged"], corrections)
        let entries = value["history"]?.arrayValue ?? []
        // Two content entries of one version are the rival copies of a conflict; an override names the copy it kept.
        var copies: [String: Int] = [:]
        for item in entries where item["part"]?.stringValue == "content" { copies[cell(item["version"]), default: 0] += 1 }
        let history = entries.map { item -> [String] in
            var note = ""
            if item["part"]?.stringValue == "content", let count = copies[cell(item["version"])], count > 1 {
                note = "one of \(count) rival copies of version \(cell(item["version"])) (a conflict)"
            }
            if let override = item["override"] {
                note = "resolves the conflict of version \(cell(override["version"])), keeping <code>\(cell(override["digest"]))</code>"
            }
            return [
                cell(item["at"]), cell(item["part"]), cell(item["version"]), cell(item["source"]), "<code>\(cell(item["digest"]))</code>",
                note,
            ]
        }
        body += "<h2>History</h2>" + htmlTable(["At", "Part", "Version", "From", "Digest", ""], history)
        body +=
            "<h2>Record as held</h2>" + preJSON(value["state"])
        return try await page("Record \(key)", body)
    }

    func timelinessPage(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let requested = request.uri.queryParameters.get("month").map { String($0) }
        let now = engine.clock.now().chinaDate
        let month = requested ?? String(format: "%04d-%02d", now.year, now.month)
        let value = try await timelinessReportValue(month: month)
        func percent(_ rate: JSONValue?) -> String { rate?.numberValue.map(TimelinessReport.percent) ?? "–" }
        let rows = (value["lines"]?.arrayValue ?? []).map { line in
            [
                line["department"]?.stringValue == nil ? "<strong>\(cell(line["district"]))</strong>" : "",
                line["department"]?.stringValue == nil ? "<em>all departments</em>" : cell(line["department"]),
                cell(line["received"]), cell(line["timely"]), cell(line["refused"]), percent(line["complianceRate"]),
                percent(line["timelinessRate"]),
            ]
        }
        let form =
            "<form method=\"get\" action=\"/console/reports/timeliness\">Month <input name=\"month\" value=\"\(html(month))\" size=\"8\">"
            + " <button type=\"submit\">Show</button></form>"
            + "<p>双公示 decisions of the month held here: arrived within 7 working days of the decision (及时率), passed validation"
            + " (合规率). The reporting rate (上报率) needs each department's own count: <code>xgate report timeliness --expected</code>.</p>"
        return try await page(
            "Timeliness \(month)",
            form + htmlTable(["District", "Department", "Received", "In time", "Refused", "合规率", "及时率"], rows))
    }
}

/// A JSON value as plain text (CSV).
func cellText(_ value: JSONValue) -> String {
    switch value {
    case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
    case .bool(let b): return b ? "true" : "false"
    case .string(let s): return s
    default: return String(decoding: value.serialized(), as: UTF8.self)
    }
}

extension GatewayAPI {
    /// GET /console/batches/:batchId: a batch (or feed page) with its receipt and what happened to each record.
    func batchPage(_ batchId: String, _ context: GatewayContext) async throws -> Response {
        let engine = self.engine
        let (hops, inbound, outbound, refused) = try await offload.read {
            try await engine.store.read { reader -> ([LineageEntry], InboxEntry?, OutboundBatch?, [RejectionEntry]) in
                let hops = try await reader.lineage(batchId: batchId)
                let sender = hops.first { $0.direction == .inbound }?.peer
                let inbound = try await sender.asyncFlatMap { try await reader.inboxEntry(sender: $0, batchId: batchId) }
                let outbound = try await reader.outboundBatch(batchId: batchId)
                let refused = try await reader.rejections(limit: 10_000).filter { $0.batchId == batchId }
                return (hops, inbound, outbound, refused)
            }
        }
        guard !hops.isEmpty || outbound != nil else {
            throw Problem(.notFound, code: "batch.unknown", detail: "this node has no batch or feed page \(batchId)")
        }
        var body = ""
        if let inbound {
            body +=
                "<p>Received from <strong>\(html(inbound.sender))</strong>, sequence \(inbound.sequence), at \(html(inbound.receivedAt.text));"
                + " payload <code>\(html(inbound.payloadDigest.description))</code>.</p>"
            body += receiptSection(inbound.receipt, title: "Receipt this node returned")
        }
        if let outbound {
            body +=
                "<p>Sent to <strong>\(html(outbound.peer))</strong>, sequence \(outbound.sequence), created \(html(outbound.createdAt.text)),"
                + " state <strong>\(html(outbound.state.rawValue))</strong> after \(outbound.attempts) failed attempts"
                + (outbound.lastError.map { "; last error <span class=\"bad\">\(html($0))</span>" } ?? "") + ".</p>"
            if let receipt = outbound.receipt { body += receiptSection(receipt, title: "Receipt from \(outbound.peer)") }
        }
        if inbound == nil && outbound == nil {
            body += "<p>A feed page served to \(html(hops.first?.peer ?? "?")) (its records below).</p>"
        }
        let reasons = Dictionary(refused.compactMap { entry in entry.key.map { ($0, entry) } }, uniquingKeysWith: { first, _ in first })
        let rows = hops.map { hop -> [String] in
            let reason = reasons[hop.key]
            return [
                recordLink(hop.key.json), hop.direction == .inbound ? "from \(html(hop.peer))" : "to \(html(hop.peer))",
                cell(hop.contentVersion.json), String(hop.statusVersion),
                hop.outcome == "rejected" ? "<span class=\"bad\">rejected</span>" : html(hop.outcome ?? "unanswered"),
                reason.map { "<code>\(html($0.code))</code> \(html($0.field ?? "")) \(html($0.message))" } ?? "",
            ]
        }
        body += "<h2>Records (\(hops.count))</h2>" + htmlTable(["Record", "", "Content v", "Status v", "Outcome", "Reason"], rows)
        return try await page("Batch \(batchId)", body)
    }

    /// A signed receipt's summary and refused outcomes.
    func receiptSection(_ jws: [UInt8], title: String) -> String {
        guard let envelope = try? JSONParser().parse(jws), let encoded = envelope["payload"]?.stringValue,
            let payload = Base64URL.decode(encoded), let receipt = try? JSONParser().parse(payload)
        else { return "<p class=\"bad\">\(html(title)): unreadable</p>" }
        let summary = Receipt.outcomeNames.map { "\($0) \(cell(receipt["summary"]?[$0]))" }
        let refused = (receipt["outcomes"]?.arrayValue ?? []).filter { $0["outcome"]?.stringValue != "applied" }.prefix(200).map {
            outcome in
            [
                cell(outcome["index"]), cell(outcome["outcome"]), "<code>\(cell(outcome["code"]))</code>", cell(outcome["field"]),
                cell(outcome["message"]),
            ]
        }
        return "<h2>\(html(title))</h2><p>Receipt <code>\(cell(receipt["receiptId"]))</code> at \(cell(receipt["receivedAt"])): "
            + summary.joined(separator: " · ") + "</p>"
            + (refused.isEmpty ? "" : htmlTable(["#", "Outcome", "Code", "Field", "Message"], Array(refused)))
    }
}

extension GatewayAPI {
    /// The running totals of records in and out at one instant, which the next activity sample counts from.
    public struct ActivityTotals: Sendable {
        public var at: Timestamp
        public var recordsIn: Double
        public var recordsOut: Double
        public init(at: Timestamp, recordsIn: Double, recordsOut: Double) {
            self.at = at
            self.recordsIn = recordsIn
            self.recordsOut = recordsOut
        }
    }

    /// How long activity samples are kept.
    static let activityRetentionSeconds: Int64 = 7 * 86_400

    /// Takes an activity sample of the interval since `previous` (records in and out, the worst lag and the queue now),
    /// keeps it in the store, and returns the totals the next sample counts from.
    public func keepActivitySample(after previous: ActivityTotals) async throws -> ActivityTotals {
        let health = try await health()
        let now = ActivityTotals(
            at: engine.clock.now(), recordsIn: board.total("xgate_records_in_total"), recordsOut: board.total("xgate_records_out_total"))
        guard now.at.seconds > previous.at.seconds else { return previous }
        let sample = ActivitySample(
            since: previous.at, at: now.at, recordsIn: Int(max(0, now.recordsIn - previous.recordsIn)),
            recordsOut: Int(max(0, now.recordsOut - previous.recordsOut)),
            maxLagSeconds: health.peers.values.map(\.lagSeconds).max() ?? 0,
            queueDepth: health.peers.values.map(\.queueDepth).reduce(0, +))
        let keepingSince = Timestamp(seconds: now.at.seconds - Self.activityRetentionSeconds)
        try await offload.write { [engine] in
            try await engine.store.write { tx in try await tx.appendActivitySample(sample, keepingSince: keepingSince) }
        }
        return now
    }

    /// GET /console/charts?hours=N (1–168, default 6): records in and out per minute, the worst lag and the queue.
    func chartsPage(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let hoursText = request.uri.queryParameters.get("hours") ?? "6"
        guard let hours = Int(hoursText), (1...168).contains(hours) else {
            throw Problem(.badRequest, code: "request.parameter", detail: "hours must be a whole number from 1 to 168")
        }
        let now = engine.clock.now()
        let from = now.seconds - Int64(hours) * 3600
        let engine = self.engine
        let samples = try await offload.read { try await engine.store.read { try await $0.activitySamples(since: Timestamp(seconds: from)) } }
        // A point per sample; where the daemon was down (a sample's interval does not start where the last one ended)
        // the lines break instead of joining across the gap.
        var throughputIn: [(Int64, Double)?] = []
        var throughputOut: [(Int64, Double)?] = []
        var lag: [(Int64, Double)?] = []
        var queue: [(Int64, Double)?] = []
        var previousEnd: Int64?
        for sample in samples {
            if let previousEnd, sample.since.seconds - previousEnd > 5 {
                throughputIn.append(nil)
                throughputOut.append(nil)
                lag.append(nil)
                queue.append(nil)
            }
            previousEnd = sample.at.seconds
            let minutes = Double(max(1, sample.at.seconds - sample.since.seconds)) / 60
            throughputIn.append((sample.at.seconds, Double(sample.recordsIn) / minutes))
            throughputOut.append((sample.at.seconds, Double(sample.recordsOut) / minutes))
            lag.append((sample.at.seconds, Double(sample.maxLagSeconds)))
            queue.append((sample.at.seconds, Double(sample.queueDepth)))
        }
        let span = "−\(hours) h"
        let throughputChart = svgChart(
            series: [("records in / min", "#12325b", throughputIn), ("records out / min", "#1b7a32", throughputOut)],
            from: from, to: now.seconds, startLabel: span)
        let lagChart = svgChart(
            series: [("worst lag (s)", "#b00020", lag), ("changes queued", "#8a5a00", queue)], from: from, to: now.seconds,
            startLabel: span)
        let ranges = [1, 6, 24, 168].map {
            $0 == hours ? "<strong>\($0) h</strong>" : "<a href=\"/console/charts?hours=\($0)\">\($0) h</a>"
        }
        let body =
            "<p>Sampled once a minute and kept in the store for seven days: \(samples.count) sample\(samples.count == 1 ? "" : "s") "
            + "in the last \(hours) h. "
            + "Show " + ranges.joined(separator: " · ") + ".</p>"
            + "<h2>Throughput</h2>\(throughputChart)<h2>Lag and queue</h2>\(lagChart)"
        return try await page("Throughput and lag, last \(hours) h", body)
    }
}

/// A JSON value pretty-printed in a `<pre>` block.
func preJSON(_ value: JSONValue?) -> String {
    "<pre>\(html(String(decoding: (value ?? .null).serialized(.prettyPrinted), as: UTF8.self)))</pre>"
}

/// The members where two JSON values differ, by JSON Pointer (`/data/fineAmount`), a missing member as nil; arrays
/// of different lengths or element types are one difference.
func jsonDifferences(_ held: JSONValue?, _ other: JSONValue?, at path: String = "") -> [(path: String, held: JSONValue?, other: JSONValue?)]
{
    if held == other { return [] }
    if case .object(let a)? = held, case .object(let b)? = other {
        var keys = a.keys
        keys += b.keys.filter { a[$0] == nil }
        return keys.flatMap { key in
            jsonDifferences(
                a[key], b[key], at: path + "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1"))
        }
    }
    if case .array(let a)? = held, case .array(let b)? = other, a.count == b.count {
        return a.indices.flatMap { jsonDifferences(a[$0], b[$0], at: path + "/\($0)") }
    }
    return [(path.isEmpty ? "/" : path, held, other)]
}

/// A line chart as inline SVG (no script): one polyline per series over [from, to], the y axis from 0 to the maximum.
func svgChart(series: [(name: String, color: String, points: [(Int64, Double)?])], from: Int64, to: Int64, startLabel: String) -> String {
    let width = 900.0
    let height = 220.0
    let top = max(1, series.flatMap { $0.points.compactMap { $0?.1 } }.max() ?? 1)
    let span = Double(max(1, to - from))
    var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width) + 60)\" height=\"\(Int(height) + 40)\" role=\"img\">"
    svg += "<rect x=\"50\" y=\"10\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#fff\" stroke=\"#d9dde5\"/>"
    svg +=
        "<text x=\"4\" y=\"20\" font-size=\"11\">\(String(format: "%.0f", top))</text><text x=\"4\" y=\"\(Int(height) + 10)\" font-size=\"11\">0</text>"
    svg += "<text x=\"50\" y=\"\(Int(height) + 28)\" font-size=\"11\">\(html(startLabel))</text>"
    svg += "<text x=\"\(Int(width) + 20)\" y=\"\(Int(height) + 28)\" font-size=\"11\">now</text>"
    for (index, line) in series.enumerated() {
        // A nil point breaks the line: one polyline per unbroken run.
        for run in line.points.split(whereSeparator: { $0 == nil }) {
            let points = run.compactMap { $0 }.map { point -> String in
                let x = 50 + width * Double(point.0 - from) / span
                let y = 10 + height - height * point.1 / top
                return String(format: "%.1f,%.1f", x, y)
            }
            svg += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
        }
        svg += "<text x=\"\(60 + index * 180)\" y=\"24\" font-size=\"12\" fill=\"\(line.color)\">\(html(line.name))</text>"
    }
    return svg + "</svg>"
}
