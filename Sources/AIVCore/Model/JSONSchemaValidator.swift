import Foundation

/// One way a JSON value breaks a schema, and where: `$.items[3].difficulty: "N6" is not one of "N5", "N4"`.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// JSON-path-like: `$` is the whole value, then `.name` or `["odd name"]` for members, `[3]` for items.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Checks a value (a model's structured reply) against the JSON Schema subset that prompt files may
/// use, the keywords `OutputSchemaChecker` allows, so that a reply that breaks it can be sent back
/// with a list of exactly what to fix.
///
/// Hand-written because none of the Swift packages available to the project validates JSON Schema
/// (OpenAPIKit models schemas but does not check instances against them), and the subset Gemini's
/// structured output uses is small. Covered:
/// - `type`, one or a list: "integer" is a number with no fraction; "null" is null. `nullable: true`
///   (Gemini's, from OpenAPI 3.0) also lets null through, whatever the other keywords say.
/// - `properties`, `required`, `additionalProperties` (false, or a schema for the other members).
/// - `items`, `minItems`, `maxItems`; `minimum`, `maximum` (inclusive).
/// - `minLength`, `maxLength`, in Unicode code points as JSON Schema counts them; `pattern`, an
///   unanchored search as JSON Schema says. A pattern that does not compile is reported as a violation.
/// - `enum` and `const`, compared with `JSONValue`'s `==` (so `5` equals `5.0`).
/// - `anyOf`: at least one option must hold. When none does and only one option is of the value's
///   type, that option's violations are reported, since it is the shape the model was going for;
///   otherwise one summary line.
/// - `format`: only "date" (YYYY-MM-DD) and "date-time" (a date, `T` or a space, hh:mm, optional
///   seconds, fraction and offset) are checked, and loosely: enough to turn away "next Tuesday" or
///   "2024/05/01", which downstream steps could not read, without refusing what a lenient ISO 8601
///   parser accepts. Every other format is an annotation, as JSON Schema treats formats by default.
/// Annotations (`description`, `title`, `default`, `propertyOrdering`, `$schema`) and unknown
/// keywords are ignored. A type mismatch stops the checks below it, so one wrong value gives one line.
public enum JSONSchemaValidator {
    /// Up to `limit` violations, in a stable order (object members by name); empty when the value fits.
    public static func violations(of value: JSONValue, against schema: JSONValue, limit: Int = 20) -> [SchemaViolation] {
        var found: [SchemaViolation] = []
        check(value, schema, path: "$", into: &found, limit: limit)
        return found
    }

