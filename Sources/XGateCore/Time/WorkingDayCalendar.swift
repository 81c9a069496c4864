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

    /// An empty calendar.
    public init() {}

    /// Adds one year file (the JSON of `Contracts/calendar/<year>.json`).
    public mutating func add(yearFile json: JSONValue) throws(CalendarError) {
        guard let year = json["year"]?.intValue else { throw .malformed("missing 'year'") }
        var rest = Set<CivilDate>()
        for (i, holiday) in (json["holidays"]?.arrayValue ?? []).enumerated() {
            guard let from = holiday["from"]?.stringValue.flatMap({ CivilDate($0) }),
                let to = holiday["to"]?.stringValue.flatMap({ CivilDate($0) }), from <= to
            else { throw .malformed("\(year): holidays[\(i)] needs 'from' ≤ 'to' as YYYY-MM-DD") }
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
            makeup.insert(date)
        }
        years[year] = Year(year: year, status: json["status"]?.stringValue ?? "provisional", restDays: rest, makeupWorkdays: makeup)
    }

    /// Whether `date` is a working day.
    public func isWorkingDay(_ date: CivilDate) throws(CalendarError) -> Bool {
        guard let year = years[date.year] else { throw .yearNotCovered(date.year) }
        if year.makeupWorkdays.contains(date) { return true }
        return !date.isWeekend && !year.restDays.contains(date)
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
