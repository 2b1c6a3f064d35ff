/// The workflow expression language: what goes inside `${{ … }}` and into `if:`.
///
/// Grammar, lowest precedence first (EBNF; whitespace, including newlines, separates tokens):
///
///     expression  = or
///     or          = and { "||" and }
///     and         = equality { "&&" equality }
///     equality    = comparison { ( "==" | "!=" ) comparison }
///     comparison  = unary { ( "<" | "<=" | ">" | ">=" ) unary }
///     unary       = "!" unary | postfix
///     postfix     = primary { "." name | "[" "*" "]" | "[" expression "]" }
///     primary     = number | string | "true" | "false" | "null"
///                 | name "(" [ expression { "," expression } ] ")"
///                 | name
///                 | "(" expression ")"
///     name        = [A-Za-z_] { [A-Za-z0-9_-] }
///     number      = [ "-" ] digits [ "." digits ] [ ( "e" | "E" ) [ "+" | "-" ] digits ]
///     string      = "'" { any character, "''" for a quote } "'"
///                 | '"' { any character, or one of \" \\ \n \t } '"'
///
/// Hyphens may appear inside names (`steps.fetch-page.outputs`): there is no arithmetic, so a
/// hyphen is never an operator. A `-` directly followed by a digit starts a negative number.
///
/// Semantics, in brief:
/// - Roots: `inputs`, `steps` (`steps.<id>.outputs…`), `env` (strings; unset is null), `item` and
///   `index` (the current `for_each` element and its 0-based position).
/// - A missing member, an out-of-range index and any member or index of null give null, so
///   `inputs.options.lang || 'en'` works. `.name` on a list is an error: use `[n]` or `[*]`.
/// - `[n]` indexes a list (negative `n` counts from the end); `['key']` reads a mapping member.
/// - `[*]` projects: everything after it in the same path is applied to each element of the list,
///   giving a list (`steps.a.outputs[*].json.items` is a list of `items`). Parentheses end the
///   projection: `(steps.a.outputs[*].title)[0]` is the first title.
/// - `a || b` is `a` when truthy, else `b`; `a && b` is `a` when falsy, else `b`
///   (truthiness as in `JSONValue.isTruthy`). `!` gives a boolean.
/// - `==`/`!=` compare structurally; `1 == 1.0`; values of different types are unequal.
///   `<`, `<=`, `>`, `>=` need two numbers or two strings.
/// - Functions are listed in `ExpressionFunctions.all`.
public indirect enum Expression: Sendable, Hashable {
    /// A number, string, boolean or null written in the source.
    case literal(JSONValue, Span)
    /// A root name: `inputs`, `steps`, `env`, `item`, `index` (others are errors, found by the checker).
    case name(String, Span)
    /// The current element inside the `rest` of a `projection`; its span is the `[*]`.
    case element(Span)
    /// `base.name`.
    case member(Expression, String, Span)
    /// `base[index]`.
    case index(Expression, Expression, Span)
    /// `base[*]rest`: `rest` (built on `.element`) is evaluated for every element of the list `base`.
    case projection(Expression, Expression, Span)
    /// `name(arguments…)`; the parser only builds calls of known functions with a valid count.
    case call(String, [Expression], Span)
    /// `!operand`.
    case not(Expression, Span)
    case binary(BinaryOperator, Expression, Expression, Span)

    /// Where a node is in the expression source, in `Character`s, so errors can be underlined.
    public struct Span: Sendable, Hashable {
        public var offset: Int
        public var length: Int
        public init(offset: Int, length: Int) {
            self.offset = offset
            self.length = length
        }
        public var end: Int { offset + length }
        /// The span from the start of `self` to the end of `other`.
        public func through(_ other: Span) -> Span {
            Span(offset: offset, length: max(offset, other.end) - offset)
        }
    }

    public enum BinaryOperator: String, Sendable, Hashable, CaseIterable {
        case or = "||", and = "&&"
        case equal = "==", notEqual = "!="
        case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="

        /// Binding strength: higher binds tighter (unary `!` is 5, postfix 7).
        var precedence: Int {
            switch self {
            case .or: 1
            case .and: 2
            case .equal, .notEqual: 3
            case .less, .lessOrEqual, .greater, .greaterOrEqual: 4
            }
        }

        var isComparison: Bool { precedence == 4 }
    }

    public var span: Span {
        switch self {
        case .literal(_, let span), .name(_, let span), .element(let span), .member(_, _, let span),
             .index(_, _, let span), .projection(_, _, let span), .call(_, _, let span), .not(_, let span),
             .binary(_, _, _, let span):
            span
        }
    }

    /// The span of the name in a `.member` node (the name is always last: `base.name`).
    /// A name is ASCII (the lexer's rule), so its UTF-8 count is its count of characters, and
    /// reading it costs nothing, where `count` walks the string's graphemes.
    var memberNameSpan: Span {
        guard case .member(_, let name, let span) = self else { return span }
        return Span(offset: span.end - name.utf8.count, length: name.utf8.count)
    }
}

