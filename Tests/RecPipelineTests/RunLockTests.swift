import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif
@testable import RecCore
@testable import RecPipeline
import RecTestSupport

@Suite final class RunLockTests {
    let home: TempDir
    var dir: String { home.path }

    init() throws { home = try TempDir(prefix: "runlock") }

    private func lockedError(_ body: () throws -> Void) -> RecError? {
        do { try body() } catch let e as RecError { return e } catch { return nil }
        return nil
    }

    @Test func acquire_inNewFolder_createsFolderAndRecordsPid() throws {
        let sub = dir + "/out/nested"
        let lock = try RunLock.acquire(directory: sub, wait: false)
        defer { lock.release() }
        #expect(lock.path == sub + "/.rec-pipeline.lock")
        #expect(lock.isHeld)
        let text = try String(contentsOfFile: lock.path, encoding: .utf8)
        #expect(text.contains("\"pid\":\(getpid())"))
    }

    @Test func acquire_twiceInOneProcess_secondThrowsLockedNamingHolder() throws {
        let first = try RunLock.acquire(directory: dir, wait: false)
        let error = lockedError { _ = try RunLock.acquire(directory: dir, wait: false) }
        #expect(error?.kind == .locked)
        #expect(error?.message.contains("pid \(getpid())") == true)
        #expect(error?.message.contains("holds \(first.path)") == true)
        #expect(error?.hint == "wait for it, or pass --wait")
        first.release()
        let second = try RunLock.acquire(directory: dir, wait: false)
        #expect(second.isHeld)
    }

    @Test func release_twice_isHarmlessAndLeavesLockFile() throws {
        let lock = try RunLock.acquire(directory: dir, wait: false)
        lock.release()
        lock.release()
        #expect(!lock.isHeld)
        #expect(FileManager.default.fileExists(atPath: lock.path))
    }

    @Test func deinit_releasesTheLock() throws {
        do { _ = try RunLock.acquire(directory: dir, wait: false) }
        _ = try RunLock.acquire(directory: dir, wait: false)
    }

    @Test func acquire_withWait_blocksUntilHolderReleases() throws {
        let first = try RunLock.acquire(directory: dir, wait: false)
        let released = Date().addingTimeInterval(0.3)
        let done = DispatchSemaphore(value: 0)
        let path = dir
        nonisolated(unsafe) var acquiredAt: Date?
        nonisolated(unsafe) var failure: Error?
        Thread.detachNewThread {
            do {
                let second = try RunLock.acquire(directory: path, wait: true)
                acquiredAt = Date()
                second.release()
            } catch { failure = error }
            done.signal()
        }
        Thread.sleep(until: released)
        first.release()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(failure == nil)
        #expect(acquiredAt.map { $0 >= released } == true)
    }

    #if os(Linux)
    @Test func lockDescriptor_isNotInheritedByChildren() throws {
        let lock = try RunLock.acquire(directory: dir, wait: false)
        // posix_spawn, unlike Foundation's Process, closes nothing itself: only O_CLOEXEC does.
        var pid: pid_t = 0
        let args: [UnsafeMutablePointer<CChar>?] = ["/bin/sleep", "30"].map { (s: String) in strdup(s) } + [nil]
        defer { args.forEach { free($0) } }
        #expect(posix_spawn(&pid, "/bin/sleep", nil, nil, args, environ) == 0)
        defer { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0) }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        #expect(!fds.isEmpty)
        for fd in fds {
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")
            #expect(target != lock.path)
        }
        // The child lives on; once we let go, the next run gets the lock.
        lock.release()
        let next = try RunLock.acquire(directory: dir, wait: false)
        #expect(next.isHeld)
    }
    #endif

    @Test func acquire_whileOtherProcessHolds_throwsLocked_andAfterItIsKilled_takesOver() throws {
        let path = RunLock.lockPath(directory: dir)
        // The shell takes the lock on fd 9, writes its holder line, says so, then becomes
        // `sleep` (same pid, fd 9 still open): a run that will never release by itself.
        let script = """
            exec 9>>"$1"; flock -x 9
            printf '{"host":"elsewhere","pid":%d,"started":"2024-01-02T03:04:05Z"}\\n' $$ > "$1"
            echo locked; exec sleep 60
            """
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", script, "sh", path]
        let out = Pipe()
        child.standardOutput = out
        try child.run()
        defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        #expect(line == "locked\n")

        let error = lockedError { _ = try RunLock.acquire(directory: dir, wait: false) }
        #expect(error?.kind == .locked)
        #expect(error?.message == "another run (pid \(child.processIdentifier) on host elsewhere, started 2024-01-02T03:04:05Z) holds \(path)")

        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        let lock = try RunLock.acquire(directory: dir, wait: false)
        #expect(lock.isHeld)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"pid\":\(getpid())"))
    }
}
