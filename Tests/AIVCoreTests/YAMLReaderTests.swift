@testable import AIVCore
import AIVTestSupport
import Foundation
import Testing

@Suite struct YAMLReaderTests {
    func read(_ text: String) -> (SourceValue?, [String]) {
        let (value, diagnostics) = YAMLReader().read(SourceFile(path: "t.yaml", text: text))
        return (value, lines(diagnostics))
    }

    @Test func reportsDuplicateKeyAtSecondOccurrenceWithNoteAtFirst() {
        let (_, diagnostics) = YAMLReader().read(SourceFile(path: "t.yaml", text: "a: 1\nb: 2\na: 3\n"))
        #expect(lines(diagnostics) == ["3:1: error: duplicate key 'a'"])
        #expect(diagnostics.items.first?.notes.first?.location == SourceLocation(file: "t.yaml", line: 1, column: 1))
    }

    @Test func reportsDuplicateKeysInNestedMappings() {
        let (_, problems) = read("steps:\n  - id: a\n    uses: x\n    uses: y\n")
        #expect(problems == ["4:5: error: duplicate key 'uses'"])
    }

    /// libyaml starts a new line at a lone CR, NEL, LS and PS too; the file (an editor, the caret
    /// under a source line) does not, so locations after one keep the file's line and column.
    @Test(arguments: ["\u{2028}", "\u{2029}", "\u{85}", "\r"])
    func locationsAfterALineBreakOnlyLibyamlCountsAreTheFiles(separator: String) throws {
        let (value, problems) = read("a: \"one\(separator)two\"\nb: [x, \"y\(separator)z\", w]\nc: 3\n")
        #expect(problems.isEmpty)
        let items = try #require(value?["b"]?.items)
        #expect(items.map { "\($0.location.line):\($0.location.column)" } == ["2:5", "2:8", "2:15"])
        #expect(value?["c"]?.location == SourceLocation(file: "t.yaml", line: 3, column: 4))
        let (_, duplicate) = read("a: \"\(separator)\"\nb: 1\nb: 2\n")
        #expect(duplicate == ["3:1: error: duplicate key 'b'"])
        // With CRLF lines, after multi-byte characters, and as the file's last character.
        let (mixed, mixedProblems) = read("a: \"é日\(separator)x\"\r\nb: [\"\(separator)\", z]\r\nc: 1\(separator)")
        #expect(mixedProblems.isEmpty)
        #expect(mixed?["b"]?.items?.last?.location == SourceLocation(file: "t.yaml", line: 2, column: 10))
        #expect(mixed?["c"]?.location == SourceLocation(file: "t.yaml", line: 3, column: 4))
    }

    /// A line separator pasted into a value breaks the line there for libyaml, which then
    /// complains about what follows: a note points at the character and says how to keep it.
    @Test(arguments: [("\u{2028}", "U+2028 (line separator)", "\\L"), ("\u{2029}", "U+2029 (paragraph separator)", "\\P"), ("\u{85}", "U+0085 (next line)", "\\N")])
    func aMalformedFileWithAUnicodeLineBreakPointsAtIt(separator: String, name: String, escape: String) throws {
        let (value, diagnostics) = YAMLReader().read(SourceFile(path: "t.yaml", text: "a: 1\nb:\n  text: |\n    hello\(separator)world\n    next\n"))
        #expect(value == nil)
        let error = try #require(diagnostics.items.first)
        #expect(error.message.hasPrefix("malformed YAML"))
        let note = try #require(error.notes.last)
        #expect(note.message == "\(name) here is a line break to YAML, so what follows it starts a new line; remove it, or write it as \(escape) inside double quotes")
        #expect(note.location == SourceLocation(file: "t.yaml", line: 4, column: 10))
        // One that did no harm (in a quoted string) is not blamed for a problem elsewhere.
        let (_, elsewhere) = YAMLReader().read(SourceFile(path: "t.yaml", text: "a: \"x\(separator)y\"\nb: {c: 1\nd: 2\n"))
        #expect(elsewhere.items.count == 1 && elsewhere.items[0].notes.allSatisfy { !$0.message.contains("line break to YAML") }, "\(lines(elsewhere))")
        // Written as the escape in double quotes, the same character reads fine.
        let (escaped, problems) = read("a: 1\nb:\n  text: \"hello\(escape)world\"\n")
        #expect(problems.isEmpty)
        #expect(escaped?["b"]?["text"]?.string == "hello\(separator)world")
    }

