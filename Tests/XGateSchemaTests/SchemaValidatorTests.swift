import Testing
import XGateJSON
import XGateSchema

/// Parses JSON text for a test.
func json(_ text: String) throws -> JSONValue { try JSONParser().parse(text) }

/// Compiles `schema` and validates `instance`, both JSON text.
func errors(_ schema: String, _ instance: String, options: SchemaOptions = .init()) throws -> [ValidationError] {
    let validator = try SchemaValidator(schema: try json(schema), options: options)
    let instanceValue = try json(instance)
    let found = validator.validate(instanceValue)
    #expect(validator.isValid(instanceValue) == found.isEmpty, "isValid disagrees with validate")
    return found
}

/// The (instance location, keyword) pairs of errors, for compact expectations.
func summary(_ errors: [ValidationError]) -> [String] {
    errors.map { "\($0.instanceLocation) \($0.keyword)" }
}

struct ErrorReportingTests {
    @Test func requiredIsReportedAtTheObjectNamingTheProperty() throws {
        let found = try errors(#"{"properties": {"a": {"required": ["decisionNumber"]}}}"#, #"{"a": {}}"#)
        #expect(found.count == 1)
        #expect(found.first?.instanceLocation.description == "/a")
        #expect(found.first?.keyword == "required")
        #expect(found.first?.keywordLocation.description == "/properties/a/required")
        #expect(found.first?.message == "required property 'decisionNumber' is missing")
    }

    @Test func leafMessagesNameTheValue() throws {
        let pattern = try errors(#"{"pattern": "^[0-9]{6}$"}"#, #""abc""#)
        #expect(pattern.first?.message == "'abc' does not match pattern ^[0-9]{6}$")
        let date = try errors(#"{"format": "date"}"#, #""2026-02-30""#)
        #expect(date.first?.message == "'2026-02-30' is not a valid date")
        #expect(date.first?.keyword == "format")
        let type = try errors(#"{"type": ["string", "null"]}"#, "12")
        #expect(type.first?.message == "12 is not of type 'string' or 'null'")
        let minimum = try errors(#"{"minimum": 5}"#, "3")
        #expect(minimum.first?.message == "3 is less than the minimum of 5")
    }

    @Test func descendingKeywordsReportTheLeafErrors() throws {
        let schema = #"""
            {"$defs": {"subject": {"type": "object", "required": ["uscc"],
                                   "properties": {"name": {"type": "string", "maxLength": 3}}}},
             "properties": {"subject": {"$ref": "#/$defs/subject"},
                            "items": {"items": {"type": "integer"}},
                            "tags": {"propertyNames": {"pattern": "^[a-z]+$"}}},
             "dependentSchemas": {"flag": {"required": ["reason"]}},
             "if": {"required": ["kind"]}, "then": {"properties": {"kind": {"const": "x"}}}}
            """#
        let instance =
            #"{"subject": {"name": "long"}, "items": [1, "two"], "tags": {"Bad": 1}, "flag": true, "kind": "y"}"#
        let found = try errors(schema, instance)
        #expect(
            summary(found) == [
                "/subject required", "/subject/name maxLength", "/items/1 type", "/tags pattern",
                " required", "/kind const",
            ])
        #expect(found[0].keywordLocation.description == "/properties/subject/$ref/required")
        #expect(found[1].keywordLocation.description == "/properties/subject/$ref/properties/name/maxLength")
        #expect(found[4].keywordLocation.description == "/dependentSchemas/flag/required")
        #expect(found[5].keywordLocation.description == "/then/properties/kind/const")
    }

    @Test func alternativesReportOneErrorWithTheirOwnKeyword() throws {
        let schema = #"""
            {"properties": {"a": {"anyOf": [{"type": "string"}, {"required": ["x"]}]},
                            "b": {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
                            "c": {"not": {"type": "integer"}},
                            "d": {"contains": {"type": "string"}},
                            "e": {"contains": {"type": "string"}, "minContains": 2}}}
            """#
        let found = try errors(schema, #"{"a": {}, "b": 3, "c": 4, "d": [1, 2], "e": ["x", 1]}"#)
        #expect(summary(found) == ["/a anyOf", "/b oneOf", "/c not", "/d contains", "/e minContains"])
        #expect(found[1].message.contains("more than one"))
    }

    @Test func additionalPropertiesFalseNamesTheExtrasAtTheObject() throws {
        let found = try errors(
            #"{"properties": {"a": {}}, "patternProperties": {"^x-": {}}, "additionalProperties": false}"#,
            #"{"a": 1, "x-ok": 2, "zeta": 3, "beta": 4}"#)
        #expect(found.count == 1)
        #expect(found.first?.instanceLocation == .root)
        #expect(found.first?.keyword == "additionalProperties")
        #expect(found.first?.message == "additional properties are not allowed: 'zeta', 'beta'")
    }

    @Test func additionalPropertiesSchemaDescends() throws {
        let found = try errors(#"{"additionalProperties": {"type": "string"}}"#, #"{"a": 1, "b": "ok"}"#)
        #expect(summary(found) == ["/a type"])
        #expect(found.first?.keywordLocation.description == "/additionalProperties/type")
    }

    @Test func errorsFollowSchemaKeywordOrder() throws {
        let found = try errors(
            #"{"required": ["z"], "properties": {"b": {"type": "string"}, "a": {"type": "string"}}, "#
                + #""minProperties": 9}"#,
            #"{"a": 1, "b": 2}"#)
        #expect(summary(found) == [" required", "/b type", "/a type", " minProperties"])
    }

    @Test func falseSubschemas() throws {
        #expect(summary(try errors("false", "1")) == [" false"])
        #expect(summary(try errors(#"{"properties": {"gone": false}}"#, #"{"gone": 1}"#)) == [" false"])
        #expect(summary(try errors(#"{"items": false, "prefixItems": [{}]}"#, "[1, 2, 3]")) == [" items"])
    }

    @Test func messagesTruncateLongValues() throws {
        let long = String(repeating: "x", count: 5000)
        let found = try errors(#"{"pattern": "^[0-9]+$"}"#, "\"\(long)\"")
        let message = try #require(found.first?.message)
        #expect(message.count < 120)
        #expect(message.contains("…"))
        let array = "[" + (0..<2000).map(String.init).joined(separator: ",") + "]"
        let arrayMessage = try #require(try errors(#"{"maxItems": 1}"#, array).first?.message)
        #expect(arrayMessage.count < 140)
        #expect(arrayMessage.hasSuffix("has 2000 items, more than the maximum of 1"))
        let enumValues = "[" + (0..<500).map { "\"value-\($0)\"" }.joined(separator: ",") + "]"
        let enumMessage = try #require(try errors(#"{"enum": \#(enumValues)}"#, #""nope""#).first?.message)
        #expect(enumMessage.count < 120)
    }

    @Test func descriptionCombinesLocationsAndMessage() throws {
        let found = try errors(#"{"properties": {"n": {"type": "integer"}}}"#, #"{"n": "1"}"#)
        #expect(found.first?.description == "/n: '1' is not of type 'integer' (type at /properties/n/type)")
    }

    @Test func isValidAgreesWithValidate() throws {
        let schema = try SchemaValidator(
            schema: try json(#"{"type": "object", "required": ["a"], "properties": {"a": {"enum": [1, 2]}}}"#))
        for text in [#"{"a": 1}"#, #"{"a": 3}"#, "{}", "[]", #"{"a": 2.0}"#] {
            let value = try json(text)
            #expect(schema.isValid(value) == schema.validate(value).isEmpty, "\(text)")
        }
    }
}

struct SchemaRegistryTests {
    static let common = #"""
        {"$id": "urn:xgate:schema:common:1",
         "$defs": {"subject": {"type": "object", "required": ["uscc", "name"], "additionalProperties": false,
                               "properties": {"uscc": {"type": "string", "pattern": "^[0-9A-Z]{18}$"},
                                              "name": {"type": "string", "minLength": 1}}},
                   "date": {"type": "string", "format": "date"}}}
        """#
    static let batch = #"""
        {"$id": "urn:xgate:schema:batch:1", "type": "object", "required": ["subject", "sequence"],
         "properties": {"subject": {"$ref": "urn:xgate:schema:common:1#/$defs/subject"},
                        "decided": {"$ref": "urn:xgate:schema:common:1#/$defs/date"},
                        "sequence": {"type": "integer", "minimum": 1}}}
        """#

    @Test func refsAcrossTwoSchemas() throws {
        var registry = SchemaRegistry()
        // Added before the schema it references: checked again when compiled.
        try registry.add(try json(Self.batch))
        try registry.add(try json(Self.common))
        #expect(registry.ids == ["urn:xgate:schema:batch:1", "urn:xgate:schema:common:1"])
        let validator = try registry.validator(for: "urn:xgate:schema:batch:1")
        #expect(
            validator.isValid(try json(#"{"subject": {"uscc": "91110000MA01ABCDE1", "name": "X"}, "sequence": 1}"#)))
        let found = validator.validate(
            try json(#"{"subject": {"uscc": "abc", "extra": 1}, "decided": "2021-02-29", "sequence": 0}"#))
        #expect(
            summary(found) == [
                "/subject required", "/subject additionalProperties", "/subject/uscc pattern", "/decided format",
                "/sequence minimum",
            ])
        #expect(found[0].message == "required property 'name' is missing")
        #expect(found[0].keywordLocation.description == "/properties/subject/$ref/required")
        #expect(found[3].message == "'2021-02-29' is not a valid date")
    }

    @Test func unresolvableRefIsASchemaError() throws {
        var registry = SchemaRegistry()
        try registry.add(try json(Self.batch))
        #expect(throws: SchemaError.self) { try registry.validator(for: "urn:xgate:schema:batch:1") }
        do {
            _ = try registry.validator(for: "urn:xgate:schema:batch:1")
        } catch {
            #expect(error.schemaID == "urn:xgate:schema:batch:1")
            #expect(error.location.description == "/properties/subject")
            #expect(error.description.contains("urn:xgate:schema:common:1#/$defs/subject"))
        }
        try registry.add(try json(#"{"$id": "urn:xgate:schema:common:1", "$defs": {}}"#))
        #expect(throws: SchemaError.self) { try registry.validator(for: "urn:xgate:schema:batch:1") }
        #expect(throws: SchemaError.self) { try registry.validator(for: "urn:xgate:schema:nothing:1") }
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json(##"{"$ref": "#/$defs/missing"}"##)) }
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json(#"{"$ref": "urn:elsewhere#/x"}"#)) }
    }

    @Test func addNeedsAnIDAndRefusesConflicts() throws {
        var registry = SchemaRegistry()
        #expect(throws: SchemaError.self) { try registry.add(try json(#"{"type": "string"}"#)) }
        try registry.add(try json(#"{"type": "string"}"#), id: "urn:a")
        try registry.add(try json(#"{"type": "string"}"#), id: "urn:a")
        #expect(throws: SchemaError.self) { try registry.add(try json(#"{"type": "integer"}"#), id: "urn:a") }
        #expect(registry.ids == ["urn:a"])
    }

    @Test func schemaErrorsNameSchemaLocationAndKeyword() throws {
        var registry = SchemaRegistry()
        let bad = try json(#"{"$id": "urn:xgate:schema:batch:1", "properties": {"sequence": {"minimum": "1"}}}"#)
        do {
            try registry.add(bad)
            Issue.record("expected a SchemaError")
        } catch {
            #expect(error.description == "urn:xgate:schema:batch:1 at /properties/sequence: 'minimum' must be a number")
            #expect(error.keyword == "minimum")
        }
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json(#"{"pattern": "(unclosed"}"#)) }
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json(#"{"type": "strin"}"#)) }
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json(#"{"required": "a"}"#)) }
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json(#"{"properties": {"a": 3}}"#)) }
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json(##"{"$dynamicRef": "#x"}"##)) }
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json("3")) }
    }

    @Test func rejectUnknownKeywords() throws {
        let typo = try json(#"{"$id": "urn:t", "properties": {"name": {"type": "string", "minLenght": 3}}}"#)
        _ = try SchemaValidator(schema: typo)
        let strict = SchemaOptions(rejectUnknownKeywords: true)
        do {
            _ = try SchemaValidator(schema: typo, options: strict)
            Issue.record("expected a SchemaError")
        } catch {
            #expect(error.keyword == "minLenght")
            #expect(error.description == "urn:t at /properties/name: unknown keyword 'minLenght'")
        }
        let extended = try json(
            #"{"x-catalogue": {"owner": "ops"}, "title": "T", "description": "d", "default": 1,"#
                + #" "examples": [1], "deprecated": false, "$comment": "c", "type": "integer"}"#)
        _ = try SchemaValidator(schema: extended, options: strict)
        var registry = SchemaRegistry(options: strict)
        #expect(throws: SchemaError.self) { try registry.add(typo) }
    }
}

struct SchemaReferenceTests {
    @Test func recursiveSchemasWork() throws {
        let schema = #"""
            {"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
                                                                 "next": {"$ref": "#/$defs/node"}}}},
             "$ref": "#/$defs/node"}
            """#
        let found = try errors(schema, #"{"value": 1, "next": {"value": 2, "next": {"value": "three"}}}"#)
        #expect(summary(found) == ["/next/next/value type"])
        #expect(
            found.first?.keywordLocation.description
                == "/$ref/properties/next/$ref/properties/next/$ref/properties/value/type")
        #expect(
            try errors(
                ##"{"properties": {"child": {"$ref": "#"}}, "required": ["v"]}"##, ##"{"v": 1, "child": {"v": 2}}"##
            ).isEmpty)
    }

    @Test func refsThatNeverDescendAreRefused() throws {
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json(##"{"$ref": "#"}"##)) }
        let mutual =
            ##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}"##
        #expect(throws: SchemaError.self) { try SchemaValidator(schema: try json(mutual)) }
    }

    @Test func deepInstancesDoNotCrash() throws {
        let validator = try SchemaValidator(schema: try json(##"{"items": {"$ref": "#"}, "type": "array"}"##))
        var value = JSONValue.array([])
        for _ in 0..<100 { value = .array([value]) }
        #expect(validator.isValid(value))
        for _ in 0..<5000 { value = .array([value]) }
        let valid = validator.isValid(value)
        let found = validator.validate(value)
        #expect(!valid)
        #expect(found.count == 1 && found[0].message.contains("levels deep"))
        // Heavier recursion shapes (alternatives, unevaluated keywords) stop at the same limit.
        let shapes = [
            ##"{"anyOf": [{"type": "integer"}, {"items": {"$ref": "#"}}]}"##,
            ##"{"allOf": [{"$ref": "#/$defs/a"}], "$defs": {"a": {"prefixItems": [{"$ref": "#"}], "##
                + ##""unevaluatedItems": false}}}"##,
            ##"{"oneOf": [{"not": {"type": "array"}}, {"contains": {"$ref": "#"}, "minContains": 1}]}"##,
        ]
        var deep = JSONValue.array([1])
        for _ in 0..<3000 { deep = .array([deep]) }
        for shape in shapes {
            // A failure from running too deep is never turned into a success by `not` (no bypass by nesting).
            let heavy = try SchemaValidator(schema: try json(shape))
            let valid = heavy.isValid(deep)
            let found = heavy.validate(deep)
            #expect(!valid, "\(shape)")
            #expect(found.contains { $0.message.contains("levels deep") }, "\(shape)")
        }
    }

    @Test func pointerEscapesAnchorsAndEmbeddedIDs() throws {
        let escapes = #"""
            {"$defs": {"a/b": {"type": "integer"}, "c%d": {"type": "string"}, "t~e": {"minimum": 3}},
             "properties": {"x": {"$ref": "#/$defs/a~1b"}, "y": {"$ref": "#/$defs/c%25d"},
                            "z": {"$ref": "#/$defs/t~0e"}}}
            """#
        #expect(summary(try errors(escapes, #"{"x": "s", "y": 1, "z": 1}"#)) == ["/x type", "/y type", "/z minimum"])
        let anchored = ##"{"$defs": {"n": {"$anchor": "name", "type": "string"}}, "$ref": "#name"}"##
        #expect(summary(try errors(anchored, "1")) == [" type"])
        let embedded = #"""
            {"$id": "urn:outer", "$defs": {"b": {"type": "integer"},
               "inner": {"$id": "urn:inner", "$defs": {"b": {"type": "string"}}, "$ref": "#/$defs/b"}},
             "properties": {"i": {"$ref": "#/$defs/inner"}, "o": {"$ref": "#/$defs/b"},
                            "d": {"$ref": "urn:inner#/$defs/b"}, "s": {"$ref": "urn:outer#/$defs/b"}}}
            """#
        #expect(
            summary(try errors(embedded, #"{"i": 1, "o": "x", "d": 2, "s": "y"}"#)) == [
                "/i type", "/o type", "/d type", "/s type",
            ])
    }
}

struct KeywordDetailTests {
    @Test func multipleOfIsExact() throws {
        #expect(try errors(#"{"multipleOf": 0.0001}"#, "0.0075").isEmpty)
        #expect(try errors(#"{"multipleOf": 0.01}"#, "19.99").isEmpty)
        #expect(try errors(#"{"multipleOf": 0.0001}"#, "0.00751").count == 1)
        #expect(try errors(#"{"type": "integer", "multipleOf": 0.123456789}"#, "1e308").count == 1)
        #expect(try errors(#"{"multipleOf": 3}"#, "9007199254740991").count == 1)
        #expect(try errors(#"{"multipleOf": 2}"#, "4.5").count == 1)
    }

    @Test func uniqueItemsUsesJSONEquality() throws {
        #expect(try errors(#"{"uniqueItems": true}"#, "[1, 1.0]").count == 1)
        #expect(try errors(#"{"uniqueItems": true}"#, #"[{"a": 1, "b": 2}, {"b": 2, "a": 1}]"#).count == 1)
        #expect(try errors(#"{"uniqueItems": true}"#, "[true, 1, false, 0, null]").isEmpty)
        let many = "[" + (0..<40).map(String.init).joined(separator: ",") + ",39.0]"
        #expect(try errors(#"{"uniqueItems": true}"#, many).first?.message.contains("items 39 and 40") == true)
    }

    @Test func patternsFollowECMAScript() throws {
        #expect(try errors(#"{"pattern": "^[0-9]{6}$"}"#, #""123456\n""#).count == 1)
        #expect(try errors(#"{"pattern": "^\\d+$"}"#, "\"\u{0663}\"").count == 1)
        #expect(try errors(#"{"pattern": "b"}"#, #""abc""#).isEmpty)
        #expect(try errors(#"{"pattern": "^x-"}"#, #""y-x-""#).count == 1)
        #expect(try errors(#"{"pattern": "^[^\\s]+$"}"#, "\"a\u{FEFF}b\"").count == 1)
        // The same rules hold for patterns that go to the regular expression engine.
        #expect(try errors(#"{"pattern": "^(?:[0-9]{6})$"}"#, #""123456\n""#).count == 1)
        #expect(try errors(#"{"pattern": "^(\\d)+$"}"#, "\"\u{0663}\"").count == 1)
        #expect(try errors(#"{"pattern": "^(\\d)+$"}"#, #""42""#).isEmpty)
        #expect(try errors(#"{"pattern": "^a.c$"}"#, #""a\nc""#).count == 1)
        #expect(try errors(#"{"pattern": "\\bword\\b"}"#, "\"\u{E9}word\"").isEmpty)
        #expect(try errors(#"{"pattern": "^[[]$"}"#, #""[""#).isEmpty)
    }

    @Test func lengthsCountCodePoints() throws {
        #expect(try errors(#"{"maxLength": 2}"#, "\"\u{1F600}\u{1F600}\"").isEmpty)
        #expect(try errors(#"{"minLength": 2}"#, "\"\u{1F600}\"").count == 1)
        #expect(try errors(#"{"maxLength": 1}"#, "\"e\u{301}\"").count == 1)
    }

    @Test func formatsAreAssertedOnlyWhenAsked() throws {
        #expect(try errors(#"{"format": "date-time"}"#, #""2021-13-01T00:00:00Z""#).count == 1)
        #expect(try errors(#"{"format": "date-time"}"#, #""1998-12-31T15:59:60.123-08:00""#).isEmpty)
        #expect(try errors(#"{"format": "date-time"}"#, #""1998-12-31T23:59:60+01:00""#).count == 1)
        #expect(try errors(#"{"format": "date"}"#, #""2021-02-29""#, options: .init(assertFormats: false)).isEmpty)
        #expect(try errors(#"{"format": "email"}"#, #""not an email""#).isEmpty)
    }

    @Test func constAndEnumCompareCodePoints() throws {
        #expect(try errors(#"{"const": "\u00e9"}"#, "\"e\u{301}\"").count == 1)
        let big = "[" + (0..<20).map { "\"v\($0)\"" }.joined(separator: ",") + ", 1, {\"a\": [1]}]"
        #expect(try errors(#"{"enum": \#(big)}"#, #"{"a": [1.0]}"#).isEmpty)
        #expect(try errors(#"{"enum": \#(big)}"#, "\"e\u{301}\"").count == 1)
    }

    @Test func validatorsAreSharedAcrossTasks() async throws {
        let validator = try SchemaValidator(
            schema: try json(#"{"properties": {"n": {"pattern": "^([0-9]+|x)$"}, "m": {"pattern": "^[0-9]+$"}}}"#))
        let good = try json(#"{"n": "123", "m": "4"}"#)
        let bad = try json(#"{"n": "12a", "m": "4"}"#)
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    (0..<200).allSatisfy { _ in validator.isValid(i % 2 == 0 ? good : bad) == (i % 2 == 0) }
                }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(results)
    }
}
