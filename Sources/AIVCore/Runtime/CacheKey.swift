import Crypto
import Foundation

/// What a step invocation's cache key is made of. Kept whole in the cache so that a miss can be
/// explained: which argument, file or setting differs from the last time the step ran.
public struct CacheKeyComponents: Sendable, Codable, Equatable {
    public var kind: String
    public var kindVersion: Int
    /// The resolved arguments, every expression evaluated, defaults filled in.
    public var arguments: JSONValue
    /// Digest of each file the invocation reads (templates, prompts, input files), by path.
    public var files: [String: String]
    /// Settings that change the result (the kind's service settings, such as the model).
    public var settings: JSONValue
    /// Values that expressions the step evaluates itself read (`inputs.min` in a filter's `where`).
    public var expressionInputs: JSONValue

    public init(kind: String, kindVersion: Int, arguments: JSONValue, files: [String: String], settings: JSONValue,
                expressionInputs: JSONValue = .null) {
        self.kind = kind
        self.kindVersion = kindVersion
        self.arguments = arguments
        self.files = files
        self.settings = settings
        self.expressionInputs = expressionInputs
    }

    /// The secrets whose values these components hold. The cache keeps components as they are
    /// (to explain a miss), so a result made from a secret's value is not cached: a value
    /// that is one without being declared so (an input given the key, a literal) is found here.
    /// A short number (a PIN) counts only through the step's secret inputs, known beforehand.
    public func secretsHeld(by secrets: Secrets) -> [String] {
        guard !secrets.isEmpty else { return [] }
        return Set([arguments, settings, expressionInputs].flatMap { secrets.names(foundIn: $0, shortNumbers: false) }).sorted()
    }

    /// Why an invocation whose components hold these secrets is not cached.
    public static func secretsReason(_ names: [String]) -> String {
        "its arguments hold the value of \(names.joined(separator: ", ")): not cached"
    }

    /// The components of one invocation: the kind, its resolved arguments, the contents of the
    /// files its arguments name (inputs, prompts, templates) and its service's settings.
    public init(kind: StepKindDescription, arguments: StepArguments, scope: EvaluationScope, services: [String: JSONValue],
                workflowDirectory: String, runFolder: RunFolder? = nil, digests: FileDigestCache) {
        var files: [String: String] = [:]
        for (_, path) in Self.filesRead(by: kind, arguments: arguments) {
            files[path] = Self.digest(of: path, workflowDirectory: workflowDirectory, runFolder: runFolder, digests: digests)
        }
        // Rate limits, retries and timeouts change how fast or how surely results come, not
        // what they are: raising a timeout must not send every prompt of a stream again.
        var settings = kind.service.flatMap { services[$0] } ?? .null
        if case .object(var members) = settings {
            for name in Self.settingsThatKeepResults { members[name] = nil }
            // A default the step does not use is no part of its result.
            if kind.serviceModelIsADefault, members["model"] != nil {
                let prompt = kind.promptShapedOutput.flatMap { arguments[$0.promptArgument]?.stringValue }
                if arguments["model"] != nil || prompt.map({ path in
                    let resolved = runFolder?.input(path, workflowDirectory: workflowDirectory) ?? Paths.resolve(path, relativeTo: workflowDirectory)
                    return digests.promptNamesModel(resolved)
                }) == true {
                    members["model"] = nil
                }
            }
            settings = members.isEmpty ? .null : .object(members)
        }
        self.init(kind: kind.name, kindVersion: kind.version, arguments: .object(arguments.values), files: files, settings: settings,
                  expressionInputs: ArgumentResolver.itemExpressionInputs(arguments.values, kind: kind, scope: scope))
    }

    enum CodingKeys: String, CodingKey { case kind, kindVersion, arguments, files, settings, expressionInputs }

    /// Service settings left out of keys: they do not change a service's answers.
    static let settingsThatKeepResults = ["limits", "retry", "timeout", "connect_timeout", "request_timeout"]

    /// What a key holds for a file an invocation reads: a file an earlier step took back from the
    /// cache (or, for `aiv plan`, would) by the digest its cache entry keeps; any other by its
    /// contents now, or "missing".
    static func digest(of path: String, workflowDirectory: String, runFolder: RunFolder?, digests: FileDigestCache) -> String {
        if let digest = runFolder?.written.digest(path) { return digest }
        let resolved = runFolder?.input(path, workflowDirectory: workflowDirectory) ?? Paths.resolve(path, relativeTo: workflowDirectory)
        return (try? digests.digest(resolved)) ?? "missing"
    }

