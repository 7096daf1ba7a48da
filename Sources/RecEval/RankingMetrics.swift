import Foundation
import RecCore
import RecData

/// Full-catalogue ranking quality at a cutoff `k`.
///
/// The lists come from ranking every movie the user did not rate in train; they are judged
/// against the test slice. For a user, `relevant` = the test movies rated `>= threshold`, and
/// a hit is a recommended movie (in the first `k` positions, padding `-1` skipped) that is
/// relevant. Only users with at least one relevant movie are counted (`usersEvaluated`); every
/// per-user value below is averaged over them:
///
/// ```
/// precision@k = hits / k                      (k, even when the list is padded)
/// recall@k    = hits / |relevant|             (not min(k, |relevant|))
/// NDCG@k      = DCG / IDCG, with binary gain and rank r counted from 1:
///               DCG  = Σ over hit ranks r of 1 / log2(r + 1)
///               IDCG = Σ for r = 1 ... min(k, |relevant|) of 1 / log2(r + 1)
/// hitRate@k   = 1 if hits >= 1 else 0
/// MRR@k       = 1 / (rank of the first hit), 0 without a hit
/// ```
///
/// `coverage` is not per user: the number of distinct movies in the first `k` positions of all
/// users' lists (evaluated or not) divided by the number of movies with at least one train
/// rating. With no user evaluated every average is 0.
public struct RankingMetrics: Codable, Sendable, Equatable {
    public var k: Int
    public var precision: Double
    public var recall: Double
    public var ndcg: Double
    public var hitRate: Double
    public var mrr: Double
    public var coverage: Double
    public var usersEvaluated: Int

    public init(k: Int, precision: Double, recall: Double, ndcg: Double, hitRate: Double, mrr: Double,
                coverage: Double, usersEvaluated: Int) {
        self.k = k
        self.precision = precision
        self.recall = recall
        self.ndcg = ndcg
        self.hitRate = hitRate
        self.mrr = mrr
        self.coverage = coverage
        self.usersEvaluated = usersEvaluated
    }

    /// Chunk size of the parallel loop; fixed so the result does not depend on the workers.
    static let chunkSize = 256

    /// Measures `lists` against the test slice.
    ///
    /// - Parameters:
    ///   - lists: every user's ranked list (users × `lists.k`, `-1` = padding), items distinct
    ///     within a list.
    ///   - test: the test ratings, rows = users, columns = dense item index, values = ratings;
    ///     same users and items as `lists`.
    ///   - k: the cutoff, `1 ... lists.k`; `nil` means `lists.k`.
    ///   - trainItemCount: movies with at least one train rating (the coverage denominator).
    ///   - threshold: a test rating at or above it makes a movie relevant (default 4).
    ///   - parallel: user chunks of fixed size are spread over its workers and their partial
    ///     sums combined in chunk order (in Double), so the result is identical for any worker
    ///     count.
    /// - Throws: `RecError(.artefact)` when the lists and the test slice disagree on shape.
    /// - Complexity: O(users · k + test entries).
    public static func measure(
        lists: TopKLists, test: CSRMatrix, k: Int? = nil, trainItemCount: Int, threshold: Float = 4, parallel: Parallel
    ) throws -> RankingMetrics {
        let k = k ?? lists.k
        precondition(k >= 1 && k <= lists.k, "k must be in 1...\(lists.k)")
        guard lists.ids.userCount == test.rows, lists.ids.itemCount == test.cols else {
            throw RecError(.artefact, "the top-k lists cover \(lists.ids.userCount) users × \(lists.ids.itemCount) movies, "
                           + "the test slice \(test.rows) × \(test.cols)", hint: "rerun rec-score")
        }
        // discount[r - 1] = 1 / log2(r + 1); ideal[n] = Σ of the first n discounts.
        let discount = (1...k).map { 1 / log2(Double($0 + 1)) }
        var ideal = [0.0]
        for d in discount { ideal.append(ideal.last! + d) }

        let partials: [Partial] = parallel.mapChunks(count: test.rows, chunkSize: chunkSize) { users in
            var p = Partial()
            var isRelevant = [Bool](repeating: false, count: test.cols)
            for u in users {
                var relevant = 0
                for e in test.row(u) where test.values[e] >= threshold {
                    isRelevant[Int(test.columns[e])] = true
                    relevant += 1
                }
                if relevant == 0 { continue }
                var hits = 0, dcg = 0.0, firstHit = 0
                for r in 0..<k {
                    let item = Int(lists.items[u * lists.k + r])
                    guard item >= 0, isRelevant[item] else { continue }
                    isRelevant[item] = false  // a repeated item cannot hit twice
                    hits += 1
                    dcg += discount[r]
                    if firstHit == 0 { firstHit = r + 1 }
                }
                for e in test.row(u) { isRelevant[Int(test.columns[e])] = false }
                p.precision += Double(hits) / Double(k)
                p.recall += Double(hits) / Double(relevant)
                p.ndcg += dcg / ideal[min(k, relevant)]
                p.hitRate += hits > 0 ? 1 : 0
                p.mrr += firstHit > 0 ? 1 / Double(firstHit) : 0
                p.users += 1
            }
            return p
        }
        let total = partials.reduce(into: Partial()) { $0.add($1) }

        var recommended = [Bool](repeating: false, count: lists.ids.itemCount)
        for u in 0..<lists.ids.userCount {
            for r in 0..<k {
                let item = lists.items[u * lists.k + r]
                if item >= 0 { recommended[Int(item)] = true }
            }
        }
        let distinct = recommended.count { $0 }
        let n = Double(max(total.users, 1))
        return RankingMetrics(
            k: k, precision: total.precision / n, recall: total.recall / n, ndcg: total.ndcg / n,
            hitRate: total.hitRate / n, mrr: total.mrr / n,
            coverage: trainItemCount > 0 ? Double(distinct) / Double(trainItemCount) : 0,
            usersEvaluated: total.users)
    }

    /// Per-chunk sums of the per-user values.
    private struct Partial {
        var precision = 0.0, recall = 0.0, ndcg = 0.0, hitRate = 0.0, mrr = 0.0
        var users = 0

        mutating func add(_ o: Partial) {
            precision += o.precision
            recall += o.recall
            ndcg += o.ndcg
            hitRate += o.hitRate
            mrr += o.mrr
            users += o.users
        }
    }
}
