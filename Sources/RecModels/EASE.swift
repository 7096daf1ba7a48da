import RecKernels
import RecKit

/// EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): an item–item
/// weight matrix B with a zero diagonal, in closed form.
///
/// With X the binary user × item train matrix (1 where rated),
///
///     G = XᵀX + λI,   P = G⁻¹,   B_ij = −P_ij / P_jj (i ≠ j),   B_jj = 0,
///
/// and a user's scores are x_u · B, the sum of B's rows at the items the user rated. G and P
/// are computed in Double; B is stored as Float.
public struct EASE: ItemScorer {
    /// What X holds for a rated item.
    public enum Weighting: String, Sendable, Codable {
        /// 1 for every rated item (Steck's EASE).
        case binary
        /// rating / highest rating: a liked movie weighs more than one the user disliked.
        case rating
    }

    public let itemCount: Int
    public let weighting: Weighting
    /// The highest rating (divides ratings under `.rating`).
    public let ratingMax: Float
    /// The ridge penalty λ the model was fitted with.
    public let lambda: Double
    /// B, itemCount × itemCount, row-major; row i holds what rating item i adds to each item.
    public let weights: [Float]

    public init(itemCount: Int, lambda: Double, weights: [Float], weighting: Weighting = .binary, ratingMax: Float = 5) {
        self.weighting = weighting
        self.ratingMax = ratingMax
        precondition(weights.count == itemCount * itemCount, "weights must be itemCount × itemCount")
        self.itemCount = itemCount
        self.lambda = lambda
        self.weights = weights
    }

    /// Item rows of G handed out per task by `gram` (rows differ a lot in cost, so small).
    static let gramRowsPerChunk = 16

    /// X's entry for a rating.
    @inline(__always) func x(_ rating: Float) -> Float { weighting == .binary ? 1 : rating / ratingMax }

    /// Fits B on the train matrix (rows = users), X = 1 where rated (`.binary`) or
    /// rating / ratingMax (`.rating`).
    ///
    /// The inverse always runs on one OpenBLAS thread: with two, OpenBLAS splits the Cholesky
    /// work differently and B's last bits change, which would make the model depend on the
    /// worker count (and two threads were no faster on ML-1M). OpenBLAS is left at
    /// `parallel.workers` threads afterwards.
    /// - Throws: `RecError(.config)` for a λ that is negative or not finite,
    ///   `RecError(.runtime)` when XᵀX + λI is not positive definite (λ = 0 with an item no
    ///   user rated, say).
    /// - Complexity: O(Σ_u n_u² / 2) for G, O(n³) for the inverse (n = items), O(n²) memory
    ///   in Double.
    public static func fit(_ train: CSRMatrix, lambda: Double, weighting: Weighting = .binary, ratingMax: Float = 5,
                           parallel: Parallel) throws -> EASE {
        guard lambda.isFinite, lambda >= 0 else {
            throw RecError(.config, "EASE lambda must be a finite number >= 0, got \(lambda)")
        }
        let n = train.cols
        let shape = EASE(itemCount: 0, lambda: lambda, weights: [], weighting: weighting, ratingMax: ratingMax)
        var g = gram(train, weights: weighting == .binary ? nil : train.values.map(shape.x), parallel: parallel)
        for i in 0..<n { g[i * n + i] += lambda }
        let ok = n == 0 || BLAS.withThreads(1) { g.withUnsafeMutableBufferPointer { BLAS.invertSPD($0.baseAddress!, n: n) } }
        guard ok else {
            throw RecError(.runtime, "EASE: XᵀX + λI is not positive definite (λ = \(lambda))", hint: "use a larger lambda")
        }
        return EASE(itemCount: n, lambda: lambda, weights: weights(fromInverse: g, n: n, parallel: parallel),
                    weighting: weighting, ratingMax: ratingMax)
    }

