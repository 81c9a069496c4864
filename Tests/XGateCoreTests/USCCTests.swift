import Testing

@testable import XGateCore

@Suite struct USCCTests {
    @Test func acceptsTheStandardsWorkedExampleAndARealCode() {
        #expect(USCC.validate("91350100M000100Y43").isValid)
        #expect(USCC.validate("914403001922038216").isValid)  // 华为技术有限公司
        #expect(USCC("914403001922038216")?.code == "914403001922038216")
    }

    @Test func refusesTheWorkedExamplesAlteredCheckCharacterNamingTheRule() {
        let result = USCC.validate("91350100M000100Y4Z")
        #expect(!result.isValid)
        #expect(result.issues.map(\.rule) == ["uscc.alphabet"])  // Z never appears in the alphabet
        let wrongCheck = USCC.validate("91350100M000100Y44")
        #expect(wrongCheck.issues.map(\.rule) == ["uscc.check-character"])
        #expect(wrongCheck.issues[0].message.contains("should be '3'"))
    }

    @Test func normalisesFullWidthSpacesAndCase() {
        let result = USCC.validate("  ９１３５０１００ｍ０００１００ｙ４３ ")
        #expect(result.isValid)
        #expect(result.normalised == "91350100M000100Y43")
    }

    @Test func refusesSeparatorsWrongLengthAndLettersInTheDivision() {
        #expect(USCC.validate("913501-00M000100Y43").issues.map(\.rule) == ["uscc.separator"])
        #expect(USCC.validate("91350100M000100Y4").issues.map(\.rule) == ["uscc.length"])
        #expect(USCC.validate("9135A100M000100Y43").issues.first?.rule == "uscc.division")
    }

    @Test func checksTheOrganisationCodeBody() {
        // Change position 17 (the GB 11714 check character) and recompute position 18 so only the body check fails.
        var chars = Array("91350100M000100Y43")
        chars[16] = "X"
        let first17 = chars[0..<17]
        chars[17] = USCC.checkCharacter(first17)
        let result = USCC.validate(String(chars))
        #expect(result.issues.map(\.rule) == ["uscc.organisation-code-check"])
    }

    @Test func checksDivisionsAgainstCurrentAndRetiredShanghaiCodes() {
        let current = USCC.validate(SampleUSCC.make(division: "310104"))
        #expect(current.isValid)
        #expect(current.division == .current("徐汇区"))
        let retired = USCC.validate(SampleUSCC.make(division: "310103"))  // 卢湾区, merged into 黄浦 in 2011
        #expect(retired.isValid)
        #expect(retired.division == .retired("卢湾区"))
        let unknown = USCC.validate(SampleUSCC.make(division: "310199"))
        #expect(unknown.issues.map(\.rule) == ["uscc.division"])
        let noProvince = USCC.validate(SampleUSCC.make(division: "990000"))
        #expect(noProvince.issues.map(\.rule) == ["uscc.division"])
    }

    @Test func flagsAFujianTrialCodeForReviewInsteadOfDroppingIt() {
        let result = USCC.validate("91350100M0001TGQXM")
        #expect(!result.isValid)
        #expect(result.mayBeTrialCode)
    }
}

enum SampleUSCC {
    static func make(division: String) -> String {
        var chars = Array("91" + division + "MA1FL3K2")
        let weights = [3, 7, 9, 10, 5, 8, 4, 2]
        var sum = 0
        for (i, c) in chars[8..<16].enumerated() { sum += (c.wholeNumberValue ?? Int(c.asciiValue! - 55)) * weights[i] }
        let check = 11 - sum % 11
        chars.append(check == 10 ? "X" : check == 11 ? "0" : Character(String(check)))
        chars.append(USCC.checkCharacter(chars[0..<17]))
        return String(chars)
    }
}
