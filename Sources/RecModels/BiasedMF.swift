import Foundation
import RecCore
import RecData
import RecKernels

/// Biased matrix factorisation, r̂(u, i) = μ + b_u + b_i + p_u·q_i (Koren, Bell & Volinsky 2009),
/// fitted by alternating ridge least squares with weighted-λ regularisation (Zhou et al. 2008,
/// ALS-WR).
///
/// Each half-iteration solves every user (then every movie) exactly given the other side:
/// with x_i = [q_i, 1] and y_ui = r_ui − μ − b_i, the user's w_u = [p_u, b_u] solves
///
///     (Σ_i x_i x_iᵀ + diag(λ·n_u, …, λ·n_u, λ_b)) w_u = Σ_i x_i y_ui
///
/// and symmetrically for the movies. One solve depends on one row only, so users (and movies)
/// are split into fixed chunks on any number of workers and give the same bits (unlike SGD,
/// whose result depends on the visiting order). Every iteration solves the movies, then the
/// users: the users' factors are then exactly what `predict` folds in from the same ratings.
public struct BiasedMF: RatingPredictor {
    public struct Settings: Sendable, Equatable {
        public var factors: Int
        /// Ridge penalty of a factor vector, times its number of ratings (ALS-WR).
        public var lambda: Double
        /// Ridge penalty of a bias (not scaled by the ratings).
        public var biasLambda: Double
        public var iterations: Int
        public var seed: UInt64

        public init(factors: Int = 32, lambda: Double = 0.08, biasLambda: Double = 10, iterations: Int = 8, seed: UInt64 = 1) {
            self.factors = factors
            self.lambda = lambda
            self.biasLambda = biasLambda
            self.iterations = iterations
            self.seed = seed
        }
    }

    public let settings: Settings
    public let mean: Float
    /// users × (factors + 1): p_u, then b_u.
    public let userFactors: [Float]
    /// movies × (factors + 1): q_i, then b_i.
    public let itemFactors: [Float]

    public init(settings: Settings, mean: Float, userFactors: [Float], itemFactors: [Float]) {
        self.settings = settings
        self.mean = mean
        self.userFactors = userFactors
        self.itemFactors = itemFactors
    }

    var width: Int { settings.factors + 1 }
    public var userCount: Int { userFactors.count / width }
    public var itemCount: Int { itemFactors.count / width }

    /// Users (and movies) per chunk of a half-iteration.
    static let chunk = 64

    /// Fits on `train` (rows = users).
    /// - Complexity: per iteration O(nonZeros · (f+1)²) for the Gram matrices (BLAS, one
    ///   thread per worker) and O((users + movies) · (f+1)³) for the solves.
    public static func fit(_ train: CSRMatrix, settings: Settings, parallel: Parallel) -> BiasedMF {
        let mean = Float(meanRating(train))
        let byItem = train.transposed()
        var users = initialFactors(count: train.rows, settings: settings)
        var items = [Float](repeating: 0, count: train.cols * (settings.factors + 1))
        for _ in 0..<settings.iterations {
            items = solveSide(byItem, other: users, mean: mean, settings: settings, parallel: parallel)
            users = solveSide(train, other: items, mean: mean, settings: settings, parallel: parallel)
        }
        return BiasedMF(settings: settings, mean: mean, userFactors: users, itemFactors: items)
    }

    /// Small random factors (normal, σ 0.1, seeded), biases 0.
    static func initialFactors(count: Int, settings: Settings) -> [Float] {
        var rng = SplitMix64(seed: settings.seed)
        let w = settings.factors + 1
        var out = [Float](repeating: 0, count: count * w)
        for r in 0..<count {
            for f in 0..<settings.factors { out[r * w + f] = Float(normal(&rng) * 0.1) }
        }
        return out
    }

