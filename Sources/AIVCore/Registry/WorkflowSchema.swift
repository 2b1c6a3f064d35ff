import Foundation

/// The JSON Schema (draft-07) of the workflow format, built from the registry, so an editor with
/// a YAML language server completes and checks step kinds and their arguments as the engine does.
public enum WorkflowSchema {
    static let expression: JSONValue = ["type": "string", "pattern": "\\$\\{\\{", "description": "A ${{ }} expression."]
    /// What `Durations.parse` reads: seconds as a number or as text, or units from the largest
    /// down, each at most once (`1h30m`; `5m5m` is refused).
    public static let durationPattern = #"^\s*(?=\S)(\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?|(([0-9]+(\.[0-9]*)?|\.[0-9]+)d)?(([0-9]+(\.[0-9]*)?|\.[0-9]+)h)?(([0-9]+(\.[0-9]*)?|\.[0-9]+)m)?(([0-9]+(\.[0-9]*)?|\.[0-9]+)s)?(([0-9]+(\.[0-9]*)?|\.[0-9]+)ms)?)\s*$"#
    static let duration: JSONValue = ["anyOf": [["type": "number", "minimum": 0, "maximum": .double(Durations.limit)],
                                                ["type": "string", "pattern": .string(durationPattern)]]]
    /// A span that must be longer than zero (`timeout`, a cache's time to live).
    static let positiveDuration: JSONValue = ["anyOf": [["type": "number", "exclusiveMinimum": 0, "maximum": .double(Durations.limit)],
                                                        ["type": "string", "pattern": .string(durationPattern), "not": ["pattern": #"^\s*[0.msdh]*\s*$"#]]]]

    public static func document(for registry: StepRegistry) -> JSONValue {
        let kinds = registry.kinds
        let stepRules: [JSONValue] = kinds.map { kind in
            [
                "if": ["properties": ["uses": ["const": .string(kind.name)]], "required": ["uses"]],
                "then": rules(for: kind),
            ]
        }
        let step: JSONValue = [
            "type": "object",
            "required": ["id", "uses"],
            "additionalProperties": false,
            "properties": [
                "id": ["type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]*$", "description": "Unique step id, used in ${{ steps.<id>.outputs }}."],
                "name": ["type": "string", "description": "A human-readable name."],
                "uses": .object(["type": "string", "enum": .array(kinds.map { .string($0.name) }), "description": "The step kind."]),
                "with": ["type": "object", "description": "The kind's arguments."],
                "needs": ["anyOf": [["type": "string"], ["type": "array", "items": ["type": "string"]]], "description": "Steps that must finish first (references to outputs add themselves)."],
                "optional_needs": ["anyOf": [["type": "string"], ["type": "array", "items": ["type": "string"]]], "description": "Steps that must finish first but may be skipped without skipping this one (their outputs are then null)."],
                "if": ["anyOf": [["type": "string"], ["type": "boolean"]], "description": "Run only when this expression is true."],
                "for_each": ["anyOf": [["type": "array"], expression], "description": "Run once per element, with item and index in scope."],
                "max_parallel": ["type": "integer", "minimum": 1, "description": "At most this many for_each items at once (1: one after another, in order)."],
                "retry": ["anyOf": [["type": "integer", "minimum": 1], [
                    "type": "object", "additionalProperties": false,
                    "properties": ["attempts": ["type": "integer", "minimum": 1], "backoff": duration, "factor": ["type": "number", "minimum": 1],
                                   "max_delay": duration, "jitter": ["anyOf": [["type": "boolean"], ["type": "number", "minimum": 0, "maximum": 1]]]],
                ]]],
                "timeout": positiveDuration,
                "continue_on_error": ["type": "boolean"],
                "cache": ["anyOf": [["type": "boolean"], positiveDuration, ["enum": ["on", "off", "auto", "never"]]]],
            ],
            "allOf": .array(stepRules),
        ]
        // A default of the declared type (null: none); an input without `type` is a string.
        let defaultRules: [JSONValue] = InputDeclaration.InputType.allCases.map { type in
            let shape: JSONValue = switch type {
            case .string, .file: ["type": ["string", "null"]]
            case .number: ["type": ["number", "null"]]
            case .bool: ["type": ["boolean", "null"]]
            case .list: ["type": ["array", "null"]]
            case .duration: ["anyOf": [duration, ["type": "null"]]]
            }
            let typed: JSONValue = ["properties": ["type": ["const": .string(type.rawValue)]], "required": ["type"]]
            return ["if": type == .string ? ["anyOf": [typed, ["not": ["required": ["type"]]]]] : typed,
                    "then": ["properties": ["default": shape]]]
        }
        let input: JSONValue = ["anyOf": [
            ["enum": .array(InputDeclaration.InputType.allCases.map { .string($0.rawValue) })],
            ["type": "object", "additionalProperties": false, "properties": [
                "type": ["enum": .array(InputDeclaration.InputType.allCases.map { .string($0.rawValue) })],
                "description": ["type": "string"], "default": [:], "required": ["type": "boolean"],
                "items": ["type": "object", "description": "For a list: the JSON Schema each element must match."],
                "secret": ["type": "boolean", "description": "A key, token or PIN: kept out of history, the cache and logs."],
            ], "allOf": .array(defaultRules)],
        ]]
        let services = JSONValue.object(Dictionary(uniqueKeysWithValues: registry.services.map {
            ($0.name, jsonSchema(.object($0.settings), allowExpressions: true, expressionHere: false))
        }))
        return [
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "aiv workflow",
            "type": "object",
            "required": ["name", "steps"],
            "additionalProperties": false,
            // `x-…` keys are the user's own (defaults to anchor and merge into steps).
            "patternProperties": ["^x-": [:]],
            "properties": [
                "name": ["type": "string"],
                "description": ["type": "string"],
                "inputs": ["type": "object", "additionalProperties": input],
                "services": ["type": "object", "additionalProperties": false, "properties": services],
                "steps": ["type": "array", "minItems": 1, "items": step],
            ],
        ]
    }

    /// What a step of `kind` must be: its arguments; `with:` when some are required; for a kind
    /// with side effects, no cache but off.
    static func rules(for kind: StepKindDescription) -> JSONValue {
        var properties: [String: JSONValue] = ["with": argumentsSchema(kind)]
        if kind.effect == .sideEffecting { properties["cache"] = ["enum": [false, "off", "never"]] }
        var rules: [String: JSONValue] = ["properties": .object(properties)]
        if kind.arguments.contains(where: \.isRequired) { rules["required"] = ["with"] }
        return .object(rules)
    }

    static func argumentsSchema(_ kind: StepKindDescription) -> JSONValue {
        var schema = jsonSchema(.object(kind.arguments), allowExpressions: true, expressionHere: false)
        if case .object(var members) = schema { members["description"] = .string(kind.summary); schema = .object(members) }
        return schema
    }

    /// A shape as JSON Schema; with `allowExpressions`, any value inside (and this one too, unless
    /// `expressionHere` is false) may also be a `${{ }}` string.
    public static func jsonSchema(_ schema: Schema, allowExpressions: Bool = false, expressionHere: Bool = true, summary: String? = nil) -> JSONValue {
        var result: [String: JSONValue]
        switch schema {
        case .any: result = [:]
        case .string: result = ["type": "string"]
        case .number: result = ["type": "number"]
        case .integer: result = ["type": "integer"]
        case .boolean: result = ["type": "boolean"]
        case .null: result = ["type": "null"]
        case .oneOfStrings(let values): result = ["enum": .array(values.map { .string($0) })]
        case .array(let element): result = ["type": "array", "items": jsonSchema(element, allowExpressions: allowExpressions)]
        case .object(let object):
            result = ["type": "object"]
            result["properties"] = .object(Dictionary(uniqueKeysWithValues: object.properties.map { property in
                var schema = jsonSchema(property.schema, allowExpressions: allowExpressions, summary: property.summary)
                // A span: seconds, or text as aiv reads it (`90s`, `1h30m`), or an expression.
                if property.role == .duration {
                    schema = ["anyOf": allowExpressions ? [duration, expression] : [duration], "description": .string(property.summary)]
                }
                // Evaluated by the step for each element: written without `${{ }}`.
                if property.role == .itemExpression {
                    let text: JSONValue = ["type": "string", "not": ["pattern": #"\$\{\{"#]]
                    schema = property.schema == .string ? ["allOf": [text], "description": .string(property.summary)]
                        : ["type": "object", "additionalProperties": text, "description": .string(property.summary)]
                }
                // A bound on numbers; an editor ignores it for a string ("90s") or an expression.
                switch property.minimum {
                case .atLeast(let least)?: schema.objectValue.map { schema = .object($0.merging(["minimum": .double(least)]) { $1 }) }
                case .above(let bound)?: schema.objectValue.map { schema = .object($0.merging(["exclusiveMinimum": .double(bound)]) { $1 }) }
                case nil: break
                }
                return (property.name, schema)
            }))
            let required = object.properties.filter(\.isRequired).map { JSONValue.string($0.name) }
            if !required.isEmpty { result["required"] = .array(required) }
            result["additionalProperties"] = object.additional.map { jsonSchema($0, allowExpressions: allowExpressions) } ?? false
        case .anyOf(let options): result = ["anyOf": .array(options.map { jsonSchema($0, allowExpressions: allowExpressions) })]
        }
        let needsExpressionOption = allowExpressions && expressionHere && schema != .string && schema != .any
        var final: [String: JSONValue] = needsExpressionOption ? ["anyOf": [.object(result), expression]] : result
        if let summary { final["description"] = .string(summary) }
        return .object(final)
    }
}

extension JSONValue {
    /// JSON for people to read: two-space indentation, keys sorted, `"key": value`, `[]` and `{}`
    /// when empty, and the same scalars as `canonicalJSON` (so `3` stays `3` and equal values give
    /// equal text). Written by hand: JSONEncoder on Linux writes `"key" : value` and breaks empty
    /// lists over two lines.
    public var prettyJSON: String {
        String(decoding: prettyBytes, as: UTF8.self)
    }

    /// `prettyJSON` as UTF-8 bytes. Written into a byte array, as `canonicalBytes` is: a run
    /// writes every step's outputs this way, and building the text from `String`s took 1.6 times
    /// the instructions (callgrind, a run of 1,000 steps).
    public var prettyBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        writePretty(into: &out, depth: 0)
        return out
    }

    private func writePretty(into out: inout [UInt8], depth: Int) {
        func indent(_ depth: Int) { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth)) }
        switch self {
        case .array(let items) where !items.isEmpty:
            out.append(contentsOf: "[\n".utf8)
            for (i, item) in items.enumerated() {
                indent(depth + 1)
                item.writePretty(into: &out, depth: depth + 1)
                out.append(contentsOf: (i < items.count - 1 ? ",\n" : "\n").utf8)
            }
            indent(depth)
            out.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            out.append(contentsOf: "{\n".utf8)
            for (i, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                indent(depth + 1)
                JSONValue.writeQuoted(member.key, into: &out)
                out.append(contentsOf: ": ".utf8)
                member.value.writePretty(into: &out, depth: depth + 1)
                out.append(contentsOf: (i < members.count - 1 ? ",\n" : "\n").utf8)
            }
            indent(depth)
            out.append(UInt8(ascii: "}"))
        default:
            writeCanonical(into: &out)
        }
    }
}
