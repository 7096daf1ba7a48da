import Dispatch
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif
@testable import RecStore
@testable import RecPipeline

/// The pipeline touches only files it made: temporary names nobody else uses, leftovers removed
/// only when provably ours and abandoned, no symbolic link followed for a lock, no special
/// file read as data.
@Suite struct OwnFilesTests {
    /// The pid of a process that has exited (and been reaped).
    static func deadPid() throws -> pid_t {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    // MARK: - Temporary names

    @Test func temporaryName_isRecognised_andNamesThisProcess() {
        let a = AtomicFile.temporaryName(for: "metrics.json"), b = AtomicFile.temporaryName(for: "metrics.json")
        #expect(a != b)
        #expect(a.hasPrefix(".rec-tmp.\(getpid()).") && a.hasSuffix(".metrics.json"))
        #expect(AtomicFile.temporaryOwner(a) == getpid())
        #expect(AtomicFile.isTemporary(b))
    }

    @Test(arguments: [
        ".notes.tmp-2024", ".publish-plan.txt", ".metrics.json.tmp-123-456", ".publish-recommendations.csv", ".rec-tmp.notes",
        ".rec-tmp.12.0123456789abcdef", ".rec-tmp.12.0123456789abcdef.", ".rec-tmp.12.0123456789ABCDEF.x", ".rec-tmp.12.0123456789abcde.x",
        ".rec-tmp.012.0123456789abcdef.x", ".rec-tmp.-5.0123456789abcdef.x", ".rec-tmp.x12.0123456789abcdef.x",
        ".rec-tmp.99999999999.0123456789abcdef.x", ".rec-tmp.0.0123456789abcdef.x", "rec-tmp.12.0123456789abcdef.x",
        ".rec-tmp.١٢.0123456789abcdef.x",
    ])
    func temporaryOwner_ofNamesNotExactlyOurs_isNil(name: String) {
        #expect(AtomicFile.temporaryOwner(name) == nil)
    }

    @Test func writeAll_leavesNoTemporaryFile_andLeavesLookalikeFilesAlone() throws {
        let dir = try TempDir()
        let mine = [".publish-metrics.json", ".publish-plan.txt", ".metrics.json.tmp-1-2"]
        for name in mine { try writePlain(bytes("user's \(name)"), to: dir.file(name)) }
        try AtomicFile.writeAll([(dir.file("metrics.json"), bytes("{}")), (dir.file("report.html"), bytes("<p>"))])
        try AtomicFile.write("again", to: dir.file("metrics.json"))
        #expect(try dir.contents() == (mine + ["metrics.json", "report.html"]).sorted())
        for name in mine { #expect(try AtomicFile.read(dir.file(name)) == bytes("user's \(name)")) }
    }

    @Test func removeLeftovers_removesOnlyOurNamesOfDeadWriters() throws {
        let dir = try TempDir()
        let dead = try Self.deadPid()
        let token = "0123456789abcdef"
        let leftover = ".rec-tmp.\(dead).\(token).model.art"
        let keep = [
            ".rec-tmp.\(getpid()).\(token).mine.art",  // this process is writing it
            ".rec-tmp.\(getppid()).\(token).parent.art",  // a live process
            ".rec-tmp.1.\(token).init.art",  // pid 1 lives as long as the machine
            ".notes.tmp-2024", ".publish-plan.txt", "model.art",
        ]
        for name in [leftover] + keep { try writePlain(bytes(name), to: dir.file(name)) }
        // Our name, dead writer, but a folder and a symbolic link: not files we wrote.
        try FileManager.default.createDirectory(atPath: dir.file(".rec-tmp.\(dead).\(token).folder"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: dir.file(".rec-tmp.\(dead).\(token).link"), withDestinationPath: "model.art")

        #expect(AtomicFile.removeLeftovers(in: dir.path) == [leftover])
        #expect(try dir.contents() == (keep + [".rec-tmp.\(dead).\(token).folder", ".rec-tmp.\(dead).\(token).link"]).sorted())
        #expect(try AtomicFile.read(dir.file("model.art")) == bytes("model.art"))
    }

    // MARK: - Plain files only

    @Test func read_ofAFolder_throwsInputErrorSayingSo() throws {
        let dir = try TempDir()
        let e = try #require(recError { try AtomicFile.read(dir.path) })
        #expect(e.kind == .input && e.file == dir.path && e.message == "is a folder, not a regular file")
    }

    @Test func read_andHash_ofAFIFO_failAtOnceWithoutAWriter() throws {
        let dir = try TempDir()
        let fifo = dir.file("ratings.dat")
        #expect(mkfifo(fifo, 0o644) == 0)
        let clock = ContinuousClock.now
        let e = try #require(recError { try AtomicFile.read(fifo) })
        #expect(e.kind == .input && e.file == fifo && e.message == "is a FIFO (named pipe), not a regular file")
        let h = try #require(recError { try Hash.fileHex(fifo) })
        #expect(h.message == e.message)
        let s = try #require(recError { try Manifest.stamp(fifo) })
        #expect(s.file == fifo)
        #expect(clock.duration(to: .now) < .seconds(5))
    }

    @Test(arguments: ["/dev/zero", "/dev/null", "/dev/stdin", "/proc/self/status"])
    func read_andHash_ofDeviceOrProcessFiles_throwNamingThem(path: String) throws {
        let e = try #require(recError { try AtomicFile.read(path) })
        #expect(e.kind == .input && e.file == path && e.message.contains("device or process file"))
        let h = try #require(recError { try Hash.fileHex(path) })
        #expect(h.file == path)
    }

    @Test func read_ofAFileInDevShm_works() throws {
        guard FileManager.default.fileExists(atPath: "/dev/shm") else { return }
        let path = "/dev/shm/rec-test-\(UUID().uuidString)"
        try writePlain(bytes("in memory"), to: path)
        defer { unlink(path) }
        #expect(try AtomicFile.read(path) == bytes("in memory"))
    }

    @Test func read_throughASymbolicLinkToAFile_works() throws {
        let dir = try TempDir()
        try writePlain(bytes("1::1::5\n"), to: dir.file("real.dat"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("link.dat"), withDestinationPath: "real.dat")
        #expect(try AtomicFile.read(dir.file("link.dat")) == bytes("1::1::5\n"))
        #expect(try Hash.fileHex(dir.file("link.dat")) == (try Hash.fileHex(dir.file("real.dat"))))
    }

    // MARK: - Locks

    @Test func lock_whenLockFileIsASymbolicLink_refusesAndLeavesTargetAlone() throws {
        let dir = try TempDir()
        try writePlain(bytes("precious\n"), to: dir.file("precious.txt"))
        try FileManager.default.createDirectory(atPath: dir.file("out"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: dir.file("out/.rec-pipeline.lock"), withDestinationPath: dir.file("precious.txt"))
        let e = try #require(recError { try RunLock.acquire(directory: dir.file("out"), wait: false) })
        #expect(e.kind == .runtime && e.file == dir.file("out/.rec-pipeline.lock") && e.message.contains("symbolic link"))
        #expect(try AtomicFile.read(dir.file("precious.txt")) == bytes("precious\n"))
        // A dangling link would have been created through, too.
        try FileManager.default.removeItem(atPath: dir.file("precious.txt"))
        #expect(recError { try RunLock.acquire(directory: dir.file("out"), wait: false) } != nil)
        #expect(!FileManager.default.fileExists(atPath: dir.file("precious.txt")))
    }

    @Test func lock_whenLockFileIsAFIFO_refusesNamingIt() throws {
        let dir = try TempDir()
        #expect(mkfifo(dir.file(".rec-pipeline.lock"), 0o644) == 0)
        let e = try #require(recError { try RunLock.acquire(directory: dir.path, wait: false) })
        #expect(e.message.contains("FIFO") && e.file == dir.file(".rec-pipeline.lock"))
    }

    @Test func lockDirectories_takesEachRealFolderOnce_inIdentityOrder() throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.file("b"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link-to-b"), withDestinationPath: "b")
        let locks = try RunLock.acquire(directories: [dir.file("c"), dir.file("link-to-b"), dir.file("a"), dir.file("b")], wait: false)
        let expected = ["a", "link-to-b", "c"].sorted { FileIdentity.of(dir.file($0))! < FileIdentity.of(dir.file($1))! }
        #expect(locks.map(\.path) == expected.map { dir.file($0 + "/.rec-pipeline.lock") })
        // Each is really held: a second taker of any one of them is refused, and of none once released.
        for folder in ["a", "b", "c"] {
            #expect(recError { try RunLock.acquire(directory: dir.file(folder), wait: false) }?.kind == .locked)
        }
        for lock in locks { lock.release() }
        #expect(try RunLock.acquire(directories: [dir.file("a"), dir.file("b")], wait: false).count == 2)
    }

    @Test func lockDirectories_whenTheSecondIsHeld_releasesTheFirst() throws {
        let dir = try TempDir()
        let holder = try RunLock.acquire(directory: dir.file("b"), wait: false)
        let e = try #require(recError { try RunLock.acquire(directories: [dir.file("a"), dir.file("b")], wait: false) })
        #expect(e.kind == .locked)
        let a = try RunLock.acquire(directory: dir.file("a"), wait: false)
        #expect(a.isHeld)
        holder.release()
    }

    @Test func lockDirectories_givenInOppositeOrdersByTwoWaiters_neverDeadlock() throws {
        let dir = try TempDir()
        let (x, y) = (dir.file("x"), dir.file("y"))
        let finished = DispatchSemaphore(value: 0)
        for order in [[x, y], [y, x]] {
            Thread.detachNewThread {
                for _ in 0..<200 {
                    guard let locks = try? RunLock.acquire(directories: order, wait: true) else { return }
                    for lock in locks.reversed() { lock.release() }
                }
                finished.signal()
            }
        }
        #expect(finished.wait(timeout: .now() + 60) == .success)
        #expect(finished.wait(timeout: .now() + 60) == .success)
    }
}
