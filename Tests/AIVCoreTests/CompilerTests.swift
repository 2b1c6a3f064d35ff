import AIVTestSupport
import AIVCore
import Foundation
import Testing

@Suite struct CompilerTests {
    @Test func ordersStepsTopologicallyKeepingDeclarationOrderForTies() throws {
        let yaml = """
            name: t
            steps:
              - id: report
                uses: file.write
                with: {path: r.txt, content: "${{ steps.b.outputs.path }} ${{ steps.a.outputs.path }}"}
              - id: b
                uses: file.write
                needs: a
                with: {path: b.txt, content: x}
              - id: a
                uses: file.write
                with: {path: a.txt, content: x}
              - id: c
                uses: file.write
                with: {path: c.txt, content: x}
            """
        let (plan, diagnostics) = plan(yaml)
        #expect(lines(diagnostics) == [])
        let steps = try #require(plan?.steps)
        #expect(steps.map(\.id) == ["a", "c", "b", "report"])
        #expect(steps.map(\.layer) == [0, 0, 1, 2])
        #expect(steps[2].needs == [.init(step: "a", reason: .needs)])
        #expect(steps[3].needs == [.init(step: "a", reason: .reference), .init(step: "b", reason: .reference)])
        #expect(plan?.layerCount == 3)
    }

    @Test func explicitNeedsAndReferencesToTheSameStepMakeOneEdge() throws {
        let yaml = """
            name: t
            steps:
              - id: a
                uses: file.write
                with: {path: a.txt, content: x}
              - id: b
                uses: file.write
                needs: [a]
                with: {path: b.txt, content: "${{ steps.a.outputs.bytes }}"}
            """
        let steps = try #require(plan(yaml).plan?.steps)
        #expect(steps[1].needs == [.init(step: "a", reason: .needs)])
    }

    /// A literal input path that another step writes as a literal output path is read after
    /// that step (an optional need: a skipped writer leaves the path to a file beside the
    /// workflow), and is not looked for beside the workflow before running.
    @Test func aStepReadingAFileAnotherStepWritesRunsAfterIt() throws {
        let yaml = """
            name: t
            steps:
              - {id: read, uses: transcript.load, with: {path: ./made/talk.srt}}
              - {id: make, uses: file.write, with: {path: made/talk.srt, content: x}}
            """
        let (plan, diagnostics) = plan(yaml)
        #expect(lines(diagnostics) == [])
        let steps = try #require(plan?.steps)
        #expect(steps.map(\.id) == ["make", "read"])
        #expect(steps[1].needs == [.init(step: "make", reason: .file)])
        #expect(steps[1].optionalNeeds == [] && steps[1].skippableNeeds == ["make"])
        #expect(PlanPrinter.notes(steps[1]) == "reads a file make writes")
        // A file no step writes is still looked for beside the workflow.
        let alone = yaml.replacingOccurrences(of: "path: made/talk.srt", with: "path: made/other.srt")
        let problems = lines(AIVCoreTests.plan(alone).diagnostics)
        #expect(problems.first?.hasPrefix("3:52: error: file not found: './made/talk.srt'") == true, "\(problems)")
    }

    /// A template another step writes is read once written: a dependency, and not looked for
    /// (or checked) beside the workflow before running.
    @Test func aTemplateAnotherStepWritesIsReadAfterIt() throws {
        let yaml = """
            name: t
            steps:
              - {id: render, uses: template.render, with: {template: made.mustache, values: {name: x}}}
              - {id: make, uses: file.write, with: {path: made.mustache, content: "hi {{name}}"}}
            """
        let (plan, diagnostics) = plan(yaml)
        #expect(lines(diagnostics) == [])
        let render = try #require(plan?.steps.first { $0.id == "render" })
        #expect(render.needs == [.init(step: "make", reason: .file)])
    }

    /// A step that reads `a.srt` and a later step that writes a cleaned `a.srt` from its outputs:
    /// no cycle, the reader reads the file beside the workflow (which must exist). A reader that
    /// also uses the writer's outputs needs it as a reference does, whatever the argument order.
    @Test func aFileWrittenFromTheReadersOutputsIsTheOneBesideTheWorkflowAndAReferenceStaysANeed() throws {
        let folder = TemporaryFolder()
        folder.write("a.srt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n")
        let yaml = """
            name: t
            steps:
              - {id: b, uses: transcript.load, with: {path: a.srt}}
              - {id: a, uses: file.write, with: {path: a.srt, content: "${{ steps.b.outputs.segments }}"}}
              - {id: d, uses: transcript.load, with: {path: a.srt, window: "${{ steps.a.outputs.bytes }}"}}
            """
        let (plan, diagnostics) = plan(yaml, in: folder)
        #expect(lines(diagnostics) == [])
        let steps = try #require(plan?.steps)
        #expect(steps.first { $0.id == "b" }?.needs == [])
        let d = try #require(steps.first { $0.id == "d" })
        #expect(d.needs == [.init(step: "a", reason: .reference)])
        #expect(d.skippableNeeds == [])
        // Without the file beside the workflow, the first reader is told so.
        try FileManager.default.removeItem(atPath: folder.path + "/a.srt")
        #expect(lines(AIVCoreTests.plan(yaml, in: folder).diagnostics).first?.contains("error: file not found: 'a.srt'") == true)
    }

