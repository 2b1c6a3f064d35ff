import Testing
@testable import AIVCore

@Suite struct ExpressionEvaluatorTests {
    static let scope = EvaluationScope(
        inputs: [
            "name": "Ada", "count": 3, "ratio": 0.5, "empty": "", "nothing": nil, "zero": 0,
            "tags": ["a", "b"], "list": [1, 2, 3], "matrix": [[1, 2], [3], []],
            "cfg": ["lang": "en", "nested": ["deep": 1]], "key": "lang",
        ],
        steps: [
            "split": ["chunks": [["text": "x", "json": ["items": [1, 2]]], ["text": "y", "json": ["items": [3]]]]],
            "fetch-page": ["title": "T"],
        ],
        env: ["HOME": "/home/ada", "EMPTY": ""],
        item: ["id": 7, "title": "Seven"],
        index: 2)

    private func evaluate(_ source: String, in scope: EvaluationScope = scope) throws -> JSONValue {
        try ExpressionParser.parse(source).evaluate(in: scope)
    }

    private func evaluationError(_ source: String, in scope: EvaluationScope = scope) throws -> ExpressionError? {
        let expression = try ExpressionParser.parse(source)
        do {
            _ = try expression.evaluate(in: scope)
            return nil
        } catch {
            return error
        }
    }

    static let pathCases: [(String, JSONValue)] = [
        ("inputs.name", JSONValue.string("Ada")),
        ("inputs['name']", "Ada"),
        ("inputs[inputs.key == 'lang' && 'count']", 3),
        ("inputs.cfg[inputs.key]", "en"),
        ("inputs.cfg.nested.deep", 1),
        ("inputs.list[0]", 1),
        ("inputs.list[-1]", 3),
        ("inputs.list[1.0]", 2),
        ("inputs.list[index]", 3),
        ("steps.fetch-page.outputs.title", "T"),
        ("steps['fetch-page'].outputs", ["title": "T"]),
        ("env.HOME", "/home/ada"),
        ("item.title", "Seven"),
        ("item", ["id": 7, "title": "Seven"]),
        ("index", 2),
        ("inputs", JSONValue.object(ExpressionEvaluatorTests.scope.inputs)),
    ]

    @Test func variablesThatLookLikeSecretsAreNotInEnvHoweverTheNameIsReached() throws {
        var scope = Self.scope
        scope.env = ["HOME": "/home/ada", "MY_API_KEY": "k-123", "NOTION_TOKEN": "t-456"]
        // A name computed while running, the whole object, and a member written out all miss it.
        for source in ["env[format('MY_API_{0}', 'KEY')]", "env.NOTION_TOKEN", "env['NOTION_TOKEN'] || 'none'", "toJSON(env)", "length(env)"] {
            let text = try evaluate(source, in: scope).interpolationText
            #expect(!text.contains("k-123") && !text.contains("t-456"), "\(source) gave \(text)")
        }
        #expect(try evaluate("toJSON(env)", in: scope) == #"{"HOME":"/home/ada"}"#)
        #expect(try evaluate("env.HOME", in: scope) == "/home/ada")
    }

    @Test(arguments: ExpressionEvaluatorTests.pathCases)
    func readsPaths(source: String, expected: JSONValue) throws {
        #expect(try evaluate(source) == expected)
    }

    @Test(arguments: [
        "inputs.missing", "inputs.missing.deeper[0][*].x", "inputs.nothing.x", "inputs.nothing[0]",
        "inputs.list[3]", "inputs.list[-4]", "inputs.cfg.missing", "inputs.cfg['missing']",
        "env.UNSET", "steps.absent.outputs", "inputs.missing[*].x",
    ])
    func missingMembersAndOutOfRangeIndexesGiveNull(source: String) throws {
        #expect(try evaluate(source) == .null)
    }

    static let projections: [(String, JSONValue)] = [
        ("steps.split.outputs.chunks[*].text", JSONValue.array(["x", "y"])),
        ("steps.split.outputs.chunks[*].json.items", [[1, 2], [3]]),
        ("steps.split.outputs.chunks[*].json.items[0]", [1, 3]),
        ("steps.split.outputs.chunks[*].missing", [nil, nil]),
        ("(steps.split.outputs.chunks[*].text)[1]", "y"),
        ("inputs.matrix[*][0]", [1, 3, nil]),
        ("inputs.matrix[*][*]", [[1, 2], [3], []]),
        ("inputs.list[*]", [1, 2, 3]),
        ("flatten(steps.split.outputs.chunks[*].json.items)", [1, 2, 3]),
        ("length(steps.split.outputs.chunks[*].json.items[*])", 2),
    ]

