import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// The per-user reference for `TopK.lists`: a full sort of every item that is neither rated by
/// the user, nor excluded, nor scored −infinity.
func referenceLists(table: [Float], items n: Int, input: CSRMatrix, k: Int, excluded: Set<Int> = []) -> [[(item: Int32, score: Float)]] {
    (0..<input.rows).map { u in
        let row = Array(table[(u * n)..<((u + 1) * n)])
        let hidden = Array(input.columns[input.row(u)]) + excluded.map { Int32($0) } + row.indices.filter { row[$0] == -.infinity }.map { Int32($0) }
        return TopKReference.select(scores: row, k: k, excluding: hidden)
    }
}

func rows(_ got: (items: [Int32], scores: [Float]), k: Int) -> [[(item: Int32, score: Float)]] {
    stride(from: 0, to: got.items.count, by: k).map { s in
        (s..<(s + k)).filter { got.items[$0] >= 0 }.map { (item: got.items[$0], score: got.scores[$0]) }
    }
}

/// Popularity-like scores as a scorer that does not declare them shared: the reference path.
struct PlainTable: ItemScorer {
    let scores: [Float]
    var itemCount: Int { scores.count }
    func scores(users: Range<Int>, input: CSRMatrix, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<users.count { for i in 0..<scores.count { out[r * scores.count + i] = scores[i] } }
    }
}

@Suite struct TopKListsTests {
    @Test func sharedScores_giveTheListsOfScoringEveryUser() {
        // Ties, a NaN and a movie nobody rated (score 0) among 40 movies.
        let input = randomCSR(rows: 300, cols: 40, density: 0.3, seed: 21)
        var popular = MostPopular.fit(input).counts
        popular[7] = .nan
        let shared = MostPopular(counts: popular)
        #expect(shared.sharedScores != nil)
        for workers in [1, 2] {
            let fast = TopK.lists(scorer: shared, input: input, k: 12, excluding: [3, 30], parallel: Parallel(workers: workers))
            let plain = TopK.lists(scorer: PlainTable(scores: popular), input: input, k: 12, excluding: [3, 30], parallel: Parallel(workers: 1))
            #expect(fast.items == plain.items && fast.scores.map(\.bitPattern) == plain.scores.map(\.bitPattern))
            let table = (0..<input.rows).flatMap { _ in popular }
            let ref = referenceLists(table: table, items: 40, input: input, k: 12, excluded: [3, 30])
            #expect(zip(rows(fast, k: 12), ref).allSatisfy { same($0, $1) })
        }
    }

    @Test func scoredItems_giveTheListsOfTheFullWidthScores() throws {
        let x = skewedCSR(rows: 400, cols: 150, perRow: 25, seed: 31)
        let ease = try EASE.fit(x, lambda: 8, weighting: .rating, solver: .blocked(maxItems: 60), parallel: Parallel(workers: 2))
        #expect(ease.scoredItems == ease.covered)
        var table = [Float](repeating: 0, count: x.rows * x.cols)
        table.withUnsafeMutableBufferPointer { ease.scores(users: 0..<x.rows, input: x, into: $0.baseAddress!) }
        let excluded = [Int(ease.covered[0]), Int(ease.covered[5]), 149]
        let fast = TopK.lists(scorer: ease, input: x, k: 10, excluding: excluded, parallel: Parallel(workers: 2))
        let full = TopK.lists(scorer: TableScorer(table: table, itemCount: x.cols), input: x, k: 10, excluding: excluded,
                              parallel: Parallel(workers: 1))
        #expect(fast.items == full.items && fast.scores.map(\.bitPattern) == full.scores.map(\.bitPattern))
        let ref = referenceLists(table: table, items: x.cols, input: x, k: 10, excluded: Set(excluded))
        #expect(zip(rows(fast, k: 10), ref).allSatisfy { same($0, $1) })
    }

    @Test func lists_neverHoldExcludedOrMinusInfinityItems_andPad() {
        let input = randomCSR(rows: 50, cols: 12, density: 0.4, seed: 5)
        var rng = SplitMix64(seed: 2)
        let table = (0..<(50 * 12)).map { i -> Float in i % 12 == 4 ? -.infinity : Float(rng.below(9)) }
        let got = TopK.lists(scorer: TableScorer(table: table, itemCount: 12), input: input, k: 12, excluding: [0, 11],
                             parallel: Parallel(workers: 2))
        #expect(!got.items.contains { [0, 4, 11].contains($0) })
        let ref = referenceLists(table: table, items: 12, input: input, k: 12, excluded: [0, 11])
        #expect(zip(rows(got, k: 12), ref).allSatisfy { same($0, $1) })
        // Padding after each user's candidates.
        for u in 0..<50 {
            let n = ref[u].count
            #expect((n..<12).allSatisfy { got.items[u * 12 + $0] == -1 && got.scores[u * 12 + $0] == -.infinity })
        }
    }

    @Test func scoreBlocks_stayWithinTheirBudget_forAnyCatalogue() {
        for width in [1, 3706, 59_047, 1_000_000, 50_000_000] {
            let rows = TopK.usersPerChunk(width: width)
            #expect(rows >= 1 && rows <= TopK.usersPerChunk)
            #expect(rows == 1 || rows * width * 4 <= TopK.scoreBlockBytes, "width \(width)")
        }
        #expect(TopK.usersPerChunk(width: 3706) == TopK.usersPerChunk) // ML-1M keeps its chunks
        // The estimate counts one block per worker and the lists.
        #expect(TopK.listBytes(users: 1000, items: 100, k: 10, workers: 2) == 2 * 256 * 100 * 4 + 1000 * 10 * 8)
    }

    @Test func progress_countsEveryChunkOnce() {
        let input = randomCSR(rows: 1000, cols: 30, density: 0.2, seed: 8)
        let seen = Counted()
        _ = TopK.lists(scorer: PlainTable(scores: (0..<30).map(Float.init)), input: input, k: 5, parallel: Parallel(workers: 2)) { done, total in
            seen.add(done, total)
        }
        let chunks = (1000 + TopK.usersPerChunk - 1) / TopK.usersPerChunk
        #expect(seen.values.sorted() == Array(1...chunks) && seen.totals == [chunks])
    }
}

final class Counted: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Int] = []
    private(set) var totals: Set<Int> = []
    func add(_ d: Int, _ t: Int) { lock.withLock { values.append(d); totals.insert(t) } }
}