/// A problem in an expression: a syntax error, a runtime failure or a static-check finding.
/// Offsets count `Character`s from the start of the string that was parsed.
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var length: Int

    public init(_ message: String, offset: Int, length: Int) {
        self.message = message
        self.offset = offset
        self.length = length
    }

    public init(_ message: String, at span: Expression.Span) {
        self.init(message, offset: span.offset, length: span.length)
    }

    /// The same error with its offset moved, for an expression embedded at `delta` in a larger text.
    public func shifted(by delta: Int) -> ExpressionError {
        ExpressionError(message, offset: offset + delta, length: length)
    }

    public var description: String { "\(offset): \(message)" }
}

// MARK: - Canonical text

extension Expression: CustomStringConvertible {
    /// The expression written back in canonical form (single-quoted strings, minimal parentheses).
    /// Messages use it to name a path: `'steps.a.outputs.items' is a list`.
    public var description: String { text(element: "") }

    /// `element` is the text standing for `.element`: the projected path followed by `[*]`.
    func text(element: String) -> String {
        switch self {
        case .literal(let value, _): Expression.literalText(value)
        case .name(let name, _): name
        case .element: element
        case .member(let base, let name, _): base.operandText(7, element) + "." + name
        case .index(let base, let index, _): base.operandText(7, element) + "[" + index.text(element: element) + "]"
        case .projection(let base, let rest, _): rest.text(element: base.operandText(7, element) + "[*]")
        case .call(let name, let arguments, _):
            name + "(" + arguments.map { $0.text(element: element) }.joined(separator: ", ") + ")"
        case .not(let operand, _): "!" + operand.operandText(5, element)
        case .binary(let op, let left, let right, _):
            left.operandText(op.precedence, element) + " " + op.rawValue + " " + right.operandText(op.precedence + 1, element)
        }
    }

    private var precedence: Int {
        switch self {
        case .binary(let op, _, _, _): op.precedence
        case .not: 5
        // A projection takes in every postfix operation after it, so one used as a base needs parentheses.
        case .projection: 6
        default: 7
        }
    }

    /// The text of an operand, parenthesised when it binds looser than `required`.
    private func operandText(_ required: Int, _ element: String) -> String {
        precedence < required ? "(" + text(element: element) + ")" : text(element: element)
    }

    static func literalText(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
        case .double(let d) where d.isFinite && d == d.rounded() && abs(d) < 1e15: String(Int(d)) + ".0"
        case .double(let d): "\(d)"
        case .array(let items): "[" + items.map(literalText).joined(separator: ", ") + "]"
        default: value.canonicalJSON
        }
    }
}

// MARK: - References

/// One path an expression reads, such as `steps.split.outputs[*].text`, for dependency and
/// unknown-name checks by the caller.
public struct Reference: Sendable, Hashable {
    public var root: String
    public var path: [PathComponent]
    public var offset: Int
    public var length: Int

    public init(root: String, path: [PathComponent], offset: Int, length: Int) {
        self.root = root
        self.path = path
        self.offset = offset
        self.length = length
    }
}

