import Testing
@testable import AIVCore

@Suite struct ExpressionTypeCheckerTests {
    static let chunk = Schema.object([
        Property("text", .string, ""), Property("start", .number, ""), Property("json", .any, ""),
    ])
    static let config = Schema.object([Property("lang", .string, ""), Property("depth", .integer, "")])
    static let item = Schema.object([Property("id", .integer, ""), Property("title", .string, "")])

    static let scope = TypeScope(
        inputs: [
            "topic": .string, "count": .integer, "cfg": config, "tags": .array(.string), "opts": .map(.string),
            "maybe": .anyOf([config, .null]), "anything": .any, "matrix": .array(.array(.integer)),
        ],
        steps: [
            "split": .init(kind: "transcript.split", outputs: .object([Property("chunks", .array(chunk), "")])),
            "load": .init(kind: "transcript.load", outputs: .object([
                Property("text", .string, ""),
                Property("segments", .array(.object([Property("start", .number, ""), Property("text", .string, "")])), ""),
            ])),
            "fetch-page": .init(kind: "http.get", outputs: .any),
        ])

    static let forEachScope: TypeScope = {
        var scope = ExpressionTypeCheckerTests.scope
        scope.item = ExpressionTypeCheckerTests.item
        scope.hasIndex = true
        return scope
    }()

    private func check(_ source: String, in scope: TypeScope = scope) throws -> (type: Schema, errors: [ExpressionError]) {
        try ExpressionParser.parse(source).check(in: scope)
    }

    static let typeCases: [(String, Schema)] = [
        ("inputs.topic", .string),
        ("inputs.count", .integer),
        ("inputs.tags[0]", .string),
        ("inputs.tags[inputs.count]", .string),
        ("inputs.cfg['lang']", .string),
        ("inputs.opts.anything", .string),
        ("inputs.opts[inputs.topic]", .string),
        ("inputs.maybe.lang", .string),
        ("inputs.anything.x[0][*].y", .array(.any)),
        ("inputs.matrix[*][0]", .array(.integer)),
        ("steps.split.outputs", .object([Property("chunks", .array(chunk), "")])),
        ("steps.split.outputs.chunks[*]", .array(chunk)),
        ("steps.split.outputs.chunks[*].text", .array(.string)),
        ("steps.split.outputs['chunks'][0].start", .number),
        ("steps.fetch-page.outputs.body.items[3]", .any),
        ("(steps.split.outputs.chunks[*].text)[0]", .string),
        ("env.HOME", .anyOf([.string, .null])),
        ("env.HOME || 'x'", .anyOf([.string, .null])),
        ("inputs.topic || 'x'", .string),
        ("inputs.count || 'x'", .anyOf([.integer, .string])),
        ("inputs.anything && 1", .any),
        ("inputs.topic == 'x'", .boolean),
        ("inputs.count < 3.5", .boolean),
        ("!inputs.topic", .boolean),
        ("'a'", .string), ("1", .integer), ("1.5", .number), ("true", .boolean), ("null", .null),
        ("length(inputs.tags)", .integer),
        ("join(inputs.tags, ', ')", .string),
        ("format('{0}', inputs.count)", .string),
        ("contains(inputs.tags, 'a')", .boolean),
        ("fromJSON(inputs.topic)", .any),
        ("flatten(inputs.matrix)", .array(.integer)),
        ("flatten(steps.split.outputs.chunks)", .array(chunk)),
        ("floor(inputs.count)", .integer),
        ("timestamp(steps.split.outputs.chunks[0].start)", .string),
        ("toJSON(inputs)", .string),
    ]

    @Test(arguments: ExpressionTypeCheckerTests.typeCases)
    func infersTypes(source: String, expected: Schema) throws {
        let (type, errors) = try check(source)
        #expect(errors == [])
        #expect(type == expected)
    }

    @Test(arguments: [
        ("item.title", Schema.string), ("item", item), ("index", .integer), ("inputs.tags[index]", .string),
    ])
    func forEachNamesHaveTheirTypesInsideAForEach(source: String, expected: Schema) throws {
        let (type, errors) = try check(source, in: ExpressionTypeCheckerTests.forEachScope)
        #expect(errors == [])
        #expect(type == expected)
    }

