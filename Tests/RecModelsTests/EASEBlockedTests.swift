import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecData
@testable import RecKernels
@testable import RecModels
import RecTestSupport

/// The tiled Float inverse of a Double matrix (only its lower triangle is handed over).
func tiledInverse(_ a: [Double], n: Int, tile: Int, workers: Int) -> [Float]? {
    var g = [Float](repeating: .nan, count: n * n)
    for i in 0..<n { for j in 0...i { g[i * n + j] = Float(a[i * n + j]) } }
    var p = [Float](repeating: .nan, count: n * n)
    let ok = g.withUnsafeMutableBufferPointer { gp in
        p.withUnsafeMutableBufferPointer { TiledInverse.invert(gp.baseAddress!, n: n, into: $0.baseAddress!, tile: tile, parallel: Parallel(workers: workers)) }
    }
    return ok ? p : nil
}

/// A rating matrix whose item popularity falls off steeply (item i drawn with weight
/// 1 / (i + 3)), with ratings 1…5: the shape the blocked solver's cover is made for.
func skewedCSR(rows: Int, cols: Int, perRow: Int, seed: UInt64) -> CSRMatrix {
    var rng = SplitMix64(seed: seed)
    let weights = (0..<cols).map { 1 / Double($0 + 3) }
    let total = weights.reduce(0, +)
    var start = [0], columns: [Int32] = [], values: [Float] = []
    for _ in 0..<rows {
        var picked = Set<Int32>()
        for _ in 0..<perRow {
            var x = Double(rng.unitFloat()) * total, c = 0
            while c < cols - 1 && x >= weights[c] { x -= weights[c]; c += 1 }
            picked.insert(Int32(c))
        }
        for c in picked.sorted() {
            columns.append(c)
            values.append(Float(1 + rng.below(5)))
        }
        start.append(columns.count)
    }
    return CSRMatrix(rows: rows, cols: cols, rowStart: start, columns: columns, values: values)
}

/// `x` with only the given columns, renumbered 0…: the matrix exact EASE must see to give what
/// the blocked solver gives over that cover.
func restricted(_ x: CSRMatrix, to covered: [Int32]) -> CSRMatrix {
    var position = [Int32](repeating: -1, count: x.cols)
    for (k, i) in covered.enumerated() { position[Int(i)] = Int32(k) }
    var start = [0], columns: [Int32] = [], values: [Float] = []
    for u in 0..<x.rows {
        for k in x.row(u) where position[Int(x.columns[k])] >= 0 {
            columns.append(position[Int(x.columns[k])])
            values.append(x.values[k])
        }
        start.append(columns.count)
    }
    return CSRMatrix(rows: x.rows, cols: covered.count, rowStart: start, columns: columns, values: values)
}

