/// Time spans as workflows write them: a number of seconds, or "250ms", "90s", "5m", "1h30m", "7d".
public enum Durations {
    /// The longest span a workflow may give (a year): anything longer is a typo, and clocks and
    /// formatting work in whole milliseconds that must fit in 64 bits.
    public static let limit: Double = 366 * 86400

    /// Seconds, or nil when the text is not a duration (negative, or longer than `limit`).
    public static func parse(_ text: String) -> Double? {
        guard let seconds = parseUnbounded(text), seconds >= 0, seconds.sign == .plus, seconds <= limit else { return nil }
        return seconds
    }

    static func parseUnbounded(_ text: String) -> Double? {
        // Trimming goes through Foundation; a text that starts and ends with a visible ASCII
        // character (almost every duration) has nothing to trim.
        let needsTrimming = !(text.utf8.first.map(isVisibleASCII) ?? false) || !(text.utf8.last.map(isVisibleASCII) ?? false)
        let text = needsTrimming ? text.trimmingCharacters(in: .whitespaces) : text
        if let seconds = Double(decimal: text) { return seconds }
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        // Units from the largest down, each once (`1h30m`): `5m5m` or `30s1m` is a slip, not 10 minutes.
        var previous = Double.infinity
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCIIDigit || $0 == "." }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let size: Double
            switch unit {
            case "ms": size = 0.001
            case "s": size = 1
            case "m": size = 60
            case "h": size = 3600
            case "d": size = 86400
            default: return nil
            }
            guard size < previous else { return nil }
            previous = size
            total += size < 1 ? value / 1000 : value * size
        }
        return total
    }

    /// An ASCII character that is not a space, tab or other control character.
    static func isVisibleASCII(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    /// Seconds from a YAML value (number or duration string).
    public static func seconds(_ value: SourceValue) -> Double? {
        seconds(value.json)
    }

    /// Seconds from a value (number or duration string); nil when it is neither, negative, or too
    /// long: a wait of -5 s is a mistake, and clocks cannot sleep for it.
    public static func seconds(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): i >= 0 && Double(i) <= limit ? Double(i) : nil
        case .double(let d) where d >= 0 && d <= limit: d
        case .string(let s): parse(s)
        default: nil
        }
    }

    /// "1h30m", "90s", "250ms": the shortest way to write a span of seconds.
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "\(seconds)s" }
        let seconds = min(max(seconds, 0), 100 * limit)
        // Under half a millisecond, as the number it is: "0ms" would say a span given was none.
        if seconds < 0.0005, seconds > 0 { return "\(seconds)s" }
        if seconds < 1, seconds > 0 { return "\(Int((seconds * 1000).rounded()))ms" }
        // Under a minute, a fraction is kept (to the millisecond): "timed out after 1.5s", not "2s".
        let milliseconds = Int((seconds * 1000).rounded())
        if seconds < 60, milliseconds % 1000 != 0 {
            var text = String(milliseconds / 1000) + "." + String(String(milliseconds % 1000 + 1000).dropFirst())
            while text.hasSuffix("0") { text.removeLast() }
            return text + "s"
        }
        var rest = Int(seconds.rounded())
        var parts: [String] = []
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60)] where rest >= size {
            parts.append("\(rest / size)\(unit)")
            rest %= size
        }
        if rest > 0 || parts.isEmpty { parts.append("\(rest)s") }
        return parts.joined()
    }
}

import Foundation
