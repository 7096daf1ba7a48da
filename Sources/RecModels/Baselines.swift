import RecCore
import RecData

/// A rating model that answers one (user, item) pair at a time, from what it learnt in fit.
///
/// Indices are dense (as in `IdMaps`); indices out of range stand for users or items unseen
/// in train, and every predictor must still answer for them.
protocol PairwiseRatingPredictor: RatingPredictor {
    func predict(user: Int32, item: Int32) -> Float
}

extension PairwiseRatingPredictor {
    /// Every query entry, pair by pair (the train rows were used in fit).
    public func predict(train: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float] {
        var out = [Float](repeating: 0, count: queries.nonZeros)
        for u in 0..<queries.rows {
            for t in queries.row(u) { out[t] = predict(user: Int32(u), item: queries.columns[t]) }
        }
        return out
    }

    /// `predict` for each pair `(users[k], items[k])`.
    public func predict(users: [Int32], items: [Int32]) -> [Float] {
        precondition(users.count == items.count, "users and items differ in length")
        return zip(users, items).map { predict(user: $0, item: $1) }
    }
}

/// Predicts the mean train rating for everything.
public struct GlobalMean: PairwiseRatingPredictor {
    public let mean: Float

    public init(mean: Float) { self.mean = mean }

    /// Mean of `train.values` (in Double); 0 for an empty matrix.
    public static func fit(_ train: CSRMatrix) -> GlobalMean {
        GlobalMean(mean: Float(meanRating(train)))
    }

    public func predict(user: Int32, item: Int32) -> Float { mean }
}

func meanRating(_ m: CSRMatrix) -> Double {
    m.values.isEmpty ? 0 : m.values.reduce(0.0) { $0 + Double($1) } / Double(m.values.count)
}

/// The baseline predictor r̂(u, i) = μ + b_u + b_i (Koren 2010, "Factor in the neighbors",
/// section 2.1), fitted by alternating regularised least squares.
///
/// Each round sets every item bias, then every user bias, to its exact ridge solution given
/// the other:
///
///     b_i = Σ_{u rated i} (r_ui − μ − b_u) / (λ_item + n_i)
///     b_u = Σ_{i rated by u} (r_ui − μ − b_i) / (λ_user + n_u)
///
/// starting from b_u = 0. The penalties shrink the biases of users and items with few ratings
/// towards 0; λ_item = 10 and λ_user = 15 are the usual choices for MovieLens (the values of
/// Surprise's `BaselineOnly`), and a handful of rounds converges to a few decimals.
///
/// This is also the pipeline's fallback for users and movies unseen in train: an index out of
/// range, or one with no train ratings, has bias 0, so the prediction falls back to μ plus
/// whichever bias is known.
public struct UserItemBias: PairwiseRatingPredictor {
    public struct Settings: Sendable, Equatable, Codable {
        /// Ridge penalty of the item biases.
        var lambdaItem: Double
        /// Ridge penalty of the user biases.
        var lambdaUser: Double
        /// Alternating rounds (item biases, then user biases).
        public var rounds: Int

        public init(lambdaItem: Double = 10, lambdaUser: Double = 15, rounds: Int = 10) {
            self.lambdaItem = lambdaItem
            self.lambdaUser = lambdaUser
            self.rounds = rounds
        }
    }

    public let mean: Float
    public let userBias: [Float]
    public let itemBias: [Float]

    public init(mean: Float, userBias: [Float], itemBias: [Float]) {
        self.mean = mean
        self.userBias = userBias
        self.itemBias = itemBias
    }

    /// Fits the biases on a train matrix (rows = users, values = ratings).
    ///
    /// Sequential and in Double: one pass over the ratings per half-round, a few milliseconds
    /// on ML-1M, and the same bits on every run.
    /// - Complexity: O(rounds · nonZeros).
    public static func fit(_ train: CSRMatrix, settings: Settings = Settings()) -> UserItemBias {
        let mu = meanRating(train)
        var bu = [Double](repeating: 0, count: train.rows)
        var bi = [Double](repeating: 0, count: train.cols)
        let itemCount = train.columnCounts().map(Double.init)
        for _ in 0..<max(0, settings.rounds) {
            var sum = [Double](repeating: 0, count: train.cols)
            for u in 0..<train.rows {
                for k in train.row(u) { sum[Int(train.columns[k])] += Double(train.values[k]) - mu - bu[u] }
            }
            for i in 0..<train.cols { bi[i] = sum[i] / (settings.lambdaItem + itemCount[i]) }
            for u in 0..<train.rows {
                var s = 0.0
                for k in train.row(u) { s += Double(train.values[k]) - mu - bi[Int(train.columns[k])] }
                bu[u] = s / (settings.lambdaUser + Double(train.row(u).count))
            }
        }
        return UserItemBias(mean: Float(mu), userBias: bu.map { Float($0) }, itemBias: bi.map { Float($0) })
    }

    /// μ + b_u + b_i, with b = 0 for an index out of range.
    public func predict(user: Int32, item: Int32) -> Float {
        let u = Int(user), i = Int(item)
        let bu = u >= 0 && u < userBias.count ? userBias[u] : 0
        let bi = i >= 0 && i < itemBias.count ? itemBias[i] : 0
        return mean + bu + bi
    }

}

/// Ranks items by how many train ratings they have (ties by lower index, as `TopK` breaks
/// them). The same list for every user, minus what the user has seen.
public struct MostPopular: ItemScorer {
    /// Train ratings per item, as Float scores.
    public let counts: [Float]

    public init(counts: [Float]) { self.counts = counts }

    public static func fit(_ train: CSRMatrix) -> MostPopular {
        MostPopular(counts: train.columnCounts().map(Float.init))
    }

    public var itemCount: Int { counts.count }

    /// The same for every user: `TopK.lists` sorts once and walks the order.
    public var sharedScores: [Float]? { counts }

    public func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        guard !counts.isEmpty else { return }
        counts.withUnsafeBufferPointer { c in
            for r in 0..<users.count {
                (scores + r * counts.count).update(from: c.baseAddress!, count: counts.count)
            }
        }
    }
}
