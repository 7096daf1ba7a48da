import RecCore
import RecData

/// A model that scores every item for a chunk of users, from their train rows.
///
/// `scores` may be called concurrently from several Dispatch workers (by `TopK.lists`), each
/// call with its own `users` range and buffer; an implementation that calls BLAS should run
/// with one BLAS thread (`BLASThreads.single`) while Dispatch has more than one worker: one
/// BLAS thread per Dispatch worker measured 1.5–1.65× faster on two workers than nesting both
/// (sgemm 6040 × 200 × 3706 on the 2-core test machine; see `BLAS.singleThreaded`).
public protocol ItemScorer: Sendable {
    var itemCount: Int { get }
    /// scores: users.count × itemCount, row-major. `input` is the train CSR (rows = users).
    func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>)
    /// The items the scorer scores, ascending, when it scores fewer than all (every other item
    /// is never offered: EASE's cover); nil = every item. Lets `TopK.lists` score and select
    /// over these alone.
    var scoredItems: [Int32]? { get }
    /// The scores of `scoredItems` alone, users.count × scoredItems.count, row-major; only
    /// called when `scoredItems` is not nil. The default scores every item and keeps those.
    func scoresOfScoredItems(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>)
    /// Scores that are the same for every user (popularity), when they are: `TopK.lists` then
    /// walks one global order instead of scoring each user. nil = scores depend on the user.
    var sharedScores: [Float]? { get }
}

extension ItemScorer {
    public var scoredItems: [Int32]? { nil }
    public var sharedScores: [Float]? { nil }

    public func scoresOfScoredItems(users: Range<Int>, input: CSRMatrix, into out: UnsafeMutablePointer<Float>) {
        guard let subset = scoredItems else { return scores(users: users, input: input, into: out) }
        let n = itemCount, m = subset.count
        let full = UnsafeMutablePointer<Float>.allocate(capacity: max(1, users.count * n))
        defer { full.deallocate() }
        scores(users: users, input: input, into: full)
        for r in 0..<users.count {
            for (k, i) in subset.enumerated() { out[r * m + k] = full[r * n + Int(i)] }
        }
    }
}

/// Top-k selection over one user's scores, and over every user of a scorer.
///
/// Order: higher score first, ties by lower item index. NaN ranks below every number
/// (including -infinity), so a model that produced NaN is visible at the bottom of a list
/// rather than scrambling it.
public enum TopK {
    /// Users scored per chunk by `all`: fixed, so results never depend on the worker count.
    public static let usersPerChunk = 256

    /// True when (a, ia) ranks strictly before (b, ib).
    @inline(__always)
    static func ranksBefore(_ a: Float, _ ia: Int32, _ b: Float, _ ib: Int32) -> Bool {
        if a > b { return true }
        if a < b { return false }
        if a == b { return ia < ib }
        // At least one is NaN.
        if a.isNaN && b.isNaN { return ia < ib }
        return b.isNaN
    }

    /// The `k` best items of `scores[0..<n]`, leaving out `seen`.
    ///
    /// Partial selection: a size-k min-heap whose root is the worst kept item; the seen list is
    /// walked alongside the items (no dense mask). Items are visited in increasing index, so a
    /// candidate that only ties the root never displaces it.
    /// - Parameters:
    ///   - seen: the user's train items, sorted ascending (duplicates and indices ≥ n are
    ///     tolerated).
    /// - Returns: at most `k` pairs, best first; fewer when fewer than `k` items are unseen.
    /// - Complexity: O(n log k + k log k + seen.count).
    static func select(
        scores: UnsafePointer<Float>, count n: Int, k: Int, excluding seen: UnsafeBufferPointer<Int32>
    ) -> [(item: Int32, score: Float)] {
        guard k > 0, n > 0 else { return [] }
        var heap = MinHeap(capacity: min(k, n))
        var from = 0
        for s in seen {
            let stop = min(Int(s), n)
            if stop > from { heap.offer(scores, from..<stop) }
            from = max(from, stop + 1)
            if from >= n { break }
        }
        if from < n { heap.offer(scores, from..<n) }
        return heap.sortedBestFirst()
    }

