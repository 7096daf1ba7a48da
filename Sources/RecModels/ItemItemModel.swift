import RecCore
import RecData

/// A ranking model whose scores are linear in the user's input through an item–item weight
/// matrix B: score_ui = Σ_j x_uj · B_ji over the items j the user rated. EASE is one (and any
/// other model of that form, such as DLAE, plugs in by conforming). Its reasons and similar
/// lists are read off B directly (`Reasons.linear`, `SimilarItems.fromWeights`).
public protocol ItemItemWeights: ItemScorer {
    /// The items B covers, ascending; items outside it are never scored nor used as input.
    var covered: [Int32] { get }
    /// B over the covered items, covered × covered, row-major: row p holds what a rating of
    /// covered item p adds to each covered item.
    var weights: [Float] { get }
    /// x_uj: what the input holds for a rating.
    func inputValue(_ rating: Float) -> Float
    /// The index of a catalogue item in `covered`, or −1.
    func coveredIndex(_ item: Int) -> Int
}

extension EASE: ItemItemWeights {
    public func inputValue(_ rating: Float) -> Float { x(rating) }
    public func coveredIndex(_ item: Int) -> Int { Int(position[item]) }
}

/// The reason for each recommendation: the rated movie whose removal from the user's input
/// lowers the recommendation's score most. Empty (−1) when no removal lowers it (no rated
/// movie adds a positive amount), and for models whose scores do not depend on the user's
/// input (popularity).
public enum Reasons {
    /// Users per task; fixed, so results never depend on the worker count.
    static let usersPerChunk = 64

    /// For a linear item–item model removing rating j lowers score_ui by exactly x_uj · B_ji,
    /// so the reason is the rated covered j with the largest positive term (ties: the lower
    /// item index).
    /// - Parameters:
    ///   - input: the users' ratings the lists were scored from (rows = users).
    ///   - items: the lists, users × k, −1 where empty.
    /// - Returns: users × k item indices, −1 where there is no reason or no recommendation.
    /// - Complexity: O(k · n_u) per user.
    public static func linear(_ model: some ItemItemWeights, input: CSRMatrix, items: [Int32], k: Int, parallel: Parallel) -> [Int32] {
        precondition(items.count == input.rows * k)
        let m = model.covered.count
        let b = model.weights
        let parts = parallel.mapChunks(count: input.rows, chunkSize: usersPerChunk) { users -> [Int32] in
            var out = [Int32](repeating: -1, count: users.count * k)
            for u in users {
                // The user's covered ratings, as (row of B, x, item).
                let rated = input.row(u).compactMap { e -> (row: Int, x: Float, item: Int32)? in
                    let p = model.coveredIndex(Int(input.columns[e]))
                    return p < 0 ? nil : (p * m, model.inputValue(input.values[e]), input.columns[e])
                }
                for r in 0..<k {
                    let i = Int(items[u * k + r])
                    guard i >= 0 else { continue }
                    let q = model.coveredIndex(i)
                    guard q >= 0 else { continue }
                    var best: Float = 0, reason: Int32 = -1
                    // Rows are sorted by item, so a strict `>` keeps the lower item on ties.
                    for (row, x, j) in rated {
                        let term = x * b[row + q]
                        if term > best { best = term; reason = j }
                    }
                    out[(u - users.lowerBound) * k + r] = reason
                }
            }
            return out
        }
        return parts.flatMap { $0 }
    }

    /// Exact for any model: each rated movie is removed from the user's input in turn and the
    /// k listed movies are scored again; the reason is the rated movie whose removal lowers
    /// the score most (only a positive fall counts; ties: the lower item index). It is the
    /// reasons of non-linear models and the brute-force twin of `linear`.
    /// - Parameter score: the model's scores at `queries`' entries given `input`'s rows
    ///   (both with the same rows), aligned with `queries.values`; called on one worker.
    /// - Complexity: n_u + 1 evaluations of the model per user, at k movies each.
    public static func leaveOneOut(
        score: @Sendable (_ input: CSRMatrix, _ queries: CSRMatrix) -> [Float], input: CSRMatrix, items: [Int32], k: Int,
        parallel: Parallel
    ) -> [Int32] {
        precondition(items.count == input.rows * k)
        let parts = parallel.mapChunks(count: input.rows, chunkSize: usersPerChunk) { users -> [Int32] in
            var out = [Int32](repeating: -1, count: users.count * k)
            for u in users {
                let slots = (0..<k).filter { items[u * k + $0] >= 0 }.sorted { items[u * k + $0] < items[u * k + $1] }
                let row = input.row(u)
                guard !slots.isEmpty, !row.isEmpty else { continue }
                // Row 0: every rating; row 1 + t: every rating but the t-th. Each row queries
                // the listed movies (sorted, as CSR rows are).
                let n = row.count + 1
                var start = [0], columns: [Int32] = [], values: [Float] = []
                var qStart = [0], qColumns: [Int32] = []
                for drop in -1..<row.count {
                    for (t, e) in row.enumerated() where t != drop {
                        columns.append(input.columns[e])
                        values.append(input.values[e])
                    }
                    start.append(columns.count)
                    qColumns += slots.map { items[u * k + $0] }
                    qStart.append(qColumns.count)
                }
                let rows = CSRMatrix(rows: n, cols: input.cols, rowStart: start, columns: columns, values: values)
                let queries = CSRMatrix(rows: n, cols: input.cols, rowStart: qStart, columns: qColumns,
                                        values: [Float](repeating: 0, count: qColumns.count))
                let s = score(rows, queries)
                let c = slots.count
                for (q, slot) in slots.enumerated() {
                    var best: Float = 0, reason: Int32 = -1
                    for (t, e) in row.enumerated() {
                        let fall = s[q] - s[(t + 1) * c + q]
                        if fall > best { best = fall; reason = input.columns[e] }
                    }
                    out[(u - users.lowerBound) * k + slot] = reason
                }
            }
            return out
        }
        return parts.flatMap { $0 }
    }
}

