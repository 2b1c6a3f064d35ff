import Foundation

extension Runner {
    /// One invocation: resolve the arguments, look in the cache, else run (with retries and a
    /// timeout) and remember the result.
    func invoke(_ step: PlannedStep, item: JSONValue?, index: Int?, scope: EvaluationScope, context: RunContext, log: StepLog) async throws -> Invocation {
        let label = index.map { "step '\(step.id)' item \($0)" } ?? "step '\(step.id)'"
        func failure(_ message: String, attempts: Int = 0) -> InvocationFailure {
            InvocationFailure(message: "\(label): \(message)", attempts: attempts, cancelled: false)
        }
        guard let kind = environment.registry[kind: step.kind], let implementation = environment.steps[step.kind] else {
            throw failure("no implementation for step kind '\(step.kind)'")
        }
        var itemScope = scope
        itemScope.item = item
        itemScope.index = index

        let arguments: StepArguments
        do {
            arguments = try ArgumentResolver.resolve(step.arguments, kind: kind, scope: itemScope)
        } catch {
            var failed = failure(error.message)
            failed.failedArgument = error.argument
            throw failed
        }

        // A pipe or a device named as an input would block the step for ever: refused before it starts.
        for (argument, path) in CacheKeyComponents.filesRead(by: kind, arguments: arguments) {
            if let problem = Paths.notAFile(context.folder.input(path, workflowDirectory: context.workflowDirectory)) {
                var refused = failure("argument '\(argument)': '\(path)' \(problem)")
                refused.failedArgument = String(argument.prefix { $0 != "." })
                throw refused
            }
        }
        let services = CacheKeyComponents.services(context.plan.services, service: kind.service, step: step.id,
                                                   facts: environment.services?.keyFacts ?? ServiceKeyFacts())
        let components = CacheKeyComponents(kind: kind, arguments: arguments, scope: itemScope, services: services,
                                            workflowDirectory: context.workflowDirectory, runFolder: context.folder, digests: context.digests)

        // The cache first, without a parallelism slot: a slot bounds steps that run, and waiting
        // for one (two hops through the slots' actor) was a sizeable part of a cached step. A run
        // that is stopping puts nothing more back (taking a slot used to be where that was checked).
        if Task.isCancelled { throw InvocationFailure(message: "\(label): cancelled", attempts: 0, cancelled: true) }
        let key = components.key
        var reason: String
        switch lookUp(key: key, components: components, step: step, kind: kind, index: index, context: context, log: log) {
        case .hit(let invocation): return invocation
        case .miss(let why): reason = why
        }
        // A result made from a secret's value is not kept: the cache keeps a step's arguments.
        // Looked for only in a step that would be cached and runs (a hit writes nothing; one
        // that reads a secret input is not cached anyway).
        var argumentSecrets: [String] = []
        if step.isCacheable, environment.cache != nil, step.secretInputs.isEmpty {
            argumentSecrets = components.secretsHeld(by: environment.secrets)
        }
        if !argumentSecrets.isEmpty {
            reason = CacheKeyComponents.secretsReason(argumentSecrets)
            // Once a step: its log names each item.
            if context.warned.first("secret-in-arguments \(step.id)") {
                environment.observer.handle(.warning("step '\(step.id)': its arguments hold the value of \(argumentSecrets.joined(separator: ", ")), "
                    + "so its results are not cached (the cache keeps a step's arguments), and that value in what it returns goes on redacted. "
                    + "If that value is not a real secret (a placeholder such as 'test'), set a real one or unset it; a secret input is declared with 'secret: true'"))
            }
        }

        // One parallelism slot per attempt, given back while waiting to retry. Steps that call a
        // service take theirs from a pool of their own: they mostly wait (for a rate limit, an
        // answer), and local steps must not queue behind them.
        let lease = try await (step.service == nil ? context.slots : context.serviceSlots).lease(for: step.id)
        do {
            let (invocation, entry) = try await invoke(step, kind: kind, implementation: implementation, arguments: arguments,
                                                       components: components, key: key, argumentSecrets: argumentSecrets, reason: reason,
                                                       index: index, scope: itemScope,
                                                       context: context, log: log, lease: lease, label: label)
            await lease.release()
            // Waiting for the commit holds no slot: results that finish meanwhile share it.
            if let entry, let cache = environment.cache { await save(entry, to: cache, context: context, log: log) }
            return invocation
        } catch var failure as InvocationFailure {
            if let abandoned = failure.abandoned {
                Task {
                    await abandoned.value
                    await lease.release()
                }
            } else {
                await lease.release()
            }
            failure.ranBecause = reason
            throw failure
        } catch {
            await lease.release()
            throw error
        }
    }

