import Foundation
import RecCore
import RecData
import RecKernels

/// DLAE (Steck 2020, "Autoencoders that don't overfit towards the identity"): the closed form
/// of a linear autoencoder trained with dropout p on its input, held in the `EASE` type (an
/// item–item matrix B scored as x_u · B).
///
/// With G = XᵀX (X as EASE weights it: binary or rating / highest rating),
///
///     Λ = diag(λ + p / (1 − p) · diag(G)),   P = (G + Λ)⁻¹,   B = I − P Λ,
///
/// i.e. B_ij = δ_ij − P_ij Λ_jj. Unlike EASE, B's diagonal is not forced to 0: the dropout
/// penalty alone keeps B from the identity. A user's own movies are never listed, so the
/// diagonal changes no list. The solvers are EASE's: `exact` in Double with LAPACK on one thread,
/// `blocked` in Float over the `maxItems` most-rated movies with `TiledInverse`.
extension EASE {
    /// p / (1 − p), the dropout's penalty per unit of (XᵀX)_jj.
    @inline(__always) static func dropoutScale(_ p: Double) -> Double { p / (1 - p) }

    /// X's entries for `train` under `weighting` (nil: binary, every entry 1).
    public static func inputWeights(_ train: CSRMatrix, weighting: Weighting, ratingMax: Float) -> [Float]? {
        guard weighting == .rating else { return nil }
        let shape = EASE(itemCount: 0, lambda: 1, weights: [], weighting: weighting, ratingMax: ratingMax)
        return train.values.map(shape.x)
    }

    /// The Gram matrix G = XᵀX the exact solver starts from, for sharing between fits of one
    /// input (`fit(gram:…)`): n × n Double.
    public static func gram(_ train: CSRMatrix, weighting: Weighting, ratingMax: Float, parallel: Parallel) -> [Double] {
        gram(train, weights: inputWeights(train, weighting: weighting, ratingMax: ratingMax), parallel: parallel)
    }

    /// Fits DLAE on `train`. `gram`: G = XᵀX of the same input and weighting (exact solver only),
    /// to share one between fits; computed here when nil.
    /// - Precondition: λ valid for EASE, 0 ≤ p < 1.
    /// - Throws: `RecError(.runtime)` when G + Λ is not positive definite.
    public static func fitDLAE(_ train: CSRMatrix, lambda: Double, dropout: Double, weighting: Weighting = .binary, ratingMax: Float = 5,
                               solver: Solver = .exact, gram: [Double]? = nil, parallel: Parallel) throws -> EASE {
        precondition(EASESettings.isValidLambda(lambda) && dropout >= 0 && dropout < 1, "DLAE λ \(lambda), p \(dropout) out of range")
        if case .blocked(let maxItems) = solver.resolved(ratedItems: train.cols - train.emptyColumns().count) {
            return try fitBlockedDLAE(train, lambda: lambda, dropout: dropout, weighting: weighting, ratingMax: ratingMax, maxItems: maxItems,
                                      parallel: parallel)
        }
        let g = gram ?? Self.gram(train, weighting: weighting, ratingMax: ratingMax, parallel: parallel)
        return try fit(gram: g, items: train.cols, lambda: lambda, dropout: dropout, weighting: weighting, ratingMax: ratingMax,
                       parallel: parallel)
    }

    /// The exact solver from a given G = XᵀX (n × n Double): EASE when `dropout` is nil, else
    /// DLAE with that p. G is consumed: a caller that shares one G between fits passes a copy,
    /// a single fit hands its own over without one.
    ///
    /// The inverse always runs on one OpenBLAS thread: with two, OpenBLAS splits the Cholesky
    /// work differently and B's last bits change, which would make the model depend on the
    /// worker count (and two threads were no faster on ML-1M).
    public static func fit(gram g: consuming [Double], items n: Int, lambda: Double, dropout: Double?, weighting: Weighting,
                           ratingMax: Float, parallel: Parallel) throws -> EASE {
        precondition(g.count == n * n, "G must be n × n")
        let penalty = (0..<n).map { i in lambda + (dropout.map { dropoutScale($0) * g[i * n + i] } ?? 0) }
        var a = consume g
        for i in 0..<n { a[i * n + i] += penalty[i] }
        let ok = n == 0 || BLAS.singleThreaded { a.withUnsafeMutableBufferPointer { BLAS.invertSPD($0.baseAddress!, n: n) } }
        let name = dropout == nil ? "EASE: XᵀX + λI" : "DLAE: XᵀX + Λ"
        guard ok else { throw RecError(.runtime, "\(name) is not positive definite (λ = \(lambda))", hint: "use a larger lambda") }
        let b = dropout == nil ? weights(fromInverse: a, n: n, parallel: parallel) : dlaeWeights(fromInverse: a, penalty: penalty, parallel: parallel)
        return EASE(itemCount: n, lambda: lambda, weights: b, weighting: weighting, ratingMax: ratingMax)
    }

    /// B = I − P Λ, rounded to Float.
    static func dlaeWeights(fromInverse p: [Double], penalty: [Double], parallel: Parallel) -> [Float] {
        let n = penalty.count
        return itemItemMatrix(n, parallel: parallel) { i, j in Float((i == j ? 1 : 0) - p[i * n + j] * penalty[j]) }
    }

    /// DLAE over the `maxItems` most-rated items, in Float with `TiledInverse` (as `fitBlocked`
    /// for EASE, with the same memory: two covered × covered Float matrices).
    static func fitBlockedDLAE(_ train: CSRMatrix, lambda: Double, dropout: Double, weighting: Weighting, ratingMax: Float, maxItems: Int,
                               parallel: Parallel) throws -> EASE {
        guard maxItems >= 1 else { throw RecError(.config, "DLAE maxItems must be at least 1, got \(maxItems)") }
        // Bound apart, not as one tuple: B is P transformed in place, never a copy of it.
        let covered: [Int32], penalty: [Double]?
        var b: [Float]
        (covered, b, penalty) = try coveredInverse(train, lambda: lambda, dropout: dropout, weighting: weighting, ratingMax: ratingMax,
                                                   maxItems: maxItems, parallel: parallel)
        let m = covered.count
        let scale = penalty!.map { Float($0) }
        b.withUnsafeMutableBufferPointer { buffer in
            let out = SharedPointer(buffer.baseAddress!)
            parallel.forEachChunk(count: m, chunkSize: 256) { _, rows in
                for i in rows {
                    for j in 0..<m { out[i * m + j] = -out[i * m + j] * scale[j] }
                    out[i * m + i] += 1
                }
            }
        }
        return EASE(itemCount: train.cols, lambda: lambda, weights: b, weighting: weighting, ratingMax: ratingMax, covered: covered)
    }
}
