import Foundation
import Testing
@testable import AIVCore
import AIVSteps
import AIVTestSupport

/// A big workflow's steps are checked on several threads, each a share of the steps; these tests
/// hold the joined result to checking one step after another, on workflows full of problems.
@Suite struct ParallelCheckTests {
    /// A workflow of `steps` steps with problems of every kind the step check finds, spread so
    /// that each share of a parallel check holds some: unknown kinds, arguments and references,
    /// mistyped values, a prompt file that is missing (used by many steps: reported once), a
    /// prompt whose variables are not passed, secrets in expressions, and a dependency cycle
    /// across shares.
    static func troubledWorkflow(steps: Int) -> String {
        var yaml = "name: troubled\ninputs:\n  url: {type: string, default: u}\nsteps:\n"
        for i in 0..<steps {
            let previous = "s\(max(i - 1, 0))"
            switch i % 9 {
            case 0:
                yaml += "  - id: s\(i)\n    uses: list.merge\n    with: {lists: [[1], [2]]}\n"
            case 1:
                // A missing template, one whose front matter is wrong, one never closed: each
                // used by steps in every share, each reported once.
                let template = ["missing.mustache", "bad-config.mustache", "unclosed.mustache"][(i / 9) % 3]
                yaml += "  - id: s\(i)\n    uses: template.render\n    with: {template: \(template), values: {a: 1}, output: o\(i).md}\n"
            case 2:
                yaml += "  - id: s\(i)\n    uses: template.render\n    with: {template: t.mustache, values: {text: x, extra: 1}, output: o\(i).md}\n"
            case 3:
                yaml += "  - id: s\(i)\n    uses: list.sortt\n    with: {items: \"${{ steps.\(previous).outputs.items }}\"}\n"
            case 4:
                yaml += "  - id: s\(i)\n    uses: list.filter\n    with: {items: \"${{ steps.nowhere.outputs.items }}\", where: \"item > ${{ env.API_TOKEN }}\"}\n"
            case 5:
                yaml += "  - id: s\(i)\n    uses: list.sort\n    needs: [s\(i), ghost]\n    with: {items: 3, order: sideways, colour: red}\n"
            case 6:
                yaml += "  - id: s\(i)\n    uses: file.write\n    for_each: ${{ steps.\(previous).outputs.items }}\n"
                yaml += "    with: {path: \"../${{ index }}.txt\", content: \"${{ item.text + }}\"}\n"
            case 7:
                // Steps 7 and 16, 25 and 34, … depend on each other: cycles across shares.
                let partner = i + 9 < steps ? "s\(i + 9)" : "s\(i)"
                yaml += "  - id: s\(i)\n    uses: list.merge\n    needs: [\(partner)]\n    with: {lists: \"${{ steps.\(previous).outputs.items }}\"}\n"
            default:
                yaml += "  - id: s\(i)\n    uses: list.merge\n    if: ${{ steps.s\(max(i - 2, 0)).outputs.items == 1 }}\n    with: {lists: \"${{ steps.s\(i - 9 >= 0 ? i - 2 : 0).outputs.items }}\"}\n"
            }
        }
        return yaml
    }

    /// Checks with one worker and with `workers`, of the same file (messages name the files).
    static func checkAloneAndShared(_ yaml: String, workers: Int) throws -> (alone: CheckedWorkflow, shared: CheckedWorkflow) {
        let folder = TemporaryFolder()
        _ = folder.write("t.mustache", "{{text}} {{n}}")
        _ = folder.write("bad-config.mustache", "---\nconfig: 3\n---\nHello {{a}}\n")
        _ = folder.write("unclosed.mustache", "---\nmodel: x\nHello {{a}}\n")
        let path = folder.write("workflow.yaml", yaml)
        return (try check(path: path, workers: 1), try check(path: path, workers: workers))
    }

    static func check(path: String, workers: Int) throws -> CheckedWorkflow {
        let source = try SourceFile.read(path)
        let workflow = try #require(WorkflowLoader().load(source).workflow)
        return WorkflowChecker(registry: .builtin, workers: workers).check(workflow, source: source)
    }

