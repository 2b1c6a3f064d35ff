@testable import AIVCore
import AIVTestSupport
import Testing

@Suite struct PathsTests {
    @Test(arguments: [
        ("a/b.txt", "a/b.txt"), ("/x/y", "/x/y"), ("a/./b", "a/b"), ("a/../b", "b"), ("a//b/", "a/b"), ("./a", "a"),
        ("../a", "../a"), ("a/../..", ".."), ("/..", "/"), ("/", "/"), ("", "."), (".", "."), ("...", "..."), ("a/.b/..c", "a/.b/..c"),
    ])
    func normalizesDotsAndSlashes(path: String, expected: String) {
        #expect(Paths.normalize(path) == expected)
    }

    /// The fast path (a path already normal is returned as it is) never disagrees with splitting
    /// and joining, over every path of up to five parts drawn from awkward pieces.
    @Test func theShortcutForNormalPathsAgreesWithSplitting() async throws {
        try await heavyComputation {
            let pieces = ["a", "bc", ".", "..", "...", ".x", "", "日本"]
            var paths = [""]
            for _ in 0..<5 {
                paths = paths.flatMap { path in pieces.map { path.isEmpty ? $0 : path + "/" + $0 } }
                for path in paths {
                    for candidate in [path, "/" + path, path + "/"] {
                        #expect(Paths.normalize(candidate) == Paths.normalizeBySplitting(candidate), "\(candidate)")
                    }
                }
            }
        }
    }
}

@Suite struct AtomicFileNameTests {
    @Test(arguments: [
        ("/run/out/a.txt", "/run/out", "a.txt"), ("/a.txt", "/", "a.txt"), ("a.txt", ".", "a.txt"), ("out/.hidden", "out", ".hidden"),
        ("/run/語彙.json", "/run", "語彙.json"),
    ])
    func aTemporaryFileGoesBesideItsTargetUnderAHiddenName(path: String, folder: String, name: String) throws {
        #expect(AtomicFile.split(path) == (folder, name))
        let directory = TemporaryFolder()
        let temporary = try AtomicFile.temporaryPath(for: directory.path + (path.hasPrefix("/") ? path : "/" + path))
        #expect(temporary.hasSuffix(".partial") && AtomicFile.split(temporary).name.hasPrefix("." + name + "."))
    }
}