    @Test(arguments: [
        ("inptus.topic", "unknown name 'inptus'; expressions start with inputs, steps, env, item or index; did you mean 'inputs'?", 0, 6),
        ("foo == 1", "unknown name 'foo'; expressions start with inputs, steps, env, item or index", 0, 3),
        ("inputs.topc", "unknown input 'topc'; did you mean 'topic'?", 7, 4),
        ("inputs.zzz", "unknown input 'zzz'", 7, 3),
        ("inputs['topc']", "unknown input 'topc'; did you mean 'topic'?", 7, 6),
        ("steps.splt.outputs.chunks", "unknown step 'splt'; did you mean 'split'?", 6, 4),
        ("steps.split", "expected 'steps.split.outputs'", 0, 11),
        ("steps.split.output.chunks", "expected 'steps.split.outputs'", 0, 18),
        ("steps.split[0]", "expected 'steps.split.outputs'", 0, 11),
        ("steps.load.outputs.chunk", "step 'load' (transcript.load) has no output 'chunk'", 19, 5),
        ("steps.load.outputs.txt", "step 'load' (transcript.load) has no output 'txt'; did you mean 'text'?", 19, 3),
        ("inputs.cfg.lnag", "'inputs.cfg' has no field 'lnag'; did you mean 'lang'?", 11, 4),
        ("inputs.maybe.lnag", "'inputs.maybe' has no field 'lnag'; did you mean 'lang'?", 13, 4),
        ("steps.split.outputs.chunks[0].txet", "'steps.split.outputs.chunks[0]' has no field 'txet'; did you mean 'text'?", 30, 4),
        ("steps.load.outputs.segments[*].strat",
         "'steps.load.outputs.segments[*]' has no field 'strat'; did you mean 'start'?", 31, 5),
        ("steps.load.outputs.segments.start", "'steps.load.outputs.segments' is a list; use [index] or [*]", 28, 5),
        ("inputs.tags['a']", "a list index must be a number, got a string", 12, 3),
        ("inputs.matrix[*].x", "'inputs.matrix[*]' is a list; use [index] or [*]", 17, 1),
        ("inputs.topic.x", "'inputs.topic' is a string and has no field 'x'", 13, 1),
        ("env.HOME.x", "'env.HOME' is a string or null and has no field 'x'", 9, 1),
        ("inputs.topic[0]", "'inputs.topic' is a string and cannot be indexed", 0, 15),
        ("inputs.topic[*]", "'inputs.topic' is a string, not a list; [*] needs a list", 0, 12),
        ("inputs.tags[inputs.topic]", "a list index must be a number, got a string", 12, 12),
        ("inputs.opts[1]", "a mapping key must be a string, got a number", 12, 1),
        ("item.id", "'item' is only available in the arguments of a step with for_each", 0, 4),
        ("inputs.tags[index]", "'index' is only available in the arguments of a step with for_each", 12, 5),
        ("inputs.topic < inputs.count", "'<' needs two numbers or two strings, got a string and a number", 0, 27),
        ("true <= 1", "'<=' needs two numbers or two strings, got a boolean and a number", 0, 9),
        // Neither a string nor null orders against a number, so the pair fails whatever the value.
        ("env.HOME > 3", "'>' needs two numbers or two strings, got a string or null and a number", 0, 12),
        ("inputs.topic == 5", "'==' between a string and a number is always false: values of different types are never equal", 0, 17),
        ("'abc' != inputs.count", "'!=' between a string and a number is always true: values of different types are never equal", 0, 21),
        ("true == 'yes'", "'==' between a boolean and a string is always false: values of different types are never equal", 0, 13),
        ("inputs.tags > inputs.tags", "'>' needs two numbers or two strings, got a list and a list", 0, 25),
        // `inputs.tags == 'x'` meant `contains`: a list and a scalar are never equal.
        ("inputs.tags == 'x'", "'==' between a list and a string is always false: values of different types are never equal", 0, 18),
        ("inputs.tags != 1", "'!=' between a list and a number is always true: values of different types are never equal", 0, 16),
        ("[1] == 1", "'==' between a list and a number is always false: values of different types are never equal", 0, 8),
        ("lower(inputs.count)", "argument 1 of 'lower' must be a string or null, got an integer", 6, 12),
        ("timestamp(inputs.topic)", "argument 1 of 'timestamp' must be a number, got a string", 10, 12),
        ("length(true)", "argument 1 of 'length' must be a string or a list or a mapping or null, got a boolean", 7, 4),
        ("format('{1}', inputs.topic)", "'format' uses {1} but has 1 value", 7, 5),
    ])
    func reportsProblemsWithExactMessages(source: String, message: String, offset: Int, length: Int) throws {
        let (_, errors) = try check(source)
        #expect(errors == [ExpressionError(message, offset: offset, length: length)])
    }

