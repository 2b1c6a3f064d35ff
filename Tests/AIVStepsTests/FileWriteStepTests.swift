import AIVTestSupport
import AIVCore
import AIVSteps
import Foundation
import Testing

@Suite struct FileWriteStepTests {
    static let value: JSONValue = [
        "workflow": "transcript-pack",
        "duration": 1440.02,
        "count": 3,
        "whole": 5.0,
        "ok": true,
        "nothing": nil,
        "empty": [],
        "none": [:],
        "items": [["japanese": "やばい", "note": "it's <great> & \"fun\"\n(slang)"], ["japanese": "お疲れ様"]],
        "tricky": ["no", "yes", "123", "1.5", "null", "~", "true", "- dash", "key: value", "#hash", "", " padded ", "trailing\n"],
        "numbers": [1e20, 1e-7, -3.0, -0.5],
        "no": "a key that reads as a boolean",
    ]

    func write(_ path: String, _ content: JSONValue, format: String? = nil, harness: StepHarness = StepHarness()) async throws -> (outputs: JSONValue, text: String?) {
        var arguments: [String: JSONValue] = ["path": .string(path), "content": content]
        if let format { arguments["format"] = .string(format) }
        let result = try await harness.run(FileWriteStep.self, arguments)
        #expect(result.files == [result.outputs["path"]?.stringValue ?? "?"])
        return (result.outputs, harness.runFolder.read(result.outputs["path"]?.stringValue ?? path))
    }

    @Test func aStringIsWrittenAsItIsWhateverTheExtension() async throws {
        for path in ["notes.txt", "reply.json", "data.yaml"] {
            let (outputs, text) = try await write(path, "{\"already\": \"json\"} & 日本語")
            #expect(text == "{\"already\": \"json\"} & 日本語")
            #expect(outputs == ["path": .string(path), "bytes": 31])
        }
    }

    @Test func jsonFilesArePrettySortedAndEndWithANewline() async throws {
        let (outputs, text) = try await write("index.json", ["b": [1, 2.5, ["y": nil, "x": []]], "a": "日本語 \"quoted\"\n", "c": [:]])
        let expected = """
            {
              "a": "日本語 \\"quoted\\"\\n",
              "b": [
                1,
                2.5,
                {
                  "x": [],
                  "y": null
                }
              ],
              "c": {}
            }

            """
        #expect(text == expected)
        #expect(outputs["bytes"] == .int(expected.utf8.count))
    }

