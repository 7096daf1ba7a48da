import Foundation
import RecCore
import RecKernels

/// The inverse of a symmetric positive-definite Float matrix by square tiles, on every
/// Dispatch worker, with the same bits for any number of workers.
///
/// Three sweeps over tiles of `tile` × `tile` (the last row and column of tiles may be
/// narrower), each tile operation one single-threaded BLAS call whose shape depends only on n
/// and the tile size, never on the worker count: so which worker runs it cannot change a bit.
/// 1. Cholesky, right-looking: for each tile column k, factor the diagonal tile (spotrf), solve
///    the tiles below it (strsm), then update the trailing lower triangle, one row of tiles per
///    task (sgemm).
/// 2. Y = L⁻¹, one tile column of Y per task: Y_jj = L_jj⁻¹ (strtri), then down the column
///    Y_ij = −L_ii⁻¹ Σ_{k=j}^{i−1} L_ik Y_kj. Y's off-diagonal tiles are kept transposed in the
///    upper triangle of the same matrix (U_ji = Y_ijᵀ), its diagonal tiles in a side buffer.
/// 3. P = G⁻¹ = Yᵀ Y, one tile of the upper triangle per task: P_ij = Σ_{k≥j} U_ik U_jkᵀ.
///
/// About n³ flops in all (as LAPACK's potrf + potri), in Float; memory: the input matrix, the
/// output matrix and n × tile floats.
enum TiledInverse {
    /// Tile width: 256 keeps a tile operation large enough for sgemm (33 Mflop) and the tasks
    /// many enough to balance two workers (`rec-bench --ease-matrices`; docs/performance.md,
    /// "Figures behind the code").
    static let defaultTile = 256

    /// Replaces `p` (n × n, row-major) with G⁻¹, reading G from the lower triangle (diagonal
    /// included) of `g`, which is overwritten with work.
    /// - Returns: false when G is not positive definite (in Float).
    static func invert(
        _ g: UnsafeMutablePointer<Float>, n: Int, into p: UnsafeMutablePointer<Float>, tile: Int = defaultTile, parallel: Parallel
    ) -> Bool {
        guard n > 0 else { return true }
        return BLAS.singleThreaded { invertInScope(g, n: n, into: p, tile: tile, parallel: parallel) }
    }

    private static func invertInScope(
        _ g: UnsafeMutablePointer<Float>, n: Int, into p: UnsafeMutablePointer<Float>, tile: Int, parallel: Parallel
    ) -> Bool {
        let t = max(1, tile)
        let tiles = (n + t - 1) / t
        @inline(__always) func width(_ i: Int) -> Int { min(t, n - i * t) }
        let a = SharedPointer(g), out = SharedPointer(p)
        func at(_ i: Int, _ j: Int) -> UnsafeMutablePointer<Float> { a.base + i * t * n + j * t }

        // 1. Cholesky.
        for k in 0..<tiles {
            guard BLAS.choleskyLower(at(k, k), n: width(k), ld: n) else { return false }
            let below = tiles - k - 1
            guard below > 0 else { break }
            parallel.forEachChunk(count: below, chunkSize: 1) { _, r in
                let i = k + 1 + r.lowerBound
                BLAS.solveRightLower(m: width(i), n: width(k), transposeL: true, l: at(k, k), ldl: n, b: at(i, k), ldb: n)
            }
            // Row of tiles i: A[i][k+1…i] −= A[i][k] · A[k+1…i][k]ᵀ; the widest rows first.
            parallel.forEachChunk(count: below, chunkSize: 1) { _, r in
                let i = tiles - 1 - r.lowerBound
                let columns = i * t + width(i) - (k + 1) * t
                BLAS.gemm(transB: true, m: width(i), n: columns, k: width(k), alpha: -1, a: at(i, k), lda: n,
                          b: at(k + 1, k), ldb: n, beta: 1, c: at(i, k + 1), ldc: n)
            }
        }

        // 2. Y = L⁻¹: diagonal tiles in `diagonal` (as Y_jjᵀ, upper triangular), the others as
        // U_ji = Y_ijᵀ in the upper triangle.
        let diagonal = UnsafeMutablePointer<Float>.allocate(capacity: tiles * t * t)
        defer { diagonal.deallocate() }
        diagonal.initialize(repeating: 0, count: tiles * t * t)
        let d = SharedPointer(diagonal)
        let singular = Locked(false) // set by any worker, read after they have all finished
        parallel.forEachChunk(count: tiles, chunkSize: 1) { _, r in
            let j = r.lowerBound, wj = width(j)
            let dj = d.base + j * t * t
            // D_j = L_jjᵀ, then inverted: (L_jj⁻¹)ᵀ = Y_jjᵀ.
            let l = at(j, j)
            for x in 0..<wj { for y in 0...x { dj[y * t + x] = l[x * n + y] } }
            guard BLAS.invertUpperTriangular(dj, n: wj, ld: t) else { singular.withLock { $0 = true }; return }
            for i in (j + 1)..<max(j + 1, tiles) {
                let wi = width(i)
                // C = D_j · L_ijᵀ + Σ_{k=j+1}^{i−1} U_jk · L_ikᵀ, then U_ji = −C · L_ii⁻ᵀ.
                BLAS.gemm(transB: true, m: wj, n: wi, k: wj, a: dj, lda: t, b: at(i, j), ldb: n, beta: 0, c: at(j, i), ldc: n)
                if i > j + 1 {
                    BLAS.gemm(transB: true, m: wj, n: wi, k: (i - j - 1) * t, a: at(j, j + 1), lda: n, b: at(i, j + 1), ldb: n,
                              beta: 1, c: at(j, i), ldc: n)
                }
                BLAS.solveRightLower(m: wj, n: wi, alpha: -1, transposeL: true, l: at(i, i), ldl: n, b: at(j, i), ldb: n)
            }
        }
        guard !singular.withLock({ $0 }) else { return false }

        // 3. P = Yᵀ Y = U Uᵀ, upper tiles (i ≤ j), then mirrored.
        var pairs: [(Int, Int)] = []
        for j in 0..<tiles { for i in 0...j { pairs.append((i, j)) } }
        parallel.forEachChunk(count: pairs.count, chunkSize: 1) { _, r in
            let (i, j) = pairs[r.lowerBound]
            let wi = width(i), wj = width(j)
            let c = out.base + i * t * n + j * t
            let dj = d.base + j * t * t
            // k = j: U_ij · D_jᵀ (U_jj = D_j; for i = j, U_ii = D_i).
            let uij = i == j ? UnsafePointer(d.base + i * t * t) : UnsafePointer(at(i, j))
            BLAS.gemm(transB: true, m: wi, n: wj, k: wj, a: uij, lda: i == j ? t : n, b: dj, ldb: t, beta: 0, c: c, ldc: n)
            // k > j: U_i,(j+1…) · U_j,(j+1…)ᵀ.
            let rest = n - (j + 1) * t
            if rest > 0 {
                BLAS.gemm(transB: true, m: wi, n: wj, k: rest, a: at(i, j + 1), lda: n, b: at(j, j + 1), ldb: n,
                          beta: 1, c: c, ldc: n)
            }
        }
        // The lower triangle, tile by tile (a tile's transpose stays in cache).
        parallel.forEachChunk(count: tiles, chunkSize: 1) { _, r in
            let i = r.lowerBound
            for j in 0...i {
                for x in (i * t)..<(i * t + width(i)) {
                    for y in (j * t)..<min(j * t + width(j), x) { out[x * n + y] = out[y * n + x] }
                }
            }
        }
        return true
    }
}