    /// The first file the invocation read whose contents are no longer those its key was made
    /// with, or nil. A template edited while a `for_each` runs is read by items whose keys were
    /// made before (a key is made before the item waits for a slot): their results must not be
    /// kept under the old contents' key.
    /// A file the invocation wrote itself over the one it read (a clip cut to its own name) is
    /// not a change: it read the one beside the workflow, which `writtenByItself` leaves alone.
    public func fileChanged(workflowDirectory: String, runFolder: RunFolder?, digests: FileDigestCache,
                            writtenByItself: [String] = []) -> String? {
        guard !files.isEmpty else { return nil }
        let own = Set(writtenByItself.map(Paths.normalize))
        return files.keys.sorted().first { path in
            if own.contains(Paths.normalize(path)) {
                return ((try? digests.digest(Paths.resolve(path, relativeTo: workflowDirectory))) ?? "missing") != files[path]
            }
            return Self.digest(of: path, workflowDirectory: workflowDirectory, runFolder: runFolder, digests: digests) != files[path]
        }
    }

    /// The files an invocation reads, by argument: input files and templates, one path or a list.
    public static func filesRead(by kind: StepKindDescription, arguments: StepArguments) -> [(argument: String, path: String)] {
        var paths: [(argument: String, path: String)] = []
        for property in kind.arguments {
            let readsFile: Bool = switch property.role {
            case .inputFile, .template: true
            default: false
            }
            guard readsFile, let value = arguments[property.name] else { continue }
            for path in value.arrayValue?.compactMap(\.stringValue) ?? value.stringValue.map({ [$0] }) ?? [] {
                paths.append((property.name, path))
            }
        }
        return paths
    }

    /// Whether the key is a dry run's (its answers come from fixtures): such results are kept
    /// apart from live ones, in `cache gc` too.
    public var isDryRun: Bool { settings["dry_run"] == .bool(true) }

    /// The services' settings as the key of one step sees them, with what else decides its
    /// service's answers in this run (`ServiceKeyFacts`): a base URL the environment gives, and
    /// for a dry run a mark (`dry_run`) and the digest of the step's recorded answers
    /// (`fixtures`). So a dry run's results are never taken for a live run's nor the other way
    /// round, an edited or re-recorded fixture is replayed again, and answers from one server are
    /// not served as another's.
    public static func services(_ services: [String: JSONValue], service: String?, step: String,
                                facts: ServiceKeyFacts) -> [String: JSONValue] {
        guard let service else { return services }
        var services = services
        if let settings = services[service] { services[service] = Redaction.settingsWithoutCredentials(settings) }
        let baseURL = facts.baseURLs[service]
        guard baseURL != nil || facts.fixtureDigests != nil else { return services }
        var marked = services
        var settings = services[service]?.objectValue ?? [:]
        if let baseURL { settings["base_url"] = .string(baseURL) }
        if let digests = facts.fixtureDigests {
            settings["dry_run"] = true
            settings["fixtures"] = .string(digests[step] ?? "none")
        }
        marked[service] = .object(settings)
        return marked
    }

    /// Why a key's service settings differ from an earlier one's, in words: the dry-run mark,
    /// the recorded answers or the base URL when only that differs, not "a setting was changed".
    static func settingsChange(from old: JSONValue, to new: JSONValue) -> String {
        func without(_ names: [String], _ settings: JSONValue) -> JSONValue {
            guard case .object(var members) = settings else { return settings }
            for name in names { members[name] = nil }
            return members.isEmpty ? .null : .object(members)
        }
        // An entry cached while retries, timeouts and limits were part of keys (made once more).
        if without(settingsThatKeepResults, old) == without(settingsThatKeepResults, new) {
            return "its result was cached when retry, timeout and limits settings were part of keys; made once more under the new key"
        }
        let (wasDry, isDry) = (old["dry_run"] == .bool(true), new["dry_run"] == .bool(true))
        if wasDry != isDry, without(["dry_run", "fixtures"], old) == without(["dry_run", "fixtures"], new) {
            return isDry ? "a dry run keeps its results apart from live ones" : "the cached result came from a dry run; a live run calls the service"
        }
        if wasDry, isDry, old["fixtures"] != new["fixtures"], without(["fixtures"], old) == without(["fixtures"], new) {
            return "its recorded answers (fixtures) changed"
        }
        if old["base_url"] != new["base_url"], without(["base_url"], old) == without(["base_url"], new) {
            return "the service's base URL changed (now \(new["base_url"]?.stringValue ?? "the default"))"
        }
        // Which ones: `service setting 'model' changed`.
        let changed = changedPaths(old.objectValue == nil ? .object([:]) : old, new.objectValue == nil ? .object([:]) : new, prefix: "")
        guard !changed.isEmpty, !changed.contains("(all)") else { return "service settings changed" }
        return "service setting\(changed.count == 1 ? "" : "s") " + Self.listed(changed) + " changed"
    }

