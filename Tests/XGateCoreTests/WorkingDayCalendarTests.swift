import Testing
import XGateFileSystem
import XGateTestSupport

@testable import XGateCore

@Suite struct WorkingDayCalendarTests {
    let contracts: ContractSet

    init() throws { contracts = try ContractsDirectory.load(RepositoryPaths.contracts) }

    func date(_ s: String) -> CivilDate { CivilDate(s)! }

    @Test func coversTwentyTwentyFourToTwentyTwentySeven() {
        #expect(Set(contracts.calendar.years.keys) == [2024, 2025, 2026, 2027])
        #expect(contracts.calendar.years[2024]?.status == "confirmed")
        #expect(contracts.calendar.years[2027]?.status == "provisional")
    }

    @Test func knowsHolidaysAndMakeupWorkdays() throws {
        let calendar = contracts.calendar
        #expect(try calendar.isWorkingDay(date("2024-02-04")))  // Sunday, 春节 makeup day
        #expect(try !calendar.isWorkingDay(date("2024-02-12")))  // Monday inside 春节
        #expect(try !calendar.isWorkingDay(date("2025-01-28")))  // 除夕 is a holiday from 2025
        #expect(try calendar.isWorkingDay(date("2025-04-27")))  // Sunday, 劳动节 makeup day
        #expect(try !calendar.isWorkingDay(date("2026-10-01")))
        #expect(try !calendar.isWorkingDay(date("2026-11-22")))  // an ordinary Sunday
    }

    @Test func computesTheSevenWorkingDayDeadlineAcrossNationalDay() throws {
        // Decision on Friday 2024-09-27: 9/29 (makeup Sunday) 1, 9/30 2, holiday 10/1–7, 10/8 3 … 10/11 6, 10/12 (makeup Saturday) 7.
        #expect(try contracts.calendar.adding(workingDays: 7, to: date("2024-09-27")) == date("2024-10-12"))
        #expect(try contracts.calendar.workingDays(after: date("2024-09-27"), through: date("2024-10-12")) == 7)
    }

    @Test func refusesToComputeAcrossAnUncoveredYear() {
        #expect(throws: WorkingDayCalendar.CalendarError.yearNotCovered(2028)) {
            try contracts.calendar.adding(workingDays: 7, to: date("2027-12-28"))
        }
    }

    @Test func choosesThePublicityRegimeByDecisionDate() throws {
        let rules = try #require(contracts.publicity)
        let old = try #require(try rules.period(kind: "administrative-penalty", decisionDate: date("2022-03-15"), severity: "serious"))
        #expect(old.regime == "2019")
        #expect(old.repairableFrom == date("2022-09-15"))
        #expect(old.endsOn == date("2025-03-15"))
        let new = try #require(try rules.period(kind: "administrative-penalty", decisionDate: date("2026-05-31"), severity: "general"))
        #expect(new.regime == "2025")
        #expect(new.repairableFrom == date("2026-08-31"))
        #expect(new.endsOn == date("2027-05-31"))
        let special = try #require(
            try rules.period(kind: "administrative-penalty", decisionDate: date("2024-01-31"), severity: "general", area: "work-safety"))
        #expect(special.regime == "2023")
        #expect(special.repairableFrom == date("2025-01-31"))
        #expect(try rules.period(kind: "administrative-licence", decisionDate: date("2024-01-31"), severity: "general") == nil)
        #expect(throws: PublicityRules.RuleError.noRegime(date("2018-01-01"))) {
            try rules.period(kind: "administrative-penalty", decisionDate: date("2018-01-01"), severity: "general")
        }
    }

    @Test func civilDateArithmetic() {
        #expect(date("2025-08-31").adding(months: 6) == date("2026-02-28"))
        #expect(date("2024-02-29").isoWeekday == 4)
        #expect(CivilDate(daysSinceEpoch: date("2026-11-22").daysSinceEpoch) == date("2026-11-22"))
        #expect(CivilDate("2026-02-29") == nil)
    }
}
