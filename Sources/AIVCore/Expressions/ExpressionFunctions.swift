import Foundation

/// A function callable in expressions. The parser checks names and argument counts, the checker
/// argument and result types, the evaluator runs `implementation`: all from the one entry in
/// `ExpressionFunctions.all`, so adding a function is adding an entry.
public struct ExpressionFunction: Sendable {
    public let name: String
    /// How help texts show the call: `join(list, separator = ',')`.
    public let signature: String
    public let summary: String
    public let minimumArguments: Int
    /// nil: any number of further arguments, each of the last parameter's type.
    public let maximumArguments: Int?
    /// The accepted type of each parameter, for static checking.
    let parameters: [Schema]
    /// The result type given the arguments' static types.
    let resultType: @Sendable ([Schema]) -> Schema
    let implementation: @Sendable ([JSONValue]) throws(FunctionFailure) -> JSONValue
    /// Extra static checks on the argument expressions (e.g. a literal format string); returns problems.
    var checkArguments: (@Sendable ([Expression]) -> [ExpressionError])? = nil

    /// The message for a call with `count` arguments, or nil when that count is accepted.
    func arityProblem(_ count: Int) -> String? {
        if count >= minimumArguments, count <= (maximumArguments ?? .max) { return nil }
        func arguments(_ n: Int) -> String { n == 1 ? "1 argument" : "\(n) arguments" }
        let expected = switch maximumArguments {
        case nil: "at least " + arguments(minimumArguments)
        case minimumArguments: arguments(minimumArguments)
        case let maximum? where maximum == minimumArguments + 1: "\(minimumArguments) or \(maximum) arguments"
        case let maximum?: "\(minimumArguments) to \(maximum) arguments"
        }
        return "'\(name)' takes \(expected), got \(count)"
    }

    /// The parameter type that argument `i` is checked against.
    func parameter(_ i: Int) -> Schema { i < parameters.count ? parameters[i] : parameters.last ?? .any }
}

/// Why a function could not compute its result; `argument` is the 0-based argument to underline.
struct FunctionFailure: Error {
    var message: String
    var argument: Int?
    init(_ message: String, argument: Int? = nil) {
        self.message = message
        self.argument = argument
    }
}

public enum ExpressionFunctions {
    private static let text: Schema = .anyOf([.string, .null])

