import RecCore
import RecData

/// The seed notebook's "top-k accuracy", in its non-leaking form.
///
/// For every user with at least one test rating:
/// 1. the model is fed the user's TRAIN row and its scores for the user's TEST movies are
///    taken (the caller does this; `scores` holds them);
/// 2. those test movies are ranked by score, highest first, ties broken by the lower dense
///    item index;
/// 3. the top `k' = min(k, number of test movies)` are taken;
/// 4. the user's score is the share of those `k'` that the user rated `>= threshold`.
///
/// The accuracy at `k` is the mean of the users' scores over the users counted. Users without
/// test ratings are not counted. (The notebook fed the TEST row instead, which leaks the answer
/// into the input.)
public struct TopKAccuracy: Sendable, Equatable {
    /// Accuracy per cutoff `k`, in [0, 1].
    public var values: [Int: Double]
    /// Users with at least one test rating: the denominator of every value.
    public var usersEvaluated: Int

    public init(values: [Int: Double], usersEvaluated: Int) {
        self.values = values
        self.usersEvaluated = usersEvaluated
    }

    /// Chunk size of the parallel loop; fixed so the result does not depend on the workers.
    static let chunkSize = 256

    /// Measures top-k accuracy at every cutoff in `ks`.
    ///
    /// - Parameters:
    ///   - test: the test ratings, rows = users, columns = dense item index, values = ratings.
    ///   - scores: the model's score for each test entry, aligned with `test.values`.
    ///   - ks: the cutoffs, each at least 1 (the notebook used 5 and 10).
    ///   - threshold: a rating at or above it counts as liked (default 4).
    ///   - parallel: user chunks are spread over its workers; partial sums are combined in
    ///     chunk order, so the result is identical for any worker count.
    /// - Returns: accuracy per `k`; 0 for every `k` when no user has a test rating (see
    ///   `usersEvaluated`).
    /// - Throws: `RecError(.runtime)` when a score is not finite (it could not be ranked).
    /// - Complexity: O(n log n) over the test entries.
    public static func measure(
        test: CSRMatrix, scores: [Float], ks: [Int] = [5, 10], threshold: Float = 4, parallel: Parallel
    ) throws -> TopKAccuracy {
        precondition(scores.count == test.nonZeros, "one score per test entry")
        precondition(ks.allSatisfy { $0 >= 1 }, "every k must be at least 1")
        guard scores.allSatisfy(\.isFinite) else {
            throw RecError(.runtime, "a test score is not finite, so the test movies cannot be ranked",
                           hint: "the model diverged: check the training loss")
        }
        struct Partial { var sums: [Double]; var users: Int }
        let partials: [Partial] = parallel.mapChunks(count: test.rows, chunkSize: chunkSize) { users in
            var p = Partial(sums: [Double](repeating: 0, count: ks.count), users: 0)
            for u in users {
                let entries = test.row(u)
                if entries.isEmpty { continue }
                let ranked = entries.sorted { a, b in
                    scores[a] != scores[b] ? scores[a] > scores[b] : test.columns[a] < test.columns[b]
                }
                for (j, k) in ks.enumerated() {
                    let top = ranked.prefix(k)
                    let liked = top.count { test.values[$0] >= threshold }
                    p.sums[j] += Double(liked) / Double(top.count)
                }
                p.users += 1
            }
            return p
        }
        var sums = [Double](repeating: 0, count: ks.count)
        var users = 0
        for p in partials {
            for j in ks.indices { sums[j] += p.sums[j] }
            users += p.users
        }
        var values: [Int: Double] = [:]
        for (j, k) in ks.enumerated() { values[k] = users > 0 ? sums[j] / Double(users) : 0 }
        return TopKAccuracy(values: values, usersEvaluated: users)
    }
}
