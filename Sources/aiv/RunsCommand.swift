import AIVCore
import AIVStore
import ArgumentParser
import Foundation

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List past runs, show one, or print a step's log.",
        subcommands: [List.self, Show.self, Log.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List recent runs, newest first.")
        @OptionGroup var state: StateOptions
        @Option(parsing: .unconditional, help: "How many runs to list.") var limit = 20

        func validate() throws {
            guard limit >= 1 else { throw ValidationError("--limit must be at least 1, not \(limit)") }
        }

        func run() throws {
            let runs = try state.openExistingStore().map { try RunHistory(store: $0).runs(limit: limit) } ?? []
            guard !runs.isEmpty else { print("No runs yet in \(state.stateDirectory)."); return }
            print(Table.render(header: ["run", "workflow", "started", "time", "status", "ran", "cached", "failed", "skipped", "cancelled"], rows: runs.map { run in
                [run.id, run.workflow, Self.date(run.startedAt), run.duration.map(SummaryTable.format) ?? "-", run.status,
                 String(run.ran), String(run.cached), String(run.failed), String(run.skipped), String(run.cancelled)]
            // Only the workflow and the start may break: a run id is copied, and a status or count reads whole.
            }, width: Terminal.tableWidth, whole: [0, 3, 4, 5, 6, 7, 8, 9]), terminator: "")
        }

        /// Local time, with its offset from UTC: a history read on another machine, or after a
        /// change to summer time, still says when.
        static func date(_ date: Date) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "yyyy-MM-dd HH:mm:ss xxx"
            return formatter.string(from: date)
        }
    }

    /// Why `id` names no run: none starts so, or several do (listed, so the user can pick).
    static func noSingleRun(_ id: String, in history: RunHistory) throws -> CommandFailure {
        let matches = id == "last" ? [] : try history.runIDs(startingWith: id)
        guard matches.count > 1 else { return CommandFailure("no run matches '\(Suggestions.quoted(id))'; 'aiv runs' lists them") }
        let shown = matches.prefix(5).joined(separator: ", ") + (matches.count > 5 ? ", …" : "")
        return CommandFailure("\(matches.count > 5 ? "more than 5" : "\(matches.count)") runs start with '\(Suggestions.quoted(id))' (\(shown)); give more of the id")
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a run: each step's status, time, attempts and why it ran.")
        @OptionGroup var state: StateOptions
        @Argument(help: "A run id (or a unique start of one), or 'last'.") var id: String = "last"

        func run() throws {
            guard let store = try state.openExistingStore() else { throw CommandFailure("no runs yet in \(state.stateDirectory)") }
            guard let found = try RunHistory(store: store).run(id) else { throw try RunsCommand.noSingleRun(id, in: RunHistory(store: store)) }
            print("Run \(found.run.id): workflow '\(found.run.workflow)' (\(found.file)), \(found.run.status), started \(List.date(found.run.startedAt))"
                  + (found.run.duration.map { ", took \(SummaryTable.format($0))" } ?? ""))
            print("Folder: \(found.folder)\n")
            // A run still going has steps under way or still to come, not steps it failed to finish.
            let going = found.run.status == "running"
            print(Table.render(header: ["step", "kind", "status", "time", "cached", "attempts", "why"], rows: found.steps.map { step in
                let unfinished = step.status == .notFinished
                let status = !unfinished || !going ? step.status.rawValue
                    : step.invocations > 0 ? "running" : step.reason == RunHistory.untrackedGoing ? "running or to come" : "to come"
                return [step.step, step.kind, status, unfinished ? "-" : SummaryTable.format(step.duration),
                        unfinished && step.invocations <= 1 ? "-" : SummaryTable.cachedColumn(step), step.attempts == 0 ? "-" : String(step.attempts),
                        step.error ?? step.reason]
            // Step ids whole: they are what `aiv runs log` is given.
            }, width: Terminal.tableWidth, keptWhole: [0]), terminator: "")
            let usage = try RunHistory(store: store).serviceUsage(run: found.run.id)
            if !usage.isEmpty {
                print("\nService calls:")
                print(Table.render(header: ["step", "service", "calls", "failed", "input tokens", "output tokens", "total tokens", "mean latency", "max latency"],
                                   rows: usage.map { use in
                    [use.step, use.service, String(use.calls), String(use.failedCalls), String(use.inputTokens), String(use.outputTokens),
                     String(use.totalTokens), SummaryTable.format(use.meanLatency), SummaryTable.format(use.maxLatency)]
                }, width: Terminal.tableWidth, keptWhole: [0]), terminator: "")
            }
            print("\nA step's log: aiv runs log \(found.run.id) <step>")
        }
    }

    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "Print the log of one step of a run.")
        @OptionGroup var state: StateOptions
        @Argument(help: "A run id, or 'last'.") var id: String
        @Argument(help: "The step id.") var step: String

        func run() throws {
            guard let store = try state.openExistingStore() else { throw CommandFailure("no runs yet in \(state.stateDirectory)") }
            guard let found = try RunHistory(store: store).run(id) else { throw try RunsCommand.noSingleRun(id, in: RunHistory(store: store)) }
            guard found.steps.contains(where: { $0.step == step }) else {
                throw CommandFailure("run \(found.run.id) has no step '\(Suggestions.quoted(step))'\(Suggestions.didYouMean(step, in: found.steps.map(\.step)))")
            }
            // Runs recorded before logs were kept in the history (no step has one) left them in the run folder.
            let recordedBefore = found.steps.allSatisfy { $0.log == nil }
            let legacy = recordedBefore ? try? String(contentsOfFile: RunFolder(path: found.folder).legacyLogPath(step: step), encoding: .utf8) : nil
            let shown = found.steps.first(where: { $0.step == step })
            // A step's log is kept when it finishes: one under way, or cut off by a kill, has none yet.
            if let shown, shown.status == .notFinished, legacy == nil {
                let going = found.run.status == "running"
                let why = [RunHistory.untrackedGoing, RunHistory.untrackedStopped].contains(shown.reason) ? "" : " (\(shown.reason))"
                throw CommandFailure("step '\(step)' \(going ? "has not finished" : "did not finish") in run \(found.run.id)\(why); "
                                     + (going ? "its log is kept when it finishes" : "a step's log is kept when it finishes, so there is none"))
            }
            guard let text = shown?.log ?? legacy else {
                let why = shown.map { $0.reason.isEmpty ? "" : " (\($0.reason))" } ?? ""
                throw CommandFailure("no log for step '\(step)' in run \(found.run.id): the step did not start\(why)")
            }
            print(text, terminator: text.isEmpty || text.hasSuffix("\n") ? "" : "\n")
        }
    }
}

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Inspect and manage the step cache.",
        subcommands: [List.self, Clear.self, Collect.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List cached steps per workflow.")
        @OptionGroup var state: StateOptions

        func run() throws {
            let rows = try state.openExistingStore().map { try SQLiteCacheStore(store: $0).summary() } ?? []
            guard !rows.isEmpty else { print("The cache is empty."); return }
            // The cache knows a workflow by its real path; one below this folder is shown as the
            // path to type (`aiv cache clear workflows/post-stream.yaml`), not in full.
            let here = CacheEntry.workflowIdentity(FileManager.default.currentDirectoryPath)
            func shown(_ workflow: String) -> String {
                workflow.hasPrefix(here + "/") ? String(workflow.dropFirst(here.count + 1)) : workflow
            }
            print(Table.render(header: ["workflow", "step", "entries", "newest"], rows: rows.map {
                [shown($0.workflow), $0.step, String($0.entries), RunsCommand.List.date($0.newest)]
            }, width: Terminal.tableWidth, keptWhole: [1]), terminator: "")
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clear", abstract: "Remove cached results (all, or one workflow's).")
        @OptionGroup var state: StateOptions
        @Argument(help: "Only this workflow file's entries.") var workflow: String?

        func run() throws {
            let cache = SQLiteCacheStore(store: try state.openStore())
            // The workflow's real path, and the path as given: what earlier versions of aiv stored.
            let removed = try workflow.map { given in
                try Set([CacheEntry.workflowIdentity(given), given]).reduce(0) { total, name in try total + cache.clear(workflow: name) }
            } ?? cache.clear()
            // A mistyped path would otherwise report "Removed 0" as if there were nothing to do.
            // (A workflow deleted since its runs still has its results removed.)
            if let workflow, removed == 0, !FileManager.default.fileExists(atPath: workflow) {
                throw CommandFailure("no workflow file '\(workflow)' and no cached results for it; 'aiv cache ls' lists the workflows the cache has")
            }
            if let workflow, removed == 0, let problem = Paths.notAFile(workflow) {
                throw CommandFailure("'\(workflow)' \(problem), and no cached results are under it; give a workflow file")
            }
            let (_, files, _) = try cache.collectGarbage(blobs: state.blobs, keep: .max, minimumAge: 0)
            print("Removed \(removed) cached result\(removed == 1 ? "" : "s") and \(files) stored file\(files == 1 ? "" : "s").")
        }
    }

    struct Collect: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gc", abstract: "Keep the newest result of each step and item (made, or taken by a run, last); delete the rest and unreferenced files over an hour old.")
        @OptionGroup var state: StateOptions
        @Option(parsing: .unconditional, help: "Results to keep per step and item (1 or more; `aiv cache clear` removes them all).") var keep = 1

        func validate() throws {
            if keep < 1 { throw ValidationError("--keep must be 1 or more; 'aiv cache clear' removes every result") }
        }

        func run() throws {
            let (entries, files, keptYoung) = try SQLiteCacheStore(store: try state.openStore()).collectGarbage(blobs: state.blobs, keep: keep)
            let leftovers = Self.removeLeftovers(runs: state.absoluteState + "/runs")
            print("Removed \(entries) older result\(entries == 1 ? "" : "s") and \(files) unreferenced file\(files == 1 ? "" : "s")"
                  + (leftovers > 0 ? ", and \(leftovers) half-written file\(leftovers == 1 ? "" : "s") that killed runs left in their folders." : "."))
            if keptYoung > 0 {
                // A running workflow stores a file just before the result that refers to it.
                print("Kept \(keptYoung) unreferenced file\(keptYoung == 1 ? "" : "s") less than an hour old, which a run going on may be about to refer to; a later 'aiv cache gc' removes \(keptYoung == 1 ? "it" : "them").")
            }
        }

        /// The temporary files runs that were killed left in their folders under `.aiv/runs/`:
        /// a later run into the same folder removes them, but each run gets a new folder by
        /// default. A folder a run holds is left alone.
        static func removeLeftovers(runs: String) -> Int {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: runs) else { return 0 }
            var removed = 0
            for name in names.sorted() {
                let folder = RunFolder(path: runs + "/" + name)
                guard FileManager.default.fileExists(atPath: folder.lockPath), let claim = try? folder.claim() else { continue }
                removed += claim.removedLeftovers.count
                claim.release()
            }
            return removed
        }
    }
}
