import Foundation
import RecCore
import RecData

/// A rating model made of candidates' predictions: r̂ = intercept + Σ_m w_m · clip(p_m), the
/// candidates' predictions clipped to the rating scale first (as they are measured).
public struct RatingBlend: Sendable, Equatable, Codable {
    public var weights: [Double]
    public var intercept: Double

    public init(weights: [Double], intercept: Double) {
        self.weights = weights
        self.intercept = intercept
    }

    /// One candidate alone.
    public static func single(_ m: Int, of count: Int) -> RatingBlend {
        var w = [Double](repeating: 0, count: count)
        w[m] = 1
        return RatingBlend(weights: w, intercept: 0)
    }

    /// The candidates this blend uses (non-zero weight).
    public var members: [Int] { weights.indices.filter { weights[$0] != 0 } }

    /// The blend of `predictions[m][t]` (each candidate's, aligned), clipped to `scale`.
    public func apply(_ predictions: [[Float]], scale: ClosedRange<Float>) -> [Float] {
        let count = predictions.first(where: { !$0.isEmpty })?.count ?? 0
        var out = [Float](repeating: 0, count: count)
        for t in 0..<count {
            var s = intercept
            for m in weights.indices where weights[m] != 0 {
                s += weights[m] * Double(min(max(predictions[m][t], scale.lowerBound), scale.upperBound))
            }
            out[t] = Float(min(max(s, Double(scale.lowerBound)), Double(scale.upperBound)))
        }
        return out
    }

    /// Least-squares weights and intercept on (clipped) predictions and their truths, with a
    /// ridge penalty `ridge` · n on the weights (not on the intercept): the candidates'
    /// predictions are strongly correlated, and the penalty keeps the weights from growing
    /// into large opposite pairs.
    public static func fit(_ predictions: [[Float]], truths: [Float], scale: ClosedRange<Float>, ridge: Double) -> RatingBlend {
        let m = predictions.count, n = truths.count
        guard m > 0, n > 0 else { return RatingBlend(weights: [Double](repeating: 0, count: m), intercept: 0) }
        let x = predictions.map { p in p.map { Double(min(max($0, scale.lowerBound), scale.upperBound)) } }
        let means = x.map { $0.reduce(0, +) / Double(n) }
        let yMean = truths.reduce(0.0) { $0 + Double($1) } / Double(n)
        var a = [[Double]](repeating: [Double](repeating: 0, count: m), count: m), b = [Double](repeating: 0, count: m)
        for t in 0..<n {
            let y = Double(truths[t]) - yMean
            for p in 0..<m {
                let xp = x[p][t] - means[p]
                b[p] += xp * y
                for q in p..<m { a[p][q] += xp * (x[q][t] - means[q]) }
            }
        }
        for p in 0..<m {
            for q in 0..<p { a[p][q] = a[q][p] }
            a[p][p] += ridge * Double(n)
        }
        let w = BiasedMF.gaussianSolve(a, b)
        guard w.allSatisfy(\.isFinite) else { return RatingBlend(weights: [Double](repeating: 0, count: m), intercept: yMean) }
        let intercept = yMean - zip(w, means).reduce(0) { $0 + $1.0 * $1.1 }
        return RatingBlend(weights: w, intercept: intercept)
    }

    /// What the validation slice chose among candidates.
    public struct Choice: Sendable, Equatable {
        /// Each candidate's RMSE (clipped predictions).
        public var rmse: [Double]
        /// The fitted blend's RMSE, nil when blending was off.
        public var blendRMSE: Double?
        /// The candidate with the lowest RMSE (the first of equals).
        public var best: Int
        /// What is served: the fitted blend when it beats `best`, else `best` alone.
        public var blend: RatingBlend
        public var blended: Bool
        public var chosenRMSE: Double
    }

    /// Chooses on validation predictions: the best candidate, or a blend fitted on the same
    /// predictions when it has a lower RMSE. The result is never worse on these predictions
    /// than the best candidate (it falls back to it).
    public static func choose(
        _ predictions: [[Float]], truths: [Float], scale: ClosedRange<Float>, blend: Bool, ridge: Double
    ) -> Choice {
        let rmse = predictions.map { rmseOf($0, truths, scale) }
        let best = rmse.indices.min { rmse[$0] != rmse[$1] ? rmse[$0] < rmse[$1] : $0 < $1 } ?? 0
        var choice = Choice(rmse: rmse, blendRMSE: nil, best: best, blend: .single(best, of: predictions.count), blended: false,
                            chosenRMSE: rmse.isEmpty ? .nan : rmse[best])
        guard blend, predictions.count > 1 else { return choice }
        let fitted = fit(predictions, truths: truths, scale: scale, ridge: ridge)
        let r = rmseOf(fitted.apply(predictions, scale: scale), truths, scale)
        choice.blendRMSE = r
        if r < rmse[best] {
            choice.blend = fitted
            choice.blended = true
            choice.chosenRMSE = r
        }
        return choice
    }

    /// RMSE of predictions clipped to the scale, summed in Double.
    public static func rmseOf(_ p: [Float], _ truths: [Float], _ scale: ClosedRange<Float>) -> Double {
        guard !truths.isEmpty else { return .nan }
        var s = 0.0
        for t in truths.indices {
            let e = Double(min(max(p[t], scale.lowerBound), scale.upperBound)) - Double(truths[t])
            s += e * e
        }
        return (s / Double(truths.count)).squareRoot()
    }
}

/// A blend of rating predictors (each answering the same queries from the same input).
public struct BlendedRatings: RatingPredictor {
    public let members: [any RatingPredictor]
    public let blend: RatingBlend
    public let scale: ClosedRange<Float>

    public init(members: [any RatingPredictor], blend: RatingBlend, scale: ClosedRange<Float>) {
        precondition(members.count == blend.weights.count, "one weight per member")
        self.members = members
        self.blend = blend
        self.scale = scale
    }

    public func predict(train: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float] {
        // Members with weight 0 answer nothing (a served blend holds only its members' refits).
        let p = members.indices.map { m in
            blend.weights[m] == 0 ? [] : members[m].predict(train: train, queries: queries, parallel: parallel)
        }
        return blend.apply(p, scale: scale)
    }
}
