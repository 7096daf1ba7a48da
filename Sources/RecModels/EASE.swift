import Foundation
import RecCore
import RecStore
import RecData
import RecKernels

/// EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): an item–item
/// weight matrix B with a zero diagonal, in closed form.
///
/// With X the binary user × item train matrix (1 where rated),
///
///     G = XᵀX + λI,   P = G⁻¹,   B_ij = −P_ij / P_jj (i ≠ j),   B_jj = 0,
///
/// and a user's scores are x_u · B, the sum of B's rows at the items the user rated.
///
/// Two solvers (`Solver`): `exact` computes G and P in Double over every item with LAPACK on
/// one thread (O(n²) Double memory, O(n³) time on one core); `blocked` restricts B to the
/// `maxItems` most-rated items (the *covered* items) and inverts in Float by tiles on every
/// worker (`TiledInverse`). Items outside the cover are scored −infinity: they are never
/// recommended, and ratings of them are not used as input. B is stored as Float, covered ×
/// covered.
public struct EASE: ItemScorer {
    /// What X holds for a rated item: 1 (`binary`) or rating / highest rating (`rating`).
    public typealias Weighting = EASESettings.Weighting

    /// How B is solved for.
    public enum Solver: Sendable, Equatable {
        /// Double precision over every item, LAPACK on one thread: the reference.
        case exact
        /// Float tiles on every worker, over the `maxItems` most-rated items.
        case blocked(maxItems: Int)
        /// `exact` while the items with a rating are at most `EASE.exactItemLimit`, so small
        /// catalogues (ML-1M's 3,706 movies) keep the reference result; `blocked` above.
        case auto(maxItems: Int)

        /// The solver `auto` resolves to for a train matrix with `ratedItems` rated items.
        public func resolved(ratedItems: Int) -> Solver {
            guard case .auto(let maxItems) = self else { return self }
            return ratedItems <= EASE.exactItemLimit ? .exact : .blocked(maxItems: maxItems)
        }
    }

    /// Largest number of rated items for which `auto` uses the exact solver, so that small
    /// catalogues keep the reference result bit for bit. The exact solve costs n³ time and
    /// 12 n² bytes; above this the blocked solver gives the same lists' quality in a small
    /// part of the time (`rec-bench --ease-matrices`; docs/performance.md, "Figures behind the
    /// code").
    static let exactItemLimit = 5000

    /// Items in the catalogue (the width of a score row).
    public let itemCount: Int
    /// The items B covers, ascending: every item for the exact solver, the most-rated ones for
    /// the blocked one.
    public let covered: [Int32]
    public let weighting: Weighting
    /// The highest rating (divides ratings under `.rating`).
    public let ratingMax: Float
    /// The ridge penalty λ the model was fitted with.
    public let lambda: Double
    /// B, covered × covered, row-major; row i holds what rating covered item i adds to each
    /// covered item.
    public let weights: [Float]
    /// For each catalogue item, its index in `covered`, or −1.
    let position: [Int32]

    /// - Parameter covered: the items B covers, ascending; nil = every item.
    public init(itemCount: Int, lambda: Double, weights: [Float], weighting: Weighting = .binary, ratingMax: Float = 5,
                covered: [Int32]? = nil) {
        let covered = covered ?? (0..<Int32(itemCount)).map { $0 }
        precondition(weights.count == covered.count * covered.count, "weights must be covered × covered")
        self.weighting = weighting
        self.ratingMax = ratingMax
        self.itemCount = itemCount
        self.covered = covered
        self.lambda = lambda
        self.weights = weights
        var position = [Int32](repeating: -1, count: itemCount)
        for (k, i) in covered.enumerated() { position[Int(i)] = Int32(k) }
        self.position = position
    }

    /// Whether B covers every item (then scores need no mapping).
    public var coversAll: Bool { covered.count == itemCount }

    /// Item rows of G handed out per task by `gram` (rows differ a lot in cost, so small).
    static let gramRowsPerChunk = 16

    /// X's entry for a rating.
    @inline(__always) func x(_ rating: Float) -> Float { weighting == .binary ? 1 : rating / ratingMax }

