import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a stop signal's handler needs to know about the run of this process, kept up to date
/// by the code that runs it: the stage running, the folders the run writes, the temporary
/// files it has open, the run locks it holds, and what to do for the monitoring file.
///
/// One per process (`shared`); every member is thread-safe. The handler (in the executables'
/// code) runs on its own thread and calls `beginStop()`, then `removeTemporaries()`, the
/// `onStop` hook and `clearLocks()`, and ends the process. From `beginStop()` on, any other
/// thread that tries to make a temporary file, publish a set of files or end the run is parked
/// until the process ends, so nothing the handler cleaned up is written again.
public final class RunState: @unchecked Sendable {
    public static let shared = RunState()

    private enum Phase { case running, ending, stopping }

    private let mutex = NSLock()
    /// Held while a set of files is renamed into place (`publishingSet`), and by the handler
    /// from `removeTemporaries()` until the process ends: a stop never falls between the
    /// renames of one set.
    private let publishing = NSLock()
    private var phase = Phase.running
    private var stopper: pthread_t?
    private var temporaries: Set<String> = []
    private var folders: [String] = []
    private var lockDescriptors: Set<Int32> = []
    private var tookLocks = false
    private var stage: String?
    private var lastFinished: String?
    private var stopHook: (@Sendable (Int32) -> Void)?

    private init() {}

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }

    /// Whether the calling thread is the one handling a stop.
    private var isStopper: Bool {
        guard let stopper else { return false }
        return pthread_equal(stopper, pthread_self()) != 0
    }

    /// Blocks the calling thread for good: the stopping thread ends the process.
    private static func park() -> Never {
        while true { sleep(3600) }
    }

    // MARK: - What the run is doing

    /// A stage starts.
    public func stageStarted(_ name: String) {
        locked { stage = name }
    }

    /// A stage ended (done or failed).
    public func stageEnded(_ name: String) {
        locked {
            if stage == name { stage = nil }
            lastFinished = name
        }
    }

    /// Where the run is, for the stop message: `in stage train`, `between stages (after
    /// split)`, `before any stage started`.
    public var whereabouts: String {
        locked {
            if let stage { return "in stage \(stage)" }
            if let lastFinished { return "between stages (after \(lastFinished))" }
            return "before any stage started"
        }
    }

    /// Folders the run writes to: on a stop they are searched for this process's temporary
    /// files besides the ones noted as they were made.
    public func addFolders(_ dirs: [String]) {
        locked { for d in dirs where !folders.contains(d) { folders.append(d) } }
    }

    /// What to do on a stop once the temporary files are gone (rec-pipeline: rewrite the
    /// monitoring file), given the exit code. Called on the stopping thread.
    public func onStop(_ hook: @escaping @Sendable (Int32) -> Void) {
        locked { stopHook = hook }
    }

    // MARK: - Files and locks

    /// Creates a temporary file with `create` (an `open` call returning a descriptor or -1)
    /// and notes it, as one step with respect to a stop: a file is either noted (and then
    /// removed by the stop) or never made.
    func createTemporary(_ path: String, _ create: () -> Int32) -> Int32 {
        mutex.lock()
        if phase == .stopping && !isStopper {
            mutex.unlock()
            RunState.park()
        }
        let fd = create()
        if fd >= 0 { temporaries.insert(path) }
        mutex.unlock()
        return fd
    }

    /// A temporary file was renamed into place or removed.
    func temporaryGone(_ path: String) {
        locked { _ = temporaries.remove(path) }
    }

    /// Runs `body` (the renames of a set of files) so that a stop waits for it to end, and
    /// parks the caller instead when a stop has already begun: the set is published whole or
    /// not at all.
    func publishingSet<T>(_ body: () throws -> T) rethrows -> T {
        if silencesThisThread { RunState.park() }
        publishing.lock()
        defer { publishing.unlock() }
        return try body()
    }

    /// A run lock was taken on this descriptor.
    public func lockTaken(_ fd: Int32) {
        locked {
            lockDescriptors.insert(fd)
            tookLocks = true
        }
    }

    /// Whether this process has taken a run lock (a run stopped while waiting for another
    /// run's lock has not: that run owns the stage records).
    public var hasTakenLocks: Bool {
        locked { tookLocks }
    }

    /// A run lock is about to be let go (its descriptor closed).
    public func lockReleased(_ fd: Int32) {
        locked { _ = lockDescriptors.remove(fd) }
    }

    // MARK: - Stopping

    /// Whether log lines of this thread are to be dropped: a stop is under way and another
    /// thread handles it (a stage failing because its files were removed is not news).
    public var silencesThisThread: Bool {
        locked { phase == .stopping && !isStopper }
    }

    /// The main thread is about to end the run (with its own exit code, after recording it in
    /// the monitoring file): a stop that comes later leaves it to finish. When a stop has
    /// already begun, parks the caller instead, and the stop ends the process.
    public func endRun() {
        mutex.lock()
        if phase == .stopping && !isStopper {
            mutex.unlock()
            RunState.park()
        }
        phase = .ending
        mutex.unlock()
    }

    /// Starts handling a stop on the calling thread; false when the run has already ended
    /// (`endRun`) or another stop is being handled.
    public func beginStop() -> Bool {
        locked {
            guard phase == .running else { return false }
            phase = .stopping
            stopper = pthread_self()
            return true
        }
    }

    /// On the stopping thread: waits for a set of files being renamed into place, then
    /// removes every temporary file of this process: those noted as they were made, and any
    /// other of this process's names (`.rec-tmp.<pid>.…`) in the run's folders. Other
    /// processes' files are left alone.
    /// - Returns: the paths removed.
    public func removeTemporaries() -> [String] {
        publishing.lock()  // kept until the process ends: no set is renamed after this
        return locked {
            var removed: [String] = []
            for path in temporaries.sorted() where unlink(path) == 0 { removed.append(path) }
            temporaries.removeAll()
            let me = getpid()
            for dir in folders {
                guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
                for name in names.sorted() where AtomicFile.temporaryOwner(name) == me {
                    let path = dir + "/" + name
                    var st = stat()
                    if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, unlink(path) == 0 { removed.append(path) }
                }
            }
            return removed
        }
    }

    /// On the stopping thread: the monitoring hook, with the exit code.
    public func runStopHook(exitCode: Int32) {
        let hook = locked { stopHook }
        hook?(exitCode)
    }

    /// On the stopping thread: empties the lock files this process holds (the holder's pid,
    /// for the message of a run that finds them taken); the locks themselves go with the
    /// process.
    public func clearLocks() {
        locked { for fd in lockDescriptors { _ = ftruncate(fd, 0) } }
    }
}
