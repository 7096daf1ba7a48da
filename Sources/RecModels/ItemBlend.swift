import Foundation
import RecCore
import RecStore
import RecData

/// One model of a blend: an item–item matrix (EASE or DLAE) or popularity.
public struct BlendMember: Sendable {
    public enum Model: Sendable {
        case itemItem(EASE)
        case popularity(MostPopular)
    }

    public let kind: RankingChoiceSettings.Member
    public let model: Model
    /// DLAE's dropout p (nil for the others).
    public let dropout: Double?

    public init(_ kind: RankingChoiceSettings.Member, _ model: Model, dropout: Double? = nil) {
        self.kind = kind
        self.model = model
        self.dropout = dropout
    }

    public var scorer: any ItemScorer {
        switch model {
        case .itemItem(let e): e
        case .popularity(let p): p
        }
    }

    /// λ (and p) as they read in logs and reports: `EASE λ 300`, `DLAE λ 300, p 0.5`.
    public var label: String {
        switch model {
        case .itemItem(let e):
            "\(kind == .dlae ? "DLAE" : "EASE") λ \(number(e.lambda))" + (dropout.map { ", p \(number($0))" } ?? "")
        case .popularity: "popularity"
        }
    }

    /// The member's settings for `metrics.json` and the artefact's meta.
    public var settings: [String: JSONValue] {
        var s: [String: JSONValue] = ["model": .string(kind.rawValue)]
        if case .itemItem(let e) = model {
            s["lambda"] = .double(e.lambda)
            s["weighting"] = .string(e.weighting.rawValue)
            s["ratingMax"] = .double(Double(e.ratingMax))
            s["coveredItems"] = .int(e.covered.count)
        }
        if let dropout { s["dropout"] = .double(dropout) }
        return s
    }
}

/// A number without a trailing `.0`.
func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }

/// Lists from several models at once: each member's scores are z-scored per user (mean and
/// standard deviation over the movies the user has not rated and the member scores), then added
/// with `weights`. Ranking is unchanged by a positive scale and shift of one user's scores, so
/// z-scores put members of different scales (EASE's, popularity counts) on one footing.
///
/// A blend with one non-zero weight returns that member's own scores, unchanged: its lists are
/// exactly the member's. A movie that a member with a non-zero weight does not score (−infinity,
/// outside a blocked solver's cover) is not offered. Each user's scores depend on that user's row
/// alone, in a fixed order of additions (Double), so the same for any worker count.
public struct ItemBlend: ItemScorer {
    /// Its model artefact's meta `type`.
    static let artefactType = "blend"

    public let members: [BlendMember]
    public let weights: [Double]
    public let itemCount: Int

    public init(members: [BlendMember], weights: [Double]) {
        precondition(!members.isEmpty && members.count == weights.count, "one weight per member")
        precondition(Set(members.map(\.scorer.itemCount)).count == 1, "members must score the same catalogue")
        self.members = members
        self.weights = weights
        self.itemCount = members[0].scorer.itemCount
    }

    /// The member whose scores the blend passes on unchanged, when only one weight is not 0.
    public var single: BlendMember? {
        let used = weights.indices.filter { weights[$0] != 0 }
        return used.count == 1 ? members[used[0]] : nil
    }

    /// The used members' common cover, when every used member scores the same subset of
    /// movies (EASE and DLAE of one input under the blocked solver): the blend is then scored
    /// and selected over it alone, with the same scores (the other movies are −infinity in every
    /// member, out of the moments and of the lists either way).
    public var scoredItems: [Int32]? {
        if let single { return single.scorer.scoredItems }
        return Self.commonCover(weights.indices.filter { weights[$0] != 0 }.map { members[$0] })
    }

    public var sharedScores: [Float]? { single?.scorer.sharedScores }

    /// The subset every one of `members` scores, when they all score the same one; nil when any
    /// scores every movie or they differ.
    static func commonCover(_ members: [BlendMember]) -> [Int32]? {
        guard let first = members.first?.scorer.scoredItems else { return nil }
        return members.dropFirst().allSatisfy { $0.scorer.scoredItems == first } ? first : nil
    }

    public func scoresOfScoredItems(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        if let single { return single.scorer.scoresOfScoredItems(users: users, input: input, into: scores) }
        guard let cover = scoredItems else { return self.scores(users: users, input: input, into: scores) }
        blend(users: users, input: input, cover: cover, into: scores)
    }

