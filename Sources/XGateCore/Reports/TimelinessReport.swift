import Foundation

/// The monthly report districts are ranked on (月通报): for licensing and penalty decisions (双公示), per district and
/// per reporting department, how many reached this node, how many passed validation, and how many arrived within
/// 7 working days of the decision (国办发〔2015〕51号), working days from `Contracts/calendar/` (调休 included).
///
/// Definitions (the same in `xgate report timeliness` and the console):
/// - a decision belongs to the month of its `decisionDate`;
/// - **received**: decisions of the month held by this node; its first arrival is when its first content version was
///   stored here (for a district's own records: when the department's export was entered);
/// - **timeliness rate** (及时率) = received within the deadline ÷ received, the deadline being the 7th working day after
///   the decision date (arriving on that day is in time);
/// - **compliance rate** (合规率) = received ÷ (received + refused), refused counting the district's records of the
///   month's window this node refused and does not hold since (by the refusal's date; a refused record carries no
///   department, so this rate is per district);
/// - **reporting rate** (上报率) = received ÷ the number of decisions the department says it made (its own system's count,
///   given with `--expected`); xgate cannot count decisions that never reached it, so without it the rate is absent.
public struct TimelinessReport: Sendable, Equatable {
    /// One decision as this node holds it.
    public struct Decision: Sendable, Equatable {
        public var district: String
        public var department: String
        public var decisionDate: CivilDate
        public var firstArrival: Timestamp
        public init(district: String, department: String, decisionDate: CivilDate, firstArrival: Timestamp) {
            self.district = district
            self.department = department
            self.decisionDate = decisionDate
            self.firstArrival = firstArrival
        }
    }

    /// One line: a department of a district, or (`department` nil) the district's total.
    public struct Line: Sendable, Equatable {
        public var district: String
        public var department: String?
        public var received: Int
        public var timely: Int
        /// Received decisions whose deadline falls in a year `Contracts/calendar/` does not cover yet: neither in time
        /// nor late, and left out of the timeliness rate until the calendar file is deployed.
        public var undetermined = 0
        /// Refused and not held since (district totals only).
        public var refused: Int?
        /// The department's own count, when given.
        public var expected: Int?

        public var timelinessRate: Double? {
            received - undetermined <= 0 ? nil : Double(timely) / Double(received - undetermined)
        }
        public var complianceRate: Double? {
            guard let refused, received + refused > 0 else { return nil }
            return Double(received) / Double(received + refused)
        }
        public var reportingRate: Double? {
            guard let expected, expected > 0 else { return nil }
            return Double(received) / Double(expected)
        }
    }

    /// A rate as the monthly report prints it: `97.5%`.
    public static func percent(_ rate: Double) -> String { String(format: "%.1f%%", rate * 100) }

    /// The working days a decision has to arrive in.
    public static let workingDays = 7

    public var year: Int
    public var month: Int
    public var lines: [Line]

    /// Computes the report of `year`-`month` from the decisions held and the refusals (district, refusal time) of
    /// records not held since; `expected` counts by district and department.
    public static func compute(
        year: Int, month: Int, decisions: [Decision], refusals: [(district: String, at: Timestamp)],
        expected: [String: [String: Int]] = [:], calendar: WorkingDayCalendar
    ) -> TimelinessReport {
        var byDepartment: [String: [String: (received: Int, timely: Int, undetermined: Int)]] = [:]
        for decision in decisions where decision.decisionDate.year == year && decision.decisionDate.month == month {
            var counts = byDepartment[decision.district, default: [:]][decision.department, default: (0, 0, 0)]
            counts.received += 1
            if let deadline = try? calendar.adding(workingDays: workingDays, to: decision.decisionDate) {
                if decision.firstArrival.chinaDate <= deadline { counts.timely += 1 }
            } else {
                counts.undetermined += 1
            }
            byDepartment[decision.district, default: [:]][decision.department] = counts
        }
        var refused: [String: Int] = [:]
        for refusal in refusals where refusal.at.chinaDate.year == year && refusal.at.chinaDate.month == month {
            refused[refusal.district, default: 0] += 1
        }
        var lines: [Line] = []
        for district in Set(byDepartment.keys).union(refused.keys).union(expected.keys).sorted() {
            let departments = byDepartment[district] ?? [:]
            var total = Line(district: district, department: nil, received: 0, timely: 0, refused: refused[district] ?? 0)
            var departmentLines: [Line] = []
            for department in Set(departments.keys).union((expected[district] ?? [:]).keys).sorted() {
                let counts = departments[department] ?? (0, 0, 0)
                var line = Line(
                    district: district, department: department, received: counts.received, timely: counts.timely, refused: nil,
                    expected: expected[district]?[department])
                line.undetermined = counts.undetermined
                departmentLines.append(line)
                total.received += counts.received
                total.timely += counts.timely
                total.undetermined += counts.undetermined
            }
            if let counts = expected[district] { total.expected = counts.values.reduce(0, +) }
            lines.append(total)
            lines.append(contentsOf: departmentLines)
        }
        return TimelinessReport(year: year, month: month, lines: lines)
    }
}