    @Test func resolvesPlainScalarsByYAML12CoreSchema() {
        let (value, problems) = read("a: no\nb: on\nc: true\nd: 12\ne: 1.5\nf: ~\ng: '12'\nh: 0x1F\ni: 1e3\n")
        #expect(problems.isEmpty)
        #expect(value?.json == ["a": "no", "b": "on", "c": true, "d": 12, "e": 1.5, "f": nil, "g": "12", "h": 31, "i": 1000.0])
    }

    @Test func keepsLocationsOfKeysAndValues() throws {
        let (value, _) = read("top:\n  name:   hello\n")
        let entry = try #require(value?["top"]?.entry("name"))
        #expect(entry.keyLocation.line == 2 && entry.keyLocation.column == 3)
        #expect(entry.value.location.line == 2 && entry.value.location.column == 11)
        #expect(entry.value.length == 5)
    }

    @Test func reportsMalformedYAMLWithLineAndColumn() {
        let (value, problems) = read("a: 1\nb: [1, 2\nc: 3\n")
        #expect(value == nil)
        #expect(problems.count == 1)
        #expect(problems[0].hasPrefix("3:") || problems[0].hasPrefix("2:"))
        #expect(problems[0].contains("error: malformed YAML"))
    }

    @Test func expandsMergeKeysWithoutOverridingWrittenKeys() {
        let (value, problems) = read("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n")
        #expect(problems.isEmpty)
        #expect(value?["other"]?.json == ["x": 1, "y": 3])
    }

    @Test func rejectsBillionLaughsQuicklyWithLocation() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...10 {
            let previous = "*a\(level - 1)"
            text += "a\(level): &a\(level) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]\n"
        }
        let started = Date()
        let (value, problems) = read(text)
        #expect(value == nil)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("aliases that repeat aliases?") == true)
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func rejectsDeepFlowNesting() {
        let text = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        let (value, problems) = read(text)
        #expect(value == nil)
        #expect(problems.first?.hasPrefix("1:") == true)
        #expect(problems.first?.contains("nested") == true)
    }

    @Test func rejectsNestingBeyondDepthLimitBelowLibyamlLimit() {
        let text = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        let (value, problems) = read(text)
        #expect(value == nil)
        #expect(problems == ["1:129: error: values nested more than 128 levels deep"])
    }

    @Test func readsAMultiMegabyteScalar() async throws {
        try await heavyComputation {
            let big = String(repeating: "x", count: 3 << 20)
            let (value, problems) = read("a: \(big)\n")
            #expect(problems.isEmpty)
            #expect(value?["a"]?.string?.count == 3 << 20)
        }
    }

    @Test func refusesFilesOverTheSizeLimit() throws {
        let directory = TemporaryFolder()
        let path = directory.write("big.yaml", "a: " + String(repeating: "x", count: SourceFile.defaultSizeLimit))
        #expect(throws: Diagnostic.self) { try SourceFile.read(path) }
        do {
            _ = try SourceFile.read(path)
        } catch {
            #expect(error.message.contains("over the 4.0 MB limit"))
            #expect(error.location?.line == 1)
        }
    }

