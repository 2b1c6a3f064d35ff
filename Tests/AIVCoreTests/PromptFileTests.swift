import AIVTestSupport
import AIVCore
import Testing

@Suite struct PromptFileTests {
    func parse(_ text: String) -> (PromptFile?, [String]) {
        let (prompt, diagnostics) = PromptFile.parse(SourceFile(path: "p.prompt", text: text))
        return (prompt, lines(diagnostics))
    }

    static let analysis = """
        ---
        model: gemini-2.0-flash
        config:
          temperature: 0.2
          maxOutputTokens: 8192
        system: |
          You teach Japanese to {{audience}}.
        input:
          schema:
            chunk: string
            audience?: string
        output:
          format: json
          schema:
            type: object
            properties:
              items:
                type: array
                items:
                  type: object
                  properties:
                    japanese: {type: string}
                  required: [japanese]
            required: [items]
        ---
        Find expressions in this transcript:
        {{chunk}}
        {{#items}}{{japanese}}{{/items}}
        """

    @Test func readsFrontMatterAndTheVariablesTheBodyUses() throws {
        let (prompt, problems) = parse(Self.analysis)
        #expect(problems == ["28:4: error: prompt uses 'items', which its input schema does not declare"])
        #expect(prompt == nil)
        let (fixed, none) = parse(Self.analysis.replacingOccurrences(of: "{{#items}}{{japanese}}{{/items}}", with: ""))
        #expect(none == [])
        let file = try #require(fixed)
        #expect(file.model == "gemini-2.0-flash")
        #expect(file.config["temperature"] == 0.2)
        #expect(file.outputFormat == "json")
        #expect(file.declaredVariables?.map(\.name) == ["chunk", "audience"])
        #expect(file.declaredVariables?.map(\.isOptional) == [false, true])
        #expect(file.usedVariables.map(\.name) == ["chunk", "audience"])
        #expect(file.usedVariables.map(\.location.line) == [27, 7])
        #expect(file.body.hasPrefix("Find expressions"))
    }

    /// A prompt saved with Windows line ends reads as the same prompt, at the same lines.
    @Test func aFileWithCRLFLineEndsHasTheSameFrontMatterBodyAndProblems() throws {
        let crlf = Self.analysis.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(parse(crlf).1 == ["28:4: error: prompt uses 'items', which its input schema does not declare"])
        let fixed = crlf.replacingOccurrences(of: "{{#items}}{{japanese}}{{/items}}", with: "")
        let (prompt, none) = parse(fixed)
        #expect(none == [])
        let file = try #require(prompt)
        #expect(file.model == "gemini-2.0-flash")
        #expect(file.declaredVariables?.map(\.name) == ["chunk", "audience"])
        #expect(file.usedVariables.map(\.location.line) == [27, 7])
        #expect(file.body.hasPrefix("Find expressions") && !file.body.contains("---"))
        #expect(parse("---\r\nmodle: m\r\n---\r\nHi\r\n").1 == ["2:1: error: unknown field 'modle' in front matter; did you mean 'model'?"])
    }

