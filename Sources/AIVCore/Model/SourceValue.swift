/// A value read from YAML that remembers where it was written, so every later check can point at it.
public struct SourceValue: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case sequence([SourceValue])
        case mapping([Entry])
    }

    /// A mapping entry; keys are always strings.
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: SourceValue

        public init(key: String, keyLocation: SourceLocation, value: SourceValue) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    public var content: Content
    public var location: SourceLocation
    /// Columns a caret under this value should cover (a scalar's length on its line, else 1).
    public var length: Int

    public init(_ content: Content, at location: SourceLocation, length: Int = 1) {
        self.content = content
        self.location = location
        self.length = max(1, length)
    }

    public var entries: [Entry]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    public var items: [SourceValue]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    public var string: String? {
        if case .string(let s) = content { return s }
        return nil
    }

    /// Where a string's text starts: past the opening quote of a quoted string on one line (whose
    /// `length` counts both quotes), so a caret under a name (`needs: "zz"`) starts at the name.
    public var textLocation: SourceLocation {
        guard case .string(let text) = content, length > 1, length == text.unicodeScalars.count + 2 else { return location }
        return location.advanced(by: 1)
    }

    /// The keys of every mapping in the value in the order they are written, by JSON Pointer
    /// (`JSONValue.bytes(keyOrder:)` writes them so).
    public var keyOrder: [String: [String]] {
        var order: [String: [String]] = [:]
        func walk(_ value: SourceValue, _ pointer: String) {
            switch value.content {
            case .mapping(let entries):
                order[pointer] = entries.map(\.key)
                for entry in entries { walk(entry.value, pointer + "/" + JSONValue.pointerToken(entry.key)) }
            case .sequence(let items):
                for (index, item) in items.enumerated() { walk(item, pointer + "/" + String(index)) }
            default:
                break
            }
        }
        walk(self, "")
        return order
    }

    public subscript(key: String) -> SourceValue? {
        entries?.first { $0.key == key }?.value
    }

    public func entry(_ key: String) -> Entry? {
        entries?.first { $0.key == key }
    }

    /// What a message calls this value's type: "a string", "a list"…
    public var kindPhrase: String {
        switch content {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    /// The plain JSON value, locations dropped.
    public var json: JSONValue {
        switch content {
        case .null: .null
        case .bool(let b): .bool(b)
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        case .sequence(let items): .array(items.map(\.json))
        case .mapping(let entries):
            // Filled in place (a later duplicate key wins), without an intermediate array of pairs.
            .object(entries.reduce(into: [String: JSONValue](minimumCapacity: entries.count)) { $0[$1.key] = $1.value.json })
        }
    }
}

extension SourceValue {
    /// The first number in this value (itself, or inside its lists and mappings) that is not
    /// finite: `.inf`, `.nan`, or a literal too large for a double (`1e400`). JSON, and so aiv's
    /// outputs, cache and history, has no such number.
    public var firstNonFiniteNumber: SourceValue? {
        switch content {
        case .double(let number): return number.isFinite ? nil : self
        case .sequence(let items): return items.lazy.compactMap(\.firstNonFiniteNumber).first
        case .mapping(let entries): return entries.lazy.compactMap(\.value.firstNonFiniteNumber).first
        default: return nil
        }
    }

    /// "holds infinity, which JSON has no number for", or nil when every number in it is finite.
    public var nonFiniteProblem: String? {
        guard case .double(let number)? = firstNonFiniteNumber?.content else { return nil }
        return "holds \(Self.nonFiniteName(number)), which JSON, and so aiv, has no number for"
    }

    /// How a number that is not finite is named in a message: NaN, infinity, minus infinity.
    public static func nonFiniteName(_ number: Double) -> String {
        number.isNaN ? "NaN" : number > 0 ? "infinity" : "minus infinity"
    }
}
