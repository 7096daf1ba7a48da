@testable import RecCore
@testable import RecData

/// Seeded random test data, for the tests that compare worker counts.
enum RandomData {
    /// A users × items CSR of ratings 1...5, each row with `perUser` distinct, sorted items.
    static func ratings(users: Int, items: Int, perUser: ClosedRange<Int>, seed: UInt64) -> CSRMatrix {
        var rng = SplitMix64(seed: seed)
        var rowStart = [0], columns: [Int32] = [], values: [Float] = []
        for _ in 0..<users {
            let n = perUser.lowerBound + rng.below(perUser.count)
            var all = (0..<Int32(items)).map { $0 }
            rng.shuffle(&all)
            columns += all.prefix(n).sorted()
            values += (0..<n).map { _ in Float(1 + rng.below(5)) }
            rowStart.append(columns.count)
        }
        return CSRMatrix(rows: users, cols: items, rowStart: rowStart, columns: columns, values: values)
    }

    /// Top-k lists of distinct random items per user; some users get fewer than `k` (padded
    /// with -1).
    static func lists(users: Int, items: Int, k: Int, seed: UInt64) -> TopKLists {
        var rng = SplitMix64(seed: seed)
        var out: [Int32] = []
        for _ in 0..<users {
            var all = (0..<Int32(items)).map { $0 }
            rng.shuffle(&all)
            let n = rng.below(5) == 0 ? rng.below(k + 1) : k
            out += all.prefix(n) + [Int32](repeating: -1, count: k - n)
        }
        let zeros = [Float](repeating: 0, count: out.count)
        let ids = IdMaps(userIds: (1...Int32(users)).map { $0 }, itemIds: (1...Int32(items)).map { $0 })
        return TopKLists(k: k, items: out, scores: zeros, predictedRatings: zeros, ids: ids)
    }
}