    /// Each keyword's value is of the kind it takes: the schema Gemini gets is one it can use.
    @Test func checksTheValuesOfTheOutputSchemasKeywords() {
        let text = """
            ---
            output:
              schema:
                type: object
                required: items
                properties:
                  items: {type: array, minItems: -1, maxItems: lots, items: {type: string, pattern: "([a-", maxLength: abc}}
                  n: {anyOf: 5}
                  o: {type: integer, minimum: abc, nullable: maybe}
                  p: {type: string, minLength: 5, maxLength: 2}
                propertyOrdering: [items, q]
            ---
            Body
            """
        #expect(parse(text).1 == [
            "5:15: error: 'required' in schema must be a list of property names, not a string",
            "7:38: error: 'minItems' in schema.properties.items must be a whole number of 0 or more, not -1",
            "7:52: error: 'maxItems' in schema.properties.items must be a whole number of 0 or more, not \"lots\"",
            "7:89: error: 'pattern' in schema.properties.items.items is not a regular expression that compiles: '([a-'",
            "7:108: error: 'maxLength' in schema.properties.items.items must be a whole number of 0 or more, not \"abc\"",
            "8:18: error: 'anyOf' in schema.properties.n must be a list of schemas",
            "9:35: error: 'minimum' in schema.properties.o must be a number, not \"abc\"",
            "9:50: error: 'nullable' in schema.properties.o must be true or false, not \"maybe\"",
            "10:36: error: 'minLength' in schema.properties.p (5) is above 'maxLength' (2): no value could match",
            "11:31: error: 'propertyOrdering' in schema names 'q', which is not among its properties",
        ])
    }

    /// An `enum` no value could match (empty, or of another type than the schema's `type`) is
    /// an error: a model held to it could give nothing that passes.
    @Test func anEnumNoValueCouldMatchIsAnError() {
        let text = """
            ---
            output:
              schema:
                type: object
                properties:
                  a: {type: string, enum: []}
                  b: {type: string, enum: [N3, 2]}
                  c: {type: integer, enum: [1, 2.5], nullable: true}
                  d: {type: string, enum: [x, null], nullable: true}
            ---
            Body
            """
        #expect(parse(text).1 == [
            "6:31: error: 'enum' in schema.properties.a is empty: no value could match",
            "7:36: error: 'enum' in schema.properties.b holds 2, which is not a string as its 'type' says",
            "8:36: error: 'enum' in schema.properties.c holds 2.5, which is not an integer as its 'type' says",
        ])
    }

    @Test func reportsMustacheSyntaxErrorsAtTheirLineInTheFile() {
        let (_, problems) = parse("---\nmodel: m\n---\nHello\n{{#open}} never closed\n")
        #expect(problems.count == 1)
        #expect(problems[0].hasPrefix("5:") || problems[0].hasPrefix("6:"))
        #expect(problems[0].contains("template syntax"))
    }

    /// Syntax problems name the tag and point where it opens, not at the end of the text.
    @Test func templateSyntaxProblemsPointAtTheTagThatCausesThem() {
        #expect(parse("Hi\n{{bad\nmore\n").1 == ["2:1: error: template syntax: unclosed tag '{{'"])
        #expect(parse("a\n  {{#x}}\nb\nc\n").1 == ["2:3: error: template syntax: section 'x' is never closed"])
        #expect(parse("a {{/x}}\n").1 == ["1:3: error: template syntax: '{{/x}}' closes no open section"])
    }

    /// A section closed by the wrong name says where it was opened in the file, not in the body.
    @Test func aWronglyClosedSectionNamesWhereItOpenedInTheFile() {
        let problems = parse("---\nmodel: m\n---\nHello\n{{#items}}{{name}}{{/item}}\n").1
        #expect(problems == ["5:19: error: template syntax: '{{/item}}' closes section 'items' opened at 5:1"])
    }

    /// A variable's place is its name's, where the caret under it belongs: past `{{`, spaces and a sigil.
    @Test func aVariableIsPlacedAtItsNameInsideTheTag() throws {
        let prompt = try #require(parse("Hi {{ name }} {{#  list}}{{/list}} {{{raw}}} {{&amp}}").0)
        #expect(prompt.usedVariables.map(\.name) == ["name", "list", "raw", "amp"])
        #expect(prompt.usedVariables.map(\.location.column) == [7, 20, 39, 49])
    }

    /// Mustache in `system:` is placed where it is written in the front matter, whatever the
    /// value's style: plain, a `|` block, or double-quoted over two lines.
    @Test func variablesAndProblemsInTheSystemInstructionPointIntoTheFrontMatter() {
        func problems(_ front: String) -> [String] { parse("---\n\(front)\n---\nHi\n").1 }
        let declared = "input:\n  schema: {audience: string}\n"
        #expect(problems(declared + "system: You teach {{audiense}} now") ==
                ["4:21: error: prompt uses 'audiense', which its input schema does not declare; did you mean 'audience'?"])
        #expect(problems(declared + "system: |\n  You teach\n  Japanese to {{audiense}}") ==
                ["6:17: error: prompt uses 'audiense', which its input schema does not declare; did you mean 'audience'?"])
        #expect(problems(declared + "system: \"You teach\n  Japanese to {{audiense}}\"") ==
                ["5:17: error: prompt uses 'audiense', which its input schema does not declare; did you mean 'audience'?"])
        #expect(problems("system: You teach {{audience}} and {{chunk") == ["2:36: error: template syntax: unclosed tag '{{'"])
    }

    /// Generation settings are checked by the names and types of Gemini's `generationConfig`
    /// (snake_case allowed): a wrong type is an error, an unknown name a warning with the nearest.
    @Test func generationSettingsAreCheckedByNameAndType() {
        let problems = parse("---\nconfig:\n  temperature: hot\n  maxOutputToken: 100\n  max_output_tokens: 5\n  top_p: \"0.9\"\n  seed: \"1.5\"\n---\nHi\n").1
        #expect(problems == [
            "3:16: error: generation setting 'temperature' expected a number, got string 'hot'",
            "4:3: warning: 'maxOutputToken' is not a generation setting aiv knows (did you mean 'maxOutputTokens'?); Gemini refuses names it does not know",
            "7:9: error: generation setting 'seed' expected an integer, got string '1.5'",
        ])
    }

    /// aiv sends `output.schema` as responseJsonSchema, and Gemini refuses a request with two
    /// schemas: a schema in `config` as well is found when the prompt is read, not as a 400.
    @Test func aSchemaInConfigBesideTheOutputSchemaIsAnError() {
        let both = parse("---\nconfig:\n  temperature: 0\n  response_schema: {type: object}\noutput:\n  schema: {type: object}\n---\nHi\n").1
        #expect(both == ["4:3: error: 'response_schema' in config and 'output.schema' both give the answer's schema (aiv sends output.schema as responseJsonSchema, and Gemini refuses two); keep output.schema"])
        let twoInConfig = parse("---\nconfig:\n  responseSchema: {type: object}\n  responseJsonSchema: {type: object}\n---\nHi\n").1
        #expect(twoInConfig == ["4:3: error: 'responseSchema' and 'responseJsonSchema' both give the answer's schema, and Gemini refuses a request with both; keep one (or use output.schema)"])
        #expect(parse("---\nconfig:\n  responseSchema: {type: object}\n---\nHi\n").1 == [])
    }

    @Test func reportsAnUnclosedFrontMatter() {
        #expect(parse("---\nmodel: m\nHello\n").1 == ["1:1: error: front matter starts with '---' but has no closing '---' line"])
    }

    @Test func checksTheOutputSchema() {
        let text = """
            ---
            output:
              schema:
                type: objet
                properties:
                  items: {type: array}
                  name: {type: string, maxLenght: 3}
                required: [items, nme]
            ---
            Body
            """
        #expect(parse(text).1 == [
            "4:11: error: 'type' in schema must be one of object, array, string, number, integer, boolean, null; did you mean 'object'?",
            "6:14: error: schema.properties.items is an array but has no 'items' schema",
            "7:28: error: unknown JSON Schema keyword 'maxLenght' in schema.properties.name; did you mean 'maxLength'?",
            "8:23: error: 'required' in schema names 'nme', which is not among its properties; did you mean 'name'?",
        ])
    }

    @Test func refusesPartialsAndReportsUnknownFrontMatterFields() {
        #expect(parse("---\nmodle: x\n---\n{{> header}}\n").1 == [
            "2:1: error: unknown field 'modle' in front matter; did you mean 'model'?",
            "4:1: error: template syntax: partials and blocks are not supported: a prompt or template is one file, so write their text in place",
        ])
    }

    /// Each nested section renders once per item of the one around it: 40 levels over a list of
    /// two took hours. Eight are allowed; the ninth is refused where it opens.
    @Test func sectionsNestingDeeperThanEightAreRefused() {
        #expect(parse(String(repeating: "{{#l}}", count: 8) + "x" + String(repeating: "{{/l}}", count: 8)).1 == [])
        #expect(parse(String(repeating: "{{#l}}", count: 40) + "x" + String(repeating: "{{/l}}", count: 40)).1 == [
            "1:49: error: template syntax: sections nest more than 8 deep; each level renders once per item of the one around it, so a deeper template can take hours",
        ])
        // Inverted sections render once at most, so they do not count.
        #expect(parse(String(repeating: "{{^g}}", count: 12) + "x" + String(repeating: "{{/g}}", count: 12)).1 == [])
    }

    /// swift-mustache reads `{{\n name \n}}` as `name`: so does the check, and no message
    /// carries the line breaks.
    @Test func aTagWhoseNameIsOnItsOwnLineReadsAsThatName() throws {
        let (prompt, problems) = parse("{{\nd\n}} {{#\nitems\n}}x{{/items}}")
        #expect(problems == [])
        #expect(try #require(prompt).usedVariables.map(\.name) == ["d", "items"])
        #expect(try #require(prompt).usedVariables.map(\.location.line) == [2, 4])
    }

    /// swift-mustache's parser takes time growing with the square of the tag count (6 s for
    /// 20,000): more than 5,000 tags are refused at the first one over.
    @Test func moreThanFiveThousandTagsAreRefusedAtTheFirstOneOver() {
        #expect(parse(String(repeating: "{{a}}", count: 5_000)).1 == [])
        #expect(parse(String(repeating: "{{a}}", count: 20_000)).1 == [
            "1:25001: error: template syntax: more than 5000 tags; the template engine's time grows with the square of the tag count (split the text, or put repeated parts in a section over a list)",
        ])
    }

    @Test func bodyWithoutFrontMatterIsATemplate() throws {
        let (prompt, problems) = parse("Hi {{name}}, {{{raw}}} {{& amp}} {{! note}} {{user.name}}")
        #expect(problems == [])
        #expect(try #require(prompt).usedVariables.map(\.name) == ["name", "raw", "amp", "user"])
    }

    @Test func followsSetDelimiterTags() throws {
        let (prompt, problems) = parse("{{=<% %>=}}<% first %> {{not}} <%={{ }}=%>{{second}}")
        #expect(problems == [])
        #expect(try #require(prompt).usedVariables.map(\.name) == ["first", "second"])
    }
}

