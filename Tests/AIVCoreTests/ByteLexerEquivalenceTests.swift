import Testing
@testable import AIVCore
import AIVTestSupport

/// The lexer and the template splitter walk UTF-8 bytes for speed; these tests hold them to the
/// Unicode-scalar versions they replaced (kept below as the reference), token for token and
/// error for error, on hand-picked and generated text, ASCII and not.
@Suite struct ByteLexerEquivalenceTests {
    static let handPicked: [String] = [
        "", " ", "inputs.topic", "steps.fetch-page.outputs[*].json.items", "a || b && !c", "x['it''s'] == \"a\\\"b\"",
        "format('{0}&t={1}s', inputs.url, index)", "item != null && index < 10", "1.5e3 >= -2", "-", "1e", "1e+", "99999999999999999999999",
        "1e999", "'unterminated", "\"bad \\q escape\"", "\"bad \\é escape\"", "a = b", "a & b", "a | b", "#", "é", "e\u{301}x", "👍🏽 + 1",
        "a\u{3000}b", "a\u{00A0}&& b", "\r\n a", "a\r\nb", "日本語 == 'テスト'", "'日本語' == x", "'e\u{301}' + #", "\u{301}", "'a''b''c'",
        "\"a\\nb\\tc\\\\d\\\"\"", "x[*]", "(a)", "a.b.c[0]['d']", "\"\\", "'", "\"", "a\n\t&& b",
    ]

    static let templates: [String] = [
        "", "plain", "${{ inputs.name }}", "Hello ${{ inputs.name }}!", "${{ format('{{{0}}}', x) }}", "a ${{ 'x}}y' }} b",
        "${{ \"a\\\"}}\" }} tail", "${{ unterminated", "${{ 'open }} x", "$${{ a }}", "${ {", "é ${{ inputs.x }} é", "${{ é }}",
        "${{ 'é' == x }}", "e\u{301}${{ a }}", "${{\u{301} a }}", "${{ a }}\u{301}", "👍🏽 ${{ # }}", "\r\n${{ a\r\n&& b }}", "${{ a }} ${{ b",
        "${{ }}", "${{ a b }}", "${{ x[ }}", "日本 ${{ 日本 }}", "${{ '日本' }}${{ 1 }}",
    ]

    /// Characters the generator draws from: the grammar's punctuation, quotes and escapes,
    /// `${{` and `}}`, and non-ASCII text that is one scalar, several scalars, or whitespace.
    static let alphabet: [String] = [
        "a", "b", "_", "-", "1", "0", ".", "e", "E", "+", " ", "\t", "\n", "\r\n", "'", "\"", "\\", "(", ")", "[", "]", "*", ",",
        "!", "=", "<", ">", "&", "|", "$", "{", "}", "${{", "}}", "inputs", "steps", "é", "e\u{301}", "\u{301}", "日", "👍🏽",
        "\u{3000}", "\u{00A0}", "#", "n", "t",
    ]

    static func generated(count: Int, seed: UInt64) -> [String] {
        var state = seed
        func random(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        return (0..<count).map { _ in
            (0..<random(14)).map { _ in alphabet[random(alphabet.count)] }.joined()
        }
    }

    static func referenceTokens(_ source: String) -> Result<[ExpressionToken], ExpressionError> {
        Result { () throws(ExpressionError) in try ScalarReferenceLexer.tokenize(source) }
    }

    static func tokens(_ source: String) -> Result<[ExpressionToken], ExpressionError> {
        Result { () throws(ExpressionError) in try ExpressionLexer.tokenize(source) }
    }

    @Test func tokensMatchTheScalarLexer() async throws {
        try await heavyComputation {
            for source in Self.handPicked + Self.generated(count: 20_000, seed: 1) {
                #expect(Self.tokens(source) == Self.referenceTokens(source), "\(source.debugDescription)")
            }
        }
    }

    /// The scalar splitter, with each expression parsed on its own (as it used to be).
    static func referenceTemplate(_ text: String) -> Result<StringTemplate, ExpressionError> {
        Result { () throws(ExpressionError) in
            let (scalars, characterOffsets) = ScalarReferenceLexer.scalars(of: text)
            func offset(_ index: Int) -> Int { characterOffsets?[index] ?? index }
            func string(_ range: Range<Int>) -> String {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[range])
                return String(view)
            }
            var segments: [StringTemplate.Segment] = []
            var literalStart = 0
            var i = 0
            while i < scalars.count {
                guard scalars[i] == "$", i + 2 < scalars.count, scalars[i + 1] == "{", scalars[i + 2] == "{" else {
                    i += 1
                    continue
                }
                let start = i + 3
                guard let end = ScalarReferenceLexer.endOfEmbeddedExpression(in: scalars, from: start) else {
                    throw ExpressionError("unterminated '${{'; expected '}}'", offset: offset(i), length: offset(start) - offset(i))
                }
                if literalStart < i { segments.append(.text(string(literalStart..<i))) }
                let source = string(start..<end)
                do throws(ExpressionError) {
                    _ = try ScalarReferenceLexer.tokenize(source)
                    segments.append(.expression(try ExpressionParser.parse(source), source: source, offset: offset(start)))
                } catch {
                    throw error.shifted(by: offset(start))
                }
                i = end + 2
                literalStart = i
            }
            if literalStart < scalars.count { segments.append(.text(string(literalStart..<scalars.count))) }
            return StringTemplate(segments: segments)
        }
    }

