import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecEval

@Suite struct BeyondAccuracyTests {
    /// A hand-checked case: 4 users, 4 movies rated by 4, 2, 1 and 1 users; one list of two.
    @Test func measure_onAHandCheckedCase() {
        // Users × movies: user 0 rated 0,1,2; user 1 rated 0,1; users 2 and 3 rated 0, 3 (user 3).
        let input = CSRMatrix(rows: 4, cols: 4, rowStart: [0, 3, 5, 6, 8], columns: [0, 1, 2, 0, 1, 0, 0, 3], values: [Float](repeating: 4, count: 8))
        let ids = IdMaps(userIds: [1, 2, 3, 4], itemIds: [10, 20, 30, 40])
        // Only user 2 gets a list: movies 1 (2 of 4 users: 1 bit) and 2 (1 of 4: 2 bits).
        let items: [Int32] = [-1, -1, -1, -1, 1, 2, -1, -1]
        let lists = TopKLists(k: 2, items: items, scores: [Float](repeating: 0, count: 8), predictedRatings: [Float](repeating: 0, count: 8), ids: ids)
        let genres = [["A"], ["A", "B"], ["B", "C"], []]
        let q = BeyondAccuracy.measure(lists: lists, input: input, genres: genres, parallel: Parallel(workers: 1))
        #expect(q.novelty == 1.5)
        // {A, B} against {B, C}: 1 − 1/3.
        #expect(abs(q.intraListDiversity - 2.0 / 3.0) < 1e-12)
        // The top 1 % of 4 rated movies is ⌈0.04⌉ = 1 movie, movie 0: not recommended.
        #expect(q.shortHeadShare == 0)
    }

    /// Against a plain recomputation on random lists, and the same for any worker count.
    @Test(arguments: 0..<5)
    func measure_matchesPlainRecomputation(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        let items = 30 + rng.below(200)
        let input = RandomData.ratings(users: 50, items: items, perUser: 1...25, seed: UInt64(seed))
        let lists = RandomData.lists(users: 50, items: items, k: 7, seed: UInt64(seed + 100))
        let names = ["Action", "Comedy", "Drama", "Horror", "Sci-Fi"]
        let genres = (0..<items).map { _ in names.filter { _ in rng.below(3) == 0 } }
        let q = BeyondAccuracy.measure(lists: lists, input: input, genres: genres, parallel: Parallel(workers: 1))
        #expect(q == BeyondAccuracy.measure(lists: lists, input: input, genres: genres, parallel: Parallel(workers: 3)))

        var raters = [Int](repeating: 0, count: items)
        for c in input.columns { raters[Int(c)] += 1 }
        let rated = (0..<items).filter { raters[$0] > 0 }
        let head = Set(rated.sorted { raters[$0] != raters[$1] ? raters[$0] > raters[$1] : $0 < $1 }.prefix(Int(ceil(Double(rated.count) / 100))))
        let recs = lists.items.filter { $0 >= 0 }.map(Int.init)
        let novelty = recs.map { raters[$0] > 0 ? -log2(Double(raters[$0]) / 50) : 0 }.reduce(0, +) / Double(recs.count)
        #expect(abs(q.novelty - novelty) < 1e-9)
        #expect(q.shortHeadShare == Double(recs.filter(head.contains).count) / Double(recs.count))
        var diversities: [Double] = []
        for u in 0..<50 {
            let list = (0..<7).map { Int(lists.items[u * 7 + $0]) }.filter { $0 >= 0 }
            guard list.count >= 2 else { continue }
            var pairs: [Double] = []
            for (x, a) in list.enumerated() {
                for b in list[(x + 1)...] {
                    let ga = Set(genres[a]), gb = Set(genres[b])
                    pairs.append(ga.union(gb).isEmpty ? 0 : 1 - Double(ga.intersection(gb).count) / Double(ga.union(gb).count))
                }
            }
            diversities.append(pairs.reduce(0, +) / Double(pairs.count))
        }
        #expect(abs(q.intraListDiversity - diversities.reduce(0, +) / Double(diversities.count)) < 1e-9)
    }

    /// The similar lists' hit rate against a plain recomputation.
    @Test(arguments: 0..<5)
    func similarHitRate_matchesPlainRecomputation(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        let items = 20 + rng.below(40), k = 1 + rng.below(5)
        let known = RandomData.ratings(users: 40, items: items, perUser: 1...12, seed: UInt64(seed))
        let test = RandomData.ratings(users: 40, items: items, perUser: 1...5, seed: UInt64(seed + 50))
        let similar = (0..<items * k).map { _ in rng.below(4) == 0 ? Int32(-1) : Int32(rng.below(items)) }
        let h = SimilarHitRate.measure(similar: similar, k: k, known: known, test: test, parallel: Parallel(workers: 2))
        #expect(h == SimilarHitRate.measure(similar: similar, k: k, known: known, test: test, parallel: Parallel(workers: 1)))
        var raters = [Int](repeating: 0, count: items)
        for c in known.columns { raters[Int(c)] += 1 }
        var hits = 0, popularHits = 0, pairs = 0, users = 0, candidates = 0
        for u in 0..<40 {
            let liked = test.row(u).filter { test.values[$0] >= 4 }.map { Int(test.columns[$0]) }
            let seeds = known.row(u).filter { known.values[$0] >= 4 }.map { Int(known.columns[$0]) }
            guard !liked.isEmpty, !seeds.isEmpty else { continue }
            let rated = Set(known.columns[known.row(u)].map(Int.init))
            let reached = Set(seeds.flatMap { s in (0..<k).map { Int(similar[s * k + $0]) } }).filter { $0 >= 0 && !rated.contains($0) }
            let baseline = (0..<items).filter { !rated.contains($0) }
                .sorted { raters[$0] != raters[$1] ? raters[$0] > raters[$1] : $0 < $1 }.prefix(reached.count)
            users += 1
            pairs += liked.count
            candidates += reached.count
            hits += liked.filter(reached.contains).count
            popularHits += liked.filter(baseline.contains).count
        }
        #expect(h.pairs == pairs && h.usersEvaluated == users)
        #expect(h.hitRate == (pairs > 0 ? Double(hits) / Double(pairs) : 0))
        #expect(h.mostPopularHitRate == (pairs > 0 ? Double(popularHits) / Double(pairs) : 0))
        #expect(h.meanCandidates == (users > 0 ? Double(candidates) / Double(users) : 0))
    }
}
