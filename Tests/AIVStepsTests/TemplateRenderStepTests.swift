import AIVCore
import AIVSteps
import Foundation
import Testing

@Suite struct TemplateRenderStepTests {
    /// Renders a template written into the workflow folder as `t.mustache`.
    func render(_ template: String, _ values: JSONValue, output: String? = nil, harness: StepHarness = StepHarness()) async throws -> JSONValue {
        harness.workflow.write("t.mustache", template)
        var arguments: [String: JSONValue] = ["template": "t.mustache", "values": values]
        if let output { arguments["output"] = .string(output) }
        return try await harness.outputs(TemplateRenderStep.self, arguments)
    }

    func failure(_ template: String, _ values: JSONValue, output: String? = nil, harness: StepHarness = StepHarness()) async throws -> String? {
        harness.workflow.write("t.mustache", template)
        var arguments: [String: JSONValue] = ["template": "t.mustache", "values": values]
        if let output { arguments["output"] = .string(output) }
        return try await harness.failure(TemplateRenderStep.self, arguments)
    }

    @Test(arguments: [
        ("hello", 5, 5), ("草", 2, 1), ("てぇてぇ — precious", 8 + 1 + 1 + 1 + 8, 15),
        ("see https://www.youtube.com/watch?v=aiv-sample-02&t=125s now", 4 + 23 + 4, 60),
        ("e\u{301}", 1, 1), ("👍", 2, 1), ("👨‍👩‍👧", 2, 1), ("…", 2, 1),
        // A link ends where ASCII ends, and before the punctuation that closes a sentence.
        ("https://youtu.be/abc。草", 23 + 4, 22), ("(https://youtu.be/abc).", 1 + 23 + 2, 23), ("HTTPS://YOUTU.BE/ABC", 23, 20),
        ("https://en.wikipedia.org/wiki/Kusa_(slang)", 23, 42), ("(see https://en.wikipedia.org/wiki/Kusa_(slang))", 5 + 23 + 1, 48),
        // Without a scheme: a generic domain is a link, a country's only with a path; an address is not.
        ("www.youtube.com", 23, 15), ("見て youtu.be/abc!", 5 + 23 + 1, 16), ("example.jp", 10, 10),
        ("me@example.com", 14, 14), ("foo_bar.com", 11, 11), ("#example.com", 12, 12), ("user＠example.com", 2 + 15, 16), ("a www.example-very-long-domain-name.com/path/to/something/long b", 2 + 23 + 2, 64),
    ])
    func postsAreCountedAsXAndAsCharacters(text: String, x: Int, characters: Int) async throws {
        let harness = StepHarness()
        harness.workflow.write("t.mustache", "{{text}}")
        let asX = try await harness.outputs(TemplateRenderStep.self, ["template": "t.mustache", "values": ["text": .string(text)], "count": "x"])
        #expect(asX["length"] == .int(x))
        let asCharacters = try await harness.outputs(TemplateRenderStep.self, ["template": "t.mustache", "values": ["text": .string(text)]])
        #expect(asCharacters["length"] == .int(characters))
    }

    @Test func aPostOverItsPlatformsLimitFailsSayingByHowMuch() async throws {
        let harness = StepHarness()
        harness.workflow.write("t.mustache", "{{title}} https://example.com/a-very-long-link-that-x-shortens")
        // 128 × 2 + a space + a link: exactly X's 280.
        let title = String(repeating: "草", count: 128)
        let fits = try await harness.outputs(TemplateRenderStep.self, ["template": "t.mustache", "values": ["title": .string(title)],
                                                                       "max_length": 280, "count": "x"])
        #expect(fits["length"] == 280)
        let message = try await harness.failure(TemplateRenderStep.self, ["template": "t.mustache", "values": ["title": .string(title + "草")],
                                                                          "max_length": 280, "count": "x"])
        #expect(message?.contains("the text is 282 characters as X counts them (a link 23, Japanese and emoji 2 each), 2 over max_length 280") == true)
    }

    @Test func aYouTubeDescriptionIsCountedInBytesOfUTF8() async throws {
        let harness = StepHarness()
        harness.workflow.write("t.mustache", "{{text}}")
        let text = "草 lol" + String(repeating: "あ", count: 1664)  // 3 + 4 + 1664 × 3 = 4999 bytes
        let fits = try await harness.outputs(TemplateRenderStep.self, ["template": "t.mustache", "values": ["text": .string(text)],
                                                                       "max_length": 5000, "count": "bytes"])
        #expect(fits["length"] == 4999)
        let message = try await harness.failure(TemplateRenderStep.self, ["template": "t.mustache", "values": ["text": .string(text + "草")],
                                                                          "max_length": 5000, "count": "bytes"])
        #expect(message?.contains("the text is 5002 bytes of UTF-8 (a Japanese character 3), 2 over max_length 5000") == true)
    }