    /// Every function, in the order help texts list them.
    public static let all: [ExpressionFunction] = [
        ExpressionFunction(
            name: "length", signature: "length(value)",
            summary: "Characters of a string, items of a list or keys of a mapping; null is 0.",
            minimumArguments: 1, maximumArguments: 1, parameters: [.anyOf([.string, .array(.any), .map(.any), .null])],
            resultType: { _ in .integer },
            implementation: { args throws(FunctionFailure) in
                switch args[0] {
                case .string(let s): .int(s.count)
                case .array(let a): .int(a.count)
                case .object(let o): .int(o.count)
                case .null: .int(0)
                default: throw FunctionFailure("'length' needs a string, list or mapping, got \(args[0].describedKind)", argument: 0)
                }
            }),
        ExpressionFunction(
            name: "join", signature: "join(list, separator = ',')",
            summary: "The items of a list as text, separated by `separator`.",
            minimumArguments: 1, maximumArguments: 2, parameters: [.anyOf([.array(.any), .string, .null]), text],
            resultType: { _ in .string },
            implementation: { args throws(FunctionFailure) in
                let separator = try string(args, 1, of: "join", default: ",")
                switch args[0] {
                case .array(let items): return .string(items.map(\.interpolationText).joined(separator: separator))
                case .string, .null: return .string(args[0].interpolationText)
                default: throw FunctionFailure("'join' needs a list, got \(args[0].describedKind)", argument: 0)
                }
            }),
        ExpressionFunction(
            name: "format", signature: "format(text, values...)",
            summary: "`text` with `{0}`, `{1}`… replaced by the values; `{{` and `}}` are braces.",
            minimumArguments: 1, maximumArguments: nil, parameters: [text, .any],
            resultType: { _ in .string },
            implementation: { args throws(FunctionFailure) in
                .string(try format(try string(args, 0, of: "format"), Array(args.dropFirst())))
            },
            checkArguments: { arguments in
                guard case .literal(.string(let pattern), let span) = arguments[0],
                      let problem = formatProblem(pattern, valueCount: arguments.count - 1) else { return [] }
                return [ExpressionError(problem, at: span)]
            }),
        ExpressionFunction(
            name: "contains", signature: "contains(textOrList, value)",
            summary: "Whether a string contains a substring, or a list an equal item.",
            minimumArguments: 2, maximumArguments: 2, parameters: [.anyOf([.string, .array(.any), .null]), .any],
            resultType: { _ in .boolean },
            implementation: { args throws(FunctionFailure) in
                switch args[0] {
                case .array(let items): return .bool(items.contains { $0.looselyEquals(args[1]) })
                case .string(let s):
                    let needle = args[1].interpolationText
                    return .bool(needle.isEmpty || s.contains(needle))
                case .null: return .bool(false)
                default: throw FunctionFailure("'contains' needs a string or a list, got \(args[0].describedKind)", argument: 0)
                }
            }),
        ExpressionFunction(
            name: "startsWith", signature: "startsWith(text, prefix)", summary: "Whether `text` begins with `prefix`.",
            minimumArguments: 2, maximumArguments: 2, parameters: [text, text], resultType: { _ in .boolean },
            implementation: { args throws(FunctionFailure) in
                .bool(try string(args, 0, of: "startsWith").hasPrefix(try string(args, 1, of: "startsWith")))
            }),
        ExpressionFunction(
            name: "endsWith", signature: "endsWith(text, suffix)", summary: "Whether `text` ends with `suffix`.",
            minimumArguments: 2, maximumArguments: 2, parameters: [text, text], resultType: { _ in .boolean },
            implementation: { args throws(FunctionFailure) in
                .bool(try string(args, 0, of: "endsWith").hasSuffix(try string(args, 1, of: "endsWith")))
            }),
        ExpressionFunction(
            name: "lower", signature: "lower(text)", summary: "`text` in lower case.",
            minimumArguments: 1, maximumArguments: 1, parameters: [text], resultType: { _ in .string },
            implementation: { args throws(FunctionFailure) in .string(try string(args, 0, of: "lower").lowercased()) }),
        ExpressionFunction(
            name: "upper", signature: "upper(text)", summary: "`text` in upper case.",
            minimumArguments: 1, maximumArguments: 1, parameters: [text], resultType: { _ in .string },
            implementation: { args throws(FunctionFailure) in .string(try string(args, 0, of: "upper").uppercased()) }),
        ExpressionFunction(
            name: "toJSON", signature: "toJSON(value)", summary: "`value` as canonical JSON (sorted keys, no spaces).",
            minimumArguments: 1, maximumArguments: 1, parameters: [.any], resultType: { _ in .string },
            implementation: { args throws(FunctionFailure) in .string(args[0].canonicalJSON) }),
        ExpressionFunction(
            name: "fromJSON", signature: "fromJSON(text)",
            summary: "The value that JSON `text` describes; null gives null.",
            minimumArguments: 1, maximumArguments: 1, parameters: [text], resultType: { _ in .any },
            implementation: { args throws(FunctionFailure) in
                if args[0] == .null { return .null }
                let source = try string(args, 0, of: "fromJSON")
                // aiv's own strict parser: Foundation's decoder took `[1,]` and said only "not valid
                // JSON" of nesting past its depth.
                do throws(JSONParseError) {
                    return try JSONValue(parsing: source)
                } catch {
                    throw FunctionFailure("'fromJSON' got text that is not valid JSON (at character \(source.utf8.prefix(error.offset).count(where: { $0 & 0xC0 != 0x80 }) + 1): \(error.message))", argument: 0)
                }
            }),
        ExpressionFunction(
            name: "flatten", signature: "flatten(listOfLists)",
            summary: "The items of the inner lists in one list (one level; other items are kept).",
            minimumArguments: 1, maximumArguments: 1, parameters: [.anyOf([.array(.any), .null])],
            resultType: { types in
                guard let inner = types[0].element, types[0].isList == true else { return .array(.any) }
                if inner.isList == true, let element = inner.element { return .array(element) }
                return inner.isList == false ? .array(inner) : .array(.any)
            },
            implementation: { args throws(FunctionFailure) in
                switch args[0] {
                case .array(let items): return .array(items.flatMap { $0.arrayValue ?? [$0] })
                case .null: return .array([])
                default: throw FunctionFailure("'flatten' needs a list, got \(args[0].describedKind)", argument: 0)
                }
            }),
        ExpressionFunction(
            name: "floor", signature: "floor(number)", summary: "The largest integer not above `number`.",
            minimumArguments: 1, maximumArguments: 1, parameters: [.number], resultType: { _ in .integer },
            implementation: { args throws(FunctionFailure) in .int(try wholeNumber(args, 0, of: "floor")) }),
        ExpressionFunction(
            name: "timestamp", signature: "timestamp(seconds)",
            summary: "Seconds as a chapter time: M:SS under an hour, else H:MM:SS.",
            minimumArguments: 1, maximumArguments: 1, parameters: [.number], resultType: { _ in .string },
            implementation: { args throws(FunctionFailure) in
                let total = try wholeNumber(args, 0, of: "timestamp")
                guard total >= 0 else {
                    throw FunctionFailure("'timestamp' needs a number of seconds of at least 0, got \(args[0].interpolationText)", argument: 0)
                }
                return .string(timestamp(seconds: total))
            }),
        ExpressionFunction(
            name: "timeLink", signature: "timeLink(url, seconds)",
            summary: "`url` opening at `seconds` (rounded down): its `t` query parameter set to `<seconds>s`, so watch?v=…, youtu.be/… and live/… links all work.",
            minimumArguments: 2, maximumArguments: 2, parameters: [.string, .number], resultType: { _ in .string },
            implementation: { args throws(FunctionFailure) in
                let url = try string(args, 0, of: "timeLink")
                let seconds = try wholeNumber(args, 1, of: "timeLink")
                guard seconds >= 0 else { throw FunctionFailure("'timeLink' needs a number of seconds of at least 0, got \(args[1].interpolationText)", argument: 1) }
                guard let link = timeLink(url, seconds: seconds) else {
                    throw FunctionFailure("'timeLink' needs an absolute URL such as https://youtu.be/ID, got '\(url)'", argument: 0)
                }
                return .string(link)
            }),
        ExpressionFunction(
            name: "windows", signature: "windows(total, size)",
            summary: "Consecutive windows of `size` (seconds or a duration such as '10m') covering 0 to `total` seconds: a list of {index, start, end}; the last one is shorter, or up to a second longer rather than leave a sliver under a second.",
            minimumArguments: 2, maximumArguments: 2, parameters: [.number, .anyOf([.number, .string])],
            resultType: { _ in .array(window) },
            implementation: { args throws(FunctionFailure) in
                guard let total = args[0].numberValue, total.isFinite, total >= 0 else {
                    let given = args[0].numberValue == nil ? args[0].describedKind : args[0].interpolationText
                    throw FunctionFailure("'windows' needs a total of at least 0 seconds, got \(given)", argument: 0)
                }
                guard let size = Durations.seconds(args[1]), size > 0 else {
                    let given = args[1].numberValue != nil || args[1].stringValue != nil ? "'\(args[1].interpolationText)'" : args[1].describedKind
                    throw FunctionFailure("'windows' needs a window size above 0 and at most \(Durations.format(Durations.limit)) (seconds, or a duration such as '10m'), got \(given)", argument: 1)
                }
                let exact = (total / size).rounded(.up)
                guard exact <= 10_000 else {
                    throw FunctionFailure("'windows' would make \(exact > 1e15 ? "too many" : String(Int(exact))) windows; at most 10000 (choose a larger size)", argument: 1)
                }
                var count = Int(exact)
                // A last window under a second (a recording a few milliseconds over) would hold no
                // whole audio packet: it joins the one before.
                if count > 1, total - Double(count - 1) * size < 1 { count -= 1 }
                return .array((0..<count).map { index in
                    let start = Double(index) * size
                    return ["index": .int(index), "start": .double(start), "end": .double(index == count - 1 ? total : start + size)]
                })
            }),
    ]

