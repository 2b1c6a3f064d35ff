import AIVCore

extension JSONValue {
    /// JSON for people to read: two-space indentation, keys sorted, `"key": value`, `[]` and `{}`
    /// when empty, and the same scalars as `canonicalJSON` (so `3` stays `3` and equal values give
    /// equal text). Written by hand: AIVCore's `prettyJSON` goes through JSONEncoder, which on
    /// Linux writes `"key" : value` and breaks empty lists over two lines.
    var readableJSON: String {
        var out = ""
        writePretty(into: &out, indent: "")
        return out
    }

    private func writePretty(into out: inout String, indent: String) {
        switch self {
        case .array(let items) where !items.isEmpty:
            let inner = indent + "  "
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += inner
                item.writePretty(into: &out, indent: inner)
                out += i < items.count - 1 ? ",\n" : "\n"
            }
            out += indent + "]"
        case .object(let members) where !members.isEmpty:
            let inner = indent + "  "
            out += "{\n"
            for (i, key) in members.keys.sorted().enumerated() {
                out += inner + JSONValue.string(key).canonicalJSON + ": "
                members[key]!.writePretty(into: &out, indent: inner)
                out += i < members.count - 1 ? ",\n" : "\n"
            }
            out += indent + "}"
        default:
            out += canonicalJSON
        }
    }
}