    /// Fits B on the train matrix (rows = users), X = 1 where rated (`.binary`) or
    /// rating / ratingMax (`.rating`).
    ///
    /// The exact solver is `fit(gram:…)` on this input's G.
    /// - Precondition: λ is one the settings accept (`EASESettings.isValidLambda`).
    /// - Throws: `RecError(.runtime)` when XᵀX + λI is not positive definite.
    /// - Complexity: O(Σ_u n_u² / 2) for G, O(n³) for the inverse (n = items), O(n²) memory
    ///   in Double.
    public static func fit(_ train: CSRMatrix, lambda: Double, weighting: Weighting = .binary, ratingMax: Float = 5,
                           solver: Solver = .exact, parallel: Parallel, log: ((String) -> Void)? = nil) throws -> EASE {
        precondition(EASESettings.isValidLambda(lambda), "EASE λ \(lambda) is not one the settings accept")
        switch solver.resolved(ratedItems: train.cols - train.emptyColumns().count) {
        case .blocked(let maxItems), .auto(let maxItems):
            return try fitBlocked(train, lambda: lambda, weighting: weighting, ratingMax: ratingMax, maxItems: maxItems,
                                  parallel: parallel, log: log)
        case .exact:
            break
        }
        return try fit(gram: gram(train, weighting: weighting, ratingMax: ratingMax, parallel: parallel), items: train.cols, lambda: lambda,
                       dropout: nil, weighting: weighting, ratingMax: ratingMax, parallel: parallel)
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
    static func gram(_ x: CSRMatrix, weights w: [Float]? = nil, parallel: Parallel) -> [Double] {
        let n = x.cols
        // For each item, the CSR positions of its entries and the end of their rows.
        let start = CountingSort.starts(of: x.columns, buckets: n)
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
        itemItemMatrix(n, parallel: parallel) { i, j in i == j ? 0 : Float(-p[i * n + j] / p[j * n + j]) }
    }

    /// An n × n Float matrix, row-major, entry (i, j) from `entry`, filled in parallel by
    /// chunks of rows: B from the inverse, for EASE and for DLAE.
    static func itemItemMatrix(_ n: Int, parallel: Parallel, _ entry: @Sendable (Int, Int) -> Float) -> [Float] {
        var b = [Float](repeating: 0, count: n * n)
        guard n > 0 else { return b }
        b.withUnsafeMutableBufferPointer { buffer in
            let out = SharedPointer(buffer.baseAddress!)
            parallel.forEachChunk(count: n, chunkSize: 256) { _, rows in
                for i in rows {
                    for j in 0..<n { out[i * n + j] = entry(i, j) }
                }
            }
        }
        return b
    }

    /// Columns of B visited per pass by `scores`: a panel of B of about 4 MB stays in cache
    /// while every user of the chunk gathers from it; 128 columns (1.9 MB for ML-1M) at most,
    /// a multiple of 32 (the kernel's widest step), at least 32; wider panels gained nothing
    /// on the synthetic 25M data (docs/performance.md, "Figures behind the code").
    static func scoreColumnsPerPass(rows: Int) -> Int {
        let fit = (4 << 20) / max(1, rows * MemoryLayout<Float>.stride) / 32 * 32
        return min(128, max(32, fit))
    }

    /// Scores = X_chunk · B as a sum of B's rows at each user's rated items
    /// (`Kernels.gatherAccumulate`), one column panel of B at a time; a user's own items score
    /// B_ii = 0 from themselves. Items outside the cover score −infinity, and ratings of them
    /// add nothing.
    ///
    /// The panels keep B's columns in cache: about twice as fast as without them and three
    /// times the dense GEMM of the reference twin on ML-1M (docs/performance.md).
    /// Each score adds the same rows in the same order whatever the panel width.
    /// - Complexity: O(n_u · covered) per user; memory: users × covered floats besides `scores`
    ///   when B does not cover every item.
    public func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        let n = itemCount, m = covered.count
        guard n > 0, !users.isEmpty else { return }
        if coversAll { return scoresOfCovered(users: users, input: input, into: scores) }
        let compact = UnsafeMutablePointer<Float>.allocate(capacity: max(1, users.count * m))
        defer { compact.deallocate() }
        scoresOfCovered(users: users, input: input, into: compact)
        scores.initialize(repeating: -.infinity, count: users.count * n)
        for r in 0..<users.count {
            for (k, i) in covered.enumerated() { scores[r * n + Int(i)] = compact[r * m + k] }
        }
    }

    /// The covered items, when B does not cover every item (`TopK.lists` then scores and
    /// selects over them alone).
    public var scoredItems: [Int32]? { coversAll ? nil : covered }

    public func scoresOfScoredItems(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        scoresOfCovered(users: users, input: input, into: scores)
    }

