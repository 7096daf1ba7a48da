import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels
import RecTestSupport

@Suite struct ItemBlendTests {
    /// EASE, DLAE (the blocked one covering fewer movies, so some are −infinity) and popularity
    /// on one random train matrix.
    static func members(_ x: CSRMatrix, blockedDLAE: Bool = false) throws -> [BlendMember] {
        let p = Parallel(workers: 2)
        let ease = try EASE.fit(x, lambda: 3, weighting: .rating, parallel: p)
        let dlae = try EASE.fitDLAE(x, lambda: 3, dropout: 0.5, weighting: .rating, solver: blockedDLAE ? .blocked(maxItems: x.cols - 5) : .exact,
                                    parallel: p)
        return [BlendMember(.ease, .itemItem(ease)), BlendMember(.dlae, .itemItem(dlae), dropout: 0.5),
                BlendMember(.popularity, .popularity(MostPopular.fit(x)))]
    }

    /// The blend written out per user: z-scores over the unrated movies every used member scores.
    static func referenceScores(_ members: [BlendMember], weights: [Double], x: CSRMatrix) -> [[Double]] {
        let n = x.cols
        return (0..<x.rows).map { u in
            let rated = Set(x.columns[x.row(u)].map(Int.init))
            var out = [Double](repeating: 0, count: n)
            for (m, member) in members.enumerated() where weights[m] != 0 {
                var s = [Float](repeating: 0, count: n)
                s.withUnsafeMutableBufferPointer { member.scorer.scores(users: u..<(u + 1), input: x, into: $0.baseAddress!) }
                let pool = (0..<n).filter { !rated.contains($0) && s[$0].isFinite }.map { Double(s[$0]) }
                let mean = pool.reduce(0, +) / Double(pool.count)
                let sd = (pool.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(pool.count)).squareRoot()
                for j in 0..<n { out[j] += s[j].isFinite ? (sd > 0 ? weights[m] * (Double(s[j]) - mean) / sd : 0) : -.infinity }
            }
            return out
        }
    }

    @Test(arguments: [false, true])
    func scores_matchTheWrittenOutZScores(blockedDLAE: Bool) throws {
        let x = randomCSR(rows: 40, cols: 25, density: 0.3, seed: 11)
        let members = try Self.members(x, blockedDLAE: blockedDLAE)
        for weights in [[0.5, 0.5, 0], [0.2, 0.5, 0.3], [0, 0.7, 0.3]] {
            let blend = ItemBlend(members: members, weights: weights)
            var got = [Float](repeating: 0, count: 40 * 25)
            got.withUnsafeMutableBufferPointer { blend.scores(users: 0..<40, input: x, into: $0.baseAddress!) }
            let want = Self.referenceScores(members, weights: weights, x: x)
            for u in 0..<40 {
                for j in 0..<25 {
                    let (g, w) = (Double(got[u * 25 + j]), want[u][j])
                    #expect(g == w || abs(g - w) < 1e-5, "user \(u) item \(j) weights \(weights)")
                }
            }
        }
    }

    /// The grid's lists are, for every weighting, the lists `TopK.lists` makes of that blend,
    /// byte for byte, for one worker and for three; one weight alone gives the member's own.
    @Test func lists_areTopKListsOfEachWeighting_forAnyWorkerCount() throws {
        let x = randomCSR(rows: 700, cols: 60, density: 0.15, seed: 12)
        let members = try Self.members(x, blockedDLAE: true)
        let grid = ItemBlend.simplexGrid(members: 3, divisions: 4)
        let excluded = [3, 17]
        let one = ItemBlend.lists(members: members, weightings: grid, input: x, k: 7, excluding: excluded, parallel: Parallel(workers: 1))
        let three = ItemBlend.lists(members: members, weightings: grid, input: x, k: 7, excluding: excluded, parallel: Parallel(workers: 3))
        for (g, weights) in grid.enumerated() {
            let direct = TopK.lists(scorer: ItemBlend(members: members, weights: weights), input: x, k: 7, excluding: excluded,
                                    parallel: Parallel(workers: 2))
            #expect(one[g].items == direct.items && one[g].scores.map(\.bitPattern) == direct.scores.map(\.bitPattern), "\(weights)")
            #expect(three[g].items == one[g].items && three[g].scores.map(\.bitPattern) == one[g].scores.map(\.bitPattern), "\(weights)")
        }
        for m in 0..<3 {
            let own = TopK.lists(scorer: members[m].scorer, input: x, k: 7, excluding: excluded, parallel: Parallel(workers: 2))
            #expect(one[m].items == own.items && one[m].scores == own.scores, "vertex \(m)")
        }
    }

