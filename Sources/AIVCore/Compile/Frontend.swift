import Foundation

/// Everything before running, in one place for the CLI and tests: load the workflow, check it
/// against the registry, bind the inputs, compile the plan, and keep the sources for printing.
public struct Frontend: Sendable {
    public struct Output: Sendable {
        public var workflow: Workflow?
        public var checked: CheckedWorkflow?
        public var plan: ExecutionPlan?
        public var diagnostics: Diagnostics
        /// The files diagnostics point into, already read.
        public var sources: [SourceFile]
    }

    public var registry: StepRegistry
    public var environment: [String: String]
    public var binder: InputBinder

    public init(registry: StepRegistry, environment: [String: String] = ProcessInfo.processInfo.environment,
                binder: InputBinder = InputBinder()) {
        self.registry = registry
        self.environment = environment
        self.binder = binder
    }

    /// Loads and checks only (what `aiv validate` does), and warns of `file` inputs whose
    /// default is not there (`plan` and `run` bind the inputs, and say so as an error when the
    /// default is needed).
    public func check(path: String) -> Output {
        var output = loadAndCheck(path: path)
        if let workflow = output.workflow { output.diagnostics.append(contentsOf: Self.missingFileDefaults(workflow)) }
        return output
    }

    /// A `file` input's default that is not there: a warning, as the workflow is fine when the
    /// input is always given.
    static func missingFileDefaults(_ workflow: Workflow) -> [Diagnostic] {
        workflow.inputs.compactMap { input in
            guard input.type == .file, let value = input.defaultValue, let path = value.string, !path.isEmpty else { return nil }
            let resolved = Paths.resolve(path, relativeTo: workflow.baseDirectory)
            guard !FileManager.default.fileExists(atPath: resolved) else { return nil }
            return .warning("input '\(input.name)': its default file is not there (looked for \(resolved)); plan and run need --input \(input.name)=…",
                            at: value.location, length: value.length)
        }
    }

    func loadAndCheck(path: String) -> Output {
        let source: SourceFile
        do {
            source = try SourceFile.read(path)
        } catch {
            return Output(diagnostics: Diagnostics([error]), sources: [])
        }
        let (workflow, loadDiagnostics) = WorkflowLoader().load(source)
        var diagnostics = loadDiagnostics
        guard let workflow else { return Output(diagnostics: diagnostics, sources: [source]) }
        let checked = WorkflowChecker(registry: registry).check(workflow, source: source)
        diagnostics.append(contentsOf: checked.diagnostics)
        return Output(workflow: workflow, checked: checked, diagnostics: diagnostics, sources: [source])
    }

    /// Checks, binds the inputs' defaults (a default file that is missing, or a list default that
    /// breaks its `items` schema, is an error here as in a run), then compiles with them when
    /// every input has one (what `aiv validate` does): what the compiler checks with values
    /// (service settings written as expressions, a kind's own checks with what the inputs give) is
    /// reported too. A workflow with an input that must be given is not compiled.
    public func validate(path: String) -> Output {
        var output = loadAndCheck(path: path)
        // The defaults are bound whatever else is wrong: every problem at once.
        guard let workflow = output.workflow else { return output }
        let (values, bindDiagnostics) = binder.bind(workflow, file: nil, assignments: [], requiresGiven: false)
        output.diagnostics.append(contentsOf: bindDiagnostics)
        guard let checked = output.checked, !output.diagnostics.hasErrors, !workflow.inputs.contains(where: \.isRequired) else { return output }
        if case .failure(let problems) = Compiler(registry: registry).compile(checked, inputs: values, environment: environment) {
            output.diagnostics.append(contentsOf: problems)
        }
        return output
    }

    /// Loads, checks, binds inputs and compiles (what `aiv plan` and `aiv run` start with).
    public func plan(path: String, inputsFile: String? = nil, assignments: [InputBinder.Assignment] = []) -> Output {
        var output = loadAndCheck(path: path)
        guard let workflow = output.workflow, let checked = output.checked, !output.diagnostics.hasErrors else { return output }
        var fileValues: SourceValue?
        // An inputs file that cannot be read (or is no YAML at all) binds nothing: every input
        // it would have given would be reported missing besides.
        var unreadable = false
        if let inputsFile {
            do {
                let source = try SourceFile.read(inputsFile, readsPipes: true)
                let (value, problems) = YAMLReader().read(source)
                // Its lines are quoted under its errors, unless it gives a secret input
                // (`stream_key: …`): then only the place is said (the renderer, which would read
                // the file itself, is given it without lines).
                let secret = workflow.secretInputs
                let holdsSecret = (value?.entries ?? []).contains { secret.contains($0.key) }
                output.sources.append(holdsSecret ? SourceFile(path: source.path, text: "") : source)
                output.diagnostics.append(contentsOf: problems)
                fileValues = value
                // (An empty file gives no values, and no error.)
                unreadable = value == nil && problems.hasErrors
            } catch {
                unreadable = true
                // As a missing --env-file is said: no place in a file that is not there.
                output.diagnostics.append(FileManager.default.fileExists(atPath: inputsFile) ? error
                                          : .error("no such file: \(inputsFile) (given with --inputs)", at: nil))
            }
        }
        guard !unreadable else { return output }
        if !assignments.isEmpty {
            output.sources.append(InputBinder.commandLine(assignments, hiding: workflow.secretInputs).source)
        }
        let (values, bindDiagnostics) = binder.bind(workflow, file: fileValues, assignments: assignments)
        output.diagnostics.append(contentsOf: bindDiagnostics)
        guard !output.diagnostics.hasErrors else { return output }
        switch Compiler(registry: registry).compile(checked, inputs: values, environment: environment) {
        case .success(let plan): output.plan = plan
        case .failure(let problems): output.diagnostics.append(contentsOf: problems)
        }
        return output
    }
}
