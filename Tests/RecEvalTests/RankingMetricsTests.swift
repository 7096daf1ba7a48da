import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecEval


@Suite struct RankingMetricsTests {
    /// Four users, eight movies, k = 3, relevant = test rating >= 4.
    ///
    /// | user | test (item:rating)          | relevant     | list        |
    /// |------|-----------------------------|--------------|-------------|
    /// | 0    | 0:5 1:4 2:2 3:5 7:4         | {0, 1, 3, 7} | 1, 5, 3     |
    /// | 1    | 2:3 4:1                     | {} excluded  | 2, 4, 6     |
    /// | 2    | 6:4                         | {6}          | 0, 6, -1    |
    /// | 3    | 5:5 7:4                     | {5, 7}       | 1, -1, -1   |
    static let test = CSRMatrix(
        rows: 4, cols: 8, rowStart: [0, 5, 7, 8, 10],
        columns: [0, 1, 2, 3, 7, 2, 4, 6, 5, 7],
        values: [5, 4, 2, 5, 4, 3, 1, 4, 5, 4])
    static let lists: TopKLists = {
        let items: [Int32] = [1, 5, 3, 2, 4, 6, 0, 6, -1, 1, -1, -1]
        let zeros = [Float](repeating: 0, count: items.count)
        return TopKLists(k: 3, items: items, scores: zeros, predictedRatings: zeros,
                         ids: IdMaps(userIds: [10, 11, 12, 13], itemIds: (1...8).map { $0 }))
    }()

    @Test func measure_atThree_matchesHandComputation() throws {
        let m = try RankingMetrics.measure(lists: Self.lists, test: Self.test, trainItemCount: 8, parallel: Parallel(workers: 1))
        // Users counted: 0, 2, 3 (user 1 has no relevant movie).
        #expect(m.usersEvaluated == 3)
        #expect(m.k == 3)
        // user 0: hits at ranks 1 (item 1) and 3 (item 3) → P = 2/3
        // user 2: hit at rank 2 (item 6); padding still counts in k → P = 1/3
        // user 3: no hit → P = 0.           precision = (2/3 + 1/3 + 0) / 3 = 1/3
        #expect(abs(m.precision - 1.0 / 3.0) < 1e-12)
        // recall = hits / |relevant| (not min(k, |relevant|)): user 0 → 2/4, user 2 → 1/1, user 3 → 0
        // recall = (0.5 + 1 + 0) / 3 = 0.5   (with min(k, |relevant|) user 0 would get 2/3)
        #expect(abs(m.recall - 0.5) < 1e-12)
        // NDCG, discount 1/log2(rank + 1): log2(2) = 1, log2(3) ≈ 1.5849625, log2(4) = 2
        // user 0: DCG = 1/1 + 1/2 = 1.5; IDCG over min(3, 4) = 3 ranks = 1 + 1/1.5849625 + 1/2
        //         = 1 + 0.6309298 + 0.5 = 2.1309298 → NDCG = 1.5 / 2.1309298 ≈ 0.7039181
        // user 2: DCG = 1/log2(3) = 0.6309298; IDCG over min(3, 1) = 1 rank = 1 → 0.6309298
        // user 3: 0.               ndcg = (0.7039181 + 0.6309298 + 0) / 3 ≈ 0.4449493
        #expect(abs(m.ndcg - (1.5 / (1 + 1 / log2(3.0) + 0.5) + 1 / log2(3.0) + 0) / 3) < 1e-12)
        #expect(abs(m.ndcg - 0.4449493) < 1e-7)
        // hit rate: users 0 and 2 have a hit → 2/3
        #expect(abs(m.hitRate - 2.0 / 3.0) < 1e-12)
        // MRR: user 0 first hit at rank 1 → 1; user 2 at rank 2 → 1/2; user 3 → 0. (1.5) / 3 = 0.5
        #expect(abs(m.mrr - 0.5) < 1e-12)
        // coverage: every user's list, user 1 included: {1,5,3} ∪ {2,4,6} ∪ {0,6} ∪ {1}
        // = {0,1,2,3,4,5,6} → 7 distinct / 8 train items = 0.875
        #expect(m.coverage == 0.875)
    }

    @Test func measure_atSmallerK_usesOnlyTheFirstPositions() throws {
        // k = 1: user 0 → item 1 relevant: P 1, R 1/4, NDCG 1/1 (IDCG over min(1,4) = 1 rank), RR 1
        //        user 2 → item 0 not relevant; user 3 → item 1 not relevant: all zeros.
        // precision = 1/3, recall = 0.25/3 = 1/12, ndcg = 1/3, hitRate = 1/3, mrr = 1/3
        // coverage: first positions {1, 2, 0, 1} → {0, 1, 2} → 3/8 = 0.375
        let m = try RankingMetrics.measure(lists: Self.lists, test: Self.test, k: 1, trainItemCount: 8, parallel: Parallel(workers: 1))
        #expect(m.k == 1 && m.usersEvaluated == 3)
        #expect(abs(m.precision - 1.0 / 3.0) < 1e-12)
        #expect(abs(m.recall - 1.0 / 12.0) < 1e-12)
        #expect(abs(m.ndcg - 1.0 / 3.0) < 1e-12)
        #expect(abs(m.hitRate - 1.0 / 3.0) < 1e-12)
        #expect(abs(m.mrr - 1.0 / 3.0) < 1e-12)
        #expect(m.coverage == 0.375)
    }

