import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// A user's score of item i with the input `row` (item → rating), written out from B in Double:
/// Σ_j x(r_j) · B_ji. The brute-force reference of the reasons.
func bruteScore(_ model: EASE, row: [(item: Int, rating: Float)], item i: Int) -> Double {
    let m = model.covered.count, q = model.coveredIndex(i)
    guard q >= 0 else { return -.infinity }
    return row.reduce(0.0) { sum, r in
        let p = model.coveredIndex(r.item)
        return p < 0 ? sum : sum + Double(model.inputValue(r.rating)) * Double(model.weights[p * m + q])
    }
}

/// Checks one recommendation's reason against brute force. `score(input)` is the recommended
/// movie's score for an input (the user's ratings, item → rating): with no reason, no removal
/// of a rated movie lowers the score; otherwise removing the named movie lowers it by a positive
/// amount, and no other removal lowers it more.
/// - Returns: whether a reason was named.
func expectFaithful(reason: Int, row: [(item: Int, rating: Float)], score: ([(item: Int, rating: Float)]) -> Double,
                    at place: String) throws -> Bool {
    let full = score(row)
    let falls = row.indices.map { t in full - score(row.enumerated().filter { $0.offset != t }.map(\.element)) }
    let best = falls.max() ?? 0
    guard reason >= 0 else {
        #expect(best <= 1e-6, "\(place): no reason, yet a removal lowers the score by \(best)")
        return false
    }
    let t = try #require(row.firstIndex { $0.item == reason }, "\(place): the reason is not a rated movie")
    #expect(falls[t] > 0)
    #expect(falls[t] >= best - 1e-6 * max(1, abs(best)), "\(place): removing \(reason) lowers by \(falls[t]), another by \(best)")
    return true
}

@Suite struct ReasonsTests {
    /// EASE fits on random data: binary and rating-weighted input, every item or a cover.
    static func models(seed: UInt64) throws -> [(EASE, CSRMatrix)] {
        let x = randomRatings(rows: 40, cols: 18, maxPerRow: 9, seed: seed)
        let p = Parallel(workers: 1)
        return [
            (try EASE.fit(x, lambda: 2, parallel: p), x),
            (try EASE.fit(x, lambda: 5, weighting: .rating, ratingMax: 5, parallel: p), x),
            (try EASE.fit(x, lambda: 3, solver: .blocked(maxItems: 11), parallel: p), x),
        ]
    }