    /// A fan-in step's dependencies past the first few are kept in a set: each still appears
    /// once, in the order first met, with the reason it was first met for.
    @Test func aStepThatNeedsManyStepsHasEachOnceInOrder() throws {
        var yaml = "name: t\nsteps:\n"
        for i in 0..<40 { yaml += "  - {id: s\(i), uses: file.write, with: {path: s\(i).txt, content: x}}\n" }
        yaml += "  - id: all\n    uses: file.write\n    needs: [\((0..<30).map { "s\($0)" }.joined(separator: ", "))]\n"
        yaml += "    with: {path: all.txt, content: \"${{ steps.s35.outputs.bytes }} ${{ steps.s20.outputs.bytes }} ${{ steps.s35.outputs.path }}\"}\n"
        let steps = try #require(plan(yaml).plan?.steps)
        let all = try #require(steps.last)
        #expect(all.needs == (0..<30).map { .init(step: "s\($0)", reason: .needs) } + [.init(step: "s35", reason: .reference)])
    }

    @Test func evaluatesConditionsAndListsThatDependOnlyOnInputs() throws {
        let yaml = """
            name: t
            inputs:
              publish: {type: bool, default: false}
              names: {type: list, default: [a, b, c]}
            steps:
              - id: each
                uses: file.write
                for_each: ${{ inputs.names }}
                with: {path: "${{ item }}.txt", content: x}
              - id: maybe
                uses: file.write
                if: inputs.publish && env.AIV_PUBLISH
                with: {path: p.txt, content: x}
              - id: literal
                uses: file.write
                for_each: [1, 2]
                if: ${{ length(inputs.names) > 2 }}
                with: {path: "${{ item }}.txt", content: x}
            """
        let steps = try #require(plan(yaml, inputs: ["publish=true"], environment: ["AIV_PUBLISH": "yes"]).plan?.steps)
        #expect(steps[0].forEach?.items == ["a", "b", "c"])
        #expect(steps[1].condition?.constant == true)
        #expect(steps[2].forEach?.items == [1, 2])
        #expect(steps[2].forEach?.expression == nil)
        #expect(steps[2].condition?.constant == true)
        let off = try #require(plan(yaml, environment: [:]).plan?.steps)
        #expect(off[1].condition?.constant == false)
    }

