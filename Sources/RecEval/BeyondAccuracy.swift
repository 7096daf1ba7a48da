import Foundation
import RecCore
import RecData

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
        let raters = input.columnCounts()
        let users = Double(max(1, input.rows))
        let information = raters.map { $0 > 0 ? -log2(Double($0) / users) : 0 }
        let rated = raters.indices.filter { raters[$0] > 0 }
        let headSize = Int((Double(rated.count) * 0.01).rounded(.up))
        var head = [Bool](repeating: false, count: input.cols)
        // Movies nobody rated sort last, and the head is at most the rated ones.
        for i in CSRMatrix.byCount(raters).prefix(headSize) { head[i] = true }
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

/// How good similar-movie lists are, on the held-out test slice: do they lead a user from the
/// movies they liked to the ones they will like? For every user with a liked test movie
/// (rated ≥ `threshold`) and a liked movie in the lists' input (train + validation), the
/// user's candidates are the union of the similar lists (first `k` entries) of their liked
/// movies, less the movies they rated before the test; each liked test movie among them is a
/// hit. hitRate = hits / (user, liked test movie) pairs.
///
/// The popularity baseline gets the same budget: for each user, as many candidates as the
/// similar lists gave, taken from the most-rated movies the user did not rate. (Giving every
/// movie the same most-popular list instead would leave the baseline k + 1 candidates per
/// user against hundreds, and judging each similar list alone as a top-k list favours
/// popular movies whatever their similarity.)
public struct SimilarHitRate: Codable, Sendable, Equatable {
    public var k: Int
    public var hitRate: Double
    /// The popularity baseline's hit rate with the same number of candidates per user.
    public var mostPopularHitRate: Double
    /// Mean number of candidates per evaluated user.
    public var meanCandidates: Double
    /// (user, liked test movie) pairs counted.
    public var pairs: Int
    public var usersEvaluated: Int

    public init(k: Int, hitRate: Double, mostPopularHitRate: Double, meanCandidates: Double, pairs: Int, usersEvaluated: Int) {
        self.k = k
        self.hitRate = hitRate
        self.mostPopularHitRate = mostPopularHitRate
        self.meanCandidates = meanCandidates
        self.pairs = pairs
        self.usersEvaluated = usersEvaluated
    }

    /// - Parameter similar: items × k similar movies, −1 = none.
    public static func measure(similar: [Int32], k: Int, known: CSRMatrix, test: CSRMatrix, threshold: Float = 4,
                               parallel: Parallel) -> SimilarHitRate {
        precondition(similar.count == known.cols * k && known.rows == test.rows)
        let popular = CSRMatrix.byCount(known.columnCounts()).map { Int32($0) }
        // Per chunk: (model hits, baseline hits, pairs, users, candidates).
        let parts = parallel.mapChunks(count: test.rows, chunkSize: 256) { users -> (Int, Int, Int, Int, Int) in
            var hits = 0, popularHits = 0, pairs = 0, counted = 0, candidates = 0
            // Per item, the last user (+ 1) who rated it, reached it, or got it from the baseline:
            // marks without clearing between users.
            var rated = [Int](repeating: 0, count: known.cols), reached = rated, baseline = rated
            for u in users {
                let liked = test.row(u).filter { test.values[$0] >= threshold }.map { Int(test.columns[$0]) }
                let seeds = known.row(u).filter { known.values[$0] >= threshold }.map { Int(known.columns[$0]) }
                guard !liked.isEmpty, !seeds.isEmpty else { continue }
                let mark = u + 1
                for e in known.row(u) { rated[Int(known.columns[e])] = mark }
                var budget = 0
                for i in seeds {
                    for j in similar[(i * k)..<(i * k + k)] where j >= 0 && rated[Int(j)] != mark && reached[Int(j)] != mark {
                        reached[Int(j)] = mark
                        budget += 1
                    }
                }
                var given = 0, t = 0
                while given < budget, t < popular.count {
                    let j = Int(popular[t])
                    if rated[j] != mark { baseline[j] = mark; given += 1 }
                    t += 1
                }
                hits += liked.filter { reached[$0] == mark }.count
                popularHits += liked.filter { baseline[$0] == mark }.count
                pairs += liked.count
                counted += 1
                candidates += budget
            }
            return (hits, popularHits, pairs, counted, candidates)
        }
        let hits = parts.reduce(0) { $0 + $1.0 }, popularHits = parts.reduce(0) { $0 + $1.1 }, pairs = parts.reduce(0) { $0 + $1.2 }
        let users = parts.reduce(0) { $0 + $1.3 }, candidates = parts.reduce(0) { $0 + $1.4 }
        func share(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(a) / Double(b) : 0 }
        return SimilarHitRate(k: k, hitRate: share(hits, pairs), mostPopularHitRate: share(popularHits, pairs),
                              meanCandidates: share(candidates, users), pairs: pairs, usersEvaluated: users)
    }
}

/// The beyond-accuracy figures and the similar lists' quality, beside `ranking` in
/// `metrics.json` (model and most-popular baseline).
public struct ListQuality: Codable, Sendable, Equatable {
    public var model: BeyondAccuracy
    public var mostPopular: BeyondAccuracy
    /// The similar lists of the evaluation model, against the popularity baseline.
    public var similar: SimilarHitRate

    public init(model: BeyondAccuracy, mostPopular: BeyondAccuracy, similar: SimilarHitRate) {
        self.model = model
        self.mostPopular = mostPopular
        self.similar = similar
    }
}
