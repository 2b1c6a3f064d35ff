@testable import AIVCore
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
    @Test func theShortcutForNormalPathsAgreesWithSplitting() {
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
