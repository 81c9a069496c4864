import Foundation
import Testing
import XGateCore
import XGateJSON
import XGateTestSupport

/// The division-code table published in `Contracts/division-codes.json` is the one the validator uses.
@Suite struct DivisionCodesTests {
    @Test func thePublishedTableIsTheOneTheValidatorUses() throws {
        let text = try String(contentsOfFile: RepositoryPaths.contracts + "/division-codes.json", encoding: .utf8)
        let json = try JSONParser().parse(Array(text.utf8))
        func table(_ name: String) -> [String: String] {
            var result: [String: String] = [:]
            for (code, value) in json[name]?.objectValue ?? JSONObject() { result[code] = value.stringValue }
            return result
        }
        let standard = DivisionCodes.standard
        #expect(table("provinces") == standard.provinces)
        #expect(table("current") == standard.current)
        #expect(table("retired") == standard.retired)
        #expect(Set((json["fullyCovered"]?.arrayValue ?? []).compactMap(\.stringValue)) == standard.fullyCovered)
        #expect(standard.standing(of: "310104") == .current("徐汇区"))
        #expect(standard.standing(of: "310103") == .retired("卢湾区"))
        #expect(standard.standing(of: "310199") == .unknown, "Shanghai is listed in full")
        #expect(standard.standing(of: "330402") == .provinceOnly("浙江"))
    }
}
