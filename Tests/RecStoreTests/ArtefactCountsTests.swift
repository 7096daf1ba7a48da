import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecData
@testable import RecPipeline
import RecTestSupport

/// Counts in an artefact's header size allocations: each is checked against what can exist
/// (the file's size, the machine's memory) before anything is allocated from it.
@Suite struct ArtefactCountsTests {
    /// A ratings table written by the library, its header edited and both checksums repaired.
    static func crafted(in dir: TempDir, _ edit: (inout ArtefactHeader) -> Void) throws -> String {
        let path = dir.file("crafted.art")
        let ids = IdMaps(userIds: [1, 5], itemIds: [10, 20])
        try Ratings(users: [0, 1], items: [0, 1], values: [5, 3], timestamps: [1, 2], ids: ids)
            .write(to: path, kind: .split, meta: [:], parallel: Parallel(workers: 1))
        try rewriteHeader(of: path, edit)
        return path
    }

    /// Frames of no bytes that claim the most elements a frame may have: a section beyond the
    /// machine's memory is an artefact error, not an allocation that aborts.
    @Test func array_whenASectionClaimsMoreThanTheMemory_throwsBeforeAllocating() throws {
        let memory = MemoryPlan.physicalMemory().bytes
        let frames = memory / (ArtefactFormat.frameElements * 4) + 2
        let dir = try TempDir(prefix: "artefact-counts")
        let path = try Self.crafted(in: dir) { h in
            let i = h.sections.firstIndex { $0.name == "rating" }!
            h.sections[i].frames = Array(repeating: .init(elements: ArtefactFormat.frameElements, bytes: 0), count: frames)
            h.sections[i].count = frames * ArtefactFormat.frameElements
        }
        let a = try Artefact.read(path, expecting: .split)
        let e = #expect(throws: RecError.self) { _ = try a.array("rating", as: Float.self) }
        #expect(e?.kind == .artefact && e?.file == path && e?.message.contains("more than this machine's memory") == true)
    }

    /// A header length beyond the file's end (with a valid checksum prefix) is refused before
    /// it sizes a read.
    @Test func readHeader_whenTheHeaderLengthPassesTheFileEnd_throws() throws {
        let dir = try TempDir(prefix: "artefact-counts")
        let path = try Self.crafted(in: dir) { _ in }
        var bytes = try AtomicFile.read(path)
        for length in [UInt32(bytes.count), UInt32.max] {
            withUnsafeBytes(of: length.littleEndian) { for k in 0..<4 { bytes[12 + k] = $0[k] } }
            try AtomicFile.write(bytes, to: path)
            let e = #expect(throws: RecError.self) { _ = try Artefact.readHeader(path, expecting: .split) }
            #expect(e?.kind == .artefact && e?.message.contains("truncated") == true)
        }
    }

    /// A settings file larger than any real one is refused by its size, naming the file.
    @Test func settingsFile_largerThanTheLimit_isASettingsError() throws {
        let dir = try TempDir(prefix: "settings-size")
        let path = dir.file("pipeline.json")
        let padding = String(repeating: " ", count: PipelineConfig.maxSettingsBytes)
        try Data(("{}" + padding).utf8).write(to: URL(fileURLWithPath: path))
        let e = #expect(throws: RecError.self) { _ = try PipelineConfig.load(path) }
        #expect(e?.kind == .config && e?.file == path && e?.message.contains("more than a settings file may be") == true)
        try Data(("{}" + padding.dropLast(3)).utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: Never.self) { _ = try PipelineConfig.load(path) }
    }
}