    static func normal(_ rng: inout SplitMix64) -> Double {
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Every row of `m` solved given the other side's factors (`other`, rows × (f+1) with the
    /// bias last): the rows' [factors, bias].
    static func solveSide(_ m: CSRMatrix, other: [Float], mean: Float, settings: Settings, parallel: Parallel) -> [Float] {
        let w = settings.factors + 1
        var out = [Float](repeating: 0, count: m.rows * w)
        out.withUnsafeMutableBufferPointer { o in
            let dst = SharedPointer(o.baseAddress!)
            BLASThreads.single {
                parallel.forEachChunk(count: m.rows, chunkSize: chunk) { _, range in
                    var solver = RowSolver(width: w)
                    for r in range {
                        solver.solve(m, row: r, other: other, mean: mean, settings: settings, into: dst.base + r * w)
                    }
                }
            }
        }
        return out
    }

    /// Workspace of one worker: a row's gathered features, its Gram matrix and right side.
    struct RowSolver {
        let width: Int
        var x: [Float] = []
        var gram: [Float]
        var a: [Double]
        var b: [Double]

        init(width: Int) {
            self.width = width
            gram = [Float](repeating: 0, count: width * width)
            a = [Double](repeating: 0, count: width * width)
            b = [Double](repeating: 0, count: width)
        }

        /// Solves row `r` of `m` into `dst` (width values); a row with no ratings gets zeros.
        mutating func solve(_ m: CSRMatrix, row r: Int, other: [Float], mean: Float, settings: Settings, into dst: UnsafeMutablePointer<Float>) {
            let span = m.row(r), n = span.count, w = width
            guard n > 0 else {
                dst.update(repeating: 0, count: w)
                return
            }
            if x.count < n * w { x = [Float](repeating: 0, count: n * w) }
            for d in 0..<w { b[d] = 0 }
            for (t, k) in span.enumerated() {
                let o = Int(m.columns[k]) * w
                let y = Double(m.values[k]) - Double(mean) - Double(other[o + w - 1])
                for d in 0..<(w - 1) {
                    x[t * w + d] = other[o + d]
                    b[d] += Double(other[o + d]) * y
                }
                x[t * w + w - 1] = 1
                b[w - 1] += y
            }
            x.withUnsafeBufferPointer { xp in
                gram.withUnsafeMutableBufferPointer { g in
                    BLAS.gemm(transA: true, m: w, n: w, k: n, a: xp.baseAddress!, lda: w, b: xp.baseAddress!, ldb: w, c: g.baseAddress!, ldc: w)
                }
            }
            for t in 0..<(w * w) { a[t] = Double(gram[t]) }
            addRidge(&a, width: w, count: n, settings: settings)
            choleskySolve(&a, &b, n: w)
            for d in 0..<w { dst[d] = Float(b[d]) }
        }
    }

    /// λ·n on the factors' diagonal, λ_b on the bias's.
    static func addRidge(_ a: inout [Double], width w: Int, count n: Int, settings: Settings) {
        for d in 0..<(w - 1) { a[d * w + d] += settings.lambda * Double(n) }
        a[w * w - 1] += settings.biasLambda
    }

    /// Solves A x = b for a symmetric positive-definite A (row-major n×n, overwritten with its
    /// Cholesky factor); x replaces b. The ridge keeps A positive definite.
    static func choleskySolve(_ a: inout [Double], _ b: inout [Double], n: Int) {
        for j in 0..<n {
            var d = a[j * n + j]
            for k in 0..<j { d -= a[j * n + k] * a[j * n + k] }
            let l = max(d, 1e-12).squareRoot()
            a[j * n + j] = l
            for i in (j + 1)..<max(j + 1, n) {
                var s = a[i * n + j]
                for k in 0..<j { s -= a[i * n + k] * a[j * n + k] }
                a[i * n + j] = s / l
            }
        }
        for i in 0..<n {
            var s = b[i]
            for k in 0..<i { s -= a[i * n + k] * b[k] }
            b[i] = s / a[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = b[i]
            for k in (i + 1)..<max(i + 1, n) { s -= a[k * n + i] * b[k] }
            b[i] = s / a[i * n + i]
        }
    }

    /// μ + b_u + b_i + p_u·q_i from the stored factors (0 for an index out of range).
    public func predict(user: Int32, item: Int32) -> Float {
        let w = width, u = Int(user), i = Int(item)
        var p = mean
        let hasU = u >= 0 && u < userCount, hasI = i >= 0 && i < itemCount
        if hasU { p += userFactors[u * w + w - 1] }
        if hasI { p += itemFactors[i * w + w - 1] }
        if hasU && hasI {
            var dot: Float = 0
            for d in 0..<(w - 1) { dot += userFactors[u * w + d] * itemFactors[i * w + d] }
            p += dot
        }
        return p
    }

    /// Predictions at `queries`, each user's factors folded in from the user's row of `train`
    /// (one user half-step against the fitted movies): a user's ratings known at prediction
    /// time count, as they do for the autoencoders. On the ratings it was fitted on, this
    /// gives back the fitted factors.
    public func predict(train: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float] {
        let w = width
        var out = [Float](repeating: 0, count: queries.nonZeros)
        out.withUnsafeMutableBufferPointer { o in
            let dst = SharedPointer(o.baseAddress!)
            BLASThreads.single {
                parallel.forEachChunk(count: queries.rows, chunkSize: Self.chunk) { _, range in
                    var solver = RowSolver(width: w)
                    var user = [Float](repeating: 0, count: w)
                    for u in range where !queries.row(u).isEmpty {
                        if u < train.rows, train.cols == itemCount {
                            user.withUnsafeMutableBufferPointer { solver.solve(train, row: u, other: itemFactors, mean: mean, settings: settings, into: $0.baseAddress!) }
                        } else {
                            for d in 0..<w { user[d] = 0 }
                        }
                        for t in queries.row(u) {
                            let i = Int(queries.columns[t])
                            var p = mean + user[w - 1]
                            if i < itemCount {
                                p += itemFactors[i * w + w - 1]
                                var dot: Float = 0
                                for d in 0..<(w - 1) { dot += user[d] * itemFactors[i * w + d] }
                                p += dot
                            }
                            dst[t] = p
                        }
                    }
                }
            }
        }
        return out
    }
}

extension BiasedMF {
    /// The plain twin of `fit`: the same alternating solves with Gram matrices and right
    /// sides summed in Double by plain loops, solved by Gaussian elimination, one row at a
    /// time on one thread. Tests compare the two.
    public static func fitReference(_ train: CSRMatrix, settings: Settings) -> BiasedMF {
        let mean = Float(meanRating(train))
        let byItem = train.transposed()
        let w = settings.factors + 1
        var users = initialFactors(count: train.rows, settings: settings)
        var items = [Float](repeating: 0, count: train.cols * w)
        func side(_ m: CSRMatrix, _ other: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: m.rows * w)
            for r in 0..<m.rows {
                let span = m.row(r)
                if span.isEmpty { continue }
                var a = [[Double]](repeating: [Double](repeating: 0, count: w), count: w)
                var b = [Double](repeating: 0, count: w)
                for k in span {
                    let o = Int(m.columns[k]) * w
                    var x = (0..<(w - 1)).map { Double(other[o + $0]) }
                    x.append(1)
                    let y = Double(m.values[k]) - Double(mean) - Double(other[o + w - 1])
                    for p in 0..<w {
                        b[p] += x[p] * y
                        for q in 0..<w { a[p][q] += x[p] * x[q] }
                    }
                }
                for d in 0..<(w - 1) { a[d][d] += settings.lambda * Double(span.count) }
                a[w - 1][w - 1] += settings.biasLambda
                let s = gaussianSolve(a, b)
                for d in 0..<w { out[r * w + d] = Float(s[d]) }
            }
            return out
        }
        for _ in 0..<settings.iterations {
            items = side(byItem, users)
            users = side(train, items)
        }
        return BiasedMF(settings: settings, mean: mean, userFactors: users, itemFactors: items)
    }

    /// A x = b by Gaussian elimination with partial pivoting.
    static func gaussianSolve(_ a0: [[Double]], _ b0: [Double]) -> [Double] {
        var a = a0, b = b0
        let n = b.count
        for c in 0..<n {
            let p = (c..<n).max { abs(a[$0][c]) < abs(a[$1][c]) }!
            a.swapAt(c, p)
            b.swapAt(c, p)
            for r in (c + 1)..<max(c + 1, n) {
                let f = a[r][c] / a[c][c]
                for k in c..<n { a[r][k] -= f * a[c][k] }
                b[r] -= f * b[c]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = b[r]
            for k in (r + 1)..<max(r + 1, n) { s -= a[r][k] * x[k] }
            x[r] = s / a[r][r]
        }
        return x
    }
}