    public func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        if let single { return single.scorer.scores(users: users, input: input, into: scores) }
        blend(users: users, input: input, cover: nil, into: scores)
    }

    /// The blended scores of every movie (`cover` nil) or of the members' common cover.
    func blend(users: Range<Int>, input: CSRMatrix, cover: [Int32]?, into scores: UnsafeMutablePointer<Float>) {
        let width = cover?.count ?? itemCount, block = users.count * width
        let used = weights.indices.filter { weights[$0] != 0 }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, members.count * block))
        defer { buffer.deallocate() }
        let moments = scoreMembers(used, users: users, input: input, cover: cover, into: buffer)
        Self.combine(buffer, block: block, moments: moments, weights: weights, users: users, items: width, into: scores)
    }

    /// Scores `users` with each of the `used` members into its block of `buffer` (member m's at
    /// `buffer + m * users.count * width`: every movie's, or the common `cover`'s), and returns
    /// their moments over each user's candidates (`moments`).
    func scoreMembers(_ used: [Int], users: Range<Int>, input: CSRMatrix, cover: [Int32]?, into buffer: UnsafeMutablePointer<Float>) -> [Moments] {
        Self.scoreMembers(members, used, users: users, input: input, cover: cover,
                          position: cover.map { Self.positions($0, items: itemCount) }, into: buffer)
    }

    /// `scoreMembers` over `members`, with the cover's `position`s already made (`positions`).
    static func scoreMembers(
        _ members: [BlendMember], _ used: [Int], users: Range<Int>, input: CSRMatrix, cover: [Int32]?, position: [Int32]?,
        into buffer: UnsafeMutablePointer<Float>
    ) -> [Moments] {
        let width = cover?.count ?? members[0].scorer.itemCount, block = users.count * width
        for m in used {
            if cover == nil {
                members[m].scorer.scores(users: users, input: input, into: buffer + m * block)
            } else {
                members[m].scorer.scoresOfScoredItems(users: users, input: input, into: buffer + m * block)
            }
        }
        var rated = [Bool](repeating: false, count: width)
        return moments(buffer, block: block, members: used, users: users, input: input, items: width, position: position, rated: &rated)
    }

    /// For each catalogue item, its index in `cover`, or −1.
    static func positions(_ cover: [Int32], items: Int) -> [Int32] {
        var position = [Int32](repeating: -1, count: items)
        for (k, i) in cover.enumerated() { position[Int(i)] = Int32(k) }
        return position
    }

    /// A member's mean and standard deviation over one user's candidates.
    struct Moments {
        var mean = 0.0
        var deviation = 0.0
    }

    /// The moments of each of `members`' scores for each user of `users` (index member ×
    /// users.count + row), over the movies the user has not rated that the member scores; the
    /// members' score blocks at `scores + m * block`, rows of `n` scores: every movie's, or
    /// (`position`: each movie's index among them, or −1) those of a cover. `rated`: n × false,
    /// left so.
    static func moments(_ scores: UnsafeMutablePointer<Float>, block: Int, members: [Int], users: Range<Int>, input: CSRMatrix, items n: Int,
                        position: [Int32]? = nil, rated: inout [Bool]) -> [Moments] {
        var out = [Moments](repeating: Moments(), count: (members.max().map { $0 + 1 } ?? 0) * users.count)
        @inline(__always) func mark(_ q: Int, _ value: Bool) {
            let c = Int(input.columns[q])
            let p = position.map { Int($0[c]) } ?? c
            if p >= 0 { rated[p] = value }
        }
        for r in 0..<users.count {
            let seen = input.row(users.lowerBound + r)
            for q in seen { mark(q, true) }
            for m in members {
                let s = scores + m * block + r * n
                var total = 0.0, count = 0
                for j in 0..<n where !rated[j] && s[j].isFinite {
                    total += Double(s[j])
                    count += 1
                }
                let mean = count > 0 ? total / Double(count) : 0
                var squares = 0.0
                for j in 0..<n where !rated[j] && s[j].isFinite {
                    let d = Double(s[j]) - mean
                    squares += d * d
                }
                out[m * users.count + r] = Moments(mean: mean, deviation: count > 0 ? (squares / Double(count)).squareRoot() : 0)
            }
            for q in seen { mark(q, false) }
        }
        return out
    }

    /// The blended scores of `users` (users.count × items) from the members' score blocks
    /// (member m's at `scores + m * block`) and their `moments`: Σ_m w_m (s_m − mean_m) / sd_m,
    /// summed in Double in member order; one used member: its scores unchanged.
    static func combine(_ scores: UnsafeMutablePointer<Float>, block: Int, moments: [Moments], weights: [Double], users: Range<Int>,
                        items n: Int, into out: UnsafeMutablePointer<Float>) {
        let used = weights.indices.filter { weights[$0] != 0 }
        for r in 0..<users.count {
            let row = out + r * n
            if used.count == 1 {
                row.update(from: scores + used[0] * block + r * n, count: n)
                continue
            }
            // A member that scores every candidate alike says nothing about this user.
            let terms = used.map { m -> (s: UnsafeMutablePointer<Float>, mean: Double, factor: Double) in
                let x = moments[m * users.count + r]
                return (scores + m * block + r * n, x.mean, x.deviation > 0 ? weights[m] / x.deviation : 0)
            }
            for j in 0..<n {
                var sum = 0.0
                for t in terms {
                    let v = t.s[j]
                    sum = v.isFinite ? sum + t.factor * (Double(v) - t.mean) : -.infinity
                }
                row[j] = Float(sum)
            }
        }
    }

    /// Every user's top `k` under each of `weightings` over the same members, as `TopK.lists`
    /// gives them for `ItemBlend(members:weights:)` (the same bytes), with each member scored once
    /// per chunk of users: how a grid of blend weights is compared on validation.
    /// - Complexity: one scoring of each member used by any weighting, plus O(users · items)
    ///   per weighting; memory: (members + 1) score blocks per worker.
    public static func lists(
        members: [BlendMember], weightings: [[Double]], input: CSRMatrix, k: Int, excluding excluded: [Int] = [], parallel: Parallel
    ) -> [(items: [Int32], scores: [Float])] {
        precondition(k > 0 && !members.isEmpty && weightings.allSatisfy { $0.count == members.count })
        let n = members[0].scorer.itemCount, users = input.rows, lists = weightings.count
        precondition(input.cols == n, "input has \(input.cols) columns, the members \(n) items")
        var items = [Int32](repeating: -1, count: lists * users * k)
        var scores = [Float](repeating: -.infinity, count: lists * users * k)
        let needed = members.indices.filter { m in weightings.contains { $0[m] != 0 } }
        // Over the needed members' common cover when they have one (see `scoredItems`).
        let cover = commonCover(needed.map { members[$0] })
        let width = cover?.count ?? n
        let position = cover.map { positions($0, items: n) }
        let blocked = Set(excluded.filter { $0 >= 0 && $0 < n }).compactMap { i in position.map { $0[i] >= 0 ? Int($0[i]) : nil } ?? i }.sorted()
        let rows = TopK.usersPerChunk(width: width * (members.count + 1))
        items.withUnsafeMutableBufferPointer { itemBuffer in
            scores.withUnsafeMutableBufferPointer { scoreBuffer in
                let outItems = SharedPointer(itemBuffer.baseAddress!), outScores = SharedPointer(scoreBuffer.baseAddress!)
                parallel.forEachChunk(count: users, chunkSize: rows) { _, chunk in
                    let block = chunk.count * width
                    let memberScores = UnsafeMutablePointer<Float>.allocate(capacity: max(1, members.count * block))
                    let blended = UnsafeMutablePointer<Float>.allocate(capacity: max(1, block))
                    defer { memberScores.deallocate(); blended.deallocate() }
                    let moments = scoreMembers(members, needed, users: chunk, input: input, cover: cover, position: position, into: memberScores)
                    var seen: [Int32] = []
                    input.columns.withUnsafeBufferPointer { columns in
                        for (w, weights) in weightings.enumerated() {
                            combine(memberScores, block: block, moments: moments, weights: weights, users: chunk, items: width, into: blended)
                            for u in chunk {
                                let row = blended + (u - chunk.lowerBound) * width
                                for j in blocked { row[j] = -.infinity }
                                // The user's movies as indices of the row (ascending either way).
                                seen.removeAll(keepingCapacity: true)
                                for q in input.row(u) {
                                    let p = position.map { $0[Int(columns[q])] } ?? columns[q]
                                    if p >= 0 { seen.append(p) }
                                }
                                let best = seen.withUnsafeBufferPointer { TopK.select(scores: row, count: width, k: k, excluding: $0) }
                                var r = 0
                                for pick in best where pick.score != -.infinity {
                                    outItems[(w * users + u) * k + r] = cover.map { $0[Int(pick.item)] } ?? pick.item
                                    outScores[(w * users + u) * k + r] = pick.score
                                    r += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        let size = users * k
        return (0..<lists).map { w in (Array(items[(w * size)..<((w + 1) * size)]), Array(scores[(w * size)..<((w + 1) * size)])) }
    }

    /// The weightings of `members` members on the simplex with `divisions` steps per unit
    /// (every weight a multiple of 1 / divisions, summing to 1). The vertices (one member alone)
    /// come first, in member order, so that a tie on validation goes to the single model.
    public static func simplexGrid(members: Int, divisions: Int) -> [[Double]] {
        precondition(members >= 1 && divisions >= 1)
        var points: [[Int]] = []
        func fill(_ prefix: [Int], _ left: Int) {
            if prefix.count == members - 1 { points.append(prefix + [left]); return }
            for v in stride(from: left, through: 0, by: -1) { fill(prefix + [v], left - v) }
        }
        fill([], divisions)
        let vertices = (0..<members).map { m in (0..<members).map { $0 == m ? divisions : 0 } }
        let ordered = vertices + points.filter { !vertices.contains($0) }
        return ordered.map { $0.map { Double($0) / Double(divisions) } }
    }

    /// Writes the blend as a `model` artefact: meta `type` = "blend", `items`, `members` (each
    /// one's settings), `weights`, plus the caller's `meta`; sections `B.i` (and `covered.i` when
    /// the member covers fewer than every movie) of item–item members, `counts.i` of popularity.
    public func write(to path: String, meta: [String: JSONValue], parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .model)
        b.meta = meta
        b.meta["type"] = .string(Self.artefactType)
        b.meta["items"] = .int(itemCount)
        b.meta["members"] = .array(members.map { .object($0.settings) })
        b.meta["weights"] = .array(weights.map { .double($0) })
        for (i, m) in members.enumerated() {
            switch m.model {
            case .itemItem(let e):
                b.add("B.\(i)", e.weights)
                if !e.coversAll { b.add("covered.\(i)", e.covered) }
            case .popularity(let p):
                b.add("counts.\(i)", p.counts)
            }
        }
        try b.write(to: path, parallel: parallel, level: 1)
    }

    /// Reads a blend written by `write`, checking its type, every member's shape and that its
    /// numbers are finite.
    /// - Parameter members: read only the members whose weight is not 0 (serving needs no more),
    ///   or all (the evaluation scores every candidate).
    /// - Returns: the blend and the artefact (for the caller's own meta).
    public static func read(_ path: String, allMembers: Bool = true, parallel: Parallel) throws -> (ItemBlend, Artefact) {
        let a = try Artefact.read(path, expecting: .model)
        let fail = { (what: String) in RecError(.artefact, what, file: path, hint: "rerun rec-train") }
        guard a.meta("type")?.stringValue == Self.artefactType else {
            throw fail("is a '\(a.meta("type")?.stringValue ?? "?")' model, expected '\(Self.artefactType)'")
        }
        guard let n = a.meta("items")?.intValue, n >= 0, case .array(let described)? = a.meta("members"),
              case .array(let weightValues)? = a.meta("weights"), !described.isEmpty, described.count == weightValues.count else {
            throw fail("blend has no item count, members or weights, or not one weight per member")
        }
        let weights = weightValues.compactMap(\.doubleValue)
        guard weights.count == described.count, weights.allSatisfy({ $0.isFinite }) else { throw fail("blend weights are not finite numbers") }
        var members: [BlendMember] = [], kept: [Double] = []
        for (i, d) in described.enumerated() where allMembers || weights[i] != 0 {
            guard case .object(let s) = d, let kind = s["model"]?.stringValue.flatMap(RankingChoiceSettings.Member.init(rawValue:)) else {
                throw fail("blend member \(i) has no known model")
            }
            let dropout = s["dropout"]?.doubleValue
            if kind == .popularity {
                let counts = try a.array("counts.\(i)", as: Float.self, parallel: parallel)
                guard counts.count == n, counts.allSatisfy({ $0.isFinite }) else { throw fail("blend member \(i): \(counts.count) counts for \(n) movies") }
                members.append(BlendMember(kind, .popularity(MostPopular(counts: counts)), dropout: nil))
            } else {
                guard let lambda = s["lambda"]?.doubleValue, let weighting = s["weighting"]?.stringValue.flatMap(EASE.Weighting.init(rawValue:)),
                      let ratingMax = s["ratingMax"]?.doubleValue, ratingMax > 0, ratingMax.isFinite else {
                    throw fail("blend member \(i) has no lambda, weighting or highest rating")
                }
                let (covered, b) = try EASE.readWeights(a, suffix: ".\(i)", items: n, parallel: parallel, what: "blend member \(i):", fail: fail)
                let e = EASE(itemCount: n, lambda: lambda, weights: b, weighting: weighting, ratingMax: Float(ratingMax), covered: covered)
                members.append(BlendMember(kind, .itemItem(e), dropout: dropout))
            }
            kept.append(weights[i])
        }
        guard !members.isEmpty else { throw fail("blend has no member with a weight") }
        return (ItemBlend(members: members, weights: kept), a)
    }
}
