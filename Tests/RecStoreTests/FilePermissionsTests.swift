import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecPipeline

/// The permissions of files AtomicFile publishes, and the `export.fileMode` setting.
@Suite struct FilePermissionsTests {
    /// The process's umask, read without changing it (umask(2) would, for every thread).
    static func currentUmask() throws -> mode_t {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Umask:") })
        return try #require(mode_t(line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8))
    }

    static func mode(_ path: String) throws -> mode_t {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw RecError(.runtime, "cannot stat", file: path) }
        return st.st_mode & 0o7777
    }

    static func group(_ path: String) throws -> gid_t {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw RecError(.runtime, "cannot stat", file: path) }
        return st.st_gid
    }

    /// A group other than the process's own that this process may give a file: any group
    /// for root, else one of its supplementary groups; nil when it has none.
    static func otherGroup() -> gid_t? {
        if getuid() == 0 { return 4242 }
        var groups = [gid_t](repeating: 0, count: 256)
        let n = getgroups(Int32(groups.count), &groups)
        return n > 0 ? groups[..<Int(n)].first { $0 != getegid() } : nil
    }

    /// The three ways a file is published: one buffer (0), parts (1), and a set (2, the only
    /// one that takes a new-file mode).
    static let writers = ["write", "write(parts:)", "writeAll"]

    static func publish(_ writer: Int, _ path: String, _ bytes: [UInt8], _ mode: FileMode?) throws {
        switch writer {
        case 0: try AtomicFile.write(bytes, to: path)
        case 1: try AtomicFile.write(parts: [Array(bytes.prefix(2)), Array(bytes.dropFirst(2))], to: path)
        default: try AtomicFile.writeAll([(path, bytes)], newFileMode: mode)
        }
    }

    // MARK: - Replaced files keep their permissions

    @Test(arguments: 0..<3)
    func publish_overAnExistingFile_keepsItsPermissionBits(writer: Int) throws {
        let name = Self.writers[writer]
        func write(_ path: String, _ bytes: [UInt8], _ mode: FileMode?) throws { try Self.publish(writer, path, bytes, mode) }
        let dir = try TempDir()
        var rng = SplitMix64(seed: UInt64(writer))
        // Every owner-readable mode of a few shapes, and random ones; set-ID and sticky bits
        // are never carried over.
        let modes: [mode_t] = [0o600, 0o640, 0o644, 0o400, 0o660, 0o604, 0o777, 0o700, 0o4755, 0o2750, 0o1644]
            + (0..<20).map { _ in mode_t(0o400 | rng.below(0o1000)) }
        for (i, old) in modes.enumerated() {
            let path = dir.file("f\(i).csv")
            try AtomicFile.write("old", to: path)
            #expect(chmod(path, old) == 0)
            // A new-file mode that differs must not apply to a replaced file.
            try write(path, Array("new version".utf8), FileMode(bits: 0o604))
            #expect(try AtomicFile.read(path) == Array("new version".utf8))
            let now = try Self.mode(path)
            #expect(now == old & 0o777, "\(name): 0\(String(old, radix: 8)) became 0\(String(now, radix: 8))")
        }
        #expect(try dir.contents().allSatisfy { !AtomicFile.isTemporary($0) })
    }

    @Test(arguments: 0..<3)
    func publish_overAnExistingFile_keepsItsGroup(writer: Int) throws {
        let name = Self.writers[writer]
        func write(_ path: String, _ bytes: [UInt8], _ mode: FileMode?) throws { try Self.publish(writer, path, bytes, mode) }
        let dir = try TempDir()
        let group = try #require(Self.otherGroup(), "needs root or a supplementary group to give a file another group")
        let path = dir.file("recommendations.csv")
        try AtomicFile.write("old", to: path)
        #expect(chown(path, uid_t.max, group) == 0 && chmod(path, 0o640) == 0)
        try write(path, Array("new".utf8), nil)
        #expect(try Self.group(path) == group, "\(name)")
        #expect(try Self.mode(path) == 0o640, "\(name)")
    }

    @Test func temporaryFile_hasTheFinalPermissionsBeforeItIsRenamed() throws {
        let dir = try TempDir()
        let path = dir.file("recommendations.csv")
        for old: mode_t in [0o600, 0o640, 0o604] {
            try AtomicFile.write("old", to: path)
            #expect(chmod(path, old) == 0)
            let temp = try [UInt8]("next".utf8).withUnsafeBytes { try AtomicFile.writeTemporary($0, beside: path, newFileMode: FileMode(bits: 0o666)) }
            defer { unlink(temp) }
            #expect(try Self.mode(temp) == old)
        }
        // A new file's temporary file already has the new-file mode.
        let temp = try [UInt8]("x".utf8).withUnsafeBytes { try AtomicFile.writeTemporary($0, beside: dir.file("new.csv"), newFileMode: FileMode(bits: 0o640)) }
        defer { unlink(temp) }
        #expect(try Self.mode(temp) == 0o640)
    }

    // MARK: - New files

    @Test(arguments: 0..<3)
    func publish_newFile_getsTheGivenModeExactly_orTheUmasksOtherwise(writer: Int) throws {
        let name = Self.writers[writer]
        func write(_ path: String, _ bytes: [UInt8], _ mode: FileMode?) throws { try Self.publish(writer, path, bytes, mode) }
        let dir = try TempDir()
        let umask = try Self.currentUmask()
        if writer == 2 {
            // Exactly the setting, whatever the umask (0666 and 0606 are not cut by a 022 umask).
            for (i, bits) in ([0o600, 0o640, 0o644, 0o666, 0o606, 0o400, 0o000] as [mode_t]).enumerated() {
                let path = dir.file("set\(i)")
                try write(path, Array("x".utf8), FileMode(bits: bits))
                #expect(try Self.mode(path) == bits, "\(name) 0\(String(bits, radix: 8))")
            }
        }
        let path = dir.file("plain")
        try write(path, Array("x".utf8), nil)
        #expect(try Self.mode(path) == 0o666 & ~umask, "\(name)")
    }

    @Test func writeAll_keepsEachReplacedFilesMode_andGivesNewOnesTheSetting() throws {
        let dir = try TempDir()
        let names = ["recommendations.csv", "recommendations.jsonl", "metrics.json", "report.html"]
        try AtomicFile.write("old", to: dir.file(names[0]))
        try AtomicFile.write("old", to: dir.file(names[2]))
        #expect(chmod(dir.file(names[0]), 0o600) == 0 && chmod(dir.file(names[2]), 0o644) == 0)
        try AtomicFile.writeAll(names.map { (dir.file($0), Array("new".utf8)) }, newFileMode: FileMode(bits: 0o640))
        #expect(try names.map { try Self.mode(dir.file($0)) } == [0o600, 0o640, 0o644, 0o640])
    }

    @Test func publish_overASymbolicLink_replacesTheLinkWithANewFile_andLeavesItsTargetAlone() throws {
        let dir = try TempDir()
        try AtomicFile.write("target", to: dir.file("target"))
        #expect(chmod(dir.file("target"), 0o604) == 0)
        #expect(symlink(dir.file("target"), dir.file("link.csv")) == 0)
        try AtomicFile.writeAll([(dir.file("link.csv"), Array("new".utf8))], newFileMode: FileMode(bits: 0o600))
        #expect(try Self.mode(dir.file("link.csv")) == 0o600)
        #expect(try Self.mode(dir.file("target")) == 0o604)
        #expect(try AtomicFile.read(dir.file("target")) == Array("target".utf8))
    }

    // MARK: - The setting

    /// Valid exactly when three octal digits, optionally behind a 0: every string of up to
    /// four characters from digits and a few others.
    @Test func fileMode_parsing_acceptsOnlyPermissionBitsInOctal() {
        let alphabet = Array("0123478o+- x")
        func strings(_ n: Int) -> [String] { n == 0 ? [""] : strings(n - 1).flatMap { s in alphabet.map { s + String($0) } } }
        for text in (0...4).flatMap(strings) {
            let octal = text.allSatisfy { ("0"..."7").contains($0) }
            let valid = octal && (text.count == 3 || (text.count == 4 && text.first == "0"))
            let parsed = FileMode(parsing: text)
            #expect((parsed != nil) == valid, "\(text.debugDescription)")
            if let parsed { #expect(parsed.bits == mode_t(text, radix: 8)! && parsed.bits <= 0o777) }
        }
        #expect(FileMode(bits: 0o1000) == nil && FileMode(bits: 0o4755) == nil && FileMode(bits: 0o777)?.description == "0777")
        #expect(FileMode(bits: 0o40)?.description == "0040")
    }

    @Test func settings_fileMode_isNullByDefault_readsOctalStrings_andRefusesTheRest() throws {
        let defaults = try PipelineConfig.parse(.object([:]))
        #expect(defaults.export.fileMode == nil)
        // The default is written out as null, so the settings list the key.
        #expect(try JSONValue.from(defaults)["export"]?["fileMode"] == .null)
        for (text, bits) in [("0640", 0o640), ("600", 0o600), ("0000", 0), ("0777", 0o777)] as [(String, mode_t)] {
            let c = try PipelineConfig.parse(.object(["export": .object(["fileMode": .string(text)])]))
            #expect(c.export.fileMode?.bits == bits)
            #expect(try JSONValue.from(c)["export"]?["fileMode"] == .string(FileMode(bits: bits)!.description))
        }
        for bad: JSONValue in [.string("0800"), .string("1777"), .string("4755"), .string("0o640"), .string("rw-r-----"), .string(""),
                               .string("64"), .int(420), .int(640), .double(0.5), .bool(true), .array([])] {
            let e = try #require(recError { try PipelineConfig.parse(.object(["export": .object(["fileMode": bad])]), file: "p.json") })
            #expect(e.kind == .config && e.file == "p.json" && e.message.contains("'export.fileMode' must be"), "\(bad): \(e)")
        }
    }
}
