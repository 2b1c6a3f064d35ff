/// A string that may contain `${{ expression }}` parts, as workflow values do.
///
/// Offsets in errors (from parsing, rendering or checking) are `Character` offsets in the whole
/// template string, so the caller maps them to a file position the same way for every value.
public struct StringTemplate: Sendable, Hashable {
    public enum Segment: Sendable, Hashable {
        case text(String)
        /// `offset` is where `source` (the text after `${{`, before `}}`) starts in the template.
        /// Spans inside `Expression` are relative to `source`.
        case expression(Expression, source: String, offset: Int)
    }

    public var segments: [Segment]

    public init(segments: [Segment]) {
        self.segments = segments
    }

    /// Splits `text` into literal text and expressions. The `}}` that ends an expression is found
    /// outside quoted strings, so `${{ format('{{{0}}}', x) }}` works.
    public static func parse(_ text: String) throws(ExpressionError) -> StringTemplate {
        var segments: [Segment] = []
        try scan(text) { (piece: Piece) throws(ExpressionError) in
            switch piece {
            case .text(let literal): segments.append(.text(literal))
            case .expression(let result, let source, let offset): segments.append(.expression(try result.get(), source: source, offset: offset))
            }
        }
        return StringTemplate(segments: segments)
    }

    /// Every `${{ }}` of `text` parsed on its own, in order: a syntax error in one does not hide
    /// the others, so a checker can report them all (`parse` stops at the first). Empty when an
    /// `${{` is never closed (that error is `parse`'s).
    public static func parseEach(_ text: String) -> [(result: Result<Expression, ExpressionError>, source: String, offset: Int)] {
        var expressions: [(result: Result<Expression, ExpressionError>, source: String, offset: Int)] = []
        do throws(ExpressionError) {
            try scan(text) { (piece: Piece) throws(ExpressionError) in
                if case .expression(let result, let source, let offset) = piece { expressions.append((result, source, offset)) }
            }
        } catch {
            return []
        }
        return expressions
    }

    /// What `scan` finds, in order. An expression's error is shifted to the template's offsets.
    enum Piece {
        case text(String)
        case expression(Result<Expression, ExpressionError>, source: String, offset: Int)
    }

    /// Walks `text` once, handing over each literal stretch and each parsed (or failed)
    /// expression; throws only for an `${{` that is never closed.
    static func scan(_ text: String, _ body: (Piece) throws(ExpressionError) -> Void) throws(ExpressionError) {
        // UTF-8 bytes with a map to Character offsets, as the lexer does, for the same reason.
        let bytes = Array(text.utf8)
        let characterOffsets = ExpressionLexer.characterOffsets(of: text, bytes: bytes)
        func offset(_ index: Int) -> Int { characterOffsets?[index] ?? index }
        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        var literalStart = 0
        var i = 0
        let dollar = UInt8(ascii: "$"), brace = UInt8(ascii: "{")
        while i < bytes.count {
            guard bytes[i] == dollar, i + 2 < bytes.count, bytes[i + 1] == brace, bytes[i + 2] == brace else {
                i += 1
                continue
            }
            let start = i + 3
            guard let end = ExpressionLexer.endOfEmbeddedExpression(in: bytes, from: start) else {
                throw ExpressionError("unterminated '${{'; expected '}}'", offset: offset(i), length: offset(start) - offset(i))
            }
            if literalStart < i { try body(.text(string(literalStart..<i))) }
            let source = string(start..<end)
            let result = Result { () throws(ExpressionError) -> Expression in
                do throws(ExpressionError) {
                    // An ASCII template is lexed where it is; otherwise the expression's own characters
                    // are counted, as a standalone expression's would be.
                    return characterOffsets == nil
                        ? try ExpressionParser.parse(ExpressionLexer(bytes: bytes, range: start..<end, characterOffsets: nil))
                        : try ExpressionParser.parse(source)
                } catch {
                    throw error.shifted(by: offset(start))
                }
            }
            try body(.expression(result, source: source, offset: offset(start)))
            i = end + 2
            literalStart = i
        }
        if literalStart < bytes.count { try body(.text(string(literalStart..<bytes.count))) }
    }

    public var containsExpressions: Bool {
        segments.contains { if case .expression = $0 { true } else { false } }
    }

    /// The expression when the whole string (ignoring surrounding whitespace) is exactly one
    /// `${{ }}`: its value then keeps its type (a list stays a list).
    public var singleExpression: Expression? {
        singleSegment.map(\.expression)
    }

    private var singleSegment: (expression: Expression, offset: Int)? {
        var found: (Expression, Int)?
        for segment in segments {
            switch segment {
            case .text(let text):
                if !text.allSatisfy(\.isWhitespace) { return nil }
            case .expression(let expression, _, let offset):
                if found != nil { return nil }
                found = (expression, offset)
            }
        }
        return found
    }

    /// The value: a single expression's own value, otherwise a string with each part's
    /// `interpolationText`.
    public func render(in scope: EvaluationScope) throws(ExpressionError) -> JSONValue {
        if let (expression, offset) = singleSegment {
            return try Self.evaluate(expression, offset: offset, in: scope)
        }
        var out = ""
        for segment in segments {
            switch segment {
            case .text(let text): out += text
            case .expression(let expression, _, let offset):
                out += try Self.evaluate(expression, offset: offset, in: scope).interpolationText
            }
        }
        return .string(out)
    }

    private static func evaluate(_ expression: Expression, offset: Int, in scope: EvaluationScope) throws(ExpressionError) -> JSONValue {
        do throws(ExpressionError) {
            return try expression.evaluate(in: scope)
        } catch {
            throw error.shifted(by: offset)
        }
    }

    /// Every path the expressions read, with offsets in the template string.
    public var references: [Reference] {
        segments.flatMap { segment -> [Reference] in
            guard case .expression(let expression, _, let offset) = segment else { return [] }
            return expression.references.map { reference in
                var moved = reference
                moved.offset += offset
                return moved
            }
        }
    }

    /// Static check of every expression, offsets in the template string. The type is the single
    /// expression's type, or a string when the template interpolates.
    public func check(in scope: TypeScope) -> (type: Schema, errors: [ExpressionError]) {
        if let (expression, offset) = singleSegment {
            let (type, errors) = expression.check(in: scope)
            return (type, errors.map { $0.shifted(by: offset) })
        }
        var errors: [ExpressionError] = []
        for case .expression(let expression, _, let offset) in segments {
            errors += expression.check(in: scope).errors.map { $0.shifted(by: offset) }
        }
        return (.string, errors)
    }
}
