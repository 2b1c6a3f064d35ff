import AIVCore
import AIVSteps
import CAllocator
import Foundation

/// Benchmarks of the engine, printed as tables; run in release:
///     swift run -c release --static-swift-stdlib aiv-bench [validate | validate-loop <phase> [runs] | run [repeats] | obs-latency]
/// Each figure is measured on the machine it runs on; nothing here is a pass/fail test.
@main
enum Benchmarks {
    static func main() async throws {
        aiv_keep_freed_memory()  // as `aiv` does
        let which = CommandLine.arguments.dropFirst().first ?? "validate"
        switch which {
        case "validate": try ValidateBenchmark.run()
        case "run": try await RunBenchmark.run(arguments: Array(CommandLine.arguments.dropFirst(2)))
        case "obs-latency": try await OBSLatencyBenchmark.run()
        case "validate-loop":
            let arguments = CommandLine.arguments.dropFirst(2)
            try ValidateBenchmark.loop(phase: arguments.first ?? "all", runs: arguments.dropFirst().first.flatMap { Int($0) })
        default:
            StandardError.write("unknown benchmark '\(which)'; benchmarks: validate, validate-loop, run, obs-latency\n")
            exit(64)
        }
    }
}

/// Times `aiv validate` (load, check, compile) on generated workflows, and the rejection of hostile documents.
enum ValidateBenchmark {
    static func run() throws {
        let directory = NSTemporaryDirectory() + "aiv-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "{{text}} {{n}}".write(toFile: directory + "/t.mustache", atomically: true, encoding: .utf8)

        print("aiv validate: load + check + compile, in-process (\(ProcessInfo.processInfo.activeProcessorCount) cores)\n")
        var rows: [[String]] = []
        for steps in [100, 1000, 5000] {
            let path = directory + "/w\(steps).yaml"
            try workflow(steps: steps).write(toFile: path, atomically: true, encoding: .utf8)
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            let frontend = Frontend(registry: .builtin, environment: [:], binder: InputBinder(currentDirectory: directory))
            let times = measure(iterations: steps >= 5000 ? 10 : 50) {
                let output = frontend.plan(path: path)
                precondition(output.plan?.steps.count == steps, "\(output.diagnostics)")
            }
            rows.append([String(steps), "\(size / 1024) KB", ms(times.min), ms(times.median), ms(times.p90), String(format: "%.1f µs", times.median * 1e6 / Double(steps))])
        }
        print(Table.render(header: ["steps", "file", "min", "median", "p90", "per step"], rows: rows))

        print("Where the time goes (1,000 steps, medians)\n")
        let path = directory + "/w1000.yaml"
        let source = try SourceFile.read(path)
        let registry = StepRegistry.builtin
        let read = measure(iterations: 30) { _ = try? SourceFile.read(path) }
        let parse = measure(iterations: 30) { _ = WorkflowLoader().reader.read(source) }
        let parseWhole = measure(iterations: 30) { _ = YAMLReader().read(source) }
        let load = measure(iterations: 30) { _ = WorkflowLoader().load(source) }
        let workflow = WorkflowLoader().load(source).workflow!
        let check = measure(iterations: 30) { _ = WorkflowChecker(registry: registry).check(workflow, source: source) }
        let checked = WorkflowChecker(registry: registry).check(workflow, source: source)
        let compile = measure(iterations: 30) { _ = Compiler(registry: registry).compile(checked, inputs: ["url": "u"]) }
        print(Table.render(header: ["phase", "median"], rows: [
            ["read file", ms(read.median)], ["YAML to located values", ms(parse.median)],
            ["  the same on one thread", ms(parseWhole.median)],
            ["load (YAML + workflow model)", ms(load.median)], ["check", ms(check.median)], ["compile", ms(compile.median)],
        ]))

        print("Hostile documents: time to a located error\n")
        var hostile: [[String]] = []
        for (name, text) in hostileDocuments() {
            let path = directory + "/hostile.yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            var message = ""
            let times = measure(iterations: 5) {
                let output = Frontend(registry: .builtin, environment: [:]).check(path: path)
                message = output.diagnostics.errors.first.map { "\($0.location.map { "\($0.line):\($0.column)" } ?? "-") \($0.message)" } ?? "accepted!"
            }
            hostile.append([name, "\(text.utf8.count / 1024) KB", ms(times.median), String(message.prefix(70))])
        }
        print(Table.render(header: ["document", "size", "median", "first error"], rows: hostile))
    }