    @Test func templatesMatchTheScalarSplitter() async throws {
        try await heavyComputation {
            var texts = Self.templates + Self.generated(count: 20_000, seed: 2)
            // Generated text rarely holds a whole expression: wrap hand-picked and generated ones.
            texts += (Self.handPicked + Self.generated(count: 5_000, seed: 3)).flatMap { ["${{ \($0) }}", "x ${{\($0)}} ${{ a }}"] }
            for text in texts {
                let result = Result { () throws(ExpressionError) in try StringTemplate.parse(text) }
                #expect(result == Self.referenceTemplate(text), "\(text.debugDescription)")
            }
        }
    }
}

// MARK: - The Unicode-scalar lexer, as it was before the byte lexer replaced it

struct ScalarReferenceLexer {
    private let scalars: [Unicode.Scalar]
    /// The offsets of `scalars` in `Character`s (one entry per scalar, plus the end), or nil when they are equal.
    private let characterOffsets: [Int]?
    private var position = 0

    init(_ source: String) {
        (scalars, characterOffsets) = Self.scalars(of: source)
    }

    /// The scalars of `source` and, when some character is made of several, each one's character offset.
    static func scalars(of source: String) -> ([Unicode.Scalar], [Int]?) {
        let scalars = Array(source.unicodeScalars)
        if source.utf8.count == scalars.count { return (scalars, nil) }
        var offsets: [Int] = []
        offsets.reserveCapacity(scalars.count + 1)
        var character = 0
        for grapheme in source {
            for _ in grapheme.unicodeScalars { offsets.append(character) }
            character += 1
        }
        offsets.append(character)
        return (scalars, character == scalars.count ? nil : offsets)
    }

    private func offset(_ scalarIndex: Int) -> Int { characterOffsets?[scalarIndex] ?? scalarIndex }

    private func error(_ message: String, from start: Int, to end: Int) -> ExpressionError {
        ExpressionError(message, offset: offset(start), length: offset(end) - offset(start))
    }

