import XGateJSON

/// The State Council working-day calendar (工作日历): weekends, statutory holidays and the weekend days
/// that become working days (调休), loaded from `Contracts/calendar/<year>.json`.
///
/// A date is a working day iff it is Monday–Friday outside every holiday range, or a listed makeup working day.
/// Calculations refuse to cross a year the calendar does not cover: an error, not a guess.
public struct WorkingDayCalendar: Sendable {
    /// One covered year.
    public struct Year: Sendable {
        public var year: Int
        /// `confirmed` (from the published notice) or `provisional`.
        public var status: String
        public var restDays: Set<CivilDate>
        public var makeupWorkdays: Set<CivilDate>
    }

    /// Why a calculation could not be made.
    public enum CalendarError: Error, Sendable, Equatable, CustomStringConvertible {
        case yearNotCovered(Int)
        case malformed(String)

        public var description: String {
            switch self {
            case .yearNotCovered(let y):
                return "calendar.year-not-covered: the working-day calendar has no data for \(y); add Contracts/calendar/\(y).json"
            case .malformed(let why): return "calendar.malformed: \(why)"
            }
        }
    }

    /// The covered years.
    public private(set) var years: [Int: Year] = [:]
    /// Every rest day and makeup working day of every file, so a holiday range that crosses into the neighbouring
    /// year counts on both sides.
    private var allRestDays = Set<CivilDate>()
    private var allMakeupWorkdays = Set<CivilDate>()

    /// An empty calendar.
    public init() {}

    /// Adds one year file (the JSON of `Contracts/calendar/<year>.json`).
    public mutating func add(yearFile json: JSONValue) throws(CalendarError) {
        guard let year = json["year"]?.intValue else { throw .malformed("missing 'year'") }
        guard years[year] == nil else { throw .malformed("\(year) is defined twice") }
        var rest = Set<CivilDate>()
        for (i, holiday) in (json["holidays"]?.arrayValue ?? []).enumerated() {
            guard let from = holiday["from"]?.stringValue.flatMap({ CivilDate($0) }),
                let to = holiday["to"]?.stringValue.flatMap({ CivilDate($0) }), from <= to
            else { throw .malformed("\(year): holidays[\(i)] needs 'from' ≤ 'to' as YYYY-MM-DD") }
            guard from.year == year || to.year == year, to.daysSinceEpoch - from.daysSinceEpoch < 31 else {
                throw .malformed("\(year): holidays[\(i)] (\(from)–\(to)) must touch \(year) and last less than a month")
            }
            var day = from
            while day <= to {
                rest.insert(day)
                day = day.adding(days: 1)
            }
        }
        var makeup = Set<CivilDate>()
        for (i, entry) in (json["makeupWorkdays"]?.arrayValue ?? []).enumerated() {
            guard let date = entry["date"]?.stringValue.flatMap({ CivilDate($0) }) else {
                throw .malformed("\(year): makeupWorkdays[\(i)] needs 'date' as YYYY-MM-DD")
            }
            let nearYear = date.year == year || (date.year == year - 1 && date.month == 12) || (date.year == year + 1 && date.month == 1)
            guard nearYear, date.isWeekend else {
                throw .malformed(
                    "\(year): makeupWorkdays[\(i)] \(date) must be a Saturday or Sunday of \(year) (or of the adjoining December/January)")
            }
            guard !rest.contains(date) else { throw .malformed("\(year): \(date) is both a holiday and a makeup working day") }
            makeup.insert(date)
        }
        years[year] = Year(year: year, status: json["status"]?.stringValue ?? "provisional", restDays: rest, makeupWorkdays: makeup)
        allRestDays.formUnion(rest)
        allMakeupWorkdays.formUnion(makeup)
    }

    /// Whether `date` is a working day.
    public func isWorkingDay(_ date: CivilDate) throws(CalendarError) -> Bool {
        guard years[date.year] != nil else { throw .yearNotCovered(date.year) }
        if allMakeupWorkdays.contains(date) { return true }
        return !date.isWeekend && !allRestDays.contains(date)
    }

    /// The `n`th working day after `date` (not counting `date` itself): the deadline of an n-working-day rule.
    public func adding(workingDays n: Int, to date: CivilDate) throws(CalendarError) -> CivilDate {
        var day = date
        var remaining = n
        while remaining > 0 {
            day = day.adding(days: 1)
            if try isWorkingDay(day) { remaining -= 1 }
        }
        return day
    }

    /// Working days strictly after `start` up to and including `end` (0 when `end` ≤ `start`).
    public func workingDays(after start: CivilDate, through end: CivilDate) throws(CalendarError) -> Int {
        guard end > start else { return 0 }
        var count = 0
        var day = start.adding(days: 1)
        while day <= end {
            if try isWorkingDay(day) { count += 1 }
            day = day.adding(days: 1)
        }
        return count
    }
}
