import AIVText
import Foundation
/// Rules for paths a step writes: relative, and inside the run folder once resolved.
public enum OutputPaths {
    /// Why `path` may not be written, or nil when it is fine. Symbolic links are checked when
    /// the step runs, since they are a property of the disk, not of the text.
    public static func problem(with path: String) -> String? {
        if path.isEmpty { return "is empty; give a file name inside the run folder" }
        if path.hasPrefix("/") || path.hasPrefix("~") { return "must be a path inside the run folder, not an absolute path ('\(path)')" }
        // Only a long path can have a name past the limit: most are looked at no further.
        if path.utf8.count > FileNames.maximumBytes,
           let long = path.split(separator: "/").first(where: { $0.utf8.count > FileNames.maximumBytes }) {
            return "has a name of \(long.utf8.count) bytes ('\(long.prefix(20))…'), and file systems take at most \(FileNames.maximumBytes)"
        }
        // A normal relative path (no empty, `.` or `..` part) names a file below the folder.
        if Paths.isNormal(path) { return nil }
        var depth = 0
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": depth -= 1
            default: depth += 1
            }
            if depth < 0 { return "must stay inside the run folder, but '\(path)' leaves it through '..'" }
        }
        if depth == 0 { return "must name a file inside the run folder, not the folder itself" }
        return nil
    }
}

/// A path compared byte for byte, as Linux compares file names. Swift's `String` equality counts
/// "café" written with é and with e + U+0301 as equal; on Linux those are two files, so two steps
/// writing them do not write one path.
public struct ExactPath: Hashable, Sendable {
    public let path: String
    public init(_ path: String) { self.path = path }
    public static func == (lhs: ExactPath, rhs: ExactPath) -> Bool { lhs.path.utf8.elementsEqual(rhs.path.utf8) }
    public func hash(into hasher: inout Hasher) {
        var path = path
        path.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Path arithmetic for paths shown to users and compared in tests: lexical (no disk access),
/// but for `notAFile` and `physicalFolder`.
public enum Paths {
    /// Why an existing path cannot be read as an input file: a pipe, a socket or a device would
    /// block a read for ever or never end (`/dev/zero`), and a folder is not a file. Nil for a
    /// regular file, and for a path that does not exist (said elsewhere, with its own message).
    public static func notAFile(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "is a folder, not a file"
        default: return "is not a regular file (a pipe, a socket or a device); aiv reads files from disk"
        }
    }

    /// The folder a workflow's relative paths start from. As written, unless a component of it
    /// is a symbolic link: then its real path, so that `../prompts` beside a linked `workflows/`
    /// is the folder beside the files it links to, as the file system (and `cat`) takes it, not
    /// the one a lexical `..` would give. The folder as written keeps messages short otherwise.
    public static func physicalFolder(_ folder: String) -> String {
        var prefix = folder.hasPrefix("/") ? "" : "."
        for component in folder.split(separator: "/") where component != "." {
            prefix += "/" + component
            var status = stat()
            guard lstat(prefix, &status) == 0 else { return folder }
            if status.st_mode & S_IFMT == S_IFLNK {
                guard let resolved = realpath(folder, nil) else { return folder }
                defer { free(resolved) }
                return String(cString: resolved)
            }
        }
        return folder
    }

    /// Joins `path` to `base` unless it is absolute, then removes `.` and `..` components.
    public static func resolve(_ path: String, relativeTo base: String) -> String {
        normalize(path.hasPrefix("/") || base.isEmpty || base == "." ? path : base + "/" + path)
    }

    /// The path that leads from folder `base` to `target` (both absolute, or both relative to the
    /// same folder): `relative(from: "a/w", to: "a/s/t.srt")` is `../s/t.srt`.
    public static func relative(from base: String, to target: String) -> String {
        let from = normalize(base).split(separator: "/").filter { $0 != "." }
        let to = normalize(target).split(separator: "/").filter { $0 != "." }
        var common = 0
        while common < from.count, common < to.count, from[common] == to[common], from[common] != ".." { common += 1 }
        let ups = Array(repeating: "..", count: from.count - common)
        let rest = to[common...].map(String.init)
        let joined = (ups + rest).joined(separator: "/")
        return joined.isEmpty ? "." : joined
    }

    /// `a/./b/../c` → `a/c`; leading `..` of a relative path are kept.
    public static func normalize(_ path: String) -> String {
        // Most paths are already normal; splitting and joining them showed in a cached step's profile.
        isNormal(path) ? path : normalizeBySplitting(path)
    }

    static func normalizeBySplitting(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                if let last = parts.last, last != ".." { parts.removeLast() } else if !absolute { parts.append(component) }
            default: parts.append(component)
            }
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// Whether `normalize` gives `path` back unchanged: not empty, no empty, `.` or `..` part, no
    /// trailing slash (a lone `/` and paths with `..` are left to `normalize`).
    static func isNormal(_ path: String) -> Bool {
        var path = path
        // Over the contiguous bytes: iterating `utf8` generically cost more than the check itself.
        return path.withUTF8 { bytes in
            let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
            var length = 0  // of the current part
            var dotsOnly = true
            for offset in bytes.indices {
                let byte = bytes[offset]
                if byte == slash {
                    if offset == 0 { continue }  // an absolute path's root
                    if length == 0 || (dotsOnly && length <= 2) { return false }
                    length = 0
                    dotsOnly = true
                } else {
                    length += 1
                    if byte != dot { dotsOnly = false }
                }
            }
            return length > 0 && !(dotsOnly && length <= 2)
        }
    }
}