    /// Scores of the covered items, users.count × covered.count.
    func scoresOfCovered(users: Range<Int>, input: CSRMatrix, into target: UnsafeMutablePointer<Float>) {
        let m = covered.count
        guard !users.isEmpty else { return }
        // Each user's covered entries, as covered indices and coefficients.
        var start = [0], index: [Int32] = [], coefficient: [Float] = []
        for u in users {
            for k in input.row(u) where position[Int(input.columns[k])] >= 0 {
                index.append(position[Int(input.columns[k])])
                coefficient.append(weighting == .binary ? 1 : x(input.values[k]))
            }
            start.append(index.count)
        }
        target.initialize(repeating: 0, count: users.count * m)
        guard m > 0, !index.isEmpty else { return }
        weights.withUnsafeBufferPointer { b in
            index.withUnsafeBufferPointer { columns in
                coefficient.withUnsafeBufferPointer { c in
                    let panel = EASE.scoreColumnsPerPass(rows: m)
                    for j in stride(from: 0, to: m, by: panel) {
                        let width = min(panel, m - j)
                        for r in 0..<users.count where start[r + 1] > start[r] {
                            Kernels.gatherAccumulate(
                                out: target + r * m + j, d: width, rows: b.baseAddress! + j, stride: m,
                                index: columns.baseAddress! + start[r], coeff: c.baseAddress! + start[r], count: start[r + 1] - start[r])
                        }
                    }
                }
            }
        }
    }

    /// The same scores as one dense GEMM: X_chunk (users × items, 0/1) · B. The reference twin
    /// of `scores`, for tests.
    /// - Complexity: O(users · itemCount²).
    package func scoresDense(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        let n = itemCount
        guard n > 0, !users.isEmpty else { return }
        precondition(coversAll, "scoresDense needs a model that covers every item")
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
        b.meta["type"] = .string(RankingModelConfig.Kind.ease.rawValue)
        b.meta["lambda"] = .double(lambda)
        b.meta["items"] = .int(itemCount)
        b.meta["weighting"] = .string(weighting.rawValue)
        b.meta["ratingMax"] = .double(Double(ratingMax))
        b.meta["coveredItems"] = .int(covered.count)
        b.add("B", weights)
        if !coversAll { b.add("covered", covered) }
        try b.write(to: path, parallel: parallel, level: 1)
    }

    /// Reads a model written by `write`, checking its type, shape and that B is finite.
    /// - Returns: the model and the artefact (for the caller's own meta).
    public static func read(_ path: String, parallel: Parallel) throws -> (EASE, Artefact) {
        let a = try Artefact.read(path, expecting: .model)
        let fail = { (what: String) in RecError(.artefact, what, file: path, hint: "rerun rec-train") }
        guard a.meta("type")?.stringValue == RankingModelConfig.Kind.ease.rawValue else {
            throw fail("is a '\(a.meta("type")?.stringValue ?? "?")' model, expected 'ease'")
        }
        guard let n = a.meta("items")?.intValue, n >= 0, let lambda = a.meta("lambda")?.doubleValue else {
            throw fail("EASE model has no item count or lambda")
        }
        let (covered, b) = try readWeights(a, items: n, parallel: parallel, what: "EASE", fail: fail)
        guard let weighting = Weighting(rawValue: a.meta("weighting")?.stringValue ?? "binary"),
              case let ratingMax = a.meta("ratingMax")?.doubleValue ?? 5, ratingMax > 0 else {
            throw fail("EASE model has an unknown weighting")
        }
        return (EASE(itemCount: n, lambda: lambda, weights: b, weighting: weighting, ratingMax: Float(ratingMax), covered: covered), a)
    }

    /// One model's cover and B from an artefact (sections `covered` and `B`, each name followed
    /// by `suffix`), checked against `n` movies: the cover ascending indices below n, B square
    /// over the cover (or every movie) and finite. `what` starts each message.
    static func readWeights(
        _ a: Artefact, suffix: String = "", items n: Int, parallel: Parallel, what: String, fail: (String) -> RecError
    ) throws -> (covered: [Int32]?, weights: [Float]) {
        let covered: [Int32]? = a.has("covered" + suffix) ? try a.array("covered" + suffix, as: Int32.self) : nil
        if let covered {
            guard covered.count <= n, zip(covered, covered.dropFirst()).allSatisfy({ $0 < $1 }),
                  covered.allSatisfy({ $0 >= 0 && Int($0) < n }) else {
                throw fail("\(what) covered items are not ascending indices below \(n)")
            }
        }
        let m = covered?.count ?? n
        let b = try a.array("B" + suffix, as: Float.self, parallel: parallel)
        let (cells, overflow) = m.multipliedReportingOverflow(by: m)
        guard !overflow, b.count == cells else { throw fail("\(what) weights hold \(b.count) values, expected \(m) × \(m)") }
        guard b.allSatisfy(\.isFinite) else { throw fail("\(what) weights hold non-finite values") }
        return (covered, b)
    }
}
