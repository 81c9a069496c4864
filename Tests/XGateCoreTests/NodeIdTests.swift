import Foundation
import Testing
import XGateCore
import XGateTestSupport

/// The node id check is the schema's (`urn:xgate:schema:common:1#/$defs/nodeId`): pattern and length.
struct NodeIdTests {
    @Test(arguments: ["sh-city", "sh-xuhui", "zj-jiaxing", "js-province", "ah-xuancheng", "sh-a1-b2"])
    func realIdsAreValid(id: String) { #expect(NodeId.isValid(id)) }

    @Test(arguments: [
        "", "sh", "sh-", "s-city", "SH-city", "sh-City", "sh--city", "sh-city-", "sh_city", "shcity", "sh-城市", "sh-city\n",
        "sh-" + String(repeating: "a", count: 62),
    ])
    func malformedIdsAreNot(id: String) { #expect(!NodeId.isValid(id), "\(id.debugDescription)") }

    @Test func theCheckAgreesWithTheSchemaPatternOnRandomStrings() throws {
        let pattern = try NSRegularExpression(pattern: "^[a-z]{2}-[a-z0-9]+(-[a-z0-9]+)*$")
        var generator = SeededGenerator(seed: 2026)
        let alphabet = Array("abz09-A_ ")
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...70, using: &generator)
            var text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            if Bool.random(using: &generator) { text = "sh-" + text }
            let schema =
                text.count <= 64
                && pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            #expect(NodeId.isValid(text) == schema, "\(text.debugDescription)")
        }
    }
}
