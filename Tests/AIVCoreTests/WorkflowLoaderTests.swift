import AIVTestSupport
import AIVCore
import Testing

@Suite struct WorkflowLoaderTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let yaml: String
        let expected: [String]
        var testDescription: String { expected.first ?? "valid" }
    }

    static let valid = """
        name: demo
        inputs:
          transcript: {type: file, default: t.srt}
          url: string
        steps:
          - id: load
            uses: transcript.load
            with: {path: t.srt}
        """

    @Test func loadsAllFieldsOfAStep() throws {
        let dir = TemporaryFolder()
        dir.write("t.srt", "")
        let yaml = """
            name: demo
            steps:
              - id: load
                name: Load the transcript
                uses: transcript.load
                with: {path: t.srt}
                retry: {attempts: 4, backoff: 2s, factor: 3, max_delay: 1m, jitter: 0.5}
                timeout: 1h30m
                continue_on_error: true
                cache: 7d
                if: true
            """
        let (checked, diagnostics) = checkWorkflow(yaml, in: dir)
        #expect(lines(diagnostics) == [])
        let step = try #require(checked?.workflow.steps.first)
        #expect(step.name == "Load the transcript")
        #expect(step.retry == RetryPolicy(attempts: 4, backoff: 2, factor: 3, maxDelay: 60, jitter: 0.5))
        #expect(step.timeout == 5400)
        #expect(step.continueOnError)
        #expect(step.cache == .timeToLive(7 * 86400))
    }

    /// `x-…` keys at the top are the user's own: a block of defaults that steps merge in.
    /// Any other unknown key is still an error.
    @Test func topLevelExtensionKeysHoldDefaultsForStepsToMerge() throws {
        let dir = TemporaryFolder()
        dir.write("t.srt", "")
        let yaml = """
            name: demo
            x-patient: &patient
              retry: {attempts: 5, backoff: 2s}
              timeout: 10m
            steps:
              - id: a
                <<: *patient
                uses: transcript.load
                with: {path: t.srt}
            defaults: {}
            """
        let (_, diagnostics) = checkWorkflow(yaml, in: dir)
        #expect(lines(diagnostics) == ["10:1: error: unknown field 'defaults' in workflow; a block of your own (defaults for steps to merge) is named 'x-defaults'"])
        let (valid, none) = checkWorkflow(yaml.replacingOccurrences(of: "defaults: {}\n", with: "").replacingOccurrences(of: "\ndefaults: {}", with: ""), in: dir)
        #expect(lines(none) == [])
        let step = try #require(valid?.workflow.steps.first)
        #expect(step.retry.attempts == 5)
        #expect(step.timeout == 600)
    }

    @Test func readsShorthandForms() throws {
        let dir = TemporaryFolder()
        dir.write("t.srt", "")
        let yaml = """
            name: demo
            inputs:
              url: string
            steps:
              - id: a
                uses: transcript.load
                with: {path: t.srt}
                retry: 3
                cache: false
              - id: b
                uses: transcript.load
                needs: a
                with: {path: t.srt}
            """
        let (checked, diagnostics) = checkWorkflow(yaml, in: dir)
        #expect(lines(diagnostics) == [])
        let workflow = try #require(checked?.workflow)
        #expect(workflow.inputs.first?.type == .string && workflow.inputs.first?.isRequired == true)
        #expect(workflow.steps[0].retry.attempts == 3 && workflow.steps[0].cache == .off)
        #expect(workflow.steps[1].needs.map(\.id) == ["a"])
    }

    static let cases: [Case] = [
        Case(yaml: "", expected: ["1:1: error: file is empty; a workflow needs 'name' and 'steps'"]),
        Case(yaml: "- a\n- b\n", expected: ["1:1: error: workflow must be a mapping, not a list"]),
        Case(yaml: "name: x\n", expected: ["1:1: error: workflow is missing 'steps'"]),
        Case(yaml: "steps: []\n", expected: ["1:1: error: workflow is missing 'name'", "1:8: error: 'steps' is empty; a workflow needs at least one step"]),
        Case(yaml: "name: x\nstep:\n  - id: a\n", expected: ["1:1: error: workflow is missing 'steps'", "2:1: error: unknown field 'step' in workflow; did you mean 'steps'?"]),
        Case(yaml: "name: x\nneeds: [a]\nsteps: {a: 1}\n", expected: [
            "2:1: error: unknown field 'needs' in workflow; 'needs' belongs to a step under 'steps'",
            "3:8: error: 'steps' must be a list of steps, each starting with '- id:', not a mapping"]),
        Case(yaml: "name: x\nsteps:\n  - uses: file.write\n", expected: ["3:5: error: step 1 is missing 'id'"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n", expected: ["3:9: error: step 'a' is missing 'uses' (the step kind, e.g. 'uses: template.render')"]),
        Case(yaml: "name: x\nsteps:\n  - id: 9lives\n    uses: file.write\n    with: {path: a.txt, content: x}\n",
             expected: ["3:9: error: step id '9lives' must start with a letter or '_' and hold only letters, digits, '_' and '-'"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n    depends_on: [b]\n",
             expected: ["6:5: error: unknown field 'depends_on' in step 'a'; did you mean 'needs'?"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n    retyr: 2\n",
             expected: ["6:5: error: unknown field 'retyr' in step 'a'; did you mean 'retry'?"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n  - id: a\n    uses: file.write\n    with: {path: b.txt, content: y}\n",
             expected: ["6:9: error: duplicate step id 'a'"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: [1, 2]\n",
             expected: ["4:11: error: step 'a' is missing argument 'content' of file.write (any value: Text as it is; other values are encoded by `format`.)",
                         "4:11: error: step 'a' is missing argument 'path' of file.write (a string: Where to write, relative to the run folder.)",
                         "5:11: error: 'with' of step 'a' must be a mapping of argument names to values, not a list"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n    timeout: soon\n",
             expected: ["6:14: error: 'timeout' must be a duration such as 30, \"90s\", \"5m\" or \"1h30m\" (at most a year)"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n    timeout: 1e300\n",
             expected: ["6:14: error: 'timeout' must be a duration such as 30, \"90s\", \"5m\" or \"1h30m\" (at most a year)"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n  - id: A\n    uses: file.write\n    with: {path: b.txt, content: y}\n",
             expected: ["6:9: error: step id 'A' differs from 'a' only in case"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n    retry: {attempts: 0, jitter: 2}\n",
             expected: ["6:23: error: 'attempts' must be a whole number of at least 1", "6:34: error: 'jitter' must be a fraction between 0 and 1 (or true/false)"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n    retry: ten\n",
             expected: ["6:12: error: 'retry' must be a number of attempts (retry: 3) or a mapping such as {attempts: 3, backoff: 2s}, not a string"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n    cache: sometimes\n",
             expected: ["6:12: error: 'cache' must be true, false, or how long a result stays fresh (e.g. \"7d\", \"12h\")"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n    for_each: 3\n",
             expected: ["6:15: error: 'for_each' must be a list or an expression that gives one, not a number"]),
        Case(yaml: "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n    if: [a]\n",
             expected: ["6:9: error: 'if' must be an expression such as \"inputs.publish && steps.clips.outputs.count > 0\", not a list"]),
        Case(yaml: "name: x\ninputs:\n  n: {type: integer}\n  m: {type: number, default: ten}\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n",
             expected: ["3:13: error: unknown input type 'integer'; types are string, number, bool, file, list, duration",
                         "4:30: error: default of input 'm' must be a number, not a string"]),
        Case(yaml: "name: x\ninputs:\n  n: {type: strng, descripton: d}\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: x}\n",
             expected: ["3:13: error: unknown input type 'strng'; did you mean 'string'?; types are string, number, bool, file, list, duration",
                         "3:20: error: unknown field 'descripton' in input 'n'; did you mean 'description'?"]),
    ]

    @Test(arguments: cases)
    func reportsStructuralProblemsWithLineAndColumn(_ testCase: Case) {
        #expect(diagnose(testCase.yaml) == testCase.expected)
    }
}
