import AIVTestSupport
import AIVCore
import Testing
import Foundation

@Suite struct InputBinderTests {
    static let yaml = """
        name: t
        inputs:
          title: string
          count: {type: number, default: 3}
          publish: {type: bool, default: false}
          tags: {type: list, default: []}
          recording: {type: file, required: false}
        steps:
          - id: a
            uses: file.write
            with: {path: a.txt, content: "${{ inputs.title }}"}
        """

    /// A pipe or a device given as a file input is refused while binding, before anything reads it.
    @Test func aPipeOrADeviceIsNotAFileInput() throws {
        let folder = TemporaryFolder()
        #expect(mkfifo(folder.path + "/fifo.mp4", 0o600) == 0)
        let problems = plan("name: t\ninputs:\n  rec: file\nsteps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n",
                            in: folder, inputs: ["rec=fifo.mp4"]).diagnostics
        #expect(lines(problems) == ["1:13: error: input 'rec': 'fifo.mp4' is not a regular file (a pipe, a socket or a device); aiv reads files from disk"])
    }

    @Test func convertsCommandLineTextToTheDeclaredTypes() throws {
        let dir = TemporaryFolder()
        dir.write("media/rec.mp4", "x")
        let (plan, diagnostics) = plan(Self.yaml, in: dir, inputs: ["title=Hi=there", "count=2.5", "publish=yes", "tags=a, b ,c", "recording=media/./rec.mp4"])
        #expect(lines(diagnostics) == [])
        #expect(plan?.inputs == ["title": "Hi=there", "count": 2.5, "publish": true, "tags": ["a", "b", "c"], "recording": "media/rec.mp4"])
    }

