import AIVCore
import AIVSteps
import AIVTestSupport
import Foundation


/// `line:col: severity: message` for each diagnostic, sorted: what tests compare against.
func lines(_ diagnostics: Diagnostics) -> [String] {
    diagnostics.sorted.map { d in
        let place = d.location.map { "\($0.line):\($0.column)" } ?? "-"
        return "\(place): \(d.severity.rawValue): \(d.message)"
    }
}

/// Loads and checks a workflow given as text (written to `workflow.yaml` in `directory`).
func checkWorkflow(_ yaml: String, in directory: TemporaryFolder = TemporaryFolder(),
                   registry: StepRegistry = .builtin) -> (checked: CheckedWorkflow?, diagnostics: Diagnostics) {
    let path = directory.write("workflow.yaml", yaml)
    let output = Frontend(registry: registry, environment: [:]).check(path: path)
    return (output.checked, output.diagnostics)
}

/// The diagnostics of a workflow given as text, as `line:col: severity: message`.
func diagnose(_ yaml: String, in directory: TemporaryFolder = TemporaryFolder(), registry: StepRegistry = .builtin) -> [String] {
    lines(checkWorkflow(yaml, in: directory, registry: registry).diagnostics)
}

/// Loads, checks and compiles a workflow given as text.
func plan(_ yaml: String, in directory: TemporaryFolder = TemporaryFolder(), inputs: [String] = [],
          environment: [String: String] = [:]) -> (plan: ExecutionPlan?, diagnostics: Diagnostics) {
    let path = directory.write("workflow.yaml", yaml)
    let frontend = Frontend(registry: .builtin, environment: environment, binder: InputBinder(currentDirectory: directory.path))
    let output = frontend.plan(path: path, assignments: inputs.compactMap(InputBinder.Assignment.init(argument:)))
    return (output.plan, output.diagnostics)
}

/// A registry with one extra kind that reads a prompt file, for tests of prompt checks.
let promptTestRegistry: StepRegistry = {
    var registry = StepRegistry.builtin
    registry.register(StepKindDescription(
        name: "test.prompt",
        summary: "A test kind that renders a prompt.",
        arguments: [
            Property("prompt", .string, required: true, role: .template(variables: "vars"), "Prompt file."),
            Property("vars", .map(.any), default: [:], "Values."),
            Property("count", .integer, "A number."),
        ],
        outputs: .object([Property("json", .any, required: true, "Parsed reply."), Property("text", .string, required: true, "Reply.")]),
        example: ""))
    return registry
}()
