import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// DLAE written out on a dense X in Double: G = XᵀX, Λ = diag(λ + p/(1−p)·diag(G)),
/// B = I − (G + Λ)⁻¹Λ (Gauss–Jordan inverse), the reference for `EASE.fitDLAE`.
func referenceDLAE(_ x: CSRMatrix, lambda: Double, dropout: Double, rating: Bool, ratingMax: Float = 5) -> [Double] {
    let n = x.cols
    var dense = [Double](repeating: 0, count: x.rows * n)
    for u in 0..<x.rows {
        for k in x.row(u) { dense[u * n + Int(x.columns[k])] = rating ? Double(x.values[k] / ratingMax) : 1 }
    }
    var g = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { for u in 0..<x.rows { g[i * n + j] += dense[u * n + i] * dense[u * n + j] } } }
    let penalty = (0..<n).map { lambda + dropout / (1 - dropout) * g[$0 * n + $0] }
    for i in 0..<n { g[i * n + i] += penalty[i] }
    let p = gaussJordanInverse(g, n: n)
    var b = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { b[i * n + j] = (i == j ? 1 : 0) - p[i * n + j] * penalty[j] } }
    return b
}

@Suite struct DLAETests {
    struct Case: Sendable, CustomTestStringConvertible {
        let seed: UInt64, lambda: Double, dropout: Double, rating: Bool
        var testDescription: String { "seed \(seed), λ \(lambda), p \(dropout), \(rating ? "rating" : "binary")" }
    }

    static let cases = [
        Case(seed: 1, lambda: 2, dropout: 0.5, rating: false), Case(seed: 2, lambda: 0.3, dropout: 0.25, rating: true),
        Case(seed: 3, lambda: 10, dropout: 0.9, rating: true), Case(seed: 4, lambda: 1, dropout: 0, rating: false),
    ]

    @Test(arguments: cases)
    func exact_matchesTheDenseReference(c: Case) throws {
        let x = randomCSR(rows: 40, cols: 17, density: 0.3, seed: c.seed)
        let model = try EASE.fitDLAE(x, lambda: c.lambda, dropout: c.dropout, weighting: c.rating ? .rating : .binary, ratingMax: 5,
                                     parallel: Parallel(workers: 2))
        let reference = referenceDLAE(x, lambda: c.lambda, dropout: c.dropout, rating: c.rating)
        #expect(maxRelativeError(model.weights, reference) < 1e-6)
        // Unlike EASE, the diagonal is not forced to 0.
        #expect((0..<17).contains { model.weights[$0 * 17 + $0] != 0 })
    }

    @Test(arguments: cases)
    func blocked_coveringEveryItem_matchesTheDenseReference(c: Case) throws {
        let x = randomCSR(rows: 40, cols: 17, density: 0.3, seed: c.seed)
        try #require(x.emptyColumns().isEmpty)
        let model = try EASE.fitDLAE(x, lambda: c.lambda, dropout: c.dropout, weighting: c.rating ? .rating : .binary, ratingMax: 5,
                                     solver: .blocked(maxItems: 100), parallel: Parallel(workers: 2))
        #expect(model.covered.count == 17)
        #expect(maxRelativeError(model.weights, referenceDLAE(x, lambda: c.lambda, dropout: c.dropout, rating: c.rating)) < 1e-4)
    }

    /// The blocked solver over fewer items is DLAE of X restricted to the covered items.
    @Test func blocked_overACover_isDLAEOfTheCoveredColumns() throws {
        let x = randomCSR(rows: 60, cols: 20, density: 0.35, seed: 9)
        let model = try EASE.fitDLAE(x, lambda: 3, dropout: 0.5, solver: .blocked(maxItems: 8), parallel: Parallel(workers: 3))
        let covered = model.covered.map(Int.init)
        var start = [0], columns: [Int32] = [], values: [Float] = []
        for u in 0..<x.rows {
            for k in x.row(u) { if let p = covered.firstIndex(of: Int(x.columns[k])) { columns.append(Int32(p)); values.append(x.values[k]) } }
            start.append(columns.count)
        }
        let restricted = CSRMatrix(rows: x.rows, cols: 8, rowStart: start, columns: columns, values: values)
        #expect(maxRelativeError(model.weights, referenceDLAE(restricted, lambda: 3, dropout: 0.5, rating: false)) < 1e-4)
    }

    @Test func sameBits_forAnyWorkerCount_bothSolvers() throws {
        let x = randomCSR(rows: 300, cols: 90, density: 0.2, seed: 5)
        for solver in [EASE.Solver.exact, .blocked(maxItems: 70)] {
            let one = try EASE.fitDLAE(x, lambda: 5, dropout: 0.5, weighting: .rating, solver: solver, parallel: Parallel(workers: 1))
            let three = try EASE.fitDLAE(x, lambda: 5, dropout: 0.5, weighting: .rating, solver: solver, parallel: Parallel(workers: 3))
            #expect(one.weights.map(\.bitPattern) == three.weights.map(\.bitPattern), "\(solver)")
        }
    }

    /// One Gram matrix serves every fit: EASE from a shared G is `EASE.fit` bit for bit, DLAE
    /// from it is `fitDLAE` computing its own.
    @Test func sharedGram_givesTheSameBits() throws {
        let x = randomCSR(rows: 120, cols: 30, density: 0.25, seed: 6)
        let parallel = Parallel(workers: 2)
        let g = EASE.gram(x, weighting: .rating, ratingMax: 5, parallel: parallel)
        let shared = try EASE.fit(gram: g, items: 30, lambda: 4, dropout: nil, weighting: .rating, ratingMax: 5, parallel: parallel)
        let own = try EASE.fit(x, lambda: 4, weighting: .rating, ratingMax: 5, parallel: parallel)
        #expect(shared.weights.map(\.bitPattern) == own.weights.map(\.bitPattern))
        let dlaeShared = try EASE.fitDLAE(x, lambda: 4, dropout: 0.5, weighting: .rating, ratingMax: 5, gram: g, parallel: parallel)
        let dlaeOwn = try EASE.fitDLAE(x, lambda: 4, dropout: 0.5, weighting: .rating, ratingMax: 5, parallel: parallel)
        #expect(dlaeShared.weights.map(\.bitPattern) == dlaeOwn.weights.map(\.bitPattern))
        // G is left as it was for the next fit.
        #expect(g == EASE.gram(x, weighting: .rating, ratingMax: 5, parallel: parallel))
    }

    /// With p = 0 and no Gram diagonal term DLAE is the plain ridge regression B = (G + λI)⁻¹G;
    /// as λ grows B shrinks towards 0 (and scores towards nothing).
    @Test func zeroDropout_isRidgeRegressionOntoTheInput() throws {
        let x = randomCSR(rows: 50, cols: 12, density: 0.4, seed: 8)
        let model = try EASE.fitDLAE(x, lambda: 2, dropout: 0, parallel: Parallel(workers: 1))
        // (G + λI) B = G  ⇔  B = I − λ (G + λI)⁻¹.
        let g = EASE.gram(x, parallel: Parallel(workers: 1))
        var worst = 0.0
        for i in 0..<12 {
            for j in 0..<12 {
                var lhs = 2 * Double(model.weights[i * 12 + j])
                for k in 0..<12 { lhs += g[i * 12 + k] * Double(model.weights[k * 12 + j]) }
                worst = max(worst, abs(lhs - g[i * 12 + j]))
            }
        }
        #expect(worst < 1e-4)
    }
}
