import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecData
@testable import RecModels
import RecTestSupport

/// Gauss–Jordan inverse with partial pivoting, in Double: the naive reference for EASE.
func gaussJordanInverse(_ a: [Double], n: Int) -> [Double] {
    var m = a, inv = [Double](repeating: 0, count: n * n)
    for i in 0..<n { inv[i * n + i] = 1 }
    for col in 0..<n {
        let pivot = (col..<n).max { abs(m[$0 * n + col]) < abs(m[$1 * n + col]) }!
        for j in 0..<n {
            m.swapAt(col * n + j, pivot * n + j)
            inv.swapAt(col * n + j, pivot * n + j)
        }
        let d = m[col * n + col]
        for j in 0..<n { m[col * n + j] /= d; inv[col * n + j] /= d }
        for r in 0..<n where r != col {
            let f = m[r * n + col]
            if f == 0 { continue }
            for j in 0..<n { m[r * n + j] -= f * m[col * n + j]; inv[r * n + j] -= f * inv[col * n + j] }
        }
    }
    return inv
}

/// G = XᵀX + λI from a dense binary X, then B = −P / diag(P), diag 0: EASE written out.
func referenceEASE(_ x: CSRMatrix, lambda: Double) -> [Double] {
    let n = x.cols
    var dense = [Double](repeating: 0, count: x.rows * n)
    for u in 0..<x.rows { for k in x.row(u) { dense[u * n + Int(x.columns[k])] = 1 } }
    var g = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { for u in 0..<x.rows { g[i * n + j] += dense[u * n + i] * dense[u * n + j] } } }
    for i in 0..<n { g[i * n + i] += lambda }
    let p = gaussJordanInverse(g, n: n)
    var b = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n where i != j { b[i * n + j] = -p[i * n + j] / p[j * n + j] } }
    return b
}

func maxRelativeError(_ a: [Float], _ b: [Double]) -> Double {
    let scale = b.map(abs).max() ?? 1
    return zip(a, b).map { abs(Double($0) - $1) }.max()! / max(scale, 1e-30)
}

@Suite struct EASETests {
    let tiny = randomCSR(rows: 9, cols: 6, density: 0.45, seed: 1)

    @Test func gram_equalsDenseXTransposeX() {
        let x = randomCSR(rows: 70, cols: 25, density: 0.3, seed: 4)
        let g = EASE.gram(x, parallel: Parallel(workers: 2))
        for i in 0..<25 {
            for j in 0..<25 {
                var count = 0.0
                for u in 0..<70 where x.columns[x.row(u)].contains(Int32(i)) && x.columns[x.row(u)].contains(Int32(j)) { count += 1 }
                #expect(g[i * 25 + j] == count, "G[\(i), \(j)]")
            }
        }
    }