    /// EASE and DLAE by the blocked solver on one input share their cover: the blend is scored
    /// and selected over it alone, with the same lists as over every movie.
    @Test func commonCover_givesTheListsOfTheFullWidth() throws {
        let x = randomCSR(rows: 500, cols: 60, density: 0.15, seed: 14)
        let p = Parallel(workers: 3)
        let ease = try EASE.fit(x, lambda: 3, weighting: .rating, solver: .blocked(maxItems: 45), parallel: p)
        let dlae = try EASE.fitDLAE(x, lambda: 3, dropout: 0.5, weighting: .rating, solver: .blocked(maxItems: 45), parallel: p)
        let members = [BlendMember(.ease, .itemItem(ease)), BlendMember(.dlae, .itemItem(dlae), dropout: 0.5)]
        let blend = ItemBlend(members: members, weights: [0.3, 0.7])
        #expect(blend.scoredItems == ease.covered && ease.covered.count == 45)
        // Over the cover (TopK.lists takes `scoredItems`) and over every movie: the same lists.
        let covered = TopK.lists(scorer: blend, input: x, k: 6, excluding: [2], parallel: p)
        var full = (items: [Int32](repeating: -1, count: 500 * 6), scores: [Float](repeating: -.infinity, count: 500 * 6))
        var row = [Float](repeating: 0, count: 60)
        for u in 0..<500 {
            row.withUnsafeMutableBufferPointer { blend.scores(users: u..<(u + 1), input: x, into: $0.baseAddress!) }
            row[2] = -.infinity
            let best = TopK.select(scores: row, count: 60, k: 6, excluding: x.columns[x.row(u)]).filter { $0.score != -.infinity }
            for (r, pick) in best.enumerated() { full.items[u * 6 + r] = pick.item; full.scores[u * 6 + r] = pick.score }
        }
        #expect(covered.items == full.items && covered.scores == full.scores)
        let grid = ItemBlend.lists(members: members, weightings: [[0.3, 0.7], [1, 0]], input: x, k: 6, excluding: [2], parallel: p)
        #expect(grid[0].items == covered.items && grid[0].scores == covered.scores)
        let own = TopK.lists(scorer: ease, input: x, k: 6, excluding: [2], parallel: p)
        #expect(grid[1].items == own.items && grid[1].scores == own.scores)
    }

    @Test(arguments: [(2, 10), (3, 10), (3, 4), (1, 5)])
    func simplexGrid_coversTheSimplex_verticesFirst(members: Int, divisions: Int) {
        let grid = ItemBlend.simplexGrid(members: members, divisions: divisions)
        // C(divisions + members − 1, members − 1) points.
        var count = 1
        for i in 1..<max(members, 1) { count = count * (divisions + i) / i }
        #expect(grid.count == count)
        #expect(Set(grid).count == grid.count)
        #expect(grid.allSatisfy { abs($0.reduce(0, +) - 1) < 1e-12 && $0.allSatisfy { $0 >= 0 } })
        for m in 0..<members { #expect(grid[m] == (0..<members).map { $0 == m ? 1 : 0 }) }
    }

    /// On random data and a validation slice: the best weighting of the grid never lists worse
    /// than the best member alone (the members are the grid's vertices, compared like the rest).
    @Test(arguments: [21, 22, 23] as [UInt64])
    func bestOfGrid_isNeverWorseThanItsBestMember(seed: UInt64) throws {
        let all = randomCSR(rows: 300, cols: 50, density: 0.2, seed: seed)
        // Every fifth rating held out for validation.
        var t = [0], tc: [Int32] = [], tv: [Float] = [], v = [0], vc: [Int32] = [], vv: [Float] = []
        for u in 0..<all.rows {
            for (i, q) in all.row(u).enumerated() {
                if i % 5 == 4 { vc.append(all.columns[q]); vv.append(all.values[q]) } else { tc.append(all.columns[q]); tv.append(all.values[q]) }
            }
            t.append(tc.count)
            v.append(vc.count)
        }
        let train = CSRMatrix(rows: all.rows, cols: all.cols, rowStart: t, columns: tc, values: tv)
        let validation = CSRMatrix(rows: all.rows, cols: all.cols, rowStart: v, columns: vc, values: vv)
        let members = try Self.members(train)
        let grid = ItemBlend.simplexGrid(members: 3, divisions: 5)
        let lists = ItemBlend.lists(members: members, weightings: grid, input: train, k: 5, parallel: Parallel(workers: 2))
        func hits(_ items: [Int32]) -> Int {
            (0..<train.rows).reduce(0) { sum, u in
                sum + items[(u * 5)..<((u + 1) * 5)].filter { $0 >= 0 && validation.columns[validation.row(u)].contains($0) }.count
            }
        }
        let figures = lists.map { hits($0.items) }
        let best = figures.max()!
        for m in 0..<3 {
            let own = TopK.lists(scorer: members[m].scorer, input: train, k: 5, parallel: Parallel(workers: 1))
            #expect(best >= hits(own.items), "member \(m)")
        }
    }

    @Test func artefact_roundTrips_andAllMembersOrOnlyTheWeighted() throws {
        let home = try TempDir(prefix: "blend")
        let dir = home.path
        let x = randomCSR(rows: 30, cols: 20, density: 0.3, seed: 13)
        let members = try Self.members(x, blockedDLAE: true)
        let path = dir + "/blend.art"
        try ItemBlend(members: members, weights: [0.6, 0, 0.4]).write(to: path, meta: ["role": .string("test")], parallel: Parallel(workers: 2))
        let (all, artefact) = try ItemBlend.read(path, parallel: Parallel(workers: 1))
        #expect(artefact.meta("role")?.stringValue == "test")
        #expect(all.weights == [0.6, 0, 0.4] && all.members.map(\.kind) == [.ease, .dlae, .popularity])
        let (used, _) = try ItemBlend.read(path, allMembers: false, parallel: Parallel(workers: 1))
        #expect(used.weights == [0.6, 0.4] && used.members.map(\.kind) == [.ease, .popularity])
        for (m, back) in all.members.enumerated() {
            if case .itemItem(let a) = members[m].model, case .itemItem(let b) = back.model {
                #expect(a.weights == b.weights && a.covered == b.covered && a.lambda == b.lambda)
            }
        }
        #expect(all.members[1].dropout == 0.5)
    }
}
