import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// The blend's reasons and similar lists, against a brute-force recomputation.
@Suite struct ItemBlendExplanationsTests {
    /// Blends of EASE and DLAE (one of them over a cover) with popularity, on random data.
    static func blends(seed: UInt64) throws -> [(ItemBlend, CSRMatrix)] {
        let x = randomRatings(rows: 40, cols: 18, maxPerRow: 9, seed: seed)
        let p = Parallel(workers: 1)
        let ease = try EASE.fit(x, lambda: 3, weighting: .rating, ratingMax: 5, parallel: p)
        let dlae = try EASE.fitDLAE(x, lambda: 4, dropout: 0.5, weighting: .rating, ratingMax: 5, parallel: p)
        let binary = try EASE.fit(x, lambda: 2, parallel: p)
        let popular = MostPopular.fit(x)
        return [
            (ItemBlend(members: [BlendMember(.ease, .itemItem(ease)), BlendMember(.dlae, .itemItem(dlae), dropout: 0.5)], weights: [0.3, 0.7]), x),
            (ItemBlend(members: [BlendMember(.ease, .itemItem(binary)), BlendMember(.dlae, .itemItem(dlae), dropout: 0.5),
                                 BlendMember(.popularity, .popularity(popular))], weights: [0.5, 0.2, 0.3]), x),
        ]
    }

    /// A member's raw scores of every movie for one user's input `row` (item → rating).
    static func memberScores(_ e: EASE, row: [(item: Int, rating: Float)], items n: Int) -> [Double] {
        (0..<n).map { bruteScore(e, row: row, item: $0) }
    }

    /// Faithfulness at the blend's normalisation: with the user's means and deviations held
    /// (those of the full input), removing the named movie lowers the blended score of the
    /// recommendation more than removing any other rated movie, and by a positive amount.
    @Test(arguments: 0..<5)
    func blendReason_isTheRemovalThatLowersTheScoreMost(seed: Int) throws {
        for (blend, x) in try Self.blends(seed: UInt64(seed)) {
            let k = 5, n = x.cols
            let lists = TopK.lists(scorer: blend, input: x, k: k, parallel: Parallel(workers: 2))
            let because = blend.reasons(input: x, items: lists.items, k: k, parallel: Parallel(workers: 3))
            #expect(because == blend.reasons(input: x, items: lists.items, k: k, parallel: Parallel(workers: 1)))
            var named = 0
            for u in 0..<x.rows {
                let row = x.row(u).map { (item: Int(x.columns[$0]), rating: x.values[$0]) }
                let seen = Set(row.map(\.item))
                // Each item–item member's factor w / sd over the user's candidates, by hand.
                let terms = blend.members.indices.compactMap { m -> (factor: Double, model: EASE)? in
                    guard case .itemItem(let e) = blend.members[m].model else { return nil }
                    let s = Self.memberScores(e, row: row, items: n).enumerated().filter { !seen.contains($0.offset) && $0.element.isFinite }.map(\.element)
                    let mean = s.reduce(0, +) / Double(max(s.count, 1))
                    let sd = (s.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(s.count, 1))).squareRoot()
                    return (sd > 0 ? blend.weights[m] / sd : 0, e)
                }
                func score(_ input: [(item: Int, rating: Float)], _ i: Int) -> Double {
                    terms.reduce(0.0) { $0 + $1.factor * bruteScore($1.model, row: input, item: i) }
                }
                for r in 0..<k {
                    let i = Int(lists.items[u * k + r])
                    guard i >= 0 else { continue }
                    if try expectFaithful(reason: Int(because[u * k + r]), row: row, score: { score($0, i) }, at: "user \(u) item \(i)") {
                        named += 1
                    }
                }
            }
            #expect(named > 0)
        }
    }

    /// The similar lists stand for the largest-weight item–item member's.
    @Test func similarListsModel_isTheLargestWeightItemItemMember() throws {
        let blends = try Self.blends(seed: 7)
        #expect(blends[0].0.similarListsModel?.lambda == 4)
        #expect(blends[1].0.similarListsModel?.lambda == 2)
    }
}