    enum CacheLookup {
        case hit(Invocation)
        /// Why the step must run.
        case miss(String)
    }

    /// A cached result put back in the run folder, or why there is none to use.
    private func lookUp(key: String, components: CacheKeyComponents, step: PlannedStep, kind: StepKindDescription,
                        index: Int?, context: RunContext, log: StepLog) -> CacheLookup {
        guard step.isCacheable, let cache = environment.cache else {
            return .miss(step.effect == .sideEffecting ? "side effects: runs every time" : "cache off for this step")
        }
        if let given = step.secretInputsReason { return .miss(given) }
        // A recording run calls every service so the fixtures are complete (its results are cached).
        if kind.service != nil, environment.services?.mode == .record { return .miss("--record: service steps are called to be recorded") }
        guard environment.readsCache else { return .miss("--no-cache") }
        let prefix = index.map { "item \($0): " } ?? ""
        var found: CacheEntry?
        do {
            found = try cache.entry(forKey: key)
        } catch {
            log.append("\(prefix)could not read the cache: \(error)")
            if context.warned.first("cache-read") {
                environment.observer.handle(.warning("could not read results from the cache (\(error)); the steps that had them run again (step logs name each)"))
            }
            return .miss("its cached result could not be read")
        }
        do {
            if let found, try restore(found, step: step, index: index, folder: context.folder) {
                // A failed note costs a later `cache gc` this use, not the run.
                try? cache.noteTaken(found, workflow: context.cachedWorkflow, step: step.id, item: index)
                log.append("\(prefix)cached (key \(key.prefix(12)), from run \(found.runID))")
                return .hit(Invocation(outputs: found.outputs, cached: true, attempts: 0, reason: "cached"))
            }
        } catch let damaged as DamagedBlob {
            log.append("\(prefix)could not restore the cached result: \(damaged)")
            return .miss(damaged.description)
        } catch {
            // Putting it back in the run folder failed (a file there in the way, a full disk): the step says why when it runs.
            log.append("\(prefix)could not restore the cached result: \(error)")
        }
        return .miss(components.missReason(in: cache, found: found, workflow: context.cachedWorkflow, step: step, item: index, now: environment.now()))
    }