    @Test func rendersPlainTextNeverHTMLEscaped() async throws {
        let outputs = try await render("{{quote}} | {{{quote}}} | {{&quote}}\n", ["quote": "Tom & Jerry's <b>\"best\"</b> > 1"])
        #expect(outputs["text"] == "Tom & Jerry's <b>\"best\"</b> > 1 | Tom & Jerry's <b>\"best\"</b> > 1 | Tom & Jerry's <b>\"best\"</b> > 1\n")
    }

    @Test func listsAndMappingsWrittenOutAreCanonicalJSONSoTheSameValuesRenderTheSameText() async throws {
        let values: JSONValue = ["items": [1, "two", ["k": "v"]], "obj": ["e": 5, "a": [1, 2], "b": .null, "d": 4, "c": 3]]
        let outputs = try await render("L={{items}} O={{obj}} {{#items}}[{{.}}]{{/items}} {{obj.a}} {{#obj}}{{c}}{{/obj}} {{count(items)}}", values)
        #expect(outputs["text"] == #"L=[1,"two",{"k":"v"}] O={"a":[1,2],"b":null,"c":3,"d":4,"e":5} [1][two][{"k":"v"}] [1,2] 3 3"#)
        // Sections over an empty list or mapping behave as before: an empty list is false.
        let empty = try await render("{{^items}}none{{/items}}{{#items}}x{{/items}}", ["items": []])
        #expect(empty["text"] == "none")
    }

    @Test func textInsideSectionsIsNotEscapedEither() async throws {
        let outputs = try await render("{{#items}}{{name}};{{/items}}", ["items": [["name": "a&b"], ["name": "<c>"]]])
        #expect(outputs["text"] == "a&b;<c>;")
    }

    @Test(arguments: [
        (JSONValue.int(3), "3"),
        (.double(2.0), "2"),
        (.double(1.5), "1.5"),
        (.double(-0.25), "-0.25"),
        (.int(-7), "-7"),
        (.bool(true), "true"),
        (.string("text"), "text"),
        (.null, ""),
    ])
    func valuesRenderAsExpressionsInterpolateThem(_ value: JSONValue, _ expected: String) async throws {
        let outputs = try await render("[{{v}}]", ["v": value])
        #expect(outputs["text"] == .string("[\(expected)]"))
        #expect(expected == value.interpolationText)
    }

    @Test(arguments: [
        (JSONValue.bool(true), "yes"),
        (.bool(false), "no"),
        (.null, "no"),
        (.array([]), "no"),
        (.array([1]), "yes"),
        (.object(["a": 1]), "yes"),
    ])
    func sectionsTestBooleansNullsAndLists(_ value: JSONValue, _ expected: String) async throws {
        let outputs = try await render("{{#flag}}yes{{/flag}}{{^flag}}no{{/flag}}", ["flag": value])
        #expect(outputs["text"] == .string(expected))
    }

    @Test func sectionsIterateListsOfMappingsWithNestedFields() async throws {
        let template = """
            {{#items}}
            - {{japanese}} ({{reading.kana}}) at {{timestamp}}
            {{/items}}
            {{count}} items
            """
        let values: JSONValue = [
            "items": [
                ["japanese": "やばい", "reading": ["kana": "やばい"], "timestamp": "9:37"],
                ["japanese": "お疲れ様", "reading": ["kana": "おつかれさま"], "timestamp": "23:56"],
            ],
            "count": 2,
        ]
        let outputs = try await render(template, values)
        #expect(outputs["text"] == "- やばい (やばい) at 9:37\n- お疲れ様 (おつかれさま) at 23:56\n2 items")
    }

    /// Mustache's rule, as the README says: a section shows for "" and 0, hides for null and
    /// false; the shipped YouTube description is given null for no chapters, and ends after the summary.
    @Test func aSectionShowsForEmptyTextAndHidesForNullSoTheDescriptionHasNoStrayLines() async throws {
        #expect(try await render("{{#x}}[{{x}}]{{/x}}|{{#n}}n={{n}}{{/n}}|{{^y}}none{{/y}}", ["x": "", "n": 0, "y": .null])["text"] == "[]|n=0|none")
        let harness = StepHarness()
        let outputs = try await harness.outputs(TemplateRenderStep.self, [
            "template": .string(packageRoot + "/templates/youtube-description.txt.mustache"),
            "values": ["summary": "要約です。", "chapters": .null],
        ])
        #expect(outputs["text"] == "要約です。\n")
    }

