import Foundation
import RecCore
import RecData

/// The item neighbourhood model with baselines (Koren 2008 / 2010, section 2.2; Surprise's
/// `KNNBaseline` with item-based `pearson_baseline` similarities):
///
///     r̂(u, i) = b_ui + Σ_{j ∈ N_k(i; u), s_ij > 0} s_ij (r_uj − b_uj) / Σ_{…} s_ij
///
/// where b_ui = μ + b_u + b_i is the `UserItemBias` baseline, N_k(i; u) the k movies rated by
/// u most similar to i (ties: lower index first), and s_ij the shrunk Pearson-baseline
/// correlation over the users who rated both:
///
///     s_ij = Σ e_ui e_uj / √(Σ e_ui² · Σ e_uj²) · (n_ij − 1) / (n_ij − 1 + shrinkage)
///
/// with e = r − b (all sums over common users), 0 when n_ij < 2. With fewer than `minK`
/// positive neighbours the prediction is the baseline. The similarities are a dense movies ×
/// movies matrix, so the model is for catalogues of thousands of movies (see the rating
/// choice's budget).
public struct ItemKNNBaseline: RatingPredictor {
    public struct Settings: Sendable, Equatable {
        public var k: Int
        public var minK: Int
        public var shrinkage: Double
        public var baseline: UserItemBias.Settings

        public init(k: Int = 40, minK: Int = 1, shrinkage: Double = 100, baseline: UserItemBias.Settings = .init()) {
            self.k = k
            self.minK = minK
            self.shrinkage = shrinkage
            self.baseline = baseline
        }
    }

    public let settings: Settings
    public let baseline: UserItemBias
    /// movies × movies, row-major; the diagonal is 1.
    public let similarity: [Float]

    public init(settings: Settings, baseline: UserItemBias, similarity: [Float]) {
        self.settings = settings
        self.baseline = baseline
        self.similarity = similarity
    }

    public var itemCount: Int { baseline.itemBias.count }

    /// Fits on `train` (rows = users): the baseline, then the similarity rows, movie by movie
    /// in fixed chunks on the workers (each row is summed in Double in the same order whatever
    /// the workers, so any count gives the same bits).
    /// - Complexity: O(Σ_u n_u²) time, O(movies²) memory.
    public static func fit(_ train: CSRMatrix, settings: Settings, parallel: Parallel) -> ItemKNNBaseline {
        let baseline = UserItemBias.fit(train, settings: settings.baseline)
        let residual = residuals(train, baseline)
        let byItem = train.transposed()
        let n = train.cols
        var sim = [Float](repeating: 0, count: n * n)
        sim.withUnsafeMutableBufferPointer { s in
            let dst = SharedPointer(s.baseAddress!)
            parallel.forEachChunk(count: n, chunkSize: 32) { _, range in
                var prods = [Double](repeating: 0, count: n), sqi = prods, sqj = prods
                var freq = [Int32](repeating: 0, count: n)
                for i in range {
                    for t in 0..<n { prods[t] = 0; sqi[t] = 0; sqj[t] = 0; freq[t] = 0 }
                    // The column of i, in user order; each entry's residual via its position in train.
                    for t in byItem.row(i) {
                        let u = Int(byItem.columns[t])
                        let ei = residualOf(train, residual, user: u, item: Int32(i))
                        for k in train.row(u) {
                            let j = Int(train.columns[k]), ej = Double(residual[k])
                            prods[j] += ei * ej
                            sqi[j] += ei * ei
                            sqj[j] += ej * ej
                            freq[j] += 1
                        }
                    }
                    for j in 0..<n {
                        dst[i * n + j] = j == i ? 1 : Float(shrunk(prods[j], sqi[j], sqj[j], Int(freq[j]), settings.shrinkage))
                    }
                }
            }
        }
        return ItemKNNBaseline(settings: settings, baseline: baseline, similarity: sim)
    }

    /// r − b_ui for every train entry, in Double then stored as Float.
    static func residuals(_ train: CSRMatrix, _ b: UserItemBias) -> [Float] {
        var out = [Float](repeating: 0, count: train.nonZeros)
        for u in 0..<train.rows {
            for k in train.row(u) { out[k] = Float(Double(train.values[k]) - Double(b.predict(user: Int32(u), item: train.columns[k]))) }
        }
        return out
    }

    /// The residual of (user, item), found in the user's sorted row.
    static func residualOf(_ train: CSRMatrix, _ residual: [Float], user u: Int, item: Int32) -> Double {
        let span = train.row(u)
        var lo = span.lowerBound, hi = span.upperBound
        while lo < hi {
            let mid = (lo + hi) / 2
            if train.columns[mid] < item { lo = mid + 1 } else { hi = mid }
        }
        return Double(residual[lo])
    }

