import AIVCore
import AIVSteps
import ArgumentParser

struct KindsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kinds",
        abstract: "List the built-in step kinds, or show one kind's arguments, outputs and an example.")

    @Argument(help: "A step kind, e.g. transcript.load.")
    var kind: String?

    func run() throws {
        let registry = StepRegistry.builtin
        guard let name = kind else {
            let rows = registry.kinds.map { [$0.name, $0.effect == .sideEffecting ? "side effects" : "cached", $0.summary] }
            print(Table.render(header: ["kind", "cache", "summary"], rows: rows), terminator: "")
            print("\nServices: " + registry.services.map(\.name).joined(separator: ", "))
            return
        }
        guard let kind = registry[kind: name] else {
            // What was asked for is not there (exit 1), not a misuse of the command line.
            var hint = Suggestions.didYouMean(name, in: registry.kindNames)
            let family = registry.kindNames.filter { $0.hasPrefix(name + ".") }
            if hint.isEmpty, !family.isEmpty {
                hint = family.count == 1 ? "; did you mean '\(family[0])'?" : "; the '\(name)' kinds are \(family.joined(separator: ", "))"
            }
            throw CommandFailure("unknown step kind '\(name)'\(hint); 'aiv kinds' lists them")
        }
        print(KindHelp.text(kind))
    }
}
