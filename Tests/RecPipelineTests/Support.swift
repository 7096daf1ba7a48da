import Foundation
import Logging
@testable import RecCore
@testable import RecStore
@testable import RecData
@testable import RecPipeline
@_exported import RecTestSupport

/// A stage context that logs nothing, with two workers and the artefacts in `dir`.
func quietContext(_ config: PipelineConfig, dir: TempDir) -> StageContext {
    var c = config
    c.workers = 2
    c.artefactDir = dir.file("artefacts")
    c.outputDir = dir.file("output")
    return StageContext(config: c, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
}

/// Ids 1…n for dense indices 0…n−1.
func denseIds(users: Int, items: Int) -> IdMaps {
    IdMaps(userIds: (0..<users).map { Int32($0 + 1) }, itemIds: (0..<items).map { Int32($0 + 1) })
}

/// A sparse matrix from (row, column, value) triples, rows sorted by column.
func matrix(rows: Int, cols: Int, _ entries: [(Int, Int, Float)]) -> CSRMatrix {
    let sorted = entries.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    var start = [Int](repeating: 0, count: rows + 1)
    for e in sorted { start[e.0 + 1] += 1 }
    for r in 0..<rows { start[r + 1] += start[r] }
    return CSRMatrix(rows: rows, cols: cols, rowStart: start, columns: sorted.map { Int32($0.1) }, values: sorted.map(\.2))
}

/// The entries of a matrix as (row, column, value) triples, in storage order.
func entries(_ m: CSRMatrix) -> [(Int, Int, Float)] {
    (0..<m.rows).flatMap { r in m.row(r).map { (r, Int(m.columns[$0]), m.values[$0]) } }
}

/// Random ratings 1…5 at a share `density` of the cells, each cell dealt to train, validation
/// or test with probabilities `shares.0`, `shares.1` and the rest.
func randomSlices(users: Int, items: Int, density: Double, shares: (Double, Double), seed: UInt64) -> Matrices {
    var rng = SplitMix64(seed: seed)
    var parts: [[(Int, Int, Float)]] = [[], [], []]
    for u in 0..<users {
        for i in 0..<items where Double(rng.unitFloat()) < density {
            let value = Float(1 + rng.below(5))
            let x = Double(rng.unitFloat())
            parts[x < shares.0 ? 0 : x < shares.0 + shares.1 ? 1 : 2].append((u, i, value))
        }
    }
    let m = parts.map { matrix(rows: users, cols: items, $0) }
    return Matrices(train: m[0], validation: m[1], test: m[2], ids: denseIds(users: users, items: items))
}