    /// The shrunk Pearson-baseline correlation from its sums (0 below two common users or
    /// with a zero variance).
    static func shrunk(_ prods: Double, _ sqi: Double, _ sqj: Double, _ n: Int, _ shrinkage: Double) -> Double {
        guard n >= 2, sqi > 0, sqj > 0 else { return 0 }
        return prods / (sqi * sqj).squareRoot() * Double(n - 1) / (Double(n - 1) + shrinkage)
    }

    /// Predictions at `queries`, the neighbours taken from each user's row of `train` (the
    /// ratings known at prediction time) with their baseline residuals. Users and movies
    /// outside the fit get the baseline.
    public func predict(train: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float] {
        var out = [Float](repeating: 0, count: queries.nonZeros)
        let n = itemCount
        out.withUnsafeMutableBufferPointer { o in
            let dst = SharedPointer(o.baseAddress!)
            parallel.forEachChunk(count: queries.rows, chunkSize: 64) { _, range in
                var residual: [Double] = [], top: [(sim: Float, index: Int32, residual: Double)] = []
                for u in range where !queries.row(u).isEmpty {
                    let rated = u < train.rows && train.cols == n ? train.row(u) : 0..<0
                    // The user's residuals once, for every query of the user.
                    residual.removeAll(keepingCapacity: true)
                    for k in rated { residual.append(Double(train.values[k]) - Double(baseline.predict(user: Int32(u), item: train.columns[k]))) }
                    for t in queries.row(u) {
                        let i = Int(queries.columns[t])
                        let base = baseline.predict(user: Int32(u), item: Int32(i))
                        guard i < n else { dst[t] = base; continue }
                        similarity.withUnsafeBufferPointer { s in
                            let row = s.baseAddress! + i * n
                            Self.selectTop(k: settings.k, into: &top, count: rated.count) { r in
                                let j = train.columns[rated.lowerBound + r]
                                return Int(j) == i ? nil : (row[Int(j)], j, residual[r])
                            }
                        }
                        dst[t] = Self.combine(base: base, neighbours: &top, k: settings.k, minK: settings.minK)
                    }
                }
            }
        }
        return out
    }

    /// The k largest candidates by (similarity descending, index ascending), sorted, kept in
    /// `top` by insertion: the same order as sorting all of them and taking the first k.
    static func selectTop(k: Int, into top: inout [(sim: Float, index: Int32, residual: Double)], count: Int,
                          _ candidate: (Int) -> (Float, Int32, Double)?) {
        top.removeAll(keepingCapacity: true)
        func before(_ a: (sim: Float, index: Int32, residual: Double), _ b: (sim: Float, index: Int32, residual: Double)) -> Bool {
            a.sim != b.sim ? a.sim > b.sim : a.index < b.index
        }
        for r in 0..<count {
            guard let c = candidate(r) else { continue }
            let x = (sim: c.0, index: c.1, residual: c.2)
            if top.count == k {
                guard before(x, top[k - 1]) else { continue }
                top.removeLast()
            }
            var at = top.count
            while at > 0, before(x, top[at - 1]) { at -= 1 }
            top.insert(x, at: at)
        }
    }

    /// b_ui plus the similarity-weighted residuals of the k most similar neighbours with a
    /// positive similarity; the baseline with fewer than `minK` of them.
    static func combine(base: Float, neighbours: inout [(sim: Float, index: Int32, residual: Double)], k: Int, minK: Int) -> Float {
        if neighbours.count > k {
            neighbours.sort { $0.sim != $1.sim ? $0.sim > $1.sim : $0.index < $1.index }
        }
        var num = 0.0, den = 0.0, used = 0
        for x in neighbours.prefix(k) where x.sim > 0 {
            num += Double(x.sim) * x.residual
            den += Double(x.sim)
            used += 1
        }
        guard used >= minK, den > 0 else { return base }
        return Float(Double(base) + num / den)
    }
}

extension ItemKNNBaseline {
    /// The plain twin of `fit`: every pair of movies compared over a dense users × movies
    /// table, one at a time. Tests compare the two.
    public static func fitReference(_ train: CSRMatrix, settings: Settings) -> ItemKNNBaseline {
        let baseline = UserItemBias.fit(train, settings: settings.baseline)
        let n = train.cols
        var r = [[Double?]](repeating: [Double?](repeating: nil, count: n), count: train.rows)
        for u in 0..<train.rows {
            for k in train.row(u) {
                r[u][Int(train.columns[k])] = Double(train.values[k]) - Double(baseline.predict(user: Int32(u), item: train.columns[k]))
            }
        }
        var sim = [Float](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                if i == j { sim[i * n + j] = 1; continue }
                var p = 0.0, a = 0.0, b = 0.0, c = 0
                for u in 0..<train.rows {
                    guard let x = r[u][i], let y = r[u][j] else { continue }
                    p += x * y
                    a += x * x
                    b += y * y
                    c += 1
                }
                sim[i * n + j] = Float(shrunk(p, a, b, c, settings.shrinkage))
            }
        }
        return ItemKNNBaseline(settings: settings, baseline: baseline, similarity: sim)
    }
}
