import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

@Suite struct BaselinesTests {
    /// 3 users × 4 items; item 3 has no ratings.
    let train = CSRMatrix(rows: 3, cols: 4, rowStart: [0, 2, 5, 6], columns: [0, 1, 0, 1, 2, 2], values: [5, 3, 4, 2, 1, 4])

    @Test func globalMean_predictsTheMeanEverywhere() {
        let m = GlobalMean.fit(train)
        #expect(m.mean == 19.0 / 6)
        #expect(m.predict(user: 99, item: -1) == m.mean)
        #expect(GlobalMean.fit(CSRMatrix(rows: 0, cols: 0, rowStart: [0], columns: [], values: [])).mean == 0)
    }

    @Test func userItemBias_oneRound_matchesHandComputation() {
        let s = UserItemBias.Settings(lambdaItem: 1, lambdaUser: 2, rounds: 1)
        let m = UserItemBias.fit(train, settings: s)
        let mu = 19.0 / 6
        let bi = [(5 - mu + 4 - mu) / 3, (3 - mu + 2 - mu) / 3, (1 - mu + 4 - mu) / 3, 0]
        let bu = [(5 - mu - bi[0] + 3 - mu - bi[1]) / 4, (4 - mu - bi[0] + 2 - mu - bi[1] + 1 - mu - bi[2]) / 5,
                  (4 - mu - bi[2]) / 3]
        for i in 0..<4 { #expect(abs(Double(m.itemBias[i]) - bi[i]) < 1e-6) }
        for u in 0..<3 { #expect(abs(Double(m.userBias[u]) - bu[u]) < 1e-6) }
    }

    @Test func userItemBias_manyRounds_reachesTheRidgeFixedPoint() {
        let data = randomCSR(rows: 80, cols: 30, density: 0.3, seed: 21)
        let s = UserItemBias.Settings(lambdaItem: 3, lambdaUser: 4, rounds: 300)
        let m = UserItemBias.fit(data, settings: s)
        let mu = Double(m.mean)
        // Stationarity: one more item half-round changes nothing.
        var sum = [Double](repeating: 0, count: 30), n = [Double](repeating: 0, count: 30)
        for u in 0..<80 {
            for k in data.row(u) {
                let i = Int(data.columns[k])
                sum[i] += Double(data.values[k]) - mu - Double(m.userBias[u])
                n[i] += 1
            }
        }
        for i in 0..<30 { #expect(abs(sum[i] / (3 + n[i]) - Double(m.itemBias[i])) < 1e-4) }
    }

    @Test func userItemBias_unseenUsersAndItems_fallBackToKnownBiases() {
        let m = UserItemBias.fit(train)
        #expect(m.itemBias[3] == 0)
        #expect(m.predict(user: 7, item: 3) == m.mean)
        #expect(m.predict(user: -1, item: 0) == m.mean + m.itemBias[0])
        #expect(m.predict(user: 1, item: 40) == m.mean + m.userBias[1])
        #expect(m.predict(user: 1, item: 0) == m.mean + m.userBias[1] + m.itemBias[0])
    }

    @Test func predictBatch_equalsOneByOne() {
        let m = UserItemBias.fit(train)
        let users: [Int32] = [0, 1, 2, 5, -3], items: [Int32] = [3, 2, 0, 1, 9]
        #expect(m.predict(users: users, items: items) == zip(users, items).map { m.predict(user: $0, item: $1) })
    }

    @Test func mostPopular_ranksByCountThenLowerIndex() {
        let data = CSRMatrix(rows: 4, cols: 5, rowStart: [0, 2, 4, 6, 7], columns: [1, 3, 1, 3, 0, 4, 2], values: [1, 1, 1, 1, 1, 1, 1])
        let m = MostPopular.fit(data)
        #expect(m.counts == [1, 2, 1, 2, 1])
        let (items, scores) = TopK.all(scorer: m, input: data, k: 3, parallel: Parallel(workers: 1))
        #expect(Array(items[0..<3]) == [0, 2, 4])
        #expect(Array(items[9..<12]) == [1, 3, 0])
        #expect(Array(scores[9..<12]) == [2, 2, 1])
    }
}
