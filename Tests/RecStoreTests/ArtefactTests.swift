import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecData

/// Round trips of the artefact container: every element type, empty and multi-frame sections,
/// metadata, and the same bytes whatever the worker count.
@Suite struct ArtefactTests {
    static let int32s: [Int32] = [0, 1, -1, .max, .min, 42, 7, -123_456]
    static let int64s: [Int64] = [0, 1, -1, .max, .min, 1 << 40, -(1 << 33)]
    static let floats: [Float] = [0, -0.0, 1, -1.5, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 3.14159]
    static let uint8s: [UInt8] = Array(0...255)

    @Test func roundTrip_everyElementType_givesBackTheSameBits() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .model)
        b.add("i32", Self.int32s)
        b.add("i64", Self.int64s)
        b.add("f32", Self.floats)
        b.add("u8", Self.uint8s)
        b.meta = [
            "null": .null, "bool": .bool(true), "int": .int(-3), "double": .double(0.25), "string": .string("Misérables, Les"),
            "array": .array([.int(1), .string("x")]), "object": .object(["nested": .array([])]),
        ]
        try b.write(to: dir.file("a.art"), parallel: Parallel(workers: 2))

        let a = try Artefact.read(dir.file("a.art"), expecting: .model)
        #expect(a.kind == .model)
        #expect(try a.array("i32", as: Int32.self) == Self.int32s)
        #expect(try a.array("i64", as: Int64.self) == Self.int64s)
        #expect(try a.array("f32", as: Float.self).map(\.bitPattern) == Self.floats.map(\.bitPattern))
        #expect(try a.array("u8", as: UInt8.self) == Self.uint8s)
        #expect(a.header.meta == b.meta)
        #expect(a.header.sections.map(\.name) == ["i32", "i64", "f32", "u8"])
        #expect(a.header.sections.map(\.type) == [.int32, .int64, .float32, .uint8])
        #expect(a.has("u8") && !a.has("nothing"))
    }

    @Test func roundTrip_emptySectionsOfEveryType_giveEmptyArrays() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .split)
        b.add("i32", [Int32]())
        b.add("i64", [Int64]())
        b.add("between", [Float(1)])
        b.add("f32", [Float]())
        b.add("u8", [UInt8]())
        try b.write(to: dir.file("e.art"), parallel: Parallel(workers: 1))
        let a = try Artefact.read(dir.file("e.art"), expecting: .split)
        #expect(try a.array("i32", as: Int32.self).isEmpty)
        #expect(try a.array("i64", as: Int64.self).isEmpty)
        #expect(try a.array("between", as: Float.self) == [1])
        #expect(try a.array("f32", as: Float.self).isEmpty)
        #expect(try a.array("u8", as: UInt8.self).isEmpty)
        #expect(a.header.sections.allSatisfy { $0.count == $0.frames.reduce(0) { $0 + $1.elements } })
    }

    @Test func roundTrip_withNoSections_works() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .model)
        b.meta["only"] = .string("metadata")
        try b.write(to: dir.file("n.art"), parallel: Parallel(workers: 4))
        let a = try Artefact.read(dir.file("n.art"), expecting: .model)
        #expect(a.header.sections.isEmpty)
        #expect(a.header.payloadBytes == 0)
        #expect(a.meta("only") == .string("metadata"))
    }

    /// Sections of more than one frame: the boundaries at exactly one frame, one frame plus
    /// one, and several frames plus a tail, read back with 1 and 4 workers.
    @Test(arguments: [1, 4])
    func roundTrip_sectionsLargerThanOneFrame_areCutIntoFrames(workers: Int) throws {
        let dir = try TempDir()
        let frame = ArtefactFormat.frameElements
        let floats = (0..<(2 * frame + 12_345)).map { Float($0 % 9973) * 0.5 - 100 }
        let int64s = (0..<(frame + 1)).map { Int64($0) * 3_000_000_007 }
        let exact = (0..<frame).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var b = ArtefactBuilder(kind: .model)
        b.add("floats", floats)
        b.add("int64s", int64s)
        b.add("exact", exact)
        try b.write(to: dir.file("big.art"), parallel: Parallel(workers: workers))

        let a = try Artefact.read(dir.file("big.art"), expecting: .model)
        let sections = Dictionary(uniqueKeysWithValues: a.header.sections.map { ($0.name, $0) })
        #expect(sections["floats"]?.frames.map(\.elements) == [frame, frame, 12_345])
        #expect(sections["int64s"]?.frames.map(\.elements) == [frame, 1])
        #expect(sections["exact"]?.frames.map(\.elements) == [frame])
        let p = Parallel(workers: workers)
        #expect(try a.array("floats", as: Float.self, parallel: p) == floats)
        #expect(try a.array("int64s", as: Int64.self, parallel: p) == int64s)
        #expect(try a.array("exact", as: UInt8.self, parallel: p) == exact)
    }

    @Test func write_withOneOrFourWorkers_givesIdenticalBytes() throws {
        let dir = try TempDir()
        let frame = ArtefactFormat.frameElements
        var b = ArtefactBuilder(kind: .matrices)
        b.add("values", (0..<(3 * frame + 7)).map { Float(($0 * 7919) % 1000) / 7 })
        b.add("ids", (0..<(frame + 3)).map { Int32($0 / 3) })
        b.add("empty", [Int64]())
        b.meta = ["z": .int(1), "a": .object(["y": .bool(false), "b": .double(1.5)])]
        try b.write(to: dir.file("one.art"), parallel: Parallel(workers: 1))
        try b.write(to: dir.file("four.art"), parallel: Parallel(workers: 4))
        let one = try AtomicFile.read(dir.file("one.art"))
        let four = try AtomicFile.read(dir.file("four.art"))
        #expect(one.count == four.count)
        #expect(one == four)
    }

    @Test func write_isByteIdenticalAcrossRuns_noTimestampsInHeader() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .ratings)
        b.add("x", [Int32(1), 2, 3])
        try b.write(to: dir.file("1.art"), parallel: Parallel(workers: 1))
        Thread.sleep(forTimeInterval: 1.1)
        try b.write(to: dir.file("2.art"), parallel: Parallel(workers: 1))
        #expect(try AtomicFile.read(dir.file("1.art")) == AtomicFile.read(dir.file("2.art")))
    }

    @Test func file_startsWithMagicVersionAndKind() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .topK)
        b.add("x", [UInt8(9)])
        try b.write(to: dir.file("t.art"), parallel: Parallel(workers: 1))
        let bytes = try AtomicFile.read(dir.file("t.art"))
        #expect(Array(bytes[0..<8]) == Array("MLRECART".utf8))
        #expect(bytes[8] == 1 && bytes[9] == 0)
        #expect(bytes[10] == 6 && bytes[11] == 0)
        let h = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
        let header = try JSONDecoder().decode(ArtefactHeader.self, from: Data(bytes[16..<(16 + h)]))
        #expect(header.kind == "topk")
        #expect(header.payloadBytes == bytes.count - 24 - h)
    }

    @Test func array_whenTypeIsWrong_throwsArtefactError() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .model)
        b.add("w", [Float(1), 2])
        try b.write(to: dir.file("m.art"), parallel: Parallel(workers: 1))
        let a = try Artefact.read(dir.file("m.art"), expecting: .model)
        let e = try #require(recError { try a.array("w", as: Int32.self) })
        #expect(e.kind == .artefact)
        #expect(e.file == dir.file("m.art"))
        #expect(e.message.contains("float32") && e.message.contains("int32"))
    }

    @Test func array_whenSectionIsMissing_throwsArtefactErrorNamingIt() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .model)
        b.add("w", [Float(1)])
        try b.write(to: dir.file("m.art"), parallel: Parallel(workers: 1))
        let a = try Artefact.read(dir.file("m.art"), expecting: .model)
        let e = try #require(recError { try a.array("bias", as: Float.self) })
        #expect(e.kind == .artefact)
        #expect(e.description.contains("'bias'") && e.description.contains("rec-train"))
    }
}

