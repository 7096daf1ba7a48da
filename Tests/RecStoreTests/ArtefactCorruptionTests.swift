import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecData

/// Damaged artefacts: every flipped byte and every truncation must give a `RecError` that
/// names the file and the stage to rerun. Never a crash, never wrong data.
@Suite struct ArtefactCorruptionTests {
    /// One kind of artefact: how to write a small valid one and how its reader reads it whole.
    struct Subject: Sendable, CustomTestStringConvertible {
        let name: String
        let producer: String
        let write: @Sendable (String) throws -> Void
        let read: @Sendable (String) throws -> Void
        var testDescription: String { name }
    }

    static let one = Parallel(workers: 1)

    static let subjects: [Subject] = [
        Subject(name: "ratings", producer: "rec-ingest",
                write: { try Fixtures.ratings().write(to: $0, kind: .ratings, meta: [:], parallel: one) },
                read: { _ = try Ratings.read($0, kind: .ratings, parallel: one) }),
        Subject(name: "split", producer: "rec-split",
                write: { try Fixtures.ratings().write(to: $0, kind: .split, meta: ["part": .string("train")], parallel: one) },
                read: { _ = try Ratings.read($0, kind: .split, parallel: one) }),
        Subject(name: "catalogue", producer: "rec-ingest",
                write: { try Fixtures.catalogue().write(to: $0, meta: [:], parallel: one) },
                read: { _ = try Catalogue.read($0, parallel: one) }),
        Subject(name: "topk", producer: "rec-score",
                write: { try Fixtures.topK().write(to: $0, meta: [:], parallel: one) },
                read: { _ = try TopKLists.read($0, parallel: one) }),
        Subject(name: "matrices", producer: "rec-build-matrix",
                write: { path in
                    var b = ArtefactBuilder(kind: .matrices)
                    let m = CSRMatrix(Fixtures.ratings())
                    m.add(to: &b, name: "train")
                    m.transposed().add(to: &b, name: "trainT")
                    try b.write(to: path, parallel: one)
                },
                read: { path in
                    let a = try Artefact.read(path, expecting: .matrices)
                    _ = try CSRMatrix.read(from: a, name: "train", parallel: one)
                    _ = try CSRMatrix.read(from: a, name: "trainT", parallel: one)
                }),
    ]

    /// Writes `bytes` plainly (no fsync: thousands of these run) and checks what reading them does.
    static func expectRejected(
        _ bytes: [UInt8], _ s: Subject, at path: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(throws: Never.self, sourceLocation: sourceLocation) { try writePlain(bytes, to: path) }
        guard let e = recError(sourceLocation: sourceLocation, { try s.read(path) }) else {
            Issue.record("\(s.name), \(what): read succeeded", sourceLocation: sourceLocation)
            return
        }
        #expect(e.kind == .artefact, "\(s.name), \(what): kind \(e.kind)", sourceLocation: sourceLocation)
        #expect(e.file == path, "\(s.name), \(what): file \(e.file ?? "nil")", sourceLocation: sourceLocation)
        #expect(e.description.hasPrefix(path + ": "), "\(s.name), \(what): \(e)", sourceLocation: sourceLocation)
        #expect(e.description.contains("rerun \(s.producer)"), "\(s.name), \(what): \(e)", sourceLocation: sourceLocation)
    }

    /// Length of the JSON header.
    static func headerLength(_ b: [UInt8]) -> Int {
        Int(b[12]) | Int(b[13]) << 8 | Int(b[14]) << 16 | Int(b[15]) << 24
    }