public enum PathComponent: Sendable, Hashable {
    /// `.name`, or `['name']` with a literal string.
    case member(String)
    /// `[n]` with a literal integer.
    case index(Int)
    /// `[expr]` where the index is computed.
    case dynamicIndex
    /// `[*]`.
    case wildcard
}

extension Expression {
    /// Every root path used, outermost first, in source order. Paths inside computed indexes
    /// (`inputs.list[inputs.i]`) are listed too.
    public var references: [Reference] {
        var found: [Reference] = []
        collectReferences(into: &found)
        // Usually collected in source order already; a stable sort would then leave it as it is.
        if zip(found, found.dropFirst()).allSatisfy({ $0.offset <= $1.offset }) { return found }
        return found.enumerated()
            .sorted { ($0.element.offset, $0.offset) < ($1.element.offset, $1.offset) }
            .map(\.element)
    }

    private func collectReferences(into found: inout [Reference]) {
        if let (root, path) = pathComponents(), !root.isEmpty {
            found.append(Reference(root: root, path: path, offset: span.offset, length: span.length))
            collectIndexReferences(into: &found)
            return
        }
        switch self {
        case .literal, .name, .element: break
        case .member(let base, _, _): base.collectReferences(into: &found)
        case .index(let base, let index, _):
            base.collectReferences(into: &found)
            index.collectReferences(into: &found)
        case .projection(let base, let rest, _):
            base.collectReferences(into: &found)
            rest.collectIndexReferences(into: &found)
        case .call(_, let arguments, _): for argument in arguments { argument.collectReferences(into: &found) }
        case .not(let operand, _): operand.collectReferences(into: &found)
        case .binary(_, let left, let right, _):
            left.collectReferences(into: &found)
            right.collectReferences(into: &found)
        }
    }

    /// References inside the computed indexes of a path already recorded as a whole.
    private func collectIndexReferences(into found: inout [Reference]) {
        switch self {
        case .member(let base, _, _): base.collectIndexReferences(into: &found)
        case .index(let base, let index, _):
            base.collectIndexReferences(into: &found)
            if index.literalPathComponent == nil { index.collectReferences(into: &found) }
        case .projection(let base, let rest, _):
            base.collectIndexReferences(into: &found)
            rest.collectIndexReferences(into: &found)
        default: break
        }
    }

    /// The root and components when this node is a path from a name (or, inside a projection,
    /// from `.element`, with an empty root); nil for anything else.
    func pathComponents() -> (root: String, path: [PathComponent])? {
        var path: [PathComponent] = []
        guard let root = appendPathComponents(to: &path) else { return nil }
        return (root, path)
    }

    /// Appends this path's components to `path` and returns its root; nil when it is not a path.
    /// (One array for the whole path, where concatenating at each level allocated one per level.)
    private func appendPathComponents(to path: inout [PathComponent]) -> String? {
        switch self {
        case .name(let name, _): return name
        case .element: return ""
        case .member(let base, let name, _):
            guard let root = base.appendPathComponents(to: &path) else { return nil }
            path.append(.member(name))
            return root
        case .index(let base, let index, _):
            guard let root = base.appendPathComponents(to: &path) else { return nil }
            path.append(index.literalPathComponent ?? .dynamicIndex)
            return root
        case .projection(let base, let rest, _):
            guard let root = base.appendPathComponents(to: &path) else { return nil }
            path.append(.wildcard)
            guard rest.appendPathComponents(to: &path) != nil else { return nil }
            return root
        default: return nil
        }
    }

    private var literalPathComponent: PathComponent? {
        switch self {
        case .literal(.string(let key), _): .member(key)
        case .literal(.int(let i), _): .index(i)
        default: nil
        }
    }

    /// The member name when this node reads a fixed member: `base.name` or `base['name']`.
    var staticMember: (base: Expression, name: String, nameSpan: Span)? {
        switch self {
        case .member(let base, let name, _): (base, name, memberNameSpan)
        case .index(let base, .literal(.string(let key), let keySpan), _): (base, key, keySpan)
        default: nil
        }
    }
}
