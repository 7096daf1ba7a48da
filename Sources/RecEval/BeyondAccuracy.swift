import Foundation
import RecKit

/// What a list offers besides hits, for the model's and the most-popular baseline's
/// evaluation lists (the first `k` slots, empty slots skipped):
///
/// ```
/// novelty            = mean over recommended (user, movie) of −log2(p_i),
///                      p_i = users who rated movie i / users (in the lists' input)
/// intraListDiversity = mean over users with ≥ 2 recommendations of the mean over pairs of
///                      their movies of the Jaccard distance 1 − |G_i ∩ G_j| / |G_i ∪ G_j|
///                      of the genre sets (0 when both sets are empty)
/// shortHeadShare     = share of recommended (user, movie) whose movie is among the 1 % most
///                      rated movies (⌈1 % of the movies with a rating⌉, ties by lower index)
/// ```
public struct BeyondAccuracy: Codable, Sendable, Equatable {
    /// Mean self-information in bits.
    public var novelty: Double
    public var intraListDiversity: Double
    public var shortHeadShare: Double

    public init(novelty: Double, intraListDiversity: Double, shortHeadShare: Double) {
        self.novelty = novelty
        self.intraListDiversity = intraListDiversity
        self.shortHeadShare = shortHeadShare
    }

    static let chunkSize = 256

    /// - Parameters:
    ///   - input: the ratings the lists were built from (rows = users): the popularity.
    ///   - genres: each dense item's genres.
    public static func measure(lists: TopKLists, input: CSRMatrix, genres: [[String]], parallel: Parallel) -> BeyondAccuracy {
        let k = lists.k
        var raters = [Int](repeating: 0, count: input.cols)
        for c in input.columns { raters[Int(c)] += 1 }
        let users = Double(max(1, input.rows))
        let information = raters.map { $0 > 0 ? -log2(Double($0) / users) : 0 }
        let rated = raters.indices.filter { raters[$0] > 0 }
        let headSize = Int((Double(rated.count) * 0.01).rounded(.up))
        var head = [Bool](repeating: false, count: input.cols)
        for i in rated.sorted(by: { raters[$0] != raters[$1] ? raters[$0] > raters[$1] : $0 < $1 }).prefix(headSize) { head[i] = true }
        // Genres as sorted small integers, for the Jaccard distance.
        var genreIndex: [String: Int] = [:]
        let genreSets = genres.map { g in
            Set(g.map { name -> Int in
                if let i = genreIndex[name] { return i }
                genreIndex[name] = genreIndex.count
                return genreIndex.count - 1
            })
        }
        // Per chunk: (self-information sum, head count, recommendations, diversity sum, users with ≥ 2).
        let parts = parallel.mapChunks(count: lists.ids.userCount, chunkSize: chunkSize) { chunk -> (Double, Int, Int, Double, Int) in
            var info = 0.0, heads = 0, recs = 0, diversity = 0.0, diverse = 0
            for u in chunk {
                let list = (0..<k).map { Int(lists.items[u * k + $0]) }.filter { $0 >= 0 }
                for i in list {
                    info += information[i]
                    heads += head[i] ? 1 : 0
                }
                recs += list.count
                guard list.count >= 2 else { continue }
                var sum = 0.0, pairs = 0
                for a in 0..<list.count {
                    for b in (a + 1)..<list.count {
                        sum += jaccardDistance(genreSets[list[a]], genreSets[list[b]])
                        pairs += 1
                    }
                }
                diversity += sum / Double(pairs)
                diverse += 1
            }
            return (info, heads, recs, diversity, diverse)
        }
        let info = parts.reduce(0.0) { $0 + $1.0 }, heads = parts.reduce(0) { $0 + $1.1 }, recs = parts.reduce(0) { $0 + $1.2 }
        let diversity = parts.reduce(0.0) { $0 + $1.3 }, diverse = parts.reduce(0) { $0 + $1.4 }
        return BeyondAccuracy(novelty: recs > 0 ? info / Double(recs) : 0,
                              intraListDiversity: diverse > 0 ? diversity / Double(diverse) : 0,
                              shortHeadShare: recs > 0 ? Double(heads) / Double(recs) : 0)
    }

    /// 1 − |a ∩ b| / |a ∪ b|; 0 when both are empty.
    public static func jaccardDistance(_ a: Set<Int>, _ b: Set<Int>) -> Double {
        let union = a.union(b).count
        return union == 0 ? 0 : 1 - Double(a.intersection(b).count) / Double(union)
    }
}

/// How good similar-movie lists are, on the held-out test slice: each similar list is judged
/// as a list of k recommendations for every user who liked its movie before the test. For
/// every user with a liked test movie (rated ≥ `threshold`) and every movie the user liked in
/// the lists' input (train + validation), a hit when that movie's similar list (first `k`
/// entries) holds one of the user's liked test movies. hitRate = hits / such (user, liked
/// movie) pairs. Every list is scored on its own, so a model's lists and a baseline's compare
/// list for list.
public struct SimilarHitRate: Codable, Sendable, Equatable {
    public var k: Int
    public var hitRate: Double
    /// (user, movie liked before the test) pairs counted.
    public var pairs: Int
    public var usersEvaluated: Int

    public init(k: Int, hitRate: Double, pairs: Int, usersEvaluated: Int) {
        self.k = k
        self.hitRate = hitRate
        self.pairs = pairs
        self.usersEvaluated = usersEvaluated
    }

    /// - Parameter similar: items × k similar movies, −1 = none.
    public static func measure(similar: [Int32], k: Int, known: CSRMatrix, test: CSRMatrix, threshold: Float = 4,
                               parallel: Parallel) -> SimilarHitRate {
        precondition(similar.count == known.cols * k && known.rows == test.rows)
        let parts = parallel.mapChunks(count: test.rows, chunkSize: 256) { users -> (Int, Int, Int) in
            var hits = 0, pairs = 0, counted = 0
            for u in users {
                let liked = Set(test.row(u).filter { test.values[$0] >= threshold }.map { test.columns[$0] })
                let seeds = known.row(u).filter { known.values[$0] >= threshold }.map { Int(known.columns[$0]) }
                guard !liked.isEmpty, !seeds.isEmpty else { continue }
                for i in seeds where similar[(i * k)..<(i * k + k)].contains(where: liked.contains) { hits += 1 }
                pairs += seeds.count
                counted += 1
            }
            return (hits, pairs, counted)
        }
        let hits = parts.reduce(0) { $0 + $1.0 }, pairs = parts.reduce(0) { $0 + $1.1 }
        return SimilarHitRate(k: k, hitRate: pairs > 0 ? Double(hits) / Double(pairs) : 0, pairs: pairs,
                              usersEvaluated: parts.reduce(0) { $0 + $1.2 })
    }
}

/// The beyond-accuracy figures and the similar lists' quality, beside `ranking` in
/// `metrics.json` (model and most-popular baseline).
public struct ListQuality: Codable, Sendable, Equatable {
    public var model: BeyondAccuracy
    public var mostPopular: BeyondAccuracy
    /// The similar lists of the evaluation model, and of the popularity baseline.
    public var similar: SimilarHitRate
    public var similarMostPopular: SimilarHitRate

    public init(model: BeyondAccuracy, mostPopular: BeyondAccuracy, similar: SimilarHitRate, similarMostPopular: SimilarHitRate) {
        self.model = model
        self.mostPopular = mostPopular
        self.similar = similar
        self.similarMostPopular = similarMostPopular
    }
}
