import AIVCore
import AIVSteps
import ArgumentParser
import CAllocator
import Foundation

@main
struct AIVCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aiv",
        abstract: "A declarative workflow engine that turns live-stream recordings into learning material.",
        discussion: """
            Workflows are YAML files of steps; each step uses a built-in step kind. Start with \
            'aiv validate workflows/post-stream.yaml', then 'aiv plan' to see what would run.
            Exit codes: 0 success, 1 a run failed (or what was asked for is not there), 2 the workflow or \
            its inputs are invalid, 64 a mistake in the command line, 130 a run interrupted (Ctrl-C, SIGTERM).
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, ValidateCommand.self, PlanCommand.self, GraphCommand.self, RunsCommand.self, CacheCommand.self,
                      SchemaCommand.self, KindsCommand.self, QuotaCommand.self])

    static func main() async {
        aiv_keep_freed_memory()  // see CAllocator: a tenth of a cached run's CPU time went to resizing heaps
        // A reader that goes away (`aiv run --json | head -1`) must not kill a run halfway: its
        // output is then dropped (the writes' EPIPE is ignored) and the run goes on to the end.
        signal(SIGPIPE, SIG_IGN)
        // A parent that started aiv with these blocked (Foundation.Process from a Swift task does)
        // would leave Ctrl-C and SIGTERM pending for ever; threads made from here on inherit this.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        // A mistyped subcommand gets the nearest one (the parser itself only says "unexpected arguments").
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let first = arguments.first, !first.hasPrefix("-") {
            let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
            if !names.contains(first) {
                StandardError.write("Error: unknown command '\(first)'\(Suggestions.didYouMean(first, in: names)); 'aiv --help' lists the commands\n")
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
            // `aiv runs shwo`: the parser would call it an unexpected argument of the default
            // subcommand. A word near a subcommand's name is taken as that name mistyped.
            if let command = configuration.subcommands.first(where: { $0.configuration.commandName == first }),
               arguments.count > 1, !arguments[1].hasPrefix("-") {
                let known = command.configuration.subcommands.compactMap { $0.configuration.commandName }
                if !known.isEmpty, !known.contains(arguments[1]), let near = Suggestions.closest(to: arguments[1], in: known) {
                    StandardError.write("Error: unknown command '\(first) \(arguments[1])'; did you mean '\(first) \(near)'?; 'aiv \(first) --help' lists the commands\n")
                    Foundation.exit(ExitCode.validationFailure.rawValue)
                }
            }
            // `aiv help nosuch` (or `aiv help runs nosuch`) would print an overview and succeed:
            // a script would never know.
            if first == "help" {
                var command: any ParsableCommand.Type = self
                var path = "aiv"
                for word in arguments.dropFirst() {
                    let children = command.configuration.subcommands
                    guard !word.hasPrefix("-"), !children.isEmpty else { break }
                    guard let child = children.first(where: { $0.configuration.commandName == word }) else {
                        let known = children.compactMap { $0.configuration.commandName }
                        StandardError.write("Error: no command '\(path == "aiv" ? "" : path.dropFirst(4) + " ")\(word)'\(Suggestions.didYouMean(word, in: known)); '\(path) --help' lists the commands\n")
                        Foundation.exit(ExitCode.validationFailure.rawValue)
                    }
                    command = child
                    path += " " + word
                }
            }
        }
        await main(nil)
    }
}

/// The workflow file and its inputs, shared by the commands that compile a workflow.
struct WorkflowOptions: ParsableArguments {
    @Argument(help: "The workflow file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Option(name: .customLong("input"), help: ArgumentHelp("An input value, as name=value; repeatable.", valueName: "name=value"))
    var inputs: [String] = []

    @Option(name: .customLong("inputs"), help: ArgumentHelp("A YAML file of input values.", valueName: "file"))
    var inputsFile: String?

    /// Checked while parsing, so the usage printed with the error is the subcommand's.
    func validate() throws {
        _ = try assignments()
        if inputsFile == "" { throw ValidationError("--inputs needs a file; it was given nothing") }
    }

    func assignments() throws -> [InputBinder.Assignment] {
        try inputs.map { argument in
            guard let assignment = InputBinder.Assignment(argument: argument), !assignment.name.isEmpty else {
                throw ValidationError("--input takes name=value, not '\(argument)'")
            }
            return assignment
        }
    }
}

/// Prints diagnostics to standard error, in color on a terminal (unless NO_COLOR is set).
enum DiagnosticOutput {
    /// A terminal that shows color: not with NO_COLOR set to anything but the empty string
    /// (no-color.org), nor on a `TERM=dumb` one (an editor's shell buffer prints the escapes).
    static var useColor: Bool {
        let environment = ProcessInfo.processInfo.environment
        return isatty(STDERR_FILENO) != 0 && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
    }

    static func print(_ diagnostics: Diagnostics, sources: [SourceFile]) {
        guard !diagnostics.isEmpty else { return }
        var renderer = DiagnosticRenderer(useColor: useColor, files: sources)
        var text = renderer.render(diagnostics)
        // Counted as printed: the same problem reached twice (a value shared through a YAML
        // alias) is one line, so one in the count.
        let shown = diagnostics.sorted
        let errors = shown.filter { $0.severity == .error }.count, warnings = shown.count - errors
        var summary: [String] = []
        if errors > 0 { summary.append("\(errors) error\(errors == 1 ? "" : "s")") }
        if warnings > 0 { summary.append("\(warnings) warning\(warnings == 1 ? "" : "s")") }
        text += summary.joined(separator: " and ") + "\n"
        StandardError.write(text)
    }
}

/// What was asked for is not there (a run id that matches no run…): ArgumentParser prints the
/// message as an error and exits with 1, without the usage text a `ValidationError` (a mistake in
/// the command line itself, exit 64) brings.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Exit code 2: the workflow or its inputs are invalid.
extension ExitCode {
    static let invalid = ExitCode(2)
}

extension Frontend {
    static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> Frontend {
        Frontend(registry: .builtin, environment: environment)
    }
}
