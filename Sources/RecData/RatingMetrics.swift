import RecCore
/// Rating accuracy over (prediction, truth) pairs: root mean squared error and mean absolute
/// error.
///
/// Definitions, over the `n` pairs measured, with `clip(p) = min(max(p, scale.lowerBound),
/// scale.upperBound)`:
///
/// ```
/// RMSE = sqrt( Σ (clip(p) − t)² / n )
/// MAE  =       Σ |clip(p) − t|  / n
/// ```
///
/// Predictions are clipped to the rating scale first (a model that says 5.7 for a 5-star scale
/// is measured as saying 5). Sums are accumulated in `Double`, pair by pair in the given order.
public struct RatingMetrics: Sendable, Equatable {
    public var rmse: Double
    public var mae: Double
    /// Number of pairs measured.
    public var count: Int

    public init(rmse: Double, mae: Double, count: Int) {
        self.rmse = rmse
        self.mae = mae
        self.count = count
    }

    /// Measures `predictions[i]` against `truths[i]` for every `i`.
    ///
    /// - Parameters:
    ///   - predictions: the model's ratings, one per truth (for a CSR slice: aligned with its
    ///     `values`).
    ///   - truths: the observed ratings.
    ///   - scale: the lowest and highest valid rating; predictions are clipped to it.
    /// - Throws: `RecError(.runtime)` when there are no pairs (no error is defined) or when a
    ///   prediction is not finite.
    /// - Complexity: O(n).
    public static func measure(predictions: [Float], truths: [Float], scale: ClosedRange<Float>) throws -> RatingMetrics {
        precondition(predictions.count == truths.count, "one prediction per truth")
        var sums = RatingErrorSums(scale: scale)
        for (p, t) in zip(predictions, truths) { try sums.add(prediction: p, truth: t) }
        return try sums.metrics()
    }
}

/// Running sums behind `RatingMetrics`, for callers that produce predictions piece by piece
/// (per user chunk, say) and do not want to keep them all.
///
/// Merge partial sums in a fixed order (chunk order) to get the same bits for any number of
/// workers.
public struct RatingErrorSums: Sendable, Equatable {
    public let scale: ClosedRange<Float>
    /// Σ (clip(p) − t)², in Double.
    public private(set) var squared: Double = 0
    /// Σ |clip(p) − t|, in Double.
    public private(set) var absolute: Double = 0
    public private(set) var count = 0

    public init(scale: ClosedRange<Float>) {
        self.scale = scale
    }

    /// Adds one pair; the prediction is clipped to `scale` first.
    /// - Throws: `RecError(.runtime)` when the prediction is not finite.
    public mutating func add(prediction: Float, truth: Float) throws {
        guard prediction.isFinite else {
            throw RecError(.runtime, "a predicted rating is not finite (\(prediction))",
                           hint: "the model diverged: lower the learning rate or check the training loss")
        }
        let clipped = Double(min(max(prediction, scale.lowerBound), scale.upperBound))
        let error = clipped - Double(truth)
        squared += error * error
        absolute += abs(error)
        count += 1
    }

    /// Adds another accumulator's sums to these (same scale).
    public mutating func merge(_ other: RatingErrorSums) {
        precondition(other.scale == scale, "merging sums taken on different rating scales")
        squared += other.squared
        absolute += other.absolute
        count += other.count
    }

    /// RMSE and MAE of the pairs added so far.
    /// - Throws: `RecError(.runtime)` when no pair was added.
    public func metrics() throws -> RatingMetrics {
        guard count > 0 else {
            throw RecError(.runtime, "no (prediction, rating) pairs to measure", hint: "the evaluated slice is empty")
        }
        let n = Double(count)
        return RatingMetrics(rmse: (squared / n).squareRoot(), mae: absolute / n, count: count)
    }
}