    /// `'a'`, `'a' and 'b'`, `'a', 'b' and 2 more`: at most three names, and how many others.
    static func listed(_ names: [String]) -> String {
        let quoted = names.prefix(3).map { "'\($0)'" }
        if names.count > 3 { return quoted.joined(separator: ", ") + " and \(names.count - 3) more" }
        return quoted.count == 1 ? quoted[0] : quoted.dropLast().joined(separator: ", ") + " and " + quoted.last!
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(String.self, forKey: .kind)
        kindVersion = try container.decode(Int.self, forKey: .kindVersion)
        arguments = try container.decode(JSONValue.self, forKey: .arguments)
        files = try container.decode([String: String].self, forKey: .files)
        settings = try container.decode(JSONValue.self, forKey: .settings)
        expressionInputs = try container.decodeIfPresent(JSONValue.self, forKey: .expressionInputs) ?? .null
    }

    /// The components as stored in a cache entry: the document their `Codable` form gives, built
    /// without an encoder (one is saved for every step that runs).
    public var jsonValue: JSONValue {
        ["kind": .string(kind), "kindVersion": .int(kindVersion), "arguments": arguments,
         "files": .object(files.mapValues { .string($0) }), "settings": settings, "expressionInputs": expressionInputs]
    }

    /// SHA-256 of the canonical JSON of all components: equal inputs, equal key. The outer
    /// object is written member by member in sorted order (the same bytes as its canonical
    /// JSON), without building and sorting a dictionary for every step.
    public var key: String {
        var object = JSONObjectText()
        object.add("arguments", arguments)
        if expressionInputs != .null { object.add("expression_inputs", expressionInputs) }
        object.add("files", .object(files.mapValues { .string($0) }))
        object.add("kind", .string(kind))
        object.add("settings", settings)
        object.add("version", .int(kindVersion))
        return Digest.sha256(object.closedBytes())
    }

    /// Why `self` differs from `previous`, in a few words each: "argument 'window' changed".
    public func differences(from previous: CacheKeyComponents) -> [String] {
        var reasons: [String] = []
        if kind != previous.kind || kindVersion != previous.kindVersion {
            reasons.append(kind != previous.kind ? "step kind changed" : "\(kind) changed (version \(previous.kindVersion) → \(kindVersion))")
        }
        // The first three, and how many more: a reason that names three of five reads as if
        // those were all.
        let arguments = Self.changedPaths(previous.arguments, arguments, prefix: "")
        for path in arguments.prefix(3) { reasons.append("argument '\(path)' changed") }
        if arguments.count > 3 { reasons.append("\(arguments.count - 3) more argument\(arguments.count == 4 ? "" : "s") changed") }
        for path in Set(files.keys).union(previous.files.keys).sorted() where files[path] != previous.files[path] {
            reasons.append(files[path] == nil ? "no longer reads '\(path)'" : previous.files[path] == nil ? "now reads '\(path)'" : "file '\(path)' changed")
        }
        if settings != previous.settings { reasons.append(Self.settingsChange(from: previous.settings, to: settings)) }
        let read = Self.changedPaths(previous.expressionInputs, expressionInputs, prefix: "")
        for path in read.prefix(3) {
            reasons.append(path == "(all)" ? "values its expressions read changed" : "'\(path)' changed")
        }
        if read.count > 3 { reasons.append("\(read.count - 3) more value\(read.count == 4 ? "" : "s") its expressions read changed") }
        return reasons
    }

    /// Dot paths where two argument trees differ (the first few).
    static func changedPaths(_ old: JSONValue, _ new: JSONValue, prefix: String) -> [String] {
        guard old != new else { return [] }
        if case .object(let a) = old, case .object(let b) = new {
            return Set(a.keys).union(b.keys).sorted().flatMap { key in
                changedPaths(a[key] ?? .null, b[key] ?? .null, prefix: prefix.isEmpty ? key : "\(prefix).\(key)")
            }
        }
        return [prefix.isEmpty ? "(all)" : prefix]
    }
}

/// Hex SHA-256 digests, through swift-crypto.
public enum Digest {
    public static func sha256(_ data: Data) -> String {
        hex(SHA256.hash(data: data))
    }