    @Test func itemFieldsAreCheckedAgainstTheItemSchema() throws {
        let (type, errors) = try check("item.titel", in: ExpressionTypeCheckerTests.forEachScope)
        #expect(type == .any)
        #expect(errors == [ExpressionError("'item' has no field 'titel'; did you mean 'title'?", offset: 5, length: 5)])
    }

    @Test func collectsEveryProblemInSourceOrder() throws {
        let (_, errors) = try check("inputs.nope || steps.nope.outputs.x || item")
        #expect(errors.map(\.message) == [
            "unknown input 'nope'",
            "unknown step 'nope'",
            "'item' is only available in the arguments of a step with for_each",
        ])
        #expect(errors.map(\.offset) == [7, 21, 39])
    }

    @Test(arguments: [
        "inputs.anything < 1", "inputs.anything.x.y[0] == 2", "inputs.topic != null", "env.HOME == 'x'", "inputs.count == 1.5", "steps.fetch-page.outputs.deep.deeper",
        "env.HOME < 'm'", "inputs.maybe.depth > 1", "length(env.HOME) > 0", "contains(fromJSON(inputs.topic), 1)",
        "null.x", "null[0]", "inputs.opts.x",
    ])
    func unknownTypesAreLeftToTheRuntime(source: String) throws {
        #expect(try check(source).errors == [])
    }

    @Test func openMappingsAcceptAnyMember() throws {
        let (type, errors) = try check("inputs.opts.whatever")
        #expect(errors == [])
        #expect(type == .string)
    }

    @Test func referencesListEveryRootPathInSourceOrder() throws {
        let expression = try ExpressionParser.parse("inputs.list[inputs.i] == env.X && length(item.x) > index || fromJSON(steps.a.outputs.s).y")
        #expect(expression.references == [
            Reference(root: "inputs", path: [.member("list"), .dynamicIndex], offset: 0, length: 21),
            Reference(root: "inputs", path: [.member("i")], offset: 12, length: 8),
            Reference(root: "env", path: [.member("X")], offset: 25, length: 5),
            Reference(root: "item", path: [.member("x")], offset: 41, length: 6),
            Reference(root: "index", path: [], offset: 51, length: 5),
            Reference(root: "steps", path: [.member("a"), .member("outputs"), .member("s")], offset: 69, length: 17),
        ])
    }

    @Test(arguments: [
        ("steps.a.outputs[*].json.items", [PathComponent.member("a"), .member("outputs"), .wildcard, .member("json"), .member("items")]),
        ("x['a'][0][-1]", [.member("a"), .index(0), .index(-1)]),
        ("x[*][*].y", [.wildcard, .wildcard, .member("y")]),
        ("x[*][y]", [.wildcard, .dynamicIndex]),
        ("x", []),
    ])
    func referencesDescribeEachPathComponent(source: String, path: [PathComponent]) throws {
        let references = try ExpressionParser.parse(source).references
        #expect(references.first?.path == path)
        #expect(references.first?.length == source.count)
    }

    @Test func referencesIncludeUnknownRootsSoTheCallerCanReportThem() throws {
        let references = try ExpressionParser.parse("nope.x || 'lit'").references
        #expect(references == [Reference(root: "nope", path: [.member("x")], offset: 0, length: 6)])
    }

    @Test func referencesInsideProjectedIndexesAreFound() throws {
        let references = try ExpressionParser.parse("a[*][inputs.i].b").references
        #expect(references.map(\.root) == ["a", "inputs"])
        #expect(references[0].path == [.wildcard, .dynamicIndex, .member("b")])
    }
}
