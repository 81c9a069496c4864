import Testing

@testable import XGateCore

@Suite struct ResidentIDTests {
    let today = CivilDate(year: 2026, month: 11, day: 22)!

    @Test func acceptsTheStandardsExample() {
        #expect(ResidentID.validate("11010519491231002X", today: today).isValid)
        #expect(ResidentID.validate("11010519491231002x", today: today).isValid)  // normalised to upper case
    }

    @Test func namesEachBrokenRule() {
        #expect(ResidentID.validate("110105194912310021", today: today).issues.map(\.rule) == ["id.check-digit"])
        #expect(ResidentID.validate("11010519491331002X", today: today).issues.contains { $0.rule == "id.birth-date" })
        #expect(ResidentID.validate("1101051949123100", today: today).issues.map(\.rule) == ["id.length"])
        #expect(ResidentID.validate("11010519491231A02X", today: today).issues.map(\.rule) == ["id.characters"])
        #expect(ResidentID.validate("99010519491231002X", today: today).issues.contains { $0.rule == "id.division" })
    }

    @Test func refusesABirthDateInTheFuture() {
        let future = "310104" + "20301231" + "123"
        let number = future + String(ResidentID.checkCharacter(Array(future)[0..<17]))
        #expect(ResidentID.validate(number, today: today).issues.map(\.rule) == ["id.birth-date"])
    }

    @Test func masksKeepingFirstSixAndLastFour() {
        #expect(ResidentID.mask("11010519491231002X") == "110105********002X")
        #expect(ResidentID.isMasked("110105********002X"))
        #expect(!ResidentID.isMasked("11010519491231002X"))
        #expect(ResidentID.mask("12345") == "*****")  // malformed input never leaks
    }

    @Test func messagesNeverRepeatTheNumberOrTheBirthDate() {
        for number in ["110105194912310021", "11010519491331002X", "310104203012311234", "1101051949123"] {
            for issue in ResidentID.validate(number, today: today).issues {
                #expect(!issue.message.contains(number))
                #expect(!issue.message.contains("1949") && !issue.message.contains("2030"), "\(issue)")
            }
        }
    }
}