/// The typed artefacts of RecKit survive a write and a read unchanged.
@Suite struct TypedArtefactTests {
    @Test func ratings_roundTrip() throws {
        let dir = try TempDir()
        let r = Fixtures.ratings()
        try r.write(to: dir.file("r.art"), kind: .ratings, meta: ["source": .string("test")], parallel: Parallel(workers: 2))
        let (back, a) = try Ratings.read(dir.file("r.art"), kind: .ratings, parallel: Parallel(workers: 2))
        #expect(back == r)
        #expect(a.meta("ratings") == .int(r.count))
        #expect(a.meta("source") == .string("test"))
    }

    @Test func catalogue_roundTrip_keepsUTF8TitlesAndEmptyGenres() throws {
        let dir = try TempDir()
        let c = Fixtures.catalogue()
        try c.write(to: dir.file("c.art"), meta: [:], parallel: Parallel(workers: 1))
        #expect(try Catalogue.read(dir.file("c.art"), parallel: Parallel(workers: 1)) == c)
    }

    @Test func topK_roundTrip() throws {
        let dir = try TempDir()
        let t = Fixtures.topK()
        try t.write(to: dir.file("t.art"), meta: [:], parallel: Parallel(workers: 1))
        let (back, _) = try TopKLists.read(dir.file("t.art"), parallel: Parallel(workers: 3))
        #expect(back == t)
    }

