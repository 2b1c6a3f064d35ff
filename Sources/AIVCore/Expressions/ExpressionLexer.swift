/// One token of an expression, with where it is (in `Character`s).
struct ExpressionToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case number(JSONValue)
        case string(String)
        case identifier(String)
        case dot, comma, star, bang
        case leftParen, rightParen, leftBracket, rightBracket
        case binary(Expression.BinaryOperator)
        case end
    }

    var kind: Kind
    var offset: Int
    var length: Int

    var span: Expression.Span { Expression.Span(offset: offset, length: length) }

    /// How a message names the token: `')'`, `'inputs'`, "the end of the expression".
    var quoted: String {
        switch kind {
        case .number(let value): "'\(value.interpolationText)'"
        case .string(let value): "string " + Expression.literalText(.string(value.count > 20 ? String(value.prefix(20)) + "…" : value))
        case .identifier(let name): "'\(name)'"
        case .dot: "'.'"
        case .comma: "','"
        case .star: "'*'"
        case .bang: "'!'"
        case .leftParen: "'('"
        case .rightParen: "')'"
        case .leftBracket: "'['"
        case .rightBracket: "']'"
        case .binary(let op): "'\(op.rawValue)'"
        case .end: "the end of the expression"
        }
    }
}

/// Splits expression source into tokens.
///
/// It walks UTF-8 bytes: every character the grammar gives a meaning to is ASCII, and a byte of a
/// multi-byte character is never ASCII. Walking `Character`s, and later `Unicode.Scalar` arrays
/// turned back into `String`s, was most of the cost of checking a large workflow (the scalar
/// version spent 29% of `check` on the 1,000-step benchmark rebuilding strings). Offsets in
/// tokens and errors are still `Character` offsets, so they match what a user sees; when the text
/// is ASCII the two are the same and no mapping is built. (As before, a non-ASCII text whose
/// characters are each one Unicode scalar counts scalars.)
struct ExpressionLexer {
    private let bytes: [UInt8]
    /// The expression is `bytes[start..<end]`; offsets are relative to `start`.
    private let start: Int
    private let end: Int
    /// The offset of each byte of `start..<end` (plus one for `end`), or nil when the offset of a byte is its position.
    private let characterOffsets: [Int]?
    private var position: Int

    init(_ source: String) {
        let bytes = Array(source.utf8)
        self.init(bytes: bytes, range: 0..<bytes.count, characterOffsets: Self.characterOffsets(of: source, bytes: bytes))
    }

    /// Lexes `bytes[range]`, whose offsets are given by `characterOffsets` (indexed from `range.lowerBound`).
    init(bytes: [UInt8], range: Range<Int>, characterOffsets: [Int]?) {
        self.bytes = bytes
        self.start = range.lowerBound
        self.end = range.upperBound
        self.characterOffsets = characterOffsets
        self.position = range.lowerBound
    }

    /// For each UTF-8 byte of `source` (and its end), the offset of the character it belongs to,
    /// in `Character`s, or in Unicode scalars when every character is one scalar; nil when the
    /// text is ASCII (each byte is then a character).
    static func characterOffsets(of source: String, bytes: [UInt8]) -> [Int]? {
        if !bytes.contains(where: { $0 >= 0x80 }) { return nil }
        var offsets: [Int] = []
        offsets.reserveCapacity(bytes.count + 1)
        if source.count == source.unicodeScalars.count {
            var scalarIndex = 0
            for scalar in source.unicodeScalars {
                for _ in 0..<UTF8.width(scalar) { offsets.append(scalarIndex) }
                scalarIndex += 1
            }
            offsets.append(scalarIndex)
        } else {
            var character = 0
            for grapheme in source {
                for scalar in grapheme.unicodeScalars {
                    for _ in 0..<UTF8.width(scalar) { offsets.append(character) }
                }
                character += 1
            }
            offsets.append(character)
        }
        return offsets
    }

    private func offset(_ byteIndex: Int) -> Int { characterOffsets?[byteIndex - start] ?? byteIndex - start }

