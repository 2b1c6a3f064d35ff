import AIVCore
import AIVSteps
import AIVStore
import ArgumentParser
import Foundation

/// `aiv quota`: each service's daily quota, what today (in the service's time zone) has used and
/// what is left, counted across runs.
struct QuotaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Show each service's daily quota: used today, left, and when it resets.",
        discussion: """
            Counts are kept in the state folder's database across runs. Limits come from the workflow's \
            services.<name>.limits when a workflow is given, else from the documented defaults. Gemini's day \
            resets at midnight Pacific time; a run warns when a quota passes 80%.
            """)

    @OptionGroup var state: StateOptions
    @Argument(help: "A workflow whose services.<name>.limits to use.") var workflow: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        var settings: [String: JSONValue] = [:]
        if let workflow {
            // Compiled with the inputs' defaults, so limits written as expressions count as a run would take them.
            let output = Frontend.standard().validate(path: workflow)
            DiagnosticOutput.print(output.diagnostics, sources: output.sources)
            guard let checked = output.workflow, !output.diagnostics.hasErrors else { throw ExitCode.invalid }
            settings = Dictionary(checked.services.map { ($0.name, $0.settings.json) }, uniquingKeysWith: { first, _ in first })
            if let compiled = Frontend.standard().plan(path: workflow).plan { settings = compiled.services }
        }
        // Nothing counted yet (or a mistyped --state-dir): zeros, and no new database left behind.
        let ledger: any QuotaLedger = try state.openExistingStore().map { SQLiteQuotaLedger(store: $0) } ?? MemoryQuotaLedger()
        let now = Date()
        var rows: [[String]] = []
        var objects: [JSONValue] = []
        for name in BuiltinServices.http.keys.sorted() {
            let limits = BuiltinServices.http[name]!.defaultLimits.overridden(by: settings[name]?["limits"])
            let day = QuotaDay.day(of: now, timeZone: limits.dayTimeZone)
            // The service's own count, then today's counts of other servers (stand-ins, proxies).
            let servers = [""] + (try ledger.names(day: day)).compactMap { $0.hasPrefix(name + " ") ? String($0.dropFirst(name.count + 1)) : nil }
            for server in servers {
                let used = try ledger.usage(service: QuotaDay.ledgerName(service: name, server: server), day: day)
                let reset = QuotaDay.nextReset(after: now, timeZone: limits.dayTimeZone)
                let left = limits.requestsPerDay.map { max(0, $0 - used.requests) }
                let percent = limits.requestsPerDay.map { $0 > 0 ? Int((Double(used.requests) / Double($0) * 100).rounded()) : 100 }
                rows.append([server.isEmpty ? name : "\(name) at \(server)", day, String(used.requests), limits.requestsPerDay.map(String.init) ?? "none",
                             left.map(String.init) ?? "-", percent.map { "\($0)%" + ($0 >= 80 ? " ⚠" : "") } ?? "-", String(used.tokens),
                             limits.requestsPerDay == nil ? "-" : "in " + Durations.format((reset.timeIntervalSince(now) / 60).rounded() * 60),
                             Self.rate(limits)])
                objects.append(["service": .string(name), "server": server.isEmpty ? .null : .string(server), "day": .string(day),
                                "requests": .int(used.requests), "tokens": .int(used.tokens),
                                "requests_per_day": limits.requestsPerDay.map { .int($0) } ?? .null, "left": left.map { .int($0) } ?? .null,
                                "resets_at": limits.requestsPerDay == nil ? .null : .string(ISO8601DateFormatter().string(from: reset)),
                                "rate_limits": .string(Self.rate(limits))])
            }
        }
        if json {
            print(JSONValue.array(objects).canonicalJSON)
        } else {
            print(Table.render(header: ["service", "day", "requests", "per day", "left", "used", "tokens", "resets", "rate limits"], rows: rows, width: Terminal.tableWidth),
                  terminator: "")
        }
    }

    static func rate(_ limits: ServiceLimits) -> String {
        var parts: [String] = []
        if let value = limits.requestsPerMinute { parts.append("\(JSONValue.double(value).interpolationText)/min") }
        if let value = limits.requestsPerSecond { parts.append("\(JSONValue.double(value).interpolationText)/s") }
        if let value = limits.tokensPerMinute { parts.append("\(JSONValue.double(value).interpolationText) tokens/min") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
