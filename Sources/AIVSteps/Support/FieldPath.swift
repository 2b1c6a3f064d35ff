import AIVCore

/// A dot path into a value, as the list steps take it: `timestamp`, `source.start`, `tags.0`.
///
/// A component reads a mapping member, or, when it is a whole number and the value is a list, a
/// list element (negative numbers count from the end, as in expressions). Anything the path
/// cannot follow (a missing member, an index out of range, a member of a string) gives nil.
struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    let components: [String]
    let description: String

    /// Parses `text`; the error names `argument`, the step argument the path came from.
    init(_ text: String, argument: String) throws(StepError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !text.isEmpty, !parts.contains(where: \.isEmpty) else {
            throw .argument(argument, "must be a field path such as 'name' or 'source.start', not '\(text)'")
        }
        components = parts
        description = text
    }

    /// The value at the path in `value`, nil when the path leads nowhere.
    func value(in value: JSONValue) -> JSONValue? {
        var current = value
        for component in components {
            switch current {
            case .object(let members):
                guard let member = members[component] else { return nil }
                current = member
            case .array(let items):
                guard let number = Int(component) else { return nil }
                let position = number < 0 ? items.count + number : number
                guard items.indices.contains(position) else { return nil }
                current = items[position]
            default:
                return nil
            }
        }
        return current
    }
}