    /// `select` over an array slice of seen items (e.g. `csr.columns[csr.row(u)]`).
    static func select(
        scores: UnsafePointer<Float>, count n: Int, k: Int, excluding seen: ArraySlice<Int32>
    ) -> [(item: Int32, score: Float)] {
        seen.withUnsafeBufferPointer { select(scores: scores, count: n, k: k, excluding: $0) }
    }

    /// Every user's top `k`: `items` and `scores` are users × k, row-major, padded with -1 and
    /// -infinity where a user has fewer than `k` unseen items. An item scored -infinity is how
    /// a scorer says "not offered" (a movie nobody rated, or one a model does not cover): it
    /// is never listed. Items in a user's row of `input` are excluded. `lists` without
    /// excluded items: memory bounded by one score block per worker, the same bytes for any
    /// number of workers.
    public static func all<S: ItemScorer>(scorer: S, input: CSRMatrix, k: Int, parallel: Parallel) -> (items: [Int32], scores: [Float]) {
        lists(scorer: scorer, input: input, k: k, parallel: parallel)
    }
}

/// A fixed-capacity min-heap of (score, item) under `TopK.ranksBefore`: the root is the worst
/// item kept so far.
struct MinHeap {
    private(set) var scores: [Float]
    private(set) var items: [Int32]
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        scores = []
        items = []
        scores.reserveCapacity(capacity)
        items.reserveCapacity(capacity)
    }

    /// Offers items `range` (ascending) with their scores.
    mutating func offer(_ s: UnsafePointer<Float>, _ range: Range<Int>) {
        var i = range.lowerBound
        while i < range.upperBound && scores.count < capacity {
            push(s[i], Int32(i))
            i += 1
        }
        guard i < range.upperBound else { return }
        var rootScore = scores[0]
        while i < range.upperBound {
            let x = s[i]
            // A later item never wins a tie; a number beats a NaN root.
            if x > rootScore || (rootScore.isNaN && !x.isNaN) {
                replaceRoot(x, Int32(i))
                rootScore = scores[0]
            }
            i += 1
        }
    }

    /// Is the element at `a` worse than the one at `b` (ranks after it)?
    @inline(__always)
    private func worse(_ a: Int, _ b: Int) -> Bool {
        TopK.ranksBefore(scores[b], items[b], scores[a], items[a])
    }

    private mutating func push(_ score: Float, _ item: Int32) {
        scores.append(score)
        items.append(item)
        var c = scores.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard worse(c, p) else { break }
            scores.swapAt(c, p)
            items.swapAt(c, p)
            c = p
        }
    }

    private mutating func replaceRoot(_ score: Float, _ item: Int32) {
        scores[0] = score
        items[0] = item
        var p = 0
        let n = scores.count
        while true {
            let l = 2 * p + 1, r = l + 1
            var w = p
            if l < n && worse(l, w) { w = l }
            if r < n && worse(r, w) { w = r }
            if w == p { return }
            scores.swapAt(p, w)
            items.swapAt(p, w)
            p = w
        }
    }

    /// The kept items, best first (sorts only the k kept).
    func sortedBestFirst() -> [(item: Int32, score: Float)] {
        zip(items, scores).map { (item: $0, score: $1) }
            .sorted { TopK.ranksBefore($0.score, $0.item, $1.score, $1.item) }
    }
}

/// Plain twins of `TopK`, for tests: obviously correct rather than fast.
package enum TopKReference {
    /// Full sort of every unseen item; same order and result as `TopK.select`.
    package static func select(scores: [Float], k: Int, excluding seen: [Int32]) -> [(item: Int32, score: Float)] {
        let excluded = Set(seen)
        let candidates = scores.indices.filter { !excluded.contains(Int32($0)) }.map { (item: Int32($0), score: scores[$0]) }
        let sorted = candidates.sorted { TopK.ranksBefore($0.score, $0.item, $1.score, $1.item) }
        return Array(sorted.prefix(max(0, k)))
    }
}