@Suite struct PromptCheckTests {
    func check(_ withBlock: String, prompt: String) -> [String] {
        let dir = TemporaryFolder()
        dir.write("prompts/p.prompt", prompt)
        let yaml = "name: t\nsteps:\n  - id: ask\n    uses: test.prompt\n    with:\n      prompt: prompts/p.prompt\n" + withBlock
        return diagnose(yaml, in: dir, registry: promptTestRegistry)
    }

    @Test func errorsWhenThePromptUsesAVariableTheStepDoesNotPass() {
        let problems = check("      vars: {chunk: x}\n", prompt: "{{chunk}} {{url}}")
        #expect(problems == ["7:13: error: prompt 'prompts/p.prompt' uses 'url', which step 'ask' does not pass in 'vars'"])
    }

    @Test func warnsWhenTheStepPassesAVariableThePromptNeverUses() {
        let problems = check("      vars: {chunk: x, extra: y}\n", prompt: "{{chunk}}")
        #expect(problems == ["7:24: warning: 'extra' is passed to prompt 'prompts/p.prompt', which never uses it"])
    }

    /// Declaring a variable in the input schema is not using it: a value the text never reads is
    /// still worth a warning (the line that read it was deleted, say).
    @Test func warnsWhenAPassedVariableIsDeclaredButTheTextNeverReadsIt() {
        let problems = check("      vars: {chunk: x, part: 2}\n", prompt: "---\ninput:\n  schema: {chunk: string, part: integer}\n---\n{{chunk}}")
        #expect(problems == ["7:24: warning: 'part' is passed to prompt 'prompts/p.prompt', which declares it but never uses it"])
    }

