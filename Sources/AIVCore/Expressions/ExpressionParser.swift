/// Parses expression source into an `Expression` (grammar in Expression.swift).
///
/// Recursive descent, with two limits so hostile or broken input (10,000 `(`) ends in an
/// `ExpressionError` instead of a stack overflow: `maximumNesting` bounds the parser's own
/// recursion, `maximumDepth` the depth of the tree that evaluation and checking recurse over.
public enum ExpressionParser {
    public static let maximumNesting = 64
    public static let maximumDepth = 256

    /// Parses `source`, which must hold exactly one expression.
    public static func parse(_ source: String) throws(ExpressionError) -> Expression {
        try parse(ExpressionLexer(source))
    }

    /// Parses what `lexer` reads, which must be exactly one expression.
    static func parse(_ lexer: ExpressionLexer) throws(ExpressionError) -> Expression {
        var lexer = lexer
        var parser = Parser(tokens: try lexer.tokenize())
        let node = try parser.expression()
        if parser.current.kind != .end {
            throw ExpressionError("unexpected \(parser.current.quoted) after the expression", at: parser.current.span)
        }
        return node.expression
    }
}

private struct Parser {
    /// A parsed node and the depth of its tree.
    struct Node {
        var expression: Expression
        var depth: Int
    }

    let tokens: [ExpressionToken]
    var position = 0
    var nesting = 0

    init(tokens: [ExpressionToken]) {
        self.tokens = tokens
    }

    var current: ExpressionToken { tokens[position] }

