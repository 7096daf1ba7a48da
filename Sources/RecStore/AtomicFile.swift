import Foundation
import RecCore

/// Files appear whole or not at all: written to a temporary name in the same folder, flushed
/// to disk, then renamed over the destination. A run killed at any moment leaves either the old
/// file or the new one, never half of one.
///
/// Permissions: a file that replaces a regular file keeps that file's permission bits (and
/// its group, where the process may set it); a new file gets `newFileMode`, or 0666 less the
/// umask when none is given. The temporary file has those permissions before the first byte
/// is written, so the published file is never, even for a moment, more open than that.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write($0, to: path) }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        try publish(try writeTemporary(bytes, beside: path, newFileMode: nil), to: path)
    }

    /// Writes a file from several buffers in order, without joining them first (an artefact of
    /// a large model is written as its header and its compressed frames: joining them would
    /// hold the model's size twice more).
    public static func write(parts: [[UInt8]], to path: String) throws {
        try publish(try writeTemporary(beside: path, newFileMode: nil) { append in
            for part in parts { try part.withUnsafeBytes { try append($0) } }
        }, to: path)
    }

    /// Writes a file piece by piece, for one too large to hold whole: `body` is given a
    /// function that appends bytes; the file is renamed into place when `body` returns, and
    /// removed when it throws.
    /// - Returns: what `body` returns.
    public static func write<T>(to path: String, _ body: (_ append: ([UInt8]) throws -> Void) throws -> T) throws -> T {
        var result: T?
        try publish(try writeTemporary(beside: path, newFileMode: nil) { append in
            // `append` does not outlive this call; Swift cannot see that through `body`.
            try withoutActuallyEscaping(append) { append in
                result = try body { bytes in try bytes.withUnsafeBytes { try append($0) } }
            }
        }, to: path)
        return result!
    }

    /// Renames a flushed temporary file over `path` and makes the rename durable.
    private static func publish(_ temp: String, to path: String) throws {
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            discard(temp)
            throw RecError(.runtime, "cannot rename into place: \(reason)", file: path)
        }
        RunState.shared.temporaryGone(temp)
        syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// Writes several files as one step: every file is written and flushed under a temporary
    /// name first, and only then are they all renamed into place, back to back. A failure
    /// before the renames leaves every destination as it was; a kill during them (a few
    /// microseconds) leaves each file whole, old or new.
    /// - Parameter newFileMode: the permissions of a file that does not exist yet (nil: 0666
    ///   less the umask); a file that is replaced keeps its own.
    public static func writeAll(_ files: [(path: String, bytes: [UInt8])], newFileMode: FileMode? = nil) throws {
        var temps: [(temp: String, path: String)] = []
        defer { for t in temps { discard(t.temp) } }
        for f in files {
            let temp = try f.bytes.withUnsafeBytes { try writeTemporary($0, beside: f.path, newFileMode: newFileMode) }
            temps.append((temp, f.path))
        }
        // A stop signal waits for these renames to end (or, once begun, keeps them from starting).
        try RunState.shared.publishingSet {
            for (i, t) in temps.enumerated() {
                guard rename(t.temp, t.path) == 0 else {
                    let reason = String(cString: strerror(errno))
                    for done in temps.prefix(i) { RunState.shared.temporaryGone(done.temp) }
                    temps.removeFirst(i)
                    throw RecError(.runtime, "cannot rename into place: \(reason)", file: t.path)
                }
            }
        }
        for t in temps { RunState.shared.temporaryGone(t.temp) }
        for dir in Set(temps.map { URL(fileURLWithPath: $0.path).deletingLastPathComponent().path }) { syncDirectory(dir) }
        temps.removeAll()
    }

    /// Writes `bytes` to a new temporary file in the folder of `path` (created if missing),
    /// flushed to disk. The file is created with `O_EXCL | O_NOFOLLOW`: it is always a new
    /// file of ours, never an existing file or the target of a symbolic link. It has the
    /// permissions `path` will have (see `AtomicFile`) before anything is written to it.
    /// - Returns: the temporary file's path.
    static func writeTemporary(_ bytes: UnsafeRawBufferPointer, beside path: String, newFileMode: FileMode?) throws -> String {
        try writeTemporary(beside: path, newFileMode: newFileMode) { try $0(bytes) }
    }

    /// `writeTemporary` of the bytes that `body` appends with the function it is given.
    private static func writeTemporary(
        beside path: String, newFileMode: FileMode?, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw RecError(.runtime, "cannot create the folder \(dir)", file: path)
        }
        // Unique per call, not only per process: two threads writing the same file must not
        // share (and truncate) one temporary file.
        let temp = dir + "/" + temporaryName(for: url.lastPathComponent)
        let kept = replacedFile(path)
        let exact = kept?.mode ?? newFileMode?.bits
        // With an exact mode to give, the file starts owner-only and is opened up to it below;
        // otherwise open() applies the umask to 0666, as a shell redirection does. Noted for a
        // stop signal's handler, which removes this process's temporary files.
        let fd = RunState.shared.createTemporary(temp) {
            open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exact == nil ? 0o666 : 0o600)
        }
        guard fd >= 0 else { throw RecError(.runtime, "cannot create: \(String(cString: strerror(errno)))", file: temp) }
        do {
            if let exact { try setPermissions(fd, mode: exact, group: kept?.group, file: path) }
            try body { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw RecError(.runtime, "cannot write: \(String(cString: strerror(errno)))", file: path)
                    }
                    offset += n
                }
            }
        } catch {
            close(fd); discard(temp)
            throw error
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            discard(temp)
            throw RecError(.runtime, "cannot flush to disk", file: path)
        }
        return temp
    }

    /// Removes a temporary file of ours that will not be renamed.
    private static func discard(_ temp: String) {
        unlink(temp)
        RunState.shared.temporaryGone(temp)
    }

    // MARK: - Permissions

    /// The permission bits and group of the regular file at `path`, which a new version
    /// keeps; nil when there is none (nothing there, or a link, folder or other kind of file,
    /// which the rename replaces as a new file).
    static func replacedFile(_ path: String) -> (mode: mode_t, group: gid_t)? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (st.st_mode & 0o777, st.st_gid)
    }

    /// Gives the open file `fd` the group `group` (when given) and exactly the permission
    /// bits `mode`, whatever the umask. A group the process may not give (EPERM: it is not a
    /// member) is left as the system chose it, and the group bits are then cleared: members
    /// of another group must not gain access that the replaced file gave its own group.
    private static func setPermissions(_ fd: Int32, mode: mode_t, group: gid_t?, file: String) throws {
        var mode = mode
        if let group {
            if fchown(fd, uid_t.max, group) != 0 {
                guard errno == EPERM else { throw RecError(.runtime, "cannot set the group: \(String(cString: strerror(errno)))", file: file) }
                var st = stat()
                if fstat(fd, &st) != 0 || st.st_gid != group { mode &= ~0o070 }
            }
        }
        guard fchmod(fd, mode) == 0 else {
            throw RecError(.runtime, "cannot set the permissions \(FileMode(bits: mode).map(\.description) ?? String(mode, radix: 8)): \(String(cString: strerror(errno)))", file: file)
        }
    }

    // MARK: - Temporary names

    /// Temporary files are `.rec-tmp.<pid>.<16 hex digits>.<name>`: the writer's pid and a
    /// random token, so that no two writers share one, and so that a leftover can be told
    /// from a person's own file (`.notes.tmp-2024` is never taken for ours) and its writer
    /// found.
    static let temporaryPrefix = ".rec-tmp."

    /// A fresh temporary name for a file called `name`.
    static func temporaryName(for name: String) -> String {
        let token = String(UInt64.random(in: 0 ... .max), radix: 16)
        return temporaryPrefix + "\(getpid())." + String(repeating: "0", count: 16 - token.count) + token + "." + name
    }

    /// The pid that made a temporary file of this name, or nil when the name is not exactly
    /// of the form `temporaryName` makes.
    static func temporaryOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix(temporaryPrefix) else { return nil }
        let parts = name.dropFirst(temporaryPrefix.count).split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[2].isEmpty,
              (1...10).contains(parts[0].count), parts[0].allSatisfy({ $0.isASCII && $0.isNumber }), parts[0].first != "0",
              parts[1].count == 16, parts[1].allSatisfy({ $0.isASCII && $0.isHexDigit && !$0.isUppercase }),
              let pid = pid_t(parts[0]), pid > 0 else { return nil }
        return pid
    }

    /// Whether a file name is one of the temporary names above, which only a writer that was
    /// killed before its rename can leave behind.
    public static func isTemporary(_ name: String) -> Bool {
        temporaryOwner(name) != nil
    }

    /// Removes, from one folder, the temporary files of writers that are gone: a regular file
    /// (not a link, not a folder) whose name is exactly of our form and whose pid is neither
    /// this process nor a live one. Anything else is left alone. Call it only while holding
    /// the lock of the folder, so that no run of ours is writing there.
    /// - Returns: the names removed.
    @discardableResult
    public static func removeLeftovers(in dir: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var removed: [String] = []
        for name in names.sorted() {
            guard let pid = temporaryOwner(name), pid != getpid(), !isAlive(pid) else { continue }
            var st = stat()
            let path = dir + "/" + name
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlink(path) == 0 { removed.append(name) }
        }
        return removed
    }

    /// Whether a process with this pid exists (a pid of another user's process counts too).
    static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// Makes a rename durable: flushes the folder's entry table.
    static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Reads a whole file, with a clear error naming it; anything but a regular file (a
    /// folder, a FIFO, a device) is refused (see `PlainFile`).
    public static func read(_ path: String) throws -> [UInt8] {
        try PlainFile.read(path, kind: .input)
    }
}
