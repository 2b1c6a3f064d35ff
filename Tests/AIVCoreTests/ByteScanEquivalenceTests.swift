import Foundation
import Testing
@testable import AIVCore

/// Plain-scalar resolution, identifiers and durations are scanned as UTF-8 bytes for speed; these
/// tests hold them to the `Character` and `CharacterSet` versions they replaced (kept below).
@Suite struct ByteScanEquivalenceTests {
    static let handPicked: [String] = [
        "", "0", "-0", "+1", "-", "+", "12", "1_000", "0x1F", "0o17", "1.5", ".5", "5.", "-.5", "1.2.3", "1e3", "1E+3", "1e-", "1e",
        "e3", ".", "+.", "1.5e3x", "١٢", "1\u{301}", "-\u{301}1", "²", "12 ", " 12", "1\r\n", "s0", "s12", "a-b_c", "_x", "-x", "9x",
        "é", "ab\u{301}", "日本", "Ab9_-", "a b", "2s", "90s", "1h30m", " 5m ", "\t5m", "5m\t", "250ms", "7d", "1.5h", "inf", "nan",
        "0x10", "1e400", "\u{3000}5s", "5s\u{3000}", "5\u{00A0}s", "ｓ", "5ｓ", "3x", "m", "1mm", "1m1", "",
    ]

    static let alphabet: [String] = ["0", "1", "9", "-", "+", ".", "e", "E", "x", "a", "Z", "_", " ", "\t", "s", "m", "h", "d",
                                     "é", "\u{301}", "日", "\u{3000}", "\r\n", "\n", "١"]

    static var generated: [String] {
        var state: UInt64 = 7
        func random(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        return (0..<20_000).map { _ in (0..<random(7)).map { _ in alphabet[random(alphabet.count)] }.joined() }
    }

    @Test func coreSchemaNumbersMatchTheCharacterScan() {
        for text in Self.handPicked + Self.generated {
            #expect(CoreSchema.isInteger(text) == Reference.isInteger(text), "\(text.debugDescription)")
            #expect(CoreSchema.isFloat(text) == Reference.isFloat(text), "\(text.debugDescription)")
        }
    }

    @Test func identifiersMatchTheCharacterSetCheck() {
        for text in Self.handPicked + Self.generated {
            #expect(WorkflowLoader.isIdentifier(text) == Reference.isIdentifier(text), "\(text.debugDescription)")
        }
    }

    @Test func durationsMatchAlwaysTrimming() {
        for text in Self.handPicked + Self.generated {
            #expect(Durations.parseUnbounded(text) == Reference.parseDuration(text), "\(text.debugDescription)")
        }
    }

    @Test func scalarCountsMatchTheStringViews() {
        for text in Self.handPicked + Self.generated {
            let (count, singleLine) = YAMLScalarLength.scalarCountAndSingleLine(text)
            #expect(count == text.unicodeScalars.count && singleLine == !text.utf8.contains(UInt8(ascii: "\n")), "\(text.debugDescription)")
        }
    }

    /// The versions before the byte scans.
    enum Reference {
        static func isInteger(_ text: String) -> Bool {
            var digits = Substring(text)
            if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
            return !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit)
        }

        static func isFloat(_ text: String) -> Bool {
            var rest = Substring(text)
            if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
            let mantissa = rest.prefix { $0.isASCIIDigit || $0 == "." }
            guard !mantissa.isEmpty, mantissa.filter({ $0 == "." }).count <= 1, mantissa.contains(where: \.isASCIIDigit) else { return false }
            rest = rest.dropFirst(mantissa.count)
            if rest.isEmpty { return true }
            guard rest.first == "e" || rest.first == "E" else { return false }
            rest = rest.dropFirst()
            if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
            return !rest.isEmpty && rest.allSatisfy(\.isASCIIDigit)
        }

        static func isIdentifier(_ name: String) -> Bool {
            guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && CharacterSet.letters.contains(first)) else { return false }
            return name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-") }
        }

        static func parseDuration(_ text: String) -> Double? {
            let text = text.trimmingCharacters(in: .whitespaces)
            // Decimal only since hexadecimal spans ("0x10") were refused; the trimming is what is compared.
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
    }
}
