import AIVCore
import ArgumentParser
import Foundation

/// The environment a workflow is planned and run with: the process's, with a `.env` file's
/// variables under it. `plan` and `graph` read it as `run` does, so `${{ env.NAME }}` and what
/// the cache forecast says match the run.
struct EnvironmentOptions: ParsableArguments {
    @Option(name: .customLong("env-file"),
            help: ArgumentHelp("A .env file of variables, keys and tokens (default: .env, when it exists; the environment wins).", valueName: "file"))
    var envFile: String?

    func validate() throws {
        if envFile == "" { throw ValidationError("--env-file needs a file; it was given nothing") }
    }

    /// The environment and the file; a file given with `--env-file` must exist, the default may
    /// not. Its problems are said with their place and message only (the line itself may hold a
    /// key), as `diagnostic` events with `json`, as the other problems of those commands are.
    func load(json: Bool = false) throws -> LoadedEnvironment {
        func say(_ diagnostic: Diagnostic) throws {
            if json { try JSONEventPrinter.printDiagnostics(Diagnostics([diagnostic])) } else { StandardError.write("\(diagnostic)\n") }
        }
        do {
            let loaded = try LoadedEnvironment.load(environment: ProcessInfo.processInfo.environment, dotEnv: envFile ?? ".env", required: envFile != nil)
            for warning in loaded.warnings { try say(warning) }
            return loaded
        } catch let error as Diagnostic {
            try say(error)
            throw ExitCode.invalid
        }
    }
}