    private static let window: Schema = .object([
        Property("index", .integer, required: true, "Position of the window, from 0."),
        Property("start", .number, required: true, "Start, in seconds."),
        Property("end", .number, required: true, "End, in seconds."),
    ])

    /// Whole seconds as a chapter time, as YouTube writes them: `4:05`, `1:02:03`. Shared by the
    /// `timestamp` function and the steps that write times (transcript chunks), so they agree.
    public static func timestamp(seconds total: Int) -> String {
        let (hours, minutes, seconds) = (total / 3600, total % 3600 / 60, total % 60)
        func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return hours > 0 ? "\(hours):\(twoDigits(minutes)):\(twoDigits(seconds))" : "\(minutes):\(twoDigits(seconds))"
    }

    /// `url` with its `t` query parameter set to `<seconds>s` (any earlier `t` replaced, the
    /// fragment kept), or nil when `url` is not absolute.
    public static func timeLink(_ url: String, seconds: Int) -> String? {
        guard let components = URLComponents(string: url), components.scheme != nil, components.host?.isEmpty == false else { return nil }
        // Edited as text, not through `URLComponents.queryItems`, which decodes and re-encodes the
        // other parameters (`q=a%2Bb` came back as `q=a+b`, a space to a server).
        var rest = Substring(url)
        var fragment = ""
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[hash...])
            rest = rest[..<hash]
        }
        var query: [Substring] = []
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...].split(separator: "&").filter { $0 != "t" && !$0.hasPrefix("t=") }
            rest = rest[..<mark]
        }
        query.append("t=\(seconds)s")
        return rest + "?" + query.joined(separator: "&") + fragment
    }

    static let named: [String: ExpressionFunction] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    // MARK: Helpers shared by the implementations

    /// Argument `i` as a string; null counts as the empty string, a missing optional as `default`.
    private static func string(_ args: [JSONValue], _ i: Int, of function: String,
                               default fallback: String = "") throws(FunctionFailure) -> String {
        guard i < args.count else { return fallback }
        switch args[i] {
        case .string(let s): return s
        case .null: return ""
        default: throw FunctionFailure("argument \(i + 1) of '\(function)' must be a string, got \(args[i].describedKind)", argument: i)
        }
    }

    /// Argument `i` rounded down to an integer.
    private static func wholeNumber(_ args: [JSONValue], _ i: Int, of function: String) throws(FunctionFailure) -> Int {
        switch args[i] {
        case .int(let n): return n
        case .double(let d) where d.isFinite && abs(d) < 9e18: return Int(d.rounded(.down))
        case .double(let d) where d.isFinite:
            throw FunctionFailure("'\(function)' takes numbers from -9e18 to 9e18 (whole numbers aiv can hold), not \(d)", argument: i)
        case .double(let d): throw FunctionFailure("'\(function)' cannot make a whole number of \(d)", argument: i)
        default: throw FunctionFailure("argument \(i + 1) of '\(function)' must be a number, got \(args[i].describedKind)", argument: i)
        }
    }

    /// Why `pattern` is not a `format` text for `valueCount` values, or nil: the message `format`
    /// would fail with. Checking runs it for every `format` call in a workflow, and the
    /// `Character` walk of `format` was 3.5% of checking the 1,000-step benchmark; an ASCII
    /// pattern (where each byte is a `Character` for every test made here) is scanned as bytes,
    /// anything else still goes through `format`.
    static func formatProblem(_ pattern: String, valueCount: Int) -> String? {
        var pattern = pattern
        let problem = pattern.withUTF8 { bytes -> String?? in
            guard !bytes.contains(where: { $0 >= 0x80 }) else { return .none }
            let open = UInt8(ascii: "{"), close = UInt8(ascii: "}")
            var i = 0
            while i < bytes.count {
                let c = bytes[i]
                i += 1
                if c == open || c == close, i < bytes.count, bytes[i] == c {
                    i += 1
                } else if c == close {
                    return .some("'format' found a lone '}'; write '}}' for a brace")
                } else if c == open {
                    var end = i
                    while end < bytes.count, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9") { end += 1 }
                    guard end > i, end < bytes.count, bytes[end] == close,
                          let n = Int(String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<end]), as: UTF8.self)) else {
                        return .some("'format' placeholders look like {0}; write '{{' for a brace")
                    }
                    guard n < valueCount else {
                        return .some("'format' uses {\(n)} but has \(valueCount == 1 ? "1 value" : "\(valueCount) values")")
                    }
                    i = end + 1
                }
            }
            return .some(nil)
        }
        if let problem { return problem }
        do throws(FunctionFailure) {
            _ = try format(pattern, Array(repeating: JSONValue.null, count: valueCount))
            return nil
        } catch {
            return error.message
        }
    }

    /// `{0}`-style formatting; `{{` and `}}` stand for single braces.
    static func format(_ pattern: String, _ values: [JSONValue]) throws(FunctionFailure) -> String {
        var out = ""
        var rest = Substring(pattern)
        while let c = rest.first {
            rest = rest.dropFirst()
            if c == "{" || c == "}", rest.first == c {
                rest = rest.dropFirst()
                out.append(c)
            } else if c == "}" {
                throw FunctionFailure("'format' found a lone '}'; write '}}' for a brace", argument: 0)
            } else if c == "{" {
                let digits = rest.prefix { $0.isASCII && $0.isNumber }
                guard !digits.isEmpty, rest.dropFirst(digits.count).first == "}", let n = Int(digits) else {
                    throw FunctionFailure("'format' placeholders look like {0}; write '{{' for a brace", argument: 0)
                }
                guard n < values.count else {
                    throw FunctionFailure("'format' uses {\(n)} but has \(values.count == 1 ? "1 value" : "\(values.count) values")",
                                          argument: 0)
                }
                out += values[n].interpolationText
                rest = rest.dropFirst(digits.count + 1)
            } else {
                out.append(c)
            }
        }
        return out
    }
}

extension JSONValue {
    /// How a message names a value's kind: "a string", "a list", "null".
    public var describedKind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "a mapping"
        }
    }

    /// Equality for `==`: structural, with integers and decimals compared by value (1 == 1.0).
    func looselyEquals(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.int(let a), .int(let b)): return a == b
        case (.int, .double), (.double, .int), (.double, .double): return numberValue == other.numberValue
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.looselyEquals($1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map(value.looselyEquals) ?? false }
        default: return self == other
        }
    }
}
