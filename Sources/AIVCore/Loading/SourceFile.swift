import Foundation

/// The text of a workflow, prompt or inputs file, read with the checks hostile input needs: a size
/// limit and strict UTF-8 (with the line and column of the first bad byte).
public struct SourceFile: Sendable {
    /// The path as the user gave it; diagnostics print it so it matches their command line.
    public let path: String
    public let text: String
    /// Where each line starts, so a line or a location is found without scanning the file.
    private let lineStarts: [String.Index]

    /// Workflow, prompt and inputs files are hand-written text; anything bigger is a mistake or an attack.
    public static let defaultSizeLimit = 4 << 20

    public init(path: String, text: String) {
        self.path = path
        self.text = text
        var starts = [text.startIndex]
        let utf8 = text.utf8
        // Offsets from the contiguous bytes, then one index per line (offsetting a native
        // string's UTF-8 view is constant time), rather than an index step per byte.
        let newlines = utf8.withContiguousStorageIfAvailable { bytes in
            bytes.indices.filter { bytes[$0] == UInt8(ascii: "\n") }
        } ?? utf8.enumerated().compactMap { $1 == UInt8(ascii: "\n") ? $0 : nil }
        starts.reserveCapacity(newlines.count + 1)
        for offset in newlines { starts.append(utf8.index(utf8.startIndex, offsetBy: offset + 1)) }
        lineStarts = starts
    }

    /// How long a named pipe given for a file may go without a writer.
    public static let pipeWriterWait = 10.0

    /// Reads and decodes a file. Errors are diagnostics located in the file (1:1 when it cannot be read).
    /// `readsPipes`: a pipe is read too (`--inputs <(…)`, `--env-file <(pass …)`, where a
    /// program writes it); a workflow or prompt must be a file.
    public static func read(_ path: String, sizeLimit: Int = defaultSizeLimit, readsPipes: Bool = false,
                            pipeWait: Double = pipeWriterWait) throws(Diagnostic) -> SourceFile {
        let start = SourceLocation(file: path, line: 1, column: 1)
        var status = stat()
        guard stat(path, &status) == 0 else {
            let reason = switch errno {
            case ELOOP: "symbolic links loop (a link leads back to itself)"
            case EACCES: "permission denied"
            case ENOTDIR: "no such file (a part of the path is not a folder)"
            default: "no such file"
            }
            throw .error(reason, at: start)
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFIFO where readsPipes: break
        case S_IFDIR: throw .error("is a folder, not a file", at: start)
        // A pipe with no writer would make the read wait forever.
        default: throw .error("is not a regular file (a pipe, a socket or a device); aiv reads files from disk", at: start)
        }
        let size = Int(status.st_size)
        if size > sizeLimit {
            throw .error("file is \(ByteCount(size)), over the \(ByteCount(sizeLimit)) limit for this kind of file", at: start)
        }
        let handle: FileHandle
        if status.st_mode & S_IFMT == S_IFIFO, !path.hasPrefix("/dev/fd/"), !path.hasPrefix("/proc/") {
            // Opening a named pipe waits for a writer, for ever if none comes (`mkfifo x`): it is
            // opened without waiting, and what it sends waited for a bounded time. A pipe the
            // shell made for `<(…)` (/dev/fd/N) has its writer already, however slow it is to
            // write (a passphrase prompt): it is read as a file is.
            let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            guard descriptor >= 0 else { throw .error("cannot read the file", at: start) }
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            var ready = poll(&waiting, 1, Int32(pipeWait * 1000))
            while ready < 0, errno == EINTR { ready = poll(&waiting, 1, Int32(pipeWait * 1000)) }
            guard ready > 0 else {
                close(descriptor)
                throw .error("is a pipe nothing wrote to within \(Durations.format(pipeWait))", at: start)
            }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
            handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        } else {
            guard let opened = FileHandle(forReadingAtPath: path) else { throw .error("cannot read the file", at: start) }
            handle = opened
        }
        defer { try? handle.close() }
        // Read one byte past the limit so a file that grew after the size check is still caught.
        let data = (try? handle.read(upToCount: sizeLimit + 1)) ?? Data()
        if data.count > sizeLimit {
            throw .error("file is over the \(ByteCount(sizeLimit)) limit for this kind of file", at: start)
        }
        return try decode(data, path: path)
    }