    /// A bad `--input` is shown as compilers show a bad flag: on a `<command line>` source that
    /// holds the flags as typed (quoted where the shell needs it), with a caret under the value,
    /// or under the name when the workflow has no such input.
    @Test func aBadCommandLineInputIsPointedAtInTheFlagsAsTyped() throws {
        let dir = TemporaryFolder()
        let path = dir.write("workflow.yaml", Self.yaml)
        let typed = ["title=Hello there", "count=many", "titel=x", "publish=maybe"]
        let output = Frontend(registry: .builtin, environment: [:], binder: InputBinder(currentDirectory: dir.path))
            .plan(path: path, assignments: typed.compactMap(InputBinder.Assignment.init(argument:)))
        var renderer = DiagnosticRenderer(files: output.sources)
        #expect(renderer.render(output.diagnostics) == """
            <command line>:1:43: error: input 'count' must be a number, not 'many'
             1 | --input 'title=Hello there' --input count=many --input titel=x --input publish=maybe
               |                                           ^~~~
            <command line>:1:56: error: workflow 't' has no input 'titel'; did you mean 'title'? Its inputs are title, count, publish, tags, recording
             1 | --input 'title=Hello there' --input count=many --input titel=x --input publish=maybe
               |                                                        ^~~~~
            <command line>:1:80: error: input 'publish' must be true or false, not 'maybe'
             1 | --input 'title=Hello there' --input count=many --input titel=x --input publish=maybe
               |                                                                                ^~~~~

            """)
        // A line break in a value is one visible character, so the columns after it stay right.
        let broken = InputBinder.commandLine([InputBinder.Assignment(name: "title", text: "a\nb"), InputBinder.Assignment(name: "count", text: "x")])
        #expect(broken.source.text == "--input 'title=a\u{FFFD}b' --input count=x")
        #expect(broken.values.map(\.at.column) == [16, 35])
        // A quote inside a quoted flag is written as the shell needs it; the caret covers it all.
        let quote = InputBinder.commandLine([InputBinder.Assignment(name: "title", text: "x'y"), InputBinder.Assignment(name: "it's", text: "1")])
        #expect(quote.source.text == #"--input 'title=x'\''y' --input 'it'\''s=1'"#)
        #expect(quote.values.map(\.at.column) == [16, 41] && quote.values.map(\.length) == [6, 1])
        #expect(quote.names.map(\.at.column) == [10, 33] && quote.names.map(\.length) == [5, 7])
    }

    /// A duration input is checked when it is given, from the command line, an inputs file or
    /// its default, so a typo stops the run before any step (an OBS recording) starts; and
    /// expressions see it as seconds however it is written, so `timestamp(inputs.window)` and
    /// `inputs.window > 60` work for `10m` as for `600`.
    @Test func aDurationInputIsCheckedWhenItIsGiven() throws {
        let yaml = """
            name: t
            inputs:
              hold: {type: duration, default: 20s}
              window: {type: duration, default: 10m}
            steps:
              - {id: a, uses: file.write, with: {path: a.txt, content: "${{ inputs.hold }}"}}
            """
        let dir = TemporaryFolder()
        #expect(lines(plan(yaml, in: dir, inputs: ["hold=1h30m", "window=90"]).diagnostics) == [])
        #expect(plan(yaml, in: dir, inputs: ["hold=1h30m", "window=90"]).plan?.inputs == ["hold": 5400, "window": 90])
        #expect(lines(plan(yaml, in: dir, inputs: ["hold=abc", "window=-5"]).diagnostics) == [
            "1:14: error: input 'hold' must be a duration such as 30, 90s or 1h30m, not 'abc'",
            "1:33: error: input 'window' must be a duration such as 30, 90s or 1h30m, not '-5'",
        ])
        #expect(plan(yaml, in: dir).plan?.inputs == ["hold": 20, "window": 600])
        #expect(plan(yaml, in: dir, inputs: ["hold=250ms", "window=1.5m"]).plan?.inputs == ["hold": 0.25, "window": 90])
        let compared = yaml.replacingOccurrences(of: "content: \"${{ inputs.hold }}\"", with: "content: \"${{ timestamp(inputs.window) }} ${{ inputs.hold > 10 }}\"")
        #expect(lines(plan(compared, in: dir).diagnostics) == [])
        #expect(lines(plan(yaml.replacingOccurrences(of: "default: 10m", with: "default: soon"), in: dir).diagnostics) == [
            "4:37: error: default of input 'window' must be a duration such as 30, 90s or 1h30m, not 'soon'",
        ])
    }

    @Test func readsListsWrittenAsYAML() throws {
        let (plan, _) = plan(Self.yaml, inputs: ["title=x", "tags=[1, two, {a: b}]"])
        #expect(plan?.inputs["tags"] == [1, "two", ["a": "b"]])
    }

    @Test func usesDefaultsAndNullForOptionalInputs() throws {
        let (plan, _) = plan(Self.yaml, inputs: ["title=x"])
        #expect(plan?.inputs == ["title": "x", "count": 3, "publish": false, "tags": [], "recording": nil])
    }

    @Test func anEmptyFileInputMeansNoneSoTheWorkflowCanTakeItsOtherRoute() throws {
        let yaml = Self.yaml.replacingOccurrences(of: "recording: {type: file, required: false}", with: "recording: {type: file, default: rec.mp4}")
        let dir = TemporaryFolder()
        dir.write("rec.mp4", "x")
        let (plan, diagnostics) = plan(yaml, in: dir, inputs: ["title=x", "recording="])
        #expect(lines(diagnostics) == [])
        #expect(plan?.inputs["recording"] == JSONValue.null)
    }

    /// JSON holds no infinity or NaN: a default of `1e400` or `.nan` is refused where it is
    /// written, as `--input count=1e999` is.
    @Test func aNumberDefaultThatIsNotFiniteIsAnErrorAtTheDefault() {
        for (written, word) in [("1e400", "infinity"), (".nan", "NaN"), ("-.inf", "minus infinity")] {
            let yaml = Self.yaml.replacingOccurrences(of: "count: {type: number, default: 3}", with: "count: {type: number, default: \(written)}")
            let (plan, diagnostics) = plan(yaml, inputs: ["title=x"])
            #expect(plan == nil)
            #expect(lines(diagnostics) == ["4:34: error: default of input 'count' must be a finite number, not \(word)"], "\(written)")
        }
    }

    /// `yes` and `off` are text to YAML 1.2: a bool default written so says what to write
    /// instead, while other text is refused plainly (on the command line `yes` is true).
    @Test func aBoolDefaultWrittenAsYesSaysToWriteTrue() {
        for (written, message) in [("yes", "must be true or false, not the text 'yes': YAML reads yes as text; write true"),
                                   ("Off", "must be true or false, not the text 'Off': YAML reads Off as text; write false"),
                                   ("maybe", "must be true or false, not a string")] {
            let yaml = Self.yaml.replacingOccurrences(of: "publish: {type: bool, default: false}", with: "publish: {type: bool, default: \(written)}")
            let (plan, diagnostics) = plan(yaml, inputs: ["title=x"])
            #expect(plan == nil)
            #expect(lines(diagnostics) == ["5:34: error: default of input 'publish' \(message)"], "\(written)")
        }
    }

    /// A number is decimal (Swift's parser alone takes `0x10` for 16), and an input given twice
    /// on the command line takes the last value, with a warning.
    @Test func aHexadecimalNumberIsRefusedAndAnInputGivenTwiceIsWarnedAbout() {
        let hex = plan(Self.yaml, inputs: ["title=x", "count=0x10"])
        #expect(hex.plan == nil)
        #expect(hex.diagnostics.errors.map(\.message) == ["input 'count' must be a number, not '0x10'"])
        let twice = plan(Self.yaml, inputs: ["title=x", "count=2", "count=1.5e1"])
        #expect(twice.plan?.inputs["count"] == 15)
        #expect(lines(twice.diagnostics) == ["1:41: warning: input 'count' is given more than once; the last value is used"])
    }

    @Test func reportsEveryBadInput() {
        let (plan, diagnostics) = plan(Self.yaml, inputs: ["count=many", "publish=maybe", "titel=x", "recording=nope.mp4"])
        #expect(plan == nil)
        #expect(diagnostics.errors.map(\.message).sorted() == [
            "input 'count' must be a number, not 'many'",
            "input 'publish' must be true or false, not 'maybe'",
            "input 'recording': file not found: nope.mp4",
            "input 'title' is required; give it with --input title=… or in an --inputs file",
            "workflow 't' has no input 'titel'; did you mean 'title'? Its inputs are title, count, publish, tags, recording",
        ])
    }

    /// A bad value has its error; the input is not also "required", nor given its default.
    @Test func anInputGivenABadValueGetsThatErrorOnly() {
        let yaml = Self.yaml.replacingOccurrences(of: "recording: {type: file, required: false}", with: "recording: {type: file, default: nope.mp4}")
        let (_, diagnostics) = plan(yaml, inputs: ["title=x", "recording=missing.mp4"])
        #expect(diagnostics.errors.map(\.message) == ["input 'recording': file not found: missing.mp4"])
        let required = Self.yaml.replacingOccurrences(of: "count: {type: number, default: 3}", with: "count: number")
        let (_, problems) = plan(required, inputs: ["title=x", "count=many"])
        #expect(problems.errors.map(\.message) == ["input 'count' must be a number, not 'many'"])
    }

    /// An empty file in an inputs file means none, as `--input recording=` does (it was "'' is a
    /// folder"); an inputs file that is not there is said as a missing `--env-file` is.
    @Test func anEmptyFileInAnInputsFileIsNoneAndAMissingInputsFileIsSaidPlainly() throws {
        let dir = TemporaryFolder()
        let workflow = dir.write("workflow.yaml", Self.yaml)
        let inputs = dir.write("inputs.yaml", "title: x\nrecording: \"\"\n")
        let frontend = Frontend(registry: .builtin, environment: [:], binder: InputBinder(currentDirectory: dir.path))
        let output = frontend.plan(path: workflow, inputsFile: inputs)
        #expect(lines(output.diagnostics) == [])
        #expect(output.plan?.inputs["recording"] == JSONValue.null)
        let missing = frontend.plan(path: workflow, inputsFile: dir.path + "/nope.yaml")
        #expect(missing.diagnostics.items.map(\.description) == ["error: no such file: \(dir.path)/nope.yaml (given with --inputs)"])
    }

    /// Null in an inputs file is "none": refused for a required input (on the command line one
    /// cannot give it at all), taken for one that may be left without a value.
    @Test func nullInAnInputsFileIsRefusedForARequiredInput() throws {
        let dir = TemporaryFolder()
        let workflow = dir.write("workflow.yaml", Self.yaml)
        let inputs = dir.write("inputs.yaml", "title: null\nrecording: null\ncount: null\n")
        let output = Frontend(registry: .builtin, environment: [:], binder: InputBinder(currentDirectory: dir.path)).plan(path: workflow, inputsFile: inputs)
        #expect(lines(output.diagnostics) == ["1:8: error: input 'title' is required and cannot be null"])
    }

    static let expressions = """
        name: t
        inputs:
          expressions:
            type: list
            items:
              type: object
              required: [japanese, reading]
              properties:
                japanese: {type: string}
                reading: {type: string}
                difficulty: {type: string, enum: [N5, N4, N3, N2, N1]}
            default:
              - {japanese: 草, reading: くさ}
        steps:
          - id: a
            uses: file.write
            for_each: ${{ inputs.expressions }}
            with: {path: "${{ index }}.txt", content: "${{ item.japanese }}"}
        """

    /// A list input's `items` schema is checked when the input is given, each element where it
    /// is written (the member itself for a bad value), before any step runs.
    @Test func aListInputsElementsAreCheckedAgainstItsItemsSchemaWhereTheyAreWritten() throws {
        let dir = TemporaryFolder()
        let workflow = dir.write("workflow.yaml", Self.expressions)
        let inputs = dir.write("inputs.yaml", """
            expressions:
              - {japanese: 草, reading: くさ}
              - {japanese: てぇてぇ}
              - japanese: ぽんこつ
                reading: ぽんこつ
                difficulty: N6

            """)
        let output = Frontend(registry: .builtin, environment: [:], binder: InputBinder(currentDirectory: dir.path))
            .plan(path: workflow, inputsFile: inputs)
        #expect(lines(output.diagnostics) == [
            "3:5: error: input 'expressions' item 1: missing required property 'reading'",
            "6:17: error: input 'expressions' item 2: difficulty: \"N6\" is not one of \"N5\", \"N4\", \"N3\", \"N2\", \"N1\"",
        ])
        #expect(output.diagnostics.errors.allSatisfy { $0.location?.file == inputs })
        #expect(output.plan == nil)

        let typed = plan(Self.expressions, in: dir, inputs: ["expressions=[{japanese: 草}]"])
        #expect(lines(typed.diagnostics) == ["1:22: error: input 'expressions' item 0: missing required property 'reading'"])
        let fine = plan(Self.expressions, in: dir, inputs: ["expressions=[{japanese: 草, reading: くさ, difficulty: N3}]"])
        #expect(lines(fine.diagnostics) == [])
        #expect(fine.plan?.inputs["expressions"] == [["japanese": "草", "reading": "くさ", "difficulty": "N3"]])
    }

    /// `items` is a JSON Schema checked as a prompt's output schema is, and only lists take it;
    /// expressions see its shape, so a misspelt field of an element is caught by `validate`.
    @Test func anItemsSchemaIsCheckedAndShapesWhatExpressionsRead() {
        #expect(diagnose("name: t\ninputs:\n  title: {type: string, items: {type: string}}\nsteps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n")
                == ["3:25: error: 'items' is for list inputs; input 'title' is of type string"])
        #expect(diagnose("name: t\ninputs:\n  l: {type: list, items: {type: strnig}}\nsteps:\n  - {id: a, uses: file.write, with: {path: a.txt, content: x}}\n")
                == ["3:33: error: 'type' in items of input 'l' must be one of object, array, string, number, integer, boolean, null; did you mean 'string'?"])
        let misspelt = Self.expressions.replacingOccurrences(of: "item.japanese", with: "item.japanse")
        #expect(diagnose(misspelt).contains { $0.contains("japanse") }, "\(diagnose(misspelt))")
        // In the list steps over such an input too (the list names no step, and was left unshaped).
        let listSteps = Self.expressions + """

              - id: m
                uses: list.map
                with: {items: "${{ inputs.expressions }}", set: {text: "format('{0}', item.redaing)"}}
              - id: s
                uses: list.sort
                with: {items: "${{ inputs.expressions }}", by: japanse}
            """
        let problems = diagnose(listSteps)
        #expect(problems.contains { $0.contains("'item' has no field 'redaing'; did you mean 'reading'?") }, "\(problems)")
        #expect(problems.contains { $0.contains("'japanse'") && $0.contains("did you mean 'japanese'?") }, "\(problems)")
    }

    /// `aiv validate` binds the defaults as a run does: a default file that is missing, or a
    /// list default that breaks its `items`, is reported, with the nearest file's name. A
    /// required input without a value is not a problem there.
    @Test func validateReportsADefaultThatARunWouldRefuse() {
        let dir = TemporaryFolder()
        dir.write("samples/transcript.srt", "1\n00:00:01,000 --> 00:00:02,000\nx\n")
        let path = dir.write("workflow.yaml", """
            name: t
            inputs:
              title: string
              transcript: {type: file, default: samples/transcirpt.srt}
              words: {type: list, items: {type: string}, default: [a, 3]}
            steps:
              - {id: a, uses: file.write, with: {path: a.txt, content: x}}

            """)
        let frontend = Frontend(registry: .builtin, environment: [:], binder: InputBinder(currentDirectory: dir.path))
        let output = frontend.validate(path: path)
        #expect(lines(output.diagnostics) == [
            "4:37: error: input 'transcript': file not found: samples/transcirpt.srt; did you mean 'samples/transcript.srt'?",
            "5:59: error: input 'words' item 1: 3 is an integer, not a string",
        ])
        // Every problem at once: another error does not hide them, nor is a default of the wrong
        // type said twice.
        let more = dir.write("more.yaml", (dir.read("workflow.yaml") ?? "")
            .replacingOccurrences(of: "uses: file.write", with: "uses: file.wirte")
            .replacingOccurrences(of: "title: string", with: "title: {type: list, default: x}"))
        let all = lines(frontend.validate(path: more).diagnostics)
        #expect(all.count == 4, "\(all)")
        #expect(all.contains { $0.hasSuffix("error: default of input 'title' must be a list, not a string") }, "\(all)")
        #expect(all.contains { $0.contains("unknown step kind 'file.wirte'") }, "\(all)")
        #expect(all.contains { $0.contains("file not found: samples/transcirpt.srt") } && all.contains { $0.contains("input 'words' item 1") }, "\(all)")
    }

    @Test func readsAnInputsFileWithLocations() throws {
        let dir = TemporaryFolder()
        let workflow = dir.write("workflow.yaml", Self.yaml)
        let inputs = dir.write("inputs.yaml", "title: from file\ncount: lots\n")
        let output = Frontend(registry: .builtin, environment: [:], binder: InputBinder(currentDirectory: dir.path))
            .plan(path: workflow, inputsFile: inputs)
        #expect(lines(output.diagnostics) == ["2:8: error: input 'count' must be a number, not a string"])
        #expect(output.diagnostics.errors.first?.location?.file == inputs)
    }
}
