import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// Scores from a fixed table (users × items): lets `TopK.all` be tested on any scores.
struct TableScorer: ItemScorer {
    let table: [Float]
    let itemCount: Int

    func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        for u in users {
            for i in 0..<itemCount { scores[(u - users.lowerBound) * itemCount + i] = table[u * itemCount + i] }
        }
    }
}

/// A random binary-pattern CSR with ratings 1...5, rows sorted.
func randomCSR(rows: Int, cols: Int, density: Double, seed: UInt64) -> CSRMatrix {
    var rng = SplitMix64(seed: seed)
    var start = [0], columns: [Int32] = [], values: [Float] = []
    for _ in 0..<rows {
        for c in 0..<cols where Double(rng.unitFloat()) < density {
            columns.append(Int32(c))
            values.append(Float(1 + rng.below(5)))
        }
        start.append(columns.count)
    }
    return CSRMatrix(rows: rows, cols: cols, rowStart: start, columns: columns, values: values)
}

func same(_ a: [(item: Int32, score: Float)], _ b: [(item: Int32, score: Float)]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.item == $1.item && $0.score.bitPattern == $1.score.bitPattern }
}

@Suite struct TopKSelectionTests {
    @Test func select_onRandomScoresWithTies_matchesFullSort() {
        var rng = SplitMix64(seed: 7)
        for trial in 0..<400 {
            let n = 1 + rng.below(60)
            // Few distinct values: many ties.
            let levels = 1 + rng.below(trial % 2 == 0 ? 4 : 1000)
            let scores = (0..<n).map { _ in Float(rng.below(levels)) - 2 }
            let seen = (0..<n).filter { _ in rng.below(3) == 0 }.map { Int32($0) }
            let k = [1, 2, 5, 10, n, n + 3][rng.below(6)]
            let fast = scores.withUnsafeBufferPointer { TopK.select(scores: $0.baseAddress!, count: n, k: k, excluding: seen[...]) }
            let slow = TopKReference.select(scores: scores, k: k, excluding: seen)
            #expect(same(fast, slow), "trial \(trial)")
            #expect(fast.count == min(k, n - seen.count))
        }
    }

    @Test func select_whenEverythingSeen_returnsEmpty() {
        let scores: [Float] = [3, 1, 2]
        let picked = scores.withUnsafeBufferPointer { TopK.select(scores: $0.baseAddress!, count: 3, k: 2, excluding: [0, 1, 2][...]) }
        #expect(picked.isEmpty)
    }

    @Test func select_whenKExceedsCandidates_returnsAllSorted() {
        let scores: [Float] = [1, 5, 5, 0, 7]
        let picked = scores.withUnsafeBufferPointer { TopK.select(scores: $0.baseAddress!, count: 5, k: 10, excluding: [4][...]) }
        #expect(picked.map(\.item) == [1, 2, 0, 3])
        #expect(picked.map(\.score) == [5, 5, 1, 0])
    }

    @Test func select_withKOne_breaksTiesByLowerIndex() {
        let scores: [Float] = [2, 9, 9, 9]
        let picked = scores.withUnsafeBufferPointer { TopK.select(scores: $0.baseAddress!, count: 4, k: 1, excluding: [1][...]) }
        #expect(same(picked, [(item: 2, score: 9)]))
    }

    @Test func select_withNaN_ranksItLast() {
        let scores: [Float] = [.nan, 1, -.infinity, .nan, 3]
        for k in 1...6 {
            let fast = scores.withUnsafeBufferPointer { TopK.select(scores: $0.baseAddress!, count: 5, k: k, excluding: [][...]) }
            #expect(Array(fast.map(\.item)) == Array([4, 1, 2, 0, 3].prefix(k)))
            #expect(same(fast, TopKReference.select(scores: scores, k: k, excluding: [])))
        }
    }

    @Test func select_toleratesDuplicateAndOutOfRangeSeen() {
        let scores: [Float] = [4, 3, 2, 1]
        let picked = scores.withUnsafeBufferPointer { TopK.select(scores: $0.baseAddress!, count: 4, k: 4, excluding: [1, 1, 3, 9][...]) }
        #expect(picked.map(\.item) == [0, 2])
    }

    @Test func all_matchesPerUserReference_andPads() {
        let users = 600, items = 40, k = 12
        var input = randomCSR(rows: users, cols: items, density: 0.3, seed: 3)
        // User 5 has seen all but three items: padding after three.
        input = replacingRow(input, user: 5, with: (3..<items).map { Int32($0) })
        var rng = SplitMix64(seed: 11)
        let table = (0..<(users * items)).map { _ in Float(rng.below(20)) }
        let scorer = TableScorer(table: table, itemCount: items)
        let (got, scores) = TopK.all(scorer: scorer, input: input, k: k, parallel: Parallel(workers: 1))
        for u in 0..<users {
            let ref = TopKReference.select(scores: Array(table[(u * items)..<((u + 1) * items)]), k: k,
                                           excluding: Array(input.columns[input.row(u)]))
            let row = (0..<k).map { (item: got[u * k + $0], score: scores[u * k + $0]) }
            #expect(same(Array(row.prefix(ref.count)), ref), "user \(u)")
            #expect(row.dropFirst(ref.count).allSatisfy { $0.item == -1 && $0.score == -.infinity })
        }
        #expect(got[5 * k + 3] == -1)
    }

    @Test func all_isTheSameForOneOrManyWorkers() {
        let input = randomCSR(rows: 1000, cols: 50, density: 0.2, seed: 5)
        var rng = SplitMix64(seed: 13)
        let scorer = TableScorer(table: (0..<(1000 * 50)).map { _ in rng.unitFloat() }, itemCount: 50)
        let one = TopK.all(scorer: scorer, input: input, k: 10, parallel: Parallel(workers: 1))
        for w in [2, 3] {
            let many = TopK.all(scorer: scorer, input: input, k: 10, parallel: Parallel(workers: w))
            #expect(one.items == many.items)
            #expect(one.scores.map(\.bitPattern) == many.scores.map(\.bitPattern))
        }
    }
}

/// `m` with user `u`'s row replaced by `columns` (ratings 1).
func replacingRow(_ m: CSRMatrix, user u: Int, with columns: [Int32]) -> CSRMatrix {
    var start = [0], cols: [Int32] = [], values: [Float] = []
    for r in 0..<m.rows {
        if r == u {
            cols += columns
            values += [Float](repeating: 1, count: columns.count)
        } else {
            cols += m.columns[m.row(r)]
            values += m.values[m.row(r)]
        }
        start.append(cols.count)
    }
    return CSRMatrix(rows: m.rows, cols: m.cols, rowStart: start, columns: cols, values: values)
}