    /// The part of an invocation done holding a slot: the attempts, and the cache entry to save
    /// (its files stored).
    private func invoke(_ step: PlannedStep, kind: StepKindDescription, implementation: any Step.Type, arguments: StepArguments,
                        components: CacheKeyComponents, key: String, argumentSecrets: [String], reason: String, index: Int?, scope itemScope: EvaluationScope,
                        context: RunContext, log: StepLog, lease: Slots.Lease, label: String) async throws -> (Invocation, CacheEntry?) {
        func failure(_ message: String, attempts: Int = 0) -> InvocationFailure {
            InvocationFailure(message: "\(label): \(message)", attempts: attempts, cancelled: false)
        }
        let prefix = index.map { "item \($0): " } ?? ""
        // Arguments that hold a secret's value make a result that is not kept.
        let cacheable = step.isCacheable && argumentSecrets.isEmpty
        log.append("\(prefix)running: \(reason)")

        var writerFolder = context.folder
        writerFolder.writer = writer(step, index)
        let stepContext = StepContext(stepID: step.id, index: index, workflowDirectory: context.workflowDirectory, runFolder: writerFolder,
                                      clock: environment.clock, logger: log.logger(label: "aiv.\(step.id)", prefix: prefix),
                                      scope: itemScope, secrets: environment.secrets, services: environment.services)
        let started = environment.now()
        var attempt = 0
        var waitsOfAttempt: RateLimitWaits?
        while true {
            attempt += 1
            do {
                try Task.checkCancellation()
                // Rate-limit waits matter only to a timeout's message: kept only under one.
                let waits = step.timeout == nil ? nil : RateLimitWaits()
                waitsOfAttempt = waits
                var result = try await RateLimitWaits.$current.withValue(waits) {
                    try await runWithTimeout(step.timeout) {
                        try await implementation.init().run(arguments, context: stepContext)
                    }
                }
                // Checked as the step made them: a secret number redacted becomes text.
                if let problem = kind.outputs.mismatch(result.outputs) {
                    throw failure("outputs do not match \(kind.name)'s output schema: \(problem)", attempts: attempt)
                }
                // Outputs go to later steps, files, the cache and history: never with a secret in them.
                // Outputs that held one are not the step's result, so they are not cached either (a
                // placeholder key such as "test" would otherwise leave a mangled result cached for
                // good), and the run says why a later step may fail on them.
                let outputSecrets = environment.secrets.names(foundIn: result.outputs)
                if !outputSecrets.isEmpty {
                    result.outputs = environment.secrets.redact(result.outputs)
                    let names = outputSecrets.joined(separator: ", ")
                    // A secret input goes from `inputs` straight to the step that sends it; a variable may be a placeholder.
                    let advice = outputSecrets.allSatisfy { $0.hasPrefix("inputs.") }
                        ? "A secret input reaches only a step that reads it from inputs itself (${{ inputs.NAME }} in its arguments)"
                        : "If that value is not a real secret (a placeholder such as 'test'), set a real one or unset it"
                    let warning = "\(label): its outputs hold the value of \(names); it is passed on redacted ('[redacted \(outputSecrets[0])]') "
                        + "and the result is not cached. " + advice
                    log.append("\(prefix)not cached: its outputs hold the value of \(names)")
                    // Once a step: a for_each of a thousand items would otherwise say it a thousand
                    // times; and not when its arguments held the secret (said already, as the cause).
                    if argumentSecrets.isEmpty, context.warned.first("secret-in-outputs \(step.id)") { environment.observer.handle(.warning(warning)) }
                }
                for path in result.files {
                    context.folder.written.record(path, digest: nil)
                    if let other = context.folder.written.claim(path, by: writer(step, index)) {
                        throw failure("writes '\(path)', which \(other) also writes in this run; give each its own output path", attempts: attempt)
                    }
                }
                var entry: CacheEntry?
                if cacheable, environment.cache != nil, outputSecrets.isEmpty, step.secretInputs.isEmpty {
                    if let changed = components.fileChanged(workflowDirectory: context.workflowDirectory, runFolder: context.folder,
                                                            digests: context.digests, writtenByItself: result.files) {
                        log.append("\(prefix)not cached: '\(changed)' changed while the step ran")
                        // Once a step, for all its items: their log lines name each one.
                        if context.warned.first("changed-while-running \(step.id)") {
                            environment.observer.handle(.warning("step '\(step.id)': '\(changed)' changed while the step ran; what its items made from it then is not cached (its log names them)"))
                        }
                    } else {
                        entry = cacheEntry(for: result, key: key, components: components, step: step, index: index, context: context,
                                           duration: environment.now().timeIntervalSince(started), log: log)
                    }
                }
                return (Invocation(outputs: result.outputs, cached: false, attempts: attempt, reason: reason), entry)
            } catch let error as InvocationFailure {
                throw error
            } catch is CancellationError {
                throw InvocationFailure(message: "\(label): cancelled", attempts: attempt, cancelled: true)
            } catch {
                let timedOut = "timed out after \(Durations.format(step.timeout ?? 0))" + (waitsOfAttempt?.summary.map { " (\($0))" } ?? "")
                let message = environment.secrets.redact(error is TimeoutError ? timedOut : "\(error)")
                log.append("\(prefix)attempt \(attempt) failed: \(message)")
                // A step that says its failure is not transient (a malformed file) is not retried.
                let retryable = (error as? any TransienceReporting)?.retriesAsAStep ?? true
                guard attempt < step.retry.attempts, retryable else {
                    if !retryable, attempt < step.retry.attempts {
                        log.append("\(prefix)not retried: this failure would not pass with time")
                    }
                    // Said once: a service failure may already count the client's attempts.
                    let counted = message.hasSuffix("attempts)") ? " (the step tried \(attempt) times)" : " (after \(attempt) attempts)"
                    var given = failure(message + (attempt > 1 ? counted : ""), attempts: attempt)
                    // Its slot goes back when the attempt really ends, as before a retry: work
                    // still busy must not run beside the --max-parallel others.
                    given.abandoned = (error as? TimeoutError)?.abandoned
                    given.failedArgument = (error as? StepError)?.argumentName
                    throw given
                }
                if let timedOut = error as? TimeoutError {
                    do {
                        try await Self.untilFinished(timedOut.abandoned)
                    } catch {
                        throw InvocationFailure(message: "\(label): cancelled", attempts: attempt, cancelled: true)
                    }
                }
                let spread = step.retry.jitter * (2 * environment.random() - 1)
                let delay = min(step.retry.maxDelay, max(0, step.retry.delay(after: attempt) * (1 + spread)))
                environment.observer.handle(.retrying(step: step.id, index: index, attempt: attempt, delay: delay, error: message))
                log.append("\(prefix)retrying in \(String(format: "%.2f", delay))s")
                await lease.release()
                do {
                    // A dry run waits for nothing (its answers are recorded): its services' clock only counts.
                    if let services = environment.services, services.mode == .replay {
                        try await services.clock.sleep(delay)
                    } else {
                        try await environment.clock.sleep(for: .milliseconds(Int64(delay * 1000)))
                    }
                    try await lease.reacquire()
                } catch {
                    throw InvocationFailure(message: "\(label): cancelled", attempts: attempt, cancelled: true)
                }
            }
        }
    }