    /// One phase on the 1,000-step workflow, repeated for about five seconds, for a profiler
    /// (`perf record -g aiv-bench validate-loop check`): phases are parse, load, check, compile, all.
    /// With a number of runs it repeats exactly that often instead, so an instruction counter
    /// (`valgrind --tool=callgrind`) compares two builds where wall time on a busy machine cannot.
    static func loop(phase: String, runs fixedRuns: Int? = nil) throws {
        let directory = NSTemporaryDirectory() + "aiv-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "{{text}} {{n}}".write(toFile: directory + "/t.mustache", atomically: true, encoding: .utf8)
        let path = directory + "/w1000.yaml"
        try workflow(steps: 1000).write(toFile: path, atomically: true, encoding: .utf8)
        let source = try SourceFile.read(path)
        let registry = StepRegistry.builtin
        let workflow = WorkflowLoader().load(source).workflow!
        let checked = WorkflowChecker(registry: registry).check(workflow, source: source)
        let frontend = Frontend(registry: registry, environment: [:], binder: InputBinder(currentDirectory: directory))
        let body: () -> Void
        switch phase {
        case "parse": body = { _ = WorkflowLoader().reader.read(source) }
        case "parse-whole": body = { _ = YAMLReader().read(source) }
        case "load": body = { _ = WorkflowLoader().load(source) }
        case "check": body = { _ = WorkflowChecker(registry: registry).check(workflow, source: source) }
        case "compile": body = { _ = Compiler(registry: registry).compile(checked, inputs: ["url": "u"]) }
        default: body = { _ = frontend.plan(path: path) }
        }
        let end = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
        var runs = 0
        while fixedRuns.map({ runs < $0 }) ?? (DispatchTime.now().uptimeNanoseconds < end) {
            body()
            runs += 1
        }
        print("\(phase): \(runs) runs, \(ms(5 / Double(runs))) each")
    }

    /// A workflow shaped like a real one: a transcript load, then steps that fan out, filter and
    /// write, each referring to one or two earlier steps.
    static func workflow(steps: Int) -> String {
        var yaml = "name: bench\ninputs:\n  url: {type: string, default: https://example.com}\nsteps:\n"
        yaml += "  - id: s0\n    uses: list.merge\n    with: {lists: [[1, 2], [3]]}\n"
        for i in 1..<steps {
            let a = "s\(i - 1)", b = "s\(i / 2)"
            switch i % 4 {
            case 0:
                yaml += "  - id: s\(i)\n    uses: list.filter\n    with:\n      items: ${{ steps.\(a).outputs.items }}\n      where: item != null && index < 10\n"
            case 1:
                yaml += "  - id: s\(i)\n    uses: list.sort\n    needs: [\(b)]\n    with: {items: \"${{ steps.\(a).outputs.items }}\", order: descending}\n"
            case 2:
                yaml += "  - id: s\(i)\n    uses: template.render\n    for_each: ${{ steps.\(a).outputs.items }}\n    retry: {attempts: 3, backoff: 2s}\n"
                yaml += "    with:\n      template: t.mustache\n      values: {text: \"${{ format('{0}&t={1}s', inputs.url, index) }}\", n: \"${{ index }}\"}\n      output: \"out/\(i)-${{ index }}.md\"\n"
            default:
                yaml += "  - id: s\(i)\n    uses: list.merge\n    with:\n      lists: ${{ steps.\(a).outputs[*].text }}\n"
            }
        }
        return yaml
    }

    static func hostileDocuments() -> [(String, String)] {
        var bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in 1...12 { bomb += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ",") + "]\n" }
        return [
            ("billion laughs (9^12 values)", bomb + "name: x\nsteps: *a12\n"),
            ("flow nesting 100,000 deep", String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)),
            ("block nesting 900 deep", String(repeating: "- ", count: 900) + "x\n"),
            ("100,000 keys, one repeated", "name: x\nsteps: 1\nbig:\n" + (0..<100_000).map { "  k\($0 % 99_999): 1\n" }.joined()),
            ("3 MB scalar", "name: " + String(repeating: "x", count: 3 << 20) + "\nsteps: 1\n"),
            ("20,000 '(' in an expression", "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: \"${{ " + String(repeating: "(", count: 20000) + " }}\"}\n"),
            ("250 unknown steps after 3 MB of a string", "name: x\nsteps:\n  - id: a\n    uses: file.write\n    with: {path: a.txt, content: \""
                + String(repeating: "x", count: 3 << 20) + (0..<250).map { " ${{ steps.nope\($0).outputs.x }}" }.joined() + "\"}\n"),
        ]
    }

    struct Timing {
        var min: Double
        var median: Double
        var p90: Double
    }

    static func measure(iterations: Int, _ body: () -> Void) -> Timing {
        body()  // warm-up
        var samples: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        samples.sort()
        return Timing(min: samples[0], median: samples[samples.count / 2], p90: samples[min(samples.count - 1, samples.count * 9 / 10)])
    }

    static func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }
}
