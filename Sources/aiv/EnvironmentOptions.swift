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

    /// The environment and the file; a file given with `--env-file` must exist, the default may not.
    func load() throws -> LoadedEnvironment {
        do {
            let loaded = try LoadedEnvironment.load(environment: ProcessInfo.processInfo.environment, dotEnv: envFile ?? ".env", required: envFile != nil)
            // The place and the message only, as below.
            for warning in loaded.warnings { StandardError.write("\(warning)\n") }
            return loaded
        } catch {
            // The place and the message only: the line itself may hold a key.
            let place = error.location.map { "\($0): " } ?? ""
            StandardError.write("\(place)error: \(error.message)\n")
            throw ExitCode.invalid
        }
    }
}
