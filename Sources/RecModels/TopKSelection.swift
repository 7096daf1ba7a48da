import RecKit

/// A model that scores every item for a chunk of users, from their train rows.
///
/// `scores` may be called concurrently from several Dispatch workers (by `TopK.all`), each
/// call with its own `users` range and buffer; an implementation that calls BLAS should run
/// with one BLAS thread (`BLASThreads.single`) while Dispatch has more than one worker (PLATFORM-NOTES).
public protocol ItemScorer: Sendable {
    var itemCount: Int { get }
    /// scores: users.count × itemCount, row-major. `input` is the train CSR (rows = users).
    func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>)
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
    public static func select(
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
    public static func select(
        scores: UnsafePointer<Float>, count n: Int, k: Int, excluding seen: ArraySlice<Int32>
    ) -> [(item: Int32, score: Float)] {
        seen.withUnsafeBufferPointer { select(scores: scores, count: n, k: k, excluding: $0) }
    }

    /// Every user's top `k`: `items` and `scores` are users × k, row-major, padded with -1 and
    /// -infinity where a user has fewer than `k` unseen items. An item scored -infinity is how
    /// a scorer says "not offered" (a movie nobody rated, or one a model does not cover): it
    /// is never listed.
    ///
    /// Users are scored in chunks of `usersPerChunk` (one score buffer per chunk), chunks in
    /// parallel; each chunk writes only its own rows, so the result is the same bytes for any
    /// number of workers. Items in a user's row of `input` are excluded.
    /// - Complexity: one `scorer.scores` call per chunk, plus O(n log k) per user.
    public static func all<S: ItemScorer>(scorer: S, input: CSRMatrix, k: Int, parallel: Parallel) -> (items: [Int32], scores: [Float]) {
        precondition(k > 0, "k must be positive")
        precondition(input.cols == scorer.itemCount, "input has \(input.cols) columns, the scorer \(scorer.itemCount) items")
        let users = input.rows, n = scorer.itemCount
        var items = [Int32](repeating: -1, count: users * k)
        var scores = [Float](repeating: -.infinity, count: users * k)
        items.withUnsafeMutableBufferPointer { itemBuffer in
            scores.withUnsafeMutableBufferPointer { scoreBuffer in
                let outItems = SharedPointer(itemBuffer.baseAddress!), outScores = SharedPointer(scoreBuffer.baseAddress!)
                parallel.forEachChunk(count: users, chunkSize: usersPerChunk) { _, chunk in
                    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk.count * n)
                    defer { buffer.deallocate() }
                    scorer.scores(users: chunk, input: input, into: buffer)
                    input.columns.withUnsafeBufferPointer { columns in
                        for u in chunk {
                            let row = input.row(u)
                            let seen = UnsafeBufferPointer(rebasing: columns[row])
                            let best = select(scores: buffer + (u - chunk.lowerBound) * n, count: n, k: k, excluding: seen)
                            var r = 0
                            for pick in best where pick.score != -.infinity {
                                outItems[u * k + r] = pick.item
                                outScores[u * k + r] = pick.score
                                r += 1
                            }
                        }
                    }
                }
            }
        }
        return (items, scores)
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
public enum TopKReference {
    /// Full sort of every unseen item; same order and result as `TopK.select`.
    public static func select(scores: [Float], k: Int, excluding seen: [Int32]) -> [(item: Int32, score: Float)] {
        let excluded = Set(seen)
        let candidates = scores.indices.filter { !excluded.contains(Int32($0)) }.map { (item: Int32($0), score: scores[$0]) }
        let sorted = candidates.sorted { TopK.ranksBefore($0.score, $0.item, $1.score, $1.item) }
        return Array(sorted.prefix(max(0, k)))
    }
}
