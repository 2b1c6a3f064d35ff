/// Checks that a prompt's output schema is a JSON Schema that Gemini's structured output can use:
/// known types, `properties` with schemas, `items` on arrays, `required` naming real properties.
enum OutputSchemaChecker {
    static let types = ["object", "array", "string", "number", "integer", "boolean", "null"]
    static let keywords = ["type", "properties", "required", "items", "enum", "description", "format", "nullable",
                           "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern",
                           "propertyOrdering", "anyOf", "title", "default", "additionalProperties", "const", "$schema"]

    static func check(_ schema: SourceValue) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        visit(schema, path: "schema", problems: &problems)
        return problems
    }

    private static func visit(_ schema: SourceValue, path: String, problems: inout [Diagnostic]) {
        guard let entries = schema.entries else {
            problems.append(.error("\(path) must be a JSON Schema mapping, not \(schema.kindPhrase)", at: schema.location, length: schema.length))
            return
        }
        for entry in entries where !keywords.contains(entry.key) {
            problems.append(.error("unknown JSON Schema keyword '\(entry.key)' in \(path)\(Suggestions.didYouMean(entry.key, in: keywords))",
                                   at: entry.keyLocation, length: entry.key.count))
        }
        var declaredTypes: [String] = []
        if let type = schema["type"] {
            let names: [SourceValue] = type.items ?? [type]
            for name in names {
                guard let text = name.string, types.contains(text) else {
                    problems.append(.error("'type' in \(path) must be one of \(types.joined(separator: ", "))\(Suggestions.didYouMean(name.string ?? "", in: types))",
                                           at: name.location, length: name.length))
                    continue
                }
                declaredTypes.append(text)
            }
        } else if schema["anyOf"] == nil, schema["enum"] == nil, schema["const"] == nil {
            problems.append(.error("\(path) has no 'type'", at: schema.location))
        }
        if let properties = schema["properties"] {
            if let members = properties.entries {
                for member in members { visit(member.value, path: "\(path).properties.\(member.key)", problems: &problems) }
            } else {
                problems.append(.error("'properties' in \(path) must be a mapping", at: properties.location))
            }
        }
        if let required = schema["required"] {
            let names = properties(of: schema)
            for name in required.items ?? [required] {
                if let text = name.string, names.contains(text) { continue }
                problems.append(.error("'required' in \(path) names '\(name.string ?? name.kindPhrase)', which is not among its properties\(Suggestions.didYouMean(name.string ?? "", in: names))",
                                       at: name.location, length: name.length))
            }
        }
        if let items = schema["items"] {
            visit(items, path: "\(path).items", problems: &problems)
        } else if declaredTypes.contains("array") {
            problems.append(.error("\(path) is an array but has no 'items' schema", at: schema.location))
        }
        if let anyOf = schema["anyOf"] {
            for (i, option) in (anyOf.items ?? []).enumerated() { visit(option, path: "\(path).anyOf[\(i)]", problems: &problems) }
        }
        if let enumValues = schema["enum"], enumValues.items == nil {
            problems.append(.error("'enum' in \(path) must be a list", at: enumValues.location))
        }
    }

    private static func properties(of schema: SourceValue) -> [String] {
        schema["properties"]?.entries?.map(\.key) ?? []
    }
}