    @Test func theShippedReadingSheetRendersWithoutItsFrontMatter() async throws {
        let harness = StepHarness()
        let outputs = try await harness.outputs(TemplateRenderStep.self, [
            "template": .string(packageRoot + "/templates/reading-sheet.md.mustache"),
            "values": ["part": 0, "start": "0:05", "end": "9:55", "link": "https://example.com/watch?v=x&t=5s", "text": "[0:05] こんあおい～！"],
        ])
        #expect(outputs["text"] == """
            # Reading sheet, part 0 (0:05–9:55)

            Watch along: https://example.com/watch?v=x&t=5s

            Read each line aloud, then cover the Japanese and say it again from the English gloss you write in the margin.

            ```
            [0:05] こんあおい～！
            ```

            """)
        #expect(outputs["path"] == .null)
        #expect(harness.runFolder.files() == [])
    }

    @Test func aVariableTheTemplateUsesButValuesLacksIsAnErrorNamingIt() async throws {
        let template = "---\ndescription: x\n---\n# {{title}}\n{{body}}\n"
        #expect(try await failure(template, ["titel": "Hi", "body": "b"])
                == "template 't.mustache' uses 'title' (line 4), which 'values' does not give; did you mean 'titel'?")
        #expect(try await failure(template, [:])
                == "template 't.mustache' uses 'title' (line 4) and 'body' (line 5), which 'values' does not give")
    }

    /// What `aiv validate` checks for literals is checked for computed values when running.
    @Test func aValueOfAnotherTypeThanTheFrontMatterDeclaresIsAnError() async throws {
        let template = "---\ninput:\n  schema:\n    n: integer\n    tags: string[]\n---\n{{n}} {{#tags}}{{.}}{{/tags}}\n"
        #expect(try await failure(template, ["n": "three", "tags": ["a"]])
                == "template 't.mustache' declares 'n' as integer: expected an integer, got string 'three'")
        #expect(try await failure(template, ["n": 3, "tags": ["a", 2]])
                == "template 't.mustache' declares 'tags' as string[]: item 1: expected a string, got number 2")
    }

    @Test func aNullValueIsGivenAndOptionalDeclaredVariablesMayBeMissing() async throws {
        let template = """
            ---
            input:
              schema:
                name: string
                note?: string
                extra: any
            ---
            {{name}}{{#note}} ({{note}}){{/note}}|{{extra}}
            """
        #expect(try await render(template, ["name": "Aoi", "extra": nil])["text"] == "Aoi|")
        #expect(try await render(template, ["name": "Aoi", "note": "host", "extra": 1])["text"] == "Aoi (host)|1")
    }

    @Test func namesInsideSectionsAreFieldsOfTheItemsNotRequiredValues() async throws {
        #expect(try await render("{{#items}}{{name}}{{/items}}", ["items": [["name": "a"], ["name": "b"]]])["text"] == "ab")
    }

    @Test func aStandaloneTagOnTheFirstLineStillDisappearsWithItsLine() async throws {
        let outputs = try await render("{{#items}}\n- {{.}}\n{{/items}}\ndone\n", ["items": ["a", "b"]])
        #expect(outputs["text"] == "- a\n- b\ndone\n")
    }

    @Test func withOutputTheTextIsWrittenInTheRunFolder() async throws {
        let harness = StepHarness()
        let result = try await harness.run(TemplateRenderStep.self, {
            harness.workflow.write("sheet.mustache", "Part {{n}}: 日本語 & more\n")
            return ["template": "sheet.mustache", "values": ["n": 2], "output": "sheets/./part-2.md"]
        }())
        #expect(result.outputs == ["text": "Part 2: 日本語 & more\n", "path": "sheets/part-2.md", "bytes": 25, "length": 19])
        #expect(result.files == ["sheets/part-2.md"])
        #expect(harness.runFolder.read("sheets/part-2.md") == "Part 2: 日本語 & more\n")
        #expect(harness.runFolder.files() == ["sheets/part-2.md"])
    }

    @Test(arguments: [
        ("../outside.md", "output path must stay inside the run folder, but '../outside.md' leaves it through '..'"),
        ("/tmp/outside.md", "output path must be a path inside the run folder, not an absolute path ('/tmp/outside.md')"),
        ("_aiv/steps/x.md", "output path '_aiv/steps/x.md' is inside '_aiv/', which aiv keeps for itself"),
    ])
    func anOutputOutsideTheRunFolderIsRefused(_ output: String, _ message: String) async throws {
        let harness = StepHarness()
        #expect(try await failure("x", [:], output: output, harness: harness) == message)
        #expect(harness.runFolder.files() == [])
    }

    @Test func aMissingTemplateFileSaysWhereItLooked() async throws {
        let harness = StepHarness()
        let message = try await harness.failure(TemplateRenderStep.self, ["template": "nope.mustache", "values": [:]])
        #expect(message == "template file not found: 'nope.mustache' (looked for \(harness.workflow.path)/nope.mustache)")
    }

    @Test func aBrokenTemplateReportsItsDiagnostics() async throws {
        let harness = StepHarness()
        let message = try await failure("---\nmodel: m\n---\nHello\n{{#open}} never closed\n", [:], harness: harness)
        // At the section's opening tag, by name.
        #expect(message == "\(harness.workflow.path)/t.mustache:5:1: error: template syntax: section 'open' is never closed")
        let frontMatter = try await failure("---\nwhat: 1\n---\nHello\n", [:], harness: harness)
        #expect(frontMatter?.hasPrefix("\(harness.workflow.path)/t.mustache:2:1: error: unknown") == true)
    }
}