    /// Puts a cache entry's files back in the run folder; false when it cannot stand for a run of
    /// the step (it expired, or its files are gone).
    func restore(_ entry: CacheEntry, step: PlannedStep, index: Int?, folder: RunFolder) throws -> Bool {
        guard !entry.isExpired(for: step, now: environment.now()), entry.filesAvailable(in: environment.blobs) else { return false }
        for file in entry.files {
            if let other = folder.written.claim(file.path, by: writer(step, index)) {
                throw StepError("writes '\(file.path)', which \(other) also writes in this run")
            }
            let destination = try folder.resolve(file.path)
            if let content = file.content {
                // A run into a folder that already holds the file (a re-run with the same --run-dir)
                // leaves it alone: no write, and its modification time stays.
                if !Self.holds(destination, content) {
                    try AtomicFile.write(content, to: destination)
                }
            } else if let blobs = environment.blobs {
                try blobs.restore(file.digest, to: destination)
            }
            folder.written.record(file.path, digest: file.digest)
        }
        return true
    }

    /// How a message names the writer of a file: `step 'clips' item 2`.
    func writer(_ step: PlannedStep, _ index: Int?) -> String {
        "step '\(step.id)'" + (index.map { " item \($0)" } ?? "")
    }

    /// The cache entry of a result, its files stored first (small ones inside the entry, others
    /// as blobs), so the entry, saved after, never points at a missing file. Nil when the result
    /// cannot be kept.
    func cacheEntry(for result: StepResult, key: String, components: CacheKeyComponents, step: PlannedStep, index: Int?,
                    context: RunContext, duration: Double, log: StepLog) -> CacheEntry? {
        do {
            var files: [CacheEntry.File] = []
            for path in result.files {
                let full = try context.folder.resolve(path)
                let file: CacheEntry.File
                if let content = try Self.smallFile(full) {
                    file = .init(path: path, digest: Digest.sha256File(content), content: content)
                } else {
                    guard let blobs = environment.blobs else { return nil }
                    file = .init(path: path, digest: try blobs.store(full))
                }
                files.append(file)
                context.folder.written.record(path, digest: file.digest)
            }
            return CacheEntry(key: key, workflow: context.cachedWorkflow, step: step.id, item: index, outputs: result.outputs,
                              files: files, components: components, createdAt: environment.now(), runID: context.runID,
                              duration: duration)
        } catch {
            log.append("could not save to the cache: \(error)")
            return nil
        }
    }

