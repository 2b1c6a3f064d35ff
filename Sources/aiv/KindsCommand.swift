import AIVCore
import AIVSteps
import ArgumentParser

struct KindsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kinds",
        abstract: "List the built-in step kinds, or show one kind's arguments, outputs and an example.")

    @Argument(help: "A step kind (transcript.load), or a family of kinds (obs, list).")
    var kind: String?

    func run() throws {
        let registry = StepRegistry.builtin
        func list(_ kinds: [StepKindDescription]) {
            let rows = kinds.map { [$0.name, $0.effect == .sideEffecting ? "side effects" : "cached", $0.summary] }
            print(Table.render(header: ["kind", "cache", "summary"], rows: rows, width: Terminal.tableWidth), terminator: "")
        }
        guard let name = kind else {
            list(registry.kinds)
            print("\nServices: " + registry.services.map(\.name).joined(separator: ", "))
            return
        }
        if let kind = registry[kind: name] {
            print(KindHelp.text(kind, width: Terminal.tableWidth))
            return
        }
        // A family (`aiv kinds obs`): its kinds, as the full list shows them.
        let family = registry.kinds.filter { $0.name.hasPrefix(name + ".") }
        guard family.isEmpty else {
            list(family)
            return
        }
        // What was asked for is not there (exit 1), not a misuse of the command line.
        let families = Set(registry.kindNames.compactMap { $0.split(separator: ".").first.map(String.init) }).sorted()
        var hint = Suggestions.didYouMean(name, in: registry.kindNames)
        if hint.isEmpty { hint = Suggestions.didYouMean(name, in: families) }
        throw CommandFailure("unknown step kind '\(Suggestions.quoted(name))'\(hint); 'aiv kinds' lists them")
    }
}
