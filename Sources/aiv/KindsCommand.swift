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
            throw ValidationError("unknown step kind '\(name)'\(Suggestions.didYouMean(name, in: registry.kindNames))")
        }
        print(KindHelp.text(kind))
    }
}
