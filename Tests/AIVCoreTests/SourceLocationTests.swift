import Foundation
import Testing
@testable import AIVCore

/// `SourceLocation` stores its file as a number in a shared table; to its users it is still the path.
@Suite struct SourceLocationFileTableTests {
    @Test func theFileReadsBackAndEqualityFollowsThePath() throws {
        let a = SourceLocation(file: "dir/w.yaml", line: 3, column: 7)
        #expect(a.file == "dir/w.yaml")
        #expect(a.description == "dir/w.yaml:3:7")
        #expect(a == SourceLocation(file: "dir/" + "w.yaml", line: 3, column: 7))
        #expect(a != SourceLocation(file: "dir/v.yaml", line: 3, column: 7))
        #expect(Set([a, SourceLocation(file: "dir/w.yaml", line: 3, column: 7)]).count == 1)
        #expect(a.advanced(by: 2) == SourceLocation(file: "dir/w.yaml", line: 3, column: 9))
        var moved = a
        moved.file = "other.yaml"
        #expect(moved.file == "other.yaml" && moved.line == 3 && moved.column == 7)
        #expect(a.file == "dir/w.yaml")
    }

    @Test func itIsCodedAsThePathLineAndColumn() throws {
        let location = SourceLocation(file: "ünïcode/w.yaml", line: 12, column: 5)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(location), as: UTF8.self)
        #expect(json == #"{"column":5,"file":"ünïcode\/w.yaml","line":12}"#)
        #expect(try JSONDecoder().decode(AIVCore.SourceLocation.self, from: Data(json.utf8)) == location)
    }

    @Test func locationsMadeOnManyThreadsAgree() async {
        let paths = (0..<20).map { "concurrent-\($0).yaml" }
        let made = await withTaskGroup(of: [AIVCore.SourceLocation].self) { group in
            for _ in 0..<8 { group.addTask { paths.map { SourceLocation(file: $0, line: 1, column: 1) } } }
            var all: [[AIVCore.SourceLocation]] = []
            for await locations in group { all.append(locations) }
            return all
        }
        for locations in made {
            #expect(locations.map(\.file) == paths)
            #expect(locations == made[0])
        }
    }
}
