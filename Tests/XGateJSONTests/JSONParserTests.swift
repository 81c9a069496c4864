import Testing

@testable import XGateJSON

@Suite struct JSONParserTests {
    func error(_ text: String) -> JSONParseError? {
        do { _ = try JSONParser().parse(text); return nil } catch { return error }
    }

    @Test func parsesDocumentsWithChineseTextAndKeepsMemberOrder() throws {
        let value = try JSONParser().parse(#"{"名称": "上海徐汇明珠餐饮管理有限公司", "b": [1, 2.5, -3e2, true, null], "a": "\u00e9\ud83d\ude00"}"#)
        #expect(value.objectValue?.keys == ["名称", "b", "a"])
        #expect(value["b"] == [1, 2.5, -300, true, nil])
        #expect(value["a"]?.stringValue == "é😀")
        #expect(try JSONParser().parse("\u{FEFF}[]") == [])  // a UTF-8 byte order mark is skipped
    }

    /// Duplicate names are found however large the object: compared with the names before it while small, through a
    /// set once past 16 members — a duplicate at every position, before and after that switch.
    @Test func findsADuplicateNameAtAnyPositionOfALargeObject() throws {
        for size in [2, 15, 16, 17, 40] {
            let names = (0..<size).map { "k\($0)" }
            for position in 1..<size {
                for earlier in [0, position - 1] {
                    var members = names.map { "\"\($0)\": 1" }
                    members[position] = "\"\(names[earlier])\": 2"
                    let found = error("{" + members.joined(separator: ", ") + "}")
                    #expect(found?.message == "duplicate member name \"\(names[earlier])\"", "size \(size), position \(position)")
                }
            }
            #expect(try JSONParser().parse("{" + names.map { "\"\($0)\": 1" }.joined(separator: ", ") + "}").objectValue?.keys == names)
        }
    }

    @Test func refusesWhatALenientParserWouldGuessAt() {
        #expect(error(#"{"a": 1, "a": 2}"#)?.message.contains("duplicate member name") == true)
        #expect(error(#""\ud800""#)?.message.contains("lone high surrogate") == true)
        #expect(error(#""\udc00""#)?.message.contains("lone low surrogate") == true)
        #expect(error("01")?.message == "leading zero in a number")
        #expect(error("[1,]") != nil)
        #expect(error(#"{"a": 1,}"#) != nil)
        #expect(error("\"tab\there\"")?.message == "unescaped control character in a string")
        #expect(error("NaN") != nil)
        #expect(error("1e400")?.message == "number out of range")
        #expect(error("[] []")?.message == "unexpected data after the JSON document")
        #expect(error(String(repeating: "[", count: 129) + String(repeating: "]", count: 129))?.message.contains("nesting deeper") == true)
        #expect(error(String(repeating: "[", count: 128) + String(repeating: "]", count: 128)) == nil)
    }

    @Test func refusesInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: JSONParseError.self) { try JSONParser().parse(bytes) }
    }

    @Test func reportsLineAndColumn() {
        let e = error("{\n  \"kind\": ,\n}")
        #expect(e?.line == 2)
        #expect(e?.column == 11)
    }

    @Test func parsesNDJSONNamingTheBadLine() {
        #expect(throws: JSONParseError.self) { try JSONParser().parseLines(Array("{}\n\n{\"a\":}\n".utf8)) }
        do {
            _ = try JSONParser().parseLines(Array("{}\n\n{\"a\":}\n".utf8))
        } catch {
            #expect(error.line == 3)
        }
        #expect((try? JSONParser().parseLines(Array("{}\n{}\n".utf8)))?.count == 2)
    }

    @Test func writesCanonicalBytes() throws {
        let value = try JSONParser().parse(#"{"b": 1.0, "a": "x/\"y\"\n", "c": [true, -0]}"#)
        #expect(String(decoding: value.canonicalBytes, as: UTF8.self) == #"{"a":"x/\"y\"\n","b":1,"c":[true,0]}"#)
        #expect(try JSONParser().parse(value.serialized(.prettyPrinted)) == value)
    }

    @Test func comparesNumbersByValueAndObjectsRegardlessOfOrder() throws {
        #expect(try JSONParser().parse("1.0") == JSONParser().parse("1"))
        #expect(try JSONParser().parse(#"{"a":1,"b":2}"#) == JSONParser().parse(#"{"b":2,"a":1}"#))
        #expect(try JSONParser().parse("true") != JSONParser().parse("1"))
    }

    @Test func jsonPointersEscapeAndResolve() throws {
        let value = try JSONParser().parse(#"{"a/b": {"~c": [10, 20]}}"#)
        let pointer = JSONPointer(tokens: ["a/b", "~c", "1"])
        #expect(pointer.description == "/a~1b/~0c/1")
        #expect(JSONPointer(pointer.description) == pointer)
        #expect(value.value(at: pointer) == 20)
        #expect(value.value(at: JSONPointer("/a~1b/~0c/01")!) == nil)
    }
}