    mutating func advance() -> ExpressionToken {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    mutating func expect(_ kind: ExpressionToken.Kind, _ what: String) throws(ExpressionError) -> ExpressionToken {
        guard current.kind == kind else {
            throw ExpressionError("expected \(what), found \(current.quoted)", at: current.span)
        }
        return advance()
    }

    /// A node over `children`, refused when the tree gets deeper than `maximumDepth`.
    func node(_ expression: Expression, over children: [Node]) throws(ExpressionError) -> Node {
        try node(expression, depth: 1 + (children.map(\.depth).max() ?? 0))
    }

    /// A node over one child (the common case: no array of children to allocate).
    func node(_ expression: Expression, over child: Node) throws(ExpressionError) -> Node {
        try node(expression, depth: 1 + child.depth)
    }

    /// A node over two children.
    func node(_ expression: Expression, over first: Node, _ second: Node) throws(ExpressionError) -> Node {
        try node(expression, depth: 1 + max(first.depth, second.depth))
    }

    func node(_ expression: Expression, depth: Int) throws(ExpressionError) -> Node {
        guard depth <= ExpressionParser.maximumDepth else {
            let limit = ExpressionParser.maximumDepth
            throw ExpressionError("expression is too deeply nested (more than \(limit) operations inside each other)", at: expression.span)
        }
        return Node(expression: expression, depth: depth)
    }

    /// Counts one level of recursion; every recursive rule goes through here.
    mutating func nested<T>(at token: ExpressionToken, _ body: (inout Parser) throws(ExpressionError) -> T) throws(ExpressionError) -> T {
        guard nesting < ExpressionParser.maximumNesting else {
            throw ExpressionError("expression is too deeply nested (more than \(ExpressionParser.maximumNesting) levels)", at: token.span)
        }
        nesting += 1
        defer { nesting -= 1 }
        return try body(&self)
    }

    mutating func expression() throws(ExpressionError) -> Node {
        try binary(precedence: 1)
    }

    /// Left-associative binary operators, from `precedence` upwards; below 5 come unary and postfix.
    mutating func binary(precedence: Int) throws(ExpressionError) -> Node {
        guard precedence <= 4 else { return try unary() }
        var left = try binary(precedence: precedence + 1)
        while case .binary(let op) = current.kind, op.precedence == precedence {
            _ = advance()
            let right = try binary(precedence: precedence + 1)
            let span = left.expression.span.through(right.expression.span)
            left = try node(.binary(op, left.expression, right.expression, span), over: left, right)
        }
        return left
    }

    mutating func unary() throws(ExpressionError) -> Node {
        guard current.kind == .bang else { return try postfix(on: try primary()) }
        let bang = advance()
        let operand = try nested(at: bang) { (parser: inout Parser) throws(ExpressionError) in try parser.unary() }
        return try node(.not(operand.expression, bang.span.through(operand.expression.span)), over: operand)
    }

    mutating func primary() throws(ExpressionError) -> Node {
        let token = advance()
        switch token.kind {
        case .number(let value):
            return Node(expression: .literal(value, token.span), depth: 1)
        case .string(let value):
            return Node(expression: .literal(.string(value), token.span), depth: 1)
        case .identifier(let name) where current.kind == .leftParen:
            return try call(name, at: token)
        case .identifier("true"): return Node(expression: .literal(.bool(true), token.span), depth: 1)
        case .identifier("false"): return Node(expression: .literal(.bool(false), token.span), depth: 1)
        case .identifier("null"): return Node(expression: .literal(.null, token.span), depth: 1)
        case .identifier(let name):
            return Node(expression: .name(name, token.span), depth: 1)
        case .leftParen:
            let inner = try nested(at: token) { (parser: inout Parser) throws(ExpressionError) in try parser.expression() }
            _ = try expect(.rightParen, "')'")
            return inner
        case .leftBracket:
            // A list of constants, for `contains(['N1', 'N2'], item.difficulty)`: kept as one
            // literal value, so nothing downstream needs to know lists can be written.
            var items: [JSONValue] = []
            if current.kind != .rightBracket {
                repeat {
                    if !items.isEmpty { _ = advance() }
                    let element = try nested(at: token) { (parser: inout Parser) throws(ExpressionError) in try parser.expression() }
                    guard case .literal(let value, _) = element.expression else {
                        throw ExpressionError("a list written in an expression holds constants only (text, numbers, true, false, null, such lists); make a computed list with a list step",
                                              at: element.expression.span)
                    }
                    items.append(value)
                } while current.kind == .comma
            }
            let close = try expect(.rightBracket, "',' or ']' in a list")
            return Node(expression: .literal(.array(items), token.span.through(close.span)), depth: 1)
        default:
            throw ExpressionError("expected an expression, found \(token.quoted)", at: token.span)
        }
    }

    /// `name(arguments)`; the function must exist and take that many arguments.
    mutating func call(_ name: String, at nameToken: ExpressionToken) throws(ExpressionError) -> Node {
        guard let function = ExpressionFunctions.named[name] else {
            throw ExpressionError("unknown function '\(name)'" + Suggestions.didYouMean(name, in: ExpressionFunctions.all.map(\.name)),
                                  at: nameToken.span)
        }
        let open = advance()
        var arguments: [Node] = []
        if current.kind != .rightParen {
            repeat {
                if !arguments.isEmpty { _ = advance() }
                arguments.append(try nested(at: open) { (parser: inout Parser) throws(ExpressionError) in try parser.expression() })
            } while current.kind == .comma
        }
        let close = try expect(.rightParen, "',' or ')' in the arguments of '\(name)'")
        let span = nameToken.span.through(close.span)
        if let problem = function.arityProblem(arguments.count) {
            throw ExpressionError(problem, at: span)
        }
        return try node(.call(name, arguments.map(\.expression), span), over: arguments)
    }

    /// Member, index and projection operations after a primary. After `[*]` the rest of the chain
    /// is built on `.element`, so it applies to each element.
    mutating func postfix(on start: Node) throws(ExpressionError) -> Node {
        var base = start
        while true {
            switch current.kind {
            case .dot:
                _ = advance()
                let nameToken = current
                guard case .identifier(let name) = nameToken.kind else {
                    throw ExpressionError("expected a name after '.', found \(nameToken.quoted)", at: nameToken.span)
                }
                _ = advance()
                base = try node(.member(base.expression, name, base.expression.span.through(nameToken.span)), over: base)
            case .leftBracket:
                let open = advance()
                if current.kind == .star {
                    _ = advance()
                    let close = try expect(.rightBracket, "']' after '[*'")
                    let element = Node(expression: .element(open.span.through(close.span)), depth: 1)
                    let rest = try nested(at: open) { (parser: inout Parser) throws(ExpressionError) in try parser.postfix(on: element) }
                    let span = base.expression.span.through(rest.expression.span)
                    return try node(.projection(base.expression, rest.expression, span), over: base, rest)
                }
                let index = try nested(at: open) { (parser: inout Parser) throws(ExpressionError) in try parser.expression() }
                let close = try expect(.rightBracket, "']'")
                base = try node(.index(base.expression, index.expression, base.expression.span.through(close.span)), over: base, index)
            case .leftParen:
                throw ExpressionError("only a function name can be called", at: current.span)
            default:
                return base
            }
        }
    }
}