    @Test func fit_onTinyMatrix_matchesGaussJordanReference() throws {
        let m = try EASE.fit(tiny, lambda: 2, parallel: Parallel(workers: 1))
        #expect(maxRelativeError(m.weights, referenceEASE(tiny, lambda: 2)) < 1e-6)
        for i in 0..<m.itemCount { #expect(m.weights[i * m.itemCount + i] == 0) }
    }

    /// Large enough for OpenBLAS's blocked Cholesky, and with an item nobody rated: checks
    /// that `BLAS.invertSPD` mirrors the right triangle.
    @Test func fit_onMediumMatrix_matchesReferenceInBothTriangles() throws {
        let r = randomCSR(rows: 300, cols: 140, density: 0.15, seed: 9)
        let n = 141 // item 140 is never rated
        let x = CSRMatrix(rows: r.rows, cols: n, rowStart: r.rowStart, columns: r.columns, values: r.values)
        let m = try EASE.fit(x, lambda: 5, parallel: Parallel(workers: 2))
        let ref = referenceEASE(x, lambda: 5)
        #expect(maxRelativeError(m.weights, ref) < 1e-5)
        #expect((0..<n).allSatisfy { m.weights[140 * n + $0] == 0 && m.weights[$0 * n + 140] == 0 })
        // B is not symmetric: both triangles must be the reference's own.
        #expect((0..<n).contains { i in (0..<n).contains { j in m.weights[i * n + j] != m.weights[j * n + i] } })
    }

    @Test func scores_equalSumOfRows_andTheDenseTwin() throws {
        // 300 items: two full column panels of 128 and a ragged one.
        let x = randomCSR(rows: 300, cols: 300, density: 0.1, seed: 12)
        let m = try EASE.fit(x, lambda: 10, parallel: Parallel(workers: 1))
        let users = 17..<290, n = 300
        var fast = [Float](repeating: .nan, count: users.count * n)
        var dense = [Float](repeating: .nan, count: users.count * n)
        fast.withUnsafeMutableBufferPointer { m.scores(users: users, input: x, into: $0.baseAddress!) }
        dense.withUnsafeMutableBufferPointer { m.scoresDense(users: users, input: x, into: $0.baseAddress!) }
        var naive = [Double](repeating: 0, count: users.count * n)
        for u in users {
            for k in x.row(u) {
                for j in 0..<n { naive[(u - users.lowerBound) * n + j] += Double(m.weights[Int(x.columns[k]) * n + j]) }
            }
        }
        #expect(maxRelativeError(fast, naive) < 1e-5)
        #expect(maxRelativeError(dense, naive) < 1e-5)
    }

    @Test func scores_forUserWithoutRatings_areZero() throws {
        let x = replacingRow(randomCSR(rows: 5, cols: 8, density: 0.5, seed: 3), user: 2, with: [])
        let m = try EASE.fit(x, lambda: 1, parallel: Parallel(workers: 1))
        var out = [Float](repeating: .nan, count: 8)
        out.withUnsafeMutableBufferPointer { m.scores(users: 2..<3, input: x, into: $0.baseAddress!) }
        #expect(out == [Float](repeating: 0, count: 8))
    }

    @Test func fitAndTopK_areTheSameForOneOrManyWorkers() throws {
        let x = randomCSR(rows: 1500, cols: 500, density: 0.05, seed: 8)
        let one = try EASE.fit(x, lambda: 20, parallel: Parallel(workers: 1))
        let two = try EASE.fit(x, lambda: 20, parallel: Parallel(workers: 2))
        #expect(one.weights.map(\.bitPattern) == two.weights.map(\.bitPattern))
        let a = TopK.all(scorer: one, input: x, k: 10, parallel: Parallel(workers: 1))
        let b = TopK.all(scorer: two, input: x, k: 10, parallel: Parallel(workers: 3))
        #expect(a.items == b.items && a.scores.map(\.bitPattern) == b.scores.map(\.bitPattern))
    }

    /// The settings refuse a λ that is not above 0 (`EASESettings.isValidLambda`) before any
    /// fit, so a fit given one stops: λ = 0 would make G singular for an item nobody rated.
    @Test func fit_withALambdaTheSettingsRefuse_stops() async {
        await #expect(processExitsWith: .failure) {
            _ = try? EASE.fit(randomCSR(rows: 9, cols: 6, density: 0.45, seed: 1), lambda: -1, parallel: Parallel(workers: 1))
        }
        await #expect(processExitsWith: .failure) {
            _ = try? EASE.fit(randomCSR(rows: 9, cols: 6, density: 0.45, seed: 1), lambda: .nan, parallel: Parallel(workers: 1))
        }
        await #expect(processExitsWith: .failure) {
            let x = CSRMatrix(rows: 2, cols: 3, rowStart: [0, 1, 2], columns: [0, 1], values: [1, 1])
            _ = try? EASE.fit(x, lambda: 0, parallel: Parallel(workers: 1))
        }
    }

    @Test func model_roundTripsThroughAnArtefact() throws {
        let m = try EASE.fit(tiny, lambda: 3, parallel: Parallel(workers: 1))
        let dir = try TempDir(prefix: "ease")
        let path = dir.file("model.art")
        try m.write(to: path, meta: ["note": .string("test")], parallel: Parallel(workers: 2))
        let (back, artefact) = try EASE.read(path, parallel: Parallel(workers: 2))
        #expect(back.itemCount == m.itemCount && back.lambda == 3 && back.weights == m.weights)
        #expect(artefact.meta("note") == .string("test"))
    }

    @Test func read_whenModelIsNotEASE_throws() throws {
        let dir = try TempDir(prefix: "other")
        let path = dir.file("model.art")
        var b = ArtefactBuilder(kind: .model)
        b.meta["type"] = .string("user-autoencoder")
        try b.write(to: path, parallel: Parallel(workers: 1))
        #expect(throws: RecError.self) { try EASE.read(path, parallel: Parallel(workers: 1)) }
    }
}
