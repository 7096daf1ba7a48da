import Testing
@testable import RecCore
@testable import RecData


@Suite struct RatingMetricsTests {
    @Test func measure_clipsPredictionsToTheScale() throws {
        // scale 1...5; (prediction → clipped, truth, error):
        //   5.7 → 5, 5 →  0
        //   0.5 → 1, 2 → -1
        //   3.5 → 3.5, 3 → +0.5
        //   2   → 2, 4 → -2
        // Σe² = 0 + 1 + 0.25 + 4 = 5.25 → RMSE = sqrt(5.25 / 4) = sqrt(1.3125) ≈ 1.1456439
        // Σ|e| = 0 + 1 + 0.5 + 2 = 3.5  → MAE = 3.5 / 4 = 0.875
        // (Unclipped, Σe² would be 0.49 + 2.25 + 0.25 + 4 = 6.99, MAE 4.7 / 4 = 1.175.)
        let m = try RatingMetrics.measure(predictions: [5.7, 0.5, 3.5, 2], truths: [5, 2, 3, 4], scale: 1...5)
        #expect(m.count == 4)
        #expect(abs(m.rmse - 1.1456439237389600) < 1e-12)
        #expect(abs(m.mae - 0.875) < 1e-12)
    }

    @Test func measure_perfectPredictions_areZero() throws {
        let m = try RatingMetrics.measure(predictions: [1, 3, 5], truths: [1, 3, 5], scale: 1...5)
        #expect(m.rmse == 0 && m.mae == 0 && m.count == 3)
    }

    @Test func measure_whenEmpty_throws() {
        #expect(throws: RecError.self) { try RatingMetrics.measure(predictions: [], truths: [], scale: 1...5) }
    }

    @Test func measure_whenAPredictionIsNaN_throws() {
        #expect(throws: RecError.self) {
            try RatingMetrics.measure(predictions: [3, .nan], truths: [3, 4], scale: 1...5)
        }
        #expect(throws: RecError.self) {
            try RatingMetrics.measure(predictions: [.infinity], truths: [4], scale: 1...5)
        }
    }

    @Test func sums_mergedInParts_equalOnePass() throws {
        // Pairs (p, t): (4, 3) e=1, (2, 4) e=-2 | (6 → 5, 1) e=4.
        // Σe² = 1 + 4 + 16 = 21 → RMSE = sqrt(7); Σ|e| = 7 → MAE = 7/3.
        var first = RatingErrorSums(scale: 1...5)
        try first.add(prediction: 4, truth: 3)
        try first.add(prediction: 2, truth: 4)
        var second = RatingErrorSums(scale: 1...5)
        try second.add(prediction: 6, truth: 1)
        first.merge(second)
        let m = try first.metrics()
        #expect(m.count == 3)
        #expect(abs(m.rmse - 2.6457513110645906) < 1e-12)  // sqrt(7)
        #expect(abs(m.mae - 7.0 / 3.0) < 1e-12)
    }
}
