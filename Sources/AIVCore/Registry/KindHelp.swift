/// The help text of one step kind, for `aiv kinds <kind>`: read from its registry entry.
public enum KindHelp {
    public static func text(_ kind: StepKindDescription) -> String {
        var out = "\(kind.name) (version \(kind.version)): \(kind.summary)\n"
        if !kind.discussion.isEmpty { out += "\n\(kind.discussion)\n" }
        out += "\n" + (kind.effect == .sideEffecting ? "Has side effects: never cached, written to be idempotent.\n" : "Deterministic: cached by default.\n")
        if let service = kind.service { out += "Uses service '\(service)' and its rate limits.\n" }
        out += "\nArguments (with:):\n"
        out += Table.render(header: ["name", "type", "default", "description"], rows: kind.arguments.map {
            [$0.name + ($0.isRequired ? " (required)" : ""), $0.schema.phrase, $0.defaultValue.map { $0.canonicalJSON } ?? "", $0.summary]
        }).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        if case .object(let outputs) = kind.outputs {
            out += "\nOutputs (steps.<id>.outputs):\n"
            out += Table.render(header: ["name", "type", "description"], rows: outputs.properties.map {
                [$0.name, $0.schema.phrase, $0.summary]
            }).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        out += "\nExample:\n" + kind.example.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") + "\n"
        return out
    }
}
