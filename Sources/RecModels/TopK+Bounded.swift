import Foundation
import RecCore
import RecData

extension TopK {
    /// Bytes of scores one chunk of users may hold: the users of a chunk are as many as fit in
    /// it (at most `usersPerChunk`), so the memory of scoring is `workers` × this, whatever
    /// the numbers of users and items.
    static let scoreBlockBytes = 64 << 20

    /// Users scored together when a score row has `width` entries: `usersPerChunk`, or fewer
    /// when that many rows would pass `scoreBlockBytes`. Depends on the width alone, never on
    /// the number of workers.
    public static func usersPerChunk(width: Int) -> Int {
        max(1, min(usersPerChunk, scoreBlockBytes / max(1, width * MemoryLayout<Float>.stride)))
    }

    /// Bytes `lists` needs besides its inputs and the scorer: one score block per worker and
    /// the lists (users × k items and scores).
    public static func listBytes(users: Int, items: Int, k: Int, workers: Int) -> Int {
        let block = usersPerChunk(width: items) * items * MemoryLayout<Float>.stride
        return MemoryPlan.sum([MemoryPlan.product(block, max(1, workers)), MemoryPlan.product(users, k, 8)])
    }

    /// Every user's top `k` of `scorer` over the rows of `input`, leaving out each user's own
    /// items, the `excluded` items (ascending; e.g. movies nobody rated) and any item scored
    /// −infinity: `items` and `scores` are users × k, row-major, padded with −1 and −infinity.
    ///
    /// Memory is bounded by one score block per worker (`scoreBlockBytes`), never users ×
    /// items. A scorer with `scoredItems` is scored and selected over those alone; one with
    /// `sharedScores` is not scored per user at all: its items are sorted once and each user
    /// takes the first k it has not rated. The lists are those of `all` (the same order: higher
    /// score first, ties by lower index, NaN last) and the same bytes for any number of
    /// workers.
    /// - Parameter progress: called with (chunks done, chunks) as chunks finish, from any worker.
    public static func lists(
        scorer: any ItemScorer, input: CSRMatrix, k: Int, excluding excluded: [Int] = [], parallel: Parallel,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) -> (items: [Int32], scores: [Float]) {
        precondition(k > 0, "k must be positive")
        precondition(input.cols == scorer.itemCount, "input has \(input.cols) columns, the scorer \(scorer.itemCount) items")
        let users = input.rows, n = scorer.itemCount
        var items = [Int32](repeating: -1, count: users * k)
        var scores = [Float](repeating: -.infinity, count: users * k)
        var offered = [Bool](repeating: true, count: n)
        for i in excluded where i >= 0 && i < n { offered[i] = false }
        let done = ProgressCounter(total: 0, report: progress)
        items.withUnsafeMutableBufferPointer { itemBuffer in
            scores.withUnsafeMutableBufferPointer { scoreBuffer in
                let out = Output(items: SharedPointer(itemBuffer.baseAddress!), scores: SharedPointer(scoreBuffer.baseAddress!), k: k)
                if let shared = scorer.sharedScores, shared.count == n {
                    sharedOrderLists(shared, input: input, offered: offered, out: out, done: done, parallel: parallel)
                } else {
                    scoredLists(scorer, input: input, offered: offered, out: out, done: done, parallel: parallel)
                }
            }
        }
        return (items, scores)
    }

    /// Where the lists go: users × k items and scores, row-major.
    struct Output: Sendable {
        let items: SharedPointer<Int32>
        let scores: SharedPointer<Float>
        let k: Int
    }

    /// Scores that are the same for every user: one order for everyone, from which each user
    /// takes the first k they have not rated.
    static func sharedOrderLists(_ shared: [Float], input: CSRMatrix, offered: [Bool], out: Output, done: ProgressCounter, parallel: Parallel) {
        let n = shared.count, k = out.k
        let order = (0..<n).filter { offered[$0] && shared[$0] != -.infinity }.map { Int32($0) }
            .sorted { ranksBefore(shared[Int($0)], $0, shared[Int($1)], $1) }
        let chunks = Parallel.chunks(count: input.rows, chunkSize: 4096)
        done.start(total: chunks.count)
        parallel.forEachChunk(count: input.rows, chunkSize: 4096) { _, chunk in
            for u in chunk {
                let seen = input.columns[input.row(u)]
                var r = 0
                for i in order where r < k {
                    if seen.sortedIndex(of: i) != nil { continue }
                    out.items[u * k + r] = i
                    out.scores[u * k + r] = shared[Int(i)]
                    r += 1
                }
            }
            done.step()
        }
    }