    @Test func csrMatrix_roundTrip_andTransposeTwiceIsIdentity() throws {
        let dir = try TempDir()
        let m = CSRMatrix(Fixtures.ratings())
        var b = ArtefactBuilder(kind: .matrices)
        m.add(to: &b, name: "train")
        m.transposed().add(to: &b, name: "trainT")
        try b.write(to: dir.file("m.art"), parallel: Parallel(workers: 1))
        let a = try Artefact.read(dir.file("m.art"), expecting: .matrices)
        #expect(try CSRMatrix.read(from: a, name: "train", parallel: Parallel(workers: 1)) == m)
        #expect(try CSRMatrix.read(from: a, name: "trainT", parallel: Parallel(workers: 1)) == m.transposed())
        #expect(m.transposed().transposed() == m)
    }

    @Test func csrMatrix_read_whenColumnIsOutOfRange_throws() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .matrices)
        CSRMatrix(rows: 1, cols: 2, rowStart: [0, 1], columns: [1], values: [1]).add(to: &b, name: "m")
        b.meta["m.shape"] = .array([.int(1), .int(1), .int(1)])  // says one column: column 1 is outside
        try b.write(to: dir.file("m.art"), parallel: Parallel(workers: 1))
        let a = try Artefact.read(dir.file("m.art"), expecting: .matrices)
        let e = try #require(recError { try CSRMatrix.read(from: a, name: "m", parallel: Parallel(workers: 1)) })
        #expect(e.kind == .artefact && e.description.contains("rec-build-matrix"))
    }

    @Test func ratings_read_whenEntriesAreOutOfOrder_throws() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .ratings)
        b.add("user", [Int32(0), 0])
        b.add("item", [Int32(1), 0])
        b.add("rating", [Float(1), 2])
        b.add("timestamp", [Int64(-1), -1])
        b.add("userIds", [Int32(5)])
        b.add("itemIds", [Int32(1), 2])
        try b.write(to: dir.file("r.art"), parallel: Parallel(workers: 1))
        let e = try #require(recError { try Ratings.read(dir.file("r.art"), kind: .ratings, parallel: Parallel(workers: 1)) })
        #expect(e.kind == .artefact && e.message.contains("entry 1"))
    }
}

/// Small valid values of every typed artefact.
enum Fixtures {
    /// Sections of a ratings artefact (one zstd frame each in the small fixture).
    static let ratingsSections = 6

    static func ratings() -> Ratings {
        // Users 10, 20, 30; items 1, 5, 9, 12; sorted by user then item.
        Ratings(users: [0, 0, 0, 1, 2, 2], items: [0, 1, 3, 2, 0, 3], values: [5, 3.5, 1, 4, 2, 4.5],
                timestamps: [978_300_760, -1, 3, 4, 5, 6], ids: IdMaps(userIds: [10, 20, 30], itemIds: [1, 5, 9, 12]))
    }

    static func catalogue() -> Catalogue {
        Catalogue(movieIds: [1, 5, 9, 12],
                  titles: ["Toy Story (1995)", "Misérables, Les (1995)", "Say \"Cheese\", Please", ""],
                  genres: [["Animation", "Children's", "Comedy"], ["Drama"], [], ["Film-Noir"]])
    }

    static func topK() -> TopKLists {
        TopKLists(k: 2, items: [1, 2, 3, -1, 0, 1], scores: [0.9, 0.8, 0.7, 0, 0.6, -0.5],
                  predictedRatings: [4.5, 4, 3.25, 0, 2, 1], ids: IdMaps(userIds: [10, 20, 30], itemIds: [1, 5, 9, 12]))
    }
}
