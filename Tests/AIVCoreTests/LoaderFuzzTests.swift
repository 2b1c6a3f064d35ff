import AIVCore
import AIVSteps
import AIVTestSupport
import Foundation
import Testing

/// Thousands of mutated and hostile documents into the loader and checker: each must end in
/// diagnostics or a workflow, quickly, never a crash or a hang.
@Suite struct LoaderFuzzTests {
    static let seedWorkflow = """
        name: fuzz
        inputs:
          transcript: {type: file, default: t.srt}
          names: {type: list, default: [a, b]}
        services:
          gemini: {model: m, limits: {requests_per_minute: 10}}
        steps:
          - id: load
            uses: transcript.load
            with: {path: "${{ inputs.transcript }}", window: 5m}
          - id: each
            uses: template.render
            for_each: ${{ steps.load.outputs.chunks }}
            if: length(inputs.names) > 1 && steps.load.outputs.duration >= 0
            retry: {attempts: 2, backoff: 1s}
            with:
              template: t.mustache
              values: {text: "${{ item.text }}", n: "${{ index }}"}
              output: "out/${{ index }}.md"
          - id: keep
            uses: list.filter
            with: {items: "${{ steps.load.outputs.segments }}", where: "contains(item.text, '?')"}
        """

    static let fragments = ["${{", "}}", "${{ steps.", "[", "]", "{", "}", ":", "- ", "&a ", "*a", "<<: *a", "'", "\"", "\n", "\t",
                            "  ", "#", "!!str ", "!tag ", "? ", "|", ">", "---\n", "...\n", "\u{0}", "é", "草", "\\", "%YAML 1.2\n",
                            "uses: ", "id: x", "needs: [x]", "for_each: 3", "if: (", "&&", "||", "!", "==", "length(", "item.", "[*]"]

    static func mutate(_ text: String, with random: inout SplitMix64) -> String {
        var scalars = Array(text.unicodeScalars)
        let edits = Int.random(in: 1...6, using: &random)
        for _ in 0..<edits {
            let position = scalars.isEmpty ? 0 : Int.random(in: 0..<scalars.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where !scalars.isEmpty:
                scalars.removeSubrange(position..<min(scalars.count, position + Int.random(in: 1...12, using: &random)))
            case 1:
                scalars.insert(contentsOf: fragments.randomElement(using: &random)!.unicodeScalars, at: position)
            case 2 where !scalars.isEmpty:
                let other = Int.random(in: 0..<scalars.count, using: &random)
                scalars.swapAt(position, other)
            default:
                let length = Int.random(in: 1...40, using: &random)
                let start = scalars.isEmpty ? 0 : Int.random(in: 0..<scalars.count, using: &random)
                let chunk = Array(scalars[start..<min(scalars.count, start + length)])
                scalars.insert(contentsOf: chunk, at: position)
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    @Test func mutatedWorkflowsEndInDiagnosticsOrAWorkflow() async throws {
        try await heavyComputation {
            let dir = TemporaryFolder()
            dir.write("t.srt", "")
            dir.write("t.mustache", "{{text}} {{n}}")
            let checker = WorkflowChecker(registry: .builtin)
            var random = SplitMix64(seed: 2026)
            var outcomes = (valid: 0, invalid: 0)
            let started = Date()
            for round in 0..<3000 {
                let text = Self.mutate(Self.seedWorkflow, with: &random)
                let file = SourceFile(path: (dir.path as NSString).appendingPathComponent("w\(round).yaml"), text: text)
                let (workflow, loadDiagnostics) = WorkflowLoader().load(file)
                var diagnostics = loadDiagnostics
                if let workflow {
                    let checked = checker.check(workflow, source: file)
                    diagnostics.append(contentsOf: checked.diagnostics)
                    if checked.isValid {
                        _ = Compiler(registry: .builtin).compile(checked, inputs: [:])
                    }
                }
                // Every error must say where it is.
                for error in diagnostics.errors { #expect(error.location != nil, "round \(round): \(error.message)") }
                if diagnostics.hasErrors { outcomes.invalid += 1 } else { outcomes.valid += 1 }
            }
            #expect(outcomes.invalid > 1000)
            #expect(outcomes.valid > 10)
            #expect(Date().timeIntervalSince(started) < 120)
        }
    }

    static let hostileDocuments: [(String, String)] = {
        var bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in 1...12 {
            let aliases: [String] = Array(repeating: "*a\(i - 1)", count: 9)
            bomb += "a\(i): &a\(i) [" + aliases.joined(separator: ",") + "]\n"
        }
        bomb += "name: x\nsteps: *a12\n"
        let deepBlock = String(repeating: "- ", count: 2000) + "x\n"
        let deepFlow = String(repeating: "{a: ", count: 3000) + "1" + String(repeating: "}", count: 3000)
        let hugeKey = "name: x\n" + String(repeating: "k", count: 1 << 20) + ": 1\nsteps: []\n"
        let manyDocuments = String(repeating: "---\nname: x\n", count: 1000)
        let parentheses = String(repeating: "(", count: 20000)
        let longExpression = "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: \"${{ " + parentheses + " }}\"}\n"
        let wideMapping = "name: x\nsteps: 1\nbig:\n" + (0..<100_000).map { "  k\($0 % 99_999): 1\n" }.joined()
        let control = "name: \u{7}\u{1B}[31m\nsteps: [\u{8}]\n"
        // Placing each problem inside its string is a walk over the string: 250 of them at the end
        // of 4 MB once took 46 s; a budget now bounds the walking (eight walks here, then the string).
        let problems = (0..<250).map { "${{ steps.nope\($0).outputs.x }}" }.joined(separator: " ")
        let longString = "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: \"" + String(repeating: "x", count: 256 << 10) + " " + problems + "\"}\n"
        return [("alias bomb", bomb), ("deep block nesting", deepBlock), ("deep flow mapping", deepFlow), ("huge key", hugeKey),
                ("many documents", manyDocuments), ("long expression", longExpression), ("control characters", control),
                ("100,000 keys, one repeated", wideMapping), ("250 problems at the end of a 256 KB string", longString)]
    }()

    @Test(arguments: hostileDocuments)
    func hostileDocumentsFailFastWithALocatedError(_ name: String, _ text: String) async throws {
        try await heavyComputation {
            let started = Date()
            let file = SourceFile(path: "hostile.yaml", text: text)
            let (workflow, loadDiagnostics) = WorkflowLoader().load(file)
            var diagnostics = loadDiagnostics
            if let workflow { diagnostics.append(contentsOf: WorkflowChecker(registry: .builtin).check(workflow, source: file).diagnostics) }
            #expect(diagnostics.hasErrors, "\(name) was accepted")
            #expect(diagnostics.errors.allSatisfy { $0.location != nil })
            #expect(Date().timeIntervalSince(started) < 5, "\(name) took too long")
        }
    }
}
