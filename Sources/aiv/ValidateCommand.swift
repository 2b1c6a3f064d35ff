import AIVCore
import ArgumentParser
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check workflows without running them, and report every problem at once.",
        discussion: "Checks YAML syntax, fields, step kinds and their arguments, references, prompt files and their variables, for_each lists and dependency cycles. Exit code 2 when any file is invalid.")

    @Argument(help: "Workflow files.", completion: .file(extensions: ["yaml", "yml"]))
    var files: [String]

    @Flag(help: "Print diagnostics as JSON lines on standard output.")
    var json = false

    func run() throws {
        var invalid = false
        let frontend = Frontend.standard()
        for file in files {
            let output = frontend.validate(path: file)
            invalid = invalid || output.diagnostics.hasErrors
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                for diagnostic in output.diagnostics.sorted {
                    print(String(decoding: try encoder.encode(diagnostic), as: UTF8.self))
                }
                continue
            }
            DiagnosticOutput.print(output.diagnostics, sources: output.sources)
            if !output.diagnostics.hasErrors, let workflow = output.workflow {
                print("\(file): valid: workflow '\(workflow.name)', \(workflow.steps.count) step\(workflow.steps.count == 1 ? "" : "s")")
            }
        }
        if invalid { throw ExitCode.invalid }
    }
}
