import XGateCore
import XGateJSON

/// Realistic sample records: real Shanghai district authorities, USCCs and identity numbers with correct check characters.
public enum SampleRecords {
    /// Real-looking enterprises registered in Shanghai districts (USCCs computed with GB 32100 check characters).
    public static let companies: [(name: String, uscc: String)] = [
        ("上海徐汇明珠餐饮管理有限公司", uscc(division: "310104", body: "MA1FL3K2")),
        ("上海浦江建设工程有限公司", uscc(division: "310115", body: "MA1H7Y0Q")),
        ("上海松江云间物流有限公司", uscc(division: "310117", body: "MA1JB8D4")),
        ("上海长宁天山百货有限公司", uscc(division: "310105", body: "13220567")),
        ("上海闵行莘庄化工有限公司", uscc(division: "310112", body: "MA1K0T6R")),
    ]

    /// Deciding authorities (government organs: registration authority 1, type 1).
    public static let authorities: [(name: String, uscc: String)] = [
        ("上海市徐汇区市场监督管理局", uscc(prefix: "11", division: "310104", body: "MB2F1390")),
        ("上海市浦东新区城市管理行政执法局", uscc(prefix: "11", division: "310115", body: "MB2D6C4A")),
        ("上海市松江区生态环境局", uscc(prefix: "11", division: "310117", body: "MB2E0487")),
    ]

    /// Builds a valid USCC from a division and the first 8 characters of the organisation code body.
    public static func uscc(prefix: String = "91", division: String, body: String) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        var sum = 0
        for (i, c) in body.enumerated() {
            let v = c.wholeNumberValue ?? Int(c.asciiValue! - 55)
            sum += v * [3, 7, 9, 10, 5, 8, 4, 2][i]
        }
        let orgCheck: String = {
            let c = 11 - sum % 11
            return c == 10 ? "X" : c == 11 ? "0" : String(c)
        }()
        let first17 = Array(prefix + division + body + orgCheck)
        let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
        var total = 0
        for (i, c) in first17.enumerated() { total += alphabet.firstIndex(of: c)! * weights[i] }
        return String(first17) + String(alphabet[(31 - total % 31) % 31])
    }

    /// Builds a valid resident identity number from a division, a birth date (YYYYMMDD) and a sequence (3 digits).
    public static func residentID(division: String, birth: String, sequence: String) -> String {
        let first17 = Array(division + birth + sequence)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        var sum = 0
        for (i, c) in first17.enumerated() { sum += c.wholeNumberValue! * weights[i] }
        return String(first17) + String(Array("10X98765432")[sum % 11])
    }

    /// An administrative penalty (行政处罚) on a company, valid against urn:xgate:schema:record:administrative-penalty:1.
    public static func penalty(
        sourceId: String, company: Int = 0, authority: Int = 0, fine: String = "2.5", decisionDate: String = "2026-10-12",
        facts: String? = nil
    ) -> JSONValue {
        let c = companies[company % companies.count]
        let a = authorities[authority % authorities.count]
        return [
            "kind": "administrative-penalty", "sourceId": .string(sourceId), "schemaVersion": 1,
            "subject": ["type": "legal-person", "name": .string(c.name), "uscc": .string(c.uscc), "legalRepresentative": ["name": "王建国"]],
            "data": [
                "decisionNumber": .string("沪徐市监处〔2026〕\(sourceId.suffix(4))号"),
                "violationType": "违反食品安全管理规定",
                "violationFacts": .string(facts ?? "经查，当事人在经营场所内贮存超过保质期的食品原料共计12.5千克，违反了《中华人民共和国食品安全法》第三十四条第（十）项的规定。"),
                "basis": "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项",
                "penaltyCategories": ["warning", "fine"],
                "penaltyContent": "警告，并处罚款人民币贰万伍仟元整。",
                "fineAmount": .string(fine),
                "decisionDate": .string(decisionDate),
                "severity": "general",
                "authority": ["name": .string(a.name), "uscc": .string(a.uscc)],
                "dataSource": ["name": .string(a.name), "uscc": .string(a.uscc)],
            ],
        ]
    }
}
