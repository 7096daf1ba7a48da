import Foundation
import RecCore
import RecData

extension EASE {
    /// The items the blocked solver covers: the `maxItems` with the most entries in `x` (ties
    /// by lower index), never an item without one; ascending.
    static func coveredItems(_ x: CSRMatrix, maxItems: Int) -> [Int32] {
        let count = x.columnCounts()
        let rated = (0..<x.cols).filter { count[$0] > 0 }
        guard rated.count > maxItems else { return rated.map { Int32($0) } }
        return CSRMatrix.byCount(count).prefix(max(0, maxItems)).sorted().map { Int32($0) }
    }

    /// EASE over the `maxItems` most-rated items: G = XᵀX + λI restricted to them, built in
    /// Double row by row and rounded to Float, inverted in Float by `TiledInverse` on every
    /// worker, B = −P / diag(P). The same bits for any number of workers.
    ///
    /// Memory: two covered × covered Float matrices (G, overwritten by the factor, and P, which
    /// becomes B) and 8 bytes per covered entry of `train`.
    /// - Parameter log: told the seconds of each phase.
    static func fitBlocked(_ train: CSRMatrix, lambda: Double, weighting: Weighting, ratingMax: Float, maxItems: Int,
                           parallel: Parallel, log: ((String) -> Void)? = nil) throws -> EASE {
        guard maxItems >= 1 else { throw RecError(.config, "EASE maxItems must be at least 1, got \(maxItems)") }
        var clock = ContinuousClock.now, cpu = processCPUSeconds()
        func phase(_ what: String) {
            let now = ContinuousClock.now, cpuNow = processCPUSeconds()
            log?(String(format: "EASE %@: %.2f s (CPU %.2f s)", what, (now - clock).seconds, cpuNow - cpu))
            (clock, cpu) = (now, cpuNow)
        }
        // Bound apart, not as one tuple: B is P transformed in place, never a copy of it.
        let covered: [Int32]
        var b: [Float]
        (covered, b, _) = try coveredInverse(train, lambda: lambda, dropout: nil, weighting: weighting, ratingMax: ratingMax,
                                             maxItems: maxItems, parallel: parallel, phase: phase)
        let m = covered.count
        // B = −P / diag(P) in place, by rows.
        let diagonal = (0..<m).map { b[$0 * m + $0] }
        guard diagonal.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw RecError(.runtime, "EASE: the inverse has a diagonal that is not positive (λ = \(lambda))", hint: "use a larger lambda")
        }
        b.withUnsafeMutableBufferPointer { buffer in
            let out = SharedPointer(buffer.baseAddress!)
            parallel.forEachChunk(count: m, chunkSize: 256) { _, rows in
                for i in rows {
                    for j in 0..<m { out[i * m + j] = -out[i * m + j] / diagonal[j] }
                    out[i * m + i] = 0
                }
            }
        }
        phase("B = −P / diag(P)")
        return EASE(itemCount: train.cols, lambda: lambda, weights: b, weighting: weighting, ratingMax: ratingMax, covered: covered)
    }

    /// The blocked solvers' common part: over the `maxItems` most-rated items, G = XᵀX in Float
    /// (`coveredGram`), its diagonal raised by λ (EASE: `dropout` nil) or by DLAE's
    /// Λ_jj = λ + p / (1 − p) · G_jj, then inverted by `TiledInverse` on every worker. G is freed
    /// before returning, so that the caller holds two covered × covered matrices at most.
    /// - Returns: the cover, P = (G + Λ)⁻¹ (covered × covered, row-major) and, for DLAE, Λ's
    ///   diagonal.
    /// - Throws: `RecError(.runtime)` when G + Λ is not positive definite in single precision.
    static func coveredInverse(
        _ train: CSRMatrix, lambda: Double, dropout: Double?, weighting: Weighting, ratingMax: Float, maxItems: Int,
        parallel: Parallel, phase: (String) -> Void = { _ in }
    ) throws -> (covered: [Int32], inverse: [Float], penalty: [Double]?) {
        let covered = coveredItems(train, maxItems: maxItems)
        let m = covered.count
        let g = UnsafeMutablePointer<Float>.allocate(capacity: max(1, m * m))
        defer { g.deallocate() }
        g.initialize(repeating: 0, count: m * m)
        try coveredGram(train, weights: inputWeights(train, weighting: weighting, ratingMax: ratingMax), covered: covered,
                        lambda: dropout == nil ? lambda : 0, into: g, parallel: parallel)
        var penalty: [Double]?
        if let dropout {
            let raised = (0..<m).map { i in lambda + dropoutScale(dropout) * Double(g[i * m + i]) }
            for i in 0..<m { g[i * m + i] = Float(Double(g[i * m + i]) + raised[i]) }
            penalty = raised
        }
        let matrix = dropout == nil ? "XᵀX + λI" : "XᵀX + Λ", name = "\(dropout == nil ? "EASE" : "DLAE"): \(matrix)"
        phase("G = \(matrix) over \(m) of \(train.cols) movies")
        var inverse = [Float](repeating: 0, count: m * m)
        let ok = inverse.withUnsafeMutableBufferPointer { TiledInverse.invert(g, n: m, into: $0.baseAddress!, parallel: parallel) }
        guard ok else {
            throw RecError(.runtime, "\(name) is not positive definite in single precision (λ = \(lambda))", hint: "use a larger lambda")
        }
        phase("tiled inverse")
        return (covered, inverse, penalty)
    }

    /// The lower triangle (diagonal included) of G = XᵀX + λI over the covered items, into
    /// `g` (covered × covered, row-major); with `weights` (one per entry of `x`),
    /// G_ij = Σ_rows w_ri · w_rj, else the number of rows holding both.
    ///
    /// Item by item, on X restricted to the covered items: row i of G is summed in Double over
    /// the rows of X that hold item i, each adding its entries up to i, in row order, then
    /// rounded to Float: the same bits for any number of workers. Never forms a dense X. On the
    /// synthetic 25M data (Σ n_r² / 2 = 8.3 · 10⁹) it takes about 8 s of CPU over 10,000 items;
    /// handing the heaviest users (over 1,000 ratings) to sgemm as dense blocks saved only 10 %.
    /// - Throws: `RecError(.runtime)` when X has 2³¹ entries or more.
    /// - Complexity: O(Σ_rows n_r² / 2) time; 16 bytes per covered entry besides `g`.
    static func coveredGram(_ x: CSRMatrix, weights w: [Float]?, covered: [Int32], lambda: Double,
                            into g: UnsafeMutablePointer<Float>, parallel: Parallel) throws {
        let m = covered.count
        guard m > 0 else { return }
        guard x.nonZeros < Int(Int32.max) else {
            throw RecError(.runtime, "EASE: \(x.nonZeros) ratings are more than the blocked solver indexes (2³¹ − 1)")
        }
        var position = [Int32](repeating: -1, count: x.cols)
        for (k, i) in covered.enumerated() { position[Int(i)] = Int32(k) }
        // X restricted to the covered items: covered indices (ascending in each row) and weights.
        var rowStart = [Int](repeating: 0, count: x.rows + 1)
        var columns: [Int32] = [], values: [Float] = []
        columns.reserveCapacity(x.nonZeros)
        values.reserveCapacity(x.nonZeros)
        for u in 0..<x.rows {
            for q in x.row(u) where position[Int(x.columns[q])] >= 0 {
                columns.append(position[Int(x.columns[q])])
                values.append(w?[q] ?? 1)
            }
            rowStart[u + 1] = columns.count
        }
        // For each covered item, its entries' positions and rows.
        let start = CountingSort.starts(of: columns, buckets: m)
        var fill = start
        var entry = [Int32](repeating: 0, count: start[m]), owner = [Int32](repeating: 0, count: start[m])
        for u in 0..<x.rows {
            for q in rowStart[u]..<rowStart[u + 1] {
                let k = Int(columns[q])
                entry[fill[k]] = Int32(q)
                owner[fill[k]] = Int32(u)
                fill[k] += 1
            }
        }
        let out = SharedPointer(g)
        let binary = w == nil
        columns.withUnsafeBufferPointer { columns in
            values.withUnsafeBufferPointer { values in
                parallel.forEachChunk(count: m, chunkSize: EASE.gramRowsPerChunk) { _, items in
                    var row = [Double](repeating: 0, count: m)
                    row.withUnsafeMutableBufferPointer { row in
                        for i in items {
                            for e in start[i]..<start[i + 1] {
                                let q = Int(entry[e]), first = rowStart[Int(owner[e])]
                                if binary {
                                    for p in first...q { row[Int(columns[p])] += 1 }
                                } else {
                                    let wi = Double(values[q])
                                    for p in first...q { row[Int(columns[p])] += wi * Double(values[p]) }
                                }
                            }
                            row[i] += lambda
                            for j in 0...i {
                                out[i * m + j] = Float(row[j])
                                row[j] = 0
                            }
                        }
                    }
                }
            }
        }
    }
}

/// User + system CPU seconds of this process so far (all threads): on a shared machine a
/// steadier measure of work than wall time.
public func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
