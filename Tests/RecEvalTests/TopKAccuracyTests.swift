import Testing
@testable import RecCore
@testable import RecData
@testable import RecEval


@Suite struct TopKAccuracyTests {
    /// Three users, six movies. Entries as (item, rating, score):
    ///
    /// - user 0: (0,5,0.9) (1,2,0.8) (2,4,0.7) (3,1,0.95) (4,4,0.1) (5,3,0.5)
    ///   ranked by score: 3(r1) 0(r5) 1(r2) 2(r4) 5(r3) 4(r4)
    /// - user 1: no test ratings (not counted)
    /// - user 2: stored as (4,1,0.5) then (1,5,0.5): a tie, which the lower item index (1)
    ///   wins; stored out of order so that a stable sort alone would get it wrong.
    static let test = CSRMatrix(
        rows: 3, cols: 6, rowStart: [0, 6, 6, 8],
        columns: [0, 1, 2, 3, 4, 5, 4, 1],
        values: [5, 2, 4, 1, 4, 3, 1, 5])
    static let scores: [Float] = [0.9, 0.8, 0.7, 0.95, 0.1, 0.5, 0.5, 0.5]

    @Test func measure_atFiveAndTen_matchesHandComputation() throws {
        // user 0, k=5: top 5 = 3,0,1,2,5 → rated >= 4: items 0, 2 → 2/5 = 0.4
        // user 0, k=10: only 6 test items → k' = 6, all of them → items 0, 2, 4 → 3/6 = 0.5
        // user 2, k=5 and k=10: k' = 2 → ratings 5 and 1 → 1/2 = 0.5
        // mean over users 0 and 2: @5 = (0.4 + 0.5) / 2 = 0.45, @10 = (0.5 + 0.5) / 2 = 0.5
        let a = try TopKAccuracy.measure(test: Self.test, scores: Self.scores, parallel: Parallel(workers: 1))
        #expect(a.usersEvaluated == 2)
        #expect(abs(a.values[5]! - 0.45) < 1e-12)
        #expect(abs(a.values[10]! - 0.5) < 1e-12)
        #expect(a.values.count == 2)
    }

    @Test func measure_tieIsBrokenByLowerItemIndex() throws {
        // k=1: user 0 → item 3 (rating 1) → 0; user 2 → tie at 0.5 won by item 1 (rating 5) → 1.
        // mean = (0 + 1) / 2 = 0.5 (item 4 winning the tie would give 0).
        let a = try TopKAccuracy.measure(test: Self.test, scores: Self.scores, ks: [1], parallel: Parallel(workers: 1))
        #expect(abs(a.values[1]! - 0.5) < 1e-12)
    }

    @Test func measure_thresholdIsConfigurable() throws {
        // threshold 3, k=5: user 0 top 5 = 3(r1) 0(r5) 1(r2) 2(r4) 5(r3) → 0, 2, 5 → 3/5 = 0.6
        // user 2: ratings 5, 1 → 1/2 = 0.5. Mean = 0.55.
        let a = try TopKAccuracy.measure(test: Self.test, scores: Self.scores, ks: [5], threshold: 3, parallel: Parallel(workers: 1))
        #expect(abs(a.values[5]! - 0.55) < 1e-12)
    }

    @Test func measure_withNoTestRatings_countsNoUser() throws {
        let empty = CSRMatrix(rows: 2, cols: 3, rowStart: [0, 0, 0], columns: [], values: [])
        let a = try TopKAccuracy.measure(test: empty, scores: [], parallel: Parallel(workers: 1))
        #expect(a.usersEvaluated == 0)
        #expect(a.values == [5: 0, 10: 0])
    }

    @Test func measure_whenAScoreIsNaN_throws() {
        var scores = Self.scores
        scores[2] = .nan
        #expect(throws: RecError.self) {
            try TopKAccuracy.measure(test: Self.test, scores: scores, parallel: Parallel(workers: 1))
        }
    }

    @Test func measure_isIdenticalForOneAndFourWorkers() throws {
        let test = RandomData.ratings(users: 1500, items: 300, perUser: 1...40, seed: 7)
        var rng = SplitMix64(seed: 11)
        // Coarse scores so that ties happen often.
        let scores = (0..<test.nonZeros).map { _ in Float(rng.below(8)) }
        let one = try TopKAccuracy.measure(test: test, scores: scores, ks: [1, 5, 10], parallel: Parallel(workers: 1))
        let four = try TopKAccuracy.measure(test: test, scores: scores, ks: [1, 5, 10], parallel: Parallel(workers: 4))
        #expect(one == four)
        #expect(one.usersEvaluated == 1500)
    }
}
