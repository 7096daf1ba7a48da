import RecKit
@testable import RecModels
import Testing

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
