import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// `BatchBuffer.fill` (offsets, then the entries copied in parallel) against the plain
/// `reset` and `appendRow` of each row, for batches that grow and shrink in a reused buffer.
@Suite struct BatchBufferTests {
    @Test(arguments: [1, 2, 3])
    func fill_equalsAppendingEachRow(workers: Int) {
        let m = randomCSR(rows: 300, cols: 40, density: 0.2, seed: 12)
        var rng = SplitMix64(seed: 5)
        var filled = BatchBuffer()
        // Large, small, empty-rowed and large again: the reused arrays grow and shrink.
        for size in [200, 17, 0, 1, 300, 64] {
            var rows = Array(0..<m.rows)
            rng.shuffle(&rows)
            let batch = rows.prefix(size)
            filled.fill(m, rows: batch, parallel: Parallel(workers: workers))
            var appended = BatchBuffer()
            for r in batch { appended.appendRow(m, r) }
            #expect(filled.start == appended.start, "size \(size)")
            #expect(filled.columns == appended.columns && filled.values == appended.values, "size \(size)")
            if size > 0 { #expect(filled.rows == size && !filled.columns.isEmpty) }
        }
    }
}

@Suite struct BatchBufferEmptyTests {
    /// A fresh buffer's first batch with no entries at all (users with no ratings, or a matrix
    /// without any): rows and offsets, nothing to copy.
    @Test func fill_withNoEntries_givesEmptyRows() {
        let empty = CSRMatrix(rows: 3, cols: 4, rowStart: [0, 0, 0, 0], columns: [], values: [])
        var batch = BatchBuffer()
        batch.fill(empty, rows: [2, 0, 1], parallel: Parallel(workers: 2))
        #expect(batch.rows == 3 && batch.start == [0, 0, 0, 0] && batch.columns.isEmpty && batch.values.isEmpty)
        let m = CSRMatrix(rows: 3, cols: 4, rowStart: [0, 0, 2, 2], columns: [1, 3], values: [4, 5])
        var fresh = BatchBuffer()
        fresh.fill(m, rows: [0, 2], parallel: Parallel(workers: 2))
        #expect(fresh.rows == 2 && fresh.start == [0, 0, 0] && fresh.columns.isEmpty)
        fresh.fill(m, rows: [1, 0], parallel: Parallel(workers: 2))
        #expect(fresh.start == [0, 2, 2] && fresh.columns == [1, 3] && fresh.values == [4, 5])
    }
}