    /// All tokens, ending with `.end`.
    static func tokenize(_ source: String) throws(ExpressionError) -> [ExpressionToken] {
        var lexer = ScalarReferenceLexer(source)
        var tokens: [ExpressionToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    static func isNameStart(_ c: Unicode.Scalar) -> Bool {
        let a = c.value
        return (a >= 0x41 && a <= 0x5A) || (a >= 0x61 && a <= 0x7A) || a == 0x5F
    }

    static func isNameContinuation(_ c: Unicode.Scalar) -> Bool {
        isNameStart(c) || isDigit(c) || c.value == 0x2D
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r" || (!c.isASCII && c.properties.isWhitespace)
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        position + ahead < scalars.count ? scalars[position + ahead] : nil
    }

    private func text(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[range])
        return String(view)
    }

    private func token(_ kind: ExpressionToken.Kind, from start: Int, to end: Int) -> ExpressionToken {
        ExpressionToken(kind: kind, offset: offset(start), length: offset(end) - offset(start))
    }

    mutating func next() throws(ExpressionError) -> ExpressionToken {
        while let c = peek(), Self.isSpace(c) { position += 1 }
        let start = position
        guard let c = peek() else { return token(.end, from: start, to: start) }

        func single(_ kind: ExpressionToken.Kind, _ length: Int) -> ExpressionToken {
            position = start + length
            return token(kind, from: start, to: position)
        }
        func twoCharacter(_ second: Unicode.Scalar, _ kind: ExpressionToken.Kind, else one: ExpressionToken.Kind?,
                          hint: String) throws(ExpressionError) -> ExpressionToken {
            if peek(1) == second { return single(kind, 2) }
            if let one { return single(one, 1) }
            throw error("unexpected '\(c)'; \(hint)", from: start, to: start + 1)
        }

        switch c {
        case ".": return single(.dot, 1)
        case ",": return single(.comma, 1)
        case "*": return single(.star, 1)
        case "(": return single(.leftParen, 1)
        case ")": return single(.rightParen, 1)
        case "[": return single(.leftBracket, 1)
        case "]": return single(.rightBracket, 1)
        case "!": return try twoCharacter("=", .binary(.notEqual), else: .bang, hint: "")
        case "=": return try twoCharacter("=", .binary(.equal), else: nil, hint: "use '==' to compare")
        case "<": return try twoCharacter("=", .binary(.lessOrEqual), else: .binary(.less), hint: "")
        case ">": return try twoCharacter("=", .binary(.greaterOrEqual), else: .binary(.greater), hint: "")
        case "&": return try twoCharacter("&", .binary(.and), else: nil, hint: "use '&&'")
        case "|": return try twoCharacter("|", .binary(.or), else: nil, hint: "use '||'")
        case "'", "\"": return try string(quote: c)
        case "-" where peek(1).map(Self.isDigit) == true: return try number()
        case _ where Self.isDigit(c): return try number()
        case _ where Self.isNameStart(c):
            while let next = peek(), Self.isNameContinuation(next) { position += 1 }
            return token(.identifier(text(start..<position)), from: start, to: position)
        default:
            // Name the whole character (an emoji with modifiers is one), not its first scalar.
            var end = start + 1
            while end < scalars.count, offset(end) == offset(start) { end += 1 }
            throw error("unexpected character '\(text(start..<end))'", from: start, to: end)
        }
    }

    private mutating func skipDigits() {
        while let c = peek(), Self.isDigit(c) { position += 1 }
    }

    private mutating func number() throws(ExpressionError) -> ExpressionToken {
        let start = position
        if peek() == "-" { position += 1 }
        skipDigits()
        var isInteger = true
        if peek() == ".", let digit = peek(1), Self.isDigit(digit) {
            isInteger = false
            position += 1
            skipDigits()
        }
        if let e = peek(), e == "e" || e == "E" {
            let signed = peek(1) == "+" || peek(1) == "-"
            if let digit = peek(signed ? 2 : 1), Self.isDigit(digit) {
                isInteger = false
                position += signed ? 2 : 1
                skipDigits()
            }
        }
        let literal = text(start..<position)
        if isInteger, let int = Int(literal) {
            return token(.number(.int(int)), from: start, to: position)
        }
        guard let double = Double(literal), double.isFinite else {
            throw error("number \(literal) is out of range", from: start, to: position)
        }
        return token(.number(.double(double)), from: start, to: position)
    }

    /// A quoted string: single quotes escape a quote by doubling it, double quotes use backslashes.
    private mutating func string(quote: Unicode.Scalar) throws(ExpressionError) -> ExpressionToken {
        let start = position
        position += 1
        var value = String.UnicodeScalarView()
        while let c = peek() {
            position += 1
            if c == quote {
                guard quote == "'", peek() == "'" else {
                    return token(.string(String(value)), from: start, to: position)
                }
                position += 1
                value.append("'")
            } else if c == "\\", quote == "\"" {
                guard let escaped = peek() else { break }
                position += 1
                switch escaped {
                case "\"": value.append("\"")
                case "\\": value.append("\\")
                case "n": value.append("\n")
                case "t": value.append("\t")
                default:
                    throw error("unknown escape '\\\(escaped)' in a string; use \\\" \\\\ \\n or \\t", from: position - 2, to: position)
                }
            } else {
                value.append(c)
            }
        }
        throw error("unterminated string; expected a closing \(quote)", from: start, to: scalars.count)
    }

    /// Where the `}}` closing a `${{` is, skipping quoted strings (so `'}}'` inside one does not
    /// end it). nil when there is none. Indexes are scalar indexes.
    static func endOfEmbeddedExpression(in scalars: [Unicode.Scalar], from start: Int) -> Int? {
        var i = start
        while i < scalars.count {
            let c = scalars[i]
            if c == "}", i + 1 < scalars.count, scalars[i + 1] == "}" { return i }
            if c == "'" || c == "\"" {
                i += 1
                while i < scalars.count, scalars[i] != c {
                    if c == "\"", scalars[i] == "\\" { i += 1 }
                    i += 1
                }
                // An unterminated string: fall back to the first "}}" so the parser can say what is wrong.
                if i >= scalars.count { return firstClosing(in: scalars, from: start) }
            }
            i += 1
        }
        return nil
    }

    private static func firstClosing(in scalars: [Unicode.Scalar], from start: Int) -> Int? {
        var i = start
        while i + 1 < scalars.count {
            if scalars[i] == "}", scalars[i + 1] == "}" { return i }
            i += 1
        }
        return nil
    }
}