    @Test(arguments: ExpressionEvaluatorTests.projections)
    func projectsWildcardOverListOfObjects(source: String, expected: JSONValue) throws {
        #expect(try evaluate(source) == expected)
    }

    static let logicalCases: [(String, JSONValue)] = [
        ("env.UNSET || 'default'", JSONValue.string("default")),
        ("env.EMPTY || 'default'", "default"),
        ("inputs.name || 'default'", "Ada"),
        ("inputs.zero || inputs.nothing", nil),
        ("inputs.list || 'none'", [1, 2, 3]),
        ("inputs.empty && 'x'", ""),
        ("inputs.name && 'x'", "x"),
        ("inputs.name || nosuchroot.x", "Ada"),
        ("inputs.empty && nosuchroot.x", ""),
        ("!inputs.empty", true),
        ("!!inputs.name", true),
        ("!inputs.cfg", false),
        ("!inputs.matrix[2]", true),
    ]

    @Test(arguments: ExpressionEvaluatorTests.logicalCases)
    func logicalOperatorsYieldOperandsAndShortCircuit(source: String, expected: JSONValue) throws {
        #expect(try evaluate(source) == expected)
    }

    @Test(arguments: [
        ("1 == 1.0", true), ("1 != 1.0", false), ("'1' == 1", false), ("null == inputs.missing", true),
        ("null == false", false), ("0 == false", false), ("inputs.cfg == inputs.cfg", true),
        ("inputs.tags == inputs.tags", true), ("inputs.tags == inputs.list", false),
        ("steps.split.outputs.chunks[*].json.items[0] == inputs.list[0]", false),
        ("2 < 10", true), ("10 <= 10.0", true), ("1.5 > 1", true), ("-1 >= 0", false),
        ("'b' > 'a'", true), ("'B' < 'a'", true), ("'abc' <= 'abd'", true),
        ("length(inputs.list) > 2 && inputs.name == 'Ada'", true),
        ("inputs.count == 3 || inputs.count < 0", true),
    ])
    func comparesValues(source: String, expected: Bool) throws {
        #expect(try evaluate(source) == .bool(expected))
    }

