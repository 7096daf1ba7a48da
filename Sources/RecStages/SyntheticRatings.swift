import Foundation
import RecKit

/// A seeded, heavy-tailed ratings matrix built in memory, for timing training at shapes the
/// real data does not have (`rec-bench --synthetic USERSxITEMSxRATINGS`). Never written to disk.
///
/// Shape of the tails, chosen to resemble MovieLens-25M (users rate at least 20 movies, a
/// median user about 80, a few over 5,000; the most rated movie is rated by about half the
/// users, half the movies have fewer than 10 ratings):
/// - ratings per user: `min(items / 4, 20 + c · w_u)`, `w_u = exp(1.245 z)` with z standard
///   normal, c such that they sum to R;
/// - movie popularity: `min(U / 2, c · exp(3.0 z))`, c such that the popularities sum to R;
///   each user draws distinct movies with probability proportional to popularity;
/// - values 1…5: `round(3.5 + user bias + movie bias + noise)`, so the model has something to learn.
/// With 162,541 × 59,047 × 25M this gives users of 20 … ~15,000 ratings, ~half the movies under
/// 10 ratings and the top movies near 81,000 (printed by `rec-bench --synthetic`).
public enum SyntheticRatings {
    public struct Shape: Sendable, Equatable, CustomStringConvertible {
        public var users: Int
        public var items: Int
        public var ratings: Int

        public init(users: Int, items: Int, ratings: Int) {
            self.users = users
            self.items = items
            self.ratings = ratings
        }

        /// `USERSxITEMSxRATINGS`, e.g. `162541x59047x25000000`.
        public init(parsing text: String) throws {
            let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard parts.count == 3, let u = parts[0], let i = parts[1], let r = parts[2] else {
                throw RecError(.config, "--synthetic '\(text)': expected USERSxITEMSxRATINGS, e.g. 162541x59047x25000000")
            }
            self.init(users: u, items: i, ratings: r)
            try check()
        }

        public var description: String { "\(users) × \(items), \(ratings) ratings" }

        static let minimumPerUser = 20

        /// The limits the generator needs: at least one user and item, every user 20 ratings
        /// (or every item when there are fewer), at most a quarter of the items each, and
        /// index types that hold the sizes.
        public func check() throws {
            let perUserFloor = Swift.min(Shape.minimumPerUser, items)
            guard users > 0, items > 0, items <= Int(Int32.max) else {
                throw RecError(.config, "synthetic shape \(self): users and items must be positive (items < 2^31)")
            }
            let (floorTotal, o1) = users.multipliedReportingOverflow(by: perUserFloor)
            let (capTotal, o2) = users.multipliedReportingOverflow(by: Shape.perUserCap(items))
            guard !o1, !o2, ratings >= floorTotal, ratings <= capTotal else {
                throw RecError(.config, "synthetic shape \(self): ratings must lie between \(perUserFloor) and \(Shape.perUserCap(items)) per user")
            }
        }

        static func perUserCap(_ items: Int) -> Int { Swift.max(Swift.min(items, minimumPerUser), items / 4) }
    }

    /// The matrix (users × items, each row's columns ascending), the same for a given shape
    /// and seed whatever the number of workers.
    public static func matrix(_ shape: Shape, seed: UInt64, parallel: Parallel) throws -> CSRMatrix {
        try shape.check()
        let (users, items) = (shape.users, shape.items)
        let counts = userCounts(shape, seed: seed)
        let popularity = itemPopularity(shape, seed: seed)
        let alias = AliasTable(weights: popularity)
        var biasRng = SplitMix64(seed: seed, stream: 3)
        let itemBias = (0..<items).map { _ in Float(0.5 * biasRng.normal()) }
        var rowStart = [Int](repeating: 0, count: users + 1)
        for u in 0..<users { rowStart[u + 1] = rowStart[u] + counts[u] }
        var columns = [Int32](repeating: 0, count: shape.ratings)
        var values = [Float](repeating: 0, count: shape.ratings)
        let chunk = 1024
        columns.withUnsafeMutableBufferPointer { cb in
            values.withUnsafeMutableBufferPointer { vb in
                let (col, val) = (SharedPointer(cb.baseAddress!), SharedPointer(vb.baseAddress!))
                parallel.forEachChunk(count: users, chunkSize: chunk) { _, range in
                    // Marks of the current user's movies: the user index + 1 (no clearing).
                    var mark = [Int32](repeating: 0, count: items)
                    for u in range {
                        var rng = SplitMix64(seed: seed, stream: 0x5EED_0000 &+ UInt64(u))
                        let userBias = 0.4 * rng.normal()
                        let first = rowStart[u]
                        var n = 0, rejected = 0
                        while n < counts[u] {
                            // Popular movies are drawn again and again by heavy users: past a
                            // bound on rejections, draw uniformly (a user holds at most a
                            // quarter of the movies, so that accepts 3 draws in 4).
                            let i = rejected > 8 * counts[u] + 64 ? rng.below(items) : alias.draw(&rng)
                            guard mark[i] != Int32(truncatingIfNeeded: u + 1) else { rejected += 1; continue }
                            mark[i] = Int32(truncatingIfNeeded: u + 1)
                            col[first + n] = Int32(i)
                            n += 1
                        }
                        var row = UnsafeMutableBufferPointer(start: col.base + first, count: n)
                        row.sort()
                        for k in 0..<n {
                            let x = 3.5 + userBias + Double(itemBias[Int(row[k])]) + 0.8 * rng.normal()
                            val[first + k] = Float(Swift.min(5, Swift.max(1, x.rounded())))
                        }
                    }
                }
            }
        }
        return CSRMatrix(rows: users, cols: items, rowStart: rowStart, columns: columns, values: values)
    }