    /// Faithfulness, by brute force: removing the named movie from the user's input lowers
    /// the recommendation's score more than removing any other rated movie, and by a positive
    /// amount; no reason means no removal lowers the score.
    @Test(arguments: 0..<6)
    func linearReason_isTheRemovalThatLowersTheScoreMost(seed: Int) throws {
        for (model, x) in try Self.models(seed: UInt64(seed)) {
            let k = 5
            let lists = TopK.lists(scorer: model, input: x, k: k, parallel: Parallel(workers: 2))
            let because = Reasons.linear(model, input: x, items: lists.items, k: k, parallel: Parallel(workers: 2))
            var named = 0
            for u in 0..<x.rows {
                let row = x.row(u).map { (item: Int(x.columns[$0]), rating: x.values[$0]) }
                for r in 0..<k {
                    let i = Int(lists.items[u * k + r])
                    guard i >= 0 else { #expect(because[u * k + r] == -1); continue }
                    if try expectFaithful(reason: Int(because[u * k + r]), row: row, score: { bruteScore(model, row: $0, item: i) },
                                          at: "user \(u) item \(i)") {
                        named += 1
                    }
                }
            }
            #expect(named > 0)
        }
    }

    /// The exact leave-one-out computation (the non-linear models' reasons) names the same
    /// movie as the linear shortcut, up to ties within rounding.
    @Test(arguments: 0..<4)
    func leaveOneOut_agreesWithLinear(seed: Int) throws {
        for (model, x) in try Self.models(seed: UInt64(seed + 10)) {
            let k = 4
            let lists = TopK.lists(scorer: model, input: x, k: k, parallel: Parallel(workers: 1))
            let linear = Reasons.linear(model, input: x, items: lists.items, k: k, parallel: Parallel(workers: 1))
            let exact = Reasons.leaveOneOut(score: { model.scores(input: $0, queries: $1) }, input: x, items: lists.items, k: k,
                                            parallel: Parallel(workers: 1))
            for t in linear.indices where linear[t] != exact[t] {
                let u = t / k, i = Int(lists.items[t])
                let row = x.row(u).map { (item: Int(x.columns[$0]), rating: x.values[$0]) }
                func fall(_ j: Int32) -> Double {
                    j < 0 ? 0 : bruteScore(model, row: row, item: i) - bruteScore(model, row: row.filter { $0.item != Int(j) }, item: i)
                }
                #expect(abs(fall(linear[t]) - fall(exact[t])) < 1e-5, "user \(u) item \(i): \(linear[t]) against \(exact[t])")
            }
        }
    }

    /// A non-linear model: every reason from leave-one-out is the removal that lowers the
    /// autoencoder's output most, recomputed here one removal at a time.
    @Test func leaveOneOut_onAnAutoencoder_namesTheLargestFall() throws {
        let model = Autoencoder(items: 14, hidden: [6, 4, 6], activation: .sigmoid, seed: 5)
        model.parameters = model.parameters.enumerated().map { $1 * 3 + Float($0 % 5) * 0.02 }
        let x = randomRatings(rows: 12, cols: 14, maxPerRow: 7, seed: 3)
        let k = 3
        let items = (0..<x.rows).flatMap { u in (0..<Int32(14)).filter { !x.columns[x.row(u)].contains($0) }.prefix(k) }
        #expect(items.count == x.rows * k)
        let score: @Sendable (CSRMatrix, CSRMatrix) -> [Float] = { model.predict(input: $0, queries: $1, parallel: Parallel(workers: 1)) }
        let because = Reasons.leaveOneOut(score: score, input: x, items: items, k: k, parallel: Parallel(workers: 2))
        for u in 0..<x.rows {
            for r in 0..<k {
                let i = items[u * k + r]
                func predicted(without drop: Int32?) -> Float {
                    let kept = x.row(u).filter { x.columns[$0] != drop }
                    let input = CSRMatrix(rows: 1, cols: 14, rowStart: [0, kept.count], columns: kept.map { x.columns[$0] },
                                          values: kept.map { x.values[$0] })
                    return model.predict(input: input, queries: CSRMatrix(rows: 1, cols: 14, rowStart: [0, 1], columns: [i], values: [0]),
                                         parallel: Parallel(workers: 1))[0]
                }
                let full = predicted(without: nil)
                let falls = x.row(u).map { (item: x.columns[$0], fall: full - predicted(without: x.columns[$0])) }
                let best = falls.map(\.fall).max() ?? 0
                let reason = because[u * k + r]
                if reason < 0 {
                    #expect(best <= 1e-6)
                } else {
                    #expect(falls.first { $0.item == reason }.map { $0.fall >= best - 1e-6 && $0.fall > 0 } == true)
                }
            }
        }
    }

    /// Reasons and similar lists are the same bytes for any number of workers.
    @Test func reasonsAndSimilar_sameForAnyWorkerCount() throws {
        let (model, x) = try Self.models(seed: 21)[1]
        let lists = TopK.lists(scorer: model, input: x, k: 6, parallel: Parallel(workers: 1))
        let allowed = [Bool](repeating: true, count: x.cols)
        func run(_ w: Int) -> [[Int32]] {
            let p = Parallel(workers: w)
            let similar = SimilarItems.fromWeights(model, allowed: allowed, count: 4, parallel: p)
            let co = SimilarItems.cooccurrence(x, allowed: allowed, count: 4, parallel: p)
            return [Reasons.linear(model, input: x, items: lists.items, k: 6, parallel: p),
                    Reasons.leaveOneOut(score: { model.scores(input: $0, queries: $1) }, input: x, items: lists.items, k: 6, parallel: p),
                    similar.items, similar.scores.map { Int32(bitPattern: $0.bitPattern) }, co.items, co.scores.map { Int32(bitPattern: $0.bitPattern) }]
        }
        #expect(run(1) == run(3))
    }

    /// The similar lists against a plain sort of each row: never the movie itself nor a
    /// disallowed one, only positive similarities, best first, ties by the lower item.
    @Test(arguments: 0..<4)
    func similar_matchesPlainSortOfEachRow(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        for (model, x) in try Self.models(seed: UInt64(seed + 30)) {
            let n = x.cols, count = 1 + rng.below(6)
            let allowed = (0..<n).map { _ in rng.below(5) != 0 }
            let fast = SimilarItems.fromWeights(model, allowed: allowed, count: count, parallel: Parallel(workers: 2))
            // Co-occurrence cosine written out from the sets of raters.
            let raters = (0..<n).map { i in Set((0..<x.rows).filter { x.columns[x.row($0)].contains(Int32(i)) }) }
            let co = SimilarItems.cooccurrence(x, allowed: allowed, count: count, parallel: Parallel(workers: 2))
            let references: [((Int, Int) -> Double, (items: [Int32], scores: [Float]))] = [
                ({ i, j in
                    let p = model.coveredIndex(i), q = model.coveredIndex(j)
                    return p < 0 || q < 0 ? 0 : Double(model.weights[p * model.covered.count + q])
                }, fast),
                ({ i, j in
                    Double(raters[i].intersection(raters[j]).count) / (Double(raters[i].count) * Double(raters[j].count)).squareRoot()
                }, co),
            ]
            for (similarity, got) in references {
                for i in 0..<n {
                    let expected = allowed[i]
                        ? (0..<n).filter { $0 != i && allowed[$0] && similarity(i, $0) > 0 }
                            .sorted { similarity(i, $0) != similarity(i, $1) ? similarity(i, $0) > similarity(i, $1) : $0 < $1 }.prefix(count)
                        : []
                    let listed = got.items[(i * count)..<(i * count + count)].filter { $0 >= 0 }.map(Int.init)
                    // Scores are compared as stored (Float); the order only where they differ beyond rounding.
                    #expect(listed.count == expected.count, "item \(i)")
                    #expect(!listed.contains(i) && listed.allSatisfy { allowed[$0] })
                    for (r, j) in listed.enumerated() {
                        #expect(abs(Double(got.scores[i * count + r]) - similarity(i, j)) < 1e-5)
                        #expect(abs(similarity(i, j) - similarity(i, expected[expected.startIndex + r])) < 1e-5, "item \(i) rank \(r)")
                    }
                }
            }
        }
    }
}
