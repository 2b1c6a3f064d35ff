import AIVTestSupport
import AIVCore
import Testing

@Suite struct WorkflowCheckerTests {
    /// A workflow whose steps are written out below a common header.
    func workflow(_ steps: String, inputs: String = "  url: string\n  clips: list\n") -> String {
        "name: t\ninputs:\n\(inputs)steps:\n" + steps
    }

    /// Over a list of mappings written in the workflow, `item` has the fields the items have:
    /// a misspelt one or a comparison of a number with a string is found before running, as
    /// over a step's output; a field only some items have may be read.
    @Test func itemFieldsOverALiteralListOfMappingsAreChecked() {
        let yaml = """
            name: t
            steps:
              - id: a
                uses: file.write
                for_each: [{name: x, n: 1}, {name: y, n: 2, note: z}]
                with: {path: "${{ item.nme }}.txt", content: "${{ item.n == '1' }} ${{ item.note }}"}
            """
        #expect(diagnose(yaml) == [
            "6:28: error: 'item' has no field 'nme'; did you mean 'name'?",
            "6:55: error: '==' between a number and a string is always false: values of different types are never equal",
        ])
    }

    @Test func suggestsTheNearestKindForAnUnknownOne() {
        let yaml = workflow("  - id: a\n    uses: file.wirte\n    with: {path: a.txt, content: x}\n")
        #expect(diagnose(yaml) == ["7:11: error: unknown step kind 'file.wirte'; did you mean 'file.write'?"])
    }

    /// A plural, or a dash for an underscore, is further than the edit limit from a short field
    /// name and as clearly meant.
    @Test func aPluralOrADashedFieldNameIsSuggestedItsSingular() {
        let yaml = workflow("  - {id: a, uses: file.write, retries: 3, max-parallel: 2, with: {path: a.txt, content: x}}\n")
        let found = diagnose(yaml)
        #expect(found.contains { $0.contains("unknown field 'retries'") && $0.contains("did you mean 'retry'?") }, "\(found)")
        #expect(found.contains { $0.contains("unknown field 'max-parallel'") && $0.contains("did you mean 'max_parallel'?") }, "\(found)")
    }

    /// Every problem is reported, but "did you mean" (a search of every step id) stops after the
    /// first 200, so thousands of unknown names cannot take minutes.
    @Test func suggestionsStopAfterTwoHundredProblemsButEveryProblemIsReported() {
        let steps = (0..<250).map { "  - {id: s\($0), uses: file.write, needs: [s\($0)x], with: {path: a\($0).txt, content: x}}\n" }.joined()
        let problems = diagnose(workflow(steps))
        #expect(problems.count == 250)
        #expect(problems.prefix(200).allSatisfy { $0.contains("did you mean") })
        #expect(problems.dropFirst(200).allSatisfy { $0.contains("needs unknown step") && !$0.contains("did you mean") })
    }

    /// A step copied without changing its id is still checked: its own mistakes are reported along
    /// with the duplicate id, and what it reads does not become an edge of the first step of that id.
    @Test func aStepWithADuplicateIdIsStillCheckedButAddsNothingToTheGraph() throws {
        let yaml = workflow("""
              - id: a
                uses: file.write
                with: {path: a.txt, content: x}
              - id: b
                uses: file.write
                with: {path: b.txt, content: x}
              - id: a
                uses: file.write
                with: {path: c.txt, content: "${{ steps.b.outputs.path }}", contnt: y}
            """.split(separator: "\n").map { "  " + $0 + "\n" }.joined())
        let (checked, diagnostics) = checkWorkflow(yaml)
        #expect(lines(diagnostics) == [
            "12:11: error: duplicate step id 'a'",
            "14:67: error: unknown argument 'contnt' for file.write; did you mean 'content'?; it takes path, content, format",
        ])
        let dependencies = try #require(checked?.dependencies["a"])
        #expect(dependencies.isEmpty)
    }

    /// A folder where a prompt, a template or an input file belongs is said at the step's value,
    /// once for each step, in the words of the argument (a template is not called a prompt).
    @Test func aFolderGivenForAFileIsAnErrorAtTheValue() {
        let folder = TemporaryFolder()
        folder.write("p/keep.txt", "")
        let yaml = workflow("""
              - {id: a, uses: template.render, with: {template: p/, values: {}, output: x.md}}
              - {id: b, uses: template.render, with: {template: p, values: {}, output: y.md}}
              - {id: c, uses: transcript.load, with: {path: p}}
            """.split(separator: "\n").map { "  " + $0 + "\n" }.joined())
        #expect(diagnose(yaml, in: folder) == [
            "6:55: error: template 'p/' is a folder, not a file (\(folder.path)/p)",
            "7:55: error: template 'p' is a folder, not a file (\(folder.path)/p)",
            "8:51: error: 'p' is a folder, not a file (\(folder.path)/p)",
        ])
    }

    /// A filter's `where` is evaluated per item by the step: written in `${{ }}`, it is told so,
    /// with the condition as it should be written.
    @Test func anItemExpressionWrittenInsideTheMarkerIsToldToDropIt() {
        let yaml = workflow(#"  - {id: f, uses: list.filter, with: {items: "${{ inputs.clips }}", where: "${{ item.a > 1 }}"}}\#n"#)
        #expect(diagnose(yaml) == ["6:76: error: argument 'where' is evaluated for each item, so it is written without '${{ }}': where: \"item.a > 1\""])
    }

    /// A Gemini step's `result` has the shape of its prompt's output schema: a misspelt field of
    /// the reply, read through the step's outputs or as a later step's items, is an error before
    /// anything runs. A text reply is a string; an expression for the prompt, any value.
    @Test func fieldsOfAGeminiReplyAreCheckedAgainstThePromptsOutputSchema() {
        let folder = TemporaryFolder()
        folder.write("ask.prompt", """
            ---
            output:
              schema:
                type: object
                properties:
                  items:
                    type: array
                    items: {type: object, properties: {expression: {type: string}, level: {type: integer}}}
            ---
            Find expressions.
            """)
        folder.write("plain.prompt", "---\noutput: {format: text}\n---\nSay hi.\n")
        let yaml = workflow("""
              - {id: ask, uses: gemini.generate, with: {prompt: ask.prompt, values: {}}}
              - {id: plain, uses: gemini.generate, with: {prompt: plain.prompt, values: {}}}
              - id: post
                uses: file.write
                for_each: ${{ steps.ask.outputs.result.itmes }}
                with: {path: "${{ index }}.txt", content: "${{ steps.plain.outputs.result.x }}"}
              - id: items
                uses: file.write
                for_each: ${{ steps.ask.outputs.result.items }}
                with: {path: "f${{ index }}.txt", content: "${{ item.expresion }} ${{ item.expression }} ${{ item.level > 2 }}"}
            """.split(separator: "\n").map { "  " + $0 + "\n" }.joined())
        #expect(diagnose(yaml, in: folder) == [
            "10:46: error: 'steps.ask.outputs.result' has no field 'itmes'; did you mean 'items'?",
            "11:81: error: 'steps.plain.outputs.result' is a string and has no field 'x'",
            "15:60: error: 'item' has no field 'expresion'; did you mean 'expression'?",
        ])
    }

    /// One `${{ }}` that does not parse hides neither the string's other expressions nor their problems.
    @Test func aSyntaxErrorInOneExpressionStillLetsTheOthersInTheStringBeChecked() {
        let yaml = workflow(#"  - {id: a, uses: file.write, with: {path: a.txt, content: "${{ inputs.zz }} ${{ 1 +}} ${{ inputs.yy }} ${{ ) }}"}}\#n"#)
        #expect(diagnose(yaml) == [
            "6:72: error: unknown input 'zz'",
            "6:84: error: unexpected character '+'",
            "6:99: error: unknown input 'yy'",
            "6:109: error: expected an expression, found ')'",
        ])
    }

    /// A kind's own checks of what the workflow writes out: a clip's times and container are
    /// reported before running; values computed by expressions wait for the run.
    @Test func aClipThatCannotBeCutIsReportedBeforeRunning() {
        let folder = TemporaryFolder()
        folder.write("rec.mp4", "not a real recording")
        let yaml = """
            name: t
            steps:
              - id: a
                uses: clip.cut
                with: {input: rec.mp4, start: "1:05", end: 30, output: a.mp5}
              - id: b
                uses: clip.cut
                with: {input: rec.mp4, start: "1:75", output: b.mp4}
              - id: c
                uses: clip.cut
                for_each: [1, 2]
                with: {input: rec.mp4, start: "${{ item }}", end: 5, output: "c${{ index }}.mkv"}
              - id: d
                uses: clip.cut
                with: {input: rec.mp4, start: 99999999999999999999, end: 3, output: d.mp4}
              - id: e
                uses: clip.cut
                for_each: [1, 2]
                with: {input: rec.mp4, start: 1, output: "clips/${{ index }}.mp5"}
              - id: f
                uses: clip.cut
                with: {input: rec.mp4, start: 1, output: f.mp4, min_length: 1m, max_length: 15s}
              - id: g
                uses: clip.cut
                with: {input: rec.mp4, start: 1, output: g.mp4, min_length: 0, max_length: "${{ 60 }}"}
              - id: h
                uses: clip.cut
                with: {input: rec.mp4, start: 1, output: h.mp4, max_length: abc}

            """
        #expect(diagnose(yaml, in: folder) == [
            "5:48: error: argument 'end' of clip.cut must come after start (1:05), not 0:30",
            "5:60: error: argument 'output' of clip.cut names a '.mp5' file; aiv writes aac, m4a, m4v, mka, mkv, mov, mp4, ts; did you mean 'mp4'?",
            "8:35: error: argument 'start' of clip.cut must be seconds (0 to 10000000) or HH:MM:SS.mmm, not \"1:75\"",
            "15:35: error: argument 'start' of clip.cut must be seconds (0 to 10000000) or HH:MM:SS.mmm, not 1e+20",
            "19:46: error: argument 'output' of clip.cut names a '.mp5' file; aiv writes aac, m4a, m4v, mka, mkv, mov, mp4, ts; did you mean 'mp4'?",
            "22:81: error: argument 'max_length' of clip.cut must not be shorter than min_length (1:00), not 0:15",
            "25:65: error: argument 'min_length' of clip.cut must be a length of more than 0 seconds (15, \"15s\", \"1m\"), not 0",
            "28:65: error: argument 'max_length' of clip.cut must be a length of more than 0 seconds (15, \"15s\", \"1m\"), not \"abc\"",
        ])
    }

    /// A list step hands on the shape of the list it is given, so a misspelt field of an item is
    /// found in a filter's condition and in any later step, through merges and sorts.
    @Test func aListStepsItemsKeepTheShapeOfTheListItIsGiven() {
        let folder = TemporaryFolder()
        folder.write("t.srt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n")
        let yaml = """
            name: t
            inputs: {url: {type: string}, extra: {type: list, default: []}}
            steps:
              - {id: t, uses: transcript.load, with: {path: t.srt}}
              - {id: q, uses: list.filter, with: {items: "${{ steps.t.outputs.segments }}", where: "contains(item.txt, '?')"}}
              - {id: s, uses: list.sort, for_each: [1, 2], with: {items: "${{ steps.q.outputs.items }}", by: start}}
              - {id: m, uses: list.merge, with: {lists: "${{ steps.s.outputs[*].items }}"}}
              - {id: d, uses: list.dedupe, with: {items: "${{ steps.m.outputs.items }}", key: text}}
              - {id: w, uses: file.write, with: {path: a.txt, content: "${{ steps.d.outputs.items[0].strat }}"}}
              - {id: n, uses: list.filter, with: {items: "${{ steps.d.outputs.items }}", where: "item.start == 'one'"}}
              - {id: any, uses: list.filter, with: {items: [{x: 1}], where: "item.y"}}
              - {id: map, uses: list.map, with: {items: "${{ steps.d.outputs.items }}", set: {link: "timeLink(inputs.url, item.begin)", n: "${{ index }}"}}}
              - {id: map2, uses: list.map, with: {items: [], set: "item.x"}}
              - {id: after, uses: file.write, with: {path: b.txt, content: "${{ steps.map.outputs.items[0].link }} ${{ steps.map.outputs.items[0].lnk }}"}}
              - {id: gathered, uses: list.dedupe, with: {items: "${{ steps.t.outputs.segments }}", key: text, collect: [start]}}
              - {id: joined, uses: list.filter, with: {items: "${{ steps.gathered.outputs.items }}", where: "length(item.start) > 1 && item.text != ''"}}
              - {id: either, uses: list.filter, with: {items: "${{ steps.t.outputs.segments || inputs.extra }}", where: "item.word != 'x'"}}

            """
        #expect(diagnose(yaml, in: folder) == [
            "5:103: error: 'item' has no field 'txt'; did you mean 'text'?",
            "9:90: error: 'steps.d.outputs.items[0]' has no field 'strat'; did you mean 'start'?",
            "10:86: error: '==' between a number and a string is always false: values of different types are never equal",
            "12:116: error: 'item' has no field 'begin'",
            "12:128: error: argument 'set.n' is evaluated for each item, so it is written without '${{ }}': n: \"index\"",
            "13:55: error: argument 'set' must be a mapping of field to expression, such as {link: \"timeLink(inputs.url, item.start)\"}, not a string",
            "14:135: error: 'steps.map.outputs.items[0]' has no field 'lnk'; did you mean 'link'?",
        ])
    }

    /// A for_each over the outputs of a step under optional_needs is null when that step is
    /// skipped: a warning, unless the list has a fallback or is made by a function.
    @Test func aForEachOverAnOptionalNeedWithoutAFallbackIsAWarning() {
        let yaml = workflow("""
              - {id: a, uses: list.filter, if: "${{ inputs.url == '' }}", with: {items: [1, 2], where: "item > 1"}}
              - {id: b, uses: file.write, optional_needs: [a], for_each: "${{ steps.a.outputs.items }}", with: {path: "f${{ index }}.txt", content: x}}
              - {id: c, uses: file.write, optional_needs: [a], for_each: "${{ steps.a.outputs.items || [] }}", with: {path: "g${{ index }}.txt", content: x}}
              - {id: d, uses: file.write, for_each: "${{ steps.a.outputs.items }}", with: {path: "h${{ index }}.txt", content: x}}
              - {id: e, uses: file.write, optional_needs: [a], for_each: "${{ windows(steps.a.outputs.count || 0, 60) }}", with: {path: "i${{ index }}.txt", content: x}}

            """)
        #expect(diagnose(yaml) == [
            "7:62: warning: step 'b' runs even if 'a' is skipped, when its for_each is null and fails the run; write '|| []' inside the ${{ }} to run no items then",
        ])
    }

    /// list.merge given its lists one by one, as a YAML list, keeps their element shape when
    /// they share one; lists of other shapes, or a literal among them, leave it unknown.
    @Test func aMergeOfListsWrittenOneByOneKeepsTheirSharedElementShape() {
        let folder = TemporaryFolder()
        folder.write("a.srt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n")
        folder.write("b.srt", "1\n00:00:03,000 --> 00:00:04,000\nyo\n")
        let yaml = """
            name: t
            steps:
              - {id: a, uses: transcript.load, with: {path: a.srt}}
              - {id: b, uses: transcript.load, with: {path: b.srt}}
              - {id: both, uses: list.merge, with: {lists: ["${{ steps.a.outputs.segments }}", "${{ steps.b.outputs.segments }}"]}}
              - {id: q, uses: list.filter, with: {items: "${{ steps.both.outputs.items }}", where: "item.txt != ''"}}
              - {id: mixed, uses: list.merge, with: {lists: ["${{ steps.a.outputs.segments }}", "${{ steps.a.outputs.chunks }}"]}}
              - {id: r, uses: list.filter, with: {items: "${{ steps.mixed.outputs.items }}", where: "item.txt != ''"}}
              - {id: literal, uses: list.merge, with: {lists: ["${{ steps.a.outputs.segments }}", [{txt: x}]]}}
              - {id: s, uses: list.filter, with: {items: "${{ steps.literal.outputs.items }}", where: "item.txt != ''"}}

            """
        #expect(diagnose(yaml, in: folder) == [
            "6:94: error: 'item' has no field 'txt'; did you mean 'text'?",
        ])
    }

    /// The subtitle format follows the output's extension, which is known before running when it
    /// is written out, even after an expression; an extension an expression gives waits for the run.
    @Test func aSubtitleOutputThatIsNeitherSRTNorWebVTTIsReportedBeforeRunning() {
        let folder = TemporaryFolder()
        folder.write("rec.mkv", "not a real recording")
        let yaml = """
            name: t
            steps:
              - {id: a, uses: subtitles.extract, with: {input: rec.mkv, output: captions.txt}}
              - {id: b, uses: subtitles.extract, with: {input: rec.mkv, output: captions}}
              - {id: c, uses: subtitles.extract, for_each: [jpn, eng], with: {input: rec.mkv, language: "${{ item }}", output: "subs/${{ item }}.svt"}}
              - {id: d, uses: subtitles.extract, for_each: [srt, vtt], with: {input: rec.mkv, output: "subs/all.${{ item }}"}}
              - {id: e, uses: subtitles.extract, for_each: [jpn], with: {input: rec.mkv, output: "subs/${{ item }}.vtt"}}

            """
        #expect(diagnose(yaml, in: folder) == [
            "3:69: error: argument 'output' of subtitles.extract must end in .srt or .vtt, not '.txt'",
            "4:69: error: argument 'output' of subtitles.extract must end in .srt or .vtt (it has no extension)",
            "5:116: error: argument 'output' of subtitles.extract must end in .srt or .vtt, not '.svt'; did you mean 'srt'?",
        ])
    }

    /// A misspelt obs-websocket request is a warning with the likely name (a newer OBS may know
    /// requests aiv's list does not, so it is never an error); a batch item is checked whatever its data.
    @Test func anUnknownOBSRequestIsAWarningWithTheNearestName() {
        let yaml = """
            name: t
            steps:
              - id: a
                uses: obs.request
                with: {request: SetCurrentProgramScen, data: {sceneName: Main}}
              - id: b
                uses: obs.batch
                for_each: [x]
                with:
                  requests:
                    - {request: GetVersion}
                    - {request: SetInputSetings, data: {inputName: T, inputSettings: {text: "${{ item }}"}}}
                    - {request: "${{ item }}"}
                    - {reqest: GetStats}

            """
        #expect(diagnose(yaml) == [
            "5:21: warning: argument 'request' of obs.request names 'SetCurrentProgramScen', which is not an obs-websocket 5 request; did you mean 'SetCurrentProgramScene'? (a request of a newer OBS is sent as written)",
            "12:21: warning: argument 'requests[1].request' of obs.batch names 'SetInputSetings', which is not an obs-websocket 5 request; did you mean 'SetInputSettings'? (a request of a newer OBS is sent as written)",
            "14:11: error: argument 'requests[3]' of obs.batch is missing 'request' (a string)",
            "14:12: error: unknown field 'reqest' in argument 'requests[3]' of obs.batch; did you mean 'request'?; it takes request, data",
        ])
    }

    @Test func aNegativeDurationIsAnError() {
        let yaml = workflow("  - {id: a, uses: transcript.load, with: {path: t.srt, overlap: -5}}\n")
        #expect(diagnose(yaml).contains("6:65: error: argument 'overlap' must be a duration of 0 or more, not -5"))
    }

    @Test func aNegativeDurationWrittenAsTextIsAnErrorToo() {
        let yaml = workflow("  - {id: a, uses: transcript.load, with: {path: t.srt, overlap: '-5'}}\n")
        #expect(diagnose(yaml).contains("6:65: error: argument 'overlap' must be a duration of 0 or more, not '-5'"))
    }

    /// JSON has no infinity or NaN: written in an argument or a list's default, such a number
    /// would read as itself to expressions and as null to a file and the cache key.
    @Test func aNumberJSONCannotHoldIsAnErrorWhereItIsWritten() {
        let yaml = workflow("  - {id: a, uses: file.write, with: {path: a.json, content: {x: [1, .inf], y: .nan}}}\n"
                            + "  - {id: b, uses: file.write, with: {path: b.json, content: 1e400}}\n"
                            + "  - {id: c, uses: file.write, with: {path: c.json, content: {x: '.inf', y: 1e300}}}\n",
                            inputs: "  l: {type: list, default: [1, -.inf]}\n")
        #expect(diagnose(yaml) == [
            "3:28: error: default of input 'l' holds minus infinity, which JSON, and so aiv, has no number for",
            "5:69: error: argument 'content' holds infinity, which JSON, and so aiv, has no number for; quote it to mean the text",
            "6:61: error: argument 'content' holds infinity, which JSON, and so aiv, has no number for; quote it to mean the text",
        ])
    }

    @Test func aTimeoutOfZeroIsReportedAtItsValue() {
        let yaml = workflow("  - id: a\n    uses: file.write\n    timeout: 0\n    with: {path: a.txt, content: x}\n")
        #expect(diagnose(yaml) == ["8:14: error: 'timeout' of step 'a' must be longer than zero"])
    }

    @Test func numbersNoSettingCanMeanAreErrorsBeforeTheRun() {
        let yaml = "name: t\nservices:\n  gemini:\n    limits: {requests_per_day: 1e30, requests_per_minute: .nan}\n"
            + "    retry: {attempts: 1e30, delay: '-1s'}\n    timeout: abc\nsteps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n"
        #expect(diagnose(yaml) == [
            "4:32: error: 'services.gemini.limits.requests_per_day' expected an integer less than 10^15 in size, got 1e+30",
            "4:59: error: 'services.gemini.limits.requests_per_minute' expected a number (a finite one), got nan",
            "5:23: error: 'services.gemini.retry.attempts' expected an integer less than 10^15 in size, got 1e+30",
            "5:36: error: 'services.gemini.retry.delay' must be a duration from 0 to a year, such as 30, \"90s\" or \"1h30m\", not '-1s'",
            "6:14: error: 'services.gemini.timeout' must be a duration from 0 to a year, such as 30, \"90s\" or \"1h30m\", not 'abc'",
        ])
    }

    @Test func aServiceLimitThatWouldWaitForEverIsAnErrorBeforeTheRun() {
        let yaml = "name: t\nservices:\n  gemini:\n    limits: {requests_per_minute: 0}\n    retry: {attempts: 0}\n    timeout: 0\n"
            + "  notion:\n    limits: {requests_per_second: -3}\nsteps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n"
        #expect(diagnose(yaml) == [
            "4:35: error: 'services.gemini.limits.requests_per_minute' must be more than 0, not 0",
            "5:23: error: 'services.gemini.retry.attempts' must be at least 1, not 0",
            "6:14: error: 'services.gemini.timeout' must be more than 0 seconds, not 0",
            "8:35: error: 'services.notion.limits.requests_per_second' must be more than 0, not -3",
        ])
    }

    /// A service's `retry: 3` is its tries in all, as a step's is; the mapping keeps its checks.
    @Test func aServiceRetryMayBeANumberOfTriesOrAMappingCheckedAsBefore() {
        let steps = "steps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n"
        #expect(diagnose("name: t\nservices:\n  gemini:\n    retry: 3\n" + steps) == [])
        #expect(diagnose("name: t\nservices:\n  gemini:\n    retry: 0\n  notion:\n    retry: {attemps: 2, delay: -1}\n" + steps) == [
            "4:12: error: 'services.gemini.retry' must be at least 1, not 0",
            "6:13: error: unknown field 'attemps' in 'services.notion.retry'; did you mean 'attempts'?; it takes attempts, delay, max_delay",
            "6:32: error: 'services.notion.retry.delay' must be a duration from 0 to a year, such as 30, \"90s\" or \"1h30m\", not -1",
        ])
    }

    /// Arguments that name a field of the elements (a key, a sort field, a chapter title) are
    /// checked against the elements' known fields, and stock.merge hands the items' fields on.
    @Test func fieldsNamedByArgumentsAndReadAfterTheStockAreCheckedAgainstTheItems() {
        let folder = TemporaryFolder()
        folder.write("t.srt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n")
        let yaml = workflow("""
              - {id: t, uses: transcript.load, with: {path: t.srt}}
              - {id: sorted, uses: list.sort, with: {items: "${{ steps.t.outputs.segments }}", by: strat}}
              - {id: unique, uses: list.dedupe, with: {items: "${{ steps.t.outputs.segments }}", key: text, collect: [start, txt]}}
              - {id: chapters, uses: video.chapters, with: {items: "${{ steps.t.outputs.segments }}", title: text, short_title: txt}}
              - {id: stock, uses: stock.merge, with: {items: "${{ steps.t.outputs.segments }}", key: text, source: s}}
              - {id: use, uses: file.write, with: {path: a.txt, content: "${{ steps.stock.outputs.entries[0].txt }} ${{ steps.stock.outputs.new[0].times_seen }}"}}
              - {id: first_seen, uses: list.sort, with: {items: "${{ steps.stock.outputs.entries }}", by: sources.0}}

            """)
        #expect(diagnose(yaml, in: folder) == [
            "7:88: error: argument 'by' names field 'strat', which the items of step 'sorted' do not have; did you mean 'start'?; they have index, start, end, speaker, text",
            "8:114: error: argument 'collect' names field 'txt', which the items of step 'unique' do not have; did you mean 'text'?; they have index, start, end, speaker, text",
            "9:117: error: argument 'short_title' names field 'txt', which the items of step 'chapters' do not have; did you mean 'text'?; they have index, start, end, speaker, text",
            "11:98: error: 'steps.stock.outputs.entries[0]' has no field 'txt'; did you mean 'text'?",
        ])
    }

    @Test func itemInTheIfOfAForEachStepIsToldToFilterTheListFirst() {
        let yaml = workflow("  - {id: a, uses: file.write, for_each: [1, 2], if: item > 1, with: {path: a.txt, content: x}}\n")
            .replacingOccurrences(of: "path: a.txt", with: "path: \"a${{ item }}.txt\"")
        #expect(diagnose(yaml) == [
            "6:53: error: 'if' is evaluated once for the whole step, before its items, so it cannot read 'item'; to leave some items out, filter the list first (a list.filter step with where:)",
        ])
    }

    /// A name read inside a section is looked up as Mustache would: the item's fields, then the
    /// sections around it, then the values passed. Only when all of those are known and none
    /// has it is it an error; an inverted section pushes nothing, an open shape stops the check.
    @Test func namesReadInsideSectionsAreLookedUpInTheItemsThenTheValues() {
        let folder = TemporaryFolder()
        folder.write("t.srt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n")
        folder.write("list.mustache", """
            {{#lines}}{{start}} {{txt}} ({{title}}){{#tags}}{{.}}{{/tags}}{{/lines}}
            {{^lines}}{{nothing}}{{/lines}}
            {{#loose}}{{whatever}}{{/loose}}
            """)
        let yaml = workflow("""
              - {id: t, uses: transcript.load, with: {path: t.srt}}
              - id: r
                uses: template.render
                with:
                  template: list.mustache
                  values: {lines: "${{ steps.t.outputs.segments }}", title: x, tags: [a], nothing: "", loose: "${{ inputs.clips }}"}

            """)
        #expect(diagnose(yaml, in: folder) == [
            "11:15: error: template 'list.mustache' uses 'txt' inside section 'lines', where neither its items nor the values step 'r' passes in 'values' have it; did you mean 'text'?",
        ])
    }

    /// A list written out in the workflow has a known shape too: the fields of its mappings.
    @Test func namesInsideASectionOverAListWrittenOutAreCheckedAgainstItsFields() {
        let folder = TemporaryFolder()
        folder.write("rows.mustache", "{{#rows}}{{japanese}} {{englsh}} {{note}}{{/rows}}{{#meta}}{{autor}}{{/meta}}")
        let yaml = workflow("""
              - id: r
                uses: template.render
                with:
                  template: rows.mustache
                  values:
                    rows: [{japanese: 草, english: lol}, {japanese: 尊い, english: precious, note: "${{ inputs.clips }}"}]
                    meta: {author: me}

            """)
        #expect(diagnose(yaml, in: folder) == [
            "11:9: error: template 'rows.mustache' uses 'autor' inside section 'meta', where neither its items nor the values step 'r' passes in 'values' have it; did you mean 'author'?",
            "11:9: error: template 'rows.mustache' uses 'englsh' inside section 'rows', where neither its items nor the values step 'r' passes in 'values' have it; did you mean 'english'?",
        ])
    }

    /// Items that are mappings of no declared fields (`items: {type: object}` in a reply's
    /// schema) may hold any name: nothing read inside their section is an error.
    @Test func namesInsideASectionOverMappingsOfUnknownFieldsAreNotErrors() {
        let folder = TemporaryFolder()
        folder.write("words.prompt", "---\noutput:\n  schema:\n    type: object\n    properties: {words: {type: array, items: {type: object}}}\n---\nList words.\n")
        folder.write("words.mustache", "{{#words}}{{word}} {{meaning}}{{/words}}")
        let yaml = workflow("""
              - {id: g, uses: gemini.generate, with: {prompt: words.prompt}}
              - {id: r, uses: template.render, with: {template: words.mustache, values: {words: "${{ steps.g.outputs.result.words }}"}}}

            """)
        #expect(diagnose(yaml, in: folder) == [])
    }

    /// A path has one writer in a run: literal paths that two writers share are found before
    /// running, as an error when the clash is certain and a warning when a skip could avoid it.
    @Test func literalOutputPathsWrittenTwiceAreFoundBeforeRunning() {
        let yaml = workflow("""
              - {id: a, uses: file.write, with: {path: out/a.txt, content: x}}
              - {id: b, uses: file.write, with: {path: out/./a.txt, content: y}}
              - {id: c, uses: file.write, for_each: [1, 2, 2], with: {path: c.txt, content: "${{ item }}"}}
              - {id: d, uses: file.write, if: inputs.url == 'x', with: {path: c.txt, content: z}}
              - {id: e, uses: file.write, for_each: [1, 2], with: {path: "e-${{ item }}.txt", content: z}}
              - {id: f, uses: file.write, for_each: "${{ steps.e.outputs }}", with: {path: f.txt, content: z}}

            """)
        #expect(diagnose(yaml) == [
            "7:44: error: steps 'a' (line 6) and 'b' both write 'out/./a.txt', and a path has one writer: give each its own",
            "8:65: error: each of the 3 items of step 'c' writes 'c.txt', and a path has one writer: put ${{ item }} or ${{ index }} in it",
            "9:67: warning: steps 'c' (line 8) and 'd' both write 'c.txt'; if both run, the run fails: give each its own path",
            "11:80: warning: every item of step 'f' writes 'f.txt'; if the list has more than one item, the run fails: put ${{ item }} or ${{ index }} in it",
        ])
    }

    /// Linux compares file names byte for byte: "café" with é and with e + U+0301 are two files,
    /// though Swift's strings count them equal.
    @Test func twoUnicodeFormsOfANameAreTwoPaths() {
        let composed = "caf\u{E9}.txt", decomposed = "cafe\u{301}.txt"
        #expect(composed == decomposed, "equal as Swift strings")
        let yaml = workflow("""
              - {id: a, uses: file.write, with: {path: "\(composed)", content: x}}
              - {id: b, uses: file.write, with: {path: "\(decomposed)", content: y}}
              - {id: c, uses: file.write, with: {path: "\(decomposed)", content: z}}

            """)
        #expect(diagnose(yaml).count == 1 && diagnose(yaml).first?.contains("steps 'b' (line 7) and 'c' both write") == true, "\(diagnose(yaml))")
        let written = WrittenFiles()
        #expect(written.claim(composed, by: "step 'a'") == nil && written.claim(decomposed, by: "step 'b'") == nil)
        #expect(written.claim(decomposed, by: "step 'c'") == "step 'b'")
    }

    @Test func aNotionKeyThePagesDoNotSetIsAnErrorBeforeRunning() {
        let yaml = workflow("""
              - {id: one, uses: notion.upsert, with: {key: Japanse, properties: {Japanese: x, English: y}}}
              - {id: many, uses: notion.upsert, with: {key: Japanese, pages: [{Japanese: a}, {English: b}]}}

            """)
        #expect(diagnose(yaml) == [
            "6:48: error: argument 'key' of notion.upsert names 'Japanse', which 'properties' does not set; did you mean 'Japanese'?; the key must be one of the page's properties",
            "7:82: error: argument 'pages[1]' of notion.upsert sets no 'Japanese', the key property",
        ])
    }

    @Test func aFileInputsDefaultThatIsNotThereIsAWarning() {
        let yaml = workflow("  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n", inputs: "  rec: {type: file, default: nowhere.mp4}\n")
        #expect(diagnose(yaml).count == 1)
        #expect(diagnose(yaml).first?.hasPrefix("3:30: warning: input 'rec': its default file is not there") == true)
    }

    @Test func aStepOfAnUnknownKindIsStillAStepOthersMayNeedAndRead() {
        let yaml = workflow("""
              - {id: a, uses: nope.kind, with: {x: 1}}
              - {id: b, uses: file.write, needs: [a], with: {path: b.json, content: "${{ steps.a.outputs.x }}"}}

            """)
        #expect(diagnose(yaml) == ["6:19: error: unknown step kind 'nope.kind'"])
    }

    @Test func reportsUnknownMissingAndMistypedArguments() {
        let yaml = workflow("""
              - id: a
                uses: transcript.load
                with:
                  pth: t.srt
                  format: docx
                  window: [1]
              - id: b
                uses: file.write
                with: {content: x}

            """)
        #expect(diagnose(yaml) == [
            "9:7: error: unknown argument 'pth' for transcript.load; did you mean 'path'?; it takes path, parts, offsets, format, window, overlap",
            "10:15: error: argument 'format' of transcript.load expected one of 'auto', 'srt', 'vtt', 'json', got 'docx'",
            "11:15: error: argument 'window' of transcript.load expects a number or a string, got a list",
            "14:11: error: step 'b' is missing argument 'path' of file.write (a string: Where to write, relative to the run folder.)",
        ])
    }

    @Test func checksTheStaticTypeOfExpressionsAgainstArguments() {
        let yaml = workflow("""
              - id: a
                uses: transcript.load
                with: {path: t.srt}
              - id: b
                uses: list.sort
                with:
                  items: ${{ steps.a.outputs.duration }}
            
            """)
        let dir = TemporaryFolder()
        dir.write("t.srt", "")
        #expect(diagnose(yaml, in: dir) == [
            "12:14: error: argument 'items' of list.sort expects a list, but 'steps.a.outputs.duration' is a number",
        ])
    }

    @Test func reportsUnknownReferencesWithSuggestions() {
        let dir = TemporaryFolder()
        dir.write("t.srt", "")
        let yaml = workflow("""
              - id: load
                uses: transcript.load
                with: {path: t.srt}
              - id: write
                uses: file.write
                with:
                  path: out.txt
                  content: "${{ inputs.ulr }} ${{ steps.lod.outputs.x }} ${{ steps.load.outputs.chunk }} ${{ item.text }}"
            
            """)
        #expect(diagnose(yaml, in: dir) == [
            "13:28: error: unknown input 'ulr'; did you mean 'url'?",
            "13:45: error: unknown step 'lod'; did you mean 'load'?",
            "13:85: error: step 'load' (transcript.load) has no output 'chunk'; did you mean 'chunks'?",
            "13:98: error: 'item' is only available in the arguments of a step with for_each",
        ])
    }

    @Test func checksItemFieldsAgainstTheForEachList() {
        let dir = TemporaryFolder()
        dir.write("t.srt", "")
        let yaml = workflow("""
              - id: load
                uses: transcript.load
                with: {path: t.srt}
              - id: each
                uses: file.write
                for_each: ${{ steps.load.outputs.chunks }}
                with:
                  path: ${{ format('part-{0}.txt', index) }}
                  content: ${{ item.txt }}
            
            """)
        let problems = diagnose(yaml, in: dir)
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("14:") == true)
        #expect(problems.first?.contains("'txt'") == true)
        #expect(problems.first?.contains("did you mean 'text'?") == true)
    }

    @Test func rejectsForEachOverSomethingThatIsNotAList() {
        let dir = TemporaryFolder()
        dir.write("t.srt", "")
        let yaml = workflow("""
              - id: load
                uses: transcript.load
                with: {path: t.srt}
              - id: each
                uses: file.write
                for_each: ${{ steps.load.outputs.duration }}
                with: {path: a.txt, content: x}
              - id: each2
                uses: file.write
                for_each: "items: ${{ inputs.clips }}"
                with: {path: b.txt, content: x}
            
            """)
        #expect(diagnose(yaml, in: dir) == [
            "11:15: error: 'for_each' must be a list, but 'steps.load.outputs.duration' is a number",
            "15:15: error: 'for_each' must be a list or one '${{ }}' expression that gives a list",
        ])
    }

    @Test func namesEveryStepOnADependencyCycle() throws {
        let yaml = workflow("""
              - id: a
                uses: file.write
                needs: c
                with: {path: a.txt, content: x}
              - id: b
                uses: file.write
                with: {path: b.txt, content: "${{ steps.a.outputs.path }}"}
              - id: c
                uses: file.write
                with: {path: c.txt, content: "${{ steps.b.outputs.bytes }}"}
              - id: d
                uses: file.write
                needs: [d]
                with: {path: d.txt, content: x}
            
            """)
        let (_, diagnostics) = checkWorkflow(yaml)
        #expect(lines(diagnostics) == [
            "6:9: error: dependency cycle: 'a' → 'c' → 'b' → 'a'",
            "18:13: error: step 'd' needs itself",
        ])
        let notes = try #require(diagnostics.sorted.first?.notes)
        #expect(notes.map(\.message) == ["'a' needs 'c' here", "'c' uses the outputs of 'b' here", "'b' uses the outputs of 'a' here"])
        #expect(notes.map { $0.location?.line } == [8, 15, 12])
    }

    @Test func reportsNeedsOnUnknownStepAndSelfReference() {
        let yaml = workflow("""
              - id: a
                uses: file.write
                needs: [bb]
                with: {path: a.txt, content: "${{ steps.a.outputs.path }}"}
              - id: b
                uses: file.write
                with: {path: b.txt, content: x}
            
            """)
        #expect(diagnose(yaml) == [
            "8:13: error: step 'a' needs unknown step 'bb'; did you mean 'b'?",
            "9:39: error: step 'a' refers to its own outputs",
        ])
    }

    @Test func optionalNeedsNameKnownStepsAndAreDependencies() {
        let yaml = workflow("""
              - id: a
                uses: file.write
                optional_needs: [bb, b]
                with: {path: a.txt, content: x}
              - id: b
                uses: file.write
                optional_needs: a
                with: {path: b.txt, content: x}

            """)
        let messages = diagnose(yaml)
        #expect(messages.contains("8:22: error: step 'a' needs unknown step 'bb'; did you mean 'b'?"))
        #expect(messages.contains("6:9: error: dependency cycle: 'a' → 'b' → 'a'"))
    }

    @Test func aStepIsNotBothANeedAndAnOptionalNeed() {
        let yaml = workflow("""
              - {id: a, uses: file.write, with: {path: a.txt, content: x}}
              - {id: b, uses: file.write, needs: [a], optional_needs: [a], with: {path: b.txt, content: x}}

            """)
        #expect(diagnose(yaml) == ["7:60: error: step 'b' lists 'a' under both 'needs' and 'optional_needs'; keep it in one"])
    }

    @Test func maxParallelIsAPositiveWholeNumberOnAForEachStep() {
        let yaml = workflow("""
              - {id: a, uses: file.write, max_parallel: 2, with: {path: a.txt, content: x}}
              - {id: b, uses: file.write, max_parallel: 0, for_each: [1], with: {path: "b${{ index }}.txt", content: x}}

            """)
        #expect(diagnose(yaml) == [
            "6:45: error: 'max_parallel' limits the items of a for_each, and step 'a' has no 'for_each'",
            "7:45: error: 'max_parallel' is how many items of the for_each run at once: a whole number of at least 1",
        ])
    }

    @Test func checksOutputPathsStayInsideTheRunFolder() {
        let yaml = workflow("""
              - id: a
                uses: file.write
                with: {path: ../../etc/passwd, content: x}
              - id: b
                uses: file.write
                with: {path: /tmp/x, content: x}
            
            """)
        #expect(diagnose(yaml) == [
            "8:18: error: argument 'path' must stay inside the run folder, but '../../etc/passwd' leaves it through '..'",
            "11:18: error: argument 'path' must be a path inside the run folder, not an absolute path ('/tmp/x')",
        ])
    }

    @Test func refusesCacheSettingsOnSideEffectingKinds() {
        var registry = StepRegistry.builtin
        registry.register(StepKindDescription(name: "test.write", summary: "", arguments: [], outputs: .object([]), effect: .sideEffecting, example: ""))
        let yaml = workflow("  - id: a\n    uses: test.write\n    cache: 1d\n")
        #expect(diagnose(yaml, registry: registry) == [
            "8:12: error: step kind 'test.write' has side effects and is never cached; remove 'cache' or set it to false",
        ])
    }

    @Test func checksServiceNamesAndSettings() {
        let yaml = """
            name: t
            services:
              gemni: {model: x}
              notion:
                version: 2023-01-01
                limits: {requests_per_second: fast, burst: 3}
            steps:
              - id: a
                uses: file.write
                with: {path: a.txt, content: x}
            """
        #expect(diagnose(yaml) == [
            "3:3: error: unknown service 'gemni'; did you mean 'gemini'?; services are gemini, notion, obs",
            "5:14: error: 'services.notion.version' expected one of '2022-06-28', '2025-09-03', got '2023-01-01'",
            "6:35: error: 'services.notion.limits.requests_per_second' expected a number, got string 'fast'",
            "6:41: error: unknown field 'burst' in 'services.notion.limits'; it takes requests_per_second",
        ])
    }

    @Test func refusesSecretsReadThroughExpressions() {
        let yaml = workflow("  - {id: a, uses: file.write, with: {path: a.txt, content: \"${{ env.GEMINI_API_KEY }} ${{ env.HOME }}\"}}\n")
        #expect(diagnose(yaml) == [
            "6:65: error: 'env.GEMINI_API_KEY' looks like a secret; aiv gives keys and tokens to the steps that need them and keeps them out of expressions, so they never reach the cache, outputs or logs",
        ])
    }

    @Test func reportsEveryProblemOfAFileAtOnce() {
        let yaml = """
            name: t
            steps:
              - id: a
                uses: file.wrte
              - id: b
                uses: list.sort
                with: {items: "${{ steps.zz.outputs.items }}", order: up}
              - id: b
                uses: list.sort
            """
        #expect(diagnose(yaml) == [
            "4:11: error: unknown step kind 'file.wrte'; did you mean 'file.write'?",
            "7:30: error: unknown step 'zz'",
            "7:59: error: argument 'order' of list.sort expected one of 'ascending', 'descending', got 'up'",
            "8:9: error: duplicate step id 'b'",
            "9:11: error: step 'b' is missing argument 'items' of list.sort (a list: The list.)",
        ])
    }
}