    /// Ratings per user: a floor of 20 plus a log-normal share of the rest, capped at a quarter
    /// of the items, scaled to sum to exactly `shape.ratings`.
    static func userCounts(_ shape: Shape, seed: UInt64) -> [Int] {
        let floor = Swift.min(Shape.minimumPerUser, shape.items), cap = Shape.perUserCap(shape.items)
        var rng = SplitMix64(seed: seed, stream: 1)
        let w = (0..<shape.users).map { _ in exp(1.245 * rng.normal()) }
        // Bisection on the scale c: Σ min(cap, floor + ⌊c·w⌋) reaches R (monotone in c).
        func counts(_ c: Double) -> [Int] { w.map { Swift.min(cap, floor + Int(Swift.min(c * $0, Double(cap)))) } }
        var (lo, hi) = (0.0, Double(shape.ratings))
        for _ in 0..<100 {
            let c = (lo + hi) / 2
            if counts(c).reduce(0, +) <= shape.ratings { lo = c } else { hi = c }
        }
        var counts = counts(lo)
        // Hand out what rounding left (or take back), one at a time round-robin over users
        // with room, starting from the heaviest.
        var missing = shape.ratings - counts.reduce(0, +)
        let byWeight = (0..<shape.users).sorted { w[$0] > w[$1] }
        while missing != 0 {
            var moved = false
            for u in byWeight where missing != 0 {
                if missing > 0, counts[u] < cap { counts[u] += 1; missing -= 1; moved = true }
                if missing < 0, counts[u] > floor { counts[u] -= 1; missing += 1; moved = true }
            }
            precondition(moved, "shape checked: the total fits between the floor and the cap")
        }
        return counts
    }

    /// Movie popularity weights: log-normal (σ = 3.0), capped at half the users, scaled to sum
    /// to the number of ratings.
    static func itemPopularity(_ shape: Shape, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed, stream: 2)
        let e = (0..<shape.items).map { _ in exp(3.0 * rng.normal()) }
        let cap = Swift.max(1, Double(shape.users) / 2)
        // Bisection on the scale c: Σ min(cap, c·e) = R (monotone in c).
        var (lo, hi) = (1e-12, 1e12)
        for _ in 0..<200 {
            let c = (lo * hi).squareRoot()
            if e.reduce(0, { $0 + Swift.min(cap, c * $1) }) < Double(shape.ratings) { lo = c } else { hi = c }
        }
        return e.map { Swift.min(cap, hi * $0) }
    }
}

/// Walker's alias method: O(1) draws from a fixed discrete distribution.
struct AliasTable: Sendable {
    let probability: [Double]
    let alias: [Int]

    init(weights: [Double]) {
        let n = weights.count
        let total = weights.reduce(0, +)
        var p = weights.map { $0 * Double(n) / total }
        var alias = [Int](repeating: 0, count: n)
        var small = (0..<n).filter { p[$0] < 1 }, large = (0..<n).filter { p[$0] >= 1 }
        while let s = small.popLast() {
            guard let l = large.popLast() else { p[s] = 1; continue }
            alias[s] = l
            p[l] -= 1 - p[s]
            if p[l] < 1 { small.append(l) } else { large.append(l) }
        }
        for l in large { p[l] = 1 }
        probability = p
        self.alias = alias
    }

    func draw(_ rng: inout SplitMix64) -> Int {
        let i = rng.below(probability.count)
        return Double(rng.next() >> 11) * 0x1p-53 < probability[i] ? i : alias[i]
    }
}

extension SplitMix64 {
    /// Standard normal (Box–Muller, one of the pair).
    mutating func normal() -> Double {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53, u2 = Double(next() >> 11) * 0x1p-53
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
