import Foundation

/// A position in a source file: 1-based line and column (columns count Unicode scalars, as libyaml does).
///
/// The file is stored as a number in `SourceFileNames`, not as a `String`: every located value
/// (each YAML scalar, key and step) holds a location, and copying a heap-allocated path string
/// meant an atomic retain and release per copy. With the number the location is plain data.
/// `file` still reads and writes the path, so nothing outside sees the difference.
public struct SourceLocation: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The file's number in `SourceFileNames` (equal numbers: equal paths, so `==` and hashing are unchanged in meaning).
    var fileNumber: UInt32
    public var line: Int
    public var column: Int

    public var file: String {
        get { SourceFileNames.shared.path(fileNumber) }
        set { fileNumber = SourceFileNames.shared.number(for: newValue) }
    }

    public init(file: String, line: Int, column: Int) {
        self.init(fileNumber: SourceFileNames.shared.number(for: file), line: line, column: column)
    }

    /// For code that makes many locations in one file: the file looked up once, not per location.
    init(fileNumber: UInt32, line: Int, column: Int) {
        self.fileNumber = fileNumber
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    /// The location `count` columns further on the same line.
    public func advanced(by count: Int) -> SourceLocation {
        SourceLocation(fileNumber: fileNumber, line: line, column: column + count)
    }

    // Coded as before: the path, the line and the column.
    private enum CodingKeys: String, CodingKey {
        case file, line, column
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(file: try container.decode(String.self, forKey: .file), line: try container.decode(Int.self, forKey: .line),
                  column: try container.decode(Int.self, forKey: .column))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(line, forKey: .line)
        try container.encode(column, forKey: .column)
    }
}

/// Every file path a `SourceLocation` has named, each stored once, numbered in order of first use.
/// A process reads a handful of files, so the table stays small and is never emptied.
final class SourceFileNames: @unchecked Sendable {
    static let shared = SourceFileNames()

    /// Guards `paths` and `numbers` (locations are made on any thread).
    private let lock = NSLock()
    private var paths: [String] = []
    private var numbers: [String: UInt32] = [:]

    /// The number of `path`, added to the table the first time it is seen.
    func number(for path: String) -> UInt32 {
        lock.lock()
        defer { lock.unlock() }
        if let number = numbers[path] { return number }
        let number = UInt32(paths.count)
        paths.append(path)
        numbers[path] = number
        return number
    }

    func path(_ number: UInt32) -> String {
        lock.lock()
        defer { lock.unlock() }
        return paths[Int(number)]
    }
}
