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

/// Splits expression source into tokens. Works on `Character`s so offsets match what a user sees.
struct ExpressionLexer {
    private let characters: [Character]
    private var position = 0

    init(_ source: String) {
        characters = Array(source)
    }

    /// All tokens, ending with `.end`.
    static func tokenize(_ source: String) throws(ExpressionError) -> [ExpressionToken] {
        var lexer = ExpressionLexer(source)
        var tokens: [ExpressionToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    // Byte comparisons: Character's isLetter/isNumber look up Unicode properties, which showed up
    // when checking workflows with thousands of expressions.
    static func isNameStart(_ c: Character) -> Bool {
        guard let a = c.asciiValue else { return false }
        return (a >= 0x41 && a <= 0x5A) || (a >= 0x61 && a <= 0x7A) || a == 0x5F
    }
    static func isNameContinuation(_ c: Character) -> Bool {
        guard let a = c.asciiValue else { return false }
        return isNameStart(c) || (a >= 0x30 && a <= 0x39) || a == 0x2D
    }

    private func peek(_ ahead: Int = 0) -> Character? {
        position + ahead < characters.count ? characters[position + ahead] : nil
    }

    mutating func next() throws(ExpressionError) -> ExpressionToken {
        while let c = peek(), c == " " || c == "\t" || c == "\n" || c == "\r" || (!c.isASCII && c.isWhitespace) { position += 1 }
        let start = position
        guard let c = peek() else { return ExpressionToken(kind: .end, offset: start, length: 0) }

        func token(_ kind: ExpressionToken.Kind, _ length: Int) -> ExpressionToken {
            position = start + length
            return ExpressionToken(kind: kind, offset: start, length: length)
        }
        func twoCharacter(_ second: Character, _ kind: ExpressionToken.Kind, else single: ExpressionToken.Kind?,
                          hint: String) throws(ExpressionError) -> ExpressionToken {
            if peek(1) == second { return token(kind, 2) }
            if let single { return token(single, 1) }
            throw ExpressionError("unexpected '\(c)'; \(hint)", offset: start, length: 1)
        }

        switch c {
        case ".": return token(.dot, 1)
        case ",": return token(.comma, 1)
        case "*": return token(.star, 1)
        case "(": return token(.leftParen, 1)
        case ")": return token(.rightParen, 1)
        case "[": return token(.leftBracket, 1)
        case "]": return token(.rightBracket, 1)
        case "!": return try twoCharacter("=", .binary(.notEqual), else: .bang, hint: "")
        case "=": return try twoCharacter("=", .binary(.equal), else: nil, hint: "use '==' to compare")
        case "<": return try twoCharacter("=", .binary(.lessOrEqual), else: .binary(.less), hint: "")
        case ">": return try twoCharacter("=", .binary(.greaterOrEqual), else: .binary(.greater), hint: "")
        case "&": return try twoCharacter("&", .binary(.and), else: nil, hint: "use '&&'")
        case "|": return try twoCharacter("|", .binary(.or), else: nil, hint: "use '||'")
        case "'", "\"": return try string(quote: c)
        case "-" where peek(1)?.isASCII == true && peek(1)?.isNumber == true: return try number()
        case _ where c.isASCII && c.isNumber: return try number()
        case _ where ExpressionLexer.isNameStart(c):
            while let next = peek(), ExpressionLexer.isNameContinuation(next) { position += 1 }
            return ExpressionToken(kind: .identifier(String(characters[start..<position])), offset: start, length: position - start)
        default:
            throw ExpressionError("unexpected character '\(c)'", offset: start, length: 1)
        }
    }

    private mutating func skipDigits() {
        while let c = peek(), c.isASCII, c.isNumber { position += 1 }
    }

    private mutating func number() throws(ExpressionError) -> ExpressionToken {
        let start = position
        if peek() == "-" { position += 1 }
        skipDigits()
        var isInteger = true
        if peek() == ".", let digit = peek(1), digit.isASCII, digit.isNumber {
            isInteger = false
            position += 1
            skipDigits()
        }
        if let e = peek(), e == "e" || e == "E" {
            let signed = peek(1) == "+" || peek(1) == "-"
            if let digit = peek(signed ? 2 : 1), digit.isASCII, digit.isNumber {
                isInteger = false
                position += signed ? 2 : 1
                skipDigits()
            }
        }
        let text = String(characters[start..<position])
        let length = position - start
        if isInteger, let int = Int(text) {
            return ExpressionToken(kind: .number(.int(int)), offset: start, length: length)
        }
        guard let double = Double(text), double.isFinite else {
            throw ExpressionError("number \(text) is out of range", offset: start, length: length)
        }
        return ExpressionToken(kind: .number(.double(double)), offset: start, length: length)
    }

    /// A quoted string: single quotes escape a quote by doubling it, double quotes use backslashes.
    private mutating func string(quote: Character) throws(ExpressionError) -> ExpressionToken {
        let start = position
        position += 1
        var value = ""
        while let c = peek() {
            position += 1
            if c == quote {
                guard quote == "'", peek() == "'" else {
                    return ExpressionToken(kind: .string(value), offset: start, length: position - start)
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
                    throw ExpressionError("unknown escape '\\\(escaped)' in a string; use \\\" \\\\ \\n or \\t",
                                          offset: position - 2, length: 2)
                }
            } else {
                value.append(c)
            }
        }
        throw ExpressionError("unterminated string; expected a closing \(quote)", offset: start, length: characters.count - start)
    }

    /// Where the `}}` closing a `${{` is, skipping quoted strings (so `'}}'` inside one does not
    /// end it). nil when there is none.
    static func endOfEmbeddedExpression(in characters: [Character], from start: Int) -> Int? {
        var i = start
        while i < characters.count {
            let c = characters[i]
            if c == "}", i + 1 < characters.count, characters[i + 1] == "}" { return i }
            if c == "'" || c == "\"" {
                i += 1
                while i < characters.count, characters[i] != c {
                    if c == "\"", characters[i] == "\\" { i += 1 }
                    i += 1
                }
                // An unterminated string: fall back to the first "}}" so the parser can say what is wrong.
                if i >= characters.count { return firstClosing(in: characters, from: start) }
            }
            i += 1
        }
        return nil
    }

    private static func firstClosing(in characters: [Character], from start: Int) -> Int? {
        var i = start
        while i + 1 < characters.count {
            if characters[i] == "}", characters[i + 1] == "}" { return i }
            i += 1
        }
        return nil
    }
}