@Suite struct TiledInverseTests {
    /// Sizes below, at and across tile boundaries, including a ragged last tile.
    @Test(arguments: [(1, 4), (7, 4), (8, 4), (37, 8), (64, 16), (101, 32)])
    func invert_matchesLAPACKDoubleInverse(n: Int, tile: Int) throws {
        let a = randomSPD(n, seed: UInt64(n * 31 + tile))
        var reference = a
        #expect(reference.withUnsafeMutableBufferPointer { BLAS.invertSPD($0.baseAddress!, n: n) })
        let p = try #require(tiledInverse(a, n: n, tile: tile, workers: 2))
        #expect(maxRelativeError(p, reference) < 1e-4, "n \(n), tile \(tile)")
        // Both triangles are filled and symmetric.
        for i in 0..<n { for j in 0..<n { #expect(p[i * n + j] == p[j * n + i]) } }
    }

    @Test func invert_isTheSameBitsForOneOrManyWorkers() throws {
        let n = 90
        let a = randomSPD(n, seed: 5)
        let one = try #require(tiledInverse(a, n: n, tile: 16, workers: 1))
        for workers in [2, 3, 5] {
            let many = try #require(tiledInverse(a, n: n, tile: 16, workers: workers))
            #expect(one.map(\.bitPattern) == many.map(\.bitPattern), "\(workers) workers")
        }
    }

    @Test func invert_whenNotPositiveDefinite_returnsFalse() {
        // A negative eigenvalue: −I in the last tile.
        let n = 20
        var a = randomSPD(n, seed: 2)
        for i in 15..<n { for j in 0..<n { a[i * n + j] = i == j ? -1 : 0; a[j * n + i] = i == j ? -1 : 0 } }
        #expect(tiledInverse(a, n: n, tile: 8, workers: 2) == nil)
    }
}

@Suite struct EASEBlockedTests {
    @Test func coveredItems_areTheMostRated_tiesByLowerIndex_neverUnrated() {
        // Counts per item: 0:2, 1:3, 2:1, 3:3, 4:0, 5:2.
        let columns: [[Int32]] = [[0, 1, 3, 5], [1, 3], [0, 1, 2, 3, 5]]
        var start = [0]
        for c in columns { start.append(start.last! + c.count) }
        let flat = columns.flatMap { $0 }
        let x = CSRMatrix(rows: 3, cols: 6, rowStart: start, columns: flat, values: [Float](repeating: 1, count: flat.count))
        #expect(EASE.coveredItems(x, maxItems: 2) == [1, 3])
        #expect(EASE.coveredItems(x, maxItems: 3) == [0, 1, 3]) // 0 and 5 tie at 2: the lower index
        #expect(EASE.coveredItems(x, maxItems: 4) == [0, 1, 3, 5])
        #expect(EASE.coveredItems(x, maxItems: 100) == [0, 1, 2, 3, 5]) // item 4 has no rating
    }

    @Test func auto_isExactUpToTheLimit_andBlockedAbove() {
        let auto = EASE.Solver.auto(maxItems: 77)
        #expect(auto.resolved(ratedItems: EASE.exactItemLimit) == .exact)
        #expect(auto.resolved(ratedItems: EASE.exactItemLimit + 1) == .blocked(maxItems: 77))
        #expect(EASE.Solver.exact.resolved(ratedItems: 1_000_000) == .exact)
    }

    /// 600 items: two full 256-wide tiles and a ragged one, so the tiled path is exercised.
    @Test(arguments: [EASE.Weighting.binary, .rating])
    func blocked_coveringEveryItem_matchesTheExactSolver(weighting: EASE.Weighting) throws {
        let x = skewedCSR(rows: 2500, cols: 600, perRow: 40, seed: 3)
        let exact = try EASE.fit(x, lambda: 30, weighting: weighting, solver: .exact, parallel: Parallel(workers: 2))
        let blocked = try EASE.fit(x, lambda: 30, weighting: weighting, solver: .blocked(maxItems: 10_000), parallel: Parallel(workers: 2))
        let rated = x.cols - x.emptyColumns().count
        #expect(blocked.covered.count == rated)
        // Compare on the rated items (exact keeps rows and columns of zeros for the others).
        let n = x.cols, m = blocked.covered.count
        var reference: [Double] = []
        for i in blocked.covered { for j in blocked.covered { reference.append(Double(exact.weights[Int(i) * n + Int(j)])) } }
        #expect(blocked.weights.count == m * m)
        #expect(maxRelativeError(blocked.weights, reference) < 1e-3)
        for k in 0..<m { #expect(blocked.weights[k * m + k] == 0) }
    }

    @Test func blocked_overTheMostRatedItems_isExactEASEOnThoseColumns() throws {
        let x = skewedCSR(rows: 1500, cols: 400, perRow: 30, seed: 8)
        let blocked = try EASE.fit(x, lambda: 20, weighting: .rating, solver: .blocked(maxItems: 300), parallel: Parallel(workers: 2))
        #expect(blocked.covered == EASE.coveredItems(x, maxItems: 300))
        let exact = try EASE.fit(restricted(x, to: blocked.covered), lambda: 20, weighting: .rating, solver: .exact,
                                 parallel: Parallel(workers: 1))
        #expect(maxRelativeError(blocked.weights, exact.weights.map(Double.init)) < 1e-3)
    }

    @Test func blocked_fitAndLists_areTheSameBitsForOneOrManyWorkers() throws {
        let x = skewedCSR(rows: 2000, cols: 700, perRow: 25, seed: 4)
        let one = try EASE.fit(x, lambda: 25, weighting: .rating, solver: .blocked(maxItems: 520), parallel: Parallel(workers: 1))
        let two = try EASE.fit(x, lambda: 25, weighting: .rating, solver: .blocked(maxItems: 520), parallel: Parallel(workers: 2))
        #expect(one.covered == two.covered)
        #expect(one.weights.map(\.bitPattern) == two.weights.map(\.bitPattern))
        let a = TopK.all(scorer: one, input: x, k: 10, parallel: Parallel(workers: 1))
        let b = TopK.all(scorer: two, input: x, k: 10, parallel: Parallel(workers: 3))
        #expect(a.items == b.items && a.scores.map(\.bitPattern) == b.scores.map(\.bitPattern))
    }

    @Test func scores_ofUncoveredItems_areMinusInfinity_andTheirRatingsAddNothing() throws {
        let x = skewedCSR(rows: 300, cols: 120, perRow: 20, seed: 6)
        let model = try EASE.fit(x, lambda: 10, weighting: .binary, solver: .blocked(maxItems: 50), parallel: Parallel(workers: 1))
        let inner = try EASE.fit(restricted(x, to: model.covered), lambda: 10, weighting: .binary, solver: .blocked(maxItems: 50),
                                 parallel: Parallel(workers: 1))
        let users = 10..<40, n = x.cols, m = model.covered.count
        var full = [Float](repeating: .nan, count: users.count * n)
        full.withUnsafeMutableBufferPointer { model.scores(users: users, input: x, into: $0.baseAddress!) }
        // The same model over the covered columns alone, fed only the covered ratings.
        let sub = restricted(x, to: model.covered)
        var small = [Float](repeating: .nan, count: users.count * m)
        small.withUnsafeMutableBufferPointer { inner.scores(users: users, input: sub, into: $0.baseAddress!) }
        let coveredSet = Set(model.covered)
        for r in 0..<users.count {
            for i in 0..<n where !coveredSet.contains(Int32(i)) { #expect(full[r * n + i] == -.infinity) }
            for (k, i) in model.covered.enumerated() { #expect(full[r * n + Int(i)] == small[r * m + k]) }
        }
        // And no list ever holds an uncovered item.
        let lists = TopK.all(scorer: model, input: x, k: 60, parallel: Parallel(workers: 2))
        #expect(lists.items.allSatisfy { $0 == -1 || coveredSet.contains($0) })
    }

    @Test func blockedModel_roundTripsThroughAnArtefact_withItsCover() throws {
        let x = skewedCSR(rows: 200, cols: 90, perRow: 15, seed: 9)
        let m = try EASE.fit(x, lambda: 4, weighting: .rating, solver: .blocked(maxItems: 40), parallel: Parallel(workers: 1))
        let dir = try TempDir(prefix: "ease")
        let path = dir.file("model.art")
        try m.write(to: path, meta: [:], parallel: Parallel(workers: 2))
        let (back, artefact) = try EASE.read(path, parallel: Parallel(workers: 2))
        #expect(back.itemCount == 90 && back.covered == m.covered && back.weights == m.weights && back.weighting == .rating)
        #expect(artefact.meta("coveredItems") == .int(40))
    }

    @Test func read_whenCoverIsNotAscending_throws() throws {
        let dir = try TempDir(prefix: "ease")
        let path = dir.file("model.art")
        var b = ArtefactBuilder(kind: .model)
        b.meta = ["type": .string("ease"), "items": .int(5), "lambda": .double(1)]
        b.add("B", [Float](repeating: 0, count: 4))
        b.add("covered", [Int32(3), 1])
        try b.write(to: path, parallel: Parallel(workers: 1))
        let error = #expect(throws: RecError.self) { try EASE.read(path, parallel: Parallel(workers: 1)) }
        #expect(error?.message.contains("ascending") == true)
    }
}