    @Test func serviceSettingsFromInputsAreEvaluatedAndCheckedWhenCompiled() throws {
        let yaml = """
            name: t
            inputs:
              wait: {type: string, default: 90s}
              rate: {type: number, default: 10}
            services:
              gemini:
                timeout: ${{ inputs.wait }}
                limits: {requests_per_minute: "${{ inputs.rate }}"}
                base_url: "http://127.0.0.1:${{ env.PORT }}"
            steps:
              - {id: a, uses: file.write, with: {path: a.txt, content: x}}
            """
        let compiled = try #require(plan(yaml, environment: ["PORT": "8080"]).plan)
        #expect(compiled.services["gemini"] == .object(["timeout": "90s", "limits": .object(["requests_per_minute": 10]),
                                                        "base_url": "http://127.0.0.1:8080"]))
        let refused = plan(yaml, inputs: ["wait=-5", "rate=0"], environment: ["PORT": "8080"])
        #expect(refused.plan == nil)
        #expect(lines(refused.diagnostics) == [
            "7:14: error: 'services.gemini.timeout' must be a duration from 0 to a year, such as 30, \"90s\" or \"1h30m\", not '-5'",
            "8:35: error: 'services.gemini.limits.requests_per_minute' must be more than 0, not 0",
        ])
    }

    /// A kind's own checks run again with what the inputs give: lengths that cannot both hold
    /// are found when planning, not when the clip is cut after the paid analysis.
    @Test func aKindsChecksRunAgainWithTheInputsGiven() throws {
        let yaml = """
            name: t
            inputs:
              shortest: {type: string, default: 10s}
            steps:
              - {id: c, uses: clip.cut, with: {input: r.mp4, start: 5, end: 20, min_length: "${{ inputs.shortest }}", max_length: 60s, output: c.mp4}}
            """
        let folder = TemporaryFolder()
        folder.write("r.mp4", "")
        #expect(plan(yaml, in: folder).plan != nil)
        let refused = plan(yaml, in: folder, inputs: ["shortest=10m"])
        #expect(refused.plan == nil)
        #expect(lines(refused.diagnostics) == [
            "5:119: error: argument 'max_length' of clip.cut must not be shorter than min_length (10:00), not 1:00, with the inputs given",
        ])
    }

    /// A step the inputs given skip (its `if:` false with them, or a need so skipped) will not
    /// run: its values are not checked with those inputs, so a guarded step is no error.
    @Test func aStepTheInputsSkipIsNotCheckedWithThem() throws {
        let yaml = """
            name: t
            inputs:
              clip_end: {type: number, default: 0}
              extra: {type: string, default: "0"}
            steps:
              - {id: cut, uses: clip.cut, if: "inputs.clip_end > 0", with: {input: r.mp4, start: 10, end: "${{ inputs.clip_end }}", output: c.mp4}}
              - {id: after, uses: clip.cut, needs: cut, with: {input: r.mp4, start: 10, end: "${{ inputs.clip_end }}", output: d.mp4}}
              - {id: extras, uses: file.write, if: "inputs.extra != '0'", for_each: "${{ fromJSON(inputs.extra) }}", with: {path: "e${{ index }}.txt", content: x}}
            """
        let folder = TemporaryFolder()
        folder.write("r.mp4", "")
        #expect(lines(plan(yaml, in: folder).diagnostics) == [])
        // Given inputs that run them, they are checked.
        #expect(lines(plan(yaml, in: folder, inputs: ["clip_end=5", "extra=3"]).diagnostics) == [
            "6:95: error: argument 'end' of clip.cut must come after start (0:10), not 0:05, with the inputs given",
            "7:82: error: argument 'end' of clip.cut must come after start (0:10), not 0:05, with the inputs given",
            "8:73: error: 'for_each' of step 'extras' must be a list, but it is number here",
        ])
    }

    @Test func leavesExpressionsOnStepOutputsForRunTime() throws {
        let dir = TemporaryFolder()
        dir.write("t.srt", "")
        let yaml = """
            name: t
            steps:
              - id: load
                uses: transcript.load
                with: {path: t.srt}
              - id: each
                uses: file.write
                for_each: ${{ steps.load.outputs.chunks }}
                if: steps.load.outputs.segment_count > 0
                with: {path: "p${{ index }}.txt", content: "${{ item.text }}"}
            """
        let step = try #require(plan(yaml, in: dir).plan?.step("each"))
        #expect(step.forEach?.items == nil)
        #expect(step.forEach?.expression == "${{ steps.load.outputs.chunks }}")
        #expect(step.condition?.constant == nil)
        #expect(step.arguments["content"] == "${{ item.text }}")
        #expect(step.isCacheable)
    }

    @Test func recordsTemplateFilesAndCachePolicyInThePlan() throws {
        let dir = TemporaryFolder()
        dir.write("hello.mustache", "Hello {{name}}")
        let yaml = """
            name: t
            steps:
              - id: greet
                uses: template.render
                cache: false
                with: {template: hello.mustache, values: {name: Aoi}}
              - id: fresh
                uses: template.render
                cache: 12h
                retry: {attempts: 2}
                timeout: 90s
                with: {template: hello.mustache, values: {name: Aoi}}
            """
        let steps = try #require(plan(yaml, in: dir).plan?.steps)
        #expect(steps[0].prompts == ["hello.mustache"])
        #expect(steps[0].isCacheable == false)
        #expect(steps[1].cache == .timeToLive(43200))
        #expect(steps[1].retry.attempts == 2)
        #expect(steps[1].timeout == 90)
        #expect(PlanPrinter.notes(steps[1]) == "cached for 12h; 2 attempts; timeout 1m30s")
    }

    @Test func aChainOfThousandsOfStepsCompilesWithoutDeepRecursion() async throws {
        try await heavyComputation {
            var yaml = "name: chain\nsteps:\n  - id: s0\n    uses: file.write\n    with: {path: s0.txt, content: x}\n"
            for i in 1..<3000 {
                yaml += "  - id: s\(i)\n    uses: file.write\n    with: {path: s\(i).txt, content: \"${{ steps.s\(i - 1).outputs.path }}\"}\n"
            }
            let (plan, diagnostics) = plan(yaml)
            #expect(!diagnostics.hasErrors)
            #expect(plan?.steps.last?.layer == 2999)
        }
    }
}

@Suite struct DependencyGraphTests {
    @Test func findsEachCycleOnceStartingAtTheFirstDeclaredStep() {
        let graph = DependencyGraph(steps: ["a", "b", "c", "d", "e"], edges: ["a": ["b"], "b": ["c"], "c": ["a"], "d": ["e"], "e": ["d"]])
        #expect(graph.cycles() == [["a", "b", "c"], ["d", "e"]])
        #expect(graph.topologicalOrder() == nil)
    }

    @Test func aSelfLoopIsACycle() {
        #expect(DependencyGraph(steps: ["a"], edges: ["a": ["a"]]).cycles() == [["a"]])
    }

    @Test func layersFollowTheLongestPath() {
        let graph = DependencyGraph(steps: ["a", "b", "c", "d"], edges: ["b": ["a"], "c": ["a", "b"], "d": []])
        let order = graph.topologicalOrder()!
        #expect(order == ["a", "b", "c", "d"])
        #expect(graph.layers(order: order) == ["a": 0, "b": 1, "c": 2, "d": 0])
    }
}
