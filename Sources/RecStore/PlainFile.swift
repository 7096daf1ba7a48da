import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecCore

/// Opening files that must be ordinary data files: ratings, movies, settings, artefacts.
///
/// A folder, a FIFO, a socket or a device given as one of these is refused with a message
/// naming it, before anything reads from it: reading `/dev/zero` never ends and reading a FIFO
/// waits for a writer that may never come. The file is opened with `O_NONBLOCK` (so opening a
/// FIFO does not wait) and checked with `fstat` on the open descriptor, so what is checked is
/// what is read. Symbolic links to data files are followed (`make data` links MovieLens).
public enum PlainFile {
    /// Opens a regular file for reading.
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - kind: the error kind for a missing or unsuitable file (`.input` for data files,
    ///     `.config` for the settings file).
    /// - Returns: a descriptor the caller closes, and the file's size.
    /// - Throws: `RecError(kind)` naming `path` when it is missing, unreadable or not a
    ///   regular file.
    public static func open(_ path: String, kind: RecError.Kind = .input) throws -> (fd: Int32, size: Int) {
        if let special = specialLocation(path) {
            throw RecError(kind, "is \(special), not a data file", file: path)
        }
        let fd = Foundation.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            throw RecError(kind, err == ENOENT ? "file not found" : "cannot open: \(String(cString: strerror(err)))", file: path)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RecError(kind, "cannot stat: \(reason)", file: path)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw RecError(kind, "is \(describe(mode: st.st_mode)), not a regular file", file: path)
        }
        return (fd, Int(st.st_size))
    }

    /// Reads a whole regular file (see `open`), into one buffer of the file's size (one byte
    /// more, to see the end; grown if the file grows while it is read).
    public static func read(_ path: String, kind: RecError.Kind = .input) throws -> [UInt8] {
        let (fd, size) = try open(path, kind: kind)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: size + 1)
        var filled = 0
        while true {
            if filled == bytes.count { bytes += [UInt8](repeating: 0, count: max(bytes.count, 1 << 16)) }
            let n = bytes.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RecError(kind, "cannot read: \(String(cString: strerror(errno)))", file: path)
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// "a folder", "a FIFO (named pipe)", … for a `st_mode`.
    public static func describe(mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a folder"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        case S_IFREG: "a regular file"
        default: "not a regular file"
        }
    }

    /// Paths of the kernel's device and process files (`/dev/stdin`, `/proc/self/fd/0`):
    /// never data, even when they lead to a regular file (stdin redirected from one).
    /// `/dev/shm` holds ordinary files in memory and is not among them.
    static func specialLocation(_ path: String) -> String? {
        if path.hasPrefix("/dev/shm/") { return nil }
        for prefix in ["/dev/", "/proc/", "/sys/"] where path.hasPrefix(prefix) {
            return "a device or process file (under \(prefix))"
        }
        return nil
    }
}
