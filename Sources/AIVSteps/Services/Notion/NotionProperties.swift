import AIVCore
import Foundation

/// Plain workflow values turned into Notion property values, by the database property's type,
/// with Notion's documented request limits checked before anything is sent.
enum NotionProperties {
    /// Characters per text object, elements per array, characters per URL.
    static let textLimit = 2000
    static let arrayLimit = 100
    static let urlLimit = 2000
    static let selectNameLimit = 100
    /// Characters of an email address or a phone number.
    static let emailLimit = 200
    /// Bytes of JSON Notion takes in one request.
    static let requestLimit = 500_000

    static let writableTypes = ["title", "rich_text", "select", "multi_select", "number", "url", "date", "checkbox", "email", "phone_number"]
    /// Types a key can be looked up by with an `equals` filter.
    static let keyTypes = ["title", "rich_text", "select", "number", "url", "email", "phone_number"]

    struct Problem: Error {
        var message: String
    }

    /// The property JSON for `value`, for a property of `type`.
    static func convert(_ value: JSONValue, type: String) throws(Problem) -> JSONValue {
        switch type {
        case "title", "rich_text":
            return .array(try richText(value))
        case "select":
            if value == .null { return .null }
            return ["name": .string(try selectName(value))]
        case "multi_select":
            let names: [JSONValue] = value == .null ? [] : value.arrayValue ?? [value]
            guard names.count <= arrayLimit else {
                throw Problem(message: "has \(names.count) options; Notion takes at most \(arrayLimit)")
            }
            var seen = Set<String>()
            var options: [JSONValue] = []
            for name in names {
                let text = try selectName(name)
                if seen.insert(text).inserted { options.append(["name": .string(text)]) }
            }
            return .array(options)
        case "number":
            switch value {
            case .null, .int, .double: return value
            case .string(let text):
                guard let number = Double(text.trimmingCharacters(in: .whitespaces)) else {
                    throw Problem(message: "is a number property, and '\(text)' is not a number")
                }
                return number == number.rounded() && abs(number) < 1e15 ? .int(Int(number)) : .double(number)
            default: throw Problem(message: "is a number property, and \(value.typeName) is not a number")
            }
        case "url", "email", "phone_number":
            if value == .null { return .null }
            let text = value.stringValue ?? value.interpolationText
            if text.isEmpty { return .null }
            if type == "url", text.utf16.count > urlLimit {
                throw Problem(message: "is a URL of \(text.utf16.count) characters; Notion takes at most \(urlLimit)")
            }
            if type != "url", text.utf16.count > emailLimit {
                let what = type == "email" ? "an email address" : "a phone number"
                throw Problem(message: "is \(what) of \(text.utf16.count) characters; Notion takes at most \(emailLimit)")
            }
            return .string(text)
        case "date":
            switch value {
            case .null: return .null
            case .string(let text):
                guard let start = isoDate(text) else { throw Problem(message: "is a date property, and '\(text)' is not a date (YYYY-MM-DD or an ISO 8601 date-time)") }
                return ["start": .string(start)]
            case .object(let members):
                guard let start = members["start"]?.stringValue.flatMap(isoDate) else {
                    throw Problem(message: "is a date property: give a date string or {start, end}")
                }
                var date: [String: JSONValue] = ["start": .string(start)]
                if let end = members["end"]?.stringValue {
                    guard let iso = isoDate(end) else { throw Problem(message: "has an end '\(end)' that is not a date") }
                    date["end"] = .string(iso)
                }
                return .object(date)
            default:
                throw Problem(message: "is a date property, and \(value.typeName) is not a date")
            }
        case "checkbox":
            switch value {
            case .bool: return value
            case .string(let text) where ["true", "false"].contains(text.lowercased()): return .bool(text.lowercased() == "true")
            default: throw Problem(message: "is a checkbox property: give true or false, not \(value.interpolationText.isEmpty ? value.typeName : "'\(value.interpolationText)'")")
            }
        default:
            throw Problem(message: "is a \(type) property, which notion.upsert cannot write (it writes \(writableTypes.joined(separator: ", ")))")
        }
    }

    /// Text as rich text objects of at most 2,000 characters (UTF-16 units, as Notion counts),
    /// never splitting a character; more than 100 objects is refused.
    static func richText(_ value: JSONValue) throws(Problem) -> [JSONValue] {
        if value == .null { return [] }
        let text = value.stringValue ?? value.interpolationText
        var chunks: [String] = []
        var current = ""
        var units = 0
        for character in text {
            let size = character.utf16.count
            if units + size > textLimit {
                chunks.append(current)
                current = ""
                units = 0
            }
            current.append(character)
            units += size
        }
        if !current.isEmpty { chunks.append(current) }
        guard chunks.count <= arrayLimit else {
            throw Problem(message: "is \(text.utf16.count) characters long; Notion takes at most \(textLimit * arrayLimit) in one property (\(arrayLimit) text objects of \(textLimit))")
        }
        return chunks.map { ["type": "text", "text": ["content": .string($0)]] }
    }

    static func selectName(_ value: JSONValue) throws(Problem) -> String {
        let name = (value.stringValue ?? value.interpolationText).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw Problem(message: "has an empty option name") }
        guard !name.contains(",") else { throw Problem(message: "has the option '\(name)'; Notion option names cannot contain commas") }
        // Counted as Notion counts (UTF-16 code units, as text is split): an emoji is two.
        guard name.utf16.count <= selectNameLimit else { throw Problem(message: "has an option name longer than \(selectNameLimit) characters") }
        return name
    }

    /// A date as Notion's API asks for it, ISO 8601, from the forms people write: a space for
    /// the `T`, no seconds, an offset without its colon (`2026-11-25 21:00+0900` becomes
    /// `2026-11-25T21:00:00+09:00`). Nil for anything else.
    static func isoDate(_ text: String) -> String? {
        let pattern = #"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        func group(_ index: Int) -> String? { Range(match.range(at: index), in: text).map { String(text[$0]) } }
        guard let day = group(1) else { return nil }
        guard let time = group(2) else { return day }
        var offset = group(4) ?? ""
        if offset.count == 5 { offset.insert(":", at: offset.index(offset.startIndex, offsetBy: 3)) }
        return "\(day)T\(time)\(group(3) ?? ":00")\(offset)"
    }

    /// The value a key filter compares, from the converted property value (so a number given as
    /// text is a number, a select name is trimmed as it was written): text, or a number.
    static func keyOperand(_ converted: JSONValue, type: String) -> JSONValue? {
        switch type {
        case "title", "rich_text":
            let text = (converted.arrayValue ?? []).compactMap { $0["text"]?["content"]?.stringValue }.joined()
            return text.isEmpty ? nil : .string(text)
        case "select": return converted["name"]
        case "number", "url", "email", "phone_number": return converted == .null ? nil : converted
        default: return nil
        }
    }

    /// The `equals` filter that finds a page by its key.
    static func keyFilter(property: String, type: String, operand: JSONValue) -> JSONValue {
        .object(["property": .string(property), type: ["equals": operand]])
    }
}