    static let functionCases: [(String, JSONValue)] = [
        ("length('héllo👍🏽')", JSONValue.int(6)), ("length(inputs.tags)", 2), ("length(inputs.cfg)", 2), ("length(inputs.nothing)", 0),
        ("join(inputs.tags)", "a,b"), ("join(inputs.tags, ' | ')", "a | b"), ("join(inputs.list, '')", "123"),
        ("join(inputs.matrix, ';')", "[1,2];[3];[]"), ("join('x')", "x"), ("join(inputs.nothing)", ""),
        ("format('{0} and {1}', 'a', 2)", "a and 2"), ("format('{1}{0}{1}', 'a', 'b')", "bab"),
        ("format('{{literal}} {0}', inputs.ratio)", "{literal} 0.5"), ("format('{0}', inputs.nothing)", ""),
        ("format('{0}', inputs.cfg.nested)", "{\"deep\":1}"), ("format('plain')", "plain"),
        ("contains('hello', 'ell')", true), ("contains('hello', 'xyz')", false), ("contains(inputs.tags, 'b')", true),
        ("contains(inputs.list, 2.0)", true), ("contains(inputs.list, '2')", false), ("contains(inputs.nothing, 'x')", false),
        ("contains('a1', 1)", true),
        ("startsWith('hello', 'he')", true), ("startsWith('hello', 'lo')", false), ("endsWith('hello', 'lo')", true),
        ("startsWith(inputs.nothing, 'a')", false), ("endsWith('x', '')", true),
        ("lower('ÀbC')", "àbc"), ("upper('abc')", "ABC"), ("lower(inputs.nothing)", ""),
        ("toJSON(inputs.cfg)", #"{"lang":"en","nested":{"deep":1}}"#), ("toJSON('a\"b')", #""a\"b""#),
        ("toJSON(inputs.list)", "[1,2,3]"), ("toJSON(inputs.nothing)", "null"), ("toJSON(0.5)", "0.5"),
        (#"fromJSON('{"a":[1,2.5,"x",null,true]}')"#, ["a": [1, 2.5, "x", nil, true]]),
        ("fromJSON('3')", 3), ("fromJSON(toJSON(inputs.cfg))", ["lang": "en", "nested": ["deep": 1]]),
        ("fromJSON(inputs.nothing)", nil),
        ("flatten(inputs.matrix)", [1, 2, 3]), ("flatten(inputs.list)", [1, 2, 3]), ("flatten(inputs.nothing)", []),
        ("floor(2.7)", 2), ("floor(-2.5)", -3), ("floor(3)", 3), ("floor(inputs.ratio)", 0),
        ("timestamp(0)", "0:00"), ("timestamp(65)", "1:05"), ("timestamp(599.9)", "9:59"),
        ("timestamp(3599)", "59:59"), ("timestamp(3600)", "1:00:00"), ("timestamp(3725)", "1:02:05"),
        ("timestamp(36000)", "10:00:00"),
        ("timeLink('https://www.youtube.com/watch?v=abc', 577.9)", "https://www.youtube.com/watch?v=abc&t=577s"),
        ("timeLink('https://youtu.be/abc', 12)", "https://youtu.be/abc?t=12s"),
        ("timeLink('https://www.youtube.com/live/abc?si=x', 0)", "https://www.youtube.com/live/abc?si=x&t=0s"),
        ("timeLink('https://youtu.be/abc?t=5s#top', 9)", "https://youtu.be/abc?t=9s#top"),
        ("timeLink('https://www.youtube.com/watch?v=abc&q=a%2Bb%26c&list=x', 5)", "https://www.youtube.com/watch?v=abc&q=a%2Bb%26c&list=x&t=5s"),
        ("windows(25, 10)", [["index": 0, "start": 0, "end": 10], ["index": 1, "start": 10, "end": 20], ["index": 2, "start": 20, "end": 25]]),
        ("windows(1200, '10m')", [["index": 0, "start": 0, "end": 600], ["index": 1, "start": 600, "end": 1200]]),
        ("windows(0, 10)", []), ("length(windows(10800, '10m'))", 18),
        ("windows(180.03, 60)", [["index": 0, "start": 0, "end": 60], ["index": 1, "start": 60, "end": 120], ["index": 2, "start": 120, "end": 180.03]]),
        ("windows(0.5, 60)", [["index": 0, "start": 0, "end": 0.5]]),
    ]

    @Test(arguments: ExpressionEvaluatorTests.functionCases)
    func callsFunctions(source: String, expected: JSONValue) throws {
        #expect(try evaluate(source) == expected)
    }

    @Test(arguments: [
        ("inputs.tags.first", "'inputs.tags' is a list; use [index] or [*]", 12, 5),
        ("inputs.name.first", "'inputs.name' is a string and has no field 'first'", 12, 5),
        ("inputs.count.x", "'inputs.count' is a number and has no field 'x'", 13, 1),
        ("steps.split.outputs.chunks[*].text.x", "'steps.split.outputs.chunks[*].text' is a string and has no field 'x'", 35, 1),
        ("steps.split.outputs.chunks[*].json.items.n",
         "'steps.split.outputs.chunks[*].json.items' is a list; use [index] or [*]", 41, 1),
        ("'a' < 1", "'<' needs two numbers or two strings, got a string and a number", 0, 7),
        ("inputs.cfg >= inputs.cfg", "'>=' needs two numbers or two strings, got a mapping and a mapping", 0, 24),
        ("null < 1", "'<' needs two numbers or two strings, got null and a number", 0, 8),
        ("inputs.list['a']", "a list index must be a number, got a string", 12, 3),
        ("inputs.list[0.5]", "a list index must be a whole number, got 0.5", 12, 3),
        ("inputs.cfg[1]", "a mapping key must be a string, got a number", 11, 1),
        ("inputs.name[0]", "'inputs.name' is a string and cannot be indexed", 0, 14),
        ("inputs.name[*]", "'inputs.name' is a string, not a list; [*] needs a list", 0, 11),
        ("inputs.cfg[*].x", "'inputs.cfg' is a mapping, not a list; [*] needs a list", 0, 10),
        ("nope.x", "unknown name 'nope'; expressions start with inputs, steps, env, item or index", 0, 4),
        ("input.x", "unknown name 'input'; expressions start with inputs, steps, env, item or index; did you mean 'inputs'?", 0, 5),
        ("lower(3)", "argument 1 of 'lower' must be a string, got a number", 6, 1),
        ("startsWith('a', inputs.list)", "argument 2 of 'startsWith' must be a string, got a list", 16, 11),
        ("floor('3')", "argument 1 of 'floor' must be a number, got a string", 6, 3),
        ("floor(1e300)", "'floor' takes numbers from -9e18 to 9e18 (whole numbers aiv can hold), not 1e+300", 6, 5),
        ("length(1)", "'length' needs a string, list or mapping, got a number", 7, 1),
        ("join(inputs.cfg)", "'join' needs a list, got a mapping", 5, 10),
        ("contains(1, 1)", "'contains' needs a string or a list, got a number", 9, 1),
        ("flatten('x')", "'flatten' needs a list, got a string", 8, 3),
        ("fromJSON('{')", "'fromJSON' got text that is not valid JSON (at character 2: expected a member name in quotes)", 9, 3),
        ("fromJSON('[1,]')", "'fromJSON' got text that is not valid JSON (at character 4: unexpected character ']')", 9, 6),
        ("timestamp(-1)", "'timestamp' needs a number of seconds of at least 0, got -1", 10, 2),
        ("timestamp(-0.5)", "'timestamp' needs a number of seconds of at least 0, got -0.5", 10, 4),
        ("timeLink('youtu.be/abc', 3)", "'timeLink' needs an absolute URL such as https://youtu.be/ID, got 'youtu.be/abc'", 9, 14),
        ("timeLink('https://youtu.be/a', -3)", "'timeLink' needs a number of seconds of at least 0, got -3", 31, 2),
        ("windows(10, 0)", "'windows' needs a window size above 0 and at most 366d (seconds, or a duration such as '10m'), got '0'", 12, 1),
        ("windows(100, 1e8)", "'windows' needs a window size above 0 and at most 366d (seconds, or a duration such as '10m'), got '100000000'", 13, 3),
        ("windows(-5, 10)", "'windows' needs a total of at least 0 seconds, got -5", 8, 2),
        ("windows(1e9, 1)", "'windows' would make 1000000000 windows; at most 10000 (choose a larger size)", 13, 1),
        ("windows(1e300, 1)", "'windows' would make too many windows; at most 10000 (choose a larger size)", 15, 1),
        ("format('{2}', 1)", "'format' uses {2} but has 1 value", 7, 5),
        ("format('{x}')", "'format' placeholders look like {0}; write '{{' for a brace", 7, 5),
        ("format('a } b')", "'format' found a lone '}'; write '}}' for a brace", 7, 7),
    ])
    func reportsRuntimeErrorsAtTheOffendingPart(source: String, message: String, offset: Int, length: Int) throws {
        #expect(try evaluationError(source) == ExpressionError(message, offset: offset, length: length))
    }

    @Test(arguments: ["item", "index"])
    func forEachNamesFailOutsideAForEach(name: String) throws {
        let error = try evaluationError("\(name) == 1", in: EvaluationScope())
        #expect(error == ExpressionError("'\(name)' is only available in the arguments of a step with for_each",
                                         offset: 0, length: name.count))
    }

