import Foundation
import Hummingbird
import XGateCore
import XGateEngine
import XGateJSON

extension GatewayAPI {
    /// GET /v1/operator/reports/timeliness?month=YYYY-MM: the monthly ranking figures over the 双公示 decisions this node
    /// holds (`TimelinessReport` has the definitions).
    func timelinessReportValue(_ request: Request) async throws -> JSONValue {
        try await timelinessReportValue(month: request.uri.queryParameters.get("month").map { String($0) })
    }

    func timelinessReportValue(month: String?) async throws -> JSONValue {
        guard let text = month, text.count == 7,
            let date = CivilDate(text + "-01")
        else {
            throw Problem(.badRequest, code: "request.parameter", detail: "month must be YYYY-MM, e.g. 2026-11")
        }
        let engine = self.engine
        let kinds = Set(engine.node.contracts.catalogue.kinds.values.filter(\.doublePublicity).map(\.kind))
        let (decisions, refusals) = try await offload.run {
            try engine.store.read { reader -> ([TimelinessReport.Decision], [(district: String, at: Timestamp)]) in
                var decisions: [TimelinessReport.Decision] = []
                var after: Int64 = 0
                while true {
                    let page = try reader.records(after: after, limit: 1000)
                    guard let last = page.last else { break }
                    after = last.localSequence
                    for stored in page where kinds.contains(stored.state.key.kind) {
                        guard let record = stored.state.content?.record,
                            let decided = record["data"]?["decisionDate"]?.stringValue.flatMap({ CivilDate($0) }),
                            decided.year == date.year && decided.month == date.month
                        else { continue }
                        let department =
                            record["data"]?["dataSource"]?["name"]?.stringValue ?? record["data"]?["authority"]?["name"]?.stringValue
                            ?? "(unnamed)"
                        let arrival = try reader.history(of: stored.state.key).first { $0.part == .content }?.at
                        decisions.append(
                            TimelinessReport.Decision(
                                district: stored.state.key.owner, department: department, decisionDate: decided,
                                firstArrival: arrival ?? Timestamp(seconds: Int64.max / 2)))
                    }
                }
                // One refusal per record (a record refused in three batches counts once), dated by its first refusal.
                var refused: [RecordKey: Timestamp] = [:]
                for rejection in try reader.rejections(limit: 1_000_000).reversed() {
                    guard let key = rejection.key, kinds.contains(key.kind), refused[key] == nil, try reader.record(key) == nil
                    else { continue }
                    refused[key] = rejection.at
                }
                let refusals = refused.map { (district: $0.key.owner, at: $0.value) }
                return (decisions, refusals)
            }
        }
        let report = TimelinessReport.compute(
            year: date.year, month: date.month, decisions: decisions, refusals: refusals, calendar: engine.node.contracts.calendar)
        func rate(_ value: Double?) -> JSONValue { value.map { .number(($0 * 10_000).rounded() / 10_000) } ?? .null }
        return jsonValue([
            "month": .string(text), "node": .string(engine.node.id), "workingDays": .number(Double(TimelinessReport.workingDays)),
            "lines": .array(
                report.lines.map { line in
                    [
                        "district": .string(line.district), "department": line.department.map(JSONValue.string) ?? .null,
                        "received": .number(Double(line.received)), "timely": .number(Double(line.timely)),
                        "undetermined": .number(Double(line.undetermined)),
                        "refused": line.refused.map { .number(Double($0)) } ?? .null,
                        "timelinessRate": rate(line.timelinessRate), "complianceRate": rate(line.complianceRate),
                    ]
                }),
        ])
    }
}

// The operator endpoints answer the same values the console renders.
extension GatewayAPI {
    func timelinessReport(_ request: Request) async throws -> Response { json(try await timelinessReportValue(request)) }
}
