import Dispatch
import Foundation
import Testing
@testable import RecStore

@Suite struct AtomicFileTests {
    @Test func write_newFile_holdsTheBytesAndNoTemporaryFileIsLeft() throws {
        let dir = try TempDir()
        try AtomicFile.write([1, 2, 3], to: dir.file("a.bin"))
        #expect(try AtomicFile.read(dir.file("a.bin")) == [1, 2, 3])
        #expect(try dir.contents() == ["a.bin"])
    }

    @Test func write_overExistingFile_replacesIt() throws {
        let dir = try TempDir()
        try AtomicFile.write("old content, longer than the new one", to: dir.file("f.txt"))
        try AtomicFile.write("new", to: dir.file("f.txt"))
        #expect(try AtomicFile.read(dir.file("f.txt")) == bytes("new"))
        #expect(try dir.contents() == ["f.txt"])
    }

    @Test func write_emptyBytes_givesAnEmptyFile() throws {
        let dir = try TempDir()
        try AtomicFile.write([UInt8](), to: dir.file("empty"))
        #expect(try AtomicFile.read(dir.file("empty")) == [])
    }

    @Test func write_createsMissingFolders() throws {
        let dir = try TempDir()
        try AtomicFile.write("x", to: dir.file("a/b/c/file.txt"))
        #expect(try AtomicFile.read(dir.file("a/b/c/file.txt")) == bytes("x"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("a/b/c")) == ["file.txt"])
    }

    @Test func write_whenDestinationIsAFolder_throwsAndLeavesNoTemporaryFile() throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.file("taken"), withIntermediateDirectories: false)
        try AtomicFile.write("keep", to: dir.file("taken/inside"))
        let e = try #require(recError { try AtomicFile.write("x", to: dir.file("taken")) })
        #expect(e.kind == .runtime && e.file == dir.file("taken"))
        #expect(try dir.contents() == ["taken"])
        #expect(try AtomicFile.read(dir.file("taken/inside")) == bytes("keep"))
    }

    @Test func write_whenParentIsAFile_throwsRecErrorNamingIt() throws {
        let dir = try TempDir()
        try AtomicFile.write("I am a file", to: dir.file("plain"))
        let e = try #require(recError { try AtomicFile.write("x", to: dir.file("plain/child")) })
        #expect(e.kind == .runtime)
        #expect(e.description.contains(dir.file("plain")))
        #expect(try AtomicFile.read(dir.file("plain")) == bytes("I am a file"))
        #expect(try dir.contents() == ["plain"])
    }

    @Test func write_inPieces_holdsThemInOrderAndReturnsTheBodysValue() throws {
        let dir = try TempDir()
        let n = try AtomicFile.write(to: dir.file("big.csv")) { append in
            for piece in ["a,b\n", "1,2\n", "", "3,4\n"] { try append(bytes(piece)) }
            return 3
        }
        #expect(n == 3)
        #expect(try AtomicFile.read(dir.file("big.csv")) == bytes("a,b\n1,2\n3,4\n"))
        #expect(try dir.contents() == ["big.csv"])
    }

    @Test func write_inPieces_whenTheBodyThrows_leavesTheOldFileAndNoTemporaryFile() throws {
        struct Stop: Error {}
        let dir = try TempDir()
        try AtomicFile.write("old", to: dir.file("f.csv"))
        #expect(throws: Stop.self) {
            try AtomicFile.write(to: dir.file("f.csv")) { append in
                try append(bytes("half of the new"))
                // The piece is written under a temporary name of AtomicFile's form.
                #expect(try dir.contents().filter(AtomicFile.isTemporary).count == 1)
                throw Stop()
            }
        }
        #expect(try AtomicFile.read(dir.file("f.csv")) == bytes("old"))
        #expect(try dir.contents() == ["f.csv"])
    }

    @Test func read_whenFileIsMissing_throwsInputErrorNamingIt() throws {
        let dir = try TempDir()
        let e = try #require(recError { try AtomicFile.read(dir.file("nope")) })
        #expect(e.kind == .input && e.file == dir.file("nope") && e.message == "file not found")
    }

    /// A flag and a list shared between Dispatch workers.
    final class Shared: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false
        private var seen: [String] = []
        var isDone: Bool { lock.withLock { done } }
        func finish() { lock.withLock { done = true } }
        func note(_ s: String) { lock.withLock { seen.append(s) } }
        var notes: [String] { lock.withLock { seen } }
    }

    @Test func write_whileAnotherThreadReads_readerSeesOldOrNewNeverAMix() throws {
        let dir = try TempDir()
        let path = dir.file("data.bin")
        let old = [UInt8](repeating: 0xAA, count: 3 << 20), new = [UInt8](repeating: 0xBB, count: (2 << 20) + 17)
        try AtomicFile.write(old, to: path)
        let shared = Shared()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            if worker == 0 {
                for round in 0..<12 {
                    do { try AtomicFile.write(round % 2 == 0 ? new : old, to: path) } catch { shared.note("write: \(error)") }
                }
                shared.finish()
            } else {
                var reads = 0
                while !shared.isDone || reads == 0 {
                    reads += 1
                    guard let got = try? AtomicFile.read(path) else { shared.note("read failed"); continue }
                    if got != old && got != new { shared.note("read \(got.count) bytes that are neither version") }
                }
            }
        }
        #expect(shared.notes.isEmpty, "\(shared.notes.prefix(5))")
        #expect(try AtomicFile.read(path) == old)  // rounds alternate new, old; the last (11) wrote old
        #expect(try dir.contents() == ["data.bin"])
    }

    @Test func write_sameDestinationFromSeveralThreads_endsWithOneWholeVersion() throws {
        let dir = try TempDir()
        let path = dir.file("shared.bin")
        let versions = (0..<6).map { [UInt8](repeating: UInt8($0 + 1), count: (1 << 20) + $0) }
        let shared = Shared()
        DispatchQueue.concurrentPerform(iterations: versions.count) { v in
            for _ in 0..<3 {
                do { try AtomicFile.write(versions[v], to: path) } catch { shared.note("writer \(v): \(error)") }
            }
        }
        #expect(shared.notes.isEmpty, "\(shared.notes.prefix(5))")
        #expect(versions.contains(try AtomicFile.read(path)))
        #expect(try dir.contents() == ["shared.bin"])
    }
}
