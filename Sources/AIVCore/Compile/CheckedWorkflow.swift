/// A workflow after checking: its diagnostics, the dependencies of every step (explicit `needs`
/// and the implicit ones that references create), and the prompt files it reads.
public struct CheckedWorkflow: Sendable {
    public var workflow: Workflow
    public var diagnostics: Diagnostics
    /// Step id → what it depends on, in the order first found.
    public var dependencies: [String: [Dependency]]
    /// Prompt and template files by the path the workflow names them with (relative to the workflow).
    public var prompts: [String: PromptFile]
    /// The `if` and `for_each` expressions the checker parsed, by step position, so `Compiler`
    /// does not parse them again (re-parsing was a measured part of compiling). Each keeps the
    /// text it was parsed from: an entry whose text no longer matches the step is not used.
    var parsedExpressions: [ParsedStepExpressions] = []

    public var isValid: Bool { !diagnostics.hasErrors }
}

/// One edge of the DAG: `step` must finish before the dependent starts.
public struct Dependency: Sendable, Hashable, Codable {
    public enum Reason: String, Sendable, Codable {
        /// Listed under `needs:`.
        case needs
        /// Implied by a `${{ steps.<id>… }}` reference.
        case reference
        /// Implied by a literal input path that the other step writes as a literal output path:
        /// the file is read once it is written. Optional: when the writer is skipped, the path
        /// names a file beside the workflow, as it would without the writer.
        case file
    }

    public var step: String
    public var reason: Reason
    public var location: SourceLocation

    public init(step: String, reason: Reason, location: SourceLocation) {
        self.step = step
        self.reason = reason
        self.location = location
    }
}

/// A step's `if` and `for_each` expressions as the checker parsed them, with their source text.
struct ParsedStepExpressions: Sendable {
    var condition: (text: String, expression: Expression)?
    var forEach: (text: String, expression: Expression)?
}