    @Test func optionalDeclaredVariablesNeedNotBePassed() {
        let problems = check("      vars: {chunk: x}\n", prompt: "---\ninput:\n  schema:\n    chunk: string\n    note?: string\n---\n{{chunk}}{{note}}")
        #expect(problems == [])
    }

    /// A prompt that declares its variables' types has the values passed to it checked against
    /// them: literals by their type, expressions by their static type; null counts as given, as
    /// when running.
    @Test func valuesOfAnotherTypeThanThePromptDeclaresAreErrors() {
        let prompt = "---\ninput:\n  schema:\n    n: integer, how many\n    tags: string[]\n    note?: string\n    any: any\n---\n{{n}}{{#tags}}{{.}}{{/tags}}{{note}}{{any}}"
        #expect(check("      vars: {n: 3, tags: [a, b], note: null, any: [1]}\n", prompt: prompt) == [])
        #expect(check("      vars: {n: null, tags: [], any: null}\n", prompt: prompt) == [])
        #expect(check("      vars: {n: three, tags: [a, 2], note: x, any: 1}\n", prompt: prompt) == [
            "7:17: error: argument 'vars.n' of test.prompt expected an integer or null, got string 'three'",
            "7:34: error: argument 'vars.tags[1]' of test.prompt expected a string, got number 2",
        ])
        #expect(check("      vars: {n: \"${{ 'x' }}\", tags: \"${{ 1 == 1 }}\", any: 1}\n", prompt: prompt) == [
            "7:17: error: argument 'vars.n' of test.prompt expects an integer or null, but ''x'' is a string",
            "7:37: error: argument 'vars.tags' of test.prompt expects a list of strings or null, but '1 == 1' is a boolean",
        ])
    }

    /// A problem that leaves the prompt's variables known (here its output schema) hides none of
    /// the step's own: what it does not pass, passes of the wrong type or passes in vain are all
    /// reported with it. A body that does not parse leaves them unknown: only its problem shows.
    @Test func aPromptsOwnProblemHidesNoProblemOfTheValuesPassedToIt() {
        let prompt = "---\ninput:\n  schema: {chunk: string, part: integer}\noutput:\n  schema: {type: objct}\n---\nHello {{chunk}} {{part}}"
        let problems = check("      vars: {part: three, extra: 1}\n", prompt: prompt)
        #expect(problems.count == 4, "\(problems)")
        #expect(problems.contains { $0.contains("error: prompt 'prompts/p.prompt' uses 'chunk', which step 'ask' does not pass in 'vars'") })
        #expect(problems.contains { $0.hasPrefix("7:20: error: argument 'vars.part' of test.prompt expected an integer or null, got string 'three'") })
        #expect(problems.contains { $0.hasPrefix("7:27: warning: 'extra' is passed to prompt 'prompts/p.prompt', which never uses it") })
        #expect(problems.contains { $0.hasPrefix("5:18: error: 'type' in schema must be one of object") })

        let unreadable = check("      vars: {part: three, extra: 1}\n", prompt: "Hello {{chunk")
        #expect(unreadable.count == 1 && unreadable[0].contains("unclosed tag"), "\(unreadable)")

        // A text that cannot be read leaves what it uses unknown (no value is missing or unused),
        // but its input schema still checks the values passed.
        let brokenBody = check("      vars: {part: three, extra: 1}\n", prompt: "---\ninput:\n  schema: {chunk: string, part: integer}\n---\nHello {{chunk} {{part}}")
        #expect(brokenBody.count == 2, "\(brokenBody)")
        #expect(brokenBody.contains { $0.contains("template syntax") })
        #expect(brokenBody.contains { $0.hasPrefix("7:20: error: argument 'vars.part' of test.prompt expected an integer or null, got string 'three'") })
    }

    @Test func reportsAMissingPromptFileAtTheArgument() {
        let dir = TemporaryFolder()
        let yaml = "name: t\nsteps:\n  - id: ask\n    uses: test.prompt\n    with:\n      prompt: prompts/nope.prompt\n"
        let problems = diagnose(yaml, in: dir, registry: promptTestRegistry)
        #expect(problems.count == 1)
        #expect(problems[0].hasPrefix("6:15: error: prompt file not found: 'prompts/nope.prompt'"))
    }

    /// A missing file whose folder holds one of a near name (US for UK spelling) gets it, as
    /// the user wrote the path.
    @Test func aMissingPromptFileGetsTheNearestNameInItsFolder() {
        let dir = TemporaryFolder()
        dir.write("prompts/analyse.prompt", "Hi")
        let yaml = "name: t\nsteps:\n  - id: ask\n    uses: test.prompt\n    with:\n      prompt: prompts/analyze.prompt\n"
        let problems = diagnose(yaml, in: dir, registry: promptTestRegistry)
        #expect(problems.count == 1)
        #expect(problems[0].hasPrefix("6:15: error: prompt file not found: 'prompts/analyze.prompt'"), "\(problems)")
        #expect(problems[0].contains("; did you mean 'prompts/analyse.prompt'?"), "\(problems)")
    }

    @Test func reportsProblemsInsideThePromptFileWithItsOwnPath() {
        let dir = TemporaryFolder()
        dir.write("prompts/p.prompt", "---\nmodel: [x]\n---\nHi")
        let yaml = "name: t\nsteps:\n  - id: ask\n    uses: test.prompt\n    with:\n      prompt: prompts/p.prompt\n"
        let (_, diagnostics) = checkWorkflow(yaml, in: dir, registry: promptTestRegistry)
        #expect(diagnostics.errors.count == 1)
        #expect(diagnostics.errors.first?.location?.file.hasSuffix("prompts/p.prompt") == true)
        #expect(diagnostics.errors.first?.location?.line == 2)
    }
}
