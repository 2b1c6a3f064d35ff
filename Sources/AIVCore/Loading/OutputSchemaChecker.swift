import Foundation

/// Checks that a prompt's output schema is a JSON Schema that Gemini's structured output can use:
/// known types, `properties` with schemas, `items` on arrays, `required` naming real properties,
/// and every keyword's value of the kind it takes (counts, numbers, a pattern that compiles…).
enum OutputSchemaChecker {
    static let types = ["object", "array", "string", "number", "integer", "boolean", "null"]
    static let keywords = ["type", "properties", "required", "items", "enum", "description", "format", "nullable",
                           "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern",
                           "propertyOrdering", "anyOf", "title", "default", "additionalProperties", "const", "$schema"]

    /// `path`: what messages call the schema's top ("schema", "items of input 'expressions'").
    static func check(_ schema: SourceValue, path: String = "schema") -> [Diagnostic] {
        var problems: [Diagnostic] = []
        visit(schema, path: path, problems: &problems)
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
        checkValues(of: schema, path: path, problems: &problems)
        if let required = schema["required"] {
            let names = properties(of: schema)
            if required.items == nil {
                problems.append(.error("'required' in \(path) must be a list of property names, not \(required.kindPhrase)", at: required.location, length: required.length))
            }
            for name in required.items ?? [] {
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
            if anyOf.items?.isEmpty != false {
                problems.append(.error("'anyOf' in \(path) must be a list of schemas", at: anyOf.location, length: anyOf.length))
            }
            for (i, option) in (anyOf.items ?? []).enumerated() { visit(option, path: "\(path).anyOf[\(i)]", problems: &problems) }
        }
        if let additional = schema["additionalProperties"], additional.entries != nil {
            visit(additional, path: "\(path).additionalProperties", problems: &problems)
        }
        if let enumValues = schema["enum"] {
            if let values = enumValues.items {
                // No value could match: a model asked for one can give nothing right.
                if values.isEmpty {
                    problems.append(.error("'enum' in \(path) is empty: no value could match", at: enumValues.location, length: enumValues.length))
                } else if !declaredTypes.isEmpty {
                    let nullable = schema["nullable"]?.json == .bool(true)
                    for value in values where !declaredTypes.contains(where: { JSONSchemaValidator.matches(value.json, type: $0) })
                    && !(nullable && value.json == .null) {
                        problems.append(.error("'enum' in \(path) holds \(value.json.canonicalJSON), which is not \(declaredTypes.map(JSONSchemaValidator.article).joined(separator: " or ")) as its 'type' says",
                                               at: value.location, length: value.length))
                    }
                }
            } else {
                problems.append(.error("'enum' in \(path) must be a list", at: enumValues.location))
            }
        }
    }

    /// The keywords whose values are counts, numbers, text or flags: each of its kind, lower
    /// bounds not above upper ones, and a pattern that compiles.
    private static func checkValues(of schema: SourceValue, path: String, problems: inout [Diagnostic]) {
        func problem(_ keyword: String, _ message: String) {
            let value = schema[keyword]!
            problems.append(.error("'\(keyword)' in \(path) \(message)", at: value.location, length: value.length))
        }
        for keyword in ["minItems", "maxItems", "minLength", "maxLength"] {
            guard let value = schema[keyword] else { continue }
            if case .int(let n) = value.content, n >= 0 { continue }
            problem(keyword, "must be a whole number of 0 or more, not \(value.json.canonicalJSON)")
        }
        for keyword in ["minimum", "maximum"] {
            guard let value = schema[keyword], value.json.numberValue == nil else { continue }
            problem(keyword, "must be a number, not \(value.json.canonicalJSON)")
        }
        for keyword in ["description", "title", "format", "pattern"] {
            guard let value = schema[keyword], value.string == nil else { continue }
            problem(keyword, "must be text, not \(value.kindPhrase)")
        }
        func isFlag(_ value: SourceValue) -> Bool { if case .bool = value.content { true } else { false } }
        if let value = schema["nullable"], !isFlag(value) { problem("nullable", "must be true or false, not \(value.json.canonicalJSON)") }
        if let pattern = schema["pattern"]?.string {
            do {
                _ = try NSRegularExpression(pattern: pattern)
            } catch {
                problem("pattern", "is not a regular expression that compiles: '\(pattern)'")
            }
        }
        if let value = schema["propertyOrdering"] {
            let names = properties(of: schema)
            if let items = value.items {
                for item in items where !(item.string.map(names.contains) ?? false) {
                    problems.append(.error("'propertyOrdering' in \(path) names '\(item.string ?? item.kindPhrase)', which is not among its properties",
                                           at: item.location, length: item.length))
                }
            } else {
                problem("propertyOrdering", "must be a list of property names, not \(value.kindPhrase)")
            }
        }
        if let additional = schema["additionalProperties"], additional.entries == nil, !isFlag(additional) {
            problem("additionalProperties", "must be true, false or a schema, not \(additional.kindPhrase)")
        }
        for (low, high) in [("minItems", "maxItems"), ("minLength", "maxLength"), ("minimum", "maximum")] {
            if let a = schema[low]?.json.numberValue, let b = schema[high]?.json.numberValue, a > b {
                problem(low, "(\(schema[low]!.json.canonicalJSON)) is above '\(high)' (\(schema[high]!.json.canonicalJSON)): no value could match")
            }
        }
    }

    private static func properties(of schema: SourceValue) -> [String] {
        schema["properties"]?.entries?.map(\.key) ?? []
    }
}
