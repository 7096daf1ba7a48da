import Testing
@testable import RecCore
@testable import RecModels

/// `ItemGroups.rebuild` (a counting sort by item, counted and filled by chunks of rows)
/// against its plain twin: the entries sorted by (item, row), coefficients carried along.
@Suite struct ItemGroupsTests {
    /// Few items and many entries (several chunks), and many items and few entries (one).
    @Test(arguments: [(20, 300, 1), (20, 300, 2), (20, 300, 3), (500, 40, 2), (7, 1, 2), (30, 0, 2)])
    func rebuild_equalsSortingTheEntriesByItemThenRow(items: Int, rows: Int, workers: Int) {
        let m = randomCSR(rows: rows, cols: items, density: 0.4, seed: UInt64(items * 1000 + rows))
        var batch = BatchBuffer()
        batch.fill(m, rows: 0..<rows, parallel: Parallel(workers: 1))
        let values = (0..<m.nonZeros).map { Float($0) * 0.5 - 3 }
        let second = (0..<m.nonZeros).map { Float($0) + 1000 }
        var groups = ItemGroups()
        // Twice: the second rebuild reuses the first one's storage.
        for _ in 0..<2 {
            batch.with { e in
                groups.rebuild(e, items: items, values: values, secondValues: second, parallel: Parallel(workers: workers))
            }
        }
        // The twin: every entry as (item, row, position in the batch), sorted by item then row.
        var entries: [(item: Int, row: Int, k: Int)] = []
        for r in 0..<rows { for k in batch.start[r]..<batch.start[r + 1] { entries.append((Int(batch.columns[k]), r, k)) } }
        entries.sort { ($0.item, $0.row) < ($1.item, $1.row) }
        #expect(groups.row == entries.map { Int32($0.row) })
        #expect(groups.coeff == entries.map { values[$0.k] })
        #expect(groups.second == entries.map { second[$0.k] })
        let starts = (0...items).map { i in entries.firstIndex { $0.item >= i } ?? entries.count }
        #expect(groups.start == starts)
        if rows > 1 { #expect(!entries.isEmpty) }
    }
}
