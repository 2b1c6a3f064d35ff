import AIVTestSupport
import AIVCore
import Testing

/// The static shape read from a prompt's output schema, which references into a reply are checked against.
@Suite struct SchemaFromJSONSchemaTests {
    @Test func readsTypesPropertiesItemsAndEnums() throws {
        let schema = try JSONValue(parsing: """
            {"type": "object", "propertyOrdering": ["items", "count"], "required": ["items"],
             "properties": {
               "count": {"type": "integer"},
               "items": {"type": "array", "items": {"type": "object", "properties": {
                 "japanese": {"type": "string", "description": "the expression"},
                 "level": {"type": "string", "enum": ["N5", "N4"]},
                 "note": {"type": ["string", "null"]},
                 "score": {"type": "number", "nullable": true}}}}}}
            """)
        let item = Schema.object([
            Property("japanese", .string, "the expression"),
            Property("level", .oneOfStrings(["N5", "N4"]), ""),
            Property("note", .anyOf([.string, .null]), ""),
            Property("score", .anyOf([.number, .null]), ""),
        ])
        #expect(Schema(jsonSchema: schema) == .object([
            Property("items", .array(item), required: true, ""),
            Property("count", .integer, ""),
        ]))
    }

    /// Listed properties close an object (structured output gives no others) unless
    /// `additionalProperties` opens it; what the reader does not know is any value.
    @Test func anObjectIsClosedUnlessAdditionalPropertiesOpensIt() throws {
        #expect(Schema(jsonSchema: try JSONValue(parsing: #"{"type": "object", "properties": {"a": {"type": "boolean"}}, "additionalProperties": true}"#))
                == .object([Property("a", .boolean, "")], additional: .any))
        #expect(Schema(jsonSchema: try JSONValue(parsing: #"{"type": "object"}"#)) == .map(.any))
        #expect(Schema(jsonSchema: try JSONValue(parsing: #"{"type": "object", "properties": {}}"#)) == .map(.any))
        #expect(Schema(jsonSchema: try JSONValue(parsing: #"{"anyOf": [{"type": "string"}, {"type": "integer"}]}"#)) == .anyOf([.string, .integer]))
        #expect(Schema(jsonSchema: try JSONValue(parsing: #"{"description": "anything"}"#)) == .any)
        #expect(Schema(jsonSchema: .string("not a schema")) == .any)
    }
}