    private func error(_ message: String, from start: Int, to end: Int) -> ExpressionError {
        ExpressionError(message, offset: offset(start), length: offset(end) - offset(start))
    }

    /// All tokens, ending with `.end`.
    static func tokenize(_ source: String) throws(ExpressionError) -> [ExpressionToken] {
        var lexer = ExpressionLexer(source)
        return try lexer.tokenize()
    }

    /// All remaining tokens, ending with `.end`.
    mutating func tokenize() throws(ExpressionError) -> [ExpressionToken] {
        var tokens: [ExpressionToken] = []
        // A token takes about three bytes in `steps.a.outputs.items`: room for that many up
        // front spares the array's growing by doubling from one.
        tokens.reserveCapacity(min((end - position) / 3 + 2, 256))
        while true {
            let token = try next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    static func isNameStart(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }

    static func isNameContinuation(_ c: UInt8) -> Bool {
        isNameStart(c) || isDigit(c) || c == 0x2D
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// The Unicode scalar starting at byte `i` and how many bytes it takes (the bytes are valid UTF-8: they come from a `String`).
    private func scalar(at i: Int) -> (scalar: Unicode.Scalar, width: Int) {
        let lead = bytes[i]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let width = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        var value = UInt32(lead) & (width == 2 ? 0x1F : width == 3 ? 0x0F : 0x07)
        for k in 1..<width { value = value << 6 | UInt32(bytes[i + k] & 0x3F) }
        return (Unicode.Scalar(value)!, width)
    }

    /// The width in bytes of the whitespace scalar at `i`, or nil when it is not whitespace.
    private func spaceWidth(at i: Int) -> Int? {
        let c = bytes[i]
        if c < 0x80 { return c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D ? 1 : nil }
        let (scalar, width) = scalar(at: i)
        return scalar.properties.isWhitespace ? width : nil
    }

    private func peek(_ ahead: Int = 0) -> UInt8? {
        position + ahead < end ? bytes[position + ahead] : nil
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    private func token(_ kind: ExpressionToken.Kind, from start: Int, to end: Int) -> ExpressionToken {
        ExpressionToken(kind: kind, offset: offset(start), length: offset(end) - offset(start))
    }

    mutating func next() throws(ExpressionError) -> ExpressionToken {
        while position < end, let width = spaceWidth(at: position) { position += width }
        let start = position
        guard let c = peek() else { return token(.end, from: start, to: start) }

        func single(_ kind: ExpressionToken.Kind, _ length: Int) -> ExpressionToken {
            position = start + length
            return token(kind, from: start, to: position)
        }
        func twoCharacter(_ second: UInt8, _ kind: ExpressionToken.Kind, else one: ExpressionToken.Kind?,
                          hint: String) throws(ExpressionError) -> ExpressionToken {
            if peek(1) == second { return single(kind, 2) }
            if let one { return single(one, 1) }
            throw error("unexpected '\(Unicode.Scalar(c))'; \(hint)", from: start, to: start + 1)
        }

        switch c {
        case UInt8(ascii: "."): return single(.dot, 1)
        case UInt8(ascii: ","): return single(.comma, 1)
        case UInt8(ascii: "*"): return single(.star, 1)
        case UInt8(ascii: "("): return single(.leftParen, 1)
        case UInt8(ascii: ")"): return single(.rightParen, 1)
        case UInt8(ascii: "["): return single(.leftBracket, 1)
        case UInt8(ascii: "]"): return single(.rightBracket, 1)
        case UInt8(ascii: "!"): return try twoCharacter(UInt8(ascii: "="), .binary(.notEqual), else: .bang, hint: "")
        case UInt8(ascii: "="): return try twoCharacter(UInt8(ascii: "="), .binary(.equal), else: nil, hint: "use '==' to compare")
        case UInt8(ascii: "<"): return try twoCharacter(UInt8(ascii: "="), .binary(.lessOrEqual), else: .binary(.less), hint: "")
        case UInt8(ascii: ">"): return try twoCharacter(UInt8(ascii: "="), .binary(.greaterOrEqual), else: .binary(.greater), hint: "")
        case UInt8(ascii: "&"): return try twoCharacter(UInt8(ascii: "&"), .binary(.and), else: nil, hint: "use '&&'")
        case UInt8(ascii: "|"): return try twoCharacter(UInt8(ascii: "|"), .binary(.or), else: nil, hint: "use '||'")
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return try string(quote: c)
        case UInt8(ascii: "-") where peek(1).map(Self.isDigit) == true: return try number()
        case _ where Self.isDigit(c): return try number()
        case _ where Self.isNameStart(c):
            while let next = peek(), Self.isNameContinuation(next) { position += 1 }
            return token(.identifier(text(start..<position)), from: start, to: position)
        default:
            // Name the whole character (an emoji with modifiers is one), not its first scalar or byte.
            var stop = start + 1
            while stop < end, offset(stop) == offset(start) { stop += 1 }
            throw error("unexpected character '\(text(start..<stop))'", from: start, to: stop)
        }
    }

    private mutating func skipDigits() {
        while let c = peek(), Self.isDigit(c) { position += 1 }
    }

    private mutating func number() throws(ExpressionError) -> ExpressionToken {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        skipDigits()
        var isInteger = true
        if peek() == UInt8(ascii: "."), let digit = peek(1), Self.isDigit(digit) {
            isInteger = false
            position += 1
            skipDigits()
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            let signed = peek(1) == UInt8(ascii: "+") || peek(1) == UInt8(ascii: "-")
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
    private mutating func string(quote: UInt8) throws(ExpressionError) -> ExpressionToken {
        let start = position
        position += 1
        // Most strings have no escape: their value is then one slice of the source.
        let contentStart = position
        var value: [UInt8]?
        while let c = peek() {
            position += 1
            if c == quote {
                guard quote == UInt8(ascii: "'"), peek() == UInt8(ascii: "'") else {
                    let text = value.map { String(decoding: $0, as: UTF8.self) } ?? self.text(contentStart..<position - 1)
                    return token(.string(text), from: start, to: position)
                }
                if value == nil { value = Array(bytes[contentStart..<position]) } else { value!.append(c) }
                position += 1
            } else if c == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                guard position < end else { break }
                let (escaped, width) = scalar(at: position)
                position += width
                if value == nil { value = Array(bytes[contentStart..<position - width - 1]) }
                switch escaped {
                case "\"": value!.append(UInt8(ascii: "\""))
                case "\\": value!.append(UInt8(ascii: "\\"))
                case "n": value!.append(UInt8(ascii: "\n"))
                case "t": value!.append(UInt8(ascii: "\t"))
                default:
                    throw error("unknown escape '\\\(escaped)' in a string; use \\\" \\\\ \\n or \\t", from: position - width - 1, to: position)
                }
            } else {
                value?.append(c)
            }
        }
        throw error("unterminated string; expected a closing \(Unicode.Scalar(quote))", from: start, to: end)
    }

    /// Where the `}}` closing a `${{` is, skipping quoted strings (so `'}}'` inside one does not
    /// end it). nil when there is none. Indexes are byte indexes.
    static func endOfEmbeddedExpression(in bytes: [UInt8], from start: Int) -> Int? {
        let brace = UInt8(ascii: "}"), single = UInt8(ascii: "'"), double = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var i = start
        while i < bytes.count {
            let c = bytes[i]
            if c == brace, i + 1 < bytes.count, bytes[i + 1] == brace { return i }
            if c == single || c == double {
                i += 1
                // A backslash skips the next byte; if that starts a longer character, its other bytes are never quotes.
                while i < bytes.count, bytes[i] != c {
                    if c == double, bytes[i] == backslash { i += 1 }
                    i += 1
                }
                // An unterminated string: fall back to the first "}}" so the parser can say what is wrong.
                if i >= bytes.count { return firstClosing(in: bytes, from: start) }
            }
            i += 1
        }
        return nil
    }

    private static func firstClosing(in bytes: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + 1 < bytes.count {
            if bytes[i] == UInt8(ascii: "}"), bytes[i + 1] == UInt8(ascii: "}") { return i }
            i += 1
        }
        return nil
    }
}