    /// Strict UTF-8 decoding (a UTF-8 byte order mark is dropped); the error points at the first bad byte.
    public static func decode(_ data: Data, path: String) throws(Diagnostic) -> SourceFile {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw .error("file is UTF-16; save it as UTF-8", at: SourceLocation(file: path, line: 1, column: 1))
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            if bytes.contains(0), let nul = text.unicodeScalars.firstIndex(of: "\0") {
                let prefix = String(text.unicodeScalars[..<nul])
                throw .error("file contains a NUL character; is it a binary file?", at: location(after: prefix, in: path))
            }
            return SourceFile(path: path, text: text)
        }
        let offset = firstInvalidUTF8Offset(bytes)
        let prefix = String(decoding: bytes[..<offset], as: UTF8.self)
        throw .error(String(format: "file is not valid UTF-8 (byte 0x%02X); save it as UTF-8", bytes[offset]),
                     at: location(after: prefix, in: path))
    }

    /// The location just after `prefix`.
    static func location(after prefix: String, in path: String) -> SourceLocation {
        var line = 1, column = 1
        for scalar in prefix.unicodeScalars {
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return SourceLocation(file: path, line: line, column: column)
    }

    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let length: Int
            switch b {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return i
            }
            if i + length > bytes.count { return i }
            if length > 1, String(validating: bytes[i..<i + length], as: UTF8.self) == nil { return i }
            i += length
        }
        return min(i, bytes.count - 1)
    }

    /// The text of line `number` (1-based), without its line break.
    public func line(_ number: Int) -> Substring? {
        guard number >= 1, number <= lineStarts.count else { return nil }
        let start = lineStarts[number - 1]
        var end = number < lineStarts.count ? text.utf8.index(before: lineStarts[number]) : text.endIndex
        if end > start, text.utf8[text.utf8.index(before: end)] == UInt8(ascii: "\r") { end = text.utf8.index(before: end) }
        return text[start..<end]
    }

    /// The index of a location in `text`, nil when it is past the end of its line.
    func index(of location: SourceLocation) -> String.Index? {
        guard location.line >= 1, location.line <= lineStarts.count else { return nil }
        let scalars = text.unicodeScalars
        var index = lineStarts[location.line - 1]
        for _ in 1..<max(1, location.column) {
            guard index < scalars.endIndex, scalars[index] != "\n" else { return nil }
            index = scalars.index(after: index)
        }
        return index
    }

    /// Finds `needle` at or after `location` and returns where it starts; used to place a diagnostic
    /// inside a YAML scalar (an expression within a string) on its real line and column.
    public func locate(_ needle: String, from location: SourceLocation) -> SourceLocation? {
        guard !needle.isEmpty, let start = index(of: location),
              let found = text.utf8FirstRange(of: Array(needle.utf8), from: start) else { return nil }
        var line = location.line, column = location.column
        for scalar in text.unicodeScalars[start..<found] {
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return SourceLocation(file: location.file, line: line, column: column)
    }
}

/// A byte count for messages: "4 MB", "812 KB", "17 bytes".
struct ByteCount: CustomStringConvertible {
    let bytes: Int
    init(_ bytes: Int) { self.bytes = bytes }
    var description: String {
        if bytes >= 1 << 20 { return String(format: "%.1f MB", Double(bytes) / Double(1 << 20)) }
        if bytes >= 1 << 10 { return "\(bytes >> 10) KB" }
        return "\(bytes) bytes"
    }
}
