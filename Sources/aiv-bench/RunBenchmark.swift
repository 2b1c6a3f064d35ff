import AIVCore
import AIVSteps
import AIVStore
import Foundation

/// Times the runner in-process on the three shapes of `bench/compare_engines.py` (every step a
/// `file.write` of one tiny file): what aiv itself costs per step, cold and cached, with process
/// start-up and workflow validation left out (validation is timed on its own). The cache, blob
/// store and run history are the real SQLite ones, under a temporary folder (`TMPDIR` chooses
/// where: on tmpfs the disk's noise is gone).
enum RunBenchmark {
    struct Shape {
        var name: String
        var steps: [(id: String, needs: [String])]
    }

    static let shapes: [Shape] = [
        Shape(name: "chain-100", steps: (0..<100).map { ("s\($0)", $0 == 0 ? [] : ["s\($0 - 1)"]) }),
        Shape(name: "fanout-1000", steps: (0..<1000).map { ("s\($0)", []) } + [("final", (0..<1000).map { "s\($0)" })]),
        Shape(name: "layers-10x100", steps: (0..<10).flatMap { layer in
            (0..<100).map { i in ("l\(layer)_\(i)", layer == 0 ? [] : ["l\(layer - 1)_\(i)", "l\(layer - 1)_\((i + 1) % 100)"]) }
        }),
    ]

    static func run(arguments: [String]) async throws {
        let repeats = arguments.first.flatMap(Int.init) ?? 5
        // A second argument picks shapes by the start of their names ("chain", "fanout,layers"): for a profiler.
        let picked = arguments.dropFirst().first.map { $0.split(separator: ",").map(String.init) }
        let parallel = 2
        let root = NSTemporaryDirectory() + "aiv-run-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        print("aiv run, in-process: µs per step, medians of \(repeats) (max parallel \(parallel), \(ProcessInfo.processInfo.activeProcessorCount) cores, under \(NSTemporaryDirectory()))\n")
        var rows: [[String]] = []
        for shape in shapes where picked?.contains(where: shape.name.hasPrefix) ?? true {
            var validate: [Double] = [], cold: [Double] = [], cached: [Double] = [], newFolder: [Double] = []
            for repetition in 0..<repeats {
                let directory = "\(root)/\(shape.name)-\(repetition)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try workflow(shape).write(toFile: directory + "/workflow.yaml", atomically: true, encoding: .utf8)
                let frontend = Frontend(registry: .builtin, environment: [:], binder: InputBinder(currentDirectory: directory))
                var started = DispatchTime.now().uptimeNanoseconds
                let output = frontend.plan(path: directory + "/workflow.yaml")
                validate.append(seconds(since: started))
                guard let plan = output.plan else { throw BenchmarkError("\(shape.name) does not validate: \(output.diagnostics)") }

                let store = try Store(path: directory + "/state/aiv.sqlite")
                let environment = RunEnvironment(
                    steps: BuiltinSteps.byName, registry: .builtin, cache: SQLiteCacheStore(store: store),
                    blobs: BlobStore(path: directory + "/state/cache/files"), observer: RunObservers([RunHistory(store: store)]),
                    environment: [:], maxParallel: parallel)
                let runner = Runner(environment)
                for (label, folder, expected) in [("cold", "run", StepStatus.succeeded), ("cached", "run", .cached), ("new folder", "run-2", .cached)] {
                    started = DispatchTime.now().uptimeNanoseconds
                    let report = await runner.run(plan, runID: "\(label)-\(repetition)", folder: RunFolder(path: "\(directory)/\(folder)"),
                                                  workflowDirectory: directory)
                    let elapsed = seconds(since: started)
                    let wrong = report.steps.filter { $0.status != expected }
                    guard wrong.isEmpty else {
                        throw BenchmarkError("\(shape.name) \(label): \(wrong.count) steps \(wrong[0].status.rawValue), not \(expected.rawValue): \(wrong[0].error ?? wrong[0].reason)")
                    }
                    switch label {
                    case "cold": cold.append(elapsed)
                    case "cached": cached.append(elapsed)
                    default: newFolder.append(elapsed)
                    }
                }
            }
            let count = Double(shape.steps.count)
            func perStep(_ samples: [Double]) -> String { String(format: "%.0f", median(samples) / count * 1e6) }
            rows.append([shape.name, String(shape.steps.count), String(format: "%.1f ms", median(validate) * 1000),
                         perStep(cold), perStep(cached), perStep(newFolder)])
        }
        print(Table.render(header: ["shape", "steps", "validate", "cold", "cached, same folder", "cached, new folder"], rows: rows))
    }

    static func workflow(_ shape: Shape) -> String {
        var yaml = "name: \(shape.name)\nsteps:\n"
        for (id, needs) in shape.steps {
            yaml += "  - id: \(id)\n    uses: file.write\n"
            if !needs.isEmpty { yaml += "    needs: [\(needs.joined(separator: ", "))]\n" }
            yaml += "    with: {path: out/\(id).txt, content: \"\(id)\"}\n"
        }
        return yaml
    }

    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    static func median(_ samples: [Double]) -> Double { samples.sorted()[samples.count / 2] }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
