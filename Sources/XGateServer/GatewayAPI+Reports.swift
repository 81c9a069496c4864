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
        // Contracts/openapi.yaml: ^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$.
        guard let text = month, text.count == 7, let date = CivilDate(text + "-01"), (1900...2099).contains(date.year) else {
            throw Problem(
                .badRequest, code: "request.parameter", detail: "month must be YYYY-MM of the years 1900 to 2099, e.g. 2026-11")
        }
        let engine = self.engine
        let kinds = Set(engine.node.contracts.catalogue.kinds.values.filter(\.doublePublicity).map(\.kind))
        guard let last = CivilDate(year: date.year, month: date.month, day: CivilDate.daysIn(month: date.month, year: date.year)) else {
            throw Problem(.badRequest, code: "request.parameter", detail: "month must be YYYY-MM, e.g. 2026-11")
        }
        let (decisions, refusals) = try await offload.read {
            try await engine.store.read { reader in
                // One refusal per record (a record refused in three batches counts once), dated by its first refusal.
                await (
                    try reader.decisions(kinds: kinds, from: date, through: last),
                    try reader.refusalsOfRecordsNotHeld(kinds: kinds).map { (district: $0.key.owner, at: $0.value) }
                )
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
