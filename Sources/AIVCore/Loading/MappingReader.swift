/// Reads the fields of one YAML mapping with diagnostics: unknown fields (with "did you mean"),
/// missing required fields and wrongly typed values are all reported, and reading goes on.
struct MappingReader {
    let value: SourceValue
    /// How messages name the mapping: "workflow", "step 'chunks'", "input 'recording'".
    let owner: String

    /// Nil (and an error) when `value` is not a mapping.
    init?(_ value: SourceValue, owner: String, diagnostics: inout Diagnostics) {
        guard value.entries != nil else {
            diagnostics.error("\(owner) must be a mapping, not \(value.kindPhrase)", at: value.location, length: value.length)
            return nil
        }
        self.value = value
        self.owner = owner
    }

    var entries: [SourceValue.Entry] { value.entries ?? [] }

    subscript(key: String) -> SourceValue? { value[key] }

    /// Reports every key not in `known`. With `allowsExtensions`, keys starting `x-` are the
    /// user's own (a block of defaults to anchor and merge into steps) and are not read.
    func rejectUnknown(_ known: [String], allowsExtensions: Bool = false, diagnostics: inout Diagnostics,
                       hint: (String) -> String? = { _ in nil }) {
        for entry in entries where !known.contains(entry.key) && !(allowsExtensions && entry.key.hasPrefix("x-")) {
            let suggestion = hint(entry.key) ?? Suggestions.didYouMean(entry.key, in: known)
            diagnostics.error("unknown field '\(entry.key)' in \(owner)\(suggestion)", at: entry.keyLocation, length: entry.key.count)
        }
    }

    func string(_ key: String, required: Bool = false, diagnostics: inout Diagnostics) -> (String, SourceLocation)? {
        guard let field = value[key] else {
            if required { diagnostics.error("\(owner) is missing '\(key)'", at: value.location) }
            return nil
        }
        guard let text = field.string else {
            diagnostics.error("'\(key)' must be a string, not \(field.kindPhrase)", at: field.location, length: field.length)
            return nil
        }
        return (text, field.textLocation)
    }

    func bool(_ key: String, diagnostics: inout Diagnostics) -> Bool? {
        guard let field = value[key] else { return nil }
        guard case .bool(let b) = field.content else {
            diagnostics.error("'\(key)' must be true or false, not \(field.kindPhrase)", at: field.location, length: field.length)
            return nil
        }
        return b
    }

    func duration(_ key: String, diagnostics: inout Diagnostics) -> Double? {
        guard let field = value[key] else { return nil }
        guard let seconds = Durations.seconds(field), seconds >= 0 else {
            diagnostics.error("'\(key)' must be a duration such as 30, \"90s\", \"5m\" or \"1h30m\" (at most a year)", at: field.location, length: field.length)
            return nil
        }
        return seconds
    }
}
