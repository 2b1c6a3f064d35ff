import Foundation

/// A file's size, its times to the nanosecond and which file it is, from one `stat` call: what
/// tells a file that changed from one that did not without reading it. The status-change time
/// moves with every write, even one whose size and modification time are put back (`cp -p`,
/// `touch -r`, a same-length edit).
struct FileStamp: Equatable {
    var size: Int64
    /// Nanoseconds since 1970, as the file system gives them.
    var modified: Int64
    var changed: Int64
    var device: UInt64
    var inode: UInt64
    var isRegularFile: Bool

    /// Nil when there is nothing at `path`. `followingLinks: false` stamps a symbolic link itself.
    static func of(_ path: String, followingLinks: Bool = true) -> FileStamp? {
        var info = Foundation.stat()
        guard (followingLinks ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
        #if os(Linux)
        let (modified, changed) = (info.st_mtim, info.st_ctim)
        #else
        let (modified, changed) = (info.st_mtimespec, info.st_ctimespec)
        #endif
        // Wrapping arithmetic: a time past 2262 (or before 1678) would overflow and trap; wrapped,
        // equal times still give equal numbers, which is all a comparison needs.
        func nanoseconds(_ time: timespec) -> Int64 { Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec) }
        return FileStamp(size: Int64(info.st_size), modified: nanoseconds(modified), changed: nanoseconds(changed),
                         device: UInt64(info.st_dev), inode: UInt64(info.st_ino), isRegularFile: info.st_mode & S_IFMT == S_IFREG)
    }
}