    @Test func writtenJSONReadsBackAsTheSameValue() async throws {
        let (_, text) = try await write("index.json", Self.value)
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(try #require(text).utf8))
        // Decoding turns 5.0 into 5 and 1440.02 stays a decimal: compare as the engine would hash them.
        #expect(decoded.canonicalJSON == Self.value.canonicalJSON)
    }

    @Test(arguments: ["vocab.yaml", "vocab.yml", "VOCAB.YML"])
    func yamlFilesAreYAMLThatReadsBackAsTheSameValue(_ path: String) async throws {
        let (_, written) = try await write(path, Self.value)
        let text = try #require(written)
        #expect(text.contains("workflow: transcript-pack\n"))
        #expect(text.contains("japanese: やばい"))
        #expect(text.hasPrefix("count: 3\nduration: 1440.02\nempty: []\n"))
        #expect(text.contains("\n'no': a key that reads as a boolean\n"))
        #expect(text.contains("\n- '123'\n"))
        #expect(text.contains("  note: |-\n    it's <great> & \"fun\"\n    (slang)\n"))
        #expect(text.contains("whole: 5\n"), "5.0 as the cache key sees it")
        // Read back by aiv's own YAML 1.2 reader: every string that looks like something else was quoted.
        let (value, diagnostics) = YAMLReader().read(SourceFile(path: path, text: text))
        #expect(diagnostics.isEmpty)
        #expect(value?.json.canonicalJSON == Self.value.canonicalJSON)
    }

    /// Contents that share a cache key give the same file: 3 and 3.0 (a result restored from
    /// the cache holds 3), and infinity, NaN and null (JSON has no infinity).
    @Test func contentsThatShareACacheKeyGiveTheSameYAML() async throws {
        let whole = try await write("a.yaml", ["x": 3, "y": -0.0, "z": nil])
        let decimal = try await write("b.yaml", ["x": 3.0, "y": 0, "z": .double(.infinity)])
        #expect(whole.text == "x: 3\ny: 0\nz: null\n")
        #expect(decimal.text == whole.text)
        #expect(try await write("c.yaml", ["z": .double(.nan)]).text == "z: null\n")
        #expect(JSONValue.object(["x": 3, "y": -0.0, "z": nil]).canonicalJSON == JSONValue.object(["x": 3.0, "y": 0, "z": .double(.infinity)]).canonicalJSON)
    }

    @Test(arguments: [
        ("numbers.txt", nil as String?, JSONValue.array([1, 2.5]), "[\n  1,\n  2.5\n]\n"),
        ("numbers", nil, ["a": 1], "{\n  \"a\": 1\n}\n"),
        ("count.txt", "text", 42, "42"),
        ("list.txt", "text", ["b": 1, "a": [true, nil]], "{\"a\":[true,null],\"b\":1}"),
        ("flag.txt", "text", false, "false"),
        ("data.yaml", "json", ["a": 1], "{\n  \"a\": 1\n}\n"),
        ("data.json", "yaml", ["a": 1, "b": "x"], "a: 1\nb: x\n"),
        ("null.json", nil, .null, "null\n"),
        ("empty.json", nil, .array([]), "[]\n"),
    ] as [(String, String?, JSONValue, String)])
    func otherValuesAreEncodedByFormatOrExtension(_ path: String, _ format: String?, _ content: JSONValue, _ expected: String) async throws {
        let (_, text) = try await write(path, content, format: format)
        #expect(text == expected)
    }

    @Test func thePathIsNormalizedAndFoldersAreCreated() async throws {
        let harness = StepHarness()
        let (outputs, text) = try await write("out/./sheets/../vocab.json", ["n": 1], harness: harness)
        #expect(outputs == ["path": "out/vocab.json", "bytes": 13])
        #expect(text == "{\n  \"n\": 1\n}\n")
        #expect(harness.runFolder.files() == ["out/vocab.json"])
    }

    @Test func aSecondWriteReplacesTheFileAndLeavesNoTemporaryFiles() async throws {
        let harness = StepHarness()
        _ = try await write("a.txt", "first, and longer", harness: harness)
        let (outputs, text) = try await write("a.txt", "second", harness: harness)
        #expect(text == "second")
        #expect(outputs["bytes"] == 6)
        #expect(harness.runFolder.files() == ["a.txt"])
    }

    @Test(arguments: [
        ("../escape.txt", "output path must stay inside the run folder, but '../escape.txt' leaves it through '..'"),
        ("/etc/escape.txt", "output path must be a path inside the run folder, not an absolute path ('/etc/escape.txt')"),
        ("", "output path is empty; give a file name inside the run folder"),
        ("_aiv/outputs.json", "output path '_aiv/outputs.json' is inside '_aiv/', which aiv keeps for itself"),
    ])
    func pathsThatLeaveTheRunFolderAreRefused(_ path: String, _ message: String) async throws {
        let harness = StepHarness()
        #expect(try await harness.failure(FileWriteStep.self, ["path": .string(path), "content": "x"]) == message)
        #expect(harness.runFolder.files() == [])
    }

    /// A name up to the file system's 255 bytes is written (its hidden temporary name is cut
    /// to fit); a longer one is refused for what it is, and a write the system refuses says the
    /// system's reason, not "NSCocoaErrorDomain error 512".
    @Test func longNamesAreWrittenUpToTheLimitAndAWriteRefusedSaysWhy() async throws {
        let harness = StepHarness()
        let japanese = String(repeating: "草", count: 80) + ".txt"  // 244 bytes
        let longest = String(repeating: "b", count: 255)
        for name in [japanese, longest] {
            let (_, text) = try await write("shorts/\(name)", "ok", harness: harness)
            #expect(text == "ok", "\(name.utf8.count) bytes")
        }
        let tooLong = String(repeating: "c", count: 256)
        #expect(try await harness.failure(FileWriteStep.self, ["path": .string(tooLong), "content": "x"])
                == "output path has a name of 256 bytes ('cccccccccccccccccccc…'), and file systems take at most 255")
        harness.runFolder.write("taken/inside.txt", "a folder stands where the file goes")
        #expect(try await harness.failure(FileWriteStep.self, ["path": "taken", "content": "x"]) == "cannot write 'taken': Is a directory")
        #expect(Set(harness.runFolder.files()) == ["shorts/\(japanese)", "shorts/\(longest)", "taken/inside.txt"])
    }

    @Test func aSymbolicLinkOutOfTheRunFolderIsRefused() async throws {
        let harness = StepHarness()
        let outside = TemporaryFolder()
        try FileManager.default.createSymbolicLink(atPath: harness.runFolder.path + "/link", withDestinationPath: outside.path)
        let message = try await harness.failure(FileWriteStep.self, ["path": "link/x.txt", "content": "x"])
        #expect(message == "output path 'link/x.txt' leads out of the run folder through a symbolic link")
        #expect(outside.files() == [])
    }

    @Test func contentIsRequiredButNullIsAValue() async throws {
        let harness = StepHarness()
        #expect(try await harness.failure(FileWriteStep.self, ["path": "a.json"]) == "argument 'content' is missing")
    }
}