    /// Scores per user, a block of users at a time in a pooled buffer, over the scorer's
    /// `scoredItems` when it has them (every item otherwise); each user's best k of what they
    /// have not rated and is offered.
    static func scoredLists(_ scorer: any ItemScorer, input: CSRMatrix, offered: [Bool], out: Output, done: ProgressCounter, parallel: Parallel) {
        let n = scorer.itemCount, k = out.k
        let subset = scorer.scoredItems
        let width = subset?.count ?? n
        // Catalogue item → its index among the scored items (−1: not scored).
        var position = [Int32](repeating: -1, count: subset == nil ? 0 : n)
        if let subset { for (p, i) in subset.enumerated() { position[Int(i)] = Int32(p) } }
        // Scored items that are excluded: set to −infinity after scoring.
        let blocked = (0..<width).filter { p in !offered[subset.map { Int($0[p]) } ?? p] }
        let rows = usersPerChunk(width: width)
        done.start(total: Parallel.chunks(count: input.rows, chunkSize: rows).count)
        let pool = BufferPool(capacity: rows * width)
        parallel.forEachChunk(count: input.rows, chunkSize: rows) { _, chunk in
            let buffer = pool.take()
            defer { pool.give(buffer) }
            if subset == nil {
                scorer.scores(users: chunk, input: input, into: buffer)
            } else {
                scorer.scoresOfScoredItems(users: chunk, input: input, into: buffer)
            }
            var mapped: [Int32] = []
            input.columns.withUnsafeBufferPointer { columns in
                for u in chunk {
                    let row = buffer + (u - chunk.lowerBound) * width
                    for p in blocked { row[p] = -.infinity }
                    let best: [(item: Int32, score: Float)]
                    if subset == nil {
                        best = select(scores: row, count: width, k: k, excluding: UnsafeBufferPointer(rebasing: columns[input.row(u)]))
                    } else {
                        // The user's items among the scored ones, as positions (still ascending).
                        mapped.removeAll(keepingCapacity: true)
                        for q in input.row(u) where position[Int(columns[q])] >= 0 { mapped.append(position[Int(columns[q])]) }
                        best = mapped.withUnsafeBufferPointer { select(scores: row, count: width, k: k, excluding: $0) }
                    }
                    var r = 0
                    for pick in best where pick.score != -.infinity {
                        out.items[u * k + r] = subset.map { $0[Int(pick.item)] } ?? pick.item
                        out.scores[u * k + r] = pick.score
                        r += 1
                    }
                }
            }
            done.step()
        }
    }
}

/// Score buffers handed from chunk to chunk, so a run allocates one per worker rather than one
/// per chunk (each fresh allocation of tens of MB costs its page faults again).
final class BufferPool: Sendable {
    private let free = Locked<[UnsafeMutablePointer<Float>]>([])
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func take() -> UnsafeMutablePointer<Float> {
        free.withLock { $0.popLast() } ?? .allocate(capacity: capacity)
    }

    func give(_ p: UnsafeMutablePointer<Float>) { free.withLock { $0.append(p) } }

    deinit { free.withLock { for p in $0 { p.deallocate() } } }
}

/// Counts finished chunks for a progress callback that any worker may call.
final class ProgressCounter: Sendable {
    private let counts: Locked<(done: Int, total: Int)>
    private let report: (@Sendable (Int, Int) -> Void)?

    init(total: Int, report: (@Sendable (Int, Int) -> Void)?) {
        counts = Locked((0, total))
        self.report = report
    }

    func start(total: Int) { counts.withLock { $0.total = total } }

    func step() {
        guard let report else { return }
        let (d, t) = counts.withLock { c in c.done += 1; return (c.done, c.total) }
        report(d, t)
    }
}