    @Test func stepsRootMapsEachStepToItsOutputs() throws {
        let scope = EvaluationScope(steps: ["a": ["n": 1]])
        #expect(try evaluate("steps", in: scope) == ["a": ["outputs": ["n": 1]]])
        #expect(try evaluate("steps.a", in: scope) == ["outputs": ["n": 1]])
        #expect(try evaluate("steps.a.outputs.n", in: scope) == 1)
    }

    /// The parser's depth limit keeps trees shallow enough for the recursive evaluator and checker.
    @Test func evaluatesAndChecksTheDeepestTreeTheParserAccepts() throws {
        let source = Array(repeating: "inputs.nothing", count: 255).joined(separator: " || ")
        let expression = try ExpressionParser.parse(source)
        #expect(try expression.evaluate(in: ExpressionEvaluatorTests.scope) == .null)
        #expect(expression.check(in: TypeScope(inputs: ["nothing": .null])).errors == [])
        #expect(throws: ExpressionError.self) { try ExpressionParser.parse(source + " || x") }
    }

    @Test func envValuesAreStrings() throws {
        let scope = EvaluationScope(env: ["N": "3"])
        #expect(try evaluate("env.N", in: scope) == "3")
        #expect(try evaluate("env.N == 3", in: scope) == false)
        #expect(try evaluate("env", in: scope) == ["N": "3"])
    }
}