    public static func sha256(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// The digest `file(_:)` gives a file with these contents (one within `fullHashLimit`).
    public static func sha256File(_ data: Data) -> String {
        "sha256:" + sha256(data)
    }

    /// Lower-case hexadecimal; by hand because `String(format:)` per byte showed in profiles.
    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(hexDigit(byte >> 4))
            text.append(hexDigit(byte & 0x0f))
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Hexadecimal of a digest, over its bytes in place (iterating a digest as a sequence cost
    /// more than hashing the text it names).
    static func hex(_ digest: SHA256.Digest) -> String {
        digest.withUnsafeBytes { hex($0) }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// Files above this size are identified by size, modification time and their first and last
    /// megabyte instead of their full contents: hashing a three-hour recording on every run would
    /// cost more than most steps. Changing a large file without changing its size, time, head or
    /// tail is not noticed; documented in the README.
    public static let fullHashLimit = 64 << 20

    public static func file(_ path: String) throws -> String {
        // Never read a pipe or a device: it would block, or never end.
        if let problem = Paths.notAFile(path) { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "\(path) \(problem)"]) }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? Int) ?? 0
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        defer { try? handle.close() }
        var hasher = SHA256()
        if size <= fullHashLimit {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
            return "sha256:" + hex(hasher.finalize())
        }
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        hasher.update(data: Data("\(size):\(modified):".utf8))
        hasher.update(data: try handle.read(upToCount: 1 << 20) ?? Data())
        try handle.seek(toOffset: UInt64(size - (1 << 20)))
        hasher.update(data: try handle.read(upToCount: 1 << 20) ?? Data())
        return "large:" + hex(hasher.finalize())
    }
}

/// File digests memoized for one run (by path and `FileStamp`): a template used by a hundred
/// for_each items is read once.
public final class FileDigestCache: @unchecked Sendable {
    private let lock = NSLock()
    /// A digest stands while its file's stamp is the same: the status-change time in it caught a
    /// template edited during a `for_each` back to its size and modification time.
    private var digests: [String: (stamp: FileStamp, digest: String)] = [:]

    public init() {}

    public func digest(_ path: String) throws -> String {
        guard let stamp = FileStamp.of(path) else { return try Digest.file(path) }
        if let known = lock.withLock({ digests[path] }), known.stamp == stamp { return known.digest }
        let digest = try Digest.file(path)
        lock.withLock { digests[path] = (stamp, digest) }
        return digest
    }

    private var promptModels: [String: (stamp: FileStamp, names: Bool)] = [:]

    /// Whether the prompt file at `path` names its model in its front matter (read once while
    /// it is unchanged). A prompt that cannot be read names none: its step fails on it anyway.
    public func promptNamesModel(_ path: String) -> Bool {
        guard let stamp = FileStamp.of(path) else { return false }
        if let known = lock.withLock({ promptModels[path] }), known.stamp == stamp { return known.names }
        let names = PromptFile.load(path: path).prompt?.model != nil
        lock.withLock { promptModels[path] = (stamp, names) }
        return names
    }
}

/// What decides a service's answers in a run besides the workflow's `services:` settings, as
/// cache keys see it (`CacheKeyComponents.services`).
public struct ServiceKeyFacts: Sendable, Equatable {
    /// Base URLs the environment gives (`GEMINI_BASE_URL`), by service: another server may answer otherwise.
    public var baseURLs: [String: String]
    /// For a dry run, a digest of each step's recorded answers, by step id; nil for a live run.
    public var fixtureDigests: [String: String]?

    public init(baseURLs: [String: String] = [:], fixtureDigests: [String: String]? = nil) {
        self.baseURLs = baseURLs
        self.fixtureDigests = fixtureDigests
    }

    /// The facts of a run with these services, environment and (for a dry run) recorded answers.
    public init(services: [String: HTTPServiceInfo], environment: [String: String], replaying recordings: [RecordedExchange]?) {
        var baseURLs: [String: String] = [:]
        // A replay answers whatever the host; a live run's key holds a base URL the environment
        // gives as the client uses it (no trailing slash), unless it is the service's own.
        if recordings == nil {
            for (name, info) in services {
                guard var url = environment[info.baseURLVariable], !url.isEmpty else { continue }
                if url.hasSuffix("/") { url.removeLast() }
                // Kept in the database for "why it ran": without a proxy's user:password in it.
                if url != info.defaultBaseURL { baseURLs[name] = URL(string: url).map(Redaction.displayURL) ?? url }
            }
        }
        self.init(baseURLs: baseURLs, fixtureDigests: recordings.map(Self.digests(of:)))
    }

    /// Each step's answers (status, headers kept, body) in recorded order, as one digest per step.
    static func digests(of recordings: [RecordedExchange]) -> [String: String] {
        var answers: [String: [JSONValue]] = [:]
        for exchange in recordings {
            let response = exchange.response
            answers[exchange.step, default: []].append([
                "item": exchange.item.map { .int($0) } ?? .null, "status": .int(response.status),
                "headers": .object(response.headers.mapValues { .string($0) }), "body": .string(response.body.matchingForm),
            ])
        }
        return answers.mapValues { Digest.sha256(Data(JSONValue.array($0).canonicalJSON.utf8)) }
    }
}