    @Test(arguments: subjects)
    func read_whenAnyByteIsFlipped_throwsNamingFileAndProducer(subject: Subject) throws {
        let dir = try TempDir()
        try subject.write(dir.file("good.art"))
        let good = try AtomicFile.read(dir.file("good.art"))
        try subject.read(dir.file("good.art"))
        // Every position: prefix (magic, version, kind, header length), header JSON, header
        // hash, every payload byte, the last byte; one bit and all bits.
        for position in good.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var bad = good
                bad[position] ^= mask
                Self.expectRejected(bad, subject, at: dir.file("bad.art"), "byte \(position) ^ \(mask) of \(good.count)")
            }
        }
    }

    @Test(arguments: subjects)
    func read_whenTruncatedAtAnyLength_throwsNamingFileAndProducer(subject: Subject) throws {
        let dir = try TempDir()
        try subject.write(dir.file("good.art"))
        let good = try AtomicFile.read(dir.file("good.art"))
        let h = Self.headerLength(good)
        // The named lengths first (empty, inside the magic, inside the prefix, mid-header,
        // mid-hash, mid-payload, one short), then every other length.
        let named = [0, 7, 15, 16 + h / 2, 16 + h + 4, (24 + h + good.count) / 2, good.count - 1]
        for length in named + Array(0..<good.count) {
            Self.expectRejected(Array(good[0..<length]), subject, at: dir.file("bad.art"), "truncated to \(length) of \(good.count)")
        }
    }

    @Test(arguments: subjects)
    func read_whenBytesAreAppended_throws(subject: Subject) throws {
        let dir = try TempDir()
        try subject.write(dir.file("good.art"))
        let good = try AtomicFile.read(dir.file("good.art"))
        Self.expectRejected(good + [0], subject, at: dir.file("bad.art"), "one byte appended")
        Self.expectRejected(good + good, subject, at: dir.file("bad.art"), "written twice")
    }

    @Test(arguments: subjects)
    func read_whenFileIsMissing_throwsNamingFileAndProducer(subject: Subject) throws {
        let dir = try TempDir()
        let path = dir.file("missing.art")
        let e = try #require(recError { try subject.read(path) })
        #expect(e.kind == .artefact || e.kind == .input)
        #expect(e.file == path)
        #expect(e.description.contains(path) && e.description.contains(subject.producer), "\(e)")
    }

    @Test func read_whenFileIsEmpty_throws() throws {
        let dir = try TempDir()
        let path = dir.file("empty.art")
        try Data().write(to: URL(fileURLWithPath: path))
        let e = try #require(recError { try Artefact.read(path, expecting: .ratings) })
        #expect(e.kind == .artefact || e.kind == .input)
        #expect(e.description.hasPrefix(path + ": ") && e.description.contains("rerun rec-ingest"), "\(e)")
    }

    @Test func read_whenMagicIsWrong_throws() throws {
        let dir = try TempDir()
        let path = dir.file("r.art")
        try Self.subjects[0].write(path)
        var bytes = try AtomicFile.read(path)
        bytes[0] = UInt8(ascii: "X")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let e = try #require(recError { try Artefact.read(path, expecting: .ratings) })
        #expect(e.kind == .artefact && e.message.contains("magic"))
    }

    @Test func read_whenPathIsAFolder_throws() throws {
        let dir = try TempDir()
        let e = try #require(recError { try Artefact.read(dir.path, expecting: .model) })
        #expect(e.kind == .artefact || e.kind == .input)
        #expect(e.file == dir.path)
    }

    /// Rewrites an artefact's header (and its checksum, so that only the change is seen).
    static func reheader(_ bytes: [UInt8], version: UInt16? = nil, kind: UInt16? = nil,
                         _ change: (inout ArtefactHeader) -> Void = { _ in }) throws -> [UInt8] {
        let h = headerLength(bytes)
        var header = try JSONDecoder().decode(ArtefactHeader.self, from: Data(bytes[16..<(16 + h)]))
        change(&header)
        let json = [UInt8](try JSON.encode(header))
        var out = Array(bytes[0..<12])
        if let version { out[8] = UInt8(version & 0xFF); out[9] = UInt8(version >> 8) }
        if let kind { out[10] = UInt8(kind & 0xFF); out[11] = UInt8(kind >> 8) }
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { out.append(contentsOf: $0) }
        out += json
        withUnsafeBytes(of: Hash.xxh3(out).littleEndian) { out.append(contentsOf: $0) }
        return out + bytes[(24 + h)...]
    }

    @Test func reheader_withoutChange_givesTheSameBytes() throws {
        let dir = try TempDir()
        try Self.subjects[0].write(dir.file("r.art"))
        let good = try AtomicFile.read(dir.file("r.art"))
        #expect(try Self.reheader(good) == good)
    }

    @Test func read_whenFormatVersionIsFuture_throwsNamingBothVersions() throws {
        let dir = try TempDir()
        let path = dir.file("r.art")
        try Self.subjects[0].write(path)
        let future = try Self.reheader(AtomicFile.read(path), version: 2) { $0.formatVersion = 2 }
        try Data(future).write(to: URL(fileURLWithPath: path))
        let e = try #require(recError { try Ratings.read(path, kind: .ratings, parallel: Self.one) })
        #expect(e.kind == .artefact)
        #expect(e.message.contains("version 2") && e.message.contains("version 1"), "\(e)")
        #expect(e.description.hasPrefix(path + ": ") && e.description.contains("rerun rec-ingest"), "\(e)")
    }

    @Test func read_whenKindIsUnknown_throws() throws {
        let dir = try TempDir()
        let path = dir.file("r.art")
        try Self.subjects[0].write(path)
        try Data(try Self.reheader(AtomicFile.read(path), kind: 99)).write(to: URL(fileURLWithPath: path))
        let e = try #require(recError { try Artefact.read(path, expecting: .ratings) })
        #expect(e.kind == .artefact && e.message.contains("99"), "\(e)")
    }

    struct WrongKind: Sendable, CustomTestStringConvertible {
        let written: Int, expected: ArtefactKind
        var testDescription: String { "\(ArtefactCorruptionTests.subjects[written].name) read as \(expected.name)" }
    }

    @Test(arguments: [
        WrongKind(written: 0, expected: .topK), WrongKind(written: 0, expected: .split), WrongKind(written: 1, expected: .ratings),
        WrongKind(written: 2, expected: .model), WrongKind(written: 3, expected: .matrices), WrongKind(written: 4, expected: .catalogue),
    ])
    func read_whenKindIsNotTheExpectedOne_throwsNamingBoth(c: WrongKind) throws {
        let dir = try TempDir()
        let path = dir.file("x.art")
        let subject = Self.subjects[c.written]
        try subject.write(path)
        let e = try #require(recError { try Artefact.read(path, expecting: c.expected) })
        #expect(e.kind == .artefact)
        #expect(e.message.contains("is a \(subject.name) artefact") && e.message.contains("expected \(c.expected.name)"), "\(e)")
        #expect(e.description.hasPrefix(path + ": ") && e.description.contains("rerun \(c.expected.producer)"), "\(e)")
    }

    // MARK: - Headers that agree with their checksum but lie about the payload

    static func rejectsLie(_ name: String, sourceLocation: SourceLocation = #_sourceLocation,
                           _ change: @escaping (inout ArtefactHeader) -> Void) throws {
        let dir = try TempDir()
        let path = dir.file("r.art")
        try subjects[0].write(path)
        let lie = try reheader(AtomicFile.read(path), change)
        expectRejected(lie, subjects[0], at: path, name, sourceLocation: sourceLocation)
    }

    /// Below the payload checksum sits zstd's own content checksum: a changed payload whose
    /// header hash was updated to match must still be rejected, or (for the few frame-header
    /// bits zstd ignores) give back exactly the original data.
    @Test(arguments: [UInt8(0x01), 0x10, 0x80])
    func read_whenPayloadAndItsHashAreBothChanged_neverGivesWrongData(mask: UInt8) throws {
        let dir = try TempDir()
        let path = dir.file("r.art")
        try Self.subjects[0].write(path)
        let original = try Ratings.read(path, kind: .ratings, parallel: Self.one).0
        let good = try AtomicFile.read(path)
        let start = 24 + Self.headerLength(good)
        var rejected = 0
        for position in start..<good.count {
            var bad = good
            bad[position] ^= mask
            let payloadHash = Hash.hex(Hash.xxh3(Array(bad[start...])))
            try writePlain(try Self.reheader(bad) { $0.payloadHash = payloadHash }, to: path)
            do {
                let read = try Ratings.read(path, kind: .ratings, parallel: Self.one).0
                #expect(read == original, "payload byte \(position) ^ \(mask): wrong data returned")
            } catch let e as RecError {
                rejected += 1
                #expect(e.kind == .artefact && e.description.hasPrefix(path + ": ") && e.description.contains("rerun rec-ingest"), "\(e)")
            }
        }
        // Almost every byte matters: only a handful of frame-header bits may be ignored.
        #expect(rejected >= good.count - start - 2 * Fixtures.ratingsSections, "\(rejected) of \(good.count - start) rejected")
    }

    @Test func read_whenSectionCountDisagreesWithFrames_throws() throws {
        try Self.rejectsLie("count + 1") { $0.sections[0].count += 1 }
    }

    @Test func read_whenFrameClaimsMoreElements_throws() throws {
        try Self.rejectsLie("elements + 1") { $0.sections[0].count += 1; $0.sections[0].frames[0].elements += 1 }
    }

    @Test func read_whenSectionOffsetIsPastTheEnd_throws() throws {
        try Self.rejectsLie("offset past end") { $0.sections[1].offset = $0.payloadBytes }
    }

    @Test func read_whenSectionOffsetIsNegative_throws() throws {
        try Self.rejectsLie("offset -1") { $0.sections[1].offset = -1 }
    }

    @Test func read_whenSectionTypeIsChanged_throws() throws {
        try Self.rejectsLie("user as float32") { $0.sections[0].type = .float32 }
    }

    @Test func read_whenSectionIsRenamed_throws() throws {
        try Self.rejectsLie("user renamed") { $0.sections[0].name = "users" }
    }

    @Test func read_whenFrameBytesAreNegative_throws() throws {
        try Self.rejectsLie("negative frame bytes") { h in
            // Keeps the section's total: the first frame "ends before it starts".
            h.sections[0].frames = [.init(elements: 0, bytes: -8), .init(elements: h.sections[0].count, bytes: h.sections[0].frames[0].bytes + 8)]
        }
    }

    @Test func read_whenElementCountsAreNegative_throws() throws {
        try Self.rejectsLie("negative count") { h in
            h.sections[0].count = -1
            h.sections[0].frames = [.init(elements: -1, bytes: h.sections[0].frames[0].bytes)]
        }
    }
}