    /// Saves an entry; a cache that cannot take it costs a later run the work, not this run its
    /// result. The run says so once: a full disk or a state folder another user owns would
    /// otherwise make every later run redo (and re-pay for) everything, with nothing shown.
    func save(_ entry: CacheEntry, to cache: any CacheStore, context: RunContext, log: StepLog) async {
        do {
            try await cache.save(entry)
        } catch {
            log.append("could not save to the cache: \(error)")
            if context.warned.first("cache-save") {
                environment.observer.handle(.warning("could not save results to the cache (\(error)); what this run makes will be made again next time (step logs name each)"))
            }
        }
    }

    /// Whether `path` is a regular file with exactly these bytes (read only when the size matches).
    static func holds(_ path: String, _ content: Data) -> Bool {
        // POSIX rather than FileManager: this runs for every cached file. No link is followed, and
        // opening does not wait (a pipe put in the file's place would block a plain open); what
        // was opened is then checked to be a regular file of the expected size.
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, Int(status.st_size) == content.count else { return false }
        // Read until the expected size: the size was checked just above, so a further read to
        // see the end would cost a system call per cached file and tell nothing more.
        var bytes = [UInt8](repeating: 0, count: content.count)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        guard filled == content.count else { return false }
        if content.isEmpty { return true }
        return bytes.withUnsafeBytes { read in content.withUnsafeBytes { memcmp(read.baseAddress!, $0.baseAddress!, content.count) == 0 } }
    }

    /// The contents of a file small enough to keep inline in a cache entry; nil for a larger one.
    static func smallFile(_ path: String) throws -> Data? {
        var status = stat()
        guard stat(path, &status) == 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
        guard Int(status.st_size) <= CacheEntry.File.inlineLimit else { return nil }
        guard let content = FileManager.default.contents(atPath: path) else { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path]) }
        return content.count <= CacheEntry.File.inlineLimit ? content : nil
    }

    /// Runs a step's body until it finishes, its timeout passes or the run is cancelled,
    /// whichever comes first, and returns then. A task group would wait for a body that ignores
    /// cancellation (a synchronous render of a huge template) to end on its own, so a 1 s timeout
    /// took 15 s and a failure elsewhere did not stop the run. The body, cancelled, is left to
    /// end in the background; what it would still write is refused (`RunFolder.write` checks
    /// for cancellation), and its result is dropped.
    func runWithTimeout<T: Sendable>(_ timeout: Double?, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let clock = environment.clock
        let outcome = FirstOutcome<T>()
        let ended = AbandonedWork.Ended()
        let work = Task {
            do {
                outcome.settle(.success(try await body()))
            } catch {
                outcome.settle(.failure(error))
            }
            ended.mark()
        }
        let timer = timeout.map { seconds in
            Task {
                guard (try? await clock.sleep(for: .milliseconds(Int64(seconds * 1000)))) != nil else { return }
                outcome.settle(.failure(TimeoutError(abandoned: work)))
            }
        }
        defer {
            work.cancel()
            timer?.cancel()
            // Given up on while still busy: the end of the run waits a moment for it to clean up.
            if !ended.isMarked { environment.abandonedWork.add(work) }
        }
        return try await outcome.value()
    }
}

extension Runner {
    /// Waits for `task` to end, or throws `CancellationError` as soon as the caller is cancelled.
    static func untilFinished(_ task: Task<Void, Never>) async throws {
        let outcome = FirstOutcome<Void>()
        let waiter = Task {
            await task.value
            outcome.settle(.success(()))
        }
        defer { waiter.cancel() }
        try await outcome.value()
    }
}

struct TimeoutError: Error {
    /// The attempt given up on, which may still be running (cancelled, but busy with work that
    /// cannot be interrupted): a retry waits for it, so attempts never pile up past `--max-parallel`.
    var abandoned: Task<Void, Never>
}