    /// G = XᵀX for the binary pattern of `x` (G_ij = number of rows holding both i and j), or
    /// with `weights` (one per entry of `x`), G_ij = Σ_rows w_ri · w_rj.
    ///
    /// Never forms a dense X. Each task owns a few rows of G: for item i, every row of X that
    /// holds i adds 1 at its items ≥ i (rows are sorted, so that is the tail of the row from
    /// i on); the lower triangle is mirrored afterwards. Counts are exact in Double, so the
    /// result does not depend on the order of the additions or on the worker count; weighted
    /// sums run in the same row order for any worker count.
    /// - Returns: x.cols × x.cols, row-major, both triangles.
    /// - Complexity: O(Σ_rows n_r² / 2 + cols²).
    public static func gram(_ x: CSRMatrix, weights w: [Float]? = nil, parallel: Parallel) -> [Double] {
        let n = x.cols
        // For each item, the CSR positions of its entries and the end of their rows.
        var start = [Int](repeating: 0, count: n + 1)
        for c in x.columns { start[Int(c) + 1] += 1 }
        for c in 0..<n { start[c + 1] += start[c] }
        var fill = start
        var tailStart = [Int](repeating: 0, count: x.nonZeros)
        var tailEnd = [Int](repeating: 0, count: x.nonZeros)
        for u in 0..<x.rows {
            let row = x.row(u)
            for k in row {
                let c = Int(x.columns[k])
                tailStart[fill[c]] = k
                tailEnd[fill[c]] = row.upperBound
                fill[c] += 1
            }
        }
        var g = [Double](repeating: 0, count: n * n)
        guard n > 0 else { return g }
        g.withUnsafeMutableBufferPointer { buffer in
            let out = SharedPointer(buffer.baseAddress!)
            x.columns.withUnsafeBufferPointer { columns in
                parallel.forEachChunk(count: n, chunkSize: gramRowsPerChunk) { _, items in
                    for i in items {
                        let row = out.base + i * n
                        for e in start[i]..<start[i + 1] {
                            if let w {
                                let wi = Double(w[tailStart[e]])
                                for q in tailStart[e]..<tailEnd[e] { row[Int(columns[q])] += wi * Double(w[q]) }
                            } else {
                                for q in tailStart[e]..<tailEnd[e] { row[Int(columns[q])] += 1 }
                            }
                        }
                    }
                }
            }
            parallel.forEachChunk(count: n, chunkSize: 256) { _, rows in
                for j in rows {
                    for i in 0..<j { out[j * n + i] = out[i * n + j] }
                }
            }
        }
        return g
    }

    /// B_ij = −P_ij / P_jj off the diagonal, 0 on it, rounded to Float.
    static func weights(fromInverse p: [Double], n: Int, parallel: Parallel) -> [Float] {
        var b = [Float](repeating: 0, count: n * n)
        guard n > 0 else { return b }
        b.withUnsafeMutableBufferPointer { buffer in
            let out = SharedPointer(buffer.baseAddress!)
            parallel.forEachChunk(count: n, chunkSize: 256) { _, rows in
                for i in rows {
                    for j in 0..<n where j != i { out[i * n + j] = Float(-p[i * n + j] / p[j * n + j]) }
                }
            }
        }
        return b
    }

    /// Columns of B visited per pass by `scores`: a 128-column panel of B (1.9 MB for ML-1M)
    /// stays in cache while every user of the chunk gathers from it.
    static let scoreColumnsPerPass = 128