    /// Everything a check produces, as text: diagnostics in the order found, edges, prompts and
    /// the parsed `if`/`for_each` of each step.
    static func summary(_ checked: CheckedWorkflow) -> [String] {
        var lines = checked.diagnostics.items.map { "\($0.location.map(\.description) ?? "-") \($0.severity.rawValue) \($0.message) \($0.length) \($0.notes.count)" }
        for step in checked.workflow.steps {
            let edges = (checked.dependencies[step.id] ?? []).map { "\($0.step)/\($0.reason)/\($0.location)" }
            lines.append("\(step.id) needs \(edges.joined(separator: ","))")
        }
        lines.append("prompts \(checked.prompts.keys.sorted())")
        lines += checked.parsedExpressions.map { "if \($0.condition?.text ?? "-") for_each \($0.forEach?.text ?? "-")" }
        return lines
    }

    @Test(arguments: [2, 3, 5, 8])
    func sharesJoinedGiveWhatOneThreadFinds(workers: Int) throws {
        let (alone, shared) = try Self.checkAloneAndShared(Self.troubledWorkflow(steps: 70), workers: workers)
        #expect(alone.diagnostics.errors.count > 100)
        // Under the 200 problems after which a parallel check is redone on one thread: these
        // are the shares' own results, joined.
        #expect(alone.diagnostics.items.count < 200)
        #expect(Self.summary(shared) == Self.summary(alone))
    }

    /// Past 200 problems the suggestions depend on the order problems are found in: a parallel
    /// check is then redone on one thread, and its report is exactly that thread's.
    @Test func aWorkflowWithHundredsOfProblemsReportsTheSameOnSeveralThreads() throws {
        let (alone, shared) = try Self.checkAloneAndShared(Self.troubledWorkflow(steps: 300), workers: 3)
        #expect(alone.diagnostics.items.count > 400)
        #expect(Self.summary(shared) == Self.summary(alone))
    }

    @Test func aPromptFilesOwnProblemsAreReportedOnceHoweverManySharesUseIt() throws {
        let checked = try Self.checkAloneAndShared(Self.troubledWorkflow(steps: 120), workers: 4).shared
        let missing = checked.diagnostics.items.filter { $0.message.hasPrefix("template file not found: 'missing.mustache'") }
        #expect(missing.count == 1)
        #expect(missing.first?.location?.line == 10)  // step s1, the first to use it
        let inFiles = checked.diagnostics.items.filter { $0.location?.file.hasSuffix(".mustache") == true }
        #expect(inFiles.count == 2, "bad-config and unclosed, once each: \(inFiles.map(\.message))")
        #expect(Set(inFiles.compactMap { $0.location?.file.split(separator: "/").last }) == ["bad-config.mustache", "unclosed.mustache"])
    }

    @Test func moreWorkersThanStepsCheckEveryStepOnce() throws {
        let (alone, shared) = try Self.checkAloneAndShared(Self.troubledWorkflow(steps: 5), workers: 16)
        #expect(Self.summary(shared) == Self.summary(alone))
    }

    @Test func aValidWorkflowStaysValidAndCompilesTheSameOnSeveralThreads() throws {
        var yaml = "name: fine\nsteps:\n  - id: s0\n    uses: list.merge\n    with: {lists: [[1], [2]]}\n"
        for i in 1..<600 {
            yaml += "  - id: s\(i)\n    uses: list.sort\n    with: {items: \"${{ steps.s\(i - 1).outputs.items }}\"}\n"
        }
        let (alone, shared) = try Self.checkAloneAndShared(yaml, workers: 3)
        #expect(alone.isValid && shared.isValid)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let planAlone = try Compiler(registry: .builtin).compile(alone, inputs: [:]).get()
        let planShared = try Compiler(registry: .builtin).compile(shared, inputs: [:]).get()
        #expect(try encoder.encode(planShared) == encoder.encode(planAlone))
        #expect(planShared.steps.count == 600)
    }
}
