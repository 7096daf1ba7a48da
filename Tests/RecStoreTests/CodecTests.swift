import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecData

@Suite struct HashTests {
    @Test func xxh3_ofEmptyInput_isTheReferenceValue() {
        #expect(Hash.xxh3([UInt8]()) == 0x2D06_8005_38D3_94C2)
        #expect(Hash.hex(0x2D06_8005_38D3_94C2) == "2d06800538d394c2")
    }

    @Test func hex_padsToSixteenDigits() {
        #expect(Hash.hex(0) == "0000000000000000")
        #expect(Hash.hex(0xABC) == "0000000000000abc")
        #expect(Hash.hex(.max) == "ffffffffffffffff")
    }

    @Test func fileHex_streamedOverSeveralBlocks_equalsTheHashOfTheBytes() throws {
        let dir = try TempDir()
        var rng = SplitMix64(seed: 8)
        let bytes = (0..<((9 << 20) + 123)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try writePlain(bytes, to: dir.file("f"))
        #expect(try Hash.fileHex(dir.file("f")) == Hash.hex(Hash.xxh3(bytes)))
        try writePlain([], to: dir.file("empty"))
        #expect(try Hash.fileHex(dir.file("empty")) == "2d06800538d394c2")
    }

    @Test func fileHex_whenFileIsMissing_throwsNamingIt() throws {
        let dir = try TempDir()
        let e = try #require(recError { try Hash.fileHex(dir.file("gone")) })
        #expect(e.file == dir.file("gone"))
    }
}

@Suite struct ZstdTests {
    static func compress(_ b: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        try b.withUnsafeBytes { try Zstd.compress($0, level: level) }
    }

    static func decompress(_ frame: [UInt8], size: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        try frame.withUnsafeBytes { f in try out.withUnsafeMutableBytes { try Zstd.decompress(f, into: $0) } }
        return out
    }

    @Test(arguments: [0, 1, 100, 1 << 20])
    func roundTrip_givesTheSameBytes(size: Int) throws {
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) }
        let frame = try Self.compress(data)
        #expect(Array(frame.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])  // a standard zstd frame
        #expect(try Self.decompress(frame, size: size) == data)
    }

    @Test func decompress_intoTheWrongSize_throwsArtefactError() throws {
        let frame = try Self.compress(Array(repeating: 1, count: 64))
        let e = try #require(recError { try Self.decompress(frame, size: 63) })
        #expect(e.kind == .artefact && e.message.contains("holds 64 bytes, expected 63"))
    }

    @Test func decompress_ofGarbage_throwsArtefactError() throws {
        let e = try #require(recError { try Self.decompress([1, 2, 3, 4, 5, 6, 7, 8], size: 8) })
        #expect(e.kind == .artefact)
        #expect(recError { try Self.decompress([], size: 0) }?.kind == .artefact)
    }

    @Test func version_isMajorMinorPatch() {
        #expect(Zstd.version.split(separator: ".").count == 3)
        #expect(Zstd.version.hasPrefix("1."))
    }
}

@Suite struct JSONValueTests {
    static func decode(_ s: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(s.utf8)) }

    @Test func decode_keepsEveryKindApart() throws {
        #expect(try Self.decode("null") == .null)
        #expect(try Self.decode("true") == .bool(true))
        #expect(try Self.decode("false") == .bool(false))
        #expect(try Self.decode("1") == .int(1))
        #expect(try Self.decode("0") == .int(0))
        #expect(try Self.decode("-7") == .int(-7))
        #expect(try Self.decode("2.5") == .double(2.5))
        #expect(try Self.decode("\"x\"") == .string("x"))
        #expect(try Self.decode("[1, \"a\", null]") == .array([.int(1), .string("a"), .null]))
        #expect(try Self.decode(#"{"a": {"b": []}}"#) == .object(["a": .object(["b": .array([])])]))
    }

    @Test func encode_sortsKeysAndRoundTrips() throws {
        let v: JSONValue = .object(["z": .int(1), "a": .array([.double(0.5), .bool(false), .null]), "m": .string("é/\"")])
        let text = try JSON.encodeString(v)
        #expect(text == #"{"a":[0.5,false,null],"m":"é/\"","z":1}"#)
        #expect(try Self.decode(text) == v)
    }

    @Test func encode_nonFiniteNumber_throws() {
        #expect(throws: (any Error).self) { try JSON.encode(JSONValue.double(.nan)) }
    }

    @Test func accessors_convertWhereExact() {
        #expect(JSONValue.double(2).intValue == 2)
        #expect(JSONValue.double(2.5).intValue == nil)
        #expect(JSONValue.int(3).doubleValue == 3)
        #expect(JSONValue.string("3").intValue == nil)
        #expect(JSONValue.string("s").stringValue == "s")
        #expect(JSONValue.object(["k": .int(1)])["k"] == .int(1))
        #expect(JSONValue.array([])["k"] == nil)
    }
}

@Suite struct TableTypeTests {
    @Test func catalogueIndex_findsEveryIdAndNothingElse() {
        let ids: [Int32] = [1, 2, 5, 9, 100, 3952]
        let c = Catalogue(movieIds: ids, titles: ids.map { "\($0)" }, genres: ids.map { _ in [] })
        for (k, id) in ids.enumerated() { #expect(c.index(of: id) == k) }
        for id: Int32 in [0, 3, 4, 10, 3953, -1, .max] { #expect(c.index(of: id) == nil) }
        #expect(Catalogue(movieIds: [], titles: [], genres: []).index(of: 1) == nil)
    }

    @Test func userOffsets_includeUsersWithoutRatings() {
        let r = Ratings(users: [1, 1, 3], items: [0, 1, 0], values: [1, 2, 3], timestamps: [-1, -1, -1],
                        ids: IdMaps(userIds: [1, 2, 3, 4, 5], itemIds: [1, 2]))
        #expect(r.userOffsets() == [0, 0, 2, 2, 3, 3])
    }

    @Test func csrTranspose_handlesEmptyRowsAndColumns() {
        // 3 x 4, row 1 empty, column 2 empty.
        let m = CSRMatrix(rows: 3, cols: 4, rowStart: [0, 2, 2, 4], columns: [0, 3, 1, 3], values: [1, 2, 3, 4])
        let t = m.transposed()
        #expect(t.rows == 4 && t.cols == 3)
        #expect(t.rowStart == [0, 1, 2, 2, 4])
        #expect(t.columns == [0, 2, 0, 2])
        #expect(t.values == [1, 3, 2, 4])
        #expect(t.transposed() == m)
    }

    @Test func topKRead_whenAnItemIsOutOfRange_throws() throws {
        let dir = try TempDir()
        var b = ArtefactBuilder(kind: .topK)
        b.meta["k"] = .int(1)
        b.add("items", [Int32(2)])
        b.add("scores", [Float(1)])
        b.add("predictedRatings", [Float(1)])
        b.add("userIds", [Int32(1)])
        b.add("itemIds", [Int32(1), 2])
        try b.write(to: dir.file("t.art"), parallel: Parallel(workers: 1))
        let e = try #require(recError { try TopKLists.read(dir.file("t.art"), parallel: Parallel(workers: 1)) })
        #expect(e.kind == .artefact && e.description.contains("rerun rec-score"))
    }

    @Test func recError_description_joinsFileLineMessageAndHint() {
        #expect(RecError(.input, "bad", file: "f.dat", line: 3, hint: "fix it").description == "f.dat:3: bad (fix it)")
        #expect(RecError(.input, "bad", file: "f.dat").description == "f.dat: bad")
        #expect(RecError(.runtime, "oops").description == "oops")
    }
}
