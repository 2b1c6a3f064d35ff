/// The shape of a value: a step kind's arguments and outputs, an input's type, the static type of
/// an expression. One description serves validation, `aiv schema` (as JSON Schema) and help texts.
public indirect enum Schema: Sendable, Hashable {
    case any
    case string
    case number
    case integer
    case boolean
    case null
    /// A string from a fixed set.
    case oneOfStrings([String])
    case array(Schema)
    case object(ObjectSchema)
    /// Any of several shapes (e.g. a duration is a number of seconds or a string like "90s").
    case anyOf([Schema])

    /// An object with known properties; `additional` is the shape of other keys, nil when none are allowed.
    public static func object(_ properties: [Property], additional: Schema? = nil) -> Schema {
        .object(ObjectSchema(properties: properties, additional: additional))
    }

    /// A mapping from any key to values of one shape.
    public static func map(_ values: Schema) -> Schema {
        .object(ObjectSchema(properties: [], additional: values))
    }

    /// How a message names this shape: "a string", "a list of numbers".
    public var phrase: String {
        switch self {
        case .any: "any value"
        case .string: "a string"
        case .number: "a number"
        case .integer: "an integer"
        case .boolean: "a boolean"
        case .null: "null"
        case .oneOfStrings(let values): "one of " + values.map { "'\($0)'" }.joined(separator: ", ")
        case .array(let element):
            element == .any ? "a list" : "a list of " + element.pluralPhrase
        case .object(let object):
            object.properties.isEmpty && object.additional != nil && object.additional != .any
                ? "a mapping of " + object.additional!.pluralPhrase : "a mapping"
        case .anyOf(let options): options.map(\.phrase).joined(separator: " or ")
        }
    }

    var pluralPhrase: String {
        switch self {
        case .string: "strings"
        case .number: "numbers"
        case .integer: "integers"
        case .boolean: "booleans"
        case .array: "lists"
        case .object: "mappings"
        default: "values"
        }
    }

    /// The shape of `value.name`, nil when this shape cannot have that member.
    public func member(_ name: String) -> Schema? {
        switch self {
        case .any: return .any
        case .object(let object):
            if let property = object.properties.first(where: { $0.name == name }) { return property.schema }
            return object.additional
        case .anyOf(let options):
            let found = options.compactMap { $0.member(name) }
            return found.isEmpty ? nil : (found.count == 1 ? found[0] : .anyOf(found))
        default: return nil
        }
    }

    /// Names a member lookup could have meant (for "did you mean").
    public var memberNames: [String] {
        switch self {
        case .object(let object): object.properties.map(\.name)
        case .anyOf(let options): options.flatMap(\.memberNames)
        default: []
        }
    }

    /// Whether the shape names fields (an object with properties, or a list or choice of such):
    /// a shape against which `item.field` can be checked.
    public var hasFields: Bool {
        switch self {
        case .object(let object): !object.properties.isEmpty
        case .array(let element): element.hasFields
        case .anyOf(let options): options.contains { $0.hasFields }
        default: false
        }
    }

    /// The shape of `value[i]`, nil when this shape is not a list.
    public var element: Schema? {
        switch self {
        case .any: .any
        case .array(let element): element
        case .anyOf(let options):
            options.compactMap(\.element).first
        default: nil
        }
    }

    public var isList: Bool? {
        switch self {
        case .any: nil
        case .array: true
        case .anyOf(let options):
            options.contains { $0.isList != false } ? nil : false
        default: false
        }
    }

    /// Whether a value of shape `other` may be given where this shape is expected. Unknown (`any`)
    /// is accepted either way: the runtime checks it with the real value.
    public func accepts(_ other: Schema) -> Bool {
        switch (self, other) {
        case (.any, _), (_, .any): return true
        case (_, .anyOf(let options)): return options.contains { accepts($0) }
        case (.anyOf(let options), _): return options.contains { $0.accepts(other) }
        case (.number, .integer), (.integer, .number): return true
        case (.string, .oneOfStrings), (.oneOfStrings, .string): return true
        case (.oneOfStrings(let a), .oneOfStrings(let b)): return Set(b).isSubset(of: Set(a))
        case (.array(let a), .array(let b)): return a.accepts(b)
        case (.object, .object): return true
        default: return self == other
        }
    }

    /// Checks a concrete value against this shape; returns what is wrong, or nil.
    public func mismatch(_ value: JSONValue) -> String? {
        switch (self, value) {
        case (.any, _): return nil
        case (.string, .string), (.boolean, .bool), (.null, .null): return nil
        case (.number, .int), (.integer, .int): return nil
        case (.number, .double(let d)), (.integer, .double(let d)):
            // YAML's .inf and .nan are numbers no setting or count can mean.
            if !d.isFinite { return "expected \(phrase) (a finite one), got \(JSONValue.format(d))" }
            if self == .number { return nil }
            guard d == d.rounded() else { return "expected \(phrase), got \(Schema.describe(value))" }
            // Counts beyond 10^15 are typos, and a step could not hold them in an integer.
            return abs(d) < 1e15 ? nil : "expected an integer less than 10^15 in size, got \(JSONValue.format(d))"
        case (.oneOfStrings(let allowed), .string(let s)):
            return allowed.contains(s) ? nil : "expected \(phrase), got '\(s)'"
        case (.array(let element), .array(let items)):
            for (i, item) in items.enumerated() {
                if let problem = element.mismatch(item) { return "item \(i): \(problem)" }
            }
            return nil
        case (.object(let object), .object(let members)):
            for property in object.properties {
                if let member = members[property.name] {
                    if let problem = property.schema.mismatch(member) { return "'\(property.name)': \(problem)" }
                } else if property.isRequired {
                    return "missing '\(property.name)'"
                }
            }
            let known = Set(object.properties.map(\.name))
            for (key, member) in members where !known.contains(key) {
                guard let additional = object.additional else { return "unexpected '\(key)'" }
                if let problem = additional.mismatch(member) { return "'\(key)': \(problem)" }
            }
            return nil
        case (.anyOf(let options), _):
            return options.contains { $0.mismatch(value) == nil } ? nil : "expected \(phrase), got \(Schema.describe(value))"
        default:
            return "expected \(phrase), got \(Schema.describe(value))"
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): "string '\(s.count > 40 ? String(s.prefix(40)) + "…" : s)'"
        case .int(let i): "number \(i)"
        case .double(let d): "number \(JSONValue.format(d))"
        case .bool(let b): "boolean \(b)"
        case .null: "null"
        case .array: "a list"
        case .object: "a mapping"
        }
    }

    /// The shape of a concrete value (used for literal lists in `for_each`).
    public static func of(_ value: JSONValue) -> Schema {
        switch value {
        case .null: .null
        case .bool: .boolean
        case .int: .integer
        case .double: .number
        case .string: .string
        case .array(let items): .array(items.first.map(Schema.of) ?? .any)
        case .object: .any
        }
    }
}

