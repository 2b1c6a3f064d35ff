import AIVCore
import AIVStore
import AIVSteps
import ArgumentParser
import Foundation

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the execution plan: the steps in the order they can run, and what each needs.")

    @OptionGroup var workflow: WorkflowOptions
    @OptionGroup var state: StateOptions
    @OptionGroup var environmentOptions: EnvironmentOptions

    @Flag(help: "Print the plan as JSON.")
    var json = false

    @Flag(name: .customLong("dry-run"), help: "Say what a dry run (aiv run --dry-run) would take from the cache; its results are kept apart from live ones.")
    var dryRun = false

    @Option(help: ArgumentHelp("With --dry-run, the fixture folder the run would replay (default: fixtures/<workflow> beside the workflow file).", valueName: "dir"))
    var fixtures: String?

    func validate() throws {
        if fixtures != nil, !dryRun { throw ValidationError("--fixtures goes with --dry-run: the folder whose answers the plan judges") }
        try StateOptions.checkFolder(fixtures, option: "--fixtures")
    }

    func run() throws {
        let loadedEnvironment = try environmentOptions.load(json: json)
        let environment = loadedEnvironment.variables
        let output = Frontend.standard(environment: environment)
            .plan(path: workflow.file, inputsFile: workflow.inputsFile, assignments: try workflow.assignments())
        if json, !output.diagnostics.isEmpty {
            // The same events `aiv run --json` gives: a script reads one format.
            try JSONEventPrinter.printDiagnostics(output.diagnostics)
        } else {
            DiagnosticOutput.print(output.diagnostics, sources: output.sources)
        }
        guard var plan = output.plan, let loaded = output.workflow else { throw ExitCode.invalid }
        let secrets = plan.secrets(adding: loadedEnvironment.secrets)
        // A dry run's fixtures are checked as the run checks them: what would stop the run (a
        // malformed file, no fixtures at all) stops the plan, with the same located error.
        var recordings: [RecordedExchange]?
        if dryRun {
            let folder = Paths.resolve(fixtures ?? RunCommand.defaultFixtureFolder(workflowFile: workflow.file),
                                       relativeTo: FileManager.default.currentDirectoryPath)
            do {
                recordings = try FixtureFile.load(folder: folder)
            } catch {
                if json { try JSONEventPrinter.printDiagnostics(Diagnostics([error])) } else { DiagnosticOutput.print(Diagnostics([error]), sources: []) }
                throw ExitCode.invalid
            }
            if recordings?.isEmpty != false, plan.steps.contains(where: { $0.service != nil }) {
                StandardError.write("aiv: --dry-run: no fixtures in \(folder); record them with `\(RunCommand.recordCommand(workflow.file, fixtures: fixtures))`\n")
                throw ExitCode.invalid
            }
        }
        // What the next run would take from the cache, and why not (only when a cache exists).
        var cache: [String: String]?
        var verdicts: [String: CacheForecast.Verdict] = [:]
        if let store = try state.openExistingStore() {
            let facts = ServiceKeyFacts(services: BuiltinServices.http, environment: environment, replaying: recordings)
            let forecast = CacheForecast(plan: plan, registry: .builtin, cache: SQLiteCacheStore(store: store),
                                         blobs: state.blobs, environment: environment, secrets: secrets, workflowDirectory: loaded.baseDirectory,
                                         serviceFacts: facts)
            verdicts = forecast.verdicts
            cache = verdicts.mapValues(CacheForecast.describe)
        }
        // A service step with nothing recorded (one added since the recording) fails a dry run
        // unless its result comes from the cache: said now, not halfway through the run. Only
        // of steps certain to run: one that may be skipped (the no-transcript route's) may
        // well have no recording.
        if let recordings {
            let recorded = Set(recordings.map(\.step))
            let byID = Dictionary(plan.steps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            var skippable: [String: Bool] = [:]
            func mayBeSkipped(_ id: String) -> Bool {
                DependencyGraph.mayBeSkipped(id, skipsItself: { byID[$0].map { ($0.condition != nil && $0.condition?.constant != true) || $0.continueOnError } },
                                             needs: { id in byID[id].map { step in step.needs.map(\.step).filter { !step.optionalNeeds.contains($0) } } ?? [] },
                                             known: &skippable)
            }
            for step in plan.steps where step.service != nil && !recorded.contains(step.id) && !mayBeSkipped(step.id) {
                switch verdicts[step.id] {
                case .cached?, .skipped?: continue
                default: StandardError.write("aiv: warning: step '\(step.id)' has no recording to replay (\(step.id).yaml in the fixtures); if it runs, a dry run fails at it: record it with `\(RunCommand.recordCommand(workflow.file, fixtures: fixtures))`\n")
                }
            }
        }
        // Shown without a secret input's value (`--input stream_key=…`).
        plan.inputs = plan.shownInputs(redactedBy: secrets)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            var shown = plan
            shown.services = plan.services.mapValues(Redaction.settingsWithoutCredentials)
            // The plan, and beside it what the next run would take from the cache (with a cache);
            // all of it redacted, as a for_each's list or a setting may be worked out from a secret input.
            var object = secrets.redact(try JSONDecoder().decode(JSONValue.self, from: try encoder.encode(shown))).objectValue ?? [:]
            if cache != nil { object["cache"] = .object(verdicts.mapValues(CacheForecast.json)) }
            print(String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self))
        } else {
            // A condition or a for_each list written with a secret's value shows the marker.
            print(secrets.redact(PlanPrinter.text(plan, cache: cache, width: Terminal.tableWidth)), terminator: "")
        }
    }
}

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw the workflow's DAG as Graphviz dot or Mermaid.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case dot, mermaid
    }

    @OptionGroup var workflow: WorkflowOptions
    @OptionGroup var environmentOptions: EnvironmentOptions

    @Option(help: "Output format.")
    var format: Format = .mermaid

    func run() throws {
        let output = Frontend.standard(environment: try environmentOptions.load().variables).plan(path: workflow.file, inputsFile: workflow.inputsFile, assignments: try workflow.assignments())
        DiagnosticOutput.print(output.diagnostics, sources: output.sources)
        guard let plan = output.plan else { throw ExitCode.invalid }
        print(format == .dot ? GraphRenderer.dot(plan) : GraphRenderer.mermaid(plan), terminator: "")
    }
}

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of the workflow format, for editors with a YAML language server.",
        discussion: "Save it (aiv schema > aiv.schema.json) and add '# yaml-language-server: $schema=aiv.schema.json' to the top of a workflow.")

    func run() throws {
        print(WorkflowSchema.document(for: .builtin).prettyJSON)
    }
}
