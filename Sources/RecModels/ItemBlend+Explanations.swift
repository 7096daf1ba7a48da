import RecCore
import RecData

// The reasons and similar lists of a blend, read off its members' item–item matrices rather
// than recomputed by leaving each rating out (which would score every movie n_u + 1 times per
// user and member).

extension ItemBlend {
    /// The reason for each recommendation of a blend. The blend scores a user's movie
    /// Σ_m w_m (s_mi − mean_m) / sd_m, with each member's mean and deviation over the user's
    /// candidates (`moments`). At that normalisation, removing rated movie j lowers the score of
    /// movie i by exactly Σ_m (w_m / sd_m) · x^m_j · B^m_ji over the item–item members
    /// (popularity adds nothing that depends on the user's ratings); the reason is the rated
    /// movie with the largest positive fall (ties: the lower item index), −1 when none falls.
    /// One member alone is that member's reasons (`Reasons.linear`, or none for popularity).
    /// - Parameters:
    ///   - input: the users' ratings the lists were scored from (rows = users).
    ///   - items: the lists, users × k, −1 where empty.
    /// - Returns: users × k item indices, −1 where there is no reason or no recommendation.
    /// - Complexity: one scoring of each member (for the moments), plus O(k · n_u · members)
    ///   per user.
    public func reasons(input: CSRMatrix, items: [Int32], k: Int, parallel: Parallel) -> [Int32] {
        precondition(items.count == input.rows * k)
        if let single {
            guard case .itemItem(let e) = single.model else { return [Int32](repeating: -1, count: items.count) }
            return Reasons.linear(e, input: input, items: items, k: k, parallel: parallel)
        }
        let used = weights.indices.filter { weights[$0] != 0 }
        let linear = used.compactMap { m -> (member: Int, model: EASE)? in
            if case .itemItem(let e) = members[m].model { (m, e) } else { nil }
        }
        let parts = parallel.mapChunks(count: input.rows, chunkSize: Reasons.usersPerChunk) { users -> [Int32] in
            let factors = userFactors(users: users, input: input, members: used)
            var out = [Int32](repeating: -1, count: users.count * k)
            for u in users {
                let r = u - users.lowerBound
                // Per item–item member: its factor w_m / sd_m and the user's covered ratings as
                // (row of B, x), aligned with the user's row (−1: not covered).
                let terms = linear.map { l -> (factor: Double, model: EASE, rows: [(row: Int, x: Float)]) in
                    let m = l.model.covered.count
                    let rows = input.row(u).map { e -> (row: Int, x: Float) in
                        let p = l.model.coveredIndex(Int(input.columns[e]))
                        return (p < 0 ? -1 : p * m, l.model.inputValue(input.values[e]))
                    }
                    return (factors[l.member * users.count + r], l.model, rows)
                }
                let rated = Array(input.row(u))
                for s in 0..<k {
                    let i = Int(items[u * k + s])
                    guard i >= 0 else { continue }
                    var best = 0.0, reason: Int32 = -1
                    // The user's ratings ascend by item, so a strict `>` keeps the lower item on ties.
                    for (t, e) in rated.enumerated() {
                        var fall = 0.0
                        for term in terms where term.factor != 0 {
                            let q = term.model.coveredIndex(i), row = term.rows[t].row
                            guard q >= 0, row >= 0 else { continue }
                            fall += term.factor * Double(term.rows[t].x * term.model.weights[row + q])
                        }
                        if fall > best { best = fall; reason = input.columns[e] }
                    }
                    out[r * k + s] = reason
                }
            }
            return out
        }
        return parts.flatMap { $0 }
    }

    /// w_m / sd_m of each member for each user of `users` (index member × users.count + row),
    /// as `blend` computes them; 0 where the member scores the user's candidates alike.
    func userFactors(users: Range<Int>, input: CSRMatrix, members used: [Int]) -> [Double] {
        let cover = scoredItems
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, members.count * users.count * (cover?.count ?? itemCount)))
        defer { buffer.deallocate() }
        let moments = scoreMembers(used, users: users, input: input, cover: cover, into: buffer)
        var factors = [Double](repeating: 0, count: members.count * users.count)
        for m in used {
            for r in 0..<users.count {
                let sd = moments[m * users.count + r].deviation
                factors[m * users.count + r] = sd > 0 ? weights[m] / sd : 0
            }
        }
        return factors
    }

    /// The item–item member whose similar lists stand for the blend's: the one of largest
    /// weight (the first on ties); nil when no member has an item–item matrix. A blend's
    /// normalisation is per user, so no single item–item matrix is the blend's own.
    public var similarListsModel: EASE? {
        var best: (weight: Double, model: EASE)?
        for (m, member) in members.enumerated() {
            guard case .itemItem(let e) = member.model, weights[m] > (best?.weight ?? 0) else { continue }
            best = (weights[m], e)
        }
        return best?.model
    }
}