/// Properties of an object shape, in the order they are documented.
public struct ObjectSchema: Sendable, Hashable {
    public var properties: [Property]
    public var additional: Schema?

    public init(properties: [Property], additional: Schema? = nil) {
        self.properties = properties
        self.additional = additional
    }

    public subscript(name: String) -> Property? { properties.first { $0.name == name } }
}

/// One named field of an object shape: a step argument, an output, a setting.
public struct Property: Sendable, Hashable {
    public var name: String
    public var schema: Schema
    public var isRequired: Bool
    public var summary: String
    public var defaultValue: JSONValue?
    /// What the value means beyond its shape; the checker acts on it (reads the prompt, checks the path).
    public var role: ArgumentRole?
    /// The least a number (or a duration's seconds) may be.
    public var minimum: Minimum?

    public init(_ name: String, _ schema: Schema, required: Bool = false, default defaultValue: JSONValue? = nil,
                role: ArgumentRole? = nil, minimum: Minimum? = nil, _ summary: String) {
        self.name = name
        self.schema = schema
        self.isRequired = required
        self.summary = summary
        self.defaultValue = defaultValue
        self.role = role
        self.minimum = minimum
    }

    /// A lower bound: `.atLeast(1)` for a count of tries, `.above(0)` for a rate or a timeout.
    public enum Minimum: Sendable, Hashable {
        case atLeast(Double)
        case above(Double)

        func admits(_ number: Double) -> Bool {
            switch self {
            case .atLeast(let least): number >= least
            case .above(let bound): number > bound
            }
        }

        var phrase: String {
            switch self {
            case .atLeast(let least): "at least \(JSONValue.format(least))"
            case .above(let bound): "more than \(JSONValue.format(bound))"
            }
        }
    }

    /// What is wrong with a value of this property beyond its shape (a duration that is not one,
    /// a number under `minimum`), or nil. For settings, whose values are not step arguments.
    public func settingProblem(_ value: JSONValue) -> String? {
        let shown = value.stringValue.map { "'\($0)'" } ?? value.canonicalJSON
        var number = value.numberValue
        if role == .duration {
            guard let seconds = Durations.seconds(value) else {
                return "must be a duration from 0 to a year, such as 30, \"90s\" or \"1h30m\", not \(shown)"
            }
            number = seconds
        }
        guard let minimum, let number, !minimum.admits(number) else { return nil }
        return "must be \(minimum.phrase)\(role == .duration ? " seconds" : ""), not \(shown)"
    }
}

/// What a string argument names, so validation can check more than its type.
public enum ArgumentRole: Sendable, Hashable {
    /// A file the step reads, relative to the workflow's folder.
    case inputFile
    /// A prompt or template file (front matter + Mustache body); `variables` names the argument
    /// whose keys are the values it is rendered with.
    case template(variables: String)
    /// A path the step writes, which must stay inside the run folder.
    case outputPath
    /// A time span: seconds, or "90s", "5m", "1h30m".
    case duration
    /// An expression evaluated by the step itself, once per list element, with `item` in scope.
    case itemExpression
    /// A field path of the elements of the step's `items` (`japanese`, `source.start`), checked
    /// against their shape when it is known.
    case fieldPath
}
