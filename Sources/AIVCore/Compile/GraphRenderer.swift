/// Draws a plan's DAG for `aiv graph`: Graphviz dot or Mermaid. Steps with `for_each` are
/// marked (a stacked box in dot, a subroutine shape in Mermaid), conditional steps say so.
public enum GraphRenderer {
    public static func dot(_ plan: ExecutionPlan) -> String {
        var out = "digraph \"\(escape(plan.workflow))\" {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n"
        for step in plan.steps {
            var attributes = ["label=\"\(labelParts(step).map(escape).joined(separator: "\\n"))\""]
            if step.forEach != nil { attributes.append("shape=box3d") }
            if step.condition != nil { attributes.append("style=dashed") }
            if step.effect == .sideEffecting { attributes.append("color=\"#b03030\"") }
            out += "  \"\(escape(step.id))\" [\(attributes.joined(separator: ", "))];\n"
        }
        for step in plan.steps {
            for need in step.needs {
                // Listed needs dotted; an optional one (its skipping does not skip this step) also
                // labelled; a file read after its writer, labelled so.
                var style: [String] = need.reason == .needs ? ["style=dotted"] : []
                if need.reason == .file {
                    style += ["label=\"file\"", "arrowhead=empty"]
                } else if step.optionalNeeds.contains(need.step) {
                    style += ["label=\"optional\"", "arrowhead=empty"]
                }
                out += "  \"\(escape(need.step))\" -> \"\(escape(step.id))\"\(style.isEmpty ? "" : " [\(style.joined(separator: ", "))]");\n"
            }
        }
        return out + "}\n"
    }

    public static func mermaid(_ plan: ExecutionPlan) -> String {
        var out = "flowchart LR\n"
        let ids = Dictionary(uniqueKeysWithValues: plan.steps.enumerated().map { ($1.id, "s\($0)") })
        for step in plan.steps {
            let text = "\"" + labelParts(step).joined(separator: "<br/>").replacingOccurrences(of: "\"", with: "#quot;") + "\""
            let node = step.forEach != nil ? "[[\(text)]]" : step.condition != nil ? "{{\(text)}}" : "[\(text)]"
            out += "  \(ids[step.id]!)\(node)\n"
        }
        for step in plan.steps {
            for need in step.needs {
                let arrow = need.reason == .file ? "-- file -->"
                    : step.optionalNeeds.contains(need.step) ? (need.reason == .needs ? "-. optional .->" : "-- optional -->")
                    : need.reason == .needs ? "-.->" : "-->"
                out += "  \(ids[need.step]!) \(arrow) \(ids[step.id]!)\n"
            }
        }
        return out
    }

    static func labelParts(_ step: PlannedStep) -> [String] {
        var parts = [step.id, step.kind]
        if let fanout = step.forEach { parts.append(fanout.items.map { "for each ×\($0.count)" } ?? "for each") }
        if step.condition != nil { parts.append("if …") }
        return parts
    }

    /// Text inside a dot string: quotes and backslashes escaped, and a control character (a NUL
    /// or a line break in a workflow's name, which Graphviz refuses or breaks on) shown as �.
    static func escape(_ text: String) -> String {
        let visible = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "\u{FFFD}" : $0 }))
        return visible.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
