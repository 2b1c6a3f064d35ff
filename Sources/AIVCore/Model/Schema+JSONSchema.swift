extension Schema {
    /// The static shape of the values a JSON Schema admits (a prompt's output schema), as far as
    /// expressions reading them need it: types, the properties of objects, the items of lists,
    /// the strings of an `enum`. Bounds and patterns do not change what can be read and are left
    /// out; anything it does not know is `.any`. An object that lists its properties is closed
    /// unless `additionalProperties` says otherwise: structured output gives only the listed
    /// ones, so reading another is a mistake worth reporting.
    public init(jsonSchema: JSONValue) {
        self = Self.shape(of: jsonSchema, depth: 0)
    }

    /// Nesting beyond this is `.any` (a checked output schema is far shallower).
    static let deepestJSONSchema = 32

    private static func shape(of schema: JSONValue, depth: Int) -> Schema {
        guard depth < deepestJSONSchema, case .object(let members) = schema else { return .any }
        if let options = members["anyOf"]?.arrayValue, !options.isEmpty {
            return .anyOf(options.map { shape(of: $0, depth: depth + 1) })
        }
        var types: [String]
        switch members["type"] {
        case .string(let type)?: types = [type]
        case .array(let list)?: types = list.compactMap(\.stringValue)
        default:
            types = members["properties"] != nil ? ["object"] : members["items"] != nil ? ["array"] : []
        }
        if members["nullable"] == .bool(true), !types.isEmpty, !types.contains("null") { types.append("null") }
        let shapes = types.map { type -> Schema in
            switch type {
            case "string":
                let choices = members["enum"]?.arrayValue?.compactMap(\.stringValue) ?? []
                return choices.isEmpty ? .string : .oneOfStrings(choices)
            case "number": return .number
            case "integer": return .integer
            case "boolean": return .boolean
            case "null": return .null
            case "array": return .array(members["items"].map { shape(of: $0, depth: depth + 1) } ?? .any)
            case "object": return objectShape(members, depth: depth)
            default: return .any
            }
        }
        if shapes.isEmpty || shapes.contains(.any) { return .any }
        return shapes.count == 1 ? shapes[0] : .anyOf(shapes)
    }

    private static func objectShape(_ members: [String: JSONValue], depth: Int) -> Schema {
        // An object that lists no property says nothing of its fields: any may be read.
        guard case .object(let properties)? = members["properties"], !properties.isEmpty else {
            return .map(members["additionalProperties"].map { shape(of: $0, depth: depth + 1) } ?? .any)
        }
        let required = Set(members["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        // Gemini's `propertyOrdering` first, then the rest by name: the order help and messages list them in.
        let ordered = (members["propertyOrdering"]?.arrayValue?.compactMap(\.stringValue) ?? []).filter { properties[$0] != nil }
        let names = ordered + properties.keys.filter { !ordered.contains($0) }.sorted()
        let additional: Schema?
        switch members["additionalProperties"] {
        case .bool(true)?: additional = .any
        case .object?: additional = shape(of: members["additionalProperties"]!, depth: depth + 1)
        default: additional = nil
        }
        return .object(names.map { name in
            Property(name, shape(of: properties[name]!, depth: depth + 1), required: required.contains(name),
                     properties[name]?["description"]?.stringValue ?? "")
        }, additional: additional)
    }
}