    private static func check(_ value: JSONValue, _ schema: JSONValue, path: String, into found: inout [SchemaViolation], limit: Int) {
        guard found.count < limit else { return }
        func report(_ message: String) {
            if found.count < limit { found.append(SchemaViolation(path: path, message: message)) }
        }
        if schema == .bool(false) { return report("\(show(value)) is not allowed here") }
        guard case .object(let keywords) = schema else { return }
        if value == .null, keywords["nullable"] == .bool(true) { return }

        let types = declaredTypes(keywords)
        if !types.isEmpty, !types.contains(where: { matches(value, type: $0) }) {
            let expected = types.map(article).joined(separator: " or ")
            return report(value == .null ? "is null, but must be \(expected)" : "\(show(value)) is \(article(jsonType(of: value))), not \(expected)")
        }
        if let options = keywords["enum"]?.arrayValue, !options.contains(value) {
            // A list of thousands of choices would make one line of a screenful: the first ten.
            let shown = options.prefix(10).map(show).joined(separator: ", ") + (options.count > 10 ? " and \(options.count - 10) more" : "")
            report("\(show(value)) is not one of \(shown)")
        }
        if let constant = keywords["const"], constant != value {
            report("\(show(value)) is not the allowed value \(show(constant))")
        }
        if let options = keywords["anyOf"]?.arrayValue, !options.isEmpty {
            checkAnyOf(value, options, path: path, into: &found, limit: limit)
        }

        switch value {
        case .string(let text):
            let length = text.unicodeScalars.count
            if let (minimum, shown) = bound("minLength", keywords), Double(length) < minimum {
                report("\(show(value)) is \(length) characters long; at least \(shown) are required")
            }
            if let (maximum, shown) = bound("maxLength", keywords), Double(length) > maximum {
                report("\(show(value)) is \(length) characters long; at most \(shown) are allowed")
            }
            if let pattern = keywords["pattern"]?.stringValue {
                if let regex = try? NSRegularExpression(pattern: pattern) {
                    if regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                        report("\(show(value)) does not match the pattern \(pattern)")
                    }
                } else {
                    report("the schema's pattern \(show(.string(pattern))) is not a valid regular expression")
                }
            }
            if let format = keywords["format"]?.stringValue, let (regex, shape) = formats[format],
               text.range(of: regex, options: .regularExpression) == nil {
                report("\(show(value)) is not a \(format) (\(shape))")
            }
        case .int, .double:
            let number = value.numberValue ?? 0
            if let (minimum, shown) = bound("minimum", keywords), number < minimum {
                report("\(show(value)) is less than the minimum \(shown)")
            }
            if let (maximum, shown) = bound("maximum", keywords), number > maximum {
                report("\(show(value)) is greater than the maximum \(shown)")
            }
        case .array(let items):
            if let (minimum, shown) = bound("minItems", keywords), Double(items.count) < minimum {
                report("has \(items.count) items; at least \(shown) are required")
            }
            if let (maximum, shown) = bound("maxItems", keywords), Double(items.count) > maximum {
                report("has \(items.count) items; at most \(shown) are allowed")
            }
            if let itemSchema = keywords["items"] {
                for (index, item) in items.enumerated() {
                    check(item, itemSchema, path: "\(path)[\(index)]", into: &found, limit: limit)
                }
            }
        case .object(let members):
            for name in keywords["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                report("missing required property '\(name)'")
            }
            let properties = keywords["properties"]?.objectValue ?? [:]
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let propertySchema = properties[name] {
                    check(member, propertySchema, path: child(path, name), into: &found, limit: limit)
                } else if keywords["additionalProperties"] == .bool(false) {
                    let allowed = properties.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
                    report("unexpected property '\(name)'" + (allowed.isEmpty ? "" : " (allowed: \(allowed))"))
                } else if let extra = keywords["additionalProperties"], case .object = extra {
                    check(member, extra, path: child(path, name), into: &found, limit: limit)
                }
            }
        case .null, .bool:
            break
        }
    }

    /// No option holds. If just one option is of the value's type, its violations say best what
    /// to fix; otherwise a summary names what each option wanted.
    private static func checkAnyOf(_ value: JSONValue, _ options: [JSONValue], path: String, into found: inout [SchemaViolation], limit: Int) {
        var attempts: [[SchemaViolation]] = []
        for option in options {
            var violations: [SchemaViolation] = []
            check(value, option, path: path, into: &violations, limit: limit)
            if violations.isEmpty { return }
            attempts.append(violations)
        }
        let sameType = options.indices.filter { index in
            let types = declaredTypes(options[index].objectValue ?? [:])
            return types.isEmpty || types.contains { matches(value, type: $0) }
        }
        if sameType.count == 1 {
            found += attempts[sameType[0]].prefix(limit - found.count)
            return
        }
        let reasons = (sameType.isEmpty ? Array(attempts.indices) : sameType).map { attempts[$0][0] }
        let summary = reasons.map { $0.path == path ? $0.message : $0.description }.joined(separator: "; or ")
        if found.count < limit {
            found.append(SchemaViolation(path: path, message: "matches none of the \(options.count) allowed shapes: \(summary)"))
        }
    }

    /// Loose shapes for the two formats that are checked; see the type's documentation.
    private static let formats: [String: (regex: String, shape: String)] = {
        let date = #"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"#
        let time = #"([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?([Zz]|[+-]([01]\d|2[0-3]):?[0-5]\d)?"#
        return ["date": ("^\(date)$", "YYYY-MM-DD"), "date-time": ("^\(date)[Tt ]\(time)$", "YYYY-MM-DDThh:mm:ssZ")]
    }()

    private static func declaredTypes(_ keywords: [String: JSONValue]) -> [String] {
        guard let type = keywords["type"] else { return [] }
        return (type.arrayValue ?? [type]).compactMap(\.stringValue)
    }

    private static func bound(_ keyword: String, _ keywords: [String: JSONValue]) -> (Double, String)? {
        guard let limit = keywords[keyword], let number = limit.numberValue else { return nil }
        return (number, show(limit))
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("string", .string), ("boolean", .bool), ("null", .null), ("array", .array), ("object", .object): true
        case ("number", .int), ("number", .double), ("integer", .int): true
        case ("integer", .double(let d)): d.isFinite && d == d.rounded()
        default: false
        }
    }

    /// The JSON Schema name of a value's type (`JSONValue.typeName` uses the workflow language's).
    static func jsonType(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double(let d): d.isFinite && d == d.rounded() ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    static func article(_ type: String) -> String {
        switch type {
        case "null": "null"
        case "array", "object", "integer": "an \(type)"
        default: "a \(type)"
        }
    }

    static func child(_ path: String, _ name: String) -> String {
        let simple = name.first.map { $0 == "_" || $0.isLetter } == true && name.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber }
        return simple ? "\(path).\(name)" : "\(path)[\(JSONValue.string(name).canonicalJSON)]"
    }

    /// A value in a message: as canonical JSON (strings quoted), long ones shortened.
    static func show(_ value: JSONValue) -> String {
        let text = value.canonicalJSON
        return text.count > 60 ? String(text.prefix(57)) + "…" : text
    }
}
