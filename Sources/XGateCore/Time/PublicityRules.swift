import XGateJSON

/// Publicity-period rules (公示期) as versioned data (`Contracts/publicity-rules.json`), chosen per record by
/// its decision date: the 2019, 2023 and 2025 regimes each govern the decisions taken while they were in force.
public struct PublicityRules: Sendable {
    /// One regime's bounds for one severity.
    public struct Bounds: Sendable, Equatable {
        public var published: Bool
        public var minimumMonths: Int
        public var maximumMonths: Int
    }

    /// One regime.
    public struct Regime: Sendable {
        public var id: String
        public var appliesFrom: CivilDate
        public var appliesUntil: CivilDate?
        public var kinds: Set<String>
        public var severities: [String: Bounds]
        /// Areas (e.g. `work-safety`) with a longer minimum period.
        public var specialMinimumMonths: [String: Int]
    }

    /// The period computed for one record.
    public struct Period: Sendable, Equatable {
        /// The regime that governs the record.
        public var regime: String
        /// Whether the record is published at all (minor conduct may not be).
        public var published: Bool
        /// The first day a repair may be applied for.
        public var repairableFrom: CivilDate
        /// The day publicity ends by itself.
        public var endsOn: CivilDate
    }

    /// Why no period could be computed.
    public enum RuleError: Error, Sendable, Equatable, CustomStringConvertible {
        case noRegime(CivilDate)
        case unknownSeverity(String, regime: String)
        case malformed(String)

        public var description: String {
            switch self {
            case .noRegime(let d): return "publicity.no-regime: no publicity regime covers decision date \(d)"
            case .unknownSeverity(let s, let r): return "publicity.severity: regime \(r) has no rule for severity '\(s)'"
            case .malformed(let why): return "publicity.malformed: \(why)"
            }
        }
    }

    /// The regimes in order of `appliesFrom`.
    public private(set) var regimes: [Regime]

    /// Reads the rules document.
    public init(json: JSONValue) throws(RuleError) {
        var regimes: [Regime] = []
        for (i, r) in (json["regimes"]?.arrayValue ?? []).enumerated() {
            guard let id = r["id"]?.stringValue, let from = r["appliesFrom"]?.stringValue.flatMap({ CivilDate($0) }) else {
                throw .malformed("regimes[\(i)] needs 'id' and 'appliesFrom'")
            }
            let until = r["appliesUntil"]?.stringValue.flatMap { CivilDate($0) }
            var severities: [String: Bounds] = [:]
            for (name, b) in r["severities"]?.objectValue ?? JSONObject() {
                guard let min = b["minimumMonths"]?.intValue, let max = b["maximumMonths"]?.intValue else {
                    throw .malformed("regime \(id): severity '\(name)' needs minimumMonths and maximumMonths")
                }
                severities[name] = Bounds(published: b["published"]?.boolValue ?? true, minimumMonths: min, maximumMonths: max)
            }
            var special: [String: Int] = [:]
            for entry in r["specialAreas"]?.arrayValue ?? [] {
                let months = entry["minimumMonths"]?.intValue ?? 0
                for area in entry["areas"]?.arrayValue ?? [] { if let a = area.stringValue { special[a] = months } }
            }
            let kinds = Set((r["kinds"]?.arrayValue ?? []).compactMap(\.stringValue))
            regimes.append(
                Regime(id: id, appliesFrom: from, appliesUntil: until, kinds: kinds, severities: severities, specialMinimumMonths: special))
        }
        self.regimes = regimes.sorted { $0.appliesFrom < $1.appliesFrom }
    }

    /// The regime governing a decision taken on `date`.
    public func regime(for date: CivilDate) -> Regime? {
        regimes.last { $0.appliesFrom <= date && ($0.appliesUntil.map { date <= $0 } ?? true) }
    }

    /// The publicity period of a record of `kind` decided on `decisionDate` with `severity`; `area` picks a longer
    /// minimum where the regime has one. Returns nil when no regime names the kind (publicity rules do not apply).
    public func period(kind: String, decisionDate: CivilDate, severity: String, area: String? = nil) throws(RuleError) -> Period? {
        guard let regime = regime(for: decisionDate) else { throw .noRegime(decisionDate) }
        guard regime.kinds.isEmpty || regime.kinds.contains(kind) else { return nil }
        guard let bounds = regime.severities[severity] else { throw .unknownSeverity(severity, regime: regime.id) }
        var minimum = bounds.minimumMonths
        if let area, let special = regime.specialMinimumMonths[area] { minimum = max(minimum, special) }
        return Period(
            regime: regime.id, published: bounds.published,
            repairableFrom: decisionDate.adding(months: minimum),
            endsOn: decisionDate.adding(months: bounds.maximumMonths))
    }
}
