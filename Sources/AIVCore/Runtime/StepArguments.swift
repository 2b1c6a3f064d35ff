/// The resolved arguments of one invocation, with typed accessors whose errors name the argument.
public struct StepArguments: Sendable, Equatable {
    public var values: [String: JSONValue]

    public init(_ values: [String: JSONValue]) {
        self.values = values
    }

    public subscript(name: String) -> JSONValue? {
        guard let value = values[name], value != .null else { return nil }
        return value
    }

    public func string(_ name: String) throws(StepError) -> String {
        guard let value = self[name] else { throw .argument(name, "is missing") }
        guard case .string(let text) = value else { throw .argument(name, "must be a string, not \(value.typeName)") }
        return text
    }

    public func optionalString(_ name: String) throws(StepError) -> String? {
        self[name] == nil ? nil : try string(name)
    }

    public func bool(_ name: String, default fallback: Bool) throws(StepError) -> Bool {
        guard let value = self[name] else { return fallback }
        guard case .bool(let b) = value else { throw .argument(name, "must be true or false, not \(value.typeName)") }
        return b
    }

    public func list(_ name: String) throws(StepError) -> [JSONValue] {
        guard let value = self[name] else { throw .argument(name, "is missing") }
        guard case .array(let items) = value else { throw .argument(name, "must be a list, not \(value.typeName)") }
        return items
    }

    public func object(_ name: String, default fallback: [String: JSONValue] = [:]) throws(StepError) -> [String: JSONValue] {
        guard let value = self[name] else { return fallback }
        guard case .object(let members) = value else { throw .argument(name, "must be a mapping, not \(value.typeName)") }
        return members
    }

    /// A whole number, or nil when not given.
    public func optionalInt(_ name: String) throws(StepError) -> Int? {
        guard let value = self[name] else { return nil }
        guard let number = value.numberValue, number.rounded() == number, abs(number) < 1e15 else {
            let shown = value.numberValue.map { "\(JSONValue.format($0))" } ?? value.typeName
            throw .argument(name, "must be a whole number (less than 10^15 in size), not \(shown)")
        }
        return Int(number)
    }

    /// Seconds, from a number or a duration string ("90s", "10m").
    public func duration(_ name: String, default fallback: Double) throws(StepError) -> Double {
        guard let value = self[name] else { return fallback }
        guard let seconds = Durations.seconds(value) else {
            throw .argument(name, "must be a duration from 0 to a year, such as \"90s\" or \"10m\", not \(value.interpolationText.isEmpty ? value.typeName : "'\(value.interpolationText)'")")
        }
        return seconds
    }
}