    @Test func measure_thresholdIsConfigurable() throws {
        // threshold 3 makes user 1 count: relevant {2} (rating 3), list 2, 4, 6 → hit at rank 1.
        // Users 0, 2, 3 unchanged (no 3-star test rating). 4 users now:
        // precision = (2/3 + 1/3 + 1/3 + 0) / 4 = (4/3) / 4 = 1/3
        // recall = (0.5 + 1 + 1 + 0) / 4 = 0.625; hitRate = 3/4; mrr = (1 + 1/2 + 1 + 0) / 4 = 0.625
        let m = try RankingMetrics.measure(lists: Self.lists, test: Self.test, trainItemCount: 8, threshold: 3,
                                           parallel: Parallel(workers: 1))
        #expect(m.usersEvaluated == 4)
        #expect(abs(m.precision - 1.0 / 3.0) < 1e-12)
        #expect(abs(m.recall - 0.625) < 1e-12)
        #expect(abs(m.hitRate - 0.75) < 1e-12)
        #expect(abs(m.mrr - 0.625) < 1e-12)
    }

    @Test func measure_withNoRelevantMovie_countsNoUserAndReportsZeros() throws {
        let lowRatings = CSRMatrix(rows: 4, cols: 8, rowStart: [0, 1, 1, 1, 1], columns: [1], values: [2])
        let m = try RankingMetrics.measure(lists: Self.lists, test: lowRatings, trainItemCount: 8, parallel: Parallel(workers: 1))
        #expect(m.usersEvaluated == 0)
        #expect(m.precision == 0 && m.recall == 0 && m.ndcg == 0 && m.hitRate == 0 && m.mrr == 0)
        #expect(m.coverage == 0.875)
    }

    @Test func measure_whenShapesDisagree_throws() {
        let wrong = CSRMatrix(rows: 3, cols: 8, rowStart: [0, 0, 0, 0], columns: [], values: [])
        #expect(throws: RecError.self) {
            try RankingMetrics.measure(lists: Self.lists, test: wrong, trainItemCount: 8, parallel: Parallel(workers: 1))
        }
    }

    @Test func measure_isIdenticalForOneAndFourWorkers() throws {
        let test = RandomData.ratings(users: 1500, items: 200, perUser: 0...30, seed: 3)
        let lists = RandomData.lists(users: 1500, items: 200, k: 10, seed: 5)
        let one = try RankingMetrics.measure(lists: lists, test: test, trainItemCount: 200, parallel: Parallel(workers: 1))
        let four = try RankingMetrics.measure(lists: lists, test: test, trainItemCount: 200, parallel: Parallel(workers: 4))
        #expect(one == four)
        #expect(one.usersEvaluated > 1000)
    }

    @Test func measure_agreesWithAPlainSetBasedReference() throws {
        let test = RandomData.ratings(users: 700, items: 120, perUser: 0...25, seed: 21)
        let lists = RandomData.lists(users: 700, items: 120, k: 8, seed: 22)
        let m = try RankingMetrics.measure(lists: lists, test: test, trainItemCount: 120, parallel: Parallel(workers: 2))

        // The definitions, written out the slow way.
        var sums = [Double](repeating: 0, count: 5), users = 0
        for u in 0..<test.rows {
            let relevant = Set(test.row(u).filter { test.values[$0] >= 4 }.map { test.columns[$0] })
            if relevant.isEmpty { continue }
            users += 1
            let list = Array(lists.items[(u * 8)..<(u * 8 + 8)])
            let hitRanks = list.indices.filter { relevant.contains(list[$0]) }.map { $0 + 1 }
            let idcg = (1...min(8, relevant.count)).reduce(0.0) { $0 + 1 / log2(Double($1) + 1) }
            sums[0] += Double(hitRanks.count) / 8
            sums[1] += Double(hitRanks.count) / Double(relevant.count)
            sums[2] += hitRanks.reduce(0.0) { $0 + 1 / log2(Double($1) + 1) } / idcg
            sums[3] += hitRanks.isEmpty ? 0 : 1
            sums[4] += hitRanks.first.map { 1 / Double($0) } ?? 0
        }
        let distinct = Set(lists.items.filter { $0 >= 0 }).count
        #expect(m.usersEvaluated == users)
        for (value, sum) in zip([m.precision, m.recall, m.ndcg, m.hitRate, m.mrr], sums) {
            #expect(abs(value - sum / Double(users)) < 1e-12)
        }
        #expect(m.coverage == Double(distinct) / 120)
    }
}
