import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels
import RecTestSupport

/// EASE written out in Double for X = rating / ratingMax: G = XᵀX + λI, P = G⁻¹,
/// B = I − P·diag(1/diag(P)) (so B_ij = −P_ij / P_jj off the diagonal and B_jj = 0).
func referenceRatingEASE(_ x: CSRMatrix, lambda: Double, ratingMax: Double) -> [Double] {
    let n = x.cols
    var dense = [Double](repeating: 0, count: x.rows * n)
    for u in 0..<x.rows { for k in x.row(u) { dense[u * n + Int(x.columns[k])] = Double(x.values[k]) / ratingMax } }
    var g = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { for u in 0..<x.rows { g[i * n + j] += dense[u * n + i] * dense[u * n + j] } } }
    for i in 0..<n { g[i * n + i] += lambda }
    let p = gaussJordanInverse(g, n: n)
    var b = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0..<n { b[i * n + j] = (i == j ? 1 : 0) - p[i * n + j] / p[j * n + j] }
    }
    return b
}

@Suite struct EASEWeightingTests {
    /// Two items by hand. X = [[5, 4], [3, 0], [0, 2]] / 5 = [[1, 0.8], [0.6, 0], [0, 0.4]]:
    /// XᵀX = [[1.36, 0.8], [0.8, 0.8]]; with λ = 1, G = [[2.36, 0.8], [0.8, 1.8]], and for a 2×2
    /// inverse B_01 = −P_01 / P_11 = G_01 / G_00 = 0.8 / 2.36, B_10 = G_10 / G_11 = 0.8 / 1.8.
    @Test func fit_ratingWeighting_onTwoItems_matchesHandComputation() throws {
        let x = CSRMatrix(rows: 3, cols: 2, rowStart: [0, 2, 3, 4], columns: [0, 1, 0, 1], values: [5, 4, 3, 2])
        let m = try EASE.fit(x, lambda: 1, weighting: .rating, ratingMax: 5, parallel: Parallel(workers: 1))
        #expect(abs(Double(m.weights[1]) - 0.8 / 2.36) < 1e-6)
        #expect(abs(Double(m.weights[2]) - 0.8 / 1.8) < 1e-6)
        #expect(m.weights[0] == 0 && m.weights[3] == 0)
        // Binary X = [[1, 1], [1, 0], [0, 1]]: G = [[3, 1], [1, 3]], B_01 = B_10 = 1/3.
        let binary = try EASE.fit(x, lambda: 1, weighting: .binary, parallel: Parallel(workers: 1))
        #expect(abs(Double(binary.weights[1]) - 1.0 / 3) < 1e-6 && abs(Double(binary.weights[2]) - 1.0 / 3) < 1e-6)
    }

    @Test(arguments: [(5.0, 2.0), (5.0, 40.0), (10.0, 3.0)])
    func fit_ratingWeighting_matchesDoubleReference(ratingMax: Double, lambda: Double) throws {
        // Ratings 1...5 on a scale up to `ratingMax`: a 10-point scale halves every entry of X.
        let x = randomCSR(rows: 40, cols: 12, density: 0.4, seed: 31)
        let m = try EASE.fit(x, lambda: lambda, weighting: .rating, ratingMax: Float(ratingMax), parallel: Parallel(workers: 2))
        let reference = referenceRatingEASE(x, lambda: lambda, ratingMax: ratingMax)
        #expect(maxRelativeError(m.weights, reference) < 1e-6)
        #expect((0..<12).allSatisfy { m.weights[$0 * 12 + $0] == 0 })
        #expect(m.weighting == .rating && m.ratingMax == Float(ratingMax))
        // The weighting matters here: the binary fit is a different matrix.
        let binary = try EASE.fit(x, lambda: lambda, parallel: Parallel(workers: 1))
        #expect(maxRelativeError(binary.weights, reference) > 1e-2)
    }

    /// Every rating at the top of the scale: X is the binary matrix, so both weightings agree.
    @Test func fit_ratingWeighting_whenEveryRatingIsTheHighest_equalsBinary() throws {
        var x = randomCSR(rows: 30, cols: 9, density: 0.4, seed: 5)
        x.values = [Float](repeating: 4, count: x.nonZeros)
        let rating = try EASE.fit(x, lambda: 3, weighting: .rating, ratingMax: 4, parallel: Parallel(workers: 1))
        let binary = try EASE.fit(x, lambda: 3, weighting: .binary, parallel: Parallel(workers: 1))
        #expect(rating.weights == binary.weights)
    }

    /// Scores under `.rating` are Σ (r_ui / ratingMax) · B_i·, in the panel kernel and its dense twin.
    @Test func scores_ratingWeighting_weighRowsByRatingOverHighest() throws {
        let x = randomCSR(rows: 60, cols: 150, density: 0.1, seed: 17)
        let m = try EASE.fit(x, lambda: 10, weighting: .rating, ratingMax: 5, parallel: Parallel(workers: 1))
        let users = 3..<57, n = 150
        var naive = [Double](repeating: 0, count: users.count * n)
        for u in users {
            for k in x.row(u) {
                let w = Double(x.values[k]) / 5
                for j in 0..<n { naive[(u - users.lowerBound) * n + j] += w * Double(m.weights[Int(x.columns[k]) * n + j]) }
            }
        }
        var fast = [Float](repeating: .nan, count: users.count * n), dense = fast
        fast.withUnsafeMutableBufferPointer { m.scores(users: users, input: x, into: $0.baseAddress!) }
        dense.withUnsafeMutableBufferPointer { m.scoresDense(users: users, input: x, into: $0.baseAddress!) }
        #expect(maxRelativeError(fast, naive) < 1e-5)
        #expect(maxRelativeError(dense, naive) < 1e-5)
    }

    @Test func model_ratingWeighting_roundTripsThroughAnArtefact() throws {
        let x = randomCSR(rows: 20, cols: 7, density: 0.5, seed: 2)
        let m = try EASE.fit(x, lambda: 2, weighting: .rating, ratingMax: 10, parallel: Parallel(workers: 1))
        let dir = try TempDir(prefix: "ease-rating")
        let path = dir.file("model.art")
        try m.write(to: path, meta: [:], parallel: Parallel(workers: 1))
        let (back, _) = try EASE.read(path, parallel: Parallel(workers: 1))
        #expect(back.weighting == .rating && back.ratingMax == 10 && back.weights == m.weights)
    }
}
