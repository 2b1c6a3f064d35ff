import AIVText

/// The help text of one step kind, for `aiv kinds <kind>`: read from its registry entry.
public enum KindHelp {
    /// `width`, a terminal's, fits the tables to it.
    public static func text(_ kind: StepKindDescription, width: Int? = nil) -> String {
        let tableWidth = width.map { $0 - 2 }  // the tables are indented by two
        /// Prose broken into lines that fit the terminal (each paragraph on its own).
        func prose(_ text: String) -> String {
            guard let width else { return text }
            return text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.isEmpty ? "" : TextColumns.breakGreedily($0, width: width).joined(separator: "\n") }.joined(separator: "\n")
        }
        var out = prose("\(kind.name) (version \(kind.version)): \(kind.summary)") + "\n"
        if !kind.discussion.isEmpty { out += "\n\(prose(kind.discussion))\n" }
        out += "\n" + (kind.effect == .sideEffecting ? "Has side effects: never cached, written to be idempotent.\n" : "Deterministic: cached by default.\n")
        if let service = kind.service { out += "Uses service '\(service)' and its rate limits.\n" }
        out += "\nArguments (with:):\n"
        out += Table.render(header: ["name", "type", "default", "description"], rows: kind.arguments.map {
            [$0.name + ($0.isRequired ? " (required)" : ""), $0.schema.phrase, $0.defaultValue.map { $0.canonicalJSON } ?? "", $0.summary]
        }, width: tableWidth).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        if case .object(let outputs) = kind.outputs {
            out += "\nOutputs (steps.<id>.outputs):\n"
            out += Table.render(header: ["name", "type", "description"], rows: outputs.properties.map {
                [$0.name, $0.schema.phrase, $0.summary]
            }, width: tableWidth).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        out += "\nExample:\n" + kind.example.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") + "\n"
        return out
    }
}
