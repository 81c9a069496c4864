import XGateJSON

/// When a record's publicity ends (公示截止), and on what basis: the one answer every node uses, whether it decides an
/// expiry (the owner), shares a record (push, feed, snapshot) or receives one (PROTOCOL.md §9.3).
public struct PublicityEnd: Sendable, Equatable {
    /// Where the end comes from.
    public enum Basis: Sendable, Equatable {
        /// The record's own `data.publicityEndDate`, set by its owner: it takes precedence over any rule.
        case ownEndDate
        /// A regime of `Contracts/publicity-rules.json`, by the record's decision date and severity.
        case regime(String)
        /// A regime under which this severity is not published at all (minor conduct from 2023): it ends on the
        /// decision date, so the record is never shared.
        case unpublished(String)
        /// A decision older than every regime: the Shanghai Social Credit Regulations' five-year limit (上海市社会信用条例
        /// 2017, negative information queryable for 5 years), counted from the decision date.
        case fiveYearLimit
    }

    public var date: CivilDate
    public var basis: Basis

    /// The basis in words, for an expiry decision's `basis` and for operators.
    public var text: String {
        switch basis {
        case .ownEndDate: return "记录自带的公示截止日期 data.publicityEndDate（\(date)）"
        case .regime(let id): return "公示期规则 \(id)（Contracts/publicity-rules.json）"
        case .unpublished(let id): return "公示期规则 \(id)：该严重程度不予公示（Contracts/publicity-rules.json）"
        case .fiveYearLimit:
            return "《上海市社会信用条例》（2017）失信信息查询期限五年：决定日期早于 publicity-rules.json 的所有规则，按五年计（PROTOCOL.md §9.3）"
        }
    }
}

extension ContractSet {
    /// Months of the fallback for decisions older than every regime (the Shanghai Regulations' five years).
    public static let fiveYearLimitMonths = 60

    /// When the publicity of `record` (of `kind`) ends, or nil when nothing ends it: no own end date, and either the
    /// kind has no publicity rules (licences, lists), or the record lacks a decision date, or its severity is one the
    /// governing regime does not define (`publicity.severity`: no period is guessed).
    ///
    /// 1. `data.publicityEndDate`, when the record carries one, whatever the kind.
    /// 2. Otherwise, for a kind with publicity rules: the regime in force at `data.decisionDate` and `data.severity`
    ///    (`data.area` may raise the minimum, not the end); a severity the regime does not publish ends on the decision
    ///    date itself.
    /// 3. A decision dated before the first regime falls back to the five-year limit.
    public func publicityEnd(of record: JSONValue, kind: String) -> PublicityEnd? {
        let data = record["data"]
        if let own = data?["publicityEndDate"]?.stringValue.flatMap({ CivilDate($0) }) {
            return PublicityEnd(date: own, basis: .ownEndDate)
        }
        guard catalogue.kinds[kind]?.publicity == true, let rules = publicity,
            let decided = data?["decisionDate"]?.stringValue.flatMap({ CivilDate($0) })
        else { return nil }
        if let first = rules.regimes.first, decided < first.appliesFrom {
            return PublicityEnd(date: decided.adding(months: Self.fiveYearLimitMonths), basis: .fiveYearLimit)
        }
        guard let severity = data?["severity"]?.stringValue,
            let period = try? rules.period(kind: kind, decisionDate: decided, severity: severity, area: data?["area"]?.stringValue)
        else { return nil }
        return period.published
            ? PublicityEnd(date: period.endsOn, basis: .regime(period.regime))
            : PublicityEnd(date: decided, basis: .unpublished(period.regime))
    }
}