    /// Scores = X_chunk · B as a sum of B's rows at each user's rated items
    /// (`Kernels.gatherAccumulate` with coefficient 1), one column panel of B at a time; a
    /// user's own items score B_ii = 0 from themselves.
    ///
    /// On ML-1M (3706 items, 6040 users, one thread) it takes about 0.54 s for all users,
    /// against 1.0 s without the panels and 1.8 s for the dense GEMM of `scoresDense`, its
    /// reference twin.
    /// Each score adds the same rows in the same order whatever the panel width.
    /// - Complexity: O(n_u · itemCount) per user.
    public func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        let n = itemCount
        scores.initialize(repeating: 0, count: users.count * n)
        let longest = users.map { input.row($0).count }.max() ?? 0
        guard n > 0, longest > 0 else { return }
        let coefficients = weighting == .binary ? [Float](repeating: 1, count: longest) : input.values.map(x)
        weights.withUnsafeBufferPointer { b in
            input.columns.withUnsafeBufferPointer { columns in
                coefficients.withUnsafeBufferPointer { one in
                    for j in stride(from: 0, to: n, by: EASE.scoreColumnsPerPass) {
                        let width = min(EASE.scoreColumnsPerPass, n - j)
                        for u in users {
                            let row = input.row(u)
                            Kernels.gatherAccumulate(
                                out: scores + (u - users.lowerBound) * n + j, d: width, rows: b.baseAddress! + j, stride: n,
                                index: columns.baseAddress! + row.lowerBound,
                                coeff: one.baseAddress! + (weighting == .binary ? 0 : row.lowerBound), count: row.count)
                        }
                    }
                }
            }
        }
    }

    /// The same scores as one dense GEMM: X_chunk (users × items, 0/1) · B. The reference twin
    /// of `scores`, kept for tests and the benchmark.
    /// - Complexity: O(users · itemCount²).
    public func scoresDense(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        let n = itemCount
        guard n > 0, !users.isEmpty else { return }
        var x = [Float](repeating: 0, count: users.count * n)
        for u in users {
            for k in input.row(u) { x[(u - users.lowerBound) * n + Int(input.columns[k])] = self.x(input.values[k]) }
        }
        x.withUnsafeBufferPointer { a in
            weights.withUnsafeBufferPointer { b in
                BLAS.gemm(m: users.count, n: n, k: n, a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n,
                          c: scores, ldc: n)
            }
        }
    }

    /// Writes the model as a `model` artefact: section `B`, meta `type` = "ease", `lambda`,
    /// `items`, plus the caller's `meta`. Stored at zstd level 1 (Float weights hardly
    /// compress).
    public func write(to path: String, meta: [String: JSONValue], parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .model)
        b.meta = meta
        b.meta["type"] = .string("ease")
        b.meta["lambda"] = .double(lambda)
        b.meta["items"] = .int(itemCount)
        b.meta["weighting"] = .string(weighting.rawValue)
        b.meta["ratingMax"] = .double(Double(ratingMax))
        b.add("B", weights)
        try b.write(to: path, parallel: parallel, level: 1)
    }

    /// Reads a model written by `write`, checking its type, shape and that B is finite.
    /// - Returns: the model and the artefact (for the caller's own meta).
    public static func read(_ path: String, parallel: Parallel) throws -> (EASE, Artefact) {
        let a = try Artefact.read(path, expecting: .model)
        let fail = { (what: String) in RecError(.artefact, what, file: path, hint: "rerun rec-train") }
        guard a.meta("type")?.stringValue == "ease" else {
            throw fail("is a '\(a.meta("type")?.stringValue ?? "?")' model, expected 'ease'")
        }
        guard let n = a.meta("items")?.intValue, n >= 0, let lambda = a.meta("lambda")?.doubleValue else {
            throw fail("EASE model has no item count or lambda")
        }
        let b = try a.array("B", as: Float.self, parallel: parallel)
        guard b.count == n * n else { throw fail("EASE weights hold \(b.count) values, expected \(n) × \(n)") }
        guard b.allSatisfy(\.isFinite) else { throw fail("EASE weights hold non-finite values") }
        guard let weighting = Weighting(rawValue: a.meta("weighting")?.stringValue ?? "binary"),
              case let ratingMax = a.meta("ratingMax")?.doubleValue ?? 5, ratingMax > 0 else {
            throw fail("EASE model has an unknown weighting")
        }
        return (EASE(itemCount: n, lambda: lambda, weights: b, weighting: weighting, ratingMax: Float(ratingMax)), a)
    }
}
