import ArgumentParser
import Foundation
import XGateClient
import XGateCore
import XGateJSON

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports from a running daemon.", subcommands: [Timeliness.self])

    struct Timeliness: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The monthly ranking figures (月通报): reporting, compliance and timeliness rates per district and department.",
            discussion: """
                Over the licensing and penalty decisions (双公示) of the month that the daemon holds, by decision date:
                timeliness rate (及时率) = arrived within 7 working days of the decision (Contracts/calendar/, 调休 included)
                ÷ received; compliance rate (合规率) = received ÷ (received + refused and not held since), per district;
                reporting rate (上报率) = received ÷ the decisions each department says it made, given with --expected
                (a JSON file {"sh-songjiang": {"上海市松江区市场监督管理局": 120, …}, …}); without it the rate is "-".

                Example:
                  xgate report timeliness --month 2026-11 --format csv --config xgate.yaml --token-file operator.token
                """)

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "The month, YYYY-MM.") var month: String
        @Option(help: "table (default), csv or json.") var format = "table"
        @Option(help: "A JSON file with each department's own count of decisions: {district: {department: count}}.")
        var expected: String?

        func validate() throws {
            guard month.range(of: "^[0-9]{4}-(0[1-9]|1[0-2])$", options: .regularExpression) != nil else {
                throw ValidationError("--month must be YYYY-MM, e.g. 2026-11")
            }
            guard ["table", "csv", "json"].contains(format) else { throw ValidationError("--format is table, csv or json") }
        }

        func run() async throws {
            var counts: [String: [String: Int]] = [:]
            if let expected {
                guard let data = FileManager.default.contents(atPath: expected) else {
                    report("cannot read \(expected)")
                    throw ExitCode(Exit.notFound)
                }
                guard let value = try? JSONParser().parse(Array(data)), case .object(let districts) = value else {
                    report("\(expected): expected a JSON object {district: {department: count}}")
                    throw ExitCode(Exit.malformed)
                }
                for (district, departments) in districts {
                    guard case .object(let object) = departments else {
                        report("\(expected): \(district) must map departments to counts")
                        throw ExitCode(Exit.malformed)
                    }
                    for (department, count) in object {
                        guard let n = count.intValue, n >= 0 else {
                            report("\(expected): \(district) / \(department): the count must be a whole number ≥ 0")
                            throw ExitCode(Exit.malformed)
                        }
                        counts[district, default: [:]][department] = n
                    }
                }
            }
            var options = daemon
            options.json = false
            let format = daemon.json ? "json" : self.format
            let month = self.month
            try await options.call({ client throws(OperatorClient.Failure) in
                try await client.get("/v1/operator/reports/timeliness?month=\(month)")
            }) {
                value in
                let lines = Self.withReportingRates(value["lines"]?.arrayValue ?? [], expected: counts)
                switch format {
                case "json":
                    var object = value.objectValue ?? JSONObject()
                    object["lines"] = .array(lines)
                    return String(decoding: JSONValue.object(object).serialized(.prettyPrinted), as: UTF8.self)
                case "csv":
                    var out = "district,department,received,timely,refused,reporting_rate,compliance_rate,timeliness_rate\n"
                    for line in lines {
                        out +=
                            [
                                "district", "department", "received", "timely", "refused", "reportingRate", "complianceRate",
                                "timelinessRate",
                            ]
                            .map { Self.csv(line[$0]) }.joined(separator: ",") + "\n"
                    }
                    return out
                default:
                    var rows = [["DISTRICT", "DEPARTMENT", "RECEIVED", "IN TIME", "REFUSED", "上报率", "合规率", "及时率"]]
                    for line in lines {
                        rows.append(
                            [
                                text(line["district"]), line["department"]?.stringValue ?? "(total)", text(line["received"]),
                                text(line["timely"]),
                                text(line["refused"]), Self.percent(line["reportingRate"]), Self.percent(line["complianceRate"]),
                                Self.percent(line["timelinessRate"]),
                            ])
                    }
                    let undetermined = lines.filter { $0["department"]?.stringValue == nil }.compactMap { $0["undetermined"]?.numberValue }
                        .reduce(0, +)
                    let note =
                        undetermined > 0
                        ? "\n\(Int(undetermined)) decisions have their deadline in a year without a calendar file (Contracts/calendar/): left out of 及时率 until it is deployed\n"
                        : ""
                    return "\(month): decisions within \(text(value["workingDays"])) working days, held at \(text(value["node"]))\n" + note
                        + table(rows)
                }
            }
        }

        /// Adds `reportingRate` to each line from the departments' own counts (district lines: their sum).
        static func withReportingRates(_ lines: [JSONValue], expected: [String: [String: Int]]) -> [JSONValue] {
            // A department (or a whole district) that sent nothing still has a line: its reporting rate is 0.
            var lines = lines
            for (district, departments) in expected {
                if !lines.contains(where: { $0["district"]?.stringValue == district && $0["department"]?.stringValue == nil }) {
                    lines.append(["district": .string(district), "department": .null, "received": 0, "timely": 0, "refused": .null])
                }
                for department in departments.keys
                where !lines.contains(where: { $0["district"]?.stringValue == district && $0["department"]?.stringValue == department }) {
                    lines.append(
                        ["district": .string(district), "department": .string(department), "received": 0, "timely": 0, "refused": .null])
                }
            }
            lines.sort {
                ($0["district"]?.stringValue ?? "", $0["department"]?.stringValue ?? "")
                    < ($1["district"]?.stringValue ?? "", $1["department"]?.stringValue ?? "")
            }
            return lines.map { line in
                guard case .object(var object) = line, let district = line["district"]?.stringValue else { return line }
                let received = line["received"]?.numberValue ?? 0
                let count: Int? =
                    line["department"]?.stringValue.map { expected[district]?[$0] } ?? expected[district].map { $0.values.reduce(0, +) }
                object["reportingRate"] =
                    count.flatMap { $0 > 0 ? .number((received / Double($0) * 10_000).rounded() / 10_000) : nil } ?? .null
                return .object(object)
            }
        }

        static func percent(_ value: JSONValue?) -> String {
            value?.numberValue.map(TimelinessReport.percent) ?? "-"
        }

        static func csv(_ value: JSONValue?) -> String {
            switch value {
            case .none, .null?: return ""
            case .string(let s)?: return csvCell(s)
            case let other?: return text(other)
            }
        }
    }
}