extension ItemScorer {
    /// The scores at `queries`' entries from `input`'s rows, by scoring every item of each row:
    /// `Reasons.leaveOneOut`'s door to any scorer.
    public func scores(input: CSRMatrix, queries: CSRMatrix) -> [Float] {
        let n = itemCount
        var out = [Float](repeating: 0, count: queries.nonZeros)
        guard input.rows > 0, n > 0 else { return out }
        let full = UnsafeMutablePointer<Float>.allocate(capacity: input.rows * n)
        defer { full.deallocate() }
        scores(users: 0..<input.rows, input: input, into: full)
        for r in 0..<queries.rows {
            for e in queries.row(r) { out[e] = full[r * n + Int(queries.columns[e])] }
        }
        return out
    }
}

/// "People who liked this also liked": each movie's most similar movies.
///
/// Lists are items × count, row-major, padded with −1 (and score 0); a movie never lists
/// itself, nor a movie that is not `allowed`, nor one with a similarity of 0 or less, so a movie
/// with fewer such neighbours gets a shorter list. Order: higher similarity first, ties by the
/// lower item index. Movies that are not `allowed` get an empty list.
public enum SimilarItems {
    static let itemsPerChunk = 64

    /// A linear item–item model's similarity of j to i: B_ij, what a rating of i adds to j's
    /// score.
    public static func fromWeights(_ model: some ItemItemWeights, allowed: [Bool], count: Int, parallel: Parallel)
        -> (items: [Int32], scores: [Float]) {
        let m = model.covered.count, b = model.weights, covered = model.covered
        // Rows and columns of B alone: a movie outside the cover has no neighbours and is no one's.
        var inCover = allowed
        for i in allowed.indices where model.coveredIndex(i) < 0 { inCover[i] = false }
        return select(itemCount: allowed.count, allowed: inCover, columns: covered, count: count, parallel: parallel) { i, row in
            let p = model.coveredIndex(i) * m
            for q in 0..<m { row[q] = b[p + q] }
        }
    }

    /// For models without item–item weights: the cosine of the two movies' sets of raters,
    /// |U_i ∩ U_j| / √(|U_i| · |U_j|), over `input` (rows = users).
    /// - Complexity: O(Σ_u n_u²) time, O(items) memory per worker.
    public static func cooccurrence(_ input: CSRMatrix, allowed: [Bool], count: Int, parallel: Parallel) -> (items: [Int32], scores: [Float]) {
        let byItem = input.transposed()
        let raters = (0..<byItem.rows).map { Float(byItem.row($0).count) }
        return select(itemCount: input.cols, allowed: allowed, count: count, parallel: parallel) { i, row in
            for e in byItem.row(i) {
                let u = Int(byItem.columns[e])
                for f in input.row(u) { row[Int(input.columns[f])] += 1 }
            }
            for j in 0..<input.cols where row[j] > 0 { row[j] /= (raters[i] * raters[j]).squareRoot() }
        }
    }

    /// Each allowed item's top `count` of the similarity row `fill` writes (into zeros).
    /// - Parameter columns: the items a row holds, ascending (nil: every item); `fill` writes
    ///   row[c] for the c-th of them.
    static func select(itemCount n: Int, allowed: [Bool], columns: [Int32]? = nil, count: Int, parallel: Parallel,
                       fill: (Int, UnsafeMutablePointer<Float>) -> Void) -> (items: [Int32], scores: [Float]) {
        precondition(allowed.count == n && count > 0)
        let width = columns?.count ?? n
        let parts = parallel.mapChunks(count: n, chunkSize: itemsPerChunk) { chunk -> ([Int32], [Float]) in
            var items = [Int32](repeating: -1, count: chunk.count * count), scores = [Float](repeating: 0, count: chunk.count * count)
            let row = UnsafeMutablePointer<Float>.allocate(capacity: max(1, width))
            defer { row.deallocate() }
            for i in chunk where allowed[i] {
                row.initialize(repeating: 0, count: width)
                fill(i, row)
                var own = -1
                for c in 0..<width {
                    let j = columns.map { Int($0[c]) } ?? c
                    if j == i { own = c }
                    if !allowed[j] || !(row[c] > 0) { row[c] = -.infinity }
                }
                let best = own < 0 ? TopK.select(scores: row, count: width, k: count, excluding: [Int32]()[...])
                    : TopK.select(scores: row, count: width, k: count, excluding: [Int32(own)][...])
                for (r, pick) in best.enumerated() where pick.score > 0 {
                    items[(i - chunk.lowerBound) * count + r] = columns.map { $0[Int(pick.item)] } ?? pick.item
                    scores[(i - chunk.lowerBound) * count + r] = pick.score
                }
            }
            return (items, scores)
        }
        return (parts.flatMap(\.0), parts.flatMap(\.1))
    }
}
