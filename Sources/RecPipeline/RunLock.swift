import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecCore
import RecStore

/// One pipeline run at a time per folder: a run holds the lock of its output folder and of its
/// artefact folder (`acquire(directories:wait:)`, in a fixed order).
///
/// The lock is `flock(2)` on `<directory>/.rec-pipeline.lock`. The kernel drops it when the
/// holder's file descriptor closes, which includes the holder dying in any way (SIGKILL, OOM
/// kill, power loss does not matter: the lock is not on disk). So a lock file left behind by
/// a dead run is simply taken over; there is nothing to clean up by hand.
///
/// The file is never deleted: unlinking a lock file lets two runs lock two different inodes
/// under the same name. Its content (pid, host, start time of the holder) is only for the
/// message a second run prints.
///
/// The descriptor is opened with `O_CLOEXEC`, so a process started by the holder cannot keep
/// the lock alive after the holder has gone. `rec-pipeline` runs its stages in its own process
/// and takes the lock once; a stage executable run by hand takes the same lock itself.
public final class RunLock: @unchecked Sendable {
    /// File name of the lock inside the output folder.
    static let fileName = ".rec-pipeline.lock"

    /// The lock file.
    public let path: String

    private let mutex = NSLock()
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    /// Takes the lock of an output folder, creating the folder and the lock file if needed.
    ///
    /// The lock file is opened with `O_NOFOLLOW` and must be a regular file: a symbolic link
    /// (or a FIFO, a device) in its place is refused, never followed, so taking the lock
    /// never writes to a file the pipeline did not make.
    ///
    /// - Parameters:
    ///   - directory: the output folder the run writes to.
    ///   - wait: block until the lock is free, instead of failing at once.
    /// - Throws: `RecError(.locked)` naming the holder's pid and start time when another run
    ///   holds it and `wait` is false; `RecError(.runtime)` when the file cannot be opened or
    ///   is not a regular file.
    static func acquire(directory: String, wait: Bool) throws -> RunLock {
        let path = lockPath(directory: directory)
        try createFolder(directory)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard fd >= 0 else {
            let err = errno
            if err == ELOOP {
                throw RecError(.runtime, "is a symbolic link; a lock file is never followed", file: path,
                               hint: "remove it: the next run makes a plain one")
            }
            throw RecError(.runtime, "cannot open the lock file: \(String(cString: strerror(err)))", file: path)
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw RecError(.runtime, "is \(PlainFile.describe(mode: st.st_mode)), not a lock file", file: path,
                           hint: "remove it: the next run makes a plain one")
        }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            let err = errno
            if err == EINTR { continue }
            let holder = describeHolder(fd)
            close(fd)
            if err == EWOULDBLOCK {
                throw RecError(.locked, "another run (\(holder)) holds \(path)", hint: "wait for it, or pass --wait")
            }
            throw RecError(.runtime, "cannot lock: \(String(cString: strerror(err)))", file: path)
        }
        // Ours now: say who we are, for the message of the next run that finds it taken.
        let info = Holder(pid: Int(getpid()), host: hostName(), started: Date().ISO8601Format())
        let text = Array(((try? JSON.encodeString(info)) ?? "").utf8) + [10]
        if ftruncate(fd, 0) == 0 {
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        RunState.shared.lockTaken(fd)
        return RunLock(path: path, fd: fd)
    }

    /// Takes the locks of several folders (a run's output folder and its artefact folder), in
    /// one fixed order, the order of the folders' identities (device, inode), so that two runs
    /// needing the same two locks can never each hold one and wait for the other. A folder
    /// named twice, or by two paths to the same place (a symbolic link, `..`, a bind mount),
    /// is locked once: two `flock`s on one lock file through two descriptors would make a run
    /// wait for itself.
    ///
    /// - Returns: the locks, in the order taken; release them all (or drop them) when done.
    /// - Throws: as `acquire(directory:wait:)`; the locks already taken are released first.
    static func acquire(directories: [String], wait: Bool) throws -> [RunLock] {
        var byIdentity: [FileIdentity: String] = [:]
        for dir in directories {
            try createFolder(dir)
            guard let id = FileIdentity.of(dir) else {
                throw RecError(.runtime, "cannot stat the folder: \(String(cString: strerror(errno)))", file: dir)
            }
            byIdentity[id] = byIdentity[id] ?? dir
        }
        var locks: [RunLock] = []
        do {
            for id in byIdentity.keys.sorted() {
                locks.append(try acquire(directory: byIdentity[id]!, wait: wait))
            }
        } catch {
            for lock in locks.reversed() { lock.release() }
            throw error
        }
        return locks
    }

    private static func createFolder(_ directory: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else { throw RecError(.runtime, "is a file, not a folder", file: directory) }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw RecError(.runtime, "cannot create the folder (is a part of its path a file?)", file: directory)
        }
    }

    /// Lets go of the lock. Safe to call twice; also done when the value is freed.
    public func release() {
        mutex.lock()
        defer { mutex.unlock() }
        guard fd >= 0 else { return }
        RunState.shared.lockReleased(fd)
        _ = ftruncate(fd, 0)
        // Unlocked explicitly before closing: a process being started by another thread holds
        // a copy of the descriptor until its exec closes it, and would keep the flock alive.
        _ = flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    /// Whether this value still holds the lock.
    var isHeld: Bool {
        mutex.lock()
        defer { mutex.unlock() }
        return fd >= 0
    }

    /// `<directory>/.rec-pipeline.lock`.
    static func lockPath(directory: String) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + fileName
    }

    // MARK: - Holder

    private struct Holder: Codable {
        var pid: Int
        var host: String
        var started: String
    }

    /// "pid N on host H, started T", read from the lock file (best effort: the holder writes it
    /// just after taking the lock, so it may still be empty).
    private static func describeHolder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0, let h = try? JSONDecoder().decode(Holder.self, from: Data(buffer[0..<n])) else {
            return "pid unknown"
        }
        let host = h.host == hostName() ? "" : " on host \(h.host)"
        return "pid \(h.pid)\(host), started \(h.started)"
    }

    static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "unknown" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