    /// A named pipe nothing writes to would block the read for ever: refused at once instead.
    @Test func refusesAPipeOrAFolderInsteadOfWaitingOnIt() throws {
        let directory = TemporaryFolder()
        let fifo = directory.path + "/w.yaml"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: Diagnostic.error("is not a regular file (a pipe, a socket or a device); aiv reads files from disk",
                                         at: SourceLocation(file: fifo, line: 1, column: 1))) { try SourceFile.read(fifo) }
        #expect(throws: Diagnostic.error("is a folder, not a file", at: SourceLocation(file: directory.path, line: 1, column: 1))) {
            try SourceFile.read(directory.path)
        }
    }

    /// Where pipes are read (`--inputs <(…)`), a named pipe nothing writes to is an error after
    /// `pipeWriterWait` rather than a wait for ever in `open`.
    @Test func aNamedPipeWithoutAWriterIsAnErrorWhereAPipeIsAllowed() throws {
        let directory = TemporaryFolder()
        let fifo = directory.path + "/inputs.yaml"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: Diagnostic.error("is a pipe nothing wrote to within 200ms", at: SourceLocation(file: fifo, line: 1, column: 1))) {
            try SourceFile.read(fifo, readsPipes: true, pipeWait: 0.2)
        }
    }

    /// A pipe the shell made for `<(…)` (/dev/fd/N) has its writer already: it is read however
    /// long the writer takes (a passphrase prompt), not refused after the named pipe's wait.
    @Test func aShellsPipeIsReadHoweverSlowItsWriter() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let (reading, writing) = (ends[0], ends[1])
        let writer = Thread {
            Thread.sleep(forTimeInterval: 0.5)
            _ = "FOO=1\n".withCString { write(writing, $0, 6) }
            close(writing)
        }
        writer.start()
        defer { close(reading) }
        #expect(try SourceFile.read("/dev/fd/\(reading)", readsPipes: true, pipeWait: 0.2).text == "FOO=1\n")
    }

    /// A path that cannot be opened says why: a link loop or a file under a file is not "no such file".
    @Test func aPathThatCannotBeOpenedSaysWhy() throws {
        let directory = TemporaryFolder()
        let loop = directory.path + "/loop.yaml"
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        #expect(throws: Diagnostic.error("symbolic links loop (a link leads back to itself)", at: SourceLocation(file: loop, line: 1, column: 1))) {
            try SourceFile.read(loop)
        }
        let file = directory.write("plain.txt", "x")
        #expect(throws: Diagnostic.error("no such file (a part of the path is not a folder)", at: SourceLocation(file: file + "/w.yaml", line: 1, column: 1))) {
            try SourceFile.read(file + "/w.yaml")
        }
        #expect(throws: Diagnostic.error("no such file", at: SourceLocation(file: directory.path + "/absent.yaml", line: 1, column: 1))) {
            try SourceFile.read(directory.path + "/absent.yaml")
        }
    }

    /// `--inputs <(…)` and `--env-file <(pass …)`: a pipe a program writes is read when asked for.
    @Test func aPipeIsReadWhenTheCallerTakesPipes() throws {
        let directory = TemporaryFolder()
        let fifo = directory.path + "/inputs.yaml"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            guard let handle = FileHandle(forWritingAtPath: fifo) else { return }
            handle.write(Data("title: from a pipe\n".utf8))
            try? handle.close()
        }
        writer.start()
        #expect(try SourceFile.read(fifo, readsPipes: true).text == "title: from a pipe\n")
    }

    @Test func pointsAtFirstInvalidUTF8Byte() {
        let directory = TemporaryFolder()
        let path = directory.write("bad.yaml", bytes: Array("name: ok\nsteps: caf".utf8) + [0xE9, 0x0A])
        do {
            _ = try SourceFile.read(path)
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "file is not valid UTF-8 (byte 0xE9); save it as UTF-8")
            #expect(error.location?.line == 2 && error.location?.column == 11)
        }
    }

    @Test func refusesUTF16AndBinaryFiles() {
        #expect(throws: Diagnostic.self) { try SourceFile.decode(Data([0xFF, 0xFE, 0x61, 0x00]), path: "x") }
        #expect(throws: Diagnostic.self) { try SourceFile.decode(Data([0x61, 0x00, 0x62]), path: "x") }
    }

    @Test func dropsUTF8ByteOrderMark() throws {
        let file = try SourceFile.decode(Data([0xEF, 0xBB, 0xBF] + Array("a: 1".utf8)), path: "x")
        #expect(file.text == "a: 1")
    }

    @Test func rejectsComplexKeysAndUnknownTags() {
        #expect(read("? [a, b]\n: 1\n").1 == ["1:3: error: mapping keys must be plain names, not mappings or lists"])
        #expect(read("a: !custom 1\n").1 == ["1:4: error: unsupported YAML tag '!custom'"])
        #expect(read("a: !!int abc\n").1 == ["1:4: error: 'abc' is not a valid int"])
    }
}
