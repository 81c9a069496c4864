/// GB/T 2260 administrative division codes that identifiers are checked against.
///
/// Shanghai is covered code by code, current and retired (identifiers issued before a district merged keep
/// its old code); elsewhere the province (first two digits) is checked. Coverage is data here rather than a
/// guess: a code outside it is never called wrong on the strength of a table we do not have.
public struct DivisionCodes: Sendable {
    /// Province-level prefixes (first two digits) in GB/T 2260.
    public var provinces: [String: String]
    /// Full codes known to be current, with names.
    public var current: [String: String]
    /// Full codes retired but still found inside older identifiers, with names.
    public var retired: [String: String]
    /// Province prefixes whose codes are listed in full; other provinces are checked by prefix only.
    public var fullyCovered: Set<String>

    /// Creates a table.
    public init(provinces: [String: String], current: [String: String], retired: [String: String], fullyCovered: Set<String>) {
        self.provinces = provinces
        self.current = current
        self.retired = retired
        self.fullyCovered = fullyCovered
    }

    /// What a code is.
    public enum Standing: Sendable, Equatable {
        case current(String)
        case retired(String)
        /// In a province this table does not list in full; only the province was checked.
        case provinceOnly(String)
        case unknown
    }

    /// Looks a six-digit code up.
    public func standing(of code: String) -> Standing {
        if let name = current[code] { return .current(name) }
        if let name = retired[code] { return .retired(name) }
        let province = String(code.prefix(2))
        guard let provinceName = provinces[province] else { return .unknown }
        if fullyCovered.contains(province) { return .unknown }
        return .provinceOnly(provinceName)
    }

    /// The default table: Shanghai in full (DOMAIN.md §1), the G60 and Delta prefectures, every province.
    public static let standard = DivisionCodes(
        provinces: [
            "10": "中央", "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古", "21": "辽宁", "22": "吉林",
            "23": "黑龙江", "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西", "37": "山东",
            "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南", "50": "重庆", "51": "四川",
            "52": "贵州", "53": "云南", "54": "西藏", "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
            "71": "台湾", "81": "香港", "82": "澳门", "83": "台湾（居住证）",
        ],
        current: [
            "100000": "中央", "810000": "香港（居住证）", "820000": "澳门（居住证）", "830000": "台湾（居住证）",
            "310000": "上海市", "310100": "上海市市辖区",
            "310101": "黄浦区", "310104": "徐汇区", "310105": "长宁区", "310106": "静安区", "310107": "普陀区",
            "310109": "虹口区", "310110": "杨浦区", "310112": "闵行区", "310113": "宝山区", "310114": "嘉定区",
            "310115": "浦东新区", "310116": "金山区", "310117": "松江区", "310118": "青浦区", "310120": "奉贤区",
            "310151": "崇明区",
            "320000": "江苏省", "320500": "苏州市", "330000": "浙江省", "330100": "杭州市", "330400": "嘉兴市",
            "330500": "湖州市", "330700": "金华市", "340000": "安徽省", "340100": "合肥市", "340200": "芜湖市",
            "341800": "宣城市",
        ],
        retired: [
            "310102": "南市区", "310103": "卢湾区", "310108": "闸北区", "310119": "南汇区", "310200": "上海市县",
            "310221": "上海县", "310222": "嘉定县", "310223": "宝山县", "310224": "川沙县", "310225": "南汇县",
            "310226": "奉贤县", "310227": "松江县", "310228": "金山县", "310229": "青浦县", "310230": "崇明县",
        ],
        fullyCovered: ["31"]
    )
}
