import Foundation

/// Times as workflows write them: seconds (`95.5`), or `HH:MM:SS.mmm` / `MM:SS` as video tools show them.
public enum MediaTime {
    /// The latest time a workflow may name: about 115 days. Far past any recording, and far
    /// below where seconds stop fitting the integers FFmpeg and `format` count in.
    public static let latest = 10_000_000.0

    /// Whether `seconds` can be a time in a recording: 0 or more, finite, at most `latest`.
    public static func isValid(_ seconds: Double) -> Bool { seconds >= 0 && seconds.isFinite && seconds <= latest }

    public static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) { return isValid(seconds) ? seconds : nil }
        let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count) else { return nil }
        var total = 0.0
        for (index, part) in parts.enumerated() {
            let isLast = index == parts.count - 1
            guard let value = Double(part), value >= 0, isLast || !part.contains("."), !part.isEmpty else { return nil }
            if index > 0, value >= 60 { return nil }
            total = total * 60 + value
        }
        return isValid(total) ? total : nil
    }

    /// `1:02:03.500`, `2:03.250`; a value no recording can have is written as the number it is.
    public static func format(_ seconds: Double) -> String {
        guard isValid(seconds) else { return "\(seconds) s" }
        let millis = Int((seconds * 1000).rounded())
        let h = millis / 3_600_000, m = millis / 60_000 % 60, s = millis / 1000 % 60, ms = millis % 1000
        let tail = ms == 0 ? String(format: "%02d", s) : String(format: "%02d.%03d", s, ms)
        return h > 0 ? "\(h):" + String(format: "%02d:", m) + tail : "\(m):" + tail
    }
}
