import AIVTestSupport
import Testing
@testable import AIVCore

@Suite struct ExpressionParserTests {
    private func parseError(_ source: String) -> ExpressionError? {
        do {
            _ = try ExpressionParser.parse(source)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        ("3", JSONValue.int(3)),
        ("-2", .int(-2)),
        ("0.5", .double(0.5)),
        ("-0.25", .double(-0.25)),
        ("1e3", .double(1000)),
        ("2.5E-1", .double(0.25)),
        ("'plain'", .string("plain")),
        ("'it''s'", .string("it's")),
        ("''", .string("")),
        (#""a\"b""#, .string("a\"b")),
        (#""back\\slash""#, .string("back\\slash")),
        (#""line\nbreak\ttab""#, .string("line\nbreak\ttab")),
        (#""it's""#, .string("it's")),
        ("'say \"hi\"'", .string("say \"hi\"")),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("null", .null),
        ("  42  ", .int(42)),
        // A list of constants is one literal (for `contains(['N1', 'N2'], item.level)`).
        ("['N1', 'N2']", JSONValue.array(["N1", "N2"])),
        ("[]", JSONValue.array([])),
        ("[1, -2.5, [true, null]]", JSONValue.array([.int(1), .double(-2.5), .array([.bool(true), .null])])),
    ])
    func parsesLiterals(source: String, expected: JSONValue) throws {
        guard case .literal(let value, _) = try ExpressionParser.parse(source) else {
            Issue.record("\(source) did not parse to a literal")
            return
        }
        #expect(value == expected)
    }

    /// The canonical text shows how the parser grouped things.
    @Test(arguments: [
        ("inputs.topic", "inputs.topic"),
        ("steps.fetch-page.outputs.title", "steps.fetch-page.outputs.title"),
        ("steps.a.outputs[*].json.items", "steps.a.outputs[*].json.items"),
        ("a || b && c", "a || b && c"),
        ("(a || b) && c", "(a || b) && c"),
        ("a && b || c", "a && b || c"),
        ("a == b && c != d", "a == b && c != d"),
        ("a < b == c >= d", "a < b == c >= d"),
        ("!a == b", "!a == b"),
        ("!(a == b)", "!(a == b)"),
        ("!!a", "!!a"),
        ("a || b || c", "a || b || c"),
        ("a || (b || c)", "a || (b || c)"),
        ("((a))", "a"),
        ("x['it''s']", "x['it''s']"),
        (#"x["a\"b"]"#, "x['a\"b']"),
        ("x[-1][0]", "x[-1][0]"),
        ("x[inputs.i]", "x[inputs.i]"),
        ("length( inputs.list )", "length(inputs.list)"),
        ("join(x,'; ')", "join(x, '; ')"),
        ("(a[*].b)[0]", "(a[*].b)[0]"),
        ("a[*][*]", "a[*][*]"),
        ("a[*].b[*].c", "a[*].b[*].c"),
        ("fromJSON(s).items[0]", "fromJSON(s).items[0]"),
        ("(a || b).c", "(a || b).c"),
        ("x.null.true", "x.null.true"),
        ("1.5 >= -2", "1.5 >= -2"),
        ("2.0", "2.0"),
        ("item-1", "item-1"),
        ("a\n  && b", "a && b"),
    ])
    func parsesIntoCanonicalText(source: String, canonical: String) throws {
        #expect(try ExpressionParser.parse(source).description == canonical)
    }

    @Test func recordsSpansOfEveryNode() throws {
        let expression = try ExpressionParser.parse("inputs.x == 'a'")
        let span = Expression.Span.init(offset:length:)
        #expect(expression == .binary(.equal,
                                      .member(.name("inputs", span(0, 6)), "x", span(0, 8)),
                                      .literal(.string("a"), span(12, 3)),
                                      span(0, 15)))
    }

    @Test func projectionAppliesTheRestOfThePathToEachElement() throws {
        let expression = try ExpressionParser.parse("steps.a.outputs[*].text")
        guard case .projection(let base, let rest, let span) = expression else {
            Issue.record("not a projection: \(expression)")
            return
        }
        #expect(base.description == "steps.a.outputs")
        #expect(rest == .member(.element(.init(offset: 15, length: 3)), "text", .init(offset: 15, length: 8)))
        #expect(span == .init(offset: 0, length: 23))
    }

    @Test func parenthesesEndAProjection() throws {
        let expression = try ExpressionParser.parse("(a[*].b)[0]")
        guard case .index(.projection, .literal(.int(0), _), _) = expression else {
            Issue.record("expected an index of a projection, got \(expression)")
            return
        }
    }

    @Test func countsOffsetsInCharactersNotBytesOrScalars() {
        // "👍🏽" is one Character but two scalars and eight UTF-8 bytes.
        let error = parseError("'👍🏽é' == 1 %")
        #expect(error == ExpressionError("unexpected character '%'", offset: 10, length: 1))
    }

    @Test(arguments: [
        ("", "expected an expression, found the end of the expression", 0, 0),
        ("   ", "expected an expression, found the end of the expression", 3, 0),
        ("inputs.", "expected a name after '.', found the end of the expression", 7, 0),
        ("inputs.1", "expected a name after '.', found '1'", 7, 1),
        ("a = b", "unexpected '='; use '==' to compare", 2, 1),
        ("a & b", "unexpected '&'; use '&&'", 2, 1),
        ("a | b", "unexpected '|'; use '||'", 2, 1),
        ("a % b", "unexpected character '%'", 2, 1),
        ("a + 1", "unexpected character '+'", 2, 1),
        ("-a", "unexpected character '-'", 0, 1),
        ("'abc", "unterminated string; expected a closing '", 0, 4),
        ("x == \"abc", "unterminated string; expected a closing \"", 5, 4),
        (#""a\qb""#, #"unknown escape '\q' in a string; use \" \\ \n or \t"#, 2, 2),
        ("a b", "unexpected 'b' after the expression", 2, 1),
        ("a 'it''s'", "unexpected string 'it''s' after the expression", 2, 7),
        ("x == ", "expected an expression, found the end of the expression", 5, 0),
        ("(1, 2)", "expected ')', found ','", 2, 1),
        ("a)", "unexpected ')' after the expression", 1, 1),
        ("(a", "expected ')', found the end of the expression", 2, 0),
        ("a[1", "expected ']', found the end of the expression", 3, 0),
        ("a[*", "expected ']' after '[*', found the end of the expression", 3, 0),
        ("a[]", "expected an expression, found ']'", 2, 1),
        ("a ||", "expected an expression, found the end of the expression", 4, 0),
        ("!", "expected an expression, found the end of the expression", 1, 0),
        ("a.b(1)", "only a function name can be called", 3, 1),
        ("lenght(x)", "unknown function 'lenght'; did you mean 'length'?", 0, 6),
        ("Length(x)", "unknown function 'Length'; did you mean 'length'?", 0, 6),
        ("frobnicate(x)", "unknown function 'frobnicate'", 0, 10),
        ("join()", "'join' takes 1 or 2 arguments, got 0", 0, 6),
        ("join(a, b, c)", "'join' takes 1 or 2 arguments, got 3", 0, 13),
        ("length(a, b)", "'length' takes 1 argument, got 2", 0, 12),
        ("contains(a)", "'contains' takes 2 arguments, got 1", 0, 11),
        ("format()", "'format' takes at least 1 argument, got 0", 0, 8),
        ("length(a,)", "expected an expression, found ')'", 9, 1),
        ("length(a b)", "expected ',' or ')' in the arguments of 'length', found 'b'", 9, 1),
        ("1e999", "number 1e999 is out of range", 0, 5),
        ("[inputs.a]", "a list written in an expression holds constants only (text, numbers, true, false, null, such lists); make a computed list with a list step", 1, 8),
        ("[1, 2", "expected ',' or ']' in a list, found the end of the expression", 5, 0),
        ("[1,]", "expected an expression, found ']'", 3, 1),
    ])
    func reportsSyntaxErrors(source: String, message: String, offset: Int, length: Int) {
        #expect(parseError(source) == ExpressionError(message, offset: offset, length: length))
    }

    @Test func acceptsNestingUpToTheLimit() throws {
        let depth = ExpressionParser.maximumNesting
        let source = String(repeating: "(", count: depth) + "a" + String(repeating: ")", count: depth)
        #expect(try ExpressionParser.parse(source) == .name("a", .init(offset: depth, length: 1)))
    }

    @Test(arguments: [
        String(repeating: "(", count: 10_000) + "a" + String(repeating: ")", count: 10_000),
        String(repeating: "(", count: 10_000),
        String(repeating: "!", count: 10_000) + "a",
        "a" + String(repeating: "[a", count: 10_000),
        String(repeating: "length(", count: 10_000),
        "a" + String(repeating: "[*]", count: 10_000),
    ])
    func refusesDeepNestingWithAnErrorInsteadOfOverflowingTheStack(source: String) {
        let error = parseError(source)
        #expect(error?.message == "expression is too deeply nested (more than 64 levels)")
        #expect(error.map { $0.offset < source.count } == true)
    }

    @Test(arguments: [
        Array(repeating: "a", count: 5_000).joined(separator: " || "),
        "a" + String(repeating: ".b", count: 5_000),
        "a" + String(repeating: "[0]", count: 5_000),
        Array(repeating: "a", count: 5_000).joined(separator: " == "),
    ])
    func refusesOverlyLongChainsThatWouldMakeADeepTree(source: String) {
        #expect(parseError(source)?.message == "expression is too deeply nested (more than 256 operations inside each other)")
    }

    /// Thousands of random and mutated inputs: the parser must return or throw, never crash, and
    /// whatever it accepts must survive printing and re-parsing, evaluating and checking.
    @Test func neverCrashesOnRandomOrMutatedInput() {
        var random = SplitMix64(seed: 0xA1B2_C3D4)
        let pieces = ["inputs", "steps", "env", "item", "index", "a", "b-c", ".", "[", "]", "[*]", "(", ")", ",",
                      "'x'", "'", "\"", "\\", "''", "1", "-", "-1", "2.5", "e", "==", "!=", "<", "<=", ">", ">=", "!",
                      "&&", "||", "&", "|", "=", " ", "\n", "length", "join", "format", "true", "null", "{", "}", "é", "👍🏽"]
        let seeds = ["steps.a.outputs[*].json.items", "length(inputs.list) > 2 && !env.CI", "format('{0}-{1}', item.id, index)",
                     "(x[*].y)[-1] == 'it''s'", #"contains("a\"b", 'b') || null"#, "timestamp(floor(item.start))"]
        var accepted = 0
        for round in 0..<4_000 {
            var source: String
            if round % 2 == 0 {
                source = (0..<random.next(upTo: 12)).map { _ in pieces[random.next(upTo: pieces.count)] }.joined()
            } else {
                var characters = Array(seeds[random.next(upTo: seeds.count)])
                for _ in 0...random.next(upTo: 3) {
                    let position = random.next(upTo: characters.count + 1)
                    switch random.next(upTo: 3) {
                    case 0 where position < characters.count: characters.remove(at: position)
                    case 1: characters.insert(contentsOf: pieces[random.next(upTo: pieces.count)], at: position)
                    default: if position < characters.count { characters[position] = Array(pieces[random.next(upTo: pieces.count)])[0] }
                    }
                }
                source = String(characters)
            }
            guard let expression = try? ExpressionParser.parse(source) else { continue }
            accepted += 1
            let reparsed = try? ExpressionParser.parse(expression.description)
            #expect(reparsed?.description == expression.description, "round trip of \(source)")
            _ = try? expression.evaluate(in: EvaluationScope(inputs: ["list": [1, 2]], item: ["id": 1], index: 0))
            _ = expression.check(in: TypeScope())
            _ = expression.references
        }
        #expect(accepted > 100)
    }
}

