import AIVTestSupport
import Testing
@testable import AIVCore

@Suite struct StringTemplateTests {
    static let scope = EvaluationScope(
        inputs: ["name": "Ada", "count": 3, "ratio": 0.5, "list": [1, 2], "cfg": ["b": 1, "a": true], "nothing": nil, "flag": false])

    private func render(_ template: String) throws -> JSONValue {
        try StringTemplate.parse(template).render(in: StringTemplateTests.scope)
    }

    private func parseError(_ template: String) -> ExpressionError? {
        do {
            _ = try StringTemplate.parse(template)
            return nil
        } catch {
            return error
        }
    }

    @Test func splitsTextAndExpressionsWithTheirOffsets() throws {
        let template = try StringTemplate.parse("Hello ${{ inputs.name }}!")
        let name = try ExpressionParser.parse(" inputs.name ")
        #expect(template.segments == [.text("Hello "), .expression(name, source: " inputs.name ", offset: 9), .text("!")])
        #expect(template.containsExpressions)
        #expect(template.singleExpression == nil)
    }

    @Test(arguments: ["plain text", "", "costs $5 {not} ${ x } $${", "}} and {{"])
    func textWithoutExpressionsStaysAsItIs(text: String) throws {
        let template = try StringTemplate.parse(text)
        #expect(!template.containsExpressions)
        #expect(template.singleExpression == nil)
        #expect(try template.render(in: StringTemplateTests.scope) == .string(text))
    }

    static let renderCases: [(String, JSONValue)] = [
        ("Hello ${{ inputs.name }}!", "Hello Ada!"),
        ("${{ inputs.count }}", 3),
        ("  ${{ inputs.list }}\n", [1, 2]),
        ("${{inputs.cfg}}", ["a": true, "b": 1]),
        ("${{ inputs.nothing }}", nil),
        ("n=${{ inputs.count }}", "n=3"),
        ("${{ inputs.count }}${{ inputs.ratio }}", "30.5"),
        ("[${{ inputs.nothing }}] ${{ inputs.flag }} ${{ inputs.list }} ${{ inputs.cfg }}", #"[] false [1,2] {"a":true,"b":1}"#),
        ("${{ format('{{{0}}}', 'x') }}", "{x}"),
        ("${{ '}}' }}", "}}"),
        (#"${{ "}}\"}}" }} end"#, #"}}"}} end"#),
        ("a ${{ 'it''s' }} b", "a it's b"),
        ("🎬 ${{ inputs.name }} 🎬", "🎬 Ada 🎬"),
        ("${{ inputs.count > 2 && 'many' || 'few' }}", "many"),
    ]

    @Test(arguments: StringTemplateTests.renderCases)
    func rendersSingleExpressionsAsValuesAndOthersAsText(template: String, expected: JSONValue) throws {
        #expect(try render(template) == expected)
    }

    @Test(arguments: [
        ("abc ${{ inputs.x", "unterminated '${{'; expected '}}'", 4, 3),
        ("${{ 'a }} b", "unterminated string; expected a closing '", 4, 3),
        ("ok ${{ a }} then ${{ b", "unterminated '${{'; expected '}}'", 17, 3),
        ("ab ${{ inputs. }}", "expected a name after '.', found the end of the expression", 15, 0),
        ("${{}}", "expected an expression, found the end of the expression", 3, 0),
        ("🎬 ${{ a % b }}", "unexpected character '%'", 8, 1),
        ("x ${{ '}}' y }}", "unexpected 'y' after the expression", 11, 1),
        ("${{ 'open }}", "unterminated string; expected a closing '", 4, 6),
    ])
    func reportsParseErrorsAtOffsetsInTheWholeTemplate(template: String, message: String, offset: Int, length: Int) {
        #expect(parseError(template) == ExpressionError(message, offset: offset, length: length))
    }

    @Test func reportsRuntimeErrorsAtOffsetsInTheWholeTemplate() throws {
        let template = try StringTemplate.parse("🎬 x ${{ inputs.list.a }}")
        #expect(throws: ExpressionError("'inputs.list' is a list; use [index] or [*]", offset: 20, length: 1)) {
            try template.render(in: StringTemplateTests.scope)
        }
    }

    @Test func checksEveryExpressionWithOffsetsInTheWholeTemplate() throws {
        let scope = TypeScope(inputs: ["topic": .string, "n": .integer])
        let interpolated = try StringTemplate.parse("Title: ${{ inputs.topc }} (${{ nope }})").check(in: scope)
        #expect(interpolated.type == .string)
        #expect(interpolated.errors == [
            ExpressionError("unknown input 'topc'; did you mean 'topic'?", offset: 18, length: 4),
            ExpressionError("unknown name 'nope'; expressions start with inputs, steps, env, item or index", offset: 31, length: 4),
        ])
        let single = try StringTemplate.parse(" ${{ inputs.n }} ").check(in: scope)
        #expect(single.type == .integer)
        #expect(single.errors == [])
    }

    @Test func referencesCarryOffsetsInTheWholeTemplate() throws {
        let references = try StringTemplate.parse("a ${{ inputs.x }} b ${{ steps.s.outputs[*].y }}").references
        #expect(references == [
            Reference(root: "inputs", path: [.member("x")], offset: 6, length: 8),
            Reference(root: "steps", path: [.member("s"), .member("outputs"), .wildcard, .member("y")], offset: 24, length: 20),
        ])
    }

    @Test func whitespaceAroundASingleExpressionIsIgnoredButOtherTextIsNot() throws {
        #expect(try StringTemplate.parse(" \n ${{ inputs.count }} \t").singleExpression != nil)
        #expect(try StringTemplate.parse("x ${{ inputs.count }}").singleExpression == nil)
        #expect(try StringTemplate.parse("${{ a }} ${{ b }}").singleExpression == nil)
    }

    /// Random templates built from fragments: parsing returns or throws, never crashes, and any
    /// error offset lies within the template.
    @Test func neverCrashesOnRandomTemplates() {
        var random = SplitMix64(seed: 42)
        let pieces = ["${{", "}}", "$", "{", "}", " ", "inputs.x", "'", "\"", "\\", "'}}'", "a", "(", ")", "||", "🎬", "\n"]
        for _ in 0..<3_000 {
            let text = (0..<random.next(upTo: 10)).map { _ in pieces[random.next(upTo: pieces.count)] }.joined()
            do {
                let template = try StringTemplate.parse(text)
                _ = try? template.render(in: StringTemplateTests.scope)
                _ = template.check(in: TypeScope())
            } catch {
                #expect(error.offset >= 0 && error.offset <= text.count, "\(text)")
            }
        }
    }
}
