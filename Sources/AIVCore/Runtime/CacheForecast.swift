/// What `aiv plan` says about the cache: for each step, whether the next run would take it from
/// the cache, and if not, why not. It walks the plan as a run would, using cached outputs as the
/// outputs of the steps they stand for, so a step below a cached one is judged exactly.
public struct CacheForecast: Sendable {
    public enum Verdict: Sendable, Equatable {
        case cached
        /// Some items of a for_each are cached.
        case partlyCached(cached: Int, of: Int, reason: String)
        case willRun(reason: String)
        /// Known only once an earlier step has run.
        case unknown(reason: String)
        case skipped(reason: String)
    }

    public var verdicts: [String: Verdict]

    /// `serviceFacts`: what besides the workflow decides services' answers (a dry run's recorded
    /// answers, base URLs from the environment), as the run would see it. `secrets`: the run's
    /// (the secret inputs are added here): no reason quotes one.
    public init(plan: ExecutionPlan, registry: StepRegistry, cache: any CacheStore, blobs: BlobStore?, environment: [String: String],
                secrets: Secrets = Secrets(), workflowDirectory: String, serviceFacts: ServiceKeyFacts = ServiceKeyFacts(), now: Date = Date()) {
        let secrets = plan.secrets(adding: secrets)
        var verdicts: [String: Verdict] = [:]
        var outputs: [String: JSONValue] = [:]
        // The files the cached steps would put back, as a run records them; the folder is never made.
        let folder = RunFolder(path: "/nonexistent/aiv-plan")
        let digests = FileDigestCache()
        let workflow = CacheEntry.workflowIdentity(plan.file)
        for step in plan.steps {
            verdicts[step.id] = Self.judge(step, plan: plan, workflow: workflow, registry: registry, cache: cache, blobs: blobs, now: now,
                                           environment: environment, secrets: secrets, serviceFacts: serviceFacts,
                                           workflowDirectory: workflowDirectory, digests: digests, outputs: &outputs, folder: folder,
                                           verdicts: verdicts)
        }
        self.verdicts = verdicts
    }

    static func judge(_ step: PlannedStep, plan: ExecutionPlan, workflow: String, registry: StepRegistry, cache: any CacheStore, blobs: BlobStore?, now: Date,
                      environment: [String: String], secrets: Secrets, serviceFacts: ServiceKeyFacts,
                      workflowDirectory: String, digests: FileDigestCache, outputs: inout [String: JSONValue],
                      folder: RunFolder, verdicts: [String: Verdict]) -> Verdict {
        guard let kind = registry[kind: step.kind] else { return .unknown(reason: "unknown kind") }
        if step.condition?.constant == false { return .skipped(reason: "if: \(step.condition!.expression) is false") }
        for need in step.needs where outputs[need.step] == nil {
            if case .skipped = verdicts[need.step] {
                if step.skippableNeeds.contains(need.step) { continue }
                return .skipped(reason: "'\(need.step)' will be skipped")
            }
            return .unknown(reason: "known once '\(need.step)' has run")
        }
        guard step.isCacheable else {
            return .willRun(reason: step.effect == .sideEffecting ? "side effects: runs every time" : "cache off for this step")
        }
        if let given = step.secretInputsReason { return .willRun(reason: given) }
        let scope = EvaluationScope(inputs: plan.inputs, steps: outputs.filter { id, _ in step.needs.contains { $0.step == id } }, env: environment)
        guard let runs = try? step.shouldRun(in: scope) else { return .unknown(reason: "its 'if' cannot be evaluated yet") }
        if !runs { return .skipped(reason: "if: \(step.condition?.expression ?? "") is false") }
        var items: [JSONValue?] = [nil]
        if step.forEach != nil {
            guard let list = try? step.items(in: scope) else { return .unknown(reason: "its for_each list is known only when running") }
            // Nothing to take from the cache or to do: the run says the step succeeded, over no items.
            if list.isEmpty {
                outputs[step.id] = .array([])
                return .willRun(reason: "for_each list is empty")
            }
            items = list
        }
        var hits: [JSONValue] = []
        var files: [CacheEntry.File] = []
        var reasons: [(index: Int?, reason: String)] = []
        for (position, item) in items.enumerated() {
            var itemScope = scope
            itemScope.item = item
            itemScope.index = step.forEach == nil ? nil : position
            let arguments: StepArguments
            do throws(ArgumentResolver.Failure) {
                arguments = try ArgumentResolver.resolve(step.arguments, kind: kind, scope: itemScope)
            } catch {
                // Everything it reads is known here (its needs are cached): the run would fail so.
                reasons.append((itemScope.index, "its arguments fail: \(secrets.redact(error.message))"))
                continue
            }
            let services = CacheKeyComponents.services(plan.services, service: kind.service, step: step.id, facts: serviceFacts)
            let components = CacheKeyComponents(kind: kind, arguments: arguments, scope: itemScope, services: services,
                                                workflowDirectory: workflowDirectory, runFolder: folder, digests: digests)
            let found = try? cache.entry(forKey: components.key)
            if let entry = found, !entry.isExpired(for: step, now: now), entry.filesAvailable(in: blobs) {
                hits.append(entry.outputs)
                files += entry.files
                continue
            }
            // As the run judges it: after a miss (see `Runner.invoke`).
            let argumentSecrets = components.secretsHeld(by: secrets)
            if !argumentSecrets.isEmpty {
                reasons.append((itemScope.index, CacheKeyComponents.secretsReason(argumentSecrets)))
                continue
            }
            reasons.append((itemScope.index, components.missReason(in: cache, found: found, workflow: workflow, step: step, item: itemScope.index, now: now)))
        }
        let reason = ItemReasons.summary(reasons, of: items.count)
        if hits.count == items.count {
            outputs[step.id] = step.forEach == nil ? hits[0] : .array(hits)
            for file in files { folder.written.record(file.path, digest: file.digest) }
            return .cached
        }
        return hits.isEmpty ? .willRun(reason: reason) : .partlyCached(cached: hits.count, of: items.count, reason: reason)
    }

    /// The words `aiv plan` prints for a verdict.
    /// A verdict for `aiv plan --json`: `{"verdict": "cached" | "partly_cached" | "runs" |
    /// "unknown" | "skipped", "reason": …, "cached_items": n, "items": m}`.
    public static func json(_ verdict: Verdict) -> JSONValue {
        switch verdict {
        case .cached: ["verdict": "cached"]
        case .partlyCached(let cached, let of, let reason):
            ["verdict": "partly_cached", "reason": .string(reason), "cached_items": .int(cached), "items": .int(of)]
        case .willRun(let reason): ["verdict": "runs", "reason": .string(reason)]
        case .unknown(let reason): ["verdict": "unknown", "reason": .string(reason)]
        case .skipped(let reason): ["verdict": "skipped", "reason": .string(reason)]
        }
    }

    public static func describe(_ verdict: Verdict?) -> String {
        switch verdict {
        case .cached?: "cached"
        case .partlyCached(let cached, let of, let reason)?: "\(cached)/\(of) cached; runs: \(reason)"
        case .willRun(let reason)?: "runs: \(reason)"
        case .unknown(let reason)?: "? \(reason)"
        case .skipped(let reason)?: "skipped: \(reason)"
        case nil: ""
        }
    }
}

import Foundation
