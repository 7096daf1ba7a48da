import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecData
import RecTestSupport

/// Inputs found by `Fuzz/` (scripts/fuzz.sh) that trapped instead of throwing. Each builds a
/// valid artefact, edits its header and repairs both checksums, as a crafted file or a buggy
/// writer would: the checksums alone cannot keep such a header out.
@Suite final class ArtefactFuzzRegressionTests {
    let home: TempDir
    var dir: String { home.path }

    init() throws { home = try TempDir(prefix: "artefact-fuzz") }

    /// A small ratings table written by the library, then `edit` applied to its header.
    private func craft(kind: ArtefactKind = .split, _ edit: (inout ArtefactHeader) -> Void) throws -> String {
        let path = dir + "/crafted-\(UUID().uuidString).art"
        let ids = IdMaps(userIds: [1, 5, 9], itemIds: [10, 20, 30, 40])
        let ratings = Ratings(users: [0, 0, 1, 2, 2], items: [0, 3, 1, 0, 2], values: [5, 3.5, 1, 4, 2],
                              timestamps: [1, 2, 3, 4, 5], ids: ids)
        try ratings.write(to: path, kind: kind, meta: [:], parallel: Parallel(workers: 1))
        try rewriteHeader(of: path, edit)
        return path
    }

    private func readAll(_ path: String) throws {
        let a = try Artefact.read(path, expecting: .split)
        for s in a.header.sections where s.type == .float32 { _ = try a.array(s.name, as: Float.self) }
    }

    @Test func craft_withoutEdit_givesAReadableArtefact() throws {
        let path = try craft { _ in }
        try readAll(path)
    }

    @Test func read_whenAFrameSizeIsNegative_throws() throws {
        // Found by fuzz-artefact: `"bytes": -3` passed the section check and trapped in `array`.
        let path = try craft { h in h.sections[2].frames[0].bytes = -3 }
        #expect(throws: RecError.self) { try readAll(path) }
    }

    @Test func read_whenSectionSizesOverflow_throws() throws {
        let path = try craft { h in
            h.sections[2].offset = Int.max
            h.sections[3].frames[0].bytes = Int.max
        }
        #expect(throws: RecError.self) { try readAll(path) }
    }

    @Test func read_whenFrameElementsAreNegativeOrHuge_throws() throws {
        let negative = try craft { h in
            h.sections[2].frames = [.init(elements: -1, bytes: 0), h.sections[2].frames[0]]
            h.sections[2].count -= 1
        }
        #expect(throws: RecError.self) { try readAll(negative) }
        let huge = try craft { h in
            h.sections[2].frames[0].elements = Int.max
            h.sections[2].count = Int.max
        }
        #expect(throws: RecError.self) { try readAll(huge) }
    }
}

@Suite struct JSONValueFuzzRegressionTests {
    @Test func intValue_ofDoubleOutsideIntRange_isNil() throws {
        // Found by fuzz-artefact: `"k": 1e300` in a top-k artefact's metadata trapped in
        // TopKLists.read instead of throwing "has no k".
        #expect(JSONValue.double(1e300).intValue == nil)
        #expect(JSONValue.double(-1e19).intValue == nil)
        #expect(JSONValue.double(2.5).intValue == nil)
        #expect(JSONValue.double(3).intValue == 3)
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data("{\"k\": 1e300}".utf8))
        #expect(decoded["k"]?.intValue == nil)
    }
}

@Suite final class RatingsReadFuzzRegressionTests {
    let home: TempDir
    var path: String { home.file("ratings.art") }

    init() throws { home = try TempDir(prefix: "ratings-fuzz") }

    @Test func read_whenColumnsHaveDifferentLengths_throws() throws {
        // Found by fuzz-artefact: Ratings.init's precondition trapped before the reader's own
        // "columns have different lengths" check could run.
        var b = ArtefactBuilder(kind: .ratings)
        b.add("userIds", [Int32(1), 5])
        b.add("itemIds", [Int32(10), 20])
        b.add("user", [Int32(0), 1])
        b.add("item", [Int32(1)])
        b.add("rating", [Float(5), 4])
        b.add("timestamp", [Int64(1), 2])
        try b.write(to: path, parallel: Parallel(workers: 1))
        #expect(throws: RecError(.artefact, "columns have different lengths", file: path, hint: "rerun rec-ingest")) {
            _ = try Ratings.read(path, kind: .ratings, parallel: Parallel(workers: 1))
        }
    }
}

@Suite final class CSRMatrixReadFuzzRegressionTests {
    let home: TempDir
    var path: String { home.file("matrices.art") }

    init() throws { home = try TempDir(prefix: "csr-fuzz") }

    private func read(shape: [Int]) throws -> CSRMatrix {
        var b = ArtefactBuilder(kind: .matrices)
        b.add("train.rowStart", [Int64(0)])
        b.add("train.columns", [Int32]())
        b.add("train.values", [Float]())
        b.meta["train.shape"] = .array(shape.map { .int($0) })
        try b.write(to: path, parallel: Parallel(workers: 1))
        return try CSRMatrix.read(from: Artefact.read(path, expecting: .matrices), name: "train", parallel: Parallel(workers: 1))
    }

    @Test func read_whenShapeSaysIntMaxRows_throws() throws {
        // Found by fuzz-artefact: `rows + 1` overflowed (trap) for a shape of Int.max rows.
        #expect(throws: RecError.self) { _ = try read(shape: [Int.max, 1, 0]) }
    }

    @Test func read_whenShapeIsNegative_throws() throws {
        #expect(throws: RecError.self) { _ = try read(shape: [-1, 1, 0]) }
        #expect(throws: RecError.self) { _ = try read(shape: [0, -5, 0]) }
        #expect(try read(shape: [0, 3, 0]).cols == 3)
    }
}

@Suite final class TopKReadFuzzRegressionTests {
    let home: TempDir
    var path: String { home.file("topk.art") }

    init() throws { home = try TempDir(prefix: "topk-fuzz") }

    @Test func read_whenUsersTimesKOverflows_throws() throws {
        // Found by fuzz-artefact: 2 users and "k": Int.max / 2 + 1 trapped on userCount * k.
        var b = ArtefactBuilder(kind: .topK)
        b.meta["k"] = .int(Int.max / 2 + 1)
        b.add("userIds", [Int32(1), 2])
        b.add("itemIds", [Int32(1)])
        b.add("items", [Int32]())
        b.add("scores", [Float]())
        b.add("predictedRatings", [Float]())
        try b.write(to: path, parallel: Parallel(workers: 1))
        #expect(throws: RecError.self) { _ = try TopKLists.read(path, parallel: Parallel(workers: 1)) }
    }
}
